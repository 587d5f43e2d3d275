"""The record's synthesis: what needs attention on opening a record, computed only from
the sections the viewer may read, each read logged."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from carnet.meetings.models import Attendance
from carnet.plan.models import ActionStatus
from carnet.security.permissions import GroupRole
from tests.records.world import audit_rows, build_world, text
from tests.situation.world import HEALTH_LABEL, SITUATION_LABEL, situation_ids
from tests.workspace.people import Followed

WEDNESDAY = dt.datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def world(db_session):
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        yield build_world()


def _synthesis(body: str) -> str:
    return body.split('id="synthese"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def as_pro(make_client, login_as):
    """A logged-in client per professional, logged in once."""
    clients = {}

    def client_of(pro):
        if pro.id not in clients:
            clients[pro.id] = make_client()
            login_as(clients[pro.id], pro.account, pro.membership)
        return clients[pro.id]

    return client_of


def _open(client, person_id) -> str:
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        response = client.get(f"/personnes/{person_id}")
    assert response.status_code == 200
    return _synthesis(text(response))


def test_the_referent_sees_what_is_due_and_the_essentials(as_pro, world):
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        person = Followed(world, world.referent, world.departement_org, "Inès", "Morel")
        person.action(due_in_days=-3, status=ActionStatus.IN_PROGRESS)
        person.action(due_in_days=-3, status=ActionStatus.DONE)  # done: not late
        person.action(due_in_days=5, status=ActionStatus.PLANNED)  # not due yet
        person.appointment(days=-10, attendance=Attendance.PRESENT)
        person.appointment(days=2)
    body = _open(as_pro(world.referent), person.id)
    assert "1 action du plan a dépassé son échéance." in body
    assert "Romane Référente, Service insertion du Département" in body
    assert "vendredi 27 novembre 2026 à 12h00" in body
    assert "15 novembre 2026 (il y a 10 jours)" in body
    assert "Nouvelle orientation" not in body


def test_a_new_orientation_without_appointment_and_a_long_silence_are_flagged(as_pro, world):
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        new = Followed(world, world.referent, world.departement_org, "Léa", "Roux", days_ago=10)
        quiet = Followed(world, world.referent, world.departement_org, "Marc", "Blanc")
        quiet.appointment(days=-120, attendance=Attendance.PRESENT)
        never = Followed(world, world.referent, world.departement_org, "Paul", "Noir", days_ago=200)
    body = _open(as_pro(world.referent), new.id)
    assert "Nouvelle orientation : le premier rendez-vous n'est pas encore fixé." in body
    assert "Aucun contact enregistré" in body
    body = _open(as_pro(world.referent), quiet.id)
    assert "Aucun contact depuis 120 jours." in body
    body = _open(as_pro(world.referent), never.id)
    assert "Aucun contact enregistré depuis l'arrivée du référent, il y a 200 jours." in body
    assert "Nouvelle orientation" not in body
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        new.appointment(days=3)
    assert "Nouvelle orientation" not in _open(as_pro(world.referent), new.id)


def test_open_freins_are_listed_and_lifted_ones_are_not(as_pro, world):
    situation_ids(world)
    body = _open(as_pro(world.referent), world.person.id)
    assert "Freins ouverts" in body
    assert f"{SITUATION_LABEL} <span" in body
    assert "Identifié depuis le" in body
    # Health freins stay in the health compartment, whoever reads the synthesis.
    health = _open(as_pro(world.health_member), world.person.id)
    assert HEALTH_LABEL not in health


def test_figures_come_only_from_sections_the_viewer_may_read(as_pro, world):
    """The chargé d'orientation reads appointments but not notes: a note dates no contact
    for him, and no notes read is logged."""
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        person = Followed(world, world.referent, world.departement_org, "Yanis", "Faure")
        person.join(world.officer, GroupRole.ORIENTATION_OFFICER)
        person.note(days_ago=4, author=world.referent)
    referent_body = _open(as_pro(world.referent), person.id)
    assert "il y a 4 jours" in referent_body
    officer_body = _open(as_pro(world.officer), person.id)
    assert "Aucun contact enregistré" in officer_body
    rows = audit_rows(beneficiary_id=person.id, actor_account_id=world.officer.id)
    synthesis_reads = {r.section for r in rows if r.tag == "workspace:synthesis:read"}
    assert synthesis_reads == {
        "appointments:read",
        "contracts:read",
        "orientation:read",
        "plan:read",
        "situation:read",
    }
