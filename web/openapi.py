"""The OpenAPI 3.1 description of the public JSON API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}
_SIGNATURE = {
    "type": "object",
    "properties": {
        "signer": {"type": "string"},
        "department": {"type": ["string", "null"]},
        "signed_at": {"type": ["string", "null"], "format": "date-time"},
        "timestamp": {"type": ["string", "null"], "format": "date-time"},
        "pades_level": {"enum": ["B-B", "B-T", "B-LT", "B-LTA"]},
        "coverage": {"type": "string"},
        "modification": {"type": "string"},
        "revocation": {"enum": ["good", "revoked", "unknown"]},
        "intact": {"type": "boolean"},
        "valid": {"type": "boolean"},
        "trusted": {"type": "boolean"},
    },
}
_VERDICT = {
    "type": "object",
    "required": ["indication", "sub_indication", "reasons", "signatures", "checked_at"],
    "properties": {
        "indication": {"enum": ["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]},
        "sub_indication": {"type": ["string", "null"]},
        "reasons": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "text"],
                "properties": {"code": {"type": "string"}, "text": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            },
        },
        "signatures": {"type": "array", "items": {"$ref": "#/components/schemas/Signature"}},
        "certificate": {"type": ["object", "null"]},
        "checked_at": {"type": "string", "format": "date-time"},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": {
                400: "Bad input",
                401: "API key missing, unknown, revoked or without the scope",
                403: "The consent was withdrawn, has expired or its downloads are used up, or"
                " the API key lacks the scope",
                404: "Not found",
                413: "Too large",
                409: "The application or request was already decided",
                422: "The Idempotency-Key already issued a different certificate",
                429: "Rate limited",
            }[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    """The document, with this deployment's URL as server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Amanat public API",
            "version": "1",
            "description": "Verify certificates issued through Amanat (public, rate-limited, no account needed); fetch documents citizens shared under consent (organisation API key); read the ledger's signed tree heads.",
        },
        "servers": [{"url": f"{base_url.rstrip('/')}/api/v1"}],
        "paths": {
            **_verification_paths(),
            **_register_paths(),
            **_public_paths(),
            **_sharing_paths(),
            **_ledger_paths(),
            **_department_paths(),
            **_batch_paths(),
            **_request_paths(),
            **_application_paths(),
        },
        "components": _components(),
    }


def _verification_paths() -> dict[str, Any]:
    """The public verification endpoints (no account needed)."""
    verdict = {"application/json": {"schema": {"$ref": "#/components/schemas/Verdict"}}}
    return {
        "/verify": {
            "post": {
                "summary": "Verify a certificate PDF (ETSI verdict, DESIGN 4.3)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        },
                    },
                },
                "responses": {
                    "200": {"description": "The verdict", "content": verdict},
                    **_errors(400, 413, 429),
                },
            }
        },
        "/verify-qr": {
            "post": {
                "summary": "Verify a scanned certificate QR code (the URL or its AM1. payload)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["payload"],
                                "properties": {
                                    "payload": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": 4096,
                                        "pattern": "\\S",
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "The verdict", "content": verdict},
                    **_errors(400, 429),
                },
            }
        },
    }


def _public_paths() -> dict[str, Any]:
    """The public record of departments and organisations."""
    return {
        "/public/{kind}/{code}": {
            "get": {
                "summary": "The public record of a department or organisation (counts only)",
                "parameters": [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["department", "organisation"]},
                    },
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 32},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Names, status, what it may do, 12 months of counts",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(404),
                },
            }
        },
    }


