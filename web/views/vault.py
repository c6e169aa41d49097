"""The citizen's vault pages: list, upload, view, download, rename, new version, delete."""

from __future__ import annotations

import uuid
from typing import BinaryIO, cast

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from identity import recovery
from identity.models import Role
from signing.issuance import certificates_for_documents
from vault import service
from vault.errors import UploadRejected
from vault.uploads import Upload, check_upload
from web.context import current_account, db, login_required, now, runtime, signed_in
from web.errors import wants_json
from web.messages import KIND_LABELS
from web.responses import send_opened

bp = Blueprint("vault", __name__, url_prefix="/vault")


def _owner_id() -> int:
    account = current_account()
    assert account is not None
    return account.id


def _checked_upload() -> tuple[Upload, FileStorage]:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise UploadRejected("No file.", code="no_file")
    upload = check_upload(
        cast(BinaryIO, file.stream),
        filename=file.filename,
        title=request.form.get("title", ""),
        kind=request.form.get("kind", ""),
        max_bytes=runtime().settings.max_upload_bytes,
    )
    return upload, file


@bp.get("")
@login_required(Role.CITIZEN)
def index() -> str:
    """The list of the citizen's documents, with the upload form."""
    documents = service.list_documents(db(), owner_id=_owner_id())
    issued = certificates_for_documents(db(), document_ids=[d.id for d in documents])
    return render_template(
        "vault.html",
        documents=documents,
        issued=issued,
        kinds=KIND_LABELS,
        max_mib=runtime().settings.max_upload_bytes // (1024 * 1024),
        # A new account has no recovery codes: one lost phone would lock the citizen out, so
        # the first page after registration offers them (until some exist).
        no_recovery_codes=recovery.remaining_codes(db(), account=signed_in()) == 0,
    )


@bp.post("")
@login_required(Role.CITIZEN)
def upload() -> Response:
    """Store an uploaded file, encrypted."""
    upload_, file = _checked_upload()
    document = service.store_document(
        db(),
        ctx=runtime().vault,
        owner_id=_owner_id(),
        upload=upload_,
        src=cast(BinaryIO, file.stream),
        max_bytes=runtime().settings.max_upload_bytes,
        now=now(),
    )
    target = url_for("vault.document", document_id=document.id)
    if wants_json():
        response = jsonify({"id": str(document.id), "redirect": target})
        response.status_code = 201
        return response
    flash(_("Your document was stored, encrypted."))
    return redirect(target)


@bp.get("/<uuid:document_id>")
@login_required(Role.CITIZEN)
def document(document_id: uuid.UUID) -> str:
    """One document: details, versions, actions."""
    doc = service.get_document(db(), owner_id=_owner_id(), document_id=document_id)
    certificate = certificates_for_documents(db(), document_ids=[doc.id]).get(doc.id)
    return render_template("document.html", doc=doc, kinds=KIND_LABELS, certificate=certificate)


@bp.get("/<uuid:document_id>/file")
@login_required(Role.CITIZEN)
def file(document_id: uuid.UUID) -> Response:
    """The decrypted file: shown in the browser, or downloaded with ``?download=1``."""
    download = request.args.get("download") == "1"
    version = request.args.get("version", type=int)
    opened = service.open_document(
        db(),
        ctx=runtime().vault,
        owner_id=_owner_id(),
        document_id=document_id,
        purpose="download" if download else "view",
        version=version,
        now=now(),
    )
    return send_opened(opened, download=download)


@bp.post("/<uuid:document_id>/rename")
@login_required(Role.CITIZEN)
def rename(document_id: uuid.UUID) -> Response:
    """Give the document a new title."""
    service.rename_document(
        db(),
        owner_id=_owner_id(),
        document_id=document_id,
        title=request.form.get("title", ""),
        now=now(),
    )
    flash(_("The title was changed."))
    return redirect(url_for("vault.document", document_id=document_id))


@bp.post("/<uuid:document_id>/versions")
@login_required(Role.CITIZEN)
def new_version(document_id: uuid.UUID) -> Response:
    """Replace the file with a new version (earlier versions stay available)."""
    upload_, file = _checked_upload()
    service.add_version(
        db(),
        ctx=runtime().vault,
        owner_id=_owner_id(),
        document_id=document_id,
        upload=upload_,
        src=cast(BinaryIO, file.stream),
        max_bytes=runtime().settings.max_upload_bytes,
        now=now(),
    )
    target = url_for("vault.document", document_id=document_id)
    if wants_json():
        return jsonify({"redirect": target})
    flash(_("A new version was stored."))
    return redirect(target)


@bp.post("/<uuid:document_id>/delete")
@login_required(Role.CITIZEN)
def delete(document_id: uuid.UUID) -> Response:
    """Delete the document and destroy its keys."""
    service.delete_document(
        db(),
        ctx=runtime().vault,
        owner_id=_owner_id(),
        document_id=document_id,
        now=now(),
    )
    flash(_("The document was deleted. Its keys were destroyed, so it cannot be recovered."))
    return redirect(url_for("vault.index"))
