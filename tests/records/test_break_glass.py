"""« Bris de glace »: joining a group with a written reason, told to all and logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carnet import db
from carnet.notifications.models import Notification
from carnet.records.models import GroupMembership, TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import AuditAction, Outcome, Purpose
from tests.records.world import audit_rows, build_world, count, send, snapshot, text, token


@pytest.fixture
def world(db_session):
    return build_world()


def _join_url(world, person=None):
    return f"/personnes/{(person or world.person).id}/rejoindre"


REASON = "Rendez-vous d'accueil demandé par la personne à l'agence"


def test_too_short_reason_is_refused_and_nothing_is_written(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    form = client.get(_join_url(world))
    assert form.status_code == 200
    assert "Motif de votre accès" in text(form)
    csrf = token(client)
    before = snapshot()
    response = send(client, _join_url(world), {"reason": "trop court"}, csrf=csrf)
    assert response.status_code == 422
    assert "Le motif de votre accès doit compter entre 15 et 500 caractères." in text(response)
    assert snapshot() == before
    assert audit_rows(purpose=Purpose.BREAK_GLASS) == []


def test_break_glass_with_a_reason_joins_the_group(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    refused = client.get(f"/personnes/{world.person.id}")
    assert refused.status_code == 403
    csrf = token(client)
    response = send(client, _join_url(world), {"reason": REASON}, csrf=csrf)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/personnes/{world.person.id}"

    with scoping.unscoped():
        membership = db.session().scalar(
            select(GroupMembership).where(GroupMembership.account_id == world.outsider.id)
        )
        kinds = {n.recipient_account_id: n.kind for n in db.session().scalars(select(Notification))}
    assert membership.is_break_glass
    assert membership.start_reason == REASON
    assert membership.organisation_id == world.france_travail.id
    rows = audit_rows(purpose=Purpose.BREAK_GLASS)
    assert [(r.section, r.action, r.outcome, r.actor_account_id, r.object_id) for r in rows] == [
        (
            "record:break_glass",
            AuditAction.CREATE,
            Outcome.ALLOWED,
            world.outsider.id,
            membership.id,
        )
    ]
    assert kinds == {
        world.referent.id: "records:group:break_glass",
        world.person_account.id: "records:group:break_glass",
    }
    assert count(TimelineEvent, kind="records:group:break_glass") == 1

    page = client.get(f"/personnes/{world.person.id}")
    assert page.status_code == 200
    assert "Bris de glace" in text(page) or "bris de glace" in text(page)


def test_the_person_sees_the_break_glass_in_the_access_log(make_client, world, login_as):
    outsider = make_client()
    login_as(outsider, world.outsider.account, world.outsider.membership)
    assert send(outsider, _join_url(world), {"reason": REASON}).status_code == 302

    person = make_client()
    login_as(person, world.person_account)
    body = text(person.get("/mon-carnet/acces"))
    assert "Accès exceptionnel : entrée dans votre groupe de suivi" in body
    assert "Accès exceptionnel (bris de glace)" in body
    assert "France Travail Limoges Nord" in body
    assert "Olivier" not in body  # organisations, never staff names

    referent = make_client()
    login_as(referent, world.referent.account, world.referent.membership)
    home = text(referent.get("/"))
    assert "Accès exceptionnel (bris de glace)" in home
    assert "France Travail Limoges Nord" in home


def test_a_member_is_told_he_is_already_in(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    page = client.get(_join_url(world))
    assert page.status_code == 200
    assert "Vous faites déjà partie du groupe de suivi" in text(page)
    before = snapshot()
    response = send(client, _join_url(world), {"reason": REASON})
    assert response.status_code == 409
    assert snapshot() == before


def test_another_departement_cannot_break_glass(client, world, login_as):
    login_as(client, world.foreign.account, world.foreign.membership)
    assert client.get(_join_url(world)).status_code == 404
    before = snapshot()
    response = send(client, _join_url(world), {"reason": REASON})
    assert response.status_code == 404
    assert "Sofia" not in text(response)
    assert snapshot() == before
    assert audit_rows(purpose=Purpose.BREAK_GLASS) == []


def test_a_beneficiary_cannot_tell_whether_another_record_exists(client, world, login_as):
    login_as(client, world.other_person_account)
    existing = client.get(_join_url(world))
    missing = client.get("/personnes/00000000-0000-4000-8000-000000000000/rejoindre")
    assert existing.status_code == missing.status_code == 404
    assert text(existing).split("<main", 1)[1] == text(missing).split("<main", 1)[1]


def test_a_structure_admin_cannot_break_glass(client, world, login_as):
    login_as(client, world.structure_admin.account, world.structure_admin.membership)
    before = snapshot()
    response = send(client, _join_url(world), {"reason": REASON})
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"reason": ""},
        {"reason": " " * 40},
        {"reason": "x" * 501},
        {"reason": REASON, "role": "referent"},
        {"reason": REASON, "is_break_glass": "0"},
    ],
)
def test_malformed_join_forms_write_nothing(client, world, login_as, data):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    before = snapshot()
    response = send(client, _join_url(world), data, csrf=csrf)
    assert response.status_code == 422
    assert snapshot() == before
    assert audit_rows(purpose=Purpose.BREAK_GLASS) == []