def _register_paths() -> dict[str, Any]:
    """What the register says about a serial, and the trust list."""
    return {
        "/certificates/{serial}": {
            "get": {
                "summary": "Public status of a certificate",
                "parameters": [
                    {
                        "name": "serial",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Status and register facts",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(404),
                },
            }
        },
        "/trust-list": {
            "get": {
                "summary": "Department certificates (with QR key ids) and the root that issued them",
                "responses": {
                    "200": {
                        "description": "Trust list",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/status-list": {
            "get": {
                "summary": "The signed status list of every certificate (IETF Token Status List, "
                "CWT); a certificate's QR code carries its index (claim -70006)",
                "responses": {
                    "200": {
                        "description": "Status list token",
                        "content": {
                            "application/statuslist+cwt": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    }
                },
            }
        },
    }


def _components() -> dict[str, Any]:
    """Schemas and the API key scheme."""
    return {
        "schemas": {
            "Verdict": _VERDICT,
            "Signature": _SIGNATURE,
            "Error": _ERROR,
            "Grant": _GRANT,
            "Certificate": _CERTIFICATE,
            "Batch": _BATCH,
            "Request": _REQUEST,
            "Application": _APPLICATION,
            "TreeHead": _TREE_HEAD,
        },
        "securitySchemes": {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An organisation's API key (amanat_<id>_<secret>). Optional on "
                "/verify and /verify-qr (scope 'verify': the citizen sees who checked).",
            },
            "departmentKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "A department's API key (amanat department create-key CODE "
                "--scope issue|revoke|applications); each key has its own rate limit.",
            },
        },
    }


_GRANT = {
    "type": "object",
    "properties": {
        "grant": {"type": "string", "format": "uuid"},
        "purpose": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "max_fetches": {"type": ["integer", "null"]},
        "fetches": {"type": "integer"},
        "citizen": {"type": "string"},
        "documents": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "title": {"type": "string"},
                    "href": {"type": "string"},
                },
            },
        },
    },
}
_TREE_HEAD = {
    "type": "object",
    "description": "A signed tree head of the ledger (docs/ledger.md); binary values base64.",
    "properties": {
        "tree_size": {"type": "integer"},
        "root_hash": {"type": "string"},
        "timestamp": {"type": "integer", "description": "milliseconds since 1970 UTC"},
        "signed_at": {"type": "string", "format": "date-time"},
        "key_id": {"type": "string"},
        "public_key": {"type": "string", "description": "SubjectPublicKeyInfo DER, base64"},
        "signature": {"type": "string", "description": "ECDSA P-256 r||s, base64"},
    },
}


