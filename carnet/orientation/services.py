"""Orientation services: the queue, the record's orientation, the decision, reorientation.

Every entry point that reads or writes a person's orientation opens the record through
`carnet.records.gate` (scope, policy, audit row in the caller's transaction) and never
commits. Each transition is one function here with its rule, refuses an invalid move with
a French `Conflict` or `InvalidInput`, and writes a timeline event (ids and codes only)
besides the gate's audit row.

The clock (DOMAIN.md §3.4): the first orientation is due one calendar month after the
right opened (the départements' target) and at the latest six weeks after it (the legal
limit, after which France Travail orients). Both are counted in days from
`carnet.clock.today()`, so tests control them.

The queue is one statement per page (a CTE of the people waiting, then the summary band
and the page together, like the portfolio of `carnet.workspace`), listed only to those
the policy lets read identity outside a group (the chargé d'orientation of the
département) and audited once per listing.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CTE,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    select,
    true,
)

from carnet import clock, db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.orientation import proposal as proposals
from carnet.orientation.models import (
    Orientation,
    OrientationType,
    ReorientationRequest,
    RequestStatus,
)
from carnet.orientation.schemas import (
    NewOrientation,
    PreviousReferent,
    QueueQuery,
    QueueStatus,
    ReorientationAsk,
)
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, GroupMembership, Journey, RsaState
from carnet.security import policy
from carnet.security.permissions import (
    Action,
    AuditAction,
    GroupRole,
    Level,
    MembershipRole,
    OrganisationKind,
    Section,
    permission,
)
from carnet.security.policy import RecordFacts
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy
from carnet.tenancy.models import AccreditationStatus

log = logging.getLogger(__name__)

PAGE_SIZE = 25
HOME_SIZE = 5
LEGAL_LIMIT_DAYS = 42  # six weeks from the opening of the right
REQUESTS_PAGE_SIZE = 25

TYPE_LABELS = proposals.TYPE_LABELS

# The structures that may accompany each type of orientation (DOMAIN.md §2, §3.4): the
# officer chooses among the accredited ones of the département.
KINDS_FOR_TYPE: dict[OrientationType, frozenset[OrganisationKind]] = {
    OrientationType.PROFESSIONAL: frozenset(
        {
            OrganisationKind.FRANCE_TRAVAIL,
            OrganisationKind.CAP_EMPLOI,
            OrganisationKind.MISSION_LOCALE,
            OrganisationKind.PLIE,
        }
    ),
    OrientationType.SOCIO_PROFESSIONAL: frozenset(
        {
            OrganisationKind.DEPARTEMENT,
            OrganisationKind.FRANCE_TRAVAIL,
            OrganisationKind.CAP_EMPLOI,
            OrganisationKind.MISSION_LOCALE,
            OrganisationKind.PLIE,
            OrganisationKind.CCAS,
            OrganisationKind.ASSOCIATION,
        }
    ),
    OrientationType.SOCIAL: frozenset(
        {OrganisationKind.DEPARTEMENT, OrganisationKind.CCAS, OrganisationKind.ASSOCIATION}
    ),
}
ACCOMPANYING_KINDS = frozenset().union(*KINDS_FOR_TYPE.values())
KIND_LABELS: dict[OrganisationKind, str] = {
    OrganisationKind.DEPARTEMENT: "Département",
    OrganisationKind.FRANCE_TRAVAIL: "France Travail",
    OrganisationKind.MISSION_LOCALE: "Missions locales",
    OrganisationKind.CAP_EMPLOI: "Cap emploi",
    OrganisationKind.CCAS: "CCAS",
    OrganisationKind.PLIE: "PLIE",
    OrganisationKind.ASSOCIATION: "Associations",
}

STATUS_LABELS: dict[QueueStatus, str] = {
    QueueStatus.IN_TIME: "dans les délais",
    QueueStatus.TARGET_PASSED: "objectif d'un mois dépassé",
    QueueStatus.LIMIT_PASSED: "délai légal de six semaines dépassé",
}

QUEUE_DENIED = (
    "La file des personnes à orienter est réservée aux chargés d'orientation du département."
)
NO_JOURNEY_MESSAGE = (
    "Cette personne n'a pas de parcours en cours : une orientation ne peut être décidée "
    "que sur un parcours ouvert."
)
GROUP_DENIED = (
    "Votre rôle ne permet pas de modifier le groupe de suivi : l'orientation ne peut pas "
    "être enregistrée."
)
NO_ORIENTATION_MESSAGE = (
    "Cette personne n'a pas encore d'orientation en cours : une réorientation ne peut être "
    "demandée qu'une fois la première orientation décidée."
)
PENDING_MESSAGE = (
    "Une demande de réorientation est déjà en attente pour ce parcours : attendez la "
    "réponse du chargé d'orientation avant d'en faire une autre."
)
ALREADY_DECIDED_MESSAGE = (
    "Cette demande de réorientation a déjà reçu une réponse : rechargez la page."
)
UNKNOWN_REQUEST_MESSAGE = "Cette demande de réorientation n'existe pas pour cette personne."
STALE_MESSAGE = "Quelqu'un d'autre vient de modifier cette orientation : rechargez la page."


class Tag(StrEnum):
    """Audit tags of the orientation (`domain:subject:action`)."""

    DECIDED = "orientation:period:decided"
    KEPT = "orientation:request:kept"
    ORIENTATION_READ = "orientation:record:read"
    QUEUE_LISTED = "orientation:queue:listed"
    REQUESTED = "orientation:request:created"
    REQUESTS_LISTED = "orientation:requests:listed"


class Event(StrEnum):
    """Timeline and notification kinds written by this module."""

    DECIDED = "orientation:period:decided"
    DECIDED_NOTICE = "orientation:decision:decided"
    NEW_REFERENT = "orientation:decision:referent"
    PREVIOUS_LEFT = "orientation:decision:previous_left"
    PREVIOUS_MEMBER = "orientation:decision:previous_member"
    REQUEST_ACCEPTED = "orientation:request:accepted"
    REQUEST_KEPT = "orientation:request:kept"
    REQUEST_MOOT = "orientation:request:moot"
    REQUESTED = "orientation:request:created"


# -- the clock -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrientationClock:
    """Where one person stands against the one-month target and the six-week limit."""

    since: date  # the opening of the right (or of the journey when the right's date is unknown)
    today: date

    @property
    def days_waiting(self) -> int:
        return max(0, (self.today - self.since).days)

    @property
    def target_on(self) -> date:
        return clock.add_months(self.since, 1)

    @property
    def limit_on(self) -> date:
        return self.since + timedelta(days=LEGAL_LIMIT_DAYS)

    @property
    def target_days_left(self) -> int:
        """Days left until the target (0 on its last day); negative: days past it."""
        return (self.target_on - self.today).days

    @property
    def limit_days_left(self) -> int:
        return (self.limit_on - self.today).days

    @property
    def status(self) -> QueueStatus:
        if self.limit_days_left < 0:
            return QueueStatus.LIMIT_PASSED
        if self.target_days_left < 0:
            return QueueStatus.TARGET_PASSED
        return QueueStatus.IN_TIME

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def _target_passed_upto(today: date) -> date:
    """The latest opening date whose one-month target is already past on `today`."""
    day = today - timedelta(days=32)  # one month is at most 31 days
    while clock.add_months(day + timedelta(days=1), 1) < today:
        day += timedelta(days=1)
    return day


def _clock_bounds(today: date) -> dict[str, date]:
    return {
        "target_upto": _target_passed_upto(today),
        "limit_upto": today - timedelta(days=LEGAL_LIMIT_DAYS + 1),
    }


# -- closing a period (also called by the exit of a journey) ---------------------------------


def close_open_period(journey_id: uuid.UUID, on: date) -> Orientation | None:
    """End the journey's open orientation period on `on`; None when none is open.

    The caller has already opened the record through the gate. A period never ends
    before it starts: ending on an earlier day ends it the day it started.
    """
    period = (
        db.session()
        .scalars(
            select(Orientation).where(
                Orientation.journey_id == journey_id, Orientation.ends_on.is_(None)
            )
        )
        .one_or_none()
    )
    if period is None:
        return None
    period.ends_on = max(on, period.starts_on)
    db.session().flush()
    return period


# -- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    beneficiary_id: uuid.UUID
    display_name: str
    birth_on: date
    is_suspended: bool  # the RSA right is suspended (still soumis aux droits et devoirs)
    since_journey: bool  # the right's date is unknown: counted from the journey's opening
    clock: OrientationClock


@dataclass(frozen=True)
class QueueCounts:
    total: int = 0
    in_time: int = 0
    target_passed: int = 0
    limit_passed: int = 0


@dataclass(frozen=True)
class Queue:
    people: list[QueueEntry]
    counts: QueueCounts
    query: QueueQuery
    matched: int
    page: int
    pages: int
    today: date
    status_labels: dict[QueueStatus, str] = field(default_factory=lambda: dict(STATUS_LABELS))


_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}


def _waiting(hide_roles: bool) -> CTE:
    """The people of the département soumis aux droits et devoirs, right open or suspended,
    with an open journey never oriented yet: one row each. An open journey's orientation
    period ends only when the next one starts, so « never oriented » is « no open period »,
    and `first_oriented_on` is behind a partial index of the few journeys still waiting."""
    conditions = [
        Journey.departement_id == bindparam("departement_id"),
        Journey.closed_on.is_(None),
        Journey.first_oriented_on.is_(None),
        Beneficiary.is_subject_to_duties.is_(True),
        Beneficiary.rsa_state.in_([RsaState.OPEN, RsaState.SUSPENDED]),
    ]
    if hide_roles:
        gm = GroupMembership
        # Where the actor's own role in the group may not read identity (a département's
        # tightening), the person is not listed.
        conditions.append(
            ~exists().where(
                gm.journey_id == Journey.id,
                gm.account_id == bindparam("account_id"),
                gm.organisation_id == bindparam("organisation_id"),
                gm.ended_at.is_(None),
                gm.role.in_(bindparam("hidden_roles", expanding=True)),
            )
        )
    return (
        select(
            Beneficiary.id.label("beneficiary_id"),
            Beneficiary.given_name.label("given_name"),
            Beneficiary.family_name.label("family_name"),
            Beneficiary.search_name.label("search_name"),
            Beneficiary.birth_on.label("birth_on"),
            Beneficiary.rsa_state.label("rsa_state"),
            Beneficiary.right_opened_on.is_(None).label("since_journey"),
            func.coalesce(Beneficiary.right_opened_on, Journey.opened_on).label("since"),
        )
        .select_from(Journey)
        .join(Beneficiary, Beneficiary.id == Journey.beneficiary_id)
        .where(*conditions)
        .cte("waiting")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _queue_statement(status: QueueStatus | None, hide_roles: bool) -> Select[Any]:
    key = ("queue", status, hide_roles)
    statement = _STATEMENTS.get(key)
    if statement is not None:
        return statement
    waiting = _waiting(hide_roles)
    w = waiting.c
    limit_passed = w.since <= bindparam("limit_upto")
    target_passed = and_(w.since <= bindparam("target_upto"), w.since > bindparam("limit_upto"))
    in_time = w.since > bindparam("target_upto")
    condition = {
        None: true(),
        QueueStatus.IN_TIME: in_time,
        QueueStatus.TARGET_PASSED: target_passed,
        QueueStatus.LIMIT_PASSED: limit_passed,
    }[status]

    def total(expression: Any) -> Any:
        return func.coalesce(func.sum(case((expression, 1), else_=0)), 0)

    summary = select(
        func.count().label("total"),
        total(in_time).label("in_time"),
        total(target_passed).label("target_passed"),
        total(limit_passed).label("limit_passed"),
        total(condition).label("matched"),
    ).subquery("summary")
    order = [w.since, w.search_name, w.beneficiary_id]
    page = (
        select(waiting, func.row_number().over(order_by=order).label("position"))
        .where(condition)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery("page")
    )
    statement = (
        select(summary, page).select_from(summary.outerjoin(page, true())).order_by(page.c.position)
    )
    _STATEMENTS[key] = statement
    return statement


def hidden_roles(actor: Principal, departement_id: uuid.UUID) -> list[str]:
    return sorted(
        role.value
        for role in GroupRole
        if not policy.can(
            actor,
            RecordFacts(records.NOBODY, departement_id, frozenset({role})),
            Section.IDENTITY,
            Level.READ,
        )
    )


def may_work_queue(actor: Principal) -> bool:
    """Whether the policy lets the actor see who waits for an orientation in the
    département (identity and orientation outside any group: the chargé d'orientation)."""
    if actor.departement_id is None:
        return False
    probe = RecordFacts(records.NOBODY, actor.departement_id)
    return policy.can(actor, probe, Section.IDENTITY, Level.READ) and policy.can(
        actor, probe, Section.ORIENTATION, Level.WRITE
    )


def orientation_queue(
    *, actor: Principal, query: QueueQuery | None = None, page_size: int = PAGE_SIZE
) -> Queue:
    """The people waiting for their first orientation, oldest right first, with the clock
    of each, the band counted over everyone, a page at a time. One statement; audited
    once when it names anyone. Refused to anyone but a chargé d'orientation."""
    if not may_work_queue(actor) or actor.departement_id is None:
        raise Denied(QUEUE_DENIED)
    query = query or QueueQuery()
    today = clock.today()
    hidden = hidden_roles(actor, actor.departement_id)
    hide = bool(hidden) and actor.account_id is not None
    params: dict[str, Any] = {
        **_clock_bounds(today),
        "departement_id": actor.departement_id,
        "account_id": actor.account_id,
        "organisation_id": actor.organisation_id,
        "hidden_roles": hidden,
        "limit": page_size,
    }
    statement = _queue_statement(query.status, hide)
    page = query.page
    while True:
        params["offset"] = (page - 1) * page_size
        rows = db.session().execute(statement, params).all()
        totals = rows[0]
        matched = int(totals.matched or 0)
        pages = max(1, math.ceil(matched / page_size))
        if page <= pages:
            break
        page = pages
    people = [_entry(row, today) for row in rows if row.beneficiary_id is not None]
    if people:
        records.listing_audit(actor, Tag.QUEUE_LISTED)
    return Queue(
        people=people,
        counts=QueueCounts(
            total=int(totals.total or 0),
            in_time=int(totals.in_time or 0),
            target_passed=int(totals.target_passed or 0),
            limit_passed=int(totals.limit_passed or 0),
        ),
        query=QueueQuery(page=page, status=query.status),
        matched=matched,
        page=page,
        pages=pages,
        today=today,
    )


def _entry(row: Row[Any], today: date) -> QueueEntry:
    since = db.as_date(row.since)
    return QueueEntry(
        beneficiary_id=row.beneficiary_id,
        display_name=f"{row.given_name} {row.family_name}",
        birth_on=row.birth_on,
        is_suspended=RsaState(row.rsa_state) is RsaState.SUSPENDED,
        since_journey=bool(row.since_journey),
        clock=OrientationClock(since=since, today=today),
    )


# -- the record's orientation tab ------------------------------------------------------------


@dataclass(frozen=True)
class PeriodView:
    id: uuid.UUID
    journey_id: uuid.UUID
    type: OrientationType
    type_label: str
    organisation_id: uuid.UUID
    organisation_label: str
    referent_name: str | None  # None when none was named, or the structure is masked
    motive: str
    starts_on: date
    ends_on: date | None
    decided_at: datetime
    decided_by: str
    proposal: proposals.Proposal | None  # as shown when it was decided

    @property
    def is_open(self) -> bool:
        return self.ends_on is None


@dataclass(frozen=True)
class RequestView:
    id: uuid.UUID
    requested_at: datetime
    requested_by: str
    motive: str
    current_type_label: str | None
    proposed_type: OrientationType
    proposed_type_label: str
    needs_team_review: bool
    status: RequestStatus
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None

    @property
    def is_pending(self) -> bool:
        return self.status is RequestStatus.PENDING


@dataclass(frozen=True)
class OrganisationOption:
    id: uuid.UUID
    label: str
    kind: OrganisationKind
    types: list[OrientationType]


@dataclass(frozen=True)
class DecisionForm:
    """What the decision form offers, and what it is prefilled with."""

    organisation_groups: list[tuple[str, list[OrganisationOption]]]
    referent_groups: list[records.ProfessionalGroup]
    current_referent: str | None  # the active référent's name (None: none, or masked)
    has_referent: bool
    values: dict[str, str]
    proposal: proposals.Proposal | None
    pending_request: RequestView | None


@dataclass(frozen=True)
class OrientationPage:
    access: RecordAccess
    person: Beneficiary
    journey: Journey | None
    current: PeriodView | None
    periods: list[PeriodView]  # every period of every journey, newest first
    last_known: PeriodView | None  # re-entry: the last period of an earlier journey
    requests: list[RequestView]
    clock: OrientationClock | None  # while the current journey waits for its orientation
    decision: DecisionForm | None  # only for those who may decide
    may_request: bool  # the active référent, with an orientation and no pending request

    @property
    def pending(self) -> RequestView | None:
        return next((r for r in self.requests if r.is_pending), None)


def _open(
    actor: Principal,
    beneficiary_id: uuid.UUID,
    level: Level,
    tag: Tag,
    object_id: uuid.UUID | None = None,
) -> RecordAccess:
    return gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.ORIENTATION,
        level=level,
        tag=tag,
        object_id=object_id,
    )


