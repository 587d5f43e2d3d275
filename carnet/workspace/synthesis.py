"""The record's synthesis: what a professional needs to know on opening a record.

The next appointment, the last contact, overdue actions, a new orientation still without
a first appointment, the référent and the open freins, each computed only from a section
the viewer may read, and each section read written to the audit log once. The figures
come from the portfolio's own alert definitions (`workspace.alerts`), in one statement;
the open freins in a second: the page costs the same whatever the record's size.

Orientation and contracts join the synthesis with the issue that builds them.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, select

from carnet import clock, db
from carnet.orientation import review as ep_review
from carnet.orientation import services as orientation_services
from carnet.orientation.models import OrientationType
from carnet.records import gate
from carnet.records.gate import RecordAccess
from carnet.records.services import MemberView
from carnet.referential.models import Theme
from carnet.security.permissions import GroupRole, Section
from carnet.situation.models import Barrier, BarrierStatus
from carnet.workspace import alerts

# A référent for this long without any appointment: « nouvelle orientation » (as the
# portfolio counts it).
NEW_DAYS = 60


class Tag(StrEnum):
    SYNTHESIS_READ = "workspace:synthesis:read"


@dataclass(frozen=True)
class OpenBarrier:
    label: str
    theme_label: str
    status: BarrierStatus
    since: date


@dataclass(frozen=True)
class Synthesis:
    sections: frozenset[Section]
    referent: MemberView | None
    next_appointment_at: datetime | None
    last_contact_at: datetime | None
    days_since_contact: int | None
    overdue_actions: int
    awaiting_first_appointment: bool
    # Days without contact (since the référent arrived, if never), beyond QUIET_DAYS.
    quiet_days: int | None
    open_barriers: list[OpenBarrier]
    # The end of a contract in force within `alerts.CONTRACT_ENDING_DAYS` days, if any.
    contract_ends_on: date | None = None
    # The open orientation period of the current journey (orientation section).
    orientation: orientation_services.PeriodView | None = None
    # A social accompaniment past its delay: to examine in équipe pluridisciplinaire.
    team_review: ep_review.TeamReview | None = None

    def shows(self, section: Section | str) -> bool:
        return Section(section) in self.sections

    @property
    def alert_count(self) -> int:
        return (
            int(self.overdue_actions > 0)
            + int(self.awaiting_first_appointment)
            + int(self.quiet_days is not None)
            + int(self.shows(Section.GROUP) and self.referent is None)
            + int(self.contract_ends_on is not None)
            + int(self.team_review is not None)
        )


_SECTIONS = (
    Section.APPOINTMENTS,
    Section.NOTES,
    Section.PLAN,
    Section.SITUATION,
    Section.CONTRACTS,
    Section.ORIENTATION,
)


def for_record(access: RecordAccess, members: list[MemberView]) -> Synthesis:
    """The synthesis of a record opened by `records.services.get_record`, whose group
    (`members`, empty when the viewer may not read it) is reused as read there."""
    sections = {s for s in _SECTIONS if access.can(s)}
    gate.read_more(access, [(section, Tag.SYNTHESIS_READ) for section in sorted(sections)])
    referent = next((m for m in members if m.role is GroupRole.REFERENT), None)
    figures = _figures(access, sections, referent.started_at if referent else clock.now())
    contacts = [figures.get("last_seen_at"), figures.get("last_note_at")]
    last_contact = max((at for at in contacts if at is not None), default=None)
    awaiting = bool(
        referent is not None
        and "met_since" in figures
        and not figures["met_since"]
        and referent.started_at >= clock.now() - timedelta(days=NEW_DAYS)
    )
    # Silent since the last contact or, with none ever, since the référent arrived.
    silent_since = last_contact or (referent.started_at if referent else None)
    silent_days = (clock.today() - silent_since.date()).days if silent_since else 0
    knows_contacts = bool(sections & {Section.APPOINTMENTS, Section.NOTES})
    orientation = (
        orientation_services.current_orientation(access)
        if Section.ORIENTATION in sections
        else None
    )
    return Synthesis(
        quiet_days=silent_days if knows_contacts and silent_days > alerts.QUIET_DAYS else None,
        sections=frozenset(sections | ({Section.GROUP} if members else set())),
        referent=referent,
        next_appointment_at=figures.get("next_appointment_at"),
        last_contact_at=last_contact,
        days_since_contact=silent_days if last_contact else None,
        overdue_actions=int(figures.get("overdue_actions") or 0),
        awaiting_first_appointment=awaiting,
        open_barriers=_open_barriers(access) if Section.SITUATION in sections else [],
        contract_ends_on=db.as_date(figures.get("contract_ends_on")),
        orientation=orientation,
        # Read with the orientation only; the rule's freins are not shown (see review).
        team_review=ep_review.for_record(access)
        if orientation is not None and orientation.type is OrientationType.SOCIAL
        else None,
    )


def _figures(
    access: RecordAccess, sections: set[Section], referent_since: datetime
) -> dict[str, Any]:
    """The alerts' figures in one statement, each only from a section the viewer may
    read: a figure left out is absent from the result."""
    journey = access.beneficiary.current_journey
    statement = _statement(frozenset(sections), journey is not None)
    if statement is None:
        return {}
    row = db.session().execute(
        statement,
        {
            "person_id": access.beneficiary.id,
            "journey_id": journey.id if journey else None,
            "now": clock.now(),
            "today": clock.today(),
            "viewer_id": access.actor.account_id,
            "referent_since": referent_since,
            "contracts_until": clock.today() + timedelta(days=alerts.CONTRACT_ENDING_DAYS),
        },
    )
    return dict(row.one()._mapping)


@functools.cache
def _statement(sections: frozenset[Section], has_journey: bool) -> Select[Any] | None:
    """Built once per shape (the sections readable, a journey or not): building the
    subqueries costs more than running them."""
    person: BindParameter[uuid.UUID] = bindparam("person_id")
    wanted: dict[str, ColumnElement[Any]] = {}
    if Section.APPOINTMENTS in sections:
        wanted["next_appointment_at"] = alerts.next_appointment_at(person)
        wanted["last_seen_at"] = alerts.last_seen_at(person)
        wanted["met_since"] = alerts.met_since(person, bindparam("referent_since"))
    if has_journey:
        journey: BindParameter[uuid.UUID] = bindparam("journey_id")
        if Section.NOTES in sections:
            wanted["last_note_at"] = alerts.last_note_at(person, journey)
        if Section.PLAN in sections:
            wanted["overdue_actions"] = alerts.overdue_actions(person, journey)
        if Section.CONTRACTS in sections:
            wanted["contract_ends_on"] = alerts.contract_ends_on(person, journey)
    if not wanted:
        return None
    return select(*(column.label(name) for name, column in wanted.items()))


def _open_barriers(access: RecordAccess) -> list[OpenBarrier]:
    rows = db.session().execute(
        select(Barrier, Theme.label)
        .join(Theme, Theme.id == Barrier.theme_id)
        .where(
            Barrier.beneficiary_id == access.beneficiary.id,
            Barrier.status != BarrierStatus.LIFTED,
        )
        .order_by(Barrier.identified_on.desc(), Barrier.id)
    )
    return [
        OpenBarrier(
            label=barrier.label,
            theme_label=theme_label,
            status=barrier.status,
            since=barrier.in_progress_on or barrier.identified_on,
        )
        for barrier, theme_label in rows
    ]
