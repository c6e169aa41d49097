"""Take everything out: a citizen's whole vault as one age-encrypted tar archive.

What the archive holds (``README.txt`` inside says the same to its reader)::

    manifest.json         who, when, and every file below with its SHA-256
    documents/NNN-title/  every version of every document, decrypted (vN-filename)
    certificates.json     each issued certificate: the register's facts and today's verdict
    consents.json         each consent: its receipt and the signed receipt (JWS)
    activity.json         every event of the citizen's ledger, each with its inclusion proof
                          under the signed tree head it carries

It is encrypted to the citizen with the age format (a passphrase, or an ``age1`` key), so the
standard ``age`` tool opens it and ``tar`` unpacks it; nothing of Amanat is needed. Documents are
decrypted into temporary files one at a time (constant memory); the export itself is one event in
the citizen's ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import tarfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from audit.actors import Actor
from audit.ledger import head_json, inclusion_proofs, publish_tree_head
from audit.models import AuditEvent
from identity.models import Account
from keys.age import AgeWriter, Recipient
from keys.stores import KeyStore
from signing.check import check_pdf
from signing.models import IssuedCertificate
from vault.service import VaultContext, list_documents, open_document
from vault.shares import consent_receipt, list_grants

PROOF_BATCH = 1000

_README = """Amanat: everything in your vault, exported {when}.

manifest.json         who, when, and every file here with its SHA-256
documents/            every version of every document, as you stored or received it
certificates.json     your issued certificates: the register's record and today's verdict
consents.json         your consents: each receipt, and the receipt signed by the service (JWS)
activity.json         every event of your activity, each with its inclusion proof under the
                      signed tree head given there (check them with any RFC 9162 verifier)

