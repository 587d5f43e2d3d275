"""The plan d'action pages: parse, call one service, render. No query, no role test.

A save made on a stale copy (two tabs, two colleagues) is refused by the service with
`StaleEdit`; the request rolls back, and the handler below shows the current version
beside the user's own text, kept in the form, in a transaction of its own (a read, audited).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.errors import InvalidInput
from carnet.plan import schemas, services
from carnet.web import require_principal

blueprint = Blueprint("plan", __name__)


def _values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


@blueprint.errorhandler(services.StaleEdit)
def _stale(error: services.StaleEdit) -> Any:
    """Nothing was saved (the request rolled back): show what is current, keep the text."""
    actor = require_principal()
    beneficiary_id = (request.view_args or {})["beneficiary_id"]
    with db.unit_of_work():
        if error.kind == "objective":
            objective_page = services.get_objective(
                actor=actor, beneficiary_id=beneficiary_id, objective_id=error.object_id
            )
            body = render_template(
                "plan/objective.html",
                page=objective_page,
                errors={},
                values={"edit": _values()},
                stale=error.message,
            )
        else:
            action_page = services.get_action(
                actor=actor, beneficiary_id=beneficiary_id, action_id=error.object_id
            )
            body = render_template(
                "plan/action.html",
                page=action_page,
                errors={},
                values=_values(),
                stale=error.message,
            )
    return body, 409


def _plan_page(
    beneficiary_id: uuid.UUID, *, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    page = services.get_plan(actor=require_principal(), beneficiary_id=beneficiary_id)
    values = _values() if errors is not None else {}
    return render_template("plan/show.html", page=page, errors=errors or {}, values=values), status


@blueprint.get("/personnes/<uuid:beneficiary_id>/plan")
def show(beneficiary_id: uuid.UUID) -> Any:
    return _plan_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/plan/objectifs")
def add_objective(beneficiary_id: uuid.UUID) -> Any:
    try:
        data: schemas.NewObjective = schemas.parse(schemas.ObjectiveInput(), request.form)
        objective_id = services.add_objective(
            actor=require_principal(), beneficiary_id=beneficiary_id, data=data
        )
    except InvalidInput as error:
        return _plan_page(beneficiary_id, errors=error.fields, status=422)
    flash("L'objectif est ajouté au plan d'action.", "success")
    return redirect(
        url_for("plan.show", beneficiary_id=beneficiary_id, _anchor=f"objectif-{objective_id}")
    )


def _objective_page(
    beneficiary_id: uuid.UUID,
    objective_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    form: str = "",
    status: int = 200,
) -> Any:
    page = services.get_objective(
        actor=require_principal(), beneficiary_id=beneficiary_id, objective_id=objective_id
    )
    return render_template(
        "plan/objective.html",
        page=page,
        errors={form: errors} if errors is not None else {},
        values={form: _values()} if errors is not None else {},
        stale=None,
    ), status


@blueprint.route(
    "/personnes/<uuid:beneficiary_id>/plan/objectifs/<uuid:objective_id>", methods=["GET", "POST"]
)
def objective(beneficiary_id: uuid.UUID, objective_id: uuid.UUID) -> Any:
    if request.method == "GET":
        return _objective_page(beneficiary_id, objective_id)
    try:
        change: schemas.ObjectiveChange = schemas.parse(
            schemas.ObjectiveUpdateInput(), request.form
        )
    except InvalidInput as error:
        return _objective_page(
            beneficiary_id, objective_id, errors=error.fields, form="edit", status=422
        )
    services.update_objective(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        objective_id=objective_id,
        change=change,
    )
    flash("L'objectif est enregistré.", "success")
    return redirect(
        url_for("plan.show", beneficiary_id=beneficiary_id, _anchor=f"objectif-{objective_id}")
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/plan/objectifs/<uuid:objective_id>/actions")
def add_action(beneficiary_id: uuid.UUID, objective_id: uuid.UUID) -> Any:
    try:
        change: schemas.ActionChange = schemas.parse(schemas.ActionInput(), request.form)
    except InvalidInput as error:
        return _objective_page(
            beneficiary_id, objective_id, errors=error.fields, form="action", status=422
        )
    action_id = services.add_action(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        objective_id=objective_id,
        change=change,
    )
    flash("L'action est ajoutée au plan d'action.", "success")
    return redirect(
        url_for("plan.show", beneficiary_id=beneficiary_id, _anchor=f"action-{action_id}")
    )


@blueprint.route(
    "/personnes/<uuid:beneficiary_id>/plan/actions/<uuid:action_id>", methods=["GET", "POST"]
)
def action(beneficiary_id: uuid.UUID, action_id: uuid.UUID) -> Any:
    actor = require_principal()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            change: schemas.ActionChange = schemas.parse(schemas.ActionUpdateInput(), request.form)
        except InvalidInput as error:
            errors = error.fields
        else:
            services.update_action(
                actor=actor, beneficiary_id=beneficiary_id, action_id=action_id, change=change
            )
            flash("L'action est enregistrée.", "success")
            return redirect(
                url_for("plan.show", beneficiary_id=beneficiary_id, _anchor=f"action-{action_id}")
            )
    page = services.get_action(actor=actor, beneficiary_id=beneficiary_id, action_id=action_id)
    values = _values() if errors else {}
    body = render_template("plan/action.html", page=page, errors=errors, values=values, stale=None)
    return body, 422 if errors else 200