def _periods(access: RecordAccess) -> list[Orientation]:
    return list(
        db.session().scalars(
            select(Orientation)
            .where(Orientation.beneficiary_id == access.beneficiary.id)
            .order_by(Orientation.starts_on.desc(), Orientation.decided_at.desc())
        )
    )


def _requests(access: RecordAccess) -> list[ReorientationRequest]:
    return list(
        db.session().scalars(
            select(ReorientationRequest)
            .where(ReorientationRequest.beneficiary_id == access.beneficiary.id)
            .order_by(ReorientationRequest.requested_at.desc(), ReorientationRequest.id)
        )
    )


def _stored_proposal(stored: dict[str, Any] | None) -> proposals.Proposal | None:
    if not stored:
        return None
    try:
        return proposals.describe(stored)
    except ValueError:
        log.warning("unreadable stored proposal")
        return None


def _views(
    access: RecordAccess, periods: list[Orientation], requests: list[ReorientationRequest]
) -> tuple[list[PeriodView], list[RequestView]]:
    actor = access.actor
    organisations = tenancy.organisations_by_id(
        [p.organisation_id for p in periods]
        + [p.decided_by_organisation_id for p in periods]
        + [r.requested_by_organisation_id for r in requests]
        + [r.decided_by_organisation_id for r in requests]
    )
    authors = tenancy.AuthorLabels(
        actor,
        access.beneficiary.account_id,
        [(p.decided_by_account_id, p.decided_by_organisation_id) for p in periods]
        + [(r.requested_by_account_id, r.requested_by_organisation_id) for r in requests]
        + [(r.decided_by_account_id, r.decided_by_organisation_id) for r in requests],
    )
    names = tenancy.professional_names(p.referent_account_id for p in periods)
    by_id = {p.id: p for p in periods}
    period_views = []
    for period in periods:
        organisation = organisations.get(period.organisation_id)
        masked = organisation is None or organisation.is_masked_for(actor)
        period_views.append(
            PeriodView(
                id=period.id,
                journey_id=period.journey_id,
                type=OrientationType(period.type),
                type_label=TYPE_LABELS[OrientationType(period.type)],
                organisation_id=period.organisation_id,
                organisation_label=organisation.label_for(actor)
                if organisation
                else tenancy.SENSIBLE_LABEL,
                referent_name=None
                if masked or period.referent_account_id is None
                else names.get(period.referent_account_id),
                motive=period.motive,
                starts_on=period.starts_on,
                ends_on=period.ends_on,
                decided_at=period.decided_at,
                decided_by=authors.label(
                    period.decided_by_account_id, period.decided_by_organisation_id
                ),
                proposal=_stored_proposal(period.proposal),
            )
        )
    request_views = []
    for request in requests:
        asked_from = by_id.get(request.orientation_id) if request.orientation_id else None
        request_views.append(
            RequestView(
                id=request.id,
                requested_at=request.requested_at,
                requested_by=authors.label(
                    request.requested_by_account_id, request.requested_by_organisation_id
                ),
                motive=request.motive,
                current_type_label=TYPE_LABELS[OrientationType(asked_from.type)]
                if asked_from
                else None,
                proposed_type=OrientationType(request.proposed_type),
                proposed_type_label=TYPE_LABELS[OrientationType(request.proposed_type)],
                needs_team_review=request.needs_team_review,
                status=RequestStatus(request.status),
                decided_at=request.decided_at,
                decided_by=authors.label(
                    request.decided_by_account_id, request.decided_by_organisation_id
                )
                if request.decided_at
                else None,
                decision_reason=request.decision_reason,
            )
        )
    return period_views, request_views


