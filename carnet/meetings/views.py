"""Appointment and note pages: parse, call one service, render. No query, no commit, no
role test; what a visitor may do comes from `page.access.can(...)` in the templates.

The blueprint lives here rather than in the package's `__init__` so that importing the
models (CLI, migrations, jobs) never imports Flask.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from carnet.errors import CarnetError, Conflict, InvalidInput
from carnet.meetings import schemas, services
from carnet.web import require_principal

blueprint = Blueprint("meetings", __name__)

FormErrors = dict[str, dict[str, list[str]]]
FormValues = dict[str, dict[str, str]]


@blueprint.errorhandler(Conflict)
def _conflict(error: CarnetError) -> Any:
    """A write the service refused (nothing was saved): say why and lead back to the page."""
    args = request.view_args or {}
    beneficiary_id, appointment_id = args.get("beneficiary_id"), args.get("appointment_id")
    back_url = back_label = None
    if isinstance(beneficiary_id, uuid.UUID) and isinstance(appointment_id, uuid.UUID):
        back_url = url_for(
            "meetings.appointment", beneficiary_id=beneficiary_id, appointment_id=appointment_id
        )
        back_label = "Revenir au rendez-vous"
    elif isinstance(beneficiary_id, uuid.UUID):
        back_url = url_for("meetings.appointments", beneficiary_id=beneficiary_id)
        back_label = "Revenir aux rendez-vous"
    return (
        render_template(
            "meetings/problem.html",
            message=error.message,
            back_url=back_url,
            back_label=back_label,
        ),
        error.status,
    )


# -- the list of appointments -------------------------------------------------------------------


def _appointments_page(
    beneficiary_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    page = services.list_appointments(actor=require_principal(), beneficiary_id=beneficiary_id)
    values = request.form.to_dict() if errors else {"kind": "individuel", "channel": "sur_place"}
    return (
        render_template(
            "meetings/appointments.html", page=page, errors=errors or {}, values=values
        ),
        status,
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/rendez-vous")
def appointments(beneficiary_id: uuid.UUID) -> Any:
    if require_principal().beneficiary_id == beneficiary_id:
        return redirect(url_for("portal.meetings_page"))
    return _appointments_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/rendez-vous")
def create(beneficiary_id: uuid.UUID) -> Any:
    try:
        details: services.AppointmentDetails = schemas.parse(
            schemas.AppointmentInput(), request.form
        )
        appointment = services.create_appointment(
            actor=require_principal(), beneficiary_id=beneficiary_id, details=details
        )
    except InvalidInput as error:
        return _appointments_page(beneficiary_id, errors=error.fields, status=422)
    flash("Le rendez-vous est enregistré.", "success")
    return redirect(
        url_for(
            "meetings.appointment", beneficiary_id=beneficiary_id, appointment_id=appointment.id
        )
    )


# -- one appointment ---------------------------------------------------------------------------


def _appointment_page(
    beneficiary_id: uuid.UUID,
    appointment_id: uuid.UUID,
    *,
    form: str | None = None,
    errors: dict[str, list[str]] | None = None,
    stale: services.StaleAppointment | None = None,
    status: int = 200,
) -> Any:
    page = services.get_appointment(
        actor=require_principal(), beneficiary_id=beneficiary_id, appointment_id=appointment_id
    )
    current = schemas.appointment_form_values(page.appointment)
    values: FormValues = {"edit": current}
    if form is not None:
        typed = request.form.to_dict()
        typed.pop("csrf_token", None)
        if stale is not None:
            # The user's input stays in the form, now against the stored version.
            typed["version"] = current["version"]
        values[form] = typed if form != "edit" else {**current, **typed}
    form_errors: FormErrors = {form: errors} if form and errors else {}
    return (
        render_template(
            "meetings/appointment.html",
            page=page,
            errors=form_errors,
            values=values,
            stale_form=form if stale else None,
            current=current,
        ),
        status,
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/rendez-vous/<uuid:appointment_id>")
def appointment(beneficiary_id: uuid.UUID, appointment_id: uuid.UUID) -> Any:
    if require_principal().beneficiary_id == beneficiary_id:
        return redirect(url_for("portal.meetings_page"))
    return _appointment_page(beneficiary_id, appointment_id)


def _write(
    beneficiary_id: uuid.UUID, appointment_id: uuid.UUID, form: str, action: Any, done: str
) -> Any:
    """Run one write of the appointment page; input errors and stale saves re-render it."""
    try:
        action()
    except InvalidInput as error:
        return _appointment_page(
            beneficiary_id, appointment_id, form=form, errors=error.fields, status=422
        )
    except services.StaleAppointment as error:
        return _appointment_page(beneficiary_id, appointment_id, form=form, stale=error, status=409)
    flash(done, "success")
    return redirect(
        url_for(
            "meetings.appointment", beneficiary_id=beneficiary_id, appointment_id=appointment_id
        )
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/rendez-vous/<uuid:appointment_id>/modifier")
def edit(beneficiary_id: uuid.UUID, appointment_id: uuid.UUID) -> Any:
    def action() -> None:
        data: schemas.AppointmentEdit = schemas.parse(schemas.AppointmentEditInput(), request.form)
        services.update_appointment(
            actor=require_principal(),
            beneficiary_id=beneficiary_id,
            appointment_id=appointment_id,
            version=data.version,
            details=data.details,
        )

    return _write(beneficiary_id, appointment_id, "edit", action, "Le rendez-vous est modifié.")


@blueprint.post("/personnes/<uuid:beneficiary_id>/rendez-vous/<uuid:appointment_id>/presence")
def attendance(beneficiary_id: uuid.UUID, appointment_id: uuid.UUID) -> Any:
    def action() -> None:
        data: schemas.AttendanceChange = schemas.parse(schemas.AttendanceInput(), request.form)
        services.record_attendance(
            actor=require_principal(),
            beneficiary_id=beneficiary_id,
            appointment_id=appointment_id,
            version=data.version,
            attendance=data.attendance,
        )

    return _write(
        beneficiary_id, appointment_id, "attendance", action, "La présence est enregistrée."
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/rendez-vous/<uuid:appointment_id>/annulation")
def cancel(beneficiary_id: uuid.UUID, appointment_id: uuid.UUID) -> Any:
    def action() -> None:
        data: schemas.Cancellation = schemas.parse(schemas.CancellationInput(), request.form)
        services.cancel_appointment(
            actor=require_principal(),
            beneficiary_id=beneficiary_id,
            appointment_id=appointment_id,
            version=data.version,
            reason=data.reason,
        )

    return _write(beneficiary_id, appointment_id, "cancel", action, "Le rendez-vous est annulé.")


@blueprint.post("/personnes/<uuid:beneficiary_id>/rendez-vous/<uuid:appointment_id>/notes")
def appointment_note(beneficiary_id: uuid.UUID, appointment_id: uuid.UUID) -> Any:
    def action() -> None:
        data: schemas.NewNote = schemas.parse(schemas.NoteInput(), request.form)
        services.add_note(
            actor=require_principal(),
            beneficiary_id=beneficiary_id,
            body=data.body,
            visibility=data.visibility,
            appointment_id=appointment_id,
        )

    return _write(beneficiary_id, appointment_id, "note", action, "La note est enregistrée.")


# -- notes ---------------------------------------------------------------------------------------


def _notes_page(
    beneficiary_id: uuid.UUID, *, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    page = services.list_notes(actor=require_principal(), beneficiary_id=beneficiary_id)
    values = request.form.to_dict() if errors else {"visibility": "groupe"}
    return (
        render_template("meetings/notes.html", page=page, errors=errors or {}, values=values),
        status,
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/notes")
def notes(beneficiary_id: uuid.UUID) -> Any:
    if require_principal().beneficiary_id == beneficiary_id:
        return redirect(url_for("portal.meetings_page"))
    return _notes_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/notes")
def add_note(beneficiary_id: uuid.UUID) -> Any:
    try:
        data: schemas.NewNote = schemas.parse(schemas.NoteInput(), request.form)
        services.add_note(
            actor=require_principal(),
            beneficiary_id=beneficiary_id,
            body=data.body,
            visibility=data.visibility,
        )
    except InvalidInput as error:
        return _notes_page(beneficiary_id, errors=error.fields, status=422)
    flash("La note est enregistrée.", "success")
    return redirect(url_for("meetings.notes", beneficiary_id=beneficiary_id))
