"""Appointments and notes: the only readers and writers of these sections of a record.

Every entry point opens the record through `carnet.records.gate` (scope, policy and the
audit row in the caller's transaction) before it reads or writes anything, and never
commits. Writes add a timeline event holding ids and codes only.

Notes are sealed under the person's data key. Who reads a note depends on its
visibility: `privee` only its author, `groupe` whoever may read the notes section,
`partagee` the person too. The filter is part of the SQL query, so another's private
note is never loaded, returned or counted; the person only ever gets shared notes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, or_, select

from carnet import clock, db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.meetings.models import (
    Appointment,
    AppointmentChannel,
    AppointmentKind,
    Attendance,
    Note,
    NoteVisibility,
)
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary
from carnet.security import crypto
from carnet.security.permissions import Level, Section
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

# Where a note's body lives; sealing and opening must name the same place (AAD).
NOTE_TABLE = "notes"
NOTE_COLUMN = "body_sealed"
NOTES_LIMIT = 200
APPOINTMENTS_LIMIT = 200
MASKED_NAME = "Professionnel·le"

STALE_MESSAGE = (
    "Ce rendez-vous a été modifié par quelqu'un d'autre pendant votre saisie : rien n'a été "
    "enregistré. Comparez avec les valeurs actuelles ci-dessous ; votre saisie est conservée "
    "dans le formulaire, enregistrez-la à nouveau si elle reste juste."
)


class Tag(StrEnum):
    """Audit tags of the meetings domain (`domain:subject:action`)."""

    APPOINTMENT_CANCELLED = "meetings:appointment:cancelled"
    APPOINTMENT_CREATED = "meetings:appointment:created"
    APPOINTMENT_READ = "meetings:appointment:read"
    APPOINTMENT_UPDATED = "meetings:appointment:updated"
    APPOINTMENTS_LISTED = "meetings:appointments:listed"
    ATTENDANCE_RECORDED = "meetings:attendance:recorded"
    NOTE_ADDED = "meetings:note:added"
    NOTES_LISTED = "meetings:notes:listed"


class Event(StrEnum):
    """Timeline kinds written by this module."""

    APPOINTMENT_CANCELLED = "meetings:appointment:cancelled"
    APPOINTMENT_CREATED = "meetings:appointment:created"
    APPOINTMENT_UPDATED = "meetings:appointment:updated"
    ATTENDANCE_RECORDED = "meetings:attendance:recorded"
    NOTE_ADDED = "meetings:note:added"


# -- what the pages receive ---------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentDetails:
    """What a professional types to plan an appointment (built by the input schema)."""

    kind: AppointmentKind
    starts_at: datetime
    channel: AppointmentChannel
    place: str | None
    topics: str | None


@dataclass(frozen=True)
class AppointmentView:
    id: uuid.UUID
    kind: AppointmentKind
    starts_at: datetime
    channel: AppointmentChannel
    place: str | None
    topics: str | None
    organisation_label: str
    professional_name: str
    attendance: Attendance | None
    attendance_recorded_at: datetime | None
    is_cancelled: bool
    cancellation_reason: str | None
    version: int
    is_past: bool

    @property
    def may_record_attendance(self) -> bool:
        return self.is_past and not self.is_cancelled

    @property
    def may_change(self) -> bool:
        return not self.is_cancelled and self.attendance is None


@dataclass(frozen=True)
class NoteView:
    id: uuid.UUID
    appointment_id: uuid.UUID | None
    visibility: NoteVisibility
    body: str
    author_name: str
    organisation_label: str
    created_at: datetime
    is_mine: bool


@dataclass(frozen=True)
class AppointmentsPage:
    access: RecordAccess
    person: Beneficiary
    upcoming: list[AppointmentView]
    past: list[AppointmentView]


@dataclass(frozen=True)
class AppointmentPage:
    access: RecordAccess
    person: Beneficiary
    appointment: AppointmentView
    # None when the actor may not read the notes section at all.
    notes: list[NoteView] | None


@dataclass(frozen=True)
class NotesPage:
    access: RecordAccess
    person: Beneficiary
    notes: list[NoteView]


class StaleAppointment(Conflict):
    """A save made on an old version: nothing was written; `current` is what is stored now."""

    def __init__(self, current: AppointmentView) -> None:
        super().__init__(STALE_MESSAGE, code="stale")
        self.current = current


# -- the acting professional ---------------------------------------------------------------


def _author(actor: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    """The account and organisation a professional acts for; the policy lets only group
    members write these sections, so this guards against a misconfigured matrix."""
    if actor.account_id is None or actor.organisation_id is None:
        raise Denied("Seul un professionnel du groupe de suivi peut faire cela.")
    return actor.account_id, actor.organisation_id


EXIT_CANCELLATION_REASON = "Sortie de parcours"


def _timeline(access: RecordAccess, kind: Event, details: dict[str, str]) -> None:
    journey = access.beneficiary.current_journey
    records.add_event(access, kind, journey.id if journey else None, details)


# -- appointments as shown ------------------------------------------------------------------


def _appointment_views(actor: Principal, rows: list[Appointment]) -> list[AppointmentView]:
    names = tenancy.professional_names(row.professional_account_id for row in rows)
    organisations = tenancy.organisations_by_id(row.organisation_id for row in rows)
    now = clock.now()
    views = []
    for row in rows:
        organisation = organisations.get(row.organisation_id)
        masked = organisation is None or organisation.is_masked_for(actor)
        views.append(
            AppointmentView(
                id=row.id,
                kind=AppointmentKind(row.kind),
                starts_at=row.starts_at,
                channel=AppointmentChannel(row.channel),
                # A sensible structure's address would reveal what its name hides.
                place=None if masked else row.place,
                topics=row.topics,
                organisation_label=organisation.label_for(actor) if organisation else "Structure",
                professional_name=MASKED_NAME
                if masked
                else names.get(row.professional_account_id, MASKED_NAME),
                attendance=Attendance(row.attendance) if row.attendance else None,
                attendance_recorded_at=row.attendance_recorded_at,
                is_cancelled=row.is_cancelled,
                cancellation_reason=row.cancellation_reason,
                version=row.version,
                is_past=row.starts_at <= now,
            )
        )
    return views


def _appointment(access: RecordAccess, appointment_id: uuid.UUID) -> Appointment:
    row = db.session().scalar(
        select(Appointment).where(
            Appointment.id == appointment_id,
            Appointment.beneficiary_id == access.beneficiary.id,
        )
    )
    if row is None:
        raise NotFound("Ce rendez-vous n'existe pas ou n'existe plus.")
    return row


def list_appointments(*, actor: Principal, beneficiary_id: uuid.UUID) -> AppointmentsPage:
    """The person's appointments: upcoming ones soonest first, then past ones latest first."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.APPOINTMENTS,
        tag=Tag.APPOINTMENTS_LISTED,
    )
    rows = list(
        db.session().scalars(
            select(Appointment)
            .where(Appointment.beneficiary_id == access.beneficiary.id)
            .order_by(Appointment.starts_at.desc(), Appointment.id)
            .limit(APPOINTMENTS_LIMIT)
        )
    )
    views = _appointment_views(actor, rows)
    upcoming = sorted((v for v in views if not v.is_past), key=lambda v: v.starts_at)
    past = [v for v in views if v.is_past]
    return AppointmentsPage(access, access.beneficiary, upcoming, past)


