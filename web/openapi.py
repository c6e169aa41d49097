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
        "reasons": {"type": "array", "items": {"type": "string"}},
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
                404: "Not found",
                413: "Too large",
                429: "Rate limited",
            }[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    """The document, with this deployment's URL as server."""
    verdict = {"application/json": {"schema": {"$ref": "#/components/schemas/Verdict"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Amanat public API",
            "version": "1",
            "description": "Verify certificates issued through Amanat. Public, rate-limited, no account.",
        },
        "servers": [{"url": f"{base_url.rstrip('/')}/api/v1"}],
        "paths": {
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
                                        "payload": {"type": "string", "maxLength": 4096}
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
        },
        "components": {"schemas": {"Verdict": _VERDICT, "Signature": _SIGNATURE, "Error": _ERROR}},
    }