Opened with: age -d FILE.age | tar -x
"""


@dataclass
class ExportSummary:
    """What went into an export (for the page and the ledger event)."""

    documents: int = 0
    versions: int = 0
    certificates: int = 0
    consents: int = 0
    events: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)


def _slug(text: str) -> str:
    clean = unicodedata.normalize("NFC", text)
    clean = re.sub(r"[^\w.-]+", "-", clean, flags=re.UNICODE).strip("-.")
    return clean[:60] or "document"


class _Archive:
    """A streaming tar archive whose members are listed (with SHA-256) for the manifest."""

    def __init__(self, out: BinaryIO, summary: ExportSummary, now: dt.datetime) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.summary = summary
        self._mtime = now.timestamp()

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add_file(name, io.BytesIO(data), len(data), hashlib.sha256(data).hexdigest())

    def add_json(self, name: str, value: Any) -> None:
        self.add_bytes(name, json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8"))

    def add_file(self, name: str, data: IO[bytes], size: int, sha256: str) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self._mtime, 0o600
        self._tar.addfile(info, data)
        self.summary.files.append({"path": name, "size": size, "sha256": sha256})

    def close(self) -> None:
        self._tar.close()


def _documents(
    session: Session, archive: _Archive, *, vault: VaultContext, owner_id: int, now: dt.datetime
) -> dict[str, bytes]:
    """Every version of every document into the archive; the current PDF of each issued one
    (keyed by document id) for its verdict."""
    current: dict[str, bytes] = {}
    for index, document in enumerate(list_documents(session, owner_id=owner_id), 1):
        folder = f"documents/{index:03d}-{_slug(document.title)}"
        for row in sorted(document.versions, key=lambda v: v.version):
            opened = open_document(
                session,
                ctx=vault,
                owner_id=owner_id,
                document_id=document.id,
                purpose="export",
                now=now,
                version=row.version,
            )
            with opened.file as plain:
                name = f"{folder}/v{row.version}-{_slug(row.filename)}"
                archive.add_file(name, plain, row.size, row.sha256)
                if document.source != "uploaded" and row.version == document.current_version:
                    plain.seek(0)
                    current[str(document.id)] = plain.read()
            archive.summary.versions += 1
        archive.summary.documents += 1
    return current


def _certificates(
    session: Session, *, owner_id: int, pdfs: dict[str, bytes], now: dt.datetime
) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(IssuedCertificate)
        .where(IssuedCertificate.holder_id == owner_id)
        .order_by(IssuedCertificate.issued_at)
    )
    out = []
    for row in rows:
        pdf = pdfs.get(str(row.document_id))
        verdict = check_pdf(session, data=pdf, now=now).to_json() if pdf else None
        out.append(
            {
                "serial": row.serial,
                "type": row.type_code,
                "department": row.department_code,
                "status": row.status,
                "issued_at": row.issued_at.isoformat(),
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                "fields": row.fields,
                "pdf_sha256": row.pdf_sha256,
                "verdict_today": verdict,
            }
        )
    return out


def _consents(
    session: Session, *, vault: VaultContext, owner_id: int, base_url: str, now: dt.datetime
) -> list[dict[str, Any]]:
    out = []
    for grant in list_grants(session, owner_id=owner_id, now=now):
        receipt, jws = consent_receipt(session, grant=grant, ctx=vault, base_url=base_url, now=now)
        out.append({"id": str(grant.id), "receipt": receipt, "signed_receipt": jws})
    return out


def _event_batches(session: Session, owner_id: int) -> Iterator[list[AuditEvent]]:
    last = 0
    while True:
        batch = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_id == owner_id, AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(PROOF_BATCH)
            )
        )
        if not batch:
            return
        yield batch
        last = batch[-1].seq


def _activity(
    session: Session, *, keystore: KeyStore, owner_id: int, now: dt.datetime
) -> dict[str, Any]:
    head = publish_tree_head(session, keystore=keystore, now=now)
    events: list[dict[str, Any]] = []
    for batch in _event_batches(session, owner_id):
        proofs = inclusion_proofs(session, seqs=[e.seq for e in batch], head=head)
        for event, proof in zip(batch, proofs, strict=True):
            events.append(
                {
                    "seq": event.seq,
                    "at": event.occurred_at.isoformat(),
                    "tag": event.tag,
                    "actor": event.actor,
                    "details": event.details,
                    "proof": proof,
                }
            )
    return {"tree_head": head_json(session, head, keystore=keystore), "events": events}


def write_export(
    session: Session,
    *,
    vault: VaultContext,
    keystore: KeyStore,
    owner_id: int,
    recipient: Recipient,
    out: BinaryIO,
    base_url: str,
    now: dt.datetime,
) -> ExportSummary:
    """Write the citizen's export to ``out`` (age-encrypted tar) and record it in their ledger."""
    summary = ExportSummary()
    encrypted = AgeWriter(out, recipient)
    archive = _Archive(encrypted, summary, now)  # type: ignore[arg-type]
    archive.add_bytes("README.txt", _README.format(when=now.isoformat()).encode())
    pdfs = _documents(session, archive, vault=vault, owner_id=owner_id, now=now)
    certificates = _certificates(session, owner_id=owner_id, pdfs=pdfs, now=now)
    archive.add_json("certificates.json", certificates)
    consents = _consents(session, vault=vault, owner_id=owner_id, base_url=base_url, now=now)
    archive.add_json("consents.json", consents)
    summary.certificates, summary.consents = len(certificates), len(consents)
    record_event(
        session,
        tag=EventTag.VAULT_EXPORTED,
        actor=Actor.account(owner_id),
        subject_id=owner_id,
        now=now,
        details={"documents": summary.documents, "versions": summary.versions},
    )
    activity = _activity(session, keystore=keystore, owner_id=owner_id, now=now)
    summary.events = len(activity["events"])
    archive.add_json("activity.json", activity)
    account = session.get(Account, owner_id)
    manifest = {
        "format": "amanat-export/1",
        "exported_at": now.isoformat(),
        "account": {"id": owner_id, "name": account.display_name if account else None},
        "files": list(summary.files),
    }
    archive.add_json("manifest.json", manifest)
    archive.close()
    encrypted.close()
    return summary
