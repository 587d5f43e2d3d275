"""Who gets what in the demo, and when each step of a journey happened.

Every person followed by a showcase professional gets a full record (tier `FULL`); about a
third of the others a lighter one (`LIGHT`); the rest only their group and timeline. Each
followed person lives a story (`carnet.demo.stories`) and carries an attention profile, so
a showcase professional's « Mes accompagnements » shows what a real portfolio would: an
appointment this week, overdue actions, a new orientation still without a first meeting,
someone not seen for months.

`build` reads the follow-up groups the loader wrote and dates the journey from them: the
appointments (past on weekdays in office hours, with attendance; upcoming), each held by
someone who was in the group that day. The writers of each section (`meetings`, `plans`,
`situation`, `documents`, `projects`, `notices`) hang their rows on these dates, so a
record's history reads in order.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.demo import stories
from carnet.meetings.models import AppointmentChannel, AppointmentKind, Attendance
from carnet.records.models import Beneficiary, DigitalAutonomy, GroupMembership, Journey
from carnet.security.permissions import GroupRole, OrganisationKind
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:  # the loader imports this module
    from carnet.demo.loader import Case, Professional

SEED = 5_311  # a stream of its own: the rest of the demo does not move when this changes
PARIS = ZoneInfo("Europe/Paris")
# The professionals of the README's table whose people all get a full record.
FOLLOWERS = ("claire", "julien", "karim", "marc", "lucie", "helene", "elodie")
LIGHT_SHARE = 1 / 3
MAX_FULL_DAYS = 540  # a full record's open journey began at most eighteen months ago
MEETING_EVERY = 45  # days between a référent's meetings with a person, about
MAX_AHEAD = timedelta(days=75)  # an appointment is planned at most this long before
# Appointment start times, French local time: office hours, no lunch-time slot.
SLOTS = tuple(time(h, m) for h in (9, 10, 11, 14, 15, 16) for m in (0, 30))
VISIT_MINUTES = 45
# A référent's people, in order: what needs attention varies along the portfolio.
REFERENT_PATTERN = (
    "this_week",
    "overdue",
    "new",
    "quiet",
    "steady",
    "both",
    "new",
    "steady",
    "quiet",
    "overdue",
    "this_week",
    "steady",
)
MEMBER_PATTERN = ("steady", "this_week", "overdue", "steady", "quiet")
COUPLE = 2


class Tier(StrEnum):
    FULL = "full"
    LIGHT = "light"


class Attention(StrEnum):
    """What the person's référent should see in his or her portfolio today."""

    STEADY = "steady"  # seen lately, next appointment planned after this week
    THIS_WEEK = "this_week"  # an appointment before Sunday night
    OVERDUE = "overdue"  # actions of the plan past their due date
    BOTH = "both"  # this week and overdue actions
    NEW = "new"  # reoriented lately, no appointment with the new référent yet
    QUIET = "quiet"  # not seen for months

    @property
    def this_week(self) -> bool:
        return self in (Attention.THIS_WEEK, Attention.BOTH)

    @property
    def overdue(self) -> bool:
        return self in (Attention.OVERDUE, Attention.BOTH)


# -- who gets what ----------------------------------------------------------------------------


def assign(
    cases: Sequence[Case],
    rng: random.Random,
    *,
    followers: Iterable[Professional],
    referents_by_org: dict[str, list[Professional]],
) -> None:
    """Set each case's tier, attention profile and story (before anything is written: a
    « new orientation » changes the group, an old journey the dates)."""
    follower_ids = {id(p) for p in followers}
    full: list[Case] = []
    others: list[Case] = []
    for case in cases:
        if case.shape in ("closed", "to_orient") or case.referent is None:
            continue
        followed = id(case.referent) in follower_ids or any(
            id(member) in follower_ids for member, _ in case.members
        )
        (full if case.showcase or followed else others).append(case)
    for case in full:
        case.tier = Tier.FULL
    by_referent: dict[int, list[Case]] = {}
    member_only: list[Case] = []
    for case in full:
        if id(case.referent) in follower_ids:
            by_referent.setdefault(id(case.referent), []).append(case)
        else:
            member_only.append(case)
    for group in by_referent.values():
        group.sort(key=lambda c: c.showcase is None)  # the showcase person first
        _attend(group, REFERENT_PATTERN)
        _tell(group, rng)
    _attend(member_only, MEMBER_PATTERN)
    _tell(member_only, rng)
    light = rng.sample(others, k=round(len(others) * LIGHT_SHARE))
    for case in light:
        case.tier = Tier.LIGHT
        case.attention = rng.choices(
            (Attention.STEADY, Attention.OVERDUE, Attention.QUIET, Attention.THIS_WEEK),
            (60, 15, 15, 10),
        )[0]
    _tell(light, rng)
    for case in full:
        if case.story is not None and case.story.key == "handicap":
            _health_partner(case, rng, referents_by_org)


