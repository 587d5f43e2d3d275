"""The document pages: upload, list, download, delete. Parse, call one service, render.

A download is always an attachment, never shown in the browser: the type is the one
detected at upload, sniffing is off, and the response carries a sandboxing CSP of its own
(see `download_response`). Uploads above the application's request limit never reach the
view: the handler below answers them with the page and a French message, not a bare 413.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from carnet import db
from carnet.documents import schemas, services
from carnet.documents.models import MAX_BYTES
from carnet.errors import InvalidInput
from carnet.web import require_principal

blueprint = Blueprint("documents", __name__)

# Nothing in a downloaded file may run, load or be framed, even if a browser were to
# render it: `sandbox` first, then every fetch directive closed.
DOWNLOAD_CSP = (
    "sandbox; default-src 'none'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def download_response(content: bytes, *, media_type: str, filename: str) -> Response:
    """A file sent to be saved, never shown: attachment, its detected type only, sandboxed."""
    response = Response(content, mimetype=media_type)
    response.headers.update(
        {
            "Content-Type": media_type,
            "Content-Disposition": content_disposition(filename),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Cross-Origin-Resource-Policy": "same-origin",
        }
    )
    return response


def content_disposition(filename: str) -> str:
    """`attachment`, with an ASCII `filename` and the exact name as RFC 5987 `filename*`."""
    fallback = services.ascii_filename(filename).replace('"', "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _documents_page(
    beneficiary_id: uuid.UUID, *, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    page = services.list_documents(actor=require_principal(), beneficiary_id=beneficiary_id)
    values = (
        {key: value for key, value in request.form.items() if key != "csrf_token"}
        if errors is not None
        else {}
    )
    return render_template(
        "documents/list.html", page=page, errors=errors or {}, values=values
    ), status


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Any:
    """The body exceeded the application's limit before any view ran (nothing was read or
    written): show the page again with the size message, in a read of its own."""
    beneficiary_id = (request.view_args or {}).get("beneficiary_id")
    if not isinstance(beneficiary_id, uuid.UUID) or request.endpoint != "documents.upload":
        return render_template(
            "errors/error.html",
            status=413,
            title="Fichier trop volumineux",
            message=services.TOO_LARGE_MESSAGE,
        ), 413
    with db.unit_of_work():
        page = services.list_documents(actor=require_principal(), beneficiary_id=beneficiary_id)
        body = render_template(
            "documents/list.html",
            page=page,
            errors={"fichier": [services.TOO_LARGE_MESSAGE]},
            values={},
        )
    return body, 413


@blueprint.get("/personnes/<uuid:beneficiary_id>/documents")
def documents(beneficiary_id: uuid.UUID) -> Any:
    return _documents_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/documents")
def upload(beneficiary_id: uuid.UUID) -> Any:
    sent = request.files.get("fichier")
    try:
        fields: schemas.DocumentFields = schemas.parse(schemas.DocumentInput(), request.form)
        # One byte more than allowed is enough to know that a file is too large.
        content = sent.stream.read(MAX_BYTES + 1) if sent is not None else b""
        document_id = services.add_document(
            actor=require_principal(),
            beneficiary_id=beneficiary_id,
            upload=services.Upload(
                kind=fields.kind,
                description=fields.description,
                filename=sent.filename if sent is not None else None,
                content=content,
            ),
        )
    except InvalidInput as error:
        return _documents_page(beneficiary_id, errors=error.fields, status=422)
    flash("Le document est enregistré, chiffré, dans le carnet.", "success")
    return redirect(
        url_for("documents.documents", beneficiary_id=beneficiary_id, _anchor=f"doc-{document_id}")
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/documents/<uuid:document_id>/telecharger")
def download(beneficiary_id: uuid.UUID, document_id: uuid.UUID) -> Any:
    sent = services.download_document(
        actor=require_principal(), beneficiary_id=beneficiary_id, document_id=document_id
    )
    return download_response(sent.content, media_type=sent.media_type, filename=sent.filename)


@blueprint.route(
    "/personnes/<uuid:beneficiary_id>/documents/<uuid:document_id>/supprimer",
    methods=["GET", "POST"],
)
def delete(beneficiary_id: uuid.UUID, document_id: uuid.UUID) -> Any:
    actor = require_principal()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            schemas.parse(schemas.DeleteInput(), request.form)
        except InvalidInput as error:
            errors = error.fields
        else:
            services.delete_document(
                actor=actor, beneficiary_id=beneficiary_id, document_id=document_id
            )
            flash("Le document est supprimé définitivement.", "success")
            return redirect(url_for("documents.documents", beneficiary_id=beneficiary_id))
    page = services.get_document(
        actor=actor, beneficiary_id=beneficiary_id, document_id=document_id
    )
    body = render_template("documents/delete.html", page=page, errors=errors)
    return body, 422 if errors else 200
