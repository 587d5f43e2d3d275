"""The demo gives several people appointments (past with attendance, upcoming) and notes of
every visibility, sealed like those written through the site."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from carnet import clock
from carnet.demo.loader import load_demo
from carnet.meetings.models import Appointment, Note, NoteVisibility
from carnet.meetings.services import NOTE_COLUMN, NOTE_TABLE
from carnet.records.models import TimelineEvent
from carnet.security import crypto


def test_demo_people_have_appointments_and_notes_of_each_visibility(db_session: Any) -> None:
    load_demo(db_session)
    appointments = db_session.scalars(select(Appointment)).all()
    now = clock.now()
    past = [a for a in appointments if a.starts_at <= now]
    upcoming = [a for a in appointments if a.starts_at > now]
    assert len({a.beneficiary_id for a in appointments}) >= 20
    assert upcoming
    assert past
    assert all(a.attendance is not None for a in past)
    assert {a.attendance for a in past} >= {"present"}
    assert all(a.attendance is None for a in upcoming)

    notes = db_session.scalars(select(Note)).all()
    assert {n.visibility for n in notes} == set(NoteVisibility)
    field_crypto = crypto.current()
    for note in notes[:10]:
        body = field_crypto.open(
            db_session,
            beneficiary_id=note.beneficiary_id,
            table=NOTE_TABLE,
            column=NOTE_COLUMN,
            row_id=note.id,
            sealed=note.body_sealed,
        )
        assert body
        assert body.encode() not in note.body_sealed

    kinds = Counter(db_session.scalars(select(TimelineEvent.kind)))
    assert kinds["meetings:appointment:created"] == len(appointments)
    assert kinds["meetings:attendance:recorded"] == len(past)
    assert kinds["meetings:note:added"] == db_session.scalar(select(func.count()).select_from(Note))