def _eligible(case: Case, attention: Attention) -> bool:
    if attention in (Attention.NEW, Attention.QUIET):
        # Both need a long journey with one référent; the showcase people stay simple.
        return case.shape == "open" and case.showcase is None
    return True


def _attend(group: list[Case], pattern: tuple[str, ...]) -> None:
    """Attention profiles along the pattern; « a couple » of new orientations and of people
    not seen for months at most, whatever the portfolio's size."""
    pending = list(group)
    given: dict[Attention, int] = {}
    slot = 0
    while pending:
        wanted = Attention(pattern[slot % len(pattern)])
        slot += 1
        if wanted in (Attention.NEW, Attention.QUIET) and given.get(wanted, 0) >= COUPLE:
            wanted = Attention.STEADY
        chosen = next((c for c in pending if _eligible(c, wanted)), None)
        if chosen is None:
            chosen, wanted = pending[0], Attention.STEADY
        chosen.attention = wanted
        given[wanted] = given.get(wanted, 0) + 1
        pending.remove(chosen)


def _tell(group: list[Case], rng: random.Random) -> None:
    """A story per person, as varied as possible within one portfolio."""
    used: dict[str, int] = {}
    for case in group:
        if case.story is not None:  # a showcase person's story is fixed
            used[case.story.key] = used.get(case.story.key, 0) + 1
            continue
        fitting = [
            s
            for s in stories.STORIES
            if stories.fits(
                s, case.situation.key, case.person.dependants, case.person.digital_autonomy
            )
        ]
        fewest = min(used.get(s.key, 0) for s in fitting)
        story = rng.choice([s for s in fitting if used.get(s.key, 0) == fewest])
        used[story.key] = used.get(story.key, 0) + 1
        case.story = story


def _health_partner(
    case: Case, rng: random.Random, referents_by_org: dict[str, list[Professional]]
) -> None:
    """People accompanied for a disability are also followed by the CPAM's health mission
    (their RQTH lives in the health compartment)."""
    if case.health_partner is not None:
        return
    member = rng.choice(referents_by_org["cpam"])
    case.members.append((member, "cpam"))
    case.health_partner = "cpam"


def fit_dates(
    case: Case, dates: list[tuple[date, date | None]], today: date, rng: random.Random
) -> list[tuple[date, date | None]]:
    """Move a followed person's journeys in time so the story fits: back when it needs
    months of follow-up (or a first structure before the reorientation); forward when a
    full record's journey began so long ago that a few meetings could not tell it."""
    if case.tier is None or not dates or dates[-1][1] is not None:
        return dates
    if case.attention in (Attention.NEW, Attention.QUIET):
        youngest = 240
    else:
        youngest = 100 if case.tier is Tier.FULL else 0
    opened = dates[-1][0]
    shift = opened - (today - timedelta(days=youngest))
    if case.tier is Tier.FULL and opened < today - timedelta(days=MAX_FULL_DAYS):
        shift = opened - (today - timedelta(days=rng.randint(300, MAX_FULL_DAYS)))
    elif shift.days <= 0:
        return dates
    return [(start - shift, end - shift if end else None) for start, end in dates]


# -- the dated journey ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stint:
    """One place in the follow-up group of the open journey."""

    membership: GroupMembership
    professional: Professional
    org_key: str
    organisation: Organisation

    @property
    def role(self) -> GroupRole:
        return GroupRole(self.membership.role)

    @property
    def started(self) -> datetime:
        return self.membership.started_at

    @property
    def ended(self) -> datetime | None:
        return self.membership.ended_at

    @property
    def kind(self) -> OrganisationKind:
        return OrganisationKind(self.organisation.kind)

    @property
    def name(self) -> str:
        account = self.professional.account
        return f"{account.given_name} {account.family_name}"

    @property
    def author(self) -> tuple[uuid.UUID, uuid.UUID]:
        return self.professional.account.id, self.organisation.id

    def covers(self, at: datetime) -> bool:
        return self.started <= at and (self.ended is None or at <= self.ended)