def get_appointment(
    *, actor: Principal, beneficiary_id: uuid.UUID, appointment_id: uuid.UUID
) -> AppointmentPage:
    """One appointment, and the notes about it the actor may read (a second audited read)."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.APPOINTMENTS,
        tag=Tag.APPOINTMENT_READ,
        object_id=appointment_id,
    )
    row = _appointment(access, appointment_id)
    notes: list[NoteView] | None = None
    if access.can(Section.NOTES):
        notes_access = gate.open_record(
            actor=actor,
            beneficiary_id=beneficiary_id,
            section=Section.NOTES,
            tag=Tag.NOTES_LISTED,
            object_id=appointment_id,
        )
        notes = _notes(notes_access, appointment_id=row.id)
    return AppointmentPage(access, access.beneficiary, _appointment_views(actor, [row])[0], notes)


# -- appointments: writes ----------------------------------------------------------------------


def _check_details(details: AppointmentDetails) -> None:
    if details.channel is AppointmentChannel.IN_PERSON and not details.place:
        raise InvalidInput(
            "Le formulaire contient des erreurs : corrigez les champs signalés.",
            fields={"place": ["Indiquez le lieu du rendez-vous."]},
        )
    if details.starts_at.tzinfo is None:  # pragma: no cover - the schema makes it aware
        raise InvalidInput("Heure du rendez-vous invalide.", fields={"time": ["Heure invalide."]})


def create_appointment(
    *, actor: Principal, beneficiary_id: uuid.UUID, details: AppointmentDetails
) -> Appointment:
    """Plan an appointment held by the actor, for the actor's organisation."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.APPOINTMENTS,
        tag=Tag.APPOINTMENT_CREATED,
        level=Level.WRITE,
        object_id=new_id,
    )
    account_id, organisation_id = _author(actor)
    _check_details(details)
    person = access.beneficiary
    journey = person.current_journey
    appointment = Appointment(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey.id if journey else None,
        kind=details.kind,
        starts_at=details.starts_at,
        channel=details.channel,
        place=details.place if details.channel is AppointmentChannel.IN_PERSON else None,
        topics=details.topics,
        organisation_id=organisation_id,
        professional_account_id=account_id,
        created_by_id=account_id,
    )
    db.session().add(appointment)
    db.session().flush()
    _timeline(access, Event.APPOINTMENT_CREATED, {"appointment_id": str(new_id)})
    log.info("appointment created beneficiary=%s appointment=%s", person.id, new_id)
    return appointment


