"""The social accompaniments raised for the équipe pluridisciplinaire (DOMAIN.md §3.10):
6 calendar months of social accompaniment, 12 with housing or family freins, never
reading the health compartment; the officers' list, the home count, the synthesis line."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from freezegun import freeze_time

from carnet import clock, db
from carnet.errors import Denied
from carnet.orientation import review
from carnet.orientation.models import OrientationType, ReorientationRequest, RequestStatus
from carnet.records.models import JourneyExitReason
from carnet.referential.models import Aim, OarsaCategory, Theme
from carnet.security import crypto, scoping
from carnet.situation import health as health_services
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
    HealthBarrier,
)
from tests.factories import BeneficiaryFactory, JourneyFactory
from tests.orientation.seed import add_orientation, officer, principal, request_of
from tests.records.test_query_count import statements_of
from tests.records.world import audit_rows, build_world, text

START = dt.date(2026, 1, 20)  # Sofia's social orientation (tests/orientation/seed.py)
SIX = dt.date(2026, 7, 20)  # 6 calendar months later
TWELVE = dt.date(2027, 1, 20)  # 12 calendar months later
DAY = dt.timedelta(days=1)


@pytest.fixture
def world(db_session):
    return build_world()


def _at(day: dt.date):
    return freeze_time(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))


def _listed(world, day: dt.date) -> dict[str, review.TeamReview]:
    with _at(day):
        listing = review.list_team_reviews(actor=officer(world))
    assert listing.total == len(listing.people)
    return {p.display_name: p for p in listing.people}


def _theme(world, code: str, category: OarsaCategory) -> uuid.UUID:
    theme = Theme(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        code=code,
        label=code.replace("_", " ").capitalize(),
        aim=Aim.SOCIAL,
        oarsa_category=category,
        position=5,
    )
    db.session().add(theme)
    db.session().flush()
    return theme.id


def _author(world) -> dict[str, uuid.UUID]:
    return {
        "author_account_id": world.referent.id,
        "author_organisation_id": world.departement_org.id,
    }


def _barrier(world, theme_id: uuid.UUID, *, lifted: bool = False) -> Barrier:
    barrier = Barrier(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        theme_id=theme_id,
        label="Hébergée chez sa sœur",
        status=BarrierStatus.LIFTED if lifted else BarrierStatus.IDENTIFIED,
        identified_on=dt.date(2026, 1, 10),
        lifted_on=dt.date(2026, 3, 1) if lifted else None,
        declared_by=Declarant.PROFESSIONAL,
        **_author(world),
    )
    db.session().add(barrier)
    db.session().flush()
    return barrier


def _diagnostic(world, number: int, theme_ids: list[uuid.UUID]) -> Diagnostic:
    diagnostic = Diagnostic(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        number=number,
        recorded_at=clock.now() - dt.timedelta(days=100 - number),
        declared_by=Declarant.PROFESSIONAL,
        **_author(world),
    )
    db.session().add(diagnostic)
    db.session().flush()
    for position, theme_id in enumerate(theme_ids):
        db.session().add(
            DiagnosticSituation(
                departement_id=world.departement_id,
                beneficiary_id=world.person.id,
                diagnostic_id=diagnostic.id,
                theme_id=theme_id,
                label="Situation repérée",
                position=position,
            )
        )
    db.session().flush()
    return diagnostic


def _health_barrier(world) -> HealthBarrier:
    """A health frein written by the CSAPA, sealed like the compartment writes it."""
    session = db.session()
    row = HealthBarrier(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        status=BarrierStatus.IDENTIFIED,
        identified_on=dt.date(2026, 1, 10),
        declared_by=Declarant.PROFESSIONAL,
        author_account_id=world.health_member.id,
        author_organisation_id=world.csapa.id,
    )
    row.label_sealed = crypto.current().seal(
        session,
        beneficiary_id=world.person.id,
        departement_id=world.departement_id,
        table=health_services.HEALTH_BARRIER_TABLE,
        column=health_services.HEALTH_LABEL_COLUMN,
        row_id=row.id,
        plaintext="Douleurs qui empêchent un emploi debout",
    )
    session.add(row)
    session.flush()
    return row


def _person(world, family_name: str, starts_on: dt.date, **period):
    person = BeneficiaryFactory(
        departement_id=world.departement_id, given_name="Test", family_name=family_name
    )
    journey = JourneyFactory(beneficiary=person, opened_on=starts_on - dt.timedelta(days=30))
    add_orientation(
        world, beneficiary_id=person.id, journey_id=journey.id, starts_on=starts_on, **period
    )
    return person, journey


# -- the calendar ------------------------------------------------------------------------------


def test_months_are_calendar_months_even_at_the_end_of_a_month():
    assert review.months_between(dt.date(2025, 8, 31), dt.date(2026, 2, 27)) == 5
    assert review.months_between(dt.date(2025, 8, 31), dt.date(2026, 2, 28)) == 6
    assert review.months_between(START, SIX - DAY) == 5
    assert review.months_between(START, SIX) == 6
    assert review.months_between(START, TWELVE) == 12
    # 28, 29, 30 and 31 August have all lasted 6 months on 28 February.
    assert review.started_by(dt.date(2026, 2, 28), 6) == dt.date(2025, 8, 31)
    assert review.started_by(dt.date(2026, 2, 27), 6) == dt.date(2025, 8, 27)
    assert review.started_by(SIX, 6) == START


# -- the 6-month rule --------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "raised"), [(SIX - DAY, False), (SIX, True)])
def test_a_social_accompaniment_is_raised_the_day_it_has_lasted_six_months(world, day, raised):
    add_orientation(world)  # Sofia: social since 20 January 2026
    listed = _listed(world, day)
    assert ("Sofia Benali" in listed) is raised
    if raised:
        case = listed["Sofia Benali"]
        assert (case.since, case.months, case.threshold, case.reason) == (START, 6, 6, None)


def test_the_officers_see_the_oldest_first_and_the_count_of_all(world):
    add_orientation(world)
    _person(world, "Ancienne", dt.date(2025, 3, 1))
    _person(world, "Recente", dt.date(2026, 6, 1))  # 1 month on SIX: not yet
    _person(world, "Moyenne", dt.date(2025, 11, 15))
    with _at(SIX):
        listing = review.list_team_reviews(actor=officer(world))
        first_two = review.list_team_reviews(actor=officer(world), limit=2)
        counted = review.count_team_reviews(actor=officer(world))
    assert [p.display_name for p in listing.people] == [
        "Test Ancienne",
        "Test Moyenne",
        "Sofia Benali",
    ]
    assert listing.people[0].months == 16
    assert [p.display_name for p in first_two.people] == ["Test Ancienne", "Test Moyenne"]
    assert (first_two.total, first_two.is_partial) == (3, True)
    assert counted == 3


# -- the vulnerabilities: 12 months ------------------------------------------------------------


@pytest.mark.parametrize("where", ["open_frein", "latest_diagnostic"])
@pytest.mark.parametrize(
    ("code", "category"),
    [("logement", OarsaCategory.LOGEMENT), ("contraintes_familiales", OarsaCategory.FAMILLE)],
)
def test_housing_or_family_freins_lengthen_the_delay_to_twelve_months(world, where, code, category):
    add_orientation(world)
    theme_id = world.theme_id if code == "logement" else _theme(world, code, category)
    if where == "open_frein":
        _barrier(world, theme_id)
    else:
        _diagnostic(world, 1, [theme_id])
    assert "Sofia Benali" not in _listed(world, SIX)
    assert "Sofia Benali" not in _listed(world, TWELVE - DAY)
    case = _listed(world, TWELVE)["Sofia Benali"]
    assert (case.months, case.threshold) == (12, 12)
    assert case.reason == "freins logement ou famille repérés au diagnostic"


def test_other_themes_keep_six_months(world):
    add_orientation(world)
    mobility = _theme(world, "mobilite", OarsaCategory.MOBILITE)
    _barrier(world, mobility)
    _diagnostic(world, 1, [mobility])
    assert _listed(world, SIX)["Sofia Benali"].threshold == 6


def test_a_lifted_frein_does_not_count(world):
    add_orientation(world)
    _barrier(world, world.theme_id, lifted=True)
    assert _listed(world, SIX)["Sofia Benali"].threshold == 6


def test_only_the_latest_diagnostic_version_counts(world):
    add_orientation(world)
    family = _theme(world, "contraintes_familiales", OarsaCategory.FAMILLE)
    _diagnostic(world, 1, [world.theme_id, family])
    _diagnostic(world, 2, [])  # housed and childcare found since
    assert _listed(world, SIX)["Sofia Benali"].threshold == 6
    _diagnostic(world, 3, [family])
    assert "Sofia Benali" not in _listed(world, SIX)


# -- the health compartment is never read ------------------------------------------------------


def test_a_health_frein_alone_keeps_six_months_and_no_health_data_is_read(world, engine):
    add_orientation(world)
    _health_barrier(world)
    health_theme = _theme(world, "sante", OarsaCategory.SANTE)
    _diagnostic(world, 1, [health_theme])
    with _at(SIX), statements_of(engine) as seen:
        listing = review.list_team_reviews(actor=officer(world))
    assert [(p.display_name, p.threshold) for p in listing.people] == [("Sofia Benali", 6)]
    sql = "\n".join(seen).lower()
    for table in ("health_barriers", "rqth_records", "health_notes", "consents"):
        assert table not in sql
    rows = audit_rows(actor_account_id=world.officer.id)
    assert [r.tag for r in rows] == ["orientation:team_review:listed"]
    assert not any(str(r.section).startswith("health") for r in rows)


# -- who is not raised ---------------------------------------------------------------------------


def test_a_pending_request_removes_the_person_until_it_is_answered(world):
    request_id = request_of(world)  # Sofia's social orientation, a request on its way
    assert "Sofia Benali" not in _listed(world, SIX)
    with scoping.unscoped():
        request = db.session().get(ReorientationRequest, request_id)
        request.status = RequestStatus.KEPT
        request.decision_reason = "L'accompagnement social se poursuit"
        request.decided_at = clock.now()
        db.session().flush()
    assert "Sofia Benali" in _listed(world, SIX)


@pytest.mark.parametrize("kind", [OrientationType.PROFESSIONAL, OrientationType.SOCIO_PROFESSIONAL])
def test_other_orientation_types_are_not_raised(world, kind):
    add_orientation(world, type=kind, organisation_id=world.france_travail.id)
    assert _listed(world, TWELVE) == {}


def test_a_closed_journey_or_a_closed_period_is_not_raised(world):
    _person(world, "Close", dt.date(2025, 1, 10))
    _, ended = _person(world, "Partie", dt.date(2025, 1, 10), ends_on=dt.date(2025, 9, 1))
    ended.closed_on = dt.date(2025, 9, 1)
    ended.exit_reason = JourneyExitReason.MOVED
    _, leaving = _person(world, "Sortie", dt.date(2025, 1, 10))
    leaving.closed_on = dt.date(2026, 5, 1)  # the journey ended, even if the period did not
    leaving.exit_reason = JourneyExitReason.OTHER
    db.session().flush()
    assert list(_listed(world, SIX)) == ["Test Close"]


def test_the_delay_runs_from_the_first_of_consecutive_social_periods(world):
    # Social with the CCAS, then social with the Département: one accompaniment.
    add_orientation(world, starts_on=dt.date(2025, 6, 1), ends_on=START)
    add_orientation(world, starts_on=START)
    case = _listed(world, dt.date(2026, 2, 1))["Sofia Benali"]
    assert (case.since, case.months) == (dt.date(2025, 6, 1), 8)


def test_a_period_towards_employment_restarts_the_delay(world):
    add_orientation(world, starts_on=dt.date(2025, 1, 5), ends_on=dt.date(2025, 6, 1))
    add_orientation(
        world,
        type=OrientationType.PROFESSIONAL,
        organisation_id=world.france_travail.id,
        starts_on=dt.date(2025, 6, 1),
        ends_on=START,
    )
    add_orientation(world, starts_on=START)
    assert "Sofia Benali" not in _listed(world, SIX - DAY)
    assert _listed(world, SIX)["Sofia Benali"].since == START


# -- the pages -------------------------------------------------------------------------------------


def test_the_officer_reads_the_list_in_french_and_the_count_at_home(client, world, login_as):
    add_orientation(world)
    logee, _ = _person(world, "Logee", dt.date(2025, 5, 2))
    db.session().add(
        Barrier(
            id=uuid.uuid4(),
            departement_id=world.departement_id,
            beneficiary_id=logee.id,
            theme_id=world.theme_id,
            label="Sans logement",
            status=BarrierStatus.IN_PROGRESS,
            identified_on=dt.date(2025, 5, 2),
            in_progress_on=dt.date(2025, 6, 2),
            declared_by=Declarant.PROFESSIONAL,
            **_author(world),
        )
    )
    db.session().flush()
    with _at(SIX):
        login_as(client, world.officer.account, world.officer.membership)
        response = client.get("/orientation/demandes")
        home = text(client.get("/"))
    assert response.status_code == 200
    body = text(response)
    section = body.split("Accompagnements sociaux à examiner en équipe pluridisciplinaire", 1)[1]
    assert "2 accompagnements à examiner, les plus anciens d'abord." in section
    first, second = section.split("</li>")[:2]
    assert "Test Logee" in first
    assert "Accompagnement social depuis le 02/05/2025" in first
    assert "14 mois écoulés" in first
    assert "délai applicable : 12 mois (freins logement ou famille repérés au diagnostic)" in first
    assert "Sofia Benali" in second
    assert "Accompagnement social depuis le 20/01/2026 · 6 mois écoulés" in second
    assert "délai applicable : 6 mois" in second
    assert "freins logement" not in second
    listed = [
        r.tag
        for r in audit_rows(actor_account_id=world.officer.id)
        if r.tag == "orientation:team_review:listed"
    ]
    assert len(listed) == 1  # the page, once; the home count names no one
    assert "2 accompagnements sociaux à examiner en équipe pluridisciplinaire" in home


def test_the_list_is_reserved_to_the_orientation_officers(client, world, login_as):
    add_orientation(world)
    with pytest.raises(Denied):
        review.list_team_reviews(actor=principal(world, world.referent))
    assert review.count_team_reviews(actor=principal(world, world.referent)) is None
    with _at(SIX):
        login_as(client, world.referent.account, world.referent.membership)
        refused = client.get("/orientation/demandes")
    assert refused.status_code == 403
    assert "Sofia Benali" not in text(refused)


def _synthesis(make_client, login_as, pro, world, day: dt.date) -> str:
    """The record's synthesis as `pro` reads it on `day` (logged in that day)."""
    client = make_client()
    with _at(day):
        login_as(client, pro.account, pro.membership)
        response = client.get(f"/personnes/{world.person.id}")
    assert response.status_code == 200
    return text(response).split('id="synthese"', 1)[1].split("</section>", 1)[0]


LINE = (
    "Accompagnement social depuis 6 mois : la situation doit être examinée en équipe "
    "pluridisciplinaire."
)


def test_the_synthesis_tells_the_referent_the_day_it_is_due(make_client, world, login_as):
    add_orientation(world)

    def seen_by(pro, day):
        return _synthesis(make_client, login_as, pro, world, day)

    assert "équipe pluridisciplinaire" not in seen_by(world.referent, SIX - DAY)
    assert LINE in seen_by(world.referent, SIX)
    # The health partner may not read the orientation: no line.
    assert "équipe pluridisciplinaire" not in seen_by(world.health_member, SIX)


def test_the_synthesis_applies_twelve_months_without_showing_the_freins(
    make_client, world, login_as
):
    add_orientation(world)
    _barrier(world, world.theme_id)

    def seen_by(pro, day):
        return _synthesis(make_client, login_as, pro, world, day)

    assert "équipe pluridisciplinaire" not in seen_by(world.ml_member, SIX)
    assert (
        "Accompagnement social depuis 12 mois : la situation doit être examinée en équipe "
        "pluridisciplinaire." in seen_by(world.ml_member, TWELVE)
    )
