"""What a verification says to its reader: the one-sentence headline of the result page, and the
report a verifier keeps for their records (PDF), both made from the typed check, in the reader's
language (shaped Urdu, dates as words)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from signing.check import CertificateCheck, RegistryEntry
from signing.render import TextPage
from verification import Indication, SignatureDetail
from web.messages import pick, reason_text, signature_word, when_text


def signer_name(signer: str, names: Mapping[str, str] | None) -> str:
    """A trusted signer (a department, by its certificate's English name) in the reader's
    language; ``names`` are the departments' Urdu names (signing.pki.urdu_names)."""
    return str(pick(signer, (names or {}).get(signer)))


def holder_name(entry: RegistryEntry) -> str:
    """The holder as the certificate names them, in Urdu for an Urdu reader when it has it."""
    return str(pick(entry.holder, entry.fields.get("name:ur")))


def headline(check: CertificateCheck, names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(css class, one plain sentence) for the verdict."""
    verdict, entry = check.verdict, check.certificate
    reason = reason_text(verdict.reasons[0]) if verdict.reasons else ""
    if verdict.passed and entry is not None:
        return "passed", _(
            "Genuine: %(type)s issued by %(dept)s to %(holder)s, valid.",
            type=pick(entry.type_title, entry.type_title_ur),
            dept=signer_name(verdict.signatures[0].signer, names)
            if verdict.signatures
            else entry.department,
            holder=holder_name(entry),
        )
    if verdict.indication is Indication.TOTAL_FAILED:
        return "failed", _("Not valid: %(reason)s", reason=reason)
    return "indeterminate", _("Cannot confirm: %(reason)s", reason=reason)


def _signer(sig: SignatureDetail, names: Mapping[str, str] | None) -> str:
    if sig.trusted:
        return signer_name(sig.signer, names)
    return str(
        _(
            "an unknown signer calling itself “%(name)s” (not a department of this service)",
            name=sig.signer,
        )
    )


def register_status(check: CertificateCheck) -> str:
    """The register's status of the checked certificate in words (the page and the report)."""
    entry = check.certificate
    assert entry is not None
    return signature_word(
        "status", "compromised" if entry.signed_with_a_compromised_key else entry.status.value
    )


def _register(page: TextPage, check: CertificateCheck) -> None:
    entry = check.certificate
    if entry is None:
        return
    page.space()
    page.line(_("What the register says"), 12, bold=True, gap=8)
    page.field(_("Serial"), entry.serial)
    page.field(_("Type"), pick(entry.type_title, entry.type_title_ur))
    page.field(_("Holder"), holder_name(entry))
    page.field(_("Status"), register_status(check))
    page.field(_("Issued at"), when_text(entry.issued_at))


def _signature(
    page: TextPage, number: int, sig: SignatureDetail, names: Mapping[str, str] | None
) -> None:
    page.space()
    page.line(_("Signature %(n)s", n=number), 12, bold=True, gap=8)
    page.field(_("Signed by"), _signer(sig, names))
    for label, value in (
        (_("Signed at"), when_text(sig.signed_at) if sig.signed_at else None),
        (_("Time-stamped at"), when_text(sig.timestamp) if sig.timestamp else None),
        (_("Kind of signature"), signature_word("level", sig.pades_level)),
        (_("What the signature covers"), signature_word("coverage", sig.coverage)),
        (_("Changes after signing"), signature_word("modification", sig.modification)),
        (_("The signing key when it signed"), signature_word("revocation", sig.revocation)),
    ):
        if value is not None:
            page.field(label, value)


def report_pdf(
    check: CertificateCheck, *, service: str, names: Mapping[str, str] | None = None
) -> bytes:
    """A one-page A4 report of a verification, in the reader's language (``names``: the
    departments' Urdu names, for the signers)."""
    title = _("Certificate verification report")
    page = TextPage(title)
    verdict = check.verdict
    page.line(title, 18, bold=True, gap=10)
    page.field(_("Service"), service)
    page.field(_("Checked at"), when_text(verdict.checked_at))
    page.field(_("SHA-256 of the verified file"), check.file_sha256 or "—")
    page.space()
    page.line(headline(check, names)[1], 14, bold=True, gap=8)
    sub = f" / {verdict.sub_indication.value}" if verdict.sub_indication else ""
    page.field(_("ETSI result"), f"{verdict.indication.value}{sub}")
    for reason in verdict.reasons:
        page.bullet(reason_text(reason))
    _register(page, check)
    for number, sig in enumerate(verdict.signatures, 1):
        _signature(page, number, sig, names)
    return page.output()
