"""« Mes accompagnements »: the people I follow, what needs me now, filters, sort and pages;
the structure's caseload for its admin, in counts only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from carnet import clock
from carnet.errors import Denied, InvalidInput
from carnet.meetings.models import Attendance, NoteVisibility
from carnet.plan.models import ActionStatus
from carnet.records.services import NOBODY
from carnet.security import policy, scoping
from carnet.security.permissions import (
    GroupRole,
    Level,
    MembershipRole,
    OrganisationKind,
    Outcome,
    PrincipalRole,
    Section,
)
from carnet.security.policy import RecordFacts
from carnet.security.principal import Principal
from carnet.workspace import services
from carnet.workspace.schemas import PortfolioFilters, Sort, Status
from tests.factories import MembershipFactory, TerritoryFactory
from tests.records.world import Pro, audit_rows, build_world, text
from tests.workspace.people import Followed, principal

PORTFOLIO = "/accompagnements"
ROW = re.compile(r'<li>\s*<a href="/personnes/')
# A Wednesday, noon in France: « cette semaine » runs to Sunday night.
WEDNESDAY = dt.datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def frozen():
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)) as frozen:
        yield frozen


@pytest.fixture
def world(db_session, frozen):
    return build_world()


def _followed(world, *args, **kwargs) -> Followed:
    return Followed(world, world.referent, world.departement_org, *args, **kwargs)


def _portfolio(world, pro=None, organisation=None, **filters):
    actor = principal(pro or world.referent, organisation or world.departement_org)
    with scoping.scoped_to(world.departement_id):
        return services.get_portfolio(actor=actor, filters=PortfolioFilters(**filters))


def _by_name(portfolio):
    return {person.display_name: person for person in portfolio.people}


# -- each alert ---------------------------------------------------------------------------------


def test_next_appointment_is_flagged_within_this_calendar_week(world):
    friday = _followed(world, "Alice", "Vendredi")
    friday.appointment(days=2)  # Friday
    friday.appointment(days=9)
    tuesday = _followed(world, "Bruno", "Mardi")
    tuesday.appointment(days=6)  # next Tuesday: not this week
    tuesday.appointment(days=1, cancelled=True)  # cancelled: not the next one
    none = _followed(world, "Chloé", "Aucun")
    none.appointment(days=-3, attendance=Attendance.PRESENT)

    people = _by_name(_portfolio(world))
    assert people["Alice Vendredi"].next_appointment_at == clock.now() + dt.timedelta(days=2)
    assert people["Alice Vendredi"].appointment_this_week
    assert people["Bruno Mardi"].next_appointment_at == clock.now() + dt.timedelta(days=6)
    assert not people["Bruno Mardi"].appointment_this_week
    assert people["Chloé Aucun"].next_appointment_at is None
    assert not people["Chloé Aucun"].appointment_this_week


def test_overdue_actions_are_the_open_ones_past_their_due_date(world):
    late = _followed(world, "David", "Retard")
    for status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.ON_HOLD):
        late.action(due_in_days=-1, status=status)
    for status in (ActionStatus.DONE, ActionStatus.ABANDONED, ActionStatus.CANCELLED):
        late.action(due_in_days=-10, status=status)
    late.action(due_in_days=0, status=ActionStatus.PLANNED)  # due today: not late yet
    late.action(due_in_days=None, status=ActionStatus.PLANNED)
    on_time = _followed(world, "Emma", "Alheure")
    on_time.action(due_in_days=5, status=ActionStatus.PLANNED)

    people = _by_name(_portfolio(world))
    assert people["David Retard"].overdue_actions == 3
    assert people["Emma Alheure"].overdue_actions == 0
    assert people["Sofia Benali"].overdue_actions == 0  # an action without a due date


def test_new_orientation_without_a_first_appointment(world):
    _followed(world, "Farid", "Attente", days_ago=10)
    cancelled = _followed(world, "Gaëlle", "Annule", days_ago=10)
    cancelled.appointment(days=3, cancelled=True)
    booked = _followed(world, "Hugo", "Prevu", days_ago=10)
    booked.appointment(days=20)  # scheduled since: the first appointment is planned
    held = _followed(world, "Inès", "Vue", days_ago=10)
    held.appointment(days=-4, attendance=Attendance.ABSENT)  # held (missed) since
    before = _followed(world, "Jules", "Avant", days_ago=10)
    before.appointment(days=-30, attendance=Attendance.PRESENT, created_days_ago=40)
    old = _followed(world, "Kenza", "Ancienne", days_ago=61)
    member = _followed(world, "Léo", "Membre", days_ago=10, role=GroupRole.MEMBER)

    people = _by_name(_portfolio(world))
    assert people["Farid Attente"].awaiting_first_appointment
    assert people["Gaëlle Annule"].awaiting_first_appointment
    assert people["Jules Avant"].awaiting_first_appointment  # met before I was référent
    assert not people["Hugo Prevu"].awaiting_first_appointment
    assert not people["Inès Vue"].awaiting_first_appointment
    assert not people["Kenza Ancienne"].awaiting_first_appointment  # référent for 61 days
    assert not people["Léo Membre"].awaiting_first_appointment  # only the référent's alert
    assert old.id
    assert member.id


def test_days_since_last_contact(world):
    seen = _followed(world, "Marc", "Contact")
    seen.appointment(days=-20, attendance=Attendance.PRESENT)
    seen.appointment(days=-2, attendance=Attendance.ABSENT)  # not a contact
    seen.appointment(days=-1, attendance=Attendance.PRESENT, cancelled=False, pro=world.colleague)
    noted = _followed(world, "Nina", "Note")
    noted.join(world.ml_member)
    noted.appointment(days=-20, attendance=Attendance.PRESENT)
    noted.note(days_ago=3, author=world.ml_member)  # a group member's note
    noted.note(days_ago=1, author=world.ml_member, visibility=NoteVisibility.PRIVATE)
    noted.note(days_ago=0.5, author=world.outsider)  # not in the group: not a contact
    mine = _followed(world, "Olga", "Privee")
    mine.note(days_ago=4, author=world.referent, visibility=NoteVisibility.PRIVATE)
    never = _followed(world, "Paul", "Jamais")
    never.appointment(days=1)  # not held yet

    people = _by_name(_portfolio(world))
    assert people["Marc Contact"].days_since_contact == 1
    assert people["Nina Note"].days_since_contact == 3
    assert people["Nina Note"].last_contact_at == clock.now() - dt.timedelta(days=3)
    assert people["Olga Privee"].days_since_contact == 4  # my own private note counts
    assert people["Paul Jamais"].days_since_contact is None
    assert people["Paul Jamais"].last_contact_at is None


def test_people_without_news_for_three_months_are_flagged(world):
    _followed(world, "Jamais", "Vu", days_ago=120)
    _followed(world, "Vu", "Récemment", days_ago=120).appointment(
        days=-10, attendance=Attendance.PRESENT
    )
    _followed(world, "Vu", "Longtemps", days_ago=300).appointment(
        days=-100, attendance=Attendance.PRESENT
    )
    _followed(world, "Tout", "Nouveau", days_ago=20)
    portfolio = _portfolio(world)
    quiet = {name for name, person in _by_name(portfolio).items() if person.is_quiet}
    assert quiet >= {"Jamais Vu", "Vu Longtemps"}
    assert not quiet & {"Vu Récemment", "Tout Nouveau"}
    assert portfolio.summary.quiet == len(quiet)
    assert all(_by_name(portfolio)[name].alerts >= 1 for name in quiet)


def test_role_in_the_group_and_only_my_memberships(world):
    _followed(world, "Quentin", "Membre", role=GroupRole.MEMBER)
    ended = _followed(world, "Rose", "Partie")
    ended.membership.ended_at = clock.now()
    ended.membership.end_reason = "Fin de l'accompagnement"
    closed = _followed(world, "Sam", "Clos")
    closed.journey.closed_on = clock.today()
    closed.journey.exit_reason = "emploi"
    Followed(world, world.colleague, world.departement_org, "Théo", "Collegue")
    portfolio = _portfolio(world)
    people = _by_name(portfolio)
    assert people["Quentin Membre"].role is GroupRole.MEMBER
    assert people["Sofia Benali"].role is GroupRole.REFERENT
    assert set(people) == {"Quentin Membre", "Sofia Benali"}
    assert portfolio.summary.people == 2


def test_the_summary_band_counts_each_alert(world):
    a = _followed(world, "Ana", "Semaine")
    a.appointment(days=1)
    b = _followed(world, "Ben", "Semaine", days_ago=5)
    b.appointment(days=2)
    b.action(due_in_days=-2, status=ActionStatus.PLANNED)
    b.action(due_in_days=-3, status=ActionStatus.PLANNED)
    c = _followed(world, "Cléa", "Attente", days_ago=5)
    c.action(due_in_days=-1, status=ActionStatus.IN_PROGRESS)
    summary = _portfolio(world).summary
    assert summary.people == 4  # with Sofia
    assert summary.appointments_this_week == 2
    assert summary.with_overdue_actions == 2
    assert summary.overdue_actions == 3
    assert summary.awaiting_first_appointment == 1
    assert summary.to_handle == 3
    assert summary.new == 3  # Ben, Cléa and Sofia (référente since today)


# -- filters, sort, pages --------------------------------------------------------------------


def test_filters_by_role_status_and_territory(world):
    north = TerritoryFactory(departement_id=world.departement_id, name="Nord")
    south = TerritoryFactory(departement_id=world.departement_id, name="Sud")
    world.departement_org.territory_id = north.id
    _followed(world, "Alerte", "Un", days_ago=5)
    member = Followed(
        world, world.referent, world.departement_org, "Membre", "Deux", role=GroupRole.MEMBER
    )
    member.join(world.ml_member, GroupRole.REFERENT)  # the référent's structure is elsewhere
    world.mission_locale.territory_id = south.id
    old = _followed(world, "Ancien", "Trois", days_ago=200)

    def names(**filters):
        return set(_by_name(_portfolio(world, **filters)))

    assert names() == {"Alerte Un", "Membre Deux", "Ancien Trois", "Sofia Benali"}
    assert names(role=GroupRole.MEMBER) == {"Membre Deux"}
    assert names(role=GroupRole.ORIENTATION_OFFICER) == set()
    # Nobody has seen « Ancien » since the membership began, 200 days ago: sans nouvelles.
    assert names(status=Status.TO_HANDLE) == {"Alerte Un", "Ancien Trois"}
    assert names(status=Status.NEW) == {"Alerte Un", "Sofia Benali"}
    assert names(territory_id=south.id) == {"Membre Deux"}
    assert names(territory_id=north.id) == {"Alerte Un", "Ancien Trois", "Sofia Benali"}
    portfolio = _portfolio(world, territory_id=south.id)
    assert portfolio.matched == 1
    assert portfolio.summary.people == 4  # the band counts everyone followed
    assert [t.name for t in portfolio.territories] == ["Nord", "Sud"]
    assert old.id
    other = TerritoryFactory(departement_id=world.other_departement_id, name="Ailleurs")
    with pytest.raises(InvalidInput):
        _portfolio(world, territory_id=other.id)


def test_sorts(world):
    soon = _followed(world, "Zoé", "Bientot")
    soon.appointment(days=1)
    soon.appointment(days=-40, attendance=Attendance.PRESENT)
    later = _followed(world, "Yves", "Plustard")
    later.appointment(days=30)
    later.appointment(days=-5, attendance=Attendance.PRESENT)
    late = _followed(world, "Xavier", "Enretard")
    late.action(due_in_days=-1, status=ActionStatus.PLANNED)
    late.appointment(days=-10, attendance=Attendance.PRESENT)

    def order(sort):
        return [p.display_name for p in _portfolio(world, sort=sort).people]

    assert order(Sort.NAME) == ["Sofia Benali", "Zoé Bientot", "Xavier Enretard", "Yves Plustard"]
    # Never contacted first, then the longest without contact.
    assert order(Sort.LAST_CONTACT) == [
        "Sofia Benali",
        "Zoé Bientot",
        "Xavier Enretard",
        "Yves Plustard",
    ]
    assert order(Sort.NEXT_APPOINTMENT) == [
        "Zoé Bientot",
        "Yves Plustard",
        "Sofia Benali",
        "Xavier Enretard",
    ]
    # Alerts first (the overdue action before the appointment of this week), then the
    # others by next appointment.
    assert order(Sort.ALERTS) == [
        "Xavier Enretard",
        "Zoé Bientot",
        "Yves Plustard",
        "Sofia Benali",
    ]


def test_pages_of_twenty_five(client, world, login_as):
    for number in range(30):
        _followed(world, f"Personne{number:02d}", "Suivie")
    login_as(client, world.referent.account, world.referent.membership)
    first = text(client.get(PORTFOLIO, query_string={"tri": "nom"}))
    assert "31 personnes" in first
    assert len(ROW.findall(first)) == 25
    assert "Page 1 sur 2" in first
    assert 'href="/accompagnements?page=2&statut=tous&tri=nom"' in first
    second = text(client.get(PORTFOLIO, query_string={"tri": "nom", "page": 2}))
    assert len(ROW.findall(second)) == 6
    assert "Page 2 sur 2" in second
    assert "Sofia Benali" in first  # by family name: « Benali » before « Suivie »
    assert "Personne29 Suivie" in second
    beyond = text(client.get(PORTFOLIO, query_string={"tri": "nom", "page": 9}))
    assert "Page 2 sur 2" in beyond


# -- the page ---------------------------------------------------------------------------------


def test_the_page_shows_the_band_the_alerts_and_audits_once(client, world, login_as):
    late = _followed(world, "Chloé", "Retard")
    late.action(due_in_days=-1, status=ActionStatus.PLANNED)
    late.action(due_in_days=-2, status=ActionStatus.PLANNED)
    late.appointment(days=2)
    _followed(world, "David", "Nouveau", days_ago=3)
    login_as(client, world.referent.account, world.referent.membership)
    before = len(audit_rows(actor_account_id=world.referent.id))
    response = client.get(PORTFOLIO)
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Mes accompagnements</h1>" in body
    assert "2 personnes à traiter" in body
    assert "sur 3 personnes suivies" in body
    assert "1 rendez-vous cette semaine" in body
    assert "2 actions en retard" in body
    assert "1 nouvelle orientation sans premier rendez-vous" in body
    row = body.split("Chloé Retard", 1)[1].split("</li>", 1)[0]
    assert "Rendez-vous cette semaine" in row
    assert "2 actions en retard" in row
    assert "Prochain rendez-vous : vendredi 27 novembre à 12h00" in row
    assert "aucun contact enregistré" in row
    assert "Nouvelle orientation sans premier rendez-vous" in body.split("David Nouveau", 1)[1]
    rows = audit_rows(actor_account_id=world.referent.id)[before:]
    assert [(r.section, r.tag, r.beneficiary_id, r.outcome) for r in rows] == [
        ("identity:read", "records:portfolio:listed", None, Outcome.ALLOWED)
    ]
    assert response.headers["Cache-Control"] == "no-store"


def test_filters_come_from_the_address_and_bad_ones_are_french_errors(client, world, login_as):
    _followed(world, "Marie", "Membre", role=GroupRole.MEMBER)
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(PORTFOLIO, query_string={"role": "member", "statut": "tous"}))
    assert "Marie Membre" in body
    assert "Sofia Benali" not in body.split('id="personnes"', 1)[1]
    for bad in ({"tri": "age"}, {"statut": "x"}, {"territoire": "nope"}, {"sort": "nom"}):
        response = client.get(PORTFOLIO, query_string=bad)
        assert response.status_code == 422, bad
        assert "Le formulaire contient des erreurs" in text(response)
        assert "Sofia Benali" in text(response)  # the list, unfiltered
    unknown = client.get(PORTFOLIO, query_string={"territoire": str(world.departement_id)})
    assert unknown.status_code == 422
    assert "Ce territoire n'existe pas dans votre département." in text(unknown)


def test_home_shows_the_band_and_leads_to_the_portfolio(client, world, login_as):
    late = _followed(world, "Chloé", "Retard")
    late.action(due_in_days=-1, status=ActionStatus.PLANNED)
    for number in range(12):
        _followed(world, f"Calme{number:02d}", "Suivi")
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get("/"))
    section = body.split('id="accompagnements"', 1)[1].split("</section>", 1)[0]
    assert "1 personne à traiter" in section
    assert 'href="/accompagnements"' in section
    assert "Voir tous mes accompagnements (14 personnes)" in section
    assert len(ROW.findall(section)) == services.HOME_SIZE
    assert section.index("Chloé Retard") < section.index("Calme")  # alerts first


def test_people_without_a_structure_have_no_portfolio(client, world, login_as):
    login_as(client, world.other_person_account)
    assert client.get(PORTFOLIO).status_code == 403
    with pytest.raises(Denied):
        services.get_portfolio(
            actor=Principal(role=PrincipalRole.PLATFORM_ADMIN, auth_method="demo")
        )


# -- the structure's caseload ------------------------------------------------------------------


def test_the_structure_admin_sees_counts_per_professional_and_no_name(client, world, login_as):
    late = _followed(world, "Chloé", "Retard")
    late.action(due_in_days=-1, status=ActionStatus.PLANNED)
    _followed(world, "David", "Nouveau", days_ago=3)
    mate = Followed(world, world.colleague, world.departement_org, "Élise", "Collegue")
    mate.appointment(days=1)
    # Another structure's professional: not in this caseload.
    Followed(world, world.ml_member, world.mission_locale, "Hors", "Structure")
    login_as(client, world.structure_admin.account, world.structure_admin.membership)
    before = len(audit_rows(actor_account_id=world.structure_admin.id))
    response = client.get(PORTFOLIO)
    body = text(response)
    assert response.status_code == 200
    assert "Accompagnements de la structure" in body
    romane = body.split("Romane Référente", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>(\d+)</td>", romane) == ["3", "2", "0", "1", "1"]
    colette = body.split("Colette Collègue", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>(\d+)</td>", colette) == ["1", "1", "1", "0", "0"]
    assert "Odile Orientation" in body  # accompanies nobody yet: shown with zeros
    total = body.split("Total", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>(\d+)</td>", total) == ["4", "3", "1", "1", "1"]
    for name in ("Sofia", "Benali", "Chloé", "Élise", "Hors", "Malik"):
        assert name not in body, name
    rows = audit_rows(actor_account_id=world.structure_admin.id)[before:]
    assert [(r.section, r.tag, r.beneficiary_id) for r in rows] == [
        ("group:read", "workspace:caseload:listed", None)
    ]


def test_the_policy_gives_the_structure_admin_no_identity(world):
    """What the caseload follows: if this ever changed, the page would still name nobody."""
    admin = principal(world.structure_admin, world.departement_org)
    assert admin.role is PrincipalRole.STRUCTURE_ADMIN
    facts = RecordFacts(NOBODY, world.departement_id)
    assert not policy.can(admin, facts, Section.IDENTITY, Level.READ)


def test_only_a_structure_admin_gets_the_caseload(world):
    with scoping.scoped_to(world.departement_id), pytest.raises(Denied):
        services.get_caseload(actor=principal(world.referent, world.departement_org))


def test_a_professional_of_two_structures_sees_the_portfolio_of_the_one_he_acts_for(
    client, world, login_as
):
    second = MembershipFactory(
        account_id=world.referent.id,
        organisation=world.mission_locale,
        role=MembershipRole.PROFESSIONAL,
    )
    Followed(
        world,
        Pro(world.referent.account, second),
        world.mission_locale,
        "Mission",
        "Locale",
    )
    people = _by_name(_portfolio(world))
    assert "Mission Locale" not in people
    there = _by_name(_portfolio(world, Pro(world.referent.account, second), world.mission_locale))
    assert set(there) == {"Mission Locale"}


def test_each_column_follows_what_the_policy_lets_the_role_read(world):
    """A département that tightens the matrix: a role that may not read identity lists
    nobody, and an alert whose section a role may not read is not computed."""
    member = _followed(world, "Marie", "Membre", role=GroupRole.MEMBER)
    member.appointment(days=1)
    mine = _followed(world, "Rita", "Referente")
    mine.appointment(days=1)
    mine.action(due_in_days=-1, status=ActionStatus.PLANNED)
    kind = OrganisationKind.DEPARTEMENT
    actor = dataclasses.replace(
        principal(world.referent, world.departement_org),
        overrides={
            (kind, "member", Section.IDENTITY): Level.NONE,
            (kind, "referent", Section.APPOINTMENTS): Level.NONE,
            (kind, "referent", Section.PLAN): Level.NONE,
        },
    )
    with scoping.scoped_to(world.departement_id):
        portfolio = services.get_portfolio(actor=actor)
    people = _by_name(portfolio)
    assert set(people) == {"Rita Referente", "Sofia Benali"}
    assert people["Rita Referente"].next_appointment_at is None
    assert not people["Rita Referente"].appointment_this_week
    assert people["Rita Referente"].overdue_actions is None
    assert portfolio.summary.people == 2
    assert portfolio.summary.overdue_actions == 0
    nobody = dataclasses.replace(
        actor,
        overrides={(kind, role.value, Section.IDENTITY): Level.NONE for role in GroupRole},
    )
    with scoping.scoped_to(world.departement_id):
        empty = services.get_portfolio(actor=nobody)
    assert empty.people == []
    assert empty.summary.people == 0