def _organisation_options(actor: Principal) -> list[OrganisationOption]:
    return [
        OrganisationOption(
            id=o.id,
            label=o.label_for(actor),
            kind=o.kind,
            types=[t for t in OrientationType if o.kind in KINDS_FOR_TYPE[t]],
        )
        for o in tenancy.list_departement_organisations(actor=actor)
        if o.accreditation_status is AccreditationStatus.ACCREDITED and o.kind in ACCOMPANYING_KINDS
    ]


def _decision_form(
    access: RecordAccess,
    journey: Journey,
    current: PeriodView | None,
    last_known: PeriodView | None,
    pending: RequestView | None,
) -> DecisionForm:
    actor = access.actor
    options = _organisation_options(actor)
    groups: dict[str, list[OrganisationOption]] = {}
    for option in options:
        groups.setdefault(KIND_LABELS.get(option.kind, str(option.kind)), []).append(option)
    allowed = {o.id for o in options}
    professionals = [
        p
        for p in tenancy.list_invitable_professionals(actor=actor)
        if p.organisation.id in allowed and p.role is MembershipRole.PROFESSIONAL
    ]
    referent_groups = records.professional_groups(actor, professionals)
    gate.read_more(access, [(Section.GROUP, Tag.ORIENTATION_READ)])
    referent = _active_referent(journey)
    referent_name = None
    if referent is not None:
        organisation = tenancy.get_organisation(referent.organisation_id)
        if organisation is not None and not organisation.is_masked_for(actor):
            referent_name = tenancy.professional_names([referent.account_id]).get(
                referent.account_id
            )
    proposal = proposals.propose_for(access)
    base = current or last_known
    values = {
        "type": (
            pending.proposed_type.value
            if pending
            else (base.type.value if base else proposal.proposed_type.value)
        ),
        "organisation_id": str(base.organisation_id) if base and not pending else "",
        "referent_membership_id": "",
        "motive": "",
        "previous_referent": PreviousReferent.LEAVES.value,
        "previous_referent_reason": "",
    }
    return DecisionForm(
        organisation_groups=sorted(groups.items()),
        referent_groups=referent_groups,
        current_referent=referent_name,
        has_referent=referent is not None,
        values=values,
        proposal=proposal,
        pending_request=pending,
    )


