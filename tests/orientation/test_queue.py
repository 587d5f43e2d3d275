"""The orientation queue: who waits, in which order, against which clock, for whom."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from carnet import db
from carnet.clock import add_months
from carnet.errors import Denied
from carnet.orientation import services
from carnet.orientation.schemas import QueueQuery, QueueStatus
from carnet.orientation.services import OrientationClock
from carnet.records.models import JourneyExitReason, RsaState
from carnet.security.permissions import PrincipalRole
from tests.factories import BeneficiaryFactory, JourneyFactory
from tests.orientation.seed import add_orientation, officer, principal
from tests.records.test_query_count import statements_of
from tests.records.world import audit_rows, build_world, text

RIGHT = dt.date(2026, 4, 1)  # target 1 May (day 30), legal limit 13 May (day 42)


@pytest.fixture
def world(db_session):
    return build_world()


# -- the clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "status", "target_left", "limit_left"),
    [
        (29, QueueStatus.IN_TIME, 1, 13),
        (30, QueueStatus.IN_TIME, 0, 12),
        (31, QueueStatus.TARGET_PASSED, -1, 11),
        (41, QueueStatus.TARGET_PASSED, -11, 1),
        (42, QueueStatus.TARGET_PASSED, -12, 0),
        (43, QueueStatus.LIMIT_PASSED, -13, -1),
    ],
)
def test_the_clock_counts_the_month_and_the_six_weeks_in_days(day, status, target_left, limit_left):
    clock = OrientationClock(since=RIGHT, today=RIGHT + dt.timedelta(days=day))
    assert clock.days_waiting == day
    assert clock.target_on == dt.date(2026, 5, 1)
    assert clock.limit_on == dt.date(2026, 5, 13)
    assert clock.status is status
    assert (clock.target_days_left, clock.limit_days_left) == (target_left, limit_left)


def test_one_calendar_month_ends_on_the_last_day_of_a_shorter_month():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)


def _waiting(world, family_name, right_opened_on, **person):
    journey_opened = person.pop("journey_opened_on", right_opened_on or dt.date(2026, 3, 1))
    person_row = BeneficiaryFactory(
        departement_id=world.departement_id,
        given_name="Test",
        family_name=family_name,
        right_opened_on=right_opened_on,
        **person,
    )
    return JourneyFactory(beneficiary=person_row, opened_on=journey_opened)


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (30, "Dans les délais"),
        (31, "Objectif d'un mois dépassé"),
        (42, "Objectif d'un mois dépassé"),
        (43, "Délai légal de six semaines dépassé"),
    ],
)
def test_the_queue_page_tells_each_status_in_french(client, world, login_as, day, label):
    add_orientation(world)  # Sofia is oriented
    world.other_person.is_subject_to_duties = False
    _waiting(world, "Horloge", RIGHT)
    with freeze_time(dt.datetime.combine(RIGHT + dt.timedelta(days=day), dt.time(9))):
        login_as(client, world.officer.account, world.officer.membership)
        body = text(client.get("/orientation/file-d-attente"))
    entry = body.split("Test Horloge", 1)[1].split("</li>", 1)[0]
    assert label in entry
    assert "01/05/2026" in entry
    assert "13/05/2026" in entry
    if day == 30:
        assert "Objectif d'un mois : 01/05/2026, dernier jour" in entry
    if day == 43:
        assert "délai légal : 13/05/2026, dépassé de 1 jour" in entry


# -- who waits -------------------------------------------------------------------------------


def test_only_people_subject_to_duties_with_an_open_right_and_no_orientation_wait(world):
    add_orientation(world)  # Sofia: oriented
    world.other_person.is_subject_to_duties = False  # Yanis: not soumis aux droits et devoirs
    _waiting(world, "Attente", dt.date(2026, 3, 2))
    _waiting(world, "Suspendu", dt.date(2026, 3, 3), rsa_state=RsaState.SUSPENDED)
    _waiting(world, "Clos", dt.date(2026, 3, 4), rsa_state=RsaState.CLOSED)
    _waiting(world, "Instruction", dt.date(2026, 3, 5), rsa_state=RsaState.PENDING)
    ended = _waiting(world, "Parti", dt.date(2026, 3, 6))
    ended.closed_on = dt.date(2026, 3, 20)
    ended.exit_reason = JourneyExitReason.MOVED
    past = _waiting(world, "Oriente", dt.date(2026, 3, 7))
    add_orientation(world, beneficiary_id=past.beneficiary_id, journey_id=past.id)
    # Oriented once on this journey: it never goes back to the queue (a period ends only
    # when the next starts, or with the journey).
    closed_period = _waiting(world, "Reoriente", dt.date(2026, 3, 8))
    add_orientation(
        world,
        beneficiary_id=closed_period.beneficiary_id,
        journey_id=closed_period.id,
        ends_on=dt.date(2026, 3, 20),
    )
    db.session().flush()
    queue = services.orientation_queue(actor=officer(world))
    names = [p.display_name for p in queue.people]
    assert names == ["Test Attente", "Test Suspendu"]
    assert queue.people[1].is_suspended
    assert queue.counts.total == 2


def test_oldest_right_first_and_the_journey_date_when_the_right_is_unknown(world):
    add_orientation(world)
    world.other_person.is_subject_to_duties = False
    _waiting(world, "Recent", dt.date(2026, 4, 20))
    _waiting(world, "Ancien", dt.date(2026, 2, 1))
    _waiting(world, "SansDate", None, journey_opened_on=dt.date(2026, 3, 1))
    with freeze_time("2026-05-10 09:00:00"):
        queue = services.orientation_queue(actor=officer(world))
    assert [p.display_name for p in queue.people] == [
        "Test Ancien",
        "Test SansDate",
        "Test Recent",
    ]
    assert queue.people[1].since_journey
    assert (queue.counts.in_time, queue.counts.target_passed, queue.counts.limit_passed) == (
        1,
        0,
        2,
    )
    with freeze_time("2026-05-10 09:00:00"):
        late = services.orientation_queue(
            actor=officer(world), query=QueueQuery(status=QueueStatus.LIMIT_PASSED)
        )
    assert [p.display_name for p in late.people] == ["Test Ancien", "Test SansDate"]
    assert late.counts.total == 3
    assert late.matched == 2


def test_the_queue_is_paginated_by_25_and_counts_everyone(world):
    add_orientation(world)
    world.other_person.is_subject_to_duties = False
    for number in range(27):
        _waiting(world, f"P{number:02d}", dt.date(2026, 3, 1) + dt.timedelta(days=number))
    first = services.orientation_queue(actor=officer(world))
    second = services.orientation_queue(actor=officer(world), query=QueueQuery(page=2))
    assert len(first.people) == 25
    assert first.pages == 2
    assert [p.display_name for p in second.people] == ["Test P25", "Test P26"]
    beyond = services.orientation_queue(actor=officer(world), query=QueueQuery(page=9))
    assert beyond.page == 2


def test_one_statement_reads_a_page_whatever_its_size(world, engine):
    for number in range(30):
        _waiting(world, f"Q{number:02d}", dt.date(2026, 3, 1) + dt.timedelta(days=number))
    db.session().flush()
    actor = officer(world)
    with statements_of(engine) as seen:
        queue = services.orientation_queue(actor=actor)
    # Besides the audit row of the listing (its lock and its insert): one statement.
    reads = [s for s in seen if "access_events" not in s and "advisory" not in s]
    assert len(queue.people) == 25
    assert len(reads) == 1, reads


def test_the_listing_is_audited_once_and_refused_to_other_roles(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    response = client.get("/orientation/file-d-attente")
    assert response.status_code == 200
    assert "Yanis Autre" in text(response)
    assert [r.tag for r in audit_rows(actor_account_id=world.officer.id)] == [
        "orientation:queue:listed"
    ]
    with pytest.raises(Denied):
        services.orientation_queue(actor=principal(world, world.referent))
    other = client.application.test_client()
    login_as(other, world.referent.account, world.referent.membership)
    refused = other.get("/orientation/file-d-attente")
    assert refused.status_code == 403
    assert "réservée aux chargés d'orientation" in text(refused)


def test_a_bad_filter_is_answered_in_french(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    response = client.get("/orientation/file-d-attente?statut=nimporte&page=x")
    assert response.status_code == 422
    assert "Choisissez un délai de la liste." in text(response)


def test_the_officer_role_is_what_opens_the_queue(world):
    actor = principal(world, world.officer, PrincipalRole.PROFESSIONAL)
    assert not services.may_work_queue(actor)
    assert services.may_work_queue(officer(world))
