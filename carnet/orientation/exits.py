"""The end of a journey, the re-entry, and the job-retention checks (DOMAIN.md §3.11).

Every transition is one function here, and its rules sit in one place each
(`check_exit`, `_check_reentry`, `check_follow_up`): an invalid transition is refused
with a French message (`Conflict` or `InvalidInput`) before anything is written. Each
entry point opens the record through `carnet.records.gate` (scope, policy, audit row in
the caller's transaction), writes the timeline through `records.add_event` (ids and codes
only) and never commits.

Closing a journey, in one transaction: the journey's closed date and coarse reason, the
exit's detail (`JourneyExit`, with the « sortie positive » flag derived here), the
retention checks at 6 and 12 months after a job, the end of the open orientation period
and of the contracts, and the end of every place in the follow-up group: nobody keeps
access to a closed journey. Re-entry opens a new journey on the same record; the person
then waits in the orientation queue like anyone without a référent.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from carnet import clock, db
from carnet.contracts import services as contracts
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.meetings import services as meetings
from carnet.notifications import services as notifications
from carnet.orientation import services as orientation
from carnet.orientation.models import (
    POSITIVE_EMPLOYMENT,
    EmploymentKind,
    JobFollowUp,
    JourneyExit,
)
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, GroupMembership, Journey, JourneyExitReason
from carnet.security import policy
from carnet.security.permissions import Action, AuditAction, Level, Section
from carnet.security.policy import RecordFacts
from carnet.security.principal import Principal

log = logging.getLogger(__name__)

FOLLOW_UP_MONTHS = (6, 12)
# « The person or employer may ask for support in the 18 months after hiring » (§3.11).
SUPPORT_MONTHS = 18
# The due list shows the checks due within a week, so they can be prepared.
DUE_HORIZON_DAYS = 7
FOLLOW_UPS_PAGE_SIZE = 50
MEMBERSHIP_END_REASON = "Sortie de parcours"
NOBODY = uuid.UUID(int=0)

EMPLOYMENT_KIND_REQUIRED = "Pour une sortie vers l'emploi, précisez le type d'emploi."
EMPLOYMENT_KIND_REFUSED = (
    "Le type d'emploi ne se précise que pour une sortie vers l'emploi : laissez-le vide, "
    "ou choisissez le motif « Emploi »."
)
EXIT_IN_FUTURE = "La date de sortie ne peut pas être dans le futur."
EXIT_BEFORE_OPENING = "La date de sortie ne peut pas précéder l'ouverture du parcours, le {date}."
ALREADY_CLOSED = (
    "Le parcours de cette personne est déjà clos : il ne peut pas l'être une seconde fois. "
    "Si elle a de nouveau besoin d'un accompagnement, ouvrez un nouveau parcours."
)
NO_JOURNEY = "Cette personne n'a aucun parcours en cours : il n'y a pas de parcours à clore."
ALREADY_OPEN = (
    "Cette personne a déjà un parcours en cours : un nouveau parcours ne s'ouvre qu'après "
    "la clôture du précédent."
)
CHECK_IN_FUTURE = "La date du point de suivi ne peut pas être dans le futur."
CHECK_BEFORE_EXIT = "Le point de suivi ne peut pas précéder la sortie de parcours, le {date}."
ALREADY_CHECKED = "Ce point de suivi est déjà enregistré : il n'y a rien à ajouter."
STALE_FOLLOW_UP = (
    "Quelqu'un d'autre a enregistré ce point de suivi pendant que vous le saisissiez : votre "
    "saisie n'a pas été enregistrée. La version actuelle est affichée ci-dessous."
)
FOLLOW_UP_NOT_FOUND = "Ce point de suivi n'existe pas pour cette personne."
FOLLOW_UPS_DENIED = "Votre rôle ne permet pas de consulter les suivis de l'emploi."


class Tag(StrEnum):
    """Audit tags of exits and re-entries (`domain:subject:action`)."""

    EXIT_FORM_READ = "orientation:exit_form:read"
    EXIT_READ = "orientation:exit:read"
    EXIT_RECORDED = "orientation:exit:recorded"
    FOLLOW_UP_READ = "orientation:follow_up:read"
    FOLLOW_UP_RECORDED = "orientation:follow_up:recorded"
    FOLLOW_UPS_LISTED = "orientation:follow_ups:listed"
    JOURNEY_REOPENED = "orientation:journey:reopened"
    REENTRY_FORM_READ = "orientation:reentry_form:read"


class Event(StrEnum):
    """Timeline and notification kinds written by this module (the journey's own kinds are
    the records domain's, as the demo and the CAF flux write them)."""

    EXIT_TO_EMPLOYMENT = "orientation:exit:employment"  # the person's notification only
    FOLLOW_UP_RECORDED = "orientation:follow_up:recorded"
    JOURNEY_CLOSED = "records:journey:closed"
    JOURNEY_OPENED = "records:journey:opened"


class ReentryReason(StrEnum):
    """Why a person comes back: a code kept in the timeline, never free text."""

    JOB_ENDED = "fin_emploi_ou_formation"
    OTHER = "autre"
    PERSON_REQUEST = "demande_personne"
    RETURN = "retour_departement"
    RIGHT_REOPENED = "droit_rouvert"


# -- what the pages receive ---------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpView:
    id: uuid.UUID
    months: int
    due_on: date
    checked_on: date | None
    still_employed: bool | None
    version: int


@dataclass(frozen=True)
class ExitView:
    id: uuid.UUID
    journey_id: uuid.UUID
    journey_opened_on: date
    reason: JourneyExitReason
    employment_kind: EmploymentKind | None
    is_positive: bool
    exited_on: date
    follow_ups: list[FollowUpView]

    @property
    def support_until(self) -> date | None:
        """The last day the person or the employer may ask for support after a job,
        counted from the exit to employment (the hiring); None once it has passed."""
        if self.reason is not JourneyExitReason.EMPLOYMENT:
            return None
        until = clock.add_months(self.exited_on, SUPPORT_MONTHS)
        return until if until >= clock.today() else None


@dataclass(frozen=True)
class ExitPage:
    access: RecordAccess
    person: Beneficiary
    journey: Journey | None  # the open journey, if any
    last_exit: ExitView | None  # the exit of the latest closed journey
    active_members: int  # places in the open journey's group, all ended by an exit
    can_close: bool
    can_reopen: bool
    today: date


@dataclass(frozen=True)
class ClosedJourney:
    exit: JourneyExit
    # Whether the actor may still read the exit page: the chargé d'orientation may, the
    # former référent may not (his or her place in the group ended with the journey).
    actor_may_read: bool


@dataclass(frozen=True)
class DueFollowUp:
    id: uuid.UUID
    beneficiary_id: uuid.UUID
    display_name: str | None  # None when the policy does not let the viewer read identity
    months: int
    due_on: date
    exited_on: date
    employment_kind: EmploymentKind | None
    version: int
    is_overdue: bool


@dataclass(frozen=True)
class DueFollowUps:
    items: list[DueFollowUp]
    page: int
    pages: int
    total: int
    today: date


@dataclass(frozen=True)
class FollowUpPage:
    access: RecordAccess
    person: Beneficiary
    exit: ExitView
    follow_up: FollowUpView
    today: date


# -- the rules, each in one place -------------------------------------------------------------


def is_positive_exit(reason: JourneyExitReason, employment_kind: EmploymentKind | None) -> bool:
    """« Sortie positive »: a job that lasts (CDI, CDD of 6 months or more, a new business)."""
    return reason is JourneyExitReason.EMPLOYMENT and employment_kind in POSITIVE_EMPLOYMENT


def check_exit(
    journey: Journey,
    reason: JourneyExitReason,
    employment_kind: EmploymentKind | None,
    exited_on: date,
    *,
    today: date,
) -> None:
    """Refuse an exit that cannot be: every field's message at once, in French."""
    if journey.closed_on is not None:
        raise Conflict(ALREADY_CLOSED)
    fields: dict[str, list[str]] = {}
    # Employment needs its kind; any other reason refuses one.
    if reason is JourneyExitReason.EMPLOYMENT and employment_kind is None:
        fields["employment_kind"] = [EMPLOYMENT_KIND_REQUIRED]
    if reason is not JourneyExitReason.EMPLOYMENT and employment_kind is not None:
        fields["employment_kind"] = [EMPLOYMENT_KIND_REFUSED]
    # The exit is dated within the journey: not before it opened, not after today.
    if exited_on > today:
        fields["exited_on"] = [EXIT_IN_FUTURE]
    elif exited_on < journey.opened_on:
        fields["exited_on"] = [EXIT_BEFORE_OPENING.format(date=_french(journey.opened_on))]
    if fields:
        first = next(iter(fields.values()))[0]
        raise InvalidInput(first, fields=fields)


def _check_reentry(person: Beneficiary) -> None:
    # One open journey per person (the partial unique index is the backstop).
    if person.current_journey is not None:
        raise Conflict(ALREADY_OPEN)


def check_follow_up(
    follow_up: JobFollowUp, exit_row: JourneyExit, version: int, checked_on: date, *, today: date
) -> None:
    # A copy older than the row: someone else answered (or changed) it meanwhile.
    if follow_up.version != version:
        raise Conflict(STALE_FOLLOW_UP, code="stale")
    if follow_up.checked_on is not None:
        raise Conflict(ALREADY_CHECKED)
    if checked_on > today:
        raise InvalidInput.on("checked_on", CHECK_IN_FUTURE)
    if checked_on < exit_row.exited_on:
        message = CHECK_BEFORE_EXIT.format(date=_french(exit_row.exited_on))
        raise InvalidInput.on("checked_on", message)


def _french(day: date) -> str:
    return day.strftime("%d/%m/%Y")


# -- reading ---------------------------------------------------------------------------------


def _follow_up_view(row: JobFollowUp) -> FollowUpView:
    return FollowUpView(
        id=row.id,
        months=row.months,
        due_on=row.due_on,
        checked_on=row.checked_on,
        still_employed=row.still_employed,
        version=row.version,
    )


def _exit_view(exit_row: JourneyExit, journey: Journey) -> ExitView:
    rows = db.session().scalars(
        select(JobFollowUp)
        .where(JobFollowUp.exit_id == exit_row.id)
        .order_by(JobFollowUp.months, JobFollowUp.id)
    )
    return ExitView(
        id=exit_row.id,
        journey_id=journey.id,
        journey_opened_on=journey.opened_on,
        reason=exit_row.reason,
        employment_kind=exit_row.employment_kind,
        is_positive=exit_row.is_positive,
        exited_on=exit_row.exited_on,
        follow_ups=[_follow_up_view(row) for row in rows],
    )


def _last_exit(person: Beneficiary) -> ExitView | None:
    closed = [j for j in person.journeys if j.closed_on is not None]
    if not closed:
        return None
    journey = max(closed, key=lambda j: (j.closed_on or j.opened_on, j.opened_on))
    exit_row = db.session().scalar(select(JourneyExit).where(JourneyExit.journey_id == journey.id))
    if exit_row is None:
        # A journey closed before exits were detailed (an import): its coarse reason only.
        closed_on, reason = journey.closed_on, journey.exit_reason
        if closed_on is None or reason is None:  # pragma: no cover - a check constraint
            return None
        return ExitView(
            id=journey.id,
            journey_id=journey.id,
            journey_opened_on=journey.opened_on,
            reason=reason,
            employment_kind=None,
            is_positive=False,
            exited_on=closed_on,
            follow_ups=[],
        )
    return _exit_view(exit_row, journey)


def _active_memberships(journey_id: uuid.UUID) -> list[GroupMembership]:
    return list(
        db.session().scalars(
            select(GroupMembership).where(
                GroupMembership.journey_id == journey_id, GroupMembership.ended_at.is_(None)
            )
        )
    )


def _page(access: RecordAccess) -> ExitPage:
    person = access.beneficiary
    journey = person.current_journey
    active = len(_active_memberships(journey.id)) if journey is not None else 0
    return ExitPage(
        access=access,
        person=person,
        journey=journey,
        last_exit=_last_exit(person),
        active_members=active,
        can_close=journey is not None and access.can_action(Action.CLOSE_JOURNEY),
        can_reopen=journey is None and access.can(Section.ORIENTATION, Level.WRITE),
        today=clock.today(),
    )


def get_exit_page(*, actor: Principal, beneficiary_id: uuid.UUID) -> ExitPage:
    """The exit page: the form to close the open journey (for those the policy allows), or
    the last exit with its retention checks and the way back in. A read of the orientation."""
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.ORIENTATION, tag=Tag.EXIT_READ
    )
    return _page(access)