def _active_referent(journey: Journey) -> GroupMembership | None:
    return db.session().scalar(
        select(GroupMembership).where(
            GroupMembership.journey_id == journey.id,
            GroupMembership.role == GroupRole.REFERENT,
            GroupMembership.ended_at.is_(None),
        )
    )


def get_orientation_page(*, actor: Principal, beneficiary_id: uuid.UUID) -> OrientationPage:
    """The record's « Orientation » tab: the current period, the history, the requests,
    and for those who may decide, the proposal and the decision form. Audited."""
    access = _open(actor, beneficiary_id, Level.READ, Tag.ORIENTATION_READ)
    journey = access.beneficiary.current_journey
    periods, requests = _views(access, _periods(access), _requests(access))
    current = next(
        (p for p in periods if journey is not None and p.journey_id == journey.id and p.is_open),
        None,
    )
    last_known = None
    if journey is not None and not any(p.journey_id == journey.id for p in periods):
        last_known = next((p for p in periods if p.journey_id != journey.id), None)
    waiting = None
    if journey is not None and current is None:
        person = access.beneficiary
        waiting = OrientationClock(person.right_opened_on or journey.opened_on, clock.today())
    pending = next((r for r in requests if r.is_pending), None)
    decision = None
    if (
        journey is not None
        and access.can(Section.ORIENTATION, Level.WRITE)
        and access.can(Section.GROUP, Level.WRITE)
    ):
        decision = _decision_form(access, journey, current, last_known, pending)
    may_request = (
        journey is not None
        and current is not None
        and pending is None
        and access.can_action(Action.REQUEST_REORIENTATION)
    )
    return OrientationPage(
        access=access,
        person=access.beneficiary,
        journey=journey,
        current=current,
        periods=periods,
        last_known=last_known,
        requests=requests,
        clock=waiting,
        decision=decision,
        may_request=may_request,
    )


