"""`/`: the home of each role. Choosing which home to show from the principal's role is
routing; every list on it comes from a service that authorizes (and audits) its reads.

The blueprint lives here rather than in the package's `__init__`, like every domain's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet.home import schemas
from carnet.notifications import services as notifications
from carnet.orientation import review as team_review
from carnet.orientation import services as orientation
from carnet.records import schemas as record_schemas
from carnet.records import services as records
from carnet.security.permissions import PrincipalRole
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy
from carnet.web import require_principal
from carnet.workspace import services as workspace

blueprint = Blueprint("home", __name__)


def _professional(actor: Principal, template: str = "home/professional.html", **extra: Any) -> str:
    return render_template(
        template,
        portfolio=workspace.get_portfolio(actor=actor, page_size=workspace.HOME_SIZE),
        notifications=notifications.list_for_account(actor=actor, unread_only=True),
        can_search=workspace.may_search(actor),
        organisation=tenancy.get_organisation(actor.organisation_id),
        **extra,
    )


def _orientation_officer(actor: Principal) -> str:
    queue = None
    if orientation.may_work_queue(actor):
        queue = orientation.orientation_queue(actor=actor, page_size=orientation.HOME_SIZE)
    reviews = team_review.count_team_reviews(actor=actor)
    return _professional(actor, "home/orientation.html", queue=queue, team_reviews=reviews)


def _structure_admin(actor: Principal) -> str:
    return render_template(
        "home/structure_admin.html",
        organisation=tenancy.get_organisation(actor.organisation_id),
        members=tenancy.list_structure_members(actor=actor),
        notifications=notifications.list_for_account(actor=actor, unread_only=True),
    )


def _departement_admin(actor: Principal) -> str:
    return render_template(
        "home/departement_admin.html",
        organisations=tenancy.list_departement_organisations(actor=actor),
        notifications=notifications.list_for_account(actor=actor, unread_only=True),
    )


def _platform_admin(actor: Principal) -> str:
    return render_template("home/platform_admin.html", counts=records.count_by_departement())


def _beneficiary(actor: Principal) -> str:
    return render_template(
        "home/beneficiary.html",
        notifications=notifications.list_for_account(actor=actor, limit=10),
    )


_HOMES: dict[PrincipalRole, Callable[[Principal], str]] = {
    PrincipalRole.BENEFICIARY: _beneficiary,
    PrincipalRole.DEPARTEMENT_ADMIN: _departement_admin,
    PrincipalRole.ORIENTATION_OFFICER: _orientation_officer,
    PrincipalRole.PLATFORM_ADMIN: _platform_admin,
    PrincipalRole.STRUCTURE_ADMIN: _structure_admin,
}


@blueprint.get("/")
def index() -> Any:
    actor = require_principal()
    return _HOMES.get(actor.role, _professional)(actor)


@blueprint.post("/notifications/lues")
def mark_read() -> Any:
    actor = require_principal()
    data: schemas.MarkRead = record_schemas.parse(schemas.MarkReadInput(), request.form)
    if data.notification_id is None:
        notifications.mark_all_read(actor=actor)
        flash("Toutes les notifications sont marquées comme lues.", "success")
    else:
        notifications.mark_read(actor=actor, notification_id=data.notification_id)
        flash("Notification marquée comme lue.", "success")
    return redirect(url_for("home.index"))
