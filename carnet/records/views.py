"""The record pages: parse, call one service, render. No query, no commit, no role test.

The blueprint lives here rather than in the package's `__init__` so that importing the
models (CLI, migrations, jobs) never imports Flask.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import web
from carnet.auth import services as auth_services
from carnet.errors import CarnetError, Conflict, InvalidInput
from carnet.records import schemas, services
from carnet.security import policy
from carnet.security.permissions import Action
from carnet.web import require_principal
from carnet.workspace import synthesis

blueprint = Blueprint("records", __name__)

# Finding a person (by identifier or by name) is the workspace's search page, `/recherche`.

_GROUP_ENDPOINTS = frozenset(
    {"records.group", "records.invite", "records.end_membership", "records.change_referent"}
)


# -- refusals and conflicts -------------------------------------------------------------------


@blueprint.errorhandler(policy.PolicyDenied)
def _refused(error: policy.PolicyDenied) -> Any:
    """The policy's French refusal, with the way in (« bris de glace ») where it allows one.

    The edge records the denial in the access log (its own transaction, as the request's
    rolled back); this page only adds the link.
    """
    web._policy_refusal(error)  # the edge is the one place that audits refusals
    principal = require_principal()
    # A member refused one section is already in the group: no way in to offer.
    may_join = not error.facts.group_roles and policy.can_action(
        principal, error.facts, Action.BREAK_GLASS
    )
    beneficiary_id = error.facts.beneficiary_id
    return (
        render_template(
            "records/refused.html",
            message=error.message,
            join_url=url_for("records.join", beneficiary_id=beneficiary_id) if may_join else None,
        ),
        403,
    )


@blueprint.errorhandler(Conflict)
@blueprint.errorhandler(InvalidInput)
def _problem(error: CarnetError) -> Any:
    """A write the service refused (nothing was saved): say why and lead back to the page."""
    beneficiary_id = (request.view_args or {}).get("beneficiary_id")
    back_url = back_label = None
    if isinstance(beneficiary_id, uuid.UUID):
        if request.endpoint in _GROUP_ENDPOINTS:
            back_url = url_for("records.group", beneficiary_id=beneficiary_id)
            back_label = "Revenir au groupe de suivi"
        else:
            back_url = url_for("records.show", beneficiary_id=beneficiary_id)
            back_label = "Revenir au carnet"
    title = "Modification impossible" if isinstance(error, Conflict) else "Saisie à corriger"
    return (
        render_template(
            "records/problem.html",
            title=title,
            message=error.message,
            back_url=back_url,
            back_label=back_label,
        ),
        error.status,
    )


# -- the record ---------------------------------------------------------------------------------


@blueprint.get("/personnes/<uuid:beneficiary_id>")
def show(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    if actor.beneficiary_id == beneficiary_id:
        # The person's own record lives in his or her space, in plain words.
        return redirect(url_for("portal.record"))
    page = services.get_record(actor=actor, beneficiary_id=beneficiary_id)
    summary = synthesis.for_record(page.access, page.members)
    return render_template("records/show.html", page=page, synthesis=summary)


@blueprint.post("/personnes/<uuid:beneficiary_id>/nir")
def reveal_nir(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    page = services.get_record(actor=actor, beneficiary_id=beneficiary_id)
    nir = services.reveal_nir(actor=actor, beneficiary_id=beneficiary_id)
    summary = synthesis.for_record(page.access, page.members)
    return render_template(
        "records/show.html", page=dataclasses.replace(page, nir=nir), synthesis=summary
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/code-d-activation")
def activation_code(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    issued = auth_services.issue_activation_code(actor=actor, beneficiary_id=beneficiary_id)
    return render_template(
        "records/activation_code.html", issued=issued, beneficiary_id=beneficiary_id
    )


# -- the history ------------------------------------------------------------------------------

# The history's query string speaks French; the schema's errors name English fields.
_HISTORY_FIELDS = {"since": "du", "until": "au", "domain": "domaine", "page": "page"}


@blueprint.get("/personnes/<uuid:beneficiary_id>/historique")
def history(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    values = {key: value for key, value in request.args.items() if key in _HISTORY_FIELDS.values()}
    try:
        data: schemas.HistoryFilter = schemas.parse(schemas.HistoryFilterInput(), request.args)
    except InvalidInput as error:
        # Same checks and audit row as the list; the form comes back without any event.
        page = services.get_history_form(actor=actor, beneficiary_id=beneficiary_id)
        errors: dict[str, list[str]] = {}
        for name, messages in error.fields.items():
            errors.setdefault(_HISTORY_FIELDS.get(name, "_form"), []).extend(messages)
        return render_template(
            "records/history.html", page=page, errors=errors, values=values, filters={}
        ), 422
    page = services.list_history(
        actor=actor,
        beneficiary_id=beneficiary_id,
        since=data.since,
        until=data.until,
        domain=data.domain,
        page=data.page,
    )
    # What the pager keeps from one page to the next: the filters as typed, checked.
    filters = {
        key: value
        for key, value in (
            ("du", data.since.isoformat() if data.since else None),
            ("au", data.until.isoformat() if data.until else None),
            ("domaine", data.domain),
        )
        if value
    }
    return render_template(
        "records/history.html", page=page, errors={}, values=values, filters=filters
    )


# -- the follow-up group -------------------------------------------------------------------------


def _group_page(
    beneficiary_id: uuid.UUID,
    *,
    form: str | None = None,
    error: InvalidInput | None = None,
    status: int = 200,
) -> Any:
    page = services.get_group_page(actor=require_principal(), beneficiary_id=beneficiary_id)
    errors = {form: error.fields} if form and error else {}
    values = {form: request.form.to_dict()} if form else {}
    return render_template("records/group.html", page=page, errors=errors, values=values), status


@blueprint.get("/personnes/<uuid:beneficiary_id>/groupe-de-suivi")
def group(beneficiary_id: uuid.UUID) -> Any:
    return _group_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/groupe-de-suivi/inviter")
def invite(beneficiary_id: uuid.UUID) -> Any:
    try:
        data: schemas.InviteMember = schemas.parse(schemas.InviteMemberInput(), request.form)
    except InvalidInput as error:
        return _group_page(beneficiary_id, form="invite", error=error, status=422)
    services.invite_member(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        membership_id=data.membership_id,
        role=data.role,
        reason=data.reason,
    )
    flash("Le professionnel a été ajouté au groupe de suivi ; il en est informé.", "success")
    return redirect(url_for("records.group", beneficiary_id=beneficiary_id))


@blueprint.post("/personnes/<uuid:beneficiary_id>/groupe-de-suivi/retirer")
def end_membership(beneficiary_id: uuid.UUID) -> Any:
    try:
        data: schemas.EndMembership = schemas.parse(schemas.EndMembershipInput(), request.form)
    except InvalidInput as error:
        return _group_page(beneficiary_id, form="end", error=error, status=422)
    services.end_membership(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        membership_id=data.membership_id,
        reason=data.reason,
    )
    flash("Le membre ne fait plus partie du groupe de suivi.", "success")
    return redirect(url_for("records.group", beneficiary_id=beneficiary_id))


@blueprint.post("/personnes/<uuid:beneficiary_id>/groupe-de-suivi/referent")
def change_referent(beneficiary_id: uuid.UUID) -> Any:
    try:
        data: schemas.ChangeReferent = schemas.parse(schemas.ChangeReferentInput(), request.form)
    except InvalidInput as error:
        return _group_page(beneficiary_id, form="referent", error=error, status=422)
    services.change_referent(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        membership_id=data.membership_id,
        reason=data.reason,
    )
    flash(
        "Le nouveau référent est désigné ; l'ancien référent et la personne en sont informés.",
        "success",
    )
    return redirect(url_for("records.group", beneficiary_id=beneficiary_id))


# -- « bris de glace » ----------------------------------------------------------------------


@blueprint.route("/personnes/<uuid:beneficiary_id>/rejoindre", methods=["GET", "POST"])
def join(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            data: schemas.BreakGlass = schemas.parse(schemas.BreakGlassInput(), request.form)
        except InvalidInput as error:
            errors = error.fields
        else:
            services.break_glass(actor=actor, beneficiary_id=beneficiary_id, reason=data.reason)
            flash(
                "Vous avez rejoint le groupe de suivi. Cet accès exceptionnel est signalé au "
                "référent et à la personne, et figure dans le journal des accès.",
                "success",
            )
            return redirect(url_for("records.show", beneficiary_id=beneficiary_id))
    page = services.get_join_page(actor=actor, beneficiary_id=beneficiary_id)
    values = request.form.to_dict() if request.method == "POST" else {}
    status = 422 if errors else 200
    return render_template("records/join.html", page=page, errors=errors, values=values), status