def current_orientation(access: RecordAccess) -> PeriodView | None:
    """The open period of the current journey, for a page that already opened the record
    and authorized reading the orientation (the record's synthesis); no audit row here."""
    journey = access.beneficiary.current_journey
    if journey is None:
        return None
    period = db.session().scalar(
        select(Orientation).where(
            Orientation.journey_id == journey.id, Orientation.ends_on.is_(None)
        )
    )
    if period is None:
        return None
    views, _ = _views(access, [period], [])
    return views[0]


# -- the decision ----------------------------------------------------------------------------


def _check_organisation(
    actor: Principal, kind_type: OrientationType, organisation_id: uuid.UUID
) -> tenancy.OrganisationSummary:
    """An accredited structure of the actor's département that accompanies this type."""
    found = next(
        (o for o in tenancy.list_departement_organisations(actor=actor) if o.id == organisation_id),
        None,
    )
    if found is None:
        raise InvalidInput.on(
            "organisation_id", "Cette structure n'existe pas dans votre département."
        )
    if found.accreditation_status is not AccreditationStatus.ACCREDITED:
        raise InvalidInput.on(
            "organisation_id",
            "Cette structure n'est pas habilitée dans le département : choisissez une "
            "structure habilitée.",
        )
    if found.kind not in KINDS_FOR_TYPE[kind_type]:
        raise InvalidInput.on(
            "organisation_id",
            f"Cette structure n'assure pas d'orientation {TYPE_LABELS[kind_type]} : "
            "choisissez-en une autre, ou un autre type.",
        )
    return found


