"""The situation, health and consent pages: parse, call one service, render. No query, no
commit, no role test; what a visitor may do comes from `page.access.can(...)`.

A form the schema or the service refuses (`InvalidInput`), and a save made on a stale copy
(`StaleEdit`), roll the request back; the handlers below then show the page again, in a
transaction of its own (a read, audited), with the messages and the user's input kept in
the form. The blueprint lives here rather than in the package's `__init__` so that
importing the models never imports Flask.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import db, web
from carnet.errors import CarnetError, Conflict, InvalidInput
from carnet.records import services as records
from carnet.security.policy import PolicyDenied, PolicyNotFound
from carnet.security.principal import Principal
from carnet.situation import health as health_services
from carnet.situation import schemas, services
from carnet.situation.common import BarrierData, StaleEdit, StatusChange
from carnet.web import require_principal

blueprint = Blueprint("situation", __name__)

Errors = dict[str, dict[str, list[str]]]
Values = dict[str, Any]


def _typed() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


# -- refused forms and stale saves --------------------------------------------------------------


@blueprint.errorhandler(InvalidInput)
def _invalid(error: InvalidInput) -> Any:
    return _again(errors=error.fields or {"_form": [error.message]}, status=422)


@blueprint.errorhandler(StaleEdit)
def _stale(error: StaleEdit) -> Any:
    return _again(stale=error, status=409)


@blueprint.errorhandler(Conflict)
def _conflict(error: Conflict) -> Any:
    """A write the service refused (nothing was saved): say why and lead back."""
    return _problem(error)


def _problem(error: CarnetError) -> Any:
    beneficiary_id = (request.view_args or {}).get("beneficiary_id")
    back_url = back_label = None
    if request.endpoint == "situation.own_consents":
        back_url, back_label = url_for("situation.own_consents"), "Revenir à mes accords santé"
    elif isinstance(beneficiary_id, uuid.UUID):
        health = (request.endpoint or "").startswith(("situation.health", "situation.rqth"))
        target = "situation.health" if health else "situation.show"
        if request.endpoint == "situation.consents":
            target = "situation.consents"
        back_url = url_for(target, beneficiary_id=beneficiary_id)
        back_label = "Revenir à la page"
    return (
        render_template(
            "situation/problem.html",
            message=error.message,
            back_url=back_url,
            back_label=back_label,
        ),
        error.status,
    )


def _again(
    *,
    errors: dict[str, list[str]] | None = None,
    stale: StaleEdit | None = None,
    status: int,
) -> Any:
    """The page of the refused form again, with the messages and the user's input."""
    endpoint = request.endpoint or ""
    render = _PAGES.get(endpoint)
    if render is None:  # pragma: no cover - every form endpoint is listed
        return _problem(InvalidInput("Le formulaire contient des erreurs."))
    try:
        with db.unit_of_work():
            body = render(require_principal(), request.view_args or {}, errors or {}, stale)
    except (PolicyDenied, PolicyNotFound) as refusal:
        return web._policy_refusal(refusal)  # the edge is the one place that audits refusals
    except CarnetError as problem:
        return _problem(problem)
    return body, status


# -- the situation ------------------------------------------------------------------------------