def get_exit_form(*, actor: Principal, beneficiary_id: uuid.UUID) -> ExitPage:
    """The exit page for someone who may close the journey (a form sent back for
    correction): authorized as the closing itself, audited as a read."""
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.CLOSE_JOURNEY,
        tag=Tag.EXIT_FORM_READ,
        audit_action=AuditAction.READ,
    )
    return _page(access)


def get_reentry_form(*, actor: Principal, beneficiary_id: uuid.UUID) -> ExitPage:
    """The exit page for someone who may open a new journey (a re-entry form sent back)."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.ORIENTATION,
        tag=Tag.REENTRY_FORM_READ,
    )
    policy.authorize(actor, access.facts, Section.ORIENTATION, Level.WRITE)
    return _page(access)


# -- closing a journey --------------------------------------------------------------------------


def close_journey(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    reason: JourneyExitReason,
    employment_kind: EmploymentKind | None,
    exited_on: date,
) -> ClosedJourney:
    """Record the exit of the open journey and everything that follows from it, at once."""
    exit_id = uuid.uuid4()
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.CLOSE_JOURNEY,
        tag=Tag.EXIT_RECORDED,
        audit_action=AuditAction.UPDATE,
        object_id=exit_id,
    )
    person = access.beneficiary
    journey = person.current_journey
    if journey is None:
        raise Conflict(ALREADY_CLOSED if person.journeys else NO_JOURNEY)
    check_exit(journey, reason, employment_kind, exited_on, today=clock.today())
    session = db.session()
    members = _active_memberships(journey.id)
    journey.closed_on = exited_on
    journey.exit_reason = reason
    exit_row = JourneyExit(
        id=exit_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey.id,
        reason=reason,
        employment_kind=employment_kind,
        is_positive=is_positive_exit(reason, employment_kind),
        exited_on=exited_on,
        recorded_at=clock.now(),
        recorded_by_account_id=actor.account_id,
        recorded_by_organisation_id=actor.organisation_id,
    )
    session.add(exit_row)
    db.flush_or_conflict(ALREADY_CLOSED)
    if reason is JourneyExitReason.EMPLOYMENT:
        session.add_all(
            JobFollowUp(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                exit_id=exit_id,
                months=months,
                due_on=clock.add_months(exited_on, months),
            )
            for months in FOLLOW_UP_MONTHS
        )
    orientation.close_open_period(journey.id, exited_on)
    ended_contracts = contracts.end_for_exit(access, journey.id, exited_on)
    closed_requests = orientation.close_requests_for_exit(access, journey.id)
    cancelled = meetings.cancel_for_exit(access, journey.id)
    # Nobody keeps a place in the group of a closed journey (nor its access: the gate
    # counts only the memberships of open journeys).
    now = clock.now()
    for member in members:
        member.ended_at = max(now, member.started_at)
        member.end_reason = MEMBERSHIP_END_REASON
    db.flush_or_conflict(ALREADY_CLOSED)
    details = {
        "exit_id": exit_id,
        "exit_reason": reason,
        "employment_kind": employment_kind,
        "is_positive": exit_row.is_positive,
        "memberships_ended": len(members),
        "contracts_ended": ended_contracts,
        "requests_closed": closed_requests,
        "appointments_cancelled": cancelled,
    }
    records.add_event(access, Event.JOURNEY_CLOSED, journey.id, details)
    _notify_exit(access, members, reason)
    log.info("journey closed beneficiary=%s exit=%s", person.id, exit_id)
    facts = gate.record_facts(session, actor, person)
    return ClosedJourney(
        exit=exit_row,
        actor_may_read=policy.can(actor, facts, Section.ORIENTATION, Level.READ),
    )


def _notify_exit(
    access: RecordAccess, members: list[GroupMembership], reason: JourneyExitReason
) -> None:
    """Tell every former member (not the actor) and the person; never the person's name."""
    person = access.beneficiary
    details = {"exit_reason": reason.value}
    seen: set[uuid.UUID] = set()
    for member in members:
        if member.account_id == access.actor.account_id or member.account_id in seen:
            continue
        seen.add(member.account_id)
        notifications.notify(
            recipient_account_id=member.account_id,
            departement_id=person.departement_id,
            kind=Event.JOURNEY_CLOSED,
            beneficiary_id=person.id,
            details={**details, "organisation_id": str(member.organisation_id)},
        )
    if (
        person.account_id is None
        or person.account_id == access.actor.account_id
        or reason is JourneyExitReason.DEATH
    ):
        return
    kind = (
        Event.EXIT_TO_EMPLOYMENT if reason is JourneyExitReason.EMPLOYMENT else Event.JOURNEY_CLOSED
    )
    notifications.notify(
        recipient_account_id=person.account_id,
        departement_id=person.departement_id,
        kind=kind,
        beneficiary_id=person.id,
        details=details,
    )


