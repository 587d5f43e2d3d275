"""The orientation pages: parse, call one service, render. No query, no role test.

The record's « Orientation » tab (the periods, the requests, the decision and request
forms), the queue of people waiting for their first orientation, and the reorientation
requests waiting for a decision. A form the service refuses (a structure that is not
accredited, a référent of another structure) is shown again with the message, after the
request rolled back, from a read of its own (audited like any other).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.errors import InvalidInput
from carnet.orientation import review, schemas, services
from carnet.web import require_principal

blueprint = Blueprint("orientation", __name__)

_FORMS = {
    "orientation.decide": "decision",
    "orientation.request_reorientation": "request",
    "orientation.keep": "keep",
}


def _values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


def _page(
    beneficiary_id: uuid.UUID,
    *,
    form: str = "",
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    page = services.get_orientation_page(actor=require_principal(), beneficiary_id=beneficiary_id)
    return render_template(
        "orientation/show.html",
        page=page,
        form=form,
        errors=errors or {},
        values=_values() if errors is not None else {},
        keep_request_id=(request.view_args or {}).get("request_id"),
    ), status


@blueprint.errorhandler(InvalidInput)
def _invalid(error: InvalidInput) -> Any:
    """Nothing was saved (the request rolled back): show the form again with the message."""
    form = _FORMS.get(request.endpoint or "")
    beneficiary_id = (request.view_args or {}).get("beneficiary_id")
    if form is None or not isinstance(beneficiary_id, uuid.UUID):
        raise error
    with db.unit_of_work():
        return _page(
            beneficiary_id, form=form, errors=error.fields or {"_form": [error.message]}, status=422
        )


@blueprint.get("/personnes/<uuid:beneficiary_id>/orientation")
def show(beneficiary_id: uuid.UUID) -> Any:
    return _page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/orientation")
def decide(beneficiary_id: uuid.UUID) -> Any:
    try:
        decision: schemas.NewOrientation = schemas.parse(schemas.DecisionInput(), request.form)
    except InvalidInput as error:
        return _page(beneficiary_id, form="decision", errors=error.fields, status=422)
    services.decide_orientation(
        actor=require_principal(), beneficiary_id=beneficiary_id, decision=decision
    )
    flash(
        "L'orientation est enregistrée ; les référents concernés et la personne en sont informés.",
        "success",
    )
    return redirect(url_for("orientation.show", beneficiary_id=beneficiary_id))


@blueprint.post("/personnes/<uuid:beneficiary_id>/orientation/reorientation")
def request_reorientation(beneficiary_id: uuid.UUID) -> Any:
    try:
        ask: schemas.ReorientationAsk = schemas.parse(schemas.ReorientationInput(), request.form)
    except InvalidInput as error:
        return _page(beneficiary_id, form="request", errors=error.fields, status=422)
    services.request_reorientation(
        actor=require_principal(), beneficiary_id=beneficiary_id, ask=ask
    )
    flash(
        "La demande de réorientation est transmise aux chargés d'orientation.",
        "success",
    )
    return redirect(url_for("orientation.show", beneficiary_id=beneficiary_id))


@blueprint.post("/personnes/<uuid:beneficiary_id>/orientation/demandes/<uuid:request_id>/maintien")
def keep(beneficiary_id: uuid.UUID, request_id: uuid.UUID) -> Any:
    try:
        data: schemas.KeepReason = schemas.parse(schemas.KeepInput(), request.form)
    except InvalidInput as error:
        return _page(beneficiary_id, form="keep", errors=error.fields, status=422)
    services.keep_accompaniment(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        request_id=request_id,
        reason=data.reason,
    )
    flash(
        "L'accompagnement est maintenu ; la personne qui a fait la demande en est informée.",
        "success",
    )
    return redirect(url_for("orientation.show", beneficiary_id=beneficiary_id))


@blueprint.get("/orientation/file-d-attente")
def queue() -> Any:
    actor = require_principal()
    try:
        query: schemas.QueueQuery = schemas.parse(schemas.QueueInput(), request.args)
    except InvalidInput as error:
        page = services.orientation_queue(actor=actor)
        return render_template("orientation/queue.html", queue=page, errors=error.fields), 422
    page = services.orientation_queue(actor=actor, query=query)
    return render_template("orientation/queue.html", queue=page, errors={})


@blueprint.get("/orientation/demandes")
def requests() -> Any:
    actor = require_principal()
    try:
        query: schemas.QueueQuery = schemas.parse(schemas.QueueInput(), request.args)
    except InvalidInput:
        query = schemas.QueueQuery()
    listing = services.list_pending_requests(actor=actor, page=query.page)
    reviews = review.list_team_reviews(actor=actor)
    return render_template("orientation/requests.html", listing=listing, reviews=reviews)