@dataclass
class Visit:
    """An appointment: held (past, with attendance) or upcoming (no attendance yet)."""

    at: datetime
    holder: Stint
    kind: AppointmentKind
    channel: AppointmentChannel
    topics: str
    created_at: datetime
    attendance: Attendance | None = None
    partner: Stint | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def held(self) -> bool:
        return self.attendance is Attendance.PRESENT

    @property
    def ends(self) -> datetime:
        return self.at + timedelta(minutes=VISIT_MINUTES)


@dataclass
class Journal:
    beneficiary: Beneficiary
    case: Case
    journey: Journey
    stints: list[Stint]
    visits: list[Visit] = field(default_factory=list)
    # When the previous référent handed over (a « new orientation »), with the handover note.
    handover: tuple[Stint, datetime] | None = None
    # The person's words for the story's texts (agreement, city, household).
    words: stories.Words = field(init=False)

    def __post_init__(self) -> None:
        self.words = stories.Words(self.beneficiary)

    @property
    def tier(self) -> Tier:
        return self.case.tier or Tier.LIGHT

    @property
    def attention(self) -> Attention:
        return self.case.attention or Attention.STEADY

    @property
    def story(self) -> stories.Story:
        story = self.case.story
        if story is None:  # pragma: no cover - `assign` gives every case with a tier a story
            raise ValueError("a journal needs a story")
        return story

    @property
    def referents(self) -> list[Stint]:
        return sorted((s for s in self.stints if s.role is GroupRole.REFERENT), key=_started)

    @property
    def members(self) -> list[Stint]:
        return sorted((s for s in self.stints if s.role is GroupRole.MEMBER), key=_started)

    @property
    def referent(self) -> Stint:
        """Today's référent."""
        return self.referents[-1]

    def held_by_referents(self) -> list[Visit]:
        """Appointments the person attended with a référent of this journey, in order."""
        return [v for v in self.visits if v.held and v.holder.role is GroupRole.REFERENT]

    def holder_at(self, at: datetime) -> Stint:
        """The référent in charge at `at` (the first one before he or she started)."""
        referents = self.referents
        return next((s for s in reversed(referents) if s.started <= at), referents[0])

    def health_partner(self) -> Stint | None:
        return next((s for s in self.members if s.kind is OrganisationKind.SANTE), None)


def _started(stint: Stint) -> datetime:
    return stint.started


# -- time helpers -----------------------------------------------------------------------------


# Public holidays on a fixed date (day, month): nobody meets on these.
HOLIDAYS = frozenset({(1, 1), (1, 5), (8, 5), (14, 7), (15, 8), (1, 11), (11, 11), (25, 12)})


def weekday(day: date, *, forward: bool = True) -> date:
    """`day`, or the nearest working day in the given direction."""
    while day.weekday() >= 5 or (day.day, day.month) in HOLIDAYS:
        day += timedelta(days=1 if forward else -1)
    return day


