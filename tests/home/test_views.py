"""`/`: one home per role, each listing only what that role may see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.notifications import services as notifications
from carnet.notifications.models import Notification
from carnet.security import scoping
from carnet.security.permissions import OrganisationKind, Outcome
from carnet.tenancy.models import AccreditationStatus
from tests.factories import OrganisationFactory
from tests.records.world import audit_rows, build_world, send, text, token


@pytest.fixture
def world(db_session):
    return build_world()


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_professional_home_lists_my_accompaniments_and_audits_the_listing(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get("/")
    body = text(response)
    assert response.status_code == 200
    followed = body.split("Mes accompagnements", 1)[1].split("</section>", 1)[0]
    assert "Sofia Benali" in followed
    assert "Référent unique" in followed
    assert f"depuis le {clock.today().day}" in followed
    assert "Yanis" not in body  # in the département, but not in my groups
    rows = audit_rows(actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.beneficiary_id, r.outcome) for r in rows] == [
        ("identity:read", "records:portfolio:listed", None, Outcome.ALLOWED)
    ]
    assert response.headers["Cache-Control"] == "no-store"


def test_professional_sees_and_clears_unread_notifications(client, world, login_as):
    notifications.notify(
        recipient_account_id=world.referent.id,
        departement_id=world.departement_id,
        kind="records:group:member_added",
        beneficiary_id=world.person.id,
        details={"organisation_id": str(world.csapa.id), "role": "member"},
    )
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get("/"))
    assert "Structure partenaire (nom protégé) a rejoint le groupe de suivi" in body
    assert "CSAPA" not in body
    assert "Marquer comme lu" in body
    with scoping.unscoped():
        notification = db.session().scalar(select(Notification))
    response = send(client, "/notifications/lues", {"notification_id": str(notification.id)})
    assert response.status_code == 302
    assert "Aucune nouvelle notification." in text(client.get("/"))


def test_someone_elses_notification_cannot_be_marked(client, world, login_as):
    notification = notifications.notify(
        recipient_account_id=world.ml_member.id,
        departement_id=world.departement_id,
        kind="records:group:member_added",
        beneficiary_id=world.person.id,
        details={},
    )
    db.session().flush()
    login_as(client, world.referent.account, world.referent.membership)
    response = send(client, "/notifications/lues", {"notification_id": str(notification.id)})
    assert response.status_code == 404
    for bad in ({"notification_id": "nope"}, {"notification_id": str(notification.id), "x": 1}):
        assert send(client, "/notifications/lues", bad).status_code == 422
    with scoping.unscoped():
        fresh = db.session().get(Notification, notification.id)
    assert fresh.read_at is None


def test_orientation_officer_home_lists_people_to_orient(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    body = text(client.get("/"))
    queue = body.split("Personnes à orienter", 1)[1].split("</section>", 1)[0]
    assert "Yanis Autre" in queue  # open journey, no orientation yet
    assert "2 personnes attendent leur orientation" in queue
    assert "Voir toute la file des personnes à orienter" in queue
    assert "Mes accompagnements" in body
    assert "Retrouver une personne" in body
    tags = [r.tag for r in audit_rows(actor_account_id=world.officer.id)]
    assert tags == ["orientation:queue:listed"]


def test_plain_professional_has_no_orientation_queue(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    body = text(client.get("/"))
    assert "Personnes à orienter" not in body
    assert "Yanis" not in body
    assert "Vous ne faites partie d'aucun groupe de suivi pour l'instant." in body
    assert audit_rows(actor_account_id=world.outsider.id) == []


def test_structure_admin_home_lists_the_members_of_the_structure(client, world, login_as):
    login_as(client, world.structure_admin.account, world.structure_admin.membership)
    body = text(client.get("/"))
    assert "Membres de ma structure" in body
    for name in ("Romane Référente", "Odile Orientation", "Colette Collègue"):
        assert name in body
    assert "Chargé·e d'orientation" in body
    assert "Malik" not in body  # another structure's professional
    assert "Sofia" not in body
    assert "Retrouver une personne" not in body


def test_departement_admin_home_lists_structures_and_accreditation(client, world, login_as):
    OrganisationFactory(
        departement_id=world.departement_id,
        name="Association Relais",
        kind=OrganisationKind.ASSOCIATION,
        accreditation_status=AccreditationStatus.PENDING,
        accreditation_decided_at=None,
    )
    login_as(client, world.departement_admin.account, world.departement_admin.membership)
    body = text(client.get("/"))
    assert "Structures du département" in body
    assert "Association Relais" in body
    assert "En attente d'habilitation" in body
    assert "CSAPA Les Tilleuls" in body
    assert "Habilitée" in body
    assert "Service insertion de Corrèze" not in body
    assert "Sofia" not in body


def test_platform_admin_home_shows_counts_without_personal_data(client, world, login_as):
    login_as(client, world.platform_admin)
    response = client.get("/")
    body = text(response)
    assert response.status_code == 200
    assert "Départements de la plateforme" in body
    assert "Haute-Vienne" in body
    assert "Corrèze" in body
    row = body.split("Haute-Vienne", 1)[1].split("</tr>", 1)[0]
    assert [cell.strip() for cell in row.split("<td>")[1:]][:3] == [
        "2</td>",
        "2</td>",
        "1</td>",
    ]
    for private in ("Sofia", "Benali", "Yanis", "Romane", "sofia@exemple.fr"):
        assert private not in body
    assert audit_rows() == []


def test_beneficiary_home_leads_to_the_portal(client, world, login_as):
    login_as(client, world.person_account)
    body = text(client.get("/"))
    assert "Bienvenue sur votre carnet de bord" in body
    assert 'href="/mon-carnet"' in body
    assert 'href="/mon-carnet/acces"' in body
    assert "Retrouver une personne" not in body


def test_mark_all_read(client, world, login_as):
    for _ in range(2):
        notifications.notify(
            recipient_account_id=world.person_account.id,
            departement_id=world.departement_id,
            kind="records:group:member_added",
            beneficiary_id=world.person.id,
            details={"organisation_id": str(world.mission_locale.id), "role": "member"},
        )
    login_as(client, world.person_account)
    body = text(client.get("/"))
    assert "Mission locale de Limoges a rejoint votre groupe de suivi" in body
    assert "Tout marquer comme lu" in body
    response = send(client, "/notifications/lues", {}, csrf=token(client))
    assert response.status_code == 302
    with scoping.unscoped():
        unread = [n for n in db.session().scalars(select(Notification)) if n.read_at is None]
    assert unread == []
