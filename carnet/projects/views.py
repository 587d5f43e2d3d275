"""The professional project pages: parse, call one service, render. No query, no role test.

The job picker works without JavaScript: a list grouped by ROME domain, which a small GET
form (`?metier=…`) narrows to the matching jobs. A save made on a stale copy is refused
by the service with `StaleEdit`; the request rolls back, and the handler below shows the
current version beside the user's own input, kept in the form, in a transaction of its
own (a read, audited).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.errors import InvalidInput
from carnet.projects import schemas, services
from carnet.web import require_principal

blueprint = Blueprint("projects", __name__)


def _values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


@blueprint.errorhandler(services.StaleEdit)
def _stale(error: services.StaleEdit) -> Any:
    """Nothing was saved (the request rolled back): show what is current, keep the input."""
    actor = require_principal()
    beneficiary_id = (request.view_args or {})["beneficiary_id"]
    with db.unit_of_work():
        page = services.get_project(
            actor=actor, beneficiary_id=beneficiary_id, project_id=error.project_id
        )
        body = render_template(
            "projects/project.html",
            page=page,
            errors={},
            values=_values(),
            stale=error.message,
        )
    return body, 409


def _projects_page(
    beneficiary_id: uuid.UUID, *, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    page = services.list_projects(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        job_filter=schemas.job_filter(request.args),
    )
    values = _values() if errors is not None else {}
    return render_template(
        "projects/list.html", page=page, errors=errors or {}, values=values
    ), status


@blueprint.get("/personnes/<uuid:beneficiary_id>/projets")
def projects(beneficiary_id: uuid.UUID) -> Any:
    return _projects_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/projets")
def add(beneficiary_id: uuid.UUID) -> Any:
    try:
        details: services.ProjectDetails = schemas.parse(schemas.ProjectInput(), request.form)
        project_id = services.add_project(
            actor=require_principal(), beneficiary_id=beneficiary_id, details=details
        )
    except InvalidInput as error:
        return _projects_page(beneficiary_id, errors=error.fields, status=422)
    flash("Le projet professionnel est enregistré.", "success")
    return redirect(
        url_for("projects.projects", beneficiary_id=beneficiary_id, _anchor=f"projet-{project_id}")
    )


@blueprint.route(
    "/personnes/<uuid:beneficiary_id>/projets/<uuid:project_id>", methods=["GET", "POST"]
)
def project(beneficiary_id: uuid.UUID, project_id: uuid.UUID) -> Any:
    actor = require_principal()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            details: services.ProjectDetails = schemas.parse(
                schemas.ProjectUpdateInput(), request.form
            )
            changed = services.update_project(
                actor=actor, beneficiary_id=beneficiary_id, project_id=project_id, details=details
            )
        except InvalidInput as error:
            errors = error.fields
        else:
            flash(
                "Le projet professionnel est enregistré."
                if changed
                else "Rien n'a changé : le projet est resté tel quel.",
                "success",
            )
            return redirect(
                url_for(
                    "projects.projects",
                    beneficiary_id=beneficiary_id,
                    _anchor=f"projet-{project_id}",
                )
            )
    page = services.get_project(
        actor=actor,
        beneficiary_id=beneficiary_id,
        project_id=project_id,
        job_filter=schemas.job_filter(request.args),
    )
    values = _values() if errors else {}
    body = render_template(
        "projects/project.html", page=page, errors=errors, values=values, stale=None
    )
    return body, 422 if errors else 200
