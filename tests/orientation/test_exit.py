"""Closing a journey and opening a new one, at the service level: every reason, the
« sortie positive » flag, the retention checks, the refused transitions, what a closing
ends, who may do it, and what the timeline, the log and the notifications keep."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.contracts import services as contract_services
from carnet.contracts.models import Contract, ContractKind, ContractStatus
from carnet.errors import Conflict, InvalidInput
from carnet.meetings.models import Appointment
from carnet.notifications import services as notifications
from carnet.notifications.models import Notification
from carnet.orientation import exits
from carnet.orientation import services as orientation_services
from carnet.orientation.models import (
    EmploymentKind,
    JobFollowUp,
    JourneyExit,
    Orientation,
    OrientationType,
    ReorientationRequest,
    RequestStatus,
)
from carnet.orientation.schemas import ReorientationAsk
from carnet.records import gate
from carnet.records.models import GroupMembership, Journey, JourneyExitReason, TimelineEvent
from carnet.security import policy, scoping
from carnet.security.permissions import (
    OrganisationKind,
    Outcome,
    PrincipalRole,
    Section,
)
from carnet.security.principal import Principal
from tests.orientation.seed import add_orientation
from tests.records.world import audit_rows, build_world, count
from tests.workspace.people import principal


@pytest.fixture
def world(db_session: Any) -> Any:
    return build_world()


def _referent(world: Any) -> Principal:
    return principal(world.referent, world.departement_org)


def _officer(world: Any) -> Principal:
    return principal(world.officer, world.departement_org)


def _member(world: Any) -> Principal:
    return principal(world.ml_member, world.mission_locale)


def _outsider(world: Any) -> Principal:
    return principal(world.outsider, world.france_travail)


def _foreign(world: Any) -> Principal:
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.foreign.id,
        departement_id=world.other_departement_id,
        organisation_id=world.foreign.membership.organisation_id,
        organisation_kind=OrganisationKind.DEPARTEMENT,
        membership_id=world.foreign.membership.id,
    )


def _person(world: Any) -> Principal:
    return Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="franceconnect",
        account_id=world.person_account.id,
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
    )


def _close(
    world: Any,
    actor: Principal | None = None,
    reason: JourneyExitReason = JourneyExitReason.EMPLOYMENT,
    kind: EmploymentKind | None = EmploymentKind.CDI,
    exited_on: dt.date | None = None,
) -> exits.ClosedJourney:
    return exits.close_journey(
        actor=actor or _referent(world),
        beneficiary_id=world.person.id,
        reason=reason,
        employment_kind=kind,
        exited_on=exited_on or clock.today(),
    )


def _fresh(model: type[Any], row_id: uuid.UUID) -> Any:
    with scoping.unscoped():
        db.session().expire_all()
        return db.session().get(model, row_id)


def _follow_ups(exit_id: uuid.UUID) -> list[tuple[int, dt.date]]:
    with scoping.unscoped():
        rows = db.session().scalars(
            select(JobFollowUp).where(JobFollowUp.exit_id == exit_id).order_by(JobFollowUp.months)
        )
        return [(row.months, row.due_on) for row in rows]


def _events(world: Any, kind: str) -> list[TimelineEvent]:
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(TimelineEvent).where(
                    TimelineEvent.beneficiary_id == world.person.id, TimelineEvent.kind == kind
                )
            )
        )


def _notified(account_id: uuid.UUID) -> list[str]:
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(Notification.kind).where(Notification.recipient_account_id == account_id)
            )
        )


def _nothing_written(world: Any) -> None:
    assert _fresh(Journey, world.journey.id).closed_on is None
    assert count(JourneyExit) == 0
    assert count(JobFollowUp) == 0
    assert _events(world, "records:journey:closed") == []


# -- every reason, the positive flag, the checks -------------------------------------------------


@pytest.mark.parametrize("reason", list(JourneyExitReason))
def test_every_exit_reason_closes_the_journey(world, reason):
    kind = EmploymentKind.CDI if reason is JourneyExitReason.EMPLOYMENT else None
    exited_on = world.journey.opened_on + dt.timedelta(days=40)
    closed = _close(world, reason=reason, kind=kind, exited_on=exited_on)
    journey = _fresh(Journey, world.journey.id)
    assert (journey.closed_on, journey.exit_reason) == (exited_on, reason)
    row = _fresh(JourneyExit, closed.exit.id)
    assert (row.journey_id, row.reason, row.employment_kind, row.exited_on) == (
        world.journey.id,
        reason,
        kind,
        exited_on,
    )
    assert row.recorded_by_account_id == world.referent.id
    # Retention checks follow a job only.
    expected = 2 if reason is JourneyExitReason.EMPLOYMENT else 0
    assert len(_follow_ups(closed.exit.id)) == expected


@pytest.mark.parametrize(
    ("kind", "positive"),
    [
        (EmploymentKind.CDI, True),
        (EmploymentKind.CDD_LONG, True),
        (EmploymentKind.BUSINESS_CREATION, True),
        (EmploymentKind.CDD_SHORT, False),
        (EmploymentKind.TEMPORARY, False),
    ],
)
def test_a_positive_exit_is_a_job_that_lasts(world, kind, positive):
    closed = _close(world, kind=kind)
    assert _fresh(JourneyExit, closed.exit.id).is_positive is positive
    (event,) = _events(world, "records:journey:closed")
    assert event.details["is_positive"] is positive
    assert event.details["employment_kind"] == kind.value


@pytest.mark.parametrize(
    "reason",
    [r for r in JourneyExitReason if r is not JourneyExitReason.EMPLOYMENT],
)
def test_no_other_reason_is_a_positive_exit(world, reason):
    closed = _close(world, reason=reason, kind=None)
    assert _fresh(JourneyExit, closed.exit.id).is_positive is False


def test_checks_are_due_exactly_6_and_12_months_after_the_job(world):
    closed = _close(world, exited_on=dt.date(2026, 8, 31))
    # No 31 February: the month's last day.
    assert _follow_ups(closed.exit.id) == [(6, dt.date(2027, 2, 28)), (12, dt.date(2027, 8, 31))]


def test_checks_keep_the_day_of_the_month(world):
    closed = _close(world, kind=EmploymentKind.CDD_SHORT, exited_on=dt.date(2026, 3, 15))
    assert _follow_ups(closed.exit.id) == [(6, dt.date(2026, 9, 15)), (12, dt.date(2027, 3, 15))]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2024, 8, 31), 6, dt.date(2025, 2, 28)),
        (dt.date(2023, 8, 31), 6, dt.date(2024, 2, 29)),
        (dt.date(2025, 12, 15), 12, dt.date(2026, 12, 15)),
        (dt.date(2025, 7, 31), 6, dt.date(2026, 1, 31)),
        (dt.date(2025, 6, 30), 18, dt.date(2026, 12, 30)),
    ],
)
def test_months_are_added_on_the_calendar(day, months, expected):
    assert clock.add_months(day, months) == expected


# -- refused transitions ------------------------------------------------------------------------


def test_employment_without_its_kind_is_refused(world):
    with pytest.raises(InvalidInput) as refused:
        _close(world, kind=None)
    assert refused.value.fields == {
        "employment_kind": ["Pour une sortie vers l'emploi, précisez le type d'emploi."]
    }
    _nothing_written(world)


@pytest.mark.parametrize(
    "reason", [JourneyExitReason.TRAINING, JourneyExitReason.END_OF_RIGHT, JourneyExitReason.OTHER]
)
def test_a_job_kind_without_employment_is_refused(world, reason):
    with pytest.raises(InvalidInput) as refused:
        _close(world, reason=reason, kind=EmploymentKind.CDI)
    assert "ne se précise que pour une sortie vers l'emploi" in refused.value.message
    assert list(refused.value.fields) == ["employment_kind"]
    _nothing_written(world)


def test_an_exit_in_the_future_is_refused(world):
    with pytest.raises(InvalidInput) as refused:
        _close(world, exited_on=clock.today() + dt.timedelta(days=1))
    assert refused.value.fields == {
        "exited_on": ["La date de sortie ne peut pas être dans le futur."]
    }
    _nothing_written(world)


def test_an_exit_before_the_journey_opened_is_refused(world):
    with pytest.raises(InvalidInput) as refused:
        _close(world, exited_on=world.journey.opened_on - dt.timedelta(days=1))
    assert refused.value.fields == {
        "exited_on": [
            "La date de sortie ne peut pas précéder l'ouverture du parcours, le 05/01/2026."
        ]
    }
    _nothing_written(world)


def test_an_exit_on_the_opening_day_is_accepted(world):
    closed = _close(world, exited_on=world.journey.opened_on)
    assert _fresh(JourneyExit, closed.exit.id).exited_on == world.journey.opened_on


def test_every_wrong_field_is_said_at_once(world):
    with pytest.raises(InvalidInput) as refused:
        _close(world, kind=None, exited_on=clock.today() + dt.timedelta(days=3))
    assert set(refused.value.fields) == {"employment_kind", "exited_on"}


def test_a_closed_journey_cannot_be_closed_again(world):
    _close(world, actor=_officer(world))
    with pytest.raises(Conflict) as refused:
        _close(world, actor=_officer(world), reason=JourneyExitReason.OTHER, kind=None)
    assert "déjà clos" in refused.value.message
    assert "ouvrez un nouveau parcours" in refused.value.message
    assert count(JourneyExit) == 1
    assert len(_events(world, "records:journey:closed")) == 1


def test_a_second_exit_for_one_journey_is_stopped_by_the_database(world, monkeypatch):
    """Two closings at the same moment: the unique exit per journey refuses the second."""
    _close(world, actor=_officer(world))
    with scoping.unscoped():
        journey = _fresh(Journey, world.journey.id)
        # What a concurrent transaction would have seen: the journey still open.
        journey.closed_on = None
        journey.exit_reason = None
        db.session().flush()
    with pytest.raises(Conflict, match="déjà clos"):
        _close(world, actor=_officer(world), reason=JourneyExitReason.OTHER, kind=None)


# -- what a closing ends ------------------------------------------------------------------------


def test_closing_ends_every_place_in_the_group(world):
    _close(world)
    with scoping.unscoped():
        db.session().expire_all()
        rows = list(
            db.session().scalars(
                select(GroupMembership).where(GroupMembership.journey_id == world.journey.id)
            )
        )
    assert len(rows) == 3
    assert all(row.ended_at is not None for row in rows)
    assert {row.end_reason for row in rows} == {"Sortie de parcours"}


@pytest.mark.parametrize("who", ["referent", "member"])
def test_the_group_loses_access_to_the_record(world, who):
    actor = _referent(world) if who == "referent" else _member(world)
    gate.open_record(
        actor=actor, beneficiary_id=world.person.id, section=Section.IDENTITY, tag="t:t:t"
    )
    _close(world, actor=_officer(world))
    with pytest.raises(policy.PolicyDenied):
        gate.open_record(
            actor=actor, beneficiary_id=world.person.id, section=Section.IDENTITY, tag="t:t:t"
        )


def test_the_referent_who_closes_is_told_he_no_longer_reads_the_record(world):
    assert _close(world).actor_may_read is False
    assert _close_other(world).actor_may_read is True


def _close_other(world: Any) -> exits.ClosedJourney:
    # The chargé d'orientation closes Yanis's journey and keeps his remit.
    return exits.close_journey(
        actor=_officer(world),
        beneficiary_id=world.other_person.id,
        reason=JourneyExitReason.MOVED,
        employment_kind=None,
        exited_on=clock.today(),
    )


def test_closing_ends_the_orientation_period(world):
    period = Orientation(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        type=OrientationType.SOCIAL,
        organisation_id=world.departement_org.id,
        referent_account_id=world.referent.id,
        motive="Orientation sociale",
        starts_on=world.journey.opened_on,
    )
    db.session().add(period)
    db.session().flush()
    exited_on = world.journey.opened_on + dt.timedelta(days=100)
    _close(world, exited_on=exited_on)
    assert _fresh(Orientation, period.id).ends_on == exited_on


def test_closing_gives_up_a_contract_never_signed(world):
    terms = contract_services.Terms(
        starts_on=clock.today(),
        duration_months=6,
        ends_on=None,
        weekly_hours=None,
        exemption=None,
        exemption_details=None,
        person_commitments="Chercher un logement et se rendre aux rendez-vous.",
        support_commitments="Accompagner les démarches de logement.",
    )
    contract_id = contract_services.create_draft(
        actor=_referent(world),
        beneficiary_id=world.person.id,
        kind=ContractKind.CER,
        terms=terms,
    )
    _close(world, reason=JourneyExitReason.END_OF_RIGHT, kind=None)
    contract = _fresh(Contract, contract_id)
    assert contract.status is ContractStatus.CANCELLED
    (event,) = _events(world, "records:journey:closed")
    assert event.details["contracts_ended"] == 1


def test_closing_cancels_appointments_ahead_and_makes_a_pending_request_moot(world):
    add_orientation(world, starts_on=world.journey.opened_on)
    request = orientation_services.request_reorientation(
        actor=_referent(world),
        beneficiary_id=world.person.id,
        ask=ReorientationAsk(
            motive="Projet de formation qualifiante", proposed_type=OrientationType.PROFESSIONAL
        ),
    )
    past = world.appointment
    ahead = Appointment(
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        kind=past.kind,
        starts_at=clock.now() + dt.timedelta(days=9),
        channel=past.channel,
        place=past.place,
        organisation_id=past.organisation_id,
        professional_account_id=past.professional_account_id,
    )
    db.session().add(ahead)
    db.session().flush()
    _close(world, reason=JourneyExitReason.MOVED, kind=None)
    cancelled = _fresh(Appointment, ahead.id)
    assert cancelled.is_cancelled
    assert cancelled.cancellation_reason == "Sortie de parcours"
    assert not _fresh(Appointment, past.id).is_cancelled
    moot = _fresh(ReorientationRequest, request.id)
    assert moot.status is RequestStatus.MOOT
    assert moot.decided_at is not None
    (event,) = _events(world, "records:journey:closed")
    assert event.details["requests_closed"] == 1
    assert event.details["appointments_cancelled"] == 1
    assert _events(world, "orientation:request:moot")


# -- timeline, log, notifications ---------------------------------------------------------------


def test_the_closing_is_in_the_timeline_with_codes_only(world):
    closed = _close(world, kind=EmploymentKind.CDD_LONG)
    (event,) = _events(world, "records:journey:closed")
    assert event.journey_id == world.journey.id
    assert event.actor_account_id == world.referent.id
    assert event.details == {
        "exit_id": str(closed.exit.id),
        "exit_reason": "emploi",
        "employment_kind": "cdd_6_mois_et_plus",
        "is_positive": True,
        "memberships_ended": 3,
        "contracts_ended": 0,
        "requests_closed": 0,
        "appointments_cancelled": 0,
    }


def test_the_closing_is_in_the_access_log(world):
    closed = _close(world)
    rows = audit_rows(beneficiary_id=world.person.id, tag="orientation:exit:recorded")
    assert [(r.actor_account_id, r.outcome, r.section, r.object_id) for r in rows] == [
        (world.referent.id, Outcome.ALLOWED, "journey:close", closed.exit.id)
    ]


def test_the_group_and_the_person_are_told_without_the_actor(world):
    _close(world)
    assert _notified(world.referent.id) == []
    assert _notified(world.ml_member.id) == ["records:journey:closed"]
    assert _notified(world.health_member.id) == ["records:journey:closed"]
    assert _notified(world.person_account.id) == ["orientation:exit:employment"]


def test_the_person_reads_a_plain_text_that_names_nobody(world):
    _close(world, reason=JourneyExitReason.END_OF_RIGHT, kind=None)
    assert _notified(world.person_account.id) == ["records:journey:closed"]
    (item,) = notifications.list_for_account(actor=_person(world))
    assert item.text.startswith("Votre parcours d'accompagnement est clos.")
    assert "Benali" not in item.text
    member = _member(world)
    (pro_item,) = notifications.list_for_account(actor=member)
    assert "Benali" not in pro_item.text
    assert "Sofia" not in pro_item.text
    assert "ne vous est plus accessible" in pro_item.text


def test_after_a_job_the_person_is_told_support_is_still_possible(world):
    _close(world)
    (item,) = notifications.list_for_account(actor=_person(world))
    assert "18 mois" in item.text


def test_nobody_writes_to_the_person_after_a_death(world):
    _close(world, actor=_officer(world), reason=JourneyExitReason.DEATH, kind=None)
    assert _notified(world.person_account.id) == []
    assert _notified(world.referent.id) == ["records:journey:closed"]


# -- who may close ------------------------------------------------------------------------------


def test_the_orientation_officer_may_close(world):
    closed = _close(world, actor=_officer(world))
    assert _fresh(JourneyExit, closed.exit.id).recorded_by_account_id == world.officer.id


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("member", policy.PolicyDenied),
        ("outsider", policy.PolicyDenied),
        ("person", policy.PolicyDenied),
        ("foreign", policy.PolicyNotFound),
    ],
)
def test_others_may_not_close(world, who, refusal):
    actor = {
        "member": _member,
        "outsider": _outsider,
        "person": _person,
        "foreign": _foreign,
    }[who](world)
    with pytest.raises(refusal):
        _close(world, actor=actor)
    _nothing_written(world)


# -- re-entry -----------------------------------------------------------------------------------


def test_a_returning_person_gets_a_new_journey_on_the_same_record(world):
    _close(world, actor=_officer(world), reason=JourneyExitReason.END_OF_RIGHT, kind=None)
    journey = exits.reopen_journey(
        actor=_officer(world),
        beneficiary_id=world.person.id,
        reason=exits.ReentryReason.RIGHT_REOPENED,
    )
    fresh = _fresh(Journey, journey.id)
    assert fresh.beneficiary_id == world.person.id
    assert (fresh.opened_on, fresh.closed_on) == (clock.today(), None)
    assert fresh.id != world.journey.id
    with scoping.unscoped():
        members = db.session().scalars(
            select(GroupMembership).where(GroupMembership.journey_id == journey.id)
        )
        assert list(members) == []
    (event,) = _events(world, "records:journey:opened")
    assert event.journey_id == journey.id
    assert event.details == {
        "journey_id": str(journey.id),
        "reason": "droit_rouvert",
        "previous_journey_id": str(world.journey.id),
    }
    assert "records:journey:opened" in _notified(world.person_account.id)
    rows = audit_rows(beneficiary_id=world.person.id, tag="orientation:journey:reopened")
    assert [(r.actor_account_id, r.outcome, r.object_id) for r in rows] == [
        (world.officer.id, Outcome.ALLOWED, journey.id)
    ]


def test_the_new_journey_waits_in_the_orientation_queue(world):
    from carnet.orientation import services as orientation

    officer = _officer(world)

    def waiting() -> set[uuid.UUID]:
        return {p.beneficiary_id for p in orientation.orientation_queue(actor=officer).people}

    _close(world, actor=officer, reason=JourneyExitReason.END_OF_RIGHT, kind=None)
    assert world.person.id not in waiting()
    exits.reopen_journey(
        actor=officer, beneficiary_id=world.person.id, reason=exits.ReentryReason.PERSON_REQUEST
    )
    assert world.person.id in waiting()


def test_no_new_journey_while_one_is_open(world):
    with pytest.raises(Conflict) as refused:
        exits.reopen_journey(
            actor=_officer(world),
            beneficiary_id=world.person.id,
            reason=exits.ReentryReason.OTHER,
        )
    assert "déjà un parcours en cours" in refused.value.message
    assert count(Journey, beneficiary_id=world.person.id) == 1


@pytest.mark.parametrize("who", ["referent", "member", "person"])
def test_only_who_writes_the_orientation_opens_a_journey(world, who):
    actor = {"referent": _referent, "member": _member, "person": _person}[who](world)
    _close(world, actor=_officer(world), reason=JourneyExitReason.OTHER, kind=None)
    with pytest.raises(policy.PolicyDenied):
        exits.reopen_journey(
            actor=actor, beneficiary_id=world.person.id, reason=exits.ReentryReason.OTHER
        )
    assert count(Journey, beneficiary_id=world.person.id) == 1


def test_a_new_journey_can_be_closed_in_its_turn(world):
    officer = _officer(world)
    _close(world, actor=officer, reason=JourneyExitReason.TRAINING, kind=None)
    exits.reopen_journey(
        actor=officer, beneficiary_id=world.person.id, reason=exits.ReentryReason.JOB_ENDED
    )
    closed = _close(world, actor=officer, reason=JourneyExitReason.MOVED, kind=None)
    assert count(JourneyExit, beneficiary_id=world.person.id) == 2
    page = exits.get_exit_page(actor=officer, beneficiary_id=world.person.id)
    assert page.journey is None
    assert page.last_exit is not None
    assert page.last_exit.id == closed.exit.id
    assert page.can_reopen
    assert not page.can_close


def test_the_exit_page_tells_each_reader_what_he_may_do(world):
    referent = exits.get_exit_page(actor=_referent(world), beneficiary_id=world.person.id)
    assert referent.can_close
    assert not referent.can_reopen
    assert referent.active_members == 3
    member = exits.get_exit_page(actor=_member(world), beneficiary_id=world.person.id)
    assert not member.can_close
    own = exits.get_exit_page(actor=_person(world), beneficiary_id=world.person.id)
    assert not own.can_close
    assert not own.can_reopen
    assert exits.get_exit_page(actor=_officer(world), beneficiary_id=world.person.id).can_close