# -- re-entry -------------------------------------------------------------------------------------


def reopen_journey(
    *, actor: Principal, beneficiary_id: uuid.UUID, reason: ReentryReason
) -> Journey:
    """Open a new journey on the same record, today, for a person who comes back.

    The new journey has no référent: the person waits in the orientation queue, where the
    last known orientation is proposed. Whoever may write the orientation decides it."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.ORIENTATION,
        level=Level.WRITE,
        tag=Tag.JOURNEY_REOPENED,
        object_id=new_id,
    )
    person = access.beneficiary
    _check_reentry(person)
    previous = _last_exit(person)
    journey = Journey(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        opened_on=clock.today(),
        created_at=clock.now(),
    )
    db.session().add(journey)
    db.flush_or_conflict(ALREADY_OPEN)
    # The person's journeys, as this transaction now knows them (the open one first).
    person.journeys.insert(0, journey)
    details = {
        "journey_id": new_id,
        "reason": reason,
        "previous_journey_id": previous.journey_id if previous else None,
    }
    records.add_event(access, Event.JOURNEY_OPENED, new_id, details)
    if person.account_id is not None and person.account_id != actor.account_id:
        notifications.notify(
            recipient_account_id=person.account_id,
            departement_id=person.departement_id,
            kind=Event.JOURNEY_OPENED,
            beneficiary_id=person.id,
            details={"reason": reason.value},
        )
    return journey


# -- job-retention checks ---------------------------------------------------------------------


def _may_list(actor: Principal) -> bool:
    if actor.departement_id is None:
        return False
    probe = RecordFacts(beneficiary_id=NOBODY, departement_id=actor.departement_id)
    # Whoever may write the orientation of the département's people (the chargé
    # d'orientation) answers the checks; nobody else has them to do.
    return policy.can(actor, probe, Section.ORIENTATION, Level.WRITE)


def may_list_follow_ups(actor: Principal) -> bool:
    """Whether the policy gives the actor the département's retention checks to do."""
    return _may_list(actor)


