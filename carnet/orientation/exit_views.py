"""The exit of a journey, the re-entry, and the job-retention checks: parse, call one
service, render. No query, no role test.

A transition the service refuses (a rule of `carnet.orientation.exits`) rolls the request
back; the handler below shows the page again with the French reason and the user's own
input, in a transaction of its own (a read, audited).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.errors import CarnetError, Conflict, InvalidInput
from carnet.orientation import exit_schemas, exits
from carnet.security.permissions import Action
from carnet.security.policy import PolicyDenied, PolicyNotFound
from carnet.web import require_principal

blueprint = Blueprint("exits", __name__)

_FORMS = {"exits.journey_exit": "exit", "exits.reopen": "reentry"}


@blueprint.app_context_processor
def _actions() -> dict[str, Any]:
    # Templates ask the policy with `access.can_action(close_journey_action)`.
    return {"close_journey_action": Action.CLOSE_JOURNEY}


def _values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


def _exit_page(
    page: exits.ExitPage,
    *,
    form: str = "",
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
) -> str:
    return render_template(
        "orientation/exit.html",
        page=page,
        errors={form: errors} if form and errors is not None else {},
        values={form: _values()} if form and errors is not None else {},
        notice=notice,
    )


def _follow_up_page(
    page: exits.FollowUpPage, *, errors: dict[str, list[str]], notice: str | None = None
) -> str:
    return render_template(
        "orientation/exit_follow_up.html",
        page=page,
        errors=errors,
        values=_values(),
        notice=notice,
    )


@blueprint.errorhandler(Conflict)
@blueprint.errorhandler(InvalidInput)
def _refused(error: CarnetError) -> Any:
    """Nothing was saved (the request rolled back): show the page with the reason."""
    actor = require_principal()
    args = request.view_args or {}
    beneficiary_id = args.get("beneficiary_id")
    follow_up_id = args.get("follow_up_id")
    fields = error.fields if isinstance(error, InvalidInput) else {}
    # Field messages sit beside their fields; a refused transition is said at the top.
    notice = None if fields else error.message
    body = None
    if isinstance(beneficiary_id, uuid.UUID):
        try:
            with db.unit_of_work():
                if isinstance(follow_up_id, uuid.UUID):
                    follow_up = exits.get_follow_up(
                        actor=actor, beneficiary_id=beneficiary_id, follow_up_id=follow_up_id
                    )
                    body = _follow_up_page(follow_up, errors=fields, notice=notice)
                else:
                    page = exits.get_exit_page(actor=actor, beneficiary_id=beneficiary_id)
                    form = _FORMS.get(request.endpoint or "", "exit")
                    body = _exit_page(page, form=form, errors=fields, notice=notice)
        except (PolicyDenied, PolicyNotFound) as refusal:
            # The page is no longer open to the actor (the journey closed meanwhile, and
            # his or her place in the group with it): refused like any page, and audited.
            return current_app.handle_user_exception(refusal)
        except CarnetError:
            body = None  # no page to show again: the reason alone, no data
    if body is None:
        body = render_template(
            "records/problem.html",
            title="Modification impossible",
            message=error.message,
            back_url=None,
            back_label=None,
        )
    return body, error.status


@blueprint.route("/personnes/<uuid:beneficiary_id>/sortie", methods=["GET", "POST"])
def journey_exit(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    if request.method == "GET":
        return _exit_page(exits.get_exit_page(actor=actor, beneficiary_id=beneficiary_id))
    try:
        data: exit_schemas.ExitData = exit_schemas.parse(exit_schemas.ExitInput(), request.form)
    except InvalidInput as error:
        page = exits.get_exit_form(actor=actor, beneficiary_id=beneficiary_id)
        return _exit_page(page, form="exit", errors=error.fields), 422
    closed = exits.close_journey(
        actor=actor,
        beneficiary_id=beneficiary_id,
        reason=data.reason,
        employment_kind=data.employment_kind,
        exited_on=data.exited_on,
    )
    if closed.actor_may_read:
        flash(
            "Le parcours est clos. Les membres du groupe de suivi et la personne en sont informés.",
            "success",
        )
        return redirect(url_for("exits.journey_exit", beneficiary_id=beneficiary_id))
    flash(
        "Le parcours est clos. Les membres du groupe de suivi et la personne en sont "
        "informés ; le carnet n'est plus accessible au groupe, vous compris.",
        "success",
    )
    return redirect(url_for("home.index"))


@blueprint.post("/personnes/<uuid:beneficiary_id>/reouverture")
def reopen(beneficiary_id: uuid.UUID) -> Any:
    actor = require_principal()
    try:
        data: exit_schemas.ReentryData = exit_schemas.parse(
            exit_schemas.ReentryInput(), request.form
        )
    except InvalidInput as error:
        page = exits.get_reentry_form(actor=actor, beneficiary_id=beneficiary_id)
        return _exit_page(page, form="reentry", errors=error.fields), 422
    exits.reopen_journey(actor=actor, beneficiary_id=beneficiary_id, reason=data.reason)
    flash(
        "Un nouveau parcours est ouvert. La personne figure dans la liste des personnes à "
        "orienter.",
        "success",
    )
    return redirect(url_for("orientation.show", beneficiary_id=beneficiary_id))


@blueprint.get("/orientation/suivis-emploi")
def follow_ups() -> Any:
    page = request.args.get("page", default=1, type=int) or 1
    listing = exits.list_due_follow_ups(actor=require_principal(), page=page)
    return render_template("orientation/exit_follow_ups.html", listing=listing)


@blueprint.post("/personnes/<uuid:beneficiary_id>/suivis-emploi/<uuid:follow_up_id>")
def record_follow_up(beneficiary_id: uuid.UUID, follow_up_id: uuid.UUID) -> Any:
    actor = require_principal()
    try:
        data: exit_schemas.FollowUpData = exit_schemas.parse(
            exit_schemas.FollowUpInput(), request.form
        )
    except InvalidInput as error:
        page = exits.get_follow_up(
            actor=actor, beneficiary_id=beneficiary_id, follow_up_id=follow_up_id
        )
        return _follow_up_page(page, errors=error.fields), 422
    exits.record_follow_up(
        actor=actor,
        beneficiary_id=beneficiary_id,
        follow_up_id=follow_up_id,
        still_employed=data.still_employed,
        checked_on=data.checked_on,
        version=data.version,
    )
    flash("Le point de suivi de l'emploi est enregistré.", "success")
    return redirect(url_for("exits.follow_ups"))