def local(day: date, at: time) -> datetime:
    """A French local time, as the aware UTC instant the database stores."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


def office(day: date, rng: random.Random) -> datetime:
    """A moment of office hours on the weekday `day` (or the next one)."""
    return local(weekday(day), rng.choice(SLOTS))


def paris_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


# -- scheduling -------------------------------------------------------------------------------


class _Scheduler:
    def __init__(self, rng: random.Random, today: date, now: datetime) -> None:
        self.rng = rng
        self.today = today
        self.now = now
        self.next_monday = today + timedelta(days=7 - today.weekday())
        self.booked: set[tuple[uuid.UUID, datetime]] = set()

    def free(self, at: datetime, account_id: uuid.UUID) -> datetime:
        """`at`, or the nearest free slot if the professional is already busy then: the same
        day first, then the working days after (before, for a past one), on the same side
        of now."""
        upcoming = at > self.now
        day = paris_day(at)
        for _ in range(10):
            if (account_id, at) not in self.booked:
                break
            for slot in self.rng.sample(SLOTS, k=len(SLOTS)):
                moment = local(day, slot)
                if upcoming:
                    fits = moment > self.now + timedelta(hours=2)
                else:
                    fits = moment + timedelta(hours=1) < self.now
                if fits and (account_id, moment) not in self.booked:
                    at = moment
                    break
            day = (
                weekday(day + timedelta(days=1))
                if upcoming
                else weekday(day - timedelta(days=1), forward=False)
            )
        self.booked.add((account_id, at))
        return at

    def days(self, start: date, end: date, count: int) -> list[date]:
        """Up to `count` distinct weekdays spread from `start` to `end`, both included."""
        start, end = weekday(start), weekday(end, forward=False)
        if end < start:
            return []
        span = (end - start).days
        count = max(1, min(count, span // 12 + 1))
        picked = {start}
        for index in range(1, count):
            day = start + timedelta(days=round(index * span / (count - 1)))
            if 0 < index < count - 1:
                day += timedelta(days=self.rng.randint(-4, 4))
            day = min(max(day, start), end)
            day = weekday(day, forward=False) if day > start else start
            picked.add(max(day, start))
        return sorted(picked)

    def past(self, day: date) -> datetime | None:
        """An office-hours moment on `day` if it is over by now."""
        moment = office(day, self.rng)
        return moment if moment + timedelta(hours=1) < self.now else None

    def this_week(self) -> datetime:
        """A free slot before the end of this week, else early next week."""
        days = (self.today + timedelta(days=n) for n in range(5 - self.today.weekday()))
        slots = [
            local(day, at)
            for day in days
            if weekday(day) == day  # not a public holiday
            for at in SLOTS
            if local(day, at) > self.now + timedelta(hours=2)
        ]
        if slots:
            return self.rng.choice(slots)
        return office(weekday(self.next_monday + timedelta(days=self.rng.randint(0, 1))), self.rng)

    def later(self, low: int, high: int) -> datetime:
        """A moment after this week: from next Monday plus `low` to `high` days."""
        return office(self.next_monday + timedelta(days=self.rng.randint(low, high)), self.rng)


class _Planner:
    """Dates one journal's appointments from its group and attention profile."""

    def __init__(self, journal: Journal, scheduler: _Scheduler) -> None:
        self.journal = journal
        self.s = scheduler
        self.rng = scheduler.rng
        self.topics = list(journal.story.topics)

    def topic(self, first: bool) -> str:
        if first:
            return self.rng.choice(stories.FIRST_TOPICS)
        if self.topics:
            return self.topics.pop(0)
        return self.rng.choice(stories.GENERIC_TOPICS)

    def channel(self, first: bool) -> AppointmentChannel:
        draw = self.rng.random()
        if first or draw < 0.75:
            return AppointmentChannel.IN_PERSON
        if draw < 0.93 or self.journal.beneficiary.digital_autonomy != DigitalAutonomy.AUTONOMOUS:
            return AppointmentChannel.PHONE
        return AppointmentChannel.VIDEO

    def visit(
        self,
        at: datetime,
        holder: Stint,
        attendance: Attendance | None,
        *,
        first: bool = False,
        topics: str | None = None,
        allow_partner: bool = True,
    ) -> Visit:
        at = self.s.free(at, holder.professional.account.id)
        kind = AppointmentKind.INDIVIDUAL
        partner = None
        channel = self.channel(first)
        text = topics or self.topic(first)
        partners = [
            s
            for s in self.journal.members
            if s.covers(at)
            and not s.organisation.is_sensible
            and s.professional is not holder.professional
        ]
        draw = self.rng.random()
        if not first and topics is None and holder.role is GroupRole.REFERENT:
            if allow_partner and partners and draw < 0.3:
                kind, partner = AppointmentKind.TRIPARTITE, self.rng.choice(partners)
                channel = AppointmentChannel.IN_PERSON
                text = stories.TRIPARTITE_TOPIC.format(
                    partner=partner.name,
                    organisation=partner.organisation.name,
                    focus=self.journal.story.focus,
                )
            elif draw > 0.92:
                kind, channel = AppointmentKind.COLLECTIVE, AppointmentChannel.IN_PERSON
                text = self.rng.choice(stories.COLLECTIVE_TOPICS)
        return Visit(
            at=at,
            holder=holder,
            kind=kind,
            channel=channel,
            topics=text,
            created_at=at,  # set by `_created` once every visit is known
            attendance=attendance,
            partner=partner,
        )

    def stint_visits(
        self, stint: Stint, start: date, end: date, count: int, *, quiet_tail: bool = False
    ) -> list[Visit]:
        """Past appointments of one référent from `start` to `end`, every six weeks or so
        (at most `count`): the first and the last attended, some missed or excused in
        between."""
        count = min(count, max(1, (end - start).days // MEETING_EVERY + 1))
        moments = [m for m in (self.s.past(d) for d in self.s.days(start, end, count)) if m]
        visits = []
        for index, moment in enumerate(moments):
            attendance = Attendance.PRESENT
            if 0 < index < len(moments) - 1:
                draw = self.rng.random()
                if draw < 0.14:
                    attendance = Attendance.ABSENT
                elif draw < 0.26:
                    attendance = Attendance.EXCUSED
            visits.append(self.visit(moment, stint, attendance, first=index == 0))
        if quiet_tail and visits:
            # Not seen since: one or two missed appointments after the last meeting.
            last = paris_day(visits[-1].at)
            tail = self.s.days(last + timedelta(days=25), self.s.today - timedelta(days=12), 2)
            for day in tail[: self.rng.randint(1, 2)]:
                missed_at = self.s.past(day)
                if missed_at is not None:
                    missed = self.rng.choice(
                        (Attendance.ABSENT, Attendance.ABSENT, Attendance.EXCUSED)
                    )
                    visits.append(self.visit(missed_at, stint, missed, topics=stories.RESUME_TOPIC))
        return visits

    def plan(self) -> None:
        journal, s, rng = self.journal, self.s, self.rng
        attention = journal.attention
        full = journal.tier is Tier.FULL
        opened = journal.journey.opened_on
        referents = journal.referents
        current = referents[-1]
        visits: list[Visit] = []
        if attention is Attention.NEW and len(referents) > 1:
            previous = referents[-2]
            start = max(paris_day(previous.started), opened) + timedelta(days=rng.randint(2, 9))
            handover = current.started
            end = paris_day(handover) - timedelta(days=rng.randint(4, 14))
            visits += self.stint_visits(previous, start, end, 8)
            # The handover note, on a working day between the last meeting and the change.
            note_day = weekday(
                paris_day(handover) - timedelta(days=rng.randint(1, 3)), forward=False
            )
            journal.handover = (previous, min(office(note_day, rng), handover))
        else:
            start = max(paris_day(current.started), opened) + timedelta(days=rng.randint(2, 9))
            if attention is Attention.QUIET:
                end = s.today - timedelta(days=rng.randint(110, 170))
                end = max(end, start)
            else:
                end = s.today - timedelta(days=rng.randint(6, 35))
            count = 10 if full else rng.randint(1, 2)
            visits += self.stint_visits(
                current, start, end, count, quiet_tail=attention is Attention.QUIET
            )
        if full:
            visits += self.partner_visits(visits)
        visits.sort(key=lambda v: v.at)
        visits += self.upcoming(visits)
        journal.visits = visits
        self.created(visits)

    def partner_visits(self, referent_visits: list[Visit]) -> list[Visit]:
        """One or two appointments with each partner of the group, while the person was
        still met (a « quiet » person was seen by nobody lately; a newly oriented one by
        nobody since the orientation)."""
        journal, s, rng = self.journal, self.s, self.rng
        attention = journal.attention
        limit = s.today - timedelta(days=2)
        held = [paris_day(v.at) for v in referent_visits if v.held]
        if attention is Attention.QUIET and held:
            limit = held[-1]
        elif attention is Attention.NEW:
            limit = paris_day(journal.referent.started) - timedelta(days=2)
        visits = []
        for stint in journal.members:
            if stint.kind.value not in stories.PARTNER_TOPICS:
                continue
            start = paris_day(stint.started) + timedelta(days=rng.randint(3, 15))
            end = min(limit, paris_day(stint.ended) - timedelta(days=1) if stint.ended else limit)
            for day in s.days(start, end, 2)[: rng.randint(1, 2)]:
                moment = s.past(day)
                if moment is not None:
                    topics = stories.PARTNER_TOPICS[stint.kind.value]
                    visits.append(self.visit(moment, stint, Attendance.PRESENT, topics=topics))
        return visits

    def upcoming(self, past: list[Visit]) -> list[Visit]:
        journal, s, rng = self.journal, self.s, self.rng
        attention = journal.attention
        if attention is Attention.NEW:
            return []
        current = journal.referent
        holder = current
        # A person followed by a showcase partner, not by a showcase référent: the partner's
        # appointment is the one of this week.
        followers = [
            m for m in journal.members if m.professional.key in FOLLOWERS and m.ended is None
        ]
        if journal.referent.professional.key not in FOLLOWERS and followers:
            holder = followers[0]
        topics = stories.PARTNER_TOPICS.get(holder.kind.value) if holder is not current else None
        if not past:
            # Never met yet: the first appointment is planned.
            moment = office(s.today + timedelta(days=rng.randint(3, 15)), rng)
            return [self.visit(moment, current, None, first=True)]
        if attention.this_week:
            return [self.visit(s.this_week(), holder, None, topics=topics)]
        if attention is Attention.QUIET:
            if rng.random() < 0.6:
                return [self.visit(s.later(3, 20), current, None, topics=stories.RESUME_TOPIC)]
            return []
        if journal.tier is Tier.LIGHT and rng.random() < 0.5:
            return []
        return [self.visit(s.later(0, 24), holder, None, topics=topics)]

    def created(self, visits: list[Visit]) -> None:
        """When each appointment was planned: at the end of the holder's previous one when
        it was weeks before, else a week or two ahead, never before he or she joined the
        group (a quiet person's new invitation: these days)."""
        s, rng = self.s, self.rng
        last_end: dict[int, datetime] = {}
        for visit in visits:
            previous = last_end.get(id(visit.holder))
            if visit.attendance is None and visit.topics == stories.RESUME_TOPIC:
                created = office(s.today - timedelta(days=rng.randint(1, 6)), rng)
            elif previous is not None and timedelta(days=1) < visit.at - previous < MAX_AHEAD:
                created = previous + timedelta(minutes=rng.randint(2, 10))
            else:
                ahead = paris_day(visit.at) - timedelta(days=rng.randint(5, 12))
                created = max(
                    visit.holder.started + timedelta(minutes=rng.randint(5, 90)),
                    office(weekday(ahead, forward=False), rng),
                )
            visit.created_at = min(created, visit.at - timedelta(hours=1), s.now)
            visit.created_at = max(visit.created_at, visit.holder.started)
            last_end[id(visit.holder)] = visit.ends


def build(
    db: Session,
    people: Sequence[tuple[Beneficiary, Case]],
    organisations: dict[str, Organisation],
    professionals: dict[uuid.UUID, Professional],
    *,
    today: date,
    now: datetime,
) -> list[Journal]:
    """The dated journeys of every person with a tier, from the groups already written."""
    chosen = [(b, c) for b, c in people if c.tier is not None]
    journeys = {
        j.beneficiary_id: j
        for j in db.scalars(
            select(Journey).where(
                Journey.beneficiary_id.in_([b.id for b, _ in chosen]), Journey.closed_on.is_(None)
            )
        )
    }
    groups: dict[uuid.UUID, list[GroupMembership]] = {}
    for membership in db.scalars(
        select(GroupMembership).where(
            GroupMembership.journey_id.in_([j.id for j in journeys.values()])
        )
    ):
        groups.setdefault(membership.journey_id, []).append(membership)
    keys = {organisation.id: key for key, organisation in organisations.items()}
    scheduler = _Scheduler(random.Random(SEED), today, now)
    journals = []
    for beneficiary, case in chosen:
        journey = journeys.get(beneficiary.id)
        if journey is None:
            continue
        stints = [
            Stint(
                m,
                professionals[m.account_id],
                keys[m.organisation_id],
                organisations[keys[m.organisation_id]],
            )
            for m in groups.get(journey.id, [])
        ]
        if not any(s.role is GroupRole.REFERENT for s in stints):
            continue
        journal = Journal(beneficiary, case, journey, stints)
        _Planner(journal, scheduler).plan()
        journals.append(journal)
    return journals
