"""The demo's appointments and notes, as `carnet.meetings.services` would write them.

Appointments come from each journal (`carnet.demo.journal`): past ones with their
attendance, upcoming ones without. Notes follow the story: a report shared with the group
after the first meeting, a word to the person after the last one, a note kept private by
its author, a line when an appointment was missed, the handover note of a reorientation;
partners of the group write theirs after their own appointments. Bodies are sealed under
the person's key; each write leaves its timeline event at its own instant.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from carnet.demo import stories
from carnet.demo.journal import Attention, Journal, Stint, Tier, Visit
from carnet.meetings import services as meetings_services
from carnet.meetings.models import Appointment, AppointmentChannel, Attendance, Note, NoteVisibility
from carnet.records.models import TimelineEvent
from carnet.security import crypto
from carnet.security.permissions import GroupRole

SEED = 6_203
Event = meetings_services.Event
GROUP, PRIVATE, SHARED = NoteVisibility.GROUP, NoteVisibility.PRIVATE, NoteVisibility.SHARED


class _Writer:
    def __init__(self, db: Session, now: datetime) -> None:
        self.db = db
        self.now = now
        self.rng = random.Random(SEED)
        self.appointments: list[Appointment] = []
        self.notes: list[Note] = []
        self.events: list[TimelineEvent] = []

    def event(
        self, journal: Journal, kind: Event, at: datetime, actor: Stint, **details: str
    ) -> None:
        account_id, organisation_id = actor.author
        self.events.append(
            TimelineEvent(
                id=uuid.uuid4(),
                departement_id=journal.beneficiary.departement_id,
                beneficiary_id=journal.beneficiary.id,
                journey_id=journal.journey.id,
                kind=kind.value,
                occurred_at=at,
                actor_account_id=account_id,
                actor_organisation_id=organisation_id,
                details=details,
            )
        )

    def appointment(self, journal: Journal, visit: Visit) -> None:
        person = journal.beneficiary
        account_id, organisation_id = visit.holder.author
        row = Appointment(
            id=visit.id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journal.journey.id,
            kind=visit.kind,
            starts_at=visit.at,
            channel=visit.channel,
            place=visit.holder.organisation.name
            if visit.channel is AppointmentChannel.IN_PERSON
            else None,
            topics=visit.topics,
            organisation_id=organisation_id,
            professional_account_id=account_id,
            created_by_id=account_id,
            created_at=visit.created_at,
            updated_at=visit.created_at,
        )
        ids = {"appointment_id": str(visit.id)}
        self.event(journal, Event.APPOINTMENT_CREATED, visit.created_at, visit.holder, **ids)
        if visit.attendance is not None:
            recorded = min(visit.ends + timedelta(minutes=self.rng.randint(0, 2)), self.now)
            row.attendance = visit.attendance
            row.attendance_recorded_at = recorded
            row.attendance_recorded_by_id = account_id
            row.updated_at = recorded
            self.event(journal, Event.ATTENDANCE_RECORDED, recorded, visit.holder, **ids)
        self.appointments.append(row)

    def note(
        self,
        journal: Journal,
        author: Stint,
        visibility: NoteVisibility,
        body: str,
        at: datetime,
        visit: Visit | None = None,
    ) -> None:
        person = journal.beneficiary
        note_id = uuid.uuid4()
        at = min(at, self.now)
        account_id, organisation_id = author.author
        self.notes.append(
            Note(
                id=note_id,
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                appointment_id=visit.id if visit else None,
                author_account_id=account_id,
                author_organisation_id=organisation_id,
                visibility=visibility,
                body_sealed=crypto.current().seal(
                    self.db,
                    beneficiary_id=person.id,
                    departement_id=person.departement_id,
                    table=meetings_services.NOTE_TABLE,
                    column=meetings_services.NOTE_COLUMN,
                    row_id=note_id,
                    plaintext=journal.words(body),
                ),
                created_at=at,
            )
        )
        details = {"note_id": str(note_id), "visibility": visibility.value}
        if visit is not None:
            details["appointment_id"] = str(visit.id)
        self.event(journal, Event.NOTE_ADDED, at, author, **details)

    def after(self, visit: Visit, minutes: int = 0) -> datetime:
        return visit.ends + timedelta(minutes=minutes + self.rng.randint(3, 12))

    def notes_of(self, journal: Journal) -> None:
        story, rng = journal.story, self.rng
        full = journal.tier is Tier.FULL
        held = journal.held_by_referents()
        for visit in journal.visits:
            if visit.attendance in (Attendance.ABSENT, Attendance.EXCUSED):
                if held and visit.at > held[-1].at and journal.attention is Attention.QUIET:
                    continue  # a quiet person: nothing written since the last meeting
                if visit.holder.role is GroupRole.REFERENT and (full or rng.random() < 0.5):
                    text = (
                        stories.ABSENT_NOTE
                        if visit.attendance is Attendance.ABSENT
                        else stories.EXCUSED_NOTE
                    )
                    self.note(journal, visit.holder, GROUP, text, self.after(visit), visit)
            elif visit.held and visit.holder.role is GroupRole.MEMBER:
                partner_note = stories.PARTNER_NOTES.get(visit.holder.kind.value)
                if partner_note is not None:
                    self.note(journal, visit.holder, GROUP, partner_note, self.after(visit), visit)
        if not held:
            return
        first, last = held[0], held[-1]
        self.note(journal, first.holder, GROUP, story.group_notes[0], self.after(first), first)
        if not full:
            if len(held) > 1 and rng.random() < 0.5:
                text = story.shared_notes[-1]
                self.note(journal, last.holder, SHARED, text, self.after(last), last)
            return
        middle = held[len(held) // 2]
        if middle is not first:
            text = story.group_notes[-1]
            self.note(journal, middle.holder, GROUP, text, self.after(middle), middle)
        mine = middle if middle is not last else first
        text = rng.choice(story.private_notes)
        self.note(journal, mine.holder, PRIVATE, text, self.after(mine, 5), mine)
        # The word to the person after the last meeting (it may point to a document the
        # référent deposited then: `carnet.demo.documents` adds it).
        self.note(journal, last.holder, SHARED, story.shared_notes[0], self.after(last, 10), last)

    def handover(self, journal: Journal) -> None:
        if journal.handover is None:
            return
        previous, at = journal.handover
        text = stories.HANDOVER_NOTE.format(
            organisation=journal.referent.organisation.name, focus=journal.story.focus
        )
        self.note(journal, previous, GROUP, text, at)

    def flush(self) -> int:
        # Notes point to appointments, events to nothing: one table after the other.
        for rows in (self.appointments, self.notes, self.events):
            self.db.add_all(rows)
            self.db.flush()
        return len(self.appointments)


def write(db: Session, journals: Sequence[Journal], *, now: datetime) -> int:
    """Write every journal's appointments and notes; returns the number of appointments."""
    writer = _Writer(db, now)
    for journal in journals:
        for visit in journal.visits:
            writer.appointment(journal, visit)
        writer.notes_of(journal)
        writer.handover(journal)
    return writer.flush()