def _writable(
    actor: Principal, beneficiary_id: uuid.UUID, appointment_id: uuid.UUID, tag: Tag, version: int
) -> tuple[RecordAccess, Appointment]:
    """Open for writing, load the appointment and refuse a save made on an old version."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.APPOINTMENTS,
        tag=tag,
        level=Level.WRITE,
        object_id=appointment_id,
    )
    _author(actor)
    row = _appointment(access, appointment_id)
    if row.version != version:
        raise StaleAppointment(_appointment_views(actor, [row])[0])
    return access, row


# The version counter is checked again by the UPDATE itself: two saves at the same
# instant cannot both pass.
STALE_APPOINTMENT_MESSAGE = (
    "Ce rendez-vous vient d'être modifié par quelqu'un d'autre : rien n'a été "
    "enregistré. Rechargez la page pour voir sa dernière version."
)


def update_appointment(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    appointment_id: uuid.UUID,
    version: int,
    details: AppointmentDetails,
) -> Appointment:
    access, row = _writable(actor, beneficiary_id, appointment_id, Tag.APPOINTMENT_UPDATED, version)
    if row.is_cancelled:
        raise Conflict("Ce rendez-vous est annulé : il ne peut plus être modifié.")
    if row.attendance is not None:
        raise Conflict("La présence est déjà notée : ce rendez-vous ne peut plus être modifié.")
    _check_details(details)
    row.kind = details.kind
    row.starts_at = details.starts_at
    row.channel = details.channel
    row.place = details.place if details.channel is AppointmentChannel.IN_PERSON else None
    row.topics = details.topics
    db.flush_or_conflict(STALE_APPOINTMENT_MESSAGE)
    _timeline(access, Event.APPOINTMENT_UPDATED, {"appointment_id": str(row.id)})
    return row


def record_attendance(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    appointment_id: uuid.UUID,
    version: int,
    attendance: Attendance,
) -> Appointment:
    """Présent, absent or excusé, once the appointment's time has come."""
    access, row = _writable(actor, beneficiary_id, appointment_id, Tag.ATTENDANCE_RECORDED, version)
    account_id, _ = _author(actor)
    if row.is_cancelled:
        raise Conflict("Ce rendez-vous est annulé : la présence ne peut pas être notée.")
    if row.starts_at > clock.now():
        raise InvalidInput(
            "La présence se note une fois l'heure du rendez-vous passée.",
            fields={"attendance": ["La présence se note une fois l'heure du rendez-vous passée."]},
        )
    row.attendance = attendance
    row.attendance_recorded_at = clock.now()
    row.attendance_recorded_by_id = account_id
    db.flush_or_conflict(STALE_APPOINTMENT_MESSAGE)
    _timeline(access, Event.ATTENDANCE_RECORDED, {"appointment_id": str(row.id)})
    return row


def cancel_appointment(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    appointment_id: uuid.UUID,
    version: int,
    reason: str,
) -> Appointment:
    access, row = _writable(
        actor, beneficiary_id, appointment_id, Tag.APPOINTMENT_CANCELLED, version
    )
    if row.is_cancelled:
        raise Conflict("Ce rendez-vous est déjà annulé.")
    if row.attendance is not None:
        raise Conflict("La présence est déjà notée : ce rendez-vous ne peut plus être annulé.")
    row.is_cancelled = True
    row.cancellation_reason = reason
    row.cancelled_at = clock.now()
    db.flush_or_conflict(STALE_APPOINTMENT_MESSAGE)
    _timeline(access, Event.APPOINTMENT_CANCELLED, {"appointment_id": str(row.id)})
    return row