def _situation_page(
    actor: Principal,
    args: dict[str, Any],
    errors: dict[str, list[str]],
    stale: StaleEdit | None = None,
) -> str:
    page = services.get_situation(actor=actor, beneficiary_id=args["beneficiary_id"])
    return render_template(
        "situation/show.html",
        page=page,
        errors={"barrier": errors} if errors else {},
        values={"barrier": _typed()} if errors else {},
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/situation")
def show(beneficiary_id: uuid.UUID) -> Any:
    return _situation_page(require_principal(), {"beneficiary_id": beneficiary_id}, {})


def _diagnostic_form_page(
    actor: Principal,
    args: dict[str, Any],
    errors: dict[str, list[str]],
    stale: StaleEdit | None = None,
) -> str:
    since = None
    if stale is not None:
        based_on = request.form.get("based_on", "")
        since = int(based_on) if based_on.isdigit() else 0
    page = services.get_diagnostic_form(
        actor=actor, beneficiary_id=args["beneficiary_id"], since=since
    )
    returned = request.method == "POST"
    return render_template(
        "situation/diagnostic_form.html",
        page=page,
        errors=errors,
        values=schemas.diagnostic_values(page.latest, request.form if returned else None),
        stale=stale.message if stale else None,
    )


@blueprint.route("/personnes/<uuid:beneficiary_id>/situation/diagnostic", methods=["GET", "POST"])
def diagnostic_form(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    if request.method == "GET":
        return _diagnostic_form_page(actor, {"beneficiary_id": beneficiary_id}, {})
    data: services.DiagnosticData = schemas.parse(
        schemas.DiagnosticInput(), schemas.diagnostic_data(request.form)
    )
    diagnostic_id = services.record_diagnostic(
        actor=actor, beneficiary_id=beneficiary_id, data=data
    )
    flash("Le diagnostic est enregistré : une nouvelle version est datée d'aujourd'hui.", "success")
    return redirect(
        url_for("situation.diagnostic", beneficiary_id=beneficiary_id, diagnostic_id=diagnostic_id)
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/situation/diagnostics/<uuid:diagnostic_id>")
def diagnostic(beneficiary_id: uuid.UUID, diagnostic_id: uuid.UUID) -> Any:
    page = services.get_diagnostic(
        actor=require_principal(), beneficiary_id=beneficiary_id, diagnostic_id=diagnostic_id
    )
    return render_template("situation/diagnostic.html", page=page)


@blueprint.post("/personnes/<uuid:beneficiary_id>/situation/freins")
def add_barrier(beneficiary_id: uuid.UUID) -> Any:
    data: BarrierData = schemas.parse(schemas.BarrierInput(), request.form)
    barrier_id = services.add_barrier(
        actor=require_principal(), beneficiary_id=beneficiary_id, data=data
    )
    flash("Le frein est noté ; son statut est « identifié ».", "success")
    return redirect(
        url_for("situation.show", beneficiary_id=beneficiary_id, _anchor=f"frein-{barrier_id}")
    )


def _barrier_page(
    actor: Principal,
    args: dict[str, Any],
    errors: dict[str, list[str]],
    stale: StaleEdit | None = None,
) -> str:
    page = services.get_barrier(
        actor=actor, beneficiary_id=args["beneficiary_id"], barrier_id=args["barrier_id"]
    )
    return _barrier_template("situation/barrier.html", page, errors, stale)


def _barrier_template(
    template: str,
    page: services.BarrierPage | health_services.HealthBarrierPage,
    errors: dict[str, list[str]],
    stale: StaleEdit | None,
) -> str:
    form = "status" if request.endpoint and request.endpoint.endswith("_status") else "edit"
    current = schemas.barrier_values(page.barrier)
    values: Values = {"edit": current, "status": {"version": current["version"]}}
    typed: dict[str, str] = {}
    if request.method == "POST":
        typed = _typed()
        # The user's input stays in the form, now against the stored version.
        values[form] = {**values[form], **typed, "version": current["version"]}
    return render_template(
        template,
        page=page,
        errors={form: errors} if errors else {},
        values=values,
        stale=stale.message if stale else None,
        stale_form=form if stale else None,
        typed=typed,
    )


@blueprint.route(
    "/personnes/<uuid:beneficiary_id>/situation/freins/<uuid:barrier_id>", methods=["GET", "POST"]
)
def barrier(beneficiary_id: uuid.UUID, barrier_id: uuid.UUID) -> Any:
    actor = require_principal()
    args = {"beneficiary_id": beneficiary_id, "barrier_id": barrier_id}
    if request.method == "GET":
        return _barrier_page(actor, args, {})
    data: BarrierData = schemas.parse(schemas.BarrierUpdateInput(), request.form)
    changed = services.update_barrier(
        actor=actor, beneficiary_id=beneficiary_id, barrier_id=barrier_id, data=data
    )
    flash("Le frein est enregistré." if changed else "Le frein n'a pas changé.", "success")
    return redirect(
        url_for("situation.show", beneficiary_id=beneficiary_id, _anchor=f"frein-{barrier_id}")
    )


_STATUS_DONE = {
    "en_cours": "Le frein est passé « en cours ».",
    "leve": "Le frein est levé.",
}


@blueprint.post("/personnes/<uuid:beneficiary_id>/situation/freins/<uuid:barrier_id>/statut")
def barrier_status(beneficiary_id: uuid.UUID, barrier_id: uuid.UUID) -> Any:
    change: StatusChange = schemas.parse(schemas.StatusInput(), request.form)
    status = services.change_barrier_status(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        barrier_id=barrier_id,
        change=change,
    )
    flash(_STATUS_DONE.get(status.value, "Le statut est enregistré."), "success")
    return redirect(
        url_for("situation.show", beneficiary_id=beneficiary_id, _anchor=f"frein-{barrier_id}")
    )


# -- the health compartment ---------------------------------------------------------------------


def _health_page(
    actor: Principal,
    args: dict[str, Any],
    errors: dict[str, list[str]],
    stale: StaleEdit | None = None,
) -> str:
    page = health_services.get_health(actor=actor, beneficiary_id=args["beneficiary_id"])
    form = {
        "situation.add_health_barrier": "barrier",
        "situation.rqth": "rqth",
        "situation.add_health_note": "note",
    }.get(request.endpoint or "", "")
    typed = _typed() if request.method == "POST" else {}
    values: Values = {form: typed} if form and (errors or stale) else {}
    if stale is not None:
        values["rqth"] = {**typed, "version": str(page.rqth.version)}
    return render_template(
        "situation/health.html",
        page=page,
        errors={form: errors} if errors else {},
        values=values,
        stale=stale.message if stale else None,
        typed=typed,
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/sante")
def health(beneficiary_id: uuid.UUID) -> Any:
    return _health_page(require_principal(), {"beneficiary_id": beneficiary_id}, {})


@blueprint.post("/personnes/<uuid:beneficiary_id>/sante/freins")
def add_health_barrier(beneficiary_id: uuid.UUID) -> Any:
    data: BarrierData = schemas.parse(schemas.HealthBarrierInput(), request.form)
    barrier_id = health_services.add_health_barrier(
        actor=require_principal(), beneficiary_id=beneficiary_id, data=data
    )
    flash("Le frein de santé est noté ; son statut est « identifié ».", "success")
    return redirect(
        url_for("situation.health", beneficiary_id=beneficiary_id, _anchor=f"frein-{barrier_id}")
    )


def _health_barrier_page(
    actor: Principal,
    args: dict[str, Any],
    errors: dict[str, list[str]],
    stale: StaleEdit | None = None,
) -> str:
    page = health_services.get_health_barrier(
        actor=actor, beneficiary_id=args["beneficiary_id"], barrier_id=args["health_barrier_id"]
    )
    return _barrier_template("situation/health_barrier.html", page, errors, stale)


@blueprint.route(
    "/personnes/<uuid:beneficiary_id>/sante/freins/<uuid:health_barrier_id>",
    methods=["GET", "POST"],
)
def health_barrier(beneficiary_id: uuid.UUID, health_barrier_id: uuid.UUID) -> Any:
    actor = require_principal()
    args = {"beneficiary_id": beneficiary_id, "health_barrier_id": health_barrier_id}
    if request.method == "GET":
        return _health_barrier_page(actor, args, {})
    data: BarrierData = schemas.parse(schemas.HealthBarrierUpdateInput(), request.form)
    changed = health_services.update_health_barrier(
        actor=actor, beneficiary_id=beneficiary_id, barrier_id=health_barrier_id, data=data
    )
    flash("Le frein est enregistré." if changed else "Le frein n'a pas changé.", "success")
    return redirect(
        url_for(
            "situation.health", beneficiary_id=beneficiary_id, _anchor=f"frein-{health_barrier_id}"
        )
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/sante/freins/<uuid:health_barrier_id>/statut")
def health_barrier_status(beneficiary_id: uuid.UUID, health_barrier_id: uuid.UUID) -> Any:
    change: StatusChange = schemas.parse(schemas.StatusInput(), request.form)
    status = health_services.change_health_barrier_status(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        barrier_id=health_barrier_id,
        change=change,
    )
    flash(_STATUS_DONE.get(status.value, "Le statut est enregistré."), "success")
    return redirect(
        url_for(
            "situation.health", beneficiary_id=beneficiary_id, _anchor=f"frein-{health_barrier_id}"
        )
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/sante/rqth")
def rqth(beneficiary_id: uuid.UUID) -> Any:
    change: health_services.RqthChange = schemas.parse(schemas.RqthInput(), request.form)
    health_services.update_rqth(
        actor=require_principal(), beneficiary_id=beneficiary_id, change=change
    )
    flash("La situation RQTH est enregistrée.", "success")
    return redirect(url_for("situation.health", beneficiary_id=beneficiary_id, _anchor="rqth"))


@blueprint.post("/personnes/<uuid:beneficiary_id>/sante/notes")
def add_health_note(beneficiary_id: uuid.UUID) -> Any:
    body: str = schemas.parse(schemas.HealthNoteInput(), request.form)
    health_services.add_health_note(
        actor=require_principal(), beneficiary_id=beneficiary_id, body=body
    )
    flash("La note est enregistrée dans le volet santé.", "success")
    return redirect(url_for("situation.health", beneficiary_id=beneficiary_id, _anchor="notes"))


# -- consents -----------------------------------------------------------------------------------


def _consents_page(
    actor: Principal,
    args: dict[str, Any],
    errors: dict[str, list[str]],
    stale: StaleEdit | None = None,
) -> str:
    beneficiary_id = args.get("beneficiary_id") or records.own_record_id(actor)
    page = health_services.get_consents(actor=actor, beneficiary_id=beneficiary_id)
    return render_template(
        "situation/consents.html",
        page=page,
        errors=errors,
        values=_typed() if errors else {},
    )


def _consent_done(change: health_services.ConsentChange) -> str:
    if change.granted:
        return (
            f"L'accord est enregistré : « {change.organisation_label} » peut lire le volet santé."
        )
    return (
        f"L'accord est retiré : « {change.organisation_label} » ne peut plus lire le volet "
        "santé, dès maintenant."
    )


@blueprint.route("/personnes/<uuid:beneficiary_id>/sante/accords", methods=["GET", "POST"])
def consents(beneficiary_id: uuid.UUID) -> Any:
    """The consents of a person, and the professional's form to record one given in person."""
    actor = require_principal()
    if actor.beneficiary_id == beneficiary_id:
        return redirect(url_for("situation.own_consents"))
    if request.method == "GET":
        return _consents_page(actor, {"beneficiary_id": beneficiary_id}, {})
    decision: schemas.ConsentDecision = schemas.parse(
        schemas.AccompaniedConsentInput(), request.form
    )
    change = health_services.change_health_consent(
        actor=actor,
        beneficiary_id=beneficiary_id,
        organisation_id=decision.organisation_id,
        grant=decision.grant,
    )
    flash(
        _consent_done(change) + " Le journal note qu'elle a été recueillie en votre présence.",
        "success",
    )
    return redirect(url_for("situation.consents", beneficiary_id=beneficiary_id))


@blueprint.route("/mon-carnet/sante/accords", methods=["GET", "POST"])
def own_consents() -> Any:
    """« Mes accords santé »: the person chooses who may read his or her health compartment."""
    actor = require_principal()
    if request.method == "GET":
        return _consents_page(actor, {}, {})
    decision: schemas.ConsentDecision = schemas.parse(schemas.ConsentInput(), request.form)
    change = health_services.change_health_consent(
        actor=actor,
        beneficiary_id=records.own_record_id(actor),
        organisation_id=decision.organisation_id,
        grant=decision.grant,
    )
    flash(_consent_done(change), "success")
    return redirect(url_for("situation.own_consents"))


_PAGES: dict[
    str,
    Callable[[Principal, dict[str, Any], dict[str, list[str]], StaleEdit | None], str],
] = {
    "situation.show": _situation_page,
    "situation.add_barrier": _situation_page,
    "situation.diagnostic_form": _diagnostic_form_page,
    "situation.barrier": _barrier_page,
    "situation.barrier_status": _barrier_page,
    "situation.health": _health_page,
    "situation.add_health_barrier": _health_page,
    "situation.rqth": _health_page,
    "situation.add_health_note": _health_page,
    "situation.health_barrier": _health_barrier_page,
    "situation.health_barrier_status": _health_barrier_page,
    "situation.consents": _consents_page,
    "situation.own_consents": _consents_page,
}