def _pending_request(
    journey: Journey, request_id: uuid.UUID | None, beneficiary_id: uuid.UUID
) -> ReorientationRequest | None:
    if request_id is not None:
        request = db.session().get(ReorientationRequest, request_id)
        if request is None or request.beneficiary_id != beneficiary_id:
            raise NotFound(UNKNOWN_REQUEST_MESSAGE)
        if request.status is not RequestStatus.PENDING:
            raise Conflict(ALREADY_DECIDED_MESSAGE)
        return request
    return db.session().scalar(
        select(ReorientationRequest).where(
            ReorientationRequest.journey_id == journey.id,
            ReorientationRequest.status == RequestStatus.PENDING,
        )
    )


def decide_orientation(
    *, actor: Principal, beneficiary_id: uuid.UUID, decision: NewOrientation
) -> Orientation:
    """Orient the person (or reorient): a new period from today, of a type, to an
    accredited structure of the département, with a référent of that structure or none
    yet (the structure will designate one), and a motive.

    Closes the open period, stores the proposal shown (computed again now), changes the
    group (`records.regroup_after_orientation`), accepts the journey's pending
    reorientation request if any, writes the timeline and notifies the former and new
    référents and the person. Needs orientation and group write."""
    new_id = uuid.uuid4()
    access = _open(actor, beneficiary_id, Level.WRITE, Tag.DECIDED, new_id)
    if not access.can(Section.GROUP, Level.WRITE):
        raise policy.PolicyDenied(
            GROUP_DENIED,
            policy.decide(actor, access.facts, Section.GROUP, Level.WRITE),
            access.facts,
            permission(Section.GROUP, Level.WRITE),
        )
    journey = access.beneficiary.current_journey
    if journey is None:
        raise Conflict(NO_JOURNEY_MESSAGE)
    organisation = _check_organisation(actor, decision.type, decision.organisation_id)
    if decision.referent_membership_id is not None:
        professional = tenancy.get_invitable_professional(
            actor=actor, membership_id=decision.referent_membership_id
        )
        if professional.organisation.id != organisation.id:
            raise InvalidInput.on(
                "referent_membership_id",
                "Le référent doit appartenir à la structure choisie.",
            )
        if professional.account_id == actor.account_id:
            raise InvalidInput.on(
                "referent_membership_id",
                "Vous ne pouvez pas vous désigner vous-même référent : choisissez un "
                "professionnel de la structure.",
            )
        if professional.role is not MembershipRole.PROFESSIONAL:
            raise InvalidInput.on(
                "referent_membership_id",
                "Choisissez un professionnel qui accompagne des personnes.",
            )
    request = _pending_request(journey, decision.request_id, access.beneficiary.id)
    today = clock.today()
    previous = close_open_period(journey.id, today)
    period = Orientation(
        id=new_id,
        departement_id=access.beneficiary.departement_id,
        beneficiary_id=access.beneficiary.id,
        journey_id=journey.id,
        type=decision.type,
        organisation_id=organisation.id,
        referent_account_id=None,
        motive=decision.motive,
        starts_on=today,
        ends_on=None,
        decided_at=clock.now(),
        decided_by_account_id=actor.account_id,
        decided_by_organisation_id=actor.organisation_id,
        proposal=proposals.propose_for(access).as_json(),
    )
    db.session().add(period)
    db.flush_or_conflict(STALE_MESSAGE)
    default_reason = f"Orientation vers {organisation.name} décidée le {today:%d/%m/%Y}"
    regrouping = records.regroup_after_orientation(
        access,
        membership_id=decision.referent_membership_id,
        organisation_id=organisation.id,
        reason=default_reason,
        previous_stays_member=decision.previous_referent is PreviousReferent.STAYS_MEMBER,
        previous_reason=decision.previous_referent_reason or default_reason,
    )
    if regrouping.referent is not None and regrouping.referent.organisation_id == organisation.id:
        period.referent_account_id = regrouping.referent.account_id
    if request is not None:
        request.status = RequestStatus.ACCEPTED
        request.decided_at = clock.now()
        request.decided_by_account_id = actor.account_id
        request.decided_by_organisation_id = actor.organisation_id
        request.decided_orientation_id = period.id
    db.flush_or_conflict(STALE_MESSAGE)
    details: dict[str, Any] = {
        "orientation_id": period.id,
        "type": decision.type,
        "organisation_id": organisation.id,
    }
    if previous is not None:
        details["previous_orientation_id"] = previous.id
    if request is not None:
        details["request_id"] = request.id
    records.add_event(access, Event.DECIDED, journey.id, details)
    if request is not None:
        records.add_event(
            access,
            Event.REQUEST_ACCEPTED,
            journey.id,
            {"request_id": request.id, "orientation_id": period.id},
        )
    _notify_decision(access, organisation.id, regrouping, request)
    return period