def cancel_for_exit(access: RecordAccess, journey_id: uuid.UUID) -> int:
    """The journey is closed (by `carnet.orientation.exits`, which opened `access`): the
    appointments still ahead are cancelled, with that reason. Returns how many."""
    ahead = db.session().scalars(
        select(Appointment).where(
            Appointment.journey_id == journey_id,
            Appointment.starts_at > clock.now(),
            Appointment.is_cancelled.is_(False),
        )
    )
    cancelled = 0
    for row in ahead:
        row.is_cancelled = True
        row.cancellation_reason = EXIT_CANCELLATION_REASON
        row.cancelled_at = clock.now()
        records.add_event(
            access, Event.APPOINTMENT_CANCELLED, journey_id, {"appointment_id": str(row.id)}
        )
        cancelled += 1
    return cancelled


# -- notes ---------------------------------------------------------------------------------------


def _readable_by(actor: Principal) -> ColumnElement[bool]:
    """Which notes the actor may read once the policy allowed `notes:read` on the record."""
    if actor.is_beneficiary:
        # The person: only what was shared with him or her.
        return Note.visibility == NoteVisibility.SHARED
    if actor.account_id is None:
        # No author identity (a system actor): no private note at all.
        return Note.visibility != NoteVisibility.PRIVATE
    # A professional: group and shared notes, and his or her own private notes.
    return or_(
        Note.visibility != NoteVisibility.PRIVATE,
        Note.author_account_id == actor.account_id,
    )


def _open_body(person: Beneficiary, row: Note) -> str:
    return records.open_sealed(
        person.id,
        table=NOTE_TABLE,
        column=NOTE_COLUMN,
        row_id=row.id,
        sealed=row.body_sealed,
        what="cette note",
    )


def _notes(access: RecordAccess, *, appointment_id: uuid.UUID | None = None) -> list[NoteView]:
    actor = access.actor
    stmt = select(Note).where(Note.beneficiary_id == access.beneficiary.id, _readable_by(actor))
    if appointment_id is not None:
        stmt = stmt.where(Note.appointment_id == appointment_id)
    rows = list(
        db.session().scalars(stmt.order_by(Note.created_at.desc(), Note.id).limit(NOTES_LIMIT))
    )
    names = tenancy.professional_names(row.author_account_id for row in rows)
    organisations = tenancy.organisations_by_id(row.author_organisation_id for row in rows)
    views = []
    for row in rows:
        organisation = (
            organisations.get(row.author_organisation_id) if row.author_organisation_id else None
        )
        masked = organisation is None or organisation.is_masked_for(actor)
        views.append(
            NoteView(
                id=row.id,
                appointment_id=row.appointment_id,
                visibility=NoteVisibility(row.visibility),
                body=_open_body(access.beneficiary, row),
                author_name=MASKED_NAME
                if masked
                else names.get(row.author_account_id, MASKED_NAME),
                organisation_label=organisation.label_for(actor) if organisation else "Structure",
                created_at=row.created_at,
                is_mine=row.author_account_id == actor.account_id,
            )
        )
    return views


def list_notes(*, actor: Principal, beneficiary_id: uuid.UUID) -> NotesPage:
    """The notes of the record the actor may read, newest first."""
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.NOTES, tag=Tag.NOTES_LISTED
    )
    return NotesPage(access, access.beneficiary, _notes(access))


def add_note(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    body: str,
    visibility: NoteVisibility,
    appointment_id: uuid.UUID | None = None,
) -> Note:
    """Write a note (optionally about one appointment); the body is sealed before it is stored."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.NOTES,
        tag=Tag.NOTE_ADDED,
        level=Level.WRITE,
        object_id=new_id,
    )
    account_id, organisation_id = _author(actor)
    person = access.beneficiary
    if appointment_id is not None:
        # Reading which appointment it is about needs the appointments section too.
        if not access.can(Section.APPOINTMENTS):
            raise Denied("Votre rôle ne permet pas d'accéder aux rendez-vous de cette personne.")
        _appointment(access, appointment_id)
    note = Note(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        appointment_id=appointment_id,
        author_account_id=account_id,
        author_organisation_id=organisation_id,
        visibility=visibility,
        body_sealed=crypto.current().seal(
            db.session(),
            beneficiary_id=person.id,
            departement_id=person.departement_id,
            table=NOTE_TABLE,
            column=NOTE_COLUMN,
            row_id=new_id,
            plaintext=body,
        ),
    )
    db.session().add(note)
    db.session().flush()
    details = {"note_id": str(new_id), "visibility": visibility.value}
    if appointment_id is not None:
        details["appointment_id"] = str(appointment_id)
    _timeline(access, Event.NOTE_ADDED, details)
    log.info("note added beneficiary=%s note=%s", person.id, new_id)
    return note
