"""« Mon carnet »: the person's own record, who opened it, and his or her contact details.

Every page reads through the records services with the person as the actor, so the same
gate (scope, policy, audit) applies as for professionals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet.errors import InvalidInput
from carnet.meetings import services as meetings
from carnet.records import schemas
from carnet.records import services as records
from carnet.web import require_principal

blueprint = Blueprint("portal", __name__)


@blueprint.get("/mon-carnet")
def record() -> Any:
    actor = require_principal()
    page = records.get_record(actor=actor, beneficiary_id=records.own_record_id(actor))
    return render_template("portal/record.html", page=page)


@blueprint.post("/mon-carnet/nir")
def reveal_nir() -> Any:
    actor = require_principal()
    own_id = records.own_record_id(actor)
    page = records.get_record(actor=actor, beneficiary_id=own_id)
    nir = records.reveal_nir(actor=actor, beneficiary_id=own_id)
    return render_template("portal/record.html", page=dataclasses.replace(page, nir=nir))


@blueprint.get("/mon-carnet/acces")
def access_log() -> Any:
    actor = require_principal()
    query = schemas.parse(schemas.PageQuery(), request.args)
    log = records.list_access_log(
        actor=actor, beneficiary_id=records.own_record_id(actor), page=query["page"]
    )
    return render_template("portal/access_log.html", log=log)


@blueprint.get("/mon-carnet/rendez-vous")
def meetings_page() -> Any:
    """The person's appointments and the notes shared with him or her."""
    actor = require_principal()
    own_id = records.own_record_id(actor)
    appointments = meetings.list_appointments(actor=actor, beneficiary_id=own_id)
    notes = meetings.list_notes(actor=actor, beneficiary_id=own_id)
    return render_template("meetings/portal.html", appointments=appointments, notes=notes)


@blueprint.route("/mon-carnet/coordonnees", methods=["GET", "POST"])
def contact() -> Any:
    actor = require_principal()
    own_id = records.own_record_id(actor)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            data: schemas.ContactUpdate = schemas.parse(schemas.ContactInput(), request.form)
        except InvalidInput as error:
            errors = error.fields
        else:
            changed = records.update_contact(
                actor=actor,
                beneficiary_id=own_id,
                phone=data.phone,
                email=data.email,
                preferred_channel=data.preferred_channel,
            )
            flash(
                "Vos coordonnées sont enregistrées ; votre référent en est informé."
                if changed
                else "Vos coordonnées n'ont pas changé.",
                "success",
            )
            return redirect(url_for("portal.record"))
    access = records.get_contact(actor=actor, beneficiary_id=own_id)
    person = access.beneficiary
    values = (
        request.form.to_dict()
        if request.method == "POST"
        else {
            "phone": person.phone or "",
            "email": person.email or "",
            "preferred_channel": person.preferred_channel.value,
        }
    )
    return (
        render_template("portal/contact.html", values=values, errors=errors),
        422 if errors else 200,
    )