def _notify_decision(
    access: RecordAccess,
    organisation_id: uuid.UUID,
    regrouping: records.Regrouping,
    request: ReorientationRequest | None,
) -> None:
    details = {"organisation_id": organisation_id}
    # Each professional is told once: the requester first reads the answer to the request.
    recipients: list[tuple[uuid.UUID | None, str]] = []
    if request is not None:
        recipients.append((request.requested_by_account_id, Event.REQUEST_ACCEPTED))
    if regrouping.is_new_referent and regrouping.referent is not None:
        recipients.append((regrouping.referent.account_id, Event.NEW_REFERENT))
    if regrouping.previous is not None:
        kind = Event.PREVIOUS_MEMBER if regrouping.previous_as_member else Event.PREVIOUS_LEFT
        recipients.append((regrouping.previous.account_id, kind))
    elif regrouping.referent is not None and not regrouping.is_new_referent:
        recipients.append((regrouping.referent.account_id, Event.DECIDED_NOTICE))
    records.notify(access, recipients, details, person_kind=Event.DECIDED_NOTICE)


# -- reorientation ----------------------------------------------------------------------------


def request_reorientation(
    *, actor: Principal, beneficiary_id: uuid.UUID, ask: ReorientationAsk
) -> ReorientationRequest:
    """The active référent asks for a reorientation, with a motive and a proposed type.
    One pending request per journey. From professional to social, the équipe
    pluridisciplinaire must be consulted: the request is marked so."""
    new_id = uuid.uuid4()
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.REQUEST_REORIENTATION,
        tag=Tag.REQUESTED,
        audit_action=AuditAction.CREATE,
        object_id=new_id,
    )
    journey = access.beneficiary.current_journey
    if journey is None:
        raise Conflict(NO_JOURNEY_MESSAGE)
    current = db.session().scalar(
        select(Orientation).where(
            Orientation.journey_id == journey.id, Orientation.ends_on.is_(None)
        )
    )
    if current is None:
        raise Conflict(NO_ORIENTATION_MESSAGE)
    if OrientationType(current.type) is ask.proposed_type:
        message = (
            f"La personne a déjà une orientation {TYPE_LABELS[ask.proposed_type]} : "
            "proposez un autre type. Pour changer de structure ou de référent sans changer "
            "de type, passez par le groupe de suivi."
        )
        raise InvalidInput.on("proposed_type", message)
    if _pending_request(journey, None, access.beneficiary.id) is not None:
        raise Conflict(PENDING_MESSAGE)
    if actor.account_id is None or actor.organisation_id is None:  # pragma: no cover - policy
        raise Denied("Seul le référent peut demander une réorientation.")
    request = ReorientationRequest(
        id=new_id,
        departement_id=access.beneficiary.departement_id,
        beneficiary_id=access.beneficiary.id,
        journey_id=journey.id,
        orientation_id=current.id,
        requested_by_account_id=actor.account_id,
        requested_by_organisation_id=actor.organisation_id,
        requested_at=clock.now(),
        motive=ask.motive,
        proposed_type=ask.proposed_type,
        needs_team_review=(
            OrientationType(current.type) is OrientationType.PROFESSIONAL
            and ask.proposed_type is OrientationType.SOCIAL
        ),
        status=RequestStatus.PENDING,
    )
    db.session().add(request)
    db.flush_or_conflict(PENDING_MESSAGE)
    records.add_event(
        access,
        Event.REQUESTED,
        journey.id,
        {
            "request_id": request.id,
            "proposed_type": ask.proposed_type,
            "needs_team_review": request.needs_team_review,
        },
    )
    officers = db.session().scalars(
        select(GroupMembership.account_id).where(
            GroupMembership.journey_id == journey.id,
            GroupMembership.role == GroupRole.ORIENTATION_OFFICER,
            GroupMembership.ended_at.is_(None),
        )
    )
    records.notify(
        access,
        [(account_id, Event.REQUESTED) for account_id in officers],
        {"organisation_id": actor.organisation_id},
        person_kind=None,
    )
    return request