def list_due_follow_ups(*, actor: Principal, page: int = 1) -> DueFollowUps:
    """The retention checks due within a week and not answered yet, oldest first.

    The person's name only where the policy lets the viewer read identity. One audit row
    per page that lists somebody."""
    if not _may_list(actor) or actor.departement_id is None:
        raise Denied(FOLLOW_UPS_DENIED)
    today = clock.today()
    conditions = (
        JobFollowUp.departement_id == actor.departement_id,
        JobFollowUp.checked_on.is_(None),
        JobFollowUp.due_on <= today + timedelta(days=DUE_HORIZON_DAYS),
    )
    session = db.session()
    total = int(session.scalar(select(func.count(JobFollowUp.id)).where(*conditions)) or 0)
    pages = max(1, math.ceil(total / FOLLOW_UPS_PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(JobFollowUp, JourneyExit, Beneficiary)
        .join(JourneyExit, JourneyExit.id == JobFollowUp.exit_id)
        .join(Beneficiary, Beneficiary.id == JobFollowUp.beneficiary_id)
        .where(*conditions)
        .order_by(JobFollowUp.due_on, JobFollowUp.months, JobFollowUp.id)
        .offset((page - 1) * FOLLOW_UPS_PAGE_SIZE)
        .limit(FOLLOW_UPS_PAGE_SIZE)
    ).all()
    items = []
    for follow_up, exit_row, person in rows:
        facts = RecordFacts(beneficiary_id=person.id, departement_id=person.departement_id)
        readable = policy.can(actor, facts, Section.IDENTITY, Level.READ)
        items.append(
            DueFollowUp(
                id=follow_up.id,
                beneficiary_id=person.id,
                display_name=person.display_name if readable else None,
                months=follow_up.months,
                due_on=follow_up.due_on,
                exited_on=exit_row.exited_on,
                employment_kind=exit_row.employment_kind,
                version=follow_up.version,
                is_overdue=follow_up.due_on < today,
            )
        )
    if items:
        records.listing_audit(actor, Tag.FOLLOW_UPS_LISTED)
    return DueFollowUps(items=items, page=page, pages=pages, total=total, today=today)


def _follow_up_rows(
    access: RecordAccess, follow_up_id: uuid.UUID
) -> tuple[JobFollowUp, JourneyExit, Journey]:
    session = db.session()
    follow_up = session.scalar(
        select(JobFollowUp).where(
            JobFollowUp.id == follow_up_id, JobFollowUp.beneficiary_id == access.beneficiary.id
        )
    )
    if follow_up is None:
        raise NotFound(FOLLOW_UP_NOT_FOUND)
    exit_row = session.get(JourneyExit, follow_up.exit_id)
    journey = session.get(Journey, exit_row.journey_id) if exit_row is not None else None
    if exit_row is None or journey is None:  # pragma: no cover - foreign keys hold them
        raise NotFound(FOLLOW_UP_NOT_FOUND)
    return follow_up, exit_row, journey


def get_follow_up(
    *, actor: Principal, beneficiary_id: uuid.UUID, follow_up_id: uuid.UUID
) -> FollowUpPage:
    """One retention check, for whoever may answer it (a form sent back for correction)."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.ORIENTATION,
        tag=Tag.FOLLOW_UP_READ,
        object_id=follow_up_id,
    )
    policy.authorize(actor, access.facts, Section.ORIENTATION, Level.WRITE)
    follow_up, exit_row, journey = _follow_up_rows(access, follow_up_id)
    return FollowUpPage(
        access=access,
        person=access.beneficiary,
        exit=_exit_view(exit_row, journey),
        follow_up=_follow_up_view(follow_up),
        today=clock.today(),
    )


def record_follow_up(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    follow_up_id: uuid.UUID,
    still_employed: bool,
    checked_on: date,
    version: int,
) -> JobFollowUp:
    """Answer a retention check (is the person still employed?), from the version the form
    showed: a stale copy is refused and nothing is written."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.ORIENTATION,
        level=Level.WRITE,
        tag=Tag.FOLLOW_UP_RECORDED,
        object_id=follow_up_id,
    )
    follow_up, exit_row, journey = _follow_up_rows(access, follow_up_id)
    check_follow_up(follow_up, exit_row, version, checked_on, today=clock.today())
    follow_up.checked_on = checked_on
    follow_up.still_employed = still_employed
    follow_up.checked_by_account_id = actor.account_id
    try:
        db.session().flush()
    except StaleDataError:
        # Another answer landed between our version check and this write.
        raise Conflict(STALE_FOLLOW_UP, code="stale") from None
    details = {
        "follow_up_id": follow_up.id,
        "exit_id": exit_row.id,
        "months": follow_up.months,
        "still_employed": still_employed,
    }
    records.add_event(access, Event.FOLLOW_UP_RECORDED, journey.id, details)
    return follow_up


__all__ = [
    "ClosedJourney",
    "DueFollowUp",
    "DueFollowUps",
    "Event",
    "ExitPage",
    "ExitView",
    "FollowUpPage",
    "FollowUpView",
    "ReentryReason",
    "Tag",
    "check_exit",
    "check_follow_up",
    "close_journey",
    "get_exit_form",
    "get_exit_page",
    "get_follow_up",
    "get_reentry_form",
    "is_positive_exit",
    "list_due_follow_ups",
    "may_list_follow_ups",
    "record_follow_up",
    "reopen_journey",
]
