"""The département admin's page of orientation proposal rules: parse, call one service,
render.

Who may save is the policy's answer (`policy.can_configure_departement`), asked by the
services; the views never test a role.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.errors import InvalidInput
from carnet.orientation import rule_services, rules
from carnet.web import require_principal

blueprint = Blueprint("orientation_rules", __name__)


def _values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


def _page(
    *,
    errors: dict[str, list[str]] | None = None,
    stale: str | None = None,
    status: int = 200,
) -> Any:
    page = rule_services.get_rules_page(actor=require_principal())
    submitted = errors is not None or stale is not None
    values = (
        _values()
        if submitted
        else rules.form_values(page.current.rules, [t.code for t in page.themes])
    )
    body = render_template(
        "orientation/rules.html",
        page=page,
        rules=rules,
        errors=errors or {},
        values=values,
        change_note=values.get("change_note", "") if submitted else "",
        stale=stale,
    )
    return body, status


@blueprint.errorhandler(rule_services.StaleRules)
def _stale(error: rule_services.StaleRules) -> Any:
    """Nothing was saved: show the rules now in force, the admin's entries kept."""
    with db.unit_of_work():
        return _page(stale=error.message, status=409)


@blueprint.route("/administration/orientation/regles", methods=["GET", "POST"])
def index() -> Any:
    if request.method == "GET":
        return _page()
    try:
        form = rules.parse_form(request.form)
        version = rule_services.save_rules(
            actor=require_principal(),
            data=form.rules,
            change_note=form.change_note,
            based_on=form.based_on,
        )
    except InvalidInput as error:
        return _page(errors=error.fields, status=422)
    flash(
        f"Les règles sont enregistrées (version {version}). Les propositions déjà faites "
        "gardent la version qui les a produites.",
        "success",
    )
    return redirect(url_for("orientation_rules.index"))


@blueprint.get("/administration/orientation/regles/<int:version>")
def version(version: int) -> Any:
    page = rule_services.get_version_page(actor=require_principal(), version=version)
    return render_template("orientation/rules_version.html", page=page, rules=rules)