def keep_accompaniment(
    *, actor: Principal, beneficiary_id: uuid.UUID, request_id: uuid.UUID, reason: str
) -> ReorientationRequest:
    """Answer a pending request by keeping the accompaniment, with a reason the requester
    reads on the record; he or she is notified."""
    access = _open(actor, beneficiary_id, Level.WRITE, Tag.KEPT, request_id)
    request = db.session().get(ReorientationRequest, request_id)
    if request is None or request.beneficiary_id != access.beneficiary.id:
        raise NotFound(UNKNOWN_REQUEST_MESSAGE)
    if request.status is not RequestStatus.PENDING:
        raise Conflict(ALREADY_DECIDED_MESSAGE)
    request.status = RequestStatus.KEPT
    request.decision_reason = reason
    request.decided_at = clock.now()
    request.decided_by_account_id = actor.account_id
    request.decided_by_organisation_id = actor.organisation_id
    db.flush_or_conflict(ALREADY_DECIDED_MESSAGE)
    records.add_event(access, Event.REQUEST_KEPT, request.journey_id, {"request_id": request.id})
    records.notify(
        access,
        [(request.requested_by_account_id, Event.REQUEST_KEPT)],
        {"organisation_id": request.requested_by_organisation_id},
        person_kind=None,
    )
    return request


def close_requests_for_exit(access: RecordAccess, journey_id: uuid.UUID) -> int:
    """The journey is closed (by `carnet.orientation.exits`, which opened `access`): a
    request nobody answered has no object any more. Returns how many were closed."""
    pending = db.session().scalars(
        select(ReorientationRequest).where(
            ReorientationRequest.journey_id == journey_id,
            ReorientationRequest.status == RequestStatus.PENDING,
        )
    )
    closed = 0
    for request in pending:
        request.status = RequestStatus.MOOT
        request.decided_at = clock.now()
        request.decided_by_account_id = access.actor.account_id
        request.decided_by_organisation_id = access.actor.organisation_id
        records.add_event(access, Event.REQUEST_MOOT, journey_id, {"request_id": request.id})
        closed += 1
    return closed


# -- the pending requests, for the orientation officers ----------------------------------------


@dataclass(frozen=True)
class PendingRequest:
    id: uuid.UUID
    beneficiary_id: uuid.UUID
    display_name: str
    requested_at: datetime
    requested_by_organisation: str
    proposed_type_label: str
    needs_team_review: bool


@dataclass(frozen=True)
class PendingRequests:
    requests: list[PendingRequest]
    total: int
    page: int
    pages: int


def list_pending_requests(
    *, actor: Principal, page: int = 1, page_size: int = REQUESTS_PAGE_SIZE
) -> PendingRequests:
    """The reorientation requests waiting for a decision in the département, oldest first,
    for the chargés d'orientation; audited once when it names anyone."""
    if not may_work_queue(actor) or actor.departement_id is None:
        raise Denied(QUEUE_DENIED)
    rr = ReorientationRequest
    statement = (
        select(
            rr.id,
            rr.beneficiary_id,
            rr.requested_at,
            rr.requested_by_organisation_id,
            rr.proposed_type,
            rr.needs_team_review,
            Beneficiary.given_name,
            Beneficiary.family_name,
            func.count().over().label("total"),
        )
        .join(Beneficiary, Beneficiary.id == rr.beneficiary_id)
        .where(rr.departement_id == actor.departement_id, rr.status == RequestStatus.PENDING)
        .order_by(rr.requested_at, rr.id)
    )
    page = max(1, page)
    rows = db.session().execute(statement.offset((page - 1) * page_size).limit(page_size)).all()
    if not rows and page > 1:
        page = 1
        rows = db.session().execute(statement.limit(page_size)).all()
    total = int(rows[0].total) if rows else 0
    organisations = tenancy.organisations_by_id(row.requested_by_organisation_id for row in rows)
    items = []
    for row in rows:
        organisation = organisations.get(row.requested_by_organisation_id)
        items.append(
            PendingRequest(
                id=row.id,
                beneficiary_id=row.beneficiary_id,
                display_name=f"{row.given_name} {row.family_name}",
                requested_at=row.requested_at,
                requested_by_organisation=organisation.label_for(actor)
                if organisation
                else tenancy.SENSIBLE_LABEL,
                proposed_type_label=TYPE_LABELS[OrientationType(row.proposed_type)],
                needs_team_review=bool(row.needs_team_review),
            )
        )
    if items:
        records.listing_audit(actor, Tag.REQUESTS_LISTED)
    return PendingRequests(
        requests=items, total=total, page=page, pages=max(1, math.ceil(total / page_size))
    )


__all__ = [
    "HOME_SIZE",
    "KINDS_FOR_TYPE",
    "LEGAL_LIMIT_DAYS",
    "PAGE_SIZE",
    "STATUS_LABELS",
    "TYPE_LABELS",
    "OrientationClock",
    "OrientationPage",
    "Queue",
    "QueueEntry",
    "close_open_period",
    "current_orientation",
    "decide_orientation",
    "get_orientation_page",
    "keep_accompaniment",
    "list_pending_requests",
    "may_work_queue",
    "orientation_queue",
    "request_reorientation",
]