def _uuid_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _sharing_paths() -> dict[str, Any]:
    key: list[dict[str, list[str]]] = [{"apiKey": []}]
    grant = {"application/json": {"schema": {"$ref": "#/components/schemas/Grant"}}}
    return {
        "/shared": {
            "get": {
                "summary": "The organisation's active consents",
                "security": key,
                "responses": {
                    "200": {
                        "description": "Active grants",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "grants": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Grant"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **_errors(401),
                },
            }
        },
        "/shared/{grant}": {
            "get": {
                "summary": "One consent and its documents (the look is shown to the citizen)",
                "security": key,
                "parameters": [_uuid_param("grant")],
                "responses": {
                    "200": {"description": "The grant", "content": grant},
                    **_errors(401, 403, 404),
                },
            }
        },
        **_shared_document_paths(),
    }


def _shared_document_paths() -> dict[str, Any]:
    """One shared document, and the consent receipt, for the organisation's API key."""
    key: list[dict[str, list[str]]] = [{"apiKey": []}]
    return {
        "/shared/{grant}/documents/{document}": {
            "get": {
                "summary": "A shared document's bytes (counted; shown to the citizen)",
                "security": key,
                "parameters": [_uuid_param("grant"), _uuid_param("document")],
                "responses": {
                    "200": {
                        "description": "The document, with the media type it was stored as",
                        "content": {
                            media: {"schema": {"type": "string", "format": "binary"}}
                            for media in (
                                "application/pdf",
                                "image/png",
                                "image/jpeg",
                                "image/webp",
                                "text/plain",
                            )
                        },
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
        "/shared/{grant}/receipt": {
            "get": {
                "summary": "The signed consent receipt (Kantara CR fields, JWS by the ledger key)",
                "security": key,
                "parameters": [_uuid_param("grant")],
                "responses": {
                    "200": {
                        "description": "Receipt and JWS",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
    }


def _ledger_paths() -> dict[str, Any]:
    head = {"application/json": {"schema": {"$ref": "#/components/schemas/TreeHead"}}}
    return {
        "/ledger/tree-head": {
            "get": {
                "summary": "The latest signed tree head of the activity ledger",
                "responses": {"200": {"description": "Signed tree head", "content": head}},
            }
        },
        "/ledger/checkpoint": {
            "get": {
                "summary": "The latest signed tree head as a C2SP checkpoint (signed note)",
                "responses": {
                    "200": {
                        "description": "origin, size and base64 root; a blank line; the log's"
                        " signature line (ECDSA P-256, note signature type 0x02)",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/ledger/consistency": {
            "get": {
                "summary": "Consistency proof between the signed heads of two tree sizes",
                "parameters": [
                    {
                        "name": "from",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Both heads and the proof (RFC 9162 2.1.4)",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(400, 404),
                },
            }
        },
    }


_CERTIFICATE = {
    "type": "object",
    "required": ["serial", "status", "department", "type", "level", "issued_at", "links"],
    "properties": {
        "serial": {"type": "string", "examples": ["7K2M-9QXD-41TB"]},
        "status": {"enum": ["valid", "revoked"]},
        "department": {"type": "string"},
        "type": {"type": "string"},
        "level": {"enum": ["B-B", "B-T", "B-LT", "B-LTA"]},
        "holder": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "revocation_reason": {"type": ["string", "null"]},
        "links": {
            "type": "object",
            "properties": {"status": {"type": "string"}, "verify": {"type": "string"}},
        },
    },
}
_ROW = {
    "type": "object",
    "required": ["citizen", "type"],
    "properties": {
        "citizen": {"type": "string", "description": "CNIC, 35202-1234567-1"},
        "type": {"type": "string", "description": "certificate type code"},
        "level": {"enum": ["B-B", "B-T", "B-LT", "B-LTA"], "default": "B-LTA"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "the type's fields; Urdu values under '<field>:ur'",
        },
    },
}
_BATCH = {
    "type": "object",
    "required": ["batch", "total", "issued", "failed", "waiting", "done", "href"],
    "properties": {
        "batch": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "total": {"type": "integer"},
        "issued": {"type": "integer"},
        "failed": {"type": "integer"},
        "waiting": {"type": "integer"},
        "done": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "href": {"type": "string"},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": "integer"},
                    "citizen": {"type": "string"},
                    "status": {"enum": ["pending", "issued", "failed"]},
                    "serial": {"type": ["string", "null"]},
                    "error": {
                        "type": ["object", "null"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}
_DEGREE_EXAMPLE = {
    "citizen": "35202-1234567-1",
    "type": "degree",
    "fields": {"name": "Ayesha Khan", "name:ur": "عائشہ خان", "degree": "BSc", "year": "2024"},
}


def _json_body(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def _department_paths() -> dict[str, Any]:
    """Issuing and revoking with a department key."""
    key: list[dict[str, list[str]]] = [{"departmentKey": []}]
    certificate = {"application/json": {"schema": {"$ref": "#/components/schemas/Certificate"}}}
    return {
        "/certificates": {
            "post": {
                "summary": "Issue one certificate into a citizen's vault (scope 'issue')",
                "security": key,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A retry with the same key answers with the first "
                        "certificate (200, Idempotent-Replayed: true) instead of issuing again",
                        "schema": {"type": "string", "pattern": "^[!-~]{1,64}$"},
                    }
                ],
                "requestBody": _json_body(_ROW, _DEGREE_EXAMPLE),
                "responses": {
                    "201": {"description": "Issued", "content": certificate},
                    "200": {
                        "description": "A retry: the first certificate",
                        "content": certificate,
                    },
                    **_errors(400, 401, 403, 413, 422, 429),
                },
            }
        },
        "/certificates/{serial}/revoke": {
            "post": {
                "summary": "Revoke a certificate the department issued (scope 'revoke')",
                "security": key,
                "parameters": [_uuid_param("serial")],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["reason"],
                        "properties": {"reason": {"type": "string", "maxLength": 200}},
                    },
                    {"reason": "issued with a wrong year"},
                ),
                "responses": {
                    "200": {"description": "Revoked", "content": certificate},
                    **_errors(400, 401, 403, 404, 429),
                },
            }
        },
    }


def _batch_paths() -> dict[str, Any]:
    """Batches with a department key."""
    key: list[dict[str, list[str]]] = [{"departmentKey": []}]
    batch = {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}}
    rows = {
        "type": "object",
        "required": ["rows"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "rows": {"type": "array", "minItems": 1, "items": _ROW},
        },
    }
    return {
        "/batches": {
            "post": {
                "summary": "Issue many certificates: JSON rows (up to 256 KiB) or the department "
                "page's CSV (text/csv, up to 20 MiB); the same rows again find the same batch",
                "security": key,
                "parameters": [
                    {"name": "name", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": rows,
                            "example": {"name": "2026 degrees", "rows": [_DEGREE_EXAMPLE]},
                        },
                        "text/csv": {
                            "schema": {"type": "string"},
                            "example": "citizen,type,name,degree,year\n"
                            "35202-1234567-1,degree,Ayesha Khan,BSc,2024\n",
                        },
                    },
                },
                "responses": {
                    "202": {"description": "Accepted; follow href", "content": batch},
                    **_errors(400, 401, 403, 413, 429),
                },
            }
        },
        "/batches/{batch}": {
            "get": {
                "summary": "A batch's progress and each row's serial or refusal",
                "security": key,
                "parameters": [_uuid_param("batch")],
                "responses": {
                    "200": {"description": "Progress and rows", "content": batch},
                    **_errors(401, 403, 404, 429),
                },
            }
        },
    }


_REQUEST = {
    "type": "object",
    "required": ["request", "status", "link", "qr", "deliveries"],
    "properties": {
        "request": {"type": "string", "format": "uuid"},
        "status": {"enum": ["pending", "approved", "declined", "expired"]},
        "types": {"type": "array", "items": {"type": "string"}},
        "kinds": {"type": "array", "items": {"type": "string"}},
        "purpose": {"type": "string"},
        "days": {"type": "integer"},
        "max_fetches": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "answered_at": {"type": ["string", "null"], "format": "date-time"},
        "link": {"type": "string", "description": "for the citizen: show it, or its QR code"},
        "qr": {"type": "string", "description": "PNG of the link's QR code"},
        "grant": {"type": ["string", "null"], "format": "uuid"},
        "grant_href": {"type": ["string", "null"], "description": "fetch under the consent"},
        "callback_url": {"type": ["string", "null"]},
        "deliveries": {
            "type": "array",
            "description": "Webhooks: body signed as Amanat-Signature: t=<unix>,v1=<hex "
            "HMAC-SHA256(secret, t + '.' + body)>; refuse a t older than 5 minutes",
            "items": {
                "type": "object",
                "properties": {
                    "event": {"enum": ["request.approved", "request.declined", "request.expired"]},
                    "status": {"enum": ["pending", "delivered", "failed"]},
                    "attempts": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}
_ASK = {
    "type": "object",
    "required": ["purpose"],
    "properties": {
        "types": {"type": "array", "items": {"type": "string"}, "description": "certificate types"},
        "kinds": {
            "type": "array",
            "items": {"enum": ["id-card", "degree", "land-record", "pay-slip", "other"]},
            "description": "kinds of document the citizen uploaded",
        },
        "purpose": {"type": "string", "minLength": 3, "maxLength": 200},
        "days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 30},
        "max_fetches": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000},
        "cnic": {"type": "string", "description": "puts it on the citizen's Requests page"},
        "callback_url": {"type": "string", "description": "https; signed webhooks go here"},
        "open_days": {"type": "integer", "minimum": 1, "maximum": 30, "default": 7},
    },
}


def _request_paths() -> dict[str, Any]:
    """Asking citizens for documents with an organisation key (scope 'requests')."""
    key: list[dict[str, list[str]]] = [{"apiKey": []}]
    answer = {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}
    example = {
        "types": ["domicile"],
        "purpose": "home loan",
        "days": 30,
        "max_fetches": 3,
        "cnic": "35202-1234567-1",
        "callback_url": "https://loans.bank.example/amanat",
    }
    return {
        "/requests": {
            "post": {
                "summary": "Ask a citizen for documents (scope 'requests')",
                "security": key,
                "requestBody": _json_body(_ASK, example),
                "responses": {
                    "201": {"description": "The request, its link and QR code", "content": answer},
                    **_errors(400, 401, 413, 429),
                },
            }
        },
        "/requests/{request}": {
            "get": {
                "summary": "Where the request stands; the consent when approved; webhook tries",
                "security": key,
                "parameters": [_uuid_param("request")],
                "responses": {
                    "200": {"description": "The request", "content": answer},
                    **_errors(401, 404, 429),
                },
            }
        },
    }


_APPLICATION = {
    "type": "object",
    "required": ["application", "department", "type", "status", "fields", "steps"],
    "properties": {
        "application": {"type": "string", "format": "uuid"},
        "department": {"type": "string"},
        "type": {"type": "string"},
        "status": {"enum": ["submitted", "in_review", "info_requested", "issued", "rejected"]},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "serial": {"type": ["string", "null"]},
        "assigned_to": {"type": ["integer", "null"]},
        "submitted_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
        "steps": {"type": "array", "items": {"type": "object"}},
        "documents": {"type": "array", "items": {"type": "object"}},
    },
}


def _application_paths() -> dict[str, Any]:
    """The application queue with a department key (scope 'applications')."""
    key: list[dict[str, list[str]]] = [{"departmentKey": []}]
    one = {"application/json": {"schema": {"$ref": "#/components/schemas/Application"}}}
    listing = {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "applications": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Application"},
                    }
                },
            }
        }
    }
    return {
        "/applications": {
            "get": {
                "summary": "Open applications, oldest first (or those in one state)",
                "security": key,
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {"name": "older_than", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {"description": "Applications", "content": listing},
                    **_errors(400, 401, 403, 429),
                },
            }
        },
        "/applications/{application}": {
            "get": {
                "summary": "One application, its steps and supporting documents",
                "security": key,
                "parameters": [_uuid_param("application")],
                "responses": {
                    "200": {"description": "The application", "content": one},
                    **_errors(401, 403, 404, 429),
                },
            }
        },
        **_application_step_path(key, one),
    }


def _application_step_path(key: list[dict[str, list[str]]], one: dict[str, Any]) -> dict[str, Any]:
    """The steps an officer's system takes on an application."""
    step_body = {
        "type": "object",
        "properties": {
            "note": {"type": "string", "maxLength": 1000, "description": "ask: the question"},
            "reason": {"type": "string", "maxLength": 1000, "description": "reject: why"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "level": {"enum": ["B-B", "B-T", "B-LT", "B-LTA"]},
        },
    }
    return {
        "/applications/{application}/{step}": {
            "post": {
                "summary": "review (take it up), ask (note), approve (fields?, level?: issues the"
                " certificate) or reject (reason)",
                "security": key,
                "parameters": [
                    _uuid_param("application"),
                    {
                        "name": "step",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["review", "ask", "approve", "reject"]},
                    },
                ],
                "requestBody": _json_body(step_body, {"note": "Please attach your transcript."}),
                "responses": {
                    "200": {"description": "The application after the step", "content": one},
                    **_errors(400, 401, 403, 404, 409, 429),
                },
            }
        },
    }
