"""The referential pages of the département admin: parse, call one service, render.

Who may edit is the policy's answer (`policy.can_configure_departement`), asked by the
services; the views never test a role.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.errors import InvalidInput
from carnet.records.schemas import parse
from carnet.referential import schemas, services
from carnet.web import require_principal

blueprint = Blueprint("referential", __name__)


def _values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


def _index(*, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    themes = services.list_admin_themes(actor=require_principal())
    values = _values() if errors is not None else {}
    body = render_template(
        "referential/index.html", themes=themes, errors=errors or {}, values=values
    )
    return body, status


def _theme_page(
    theme_id: uuid.UUID,
    *,
    form: str = "",
    errors: dict[str, list[str]] | None = None,
    stale: str | None = None,
    status: int = 200,
) -> Any:
    theme = services.get_admin_theme(actor=require_principal(), theme_id=theme_id)
    body = render_template(
        "referential/theme.html",
        theme=theme,
        errors={form: errors or {}} if form else {},
        values={form: _values()} if form else {},
        stale_form=form if stale else None,
        stale=stale,
    )
    return body, status


@blueprint.errorhandler(services.StaleEntry)
def _stale(error: services.StaleEntry) -> Any:
    """Nothing was saved: show the current version, the admin's text kept in its form."""
    form = f"entry-{error.entry_id}" if error.entry_id else "theme"
    with db.unit_of_work():
        return _theme_page(error.theme_id, form=form, stale=error.message, status=409)


@blueprint.get("/referentiel")
def index() -> Any:
    return _index()


@blueprint.post("/referentiel/themes")
def add_theme() -> Any:
    try:
        change = parse(schemas.ThemeInput(), request.form)
        theme_id = services.add_theme(actor=require_principal(), change=change)
    except InvalidInput as error:
        return _index(errors=error.fields, status=422)
    flash("Le thème est ajouté au référentiel.", "success")
    return redirect(url_for("referential.theme", theme_id=theme_id))


@blueprint.route("/referentiel/themes/<uuid:theme_id>", methods=["GET", "POST"])
def theme(theme_id: uuid.UUID) -> Any:
    if request.method == "GET":
        return _theme_page(theme_id)
    try:
        change = parse(schemas.ThemeUpdateInput(), request.form)
        services.update_theme(actor=require_principal(), theme_id=theme_id, change=change)
    except InvalidInput as error:
        return _theme_page(theme_id, form="theme", errors=error.fields, status=422)
    flash("Le thème est enregistré.", "success")
    return redirect(url_for("referential.theme", theme_id=theme_id))


@blueprint.post("/referentiel/themes/<uuid:theme_id>/lignes")
def add_entry(theme_id: uuid.UUID) -> Any:
    try:
        change = parse(schemas.EntryInput(), request.form)
        services.add_entry(actor=require_principal(), theme_id=theme_id, change=change)
    except InvalidInput as error:
        return _theme_page(theme_id, form="new", errors=error.fields, status=422)
    flash("La ligne est ajoutée au thème.", "success")
    return redirect(url_for("referential.theme", theme_id=theme_id))


@blueprint.post("/referentiel/themes/<uuid:theme_id>/lignes/<uuid:entry_id>")
def entry(theme_id: uuid.UUID, entry_id: uuid.UUID) -> Any:
    try:
        change = parse(schemas.EntryUpdateInput(), request.form)
        services.update_entry(
            actor=require_principal(), theme_id=theme_id, entry_id=entry_id, change=change
        )
    except InvalidInput as error:
        return _theme_page(theme_id, form=f"entry-{entry_id}", errors=error.fields, status=422)
    flash("La ligne est enregistrée.", "success")
    return redirect(url_for("referential.theme", theme_id=theme_id, _anchor=f"ligne-{entry_id}"))
