"""« Mon carnet », « Qui a consulté mon carnet » and « Mes coordonnées »."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from carnet import db
from carnet.notifications.models import Notification
from carnet.records.models import Beneficiary, ContactChannel, TimelineEvent
from carnet.security import audit, scoping
from carnet.security.permissions import AuditAction, Outcome, PrincipalRole
from carnet.security.principal import Principal
from tests.records.world import (
    SOFIA_NIR,
    audit_rows,
    build_world,
    count,
    send,
    snapshot,
    text,
    token,
)


@pytest.fixture
def world(db_session):
    return build_world()


def _person(world):
    with scoping.unscoped():
        person = db.session().get(Beneficiary, world.person.id)
        db.session().refresh(person)
        return person


def test_person_reads_own_record_with_the_names_of_those_who_follow(client, world, login_as):
    login_as(client, world.person_account)
    response = client.get("/mon-carnet")
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Mon carnet</h1>" in body
    assert "Les professionnels qui m'accompagnent" in body
    assert "Service insertion du Département" in body
    assert "Romane Référente" in body
    assert "CSAPA Les Tilleuls" in body
    assert "Structure partenaire (nom protégé)" not in body
    assert "Modifier mes coordonnées" in body
    assert SOFIA_NIR not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.person_account.id)
    assert [(r.section, r.outcome) for r in rows] == [
        ("identity:read", Outcome.ALLOWED),
        ("contact:read", Outcome.ALLOWED),
        ("rights:read", Outcome.ALLOWED),
        ("group:read", Outcome.ALLOWED),
    ]


def test_person_may_show_own_nir(client, world, login_as):
    login_as(client, world.person_account)
    response = send(client, "/mon-carnet/nir", csrf=token(client, "/mon-carnet"))
    assert response.status_code == 200
    assert SOFIA_NIR in text(response)


def test_professional_has_no_portal(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get("/mon-carnet")
    assert response.status_code == 404
    assert "Cet espace est réservé aux personnes accompagnées." in text(response)
    assert client.get("/mon-carnet/acces").status_code == 404


def test_home_of_the_person_leads_to_the_record_and_the_access_log(client, world, login_as):
    login_as(client, world.person_account)
    home = text(client.get("/"))
    assert 'href="/mon-carnet"' in home
    assert 'href="/mon-carnet/acces"' in home
    assert "Qui a consulté mon carnet" in home


def test_access_log_shows_organisations_roles_and_actions(make_client, world, login_as):
    referent = make_client()
    login_as(referent, world.referent.account, world.referent.membership)
    referent.get(f"/personnes/{world.person.id}")
    health = make_client()
    login_as(health, world.health_member.account, world.health_member.membership)
    health.get(f"/personnes/{world.person.id}")
    outsider = make_client()
    login_as(outsider, world.outsider.account, world.outsider.membership)
    outsider.get(f"/personnes/{world.person.id}")  # refused: not an access

    person = make_client()
    login_as(person, world.person_account)
    person.get("/mon-carnet")  # the person's own visits are not listed
    response = person.get("/mon-carnet/acces")
    body = text(response)
    assert response.status_code == 200
    entries = body.split('<ol class="access-log"', 1)[1].split("</ol>", 1)[0]
    # One visit each, listing every section shown: the référent read identity, contact,
    # rights and group; the health member identity, contact and group (rights are not his
    # remit); and for both the synthesis read appointments, notes, plan and situation.
    assert entries.count('<li class="access') == 2
    # Newest first: the health member read after the référent.
    assert entries.index("CSAPA Les Tilleuls") < entries.index("Service insertion du Département")
    assert entries.count("Consultation de votre carnet") == 2
    assert entries.count("Consultation de vos coordonnées") == 2
    assert entries.count("Consultation de votre groupe de suivi") == 2
    assert entries.count("Consultation : droits") == 1
    assert "Professionnel·le" in entries
    assert "France Travail" not in entries
    assert "Romane" not in body
    assert "Hélène" not in body
    rows = audit_rows(beneficiary_id=world.person.id, tag="records:access_log:read")
    assert [(r.section, r.outcome, r.actor_account_id) for r in rows] == [
        ("record:access_log", Outcome.ALLOWED, world.person_account.id)
    ]


def test_access_log_is_paginated_newest_first(client, world, login_as):
    actor = Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.referent.id,
        departement_id=world.departement_id,
        organisation_id=world.departement_org.id,
    )
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    with scoping.unscoped():
        for visit in range(25):  # separate visits, two minutes apart
            with freeze_time(start + dt.timedelta(minutes=2 * visit)):
                audit.record_access(
                    db.session(),
                    actor=actor,
                    departement_id=world.departement_id,
                    beneficiary_id=world.person.id,
                    section="identity:read",
                    action=AuditAction.READ,
                    tag="records:record:read",
                )
    login_as(client, world.person_account)
    first = text(client.get("/mon-carnet/acces"))
    assert "25 accès enregistrés" in first
    assert "Page 1 sur 2" in first
    assert 'href="/mon-carnet/acces?page=2"' in first
    second = text(client.get("/mon-carnet/acces?page=2"))
    assert second.split('<ol class="access-log"', 1)[1].count('<li class="access') == 5
    assert client.get("/mon-carnet/acces?page=9").status_code == 200


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=-3", "page=1&tri=nom"])
def test_access_log_rejects_a_malformed_page(client, world, login_as, query):
    login_as(client, world.person_account)
    response = client.get(f"/mon-carnet/acces?{query}")
    assert response.status_code == 422
    assert "Erreur inattendue" not in text(response)


def test_person_updates_contact_details(client, world, login_as):
    login_as(client, world.person_account)
    form = text(client.get("/mon-carnet/coordonnees"))
    assert 'value="06 11 22 33 44"' in form
    response = send(
        client,
        "/mon-carnet/coordonnees",
        {"phone": "07.98.76.54.32", "email": "Sofia.B@Exemple.fr", "preferred_channel": "sms"},
        csrf=token(client, "/mon-carnet/coordonnees"),
    )
    assert response.status_code == 302
    person = _person(world)
    assert (person.phone, person.email, person.preferred_channel) == (
        "07 98 76 54 32",
        "sofia.b@exemple.fr",
        ContactChannel.SMS,
    )
    rows = audit_rows(beneficiary_id=world.person.id, section="contact:write")
    assert [(r.outcome, r.tag) for r in rows] == [(Outcome.ALLOWED, "records:contact:updated")]
    assert count(TimelineEvent, kind="records:contact:updated") == 1
    assert (
        count(Notification, recipient_account_id=world.referent.id, kind="records:contact:updated")
        == 1
    )
    assert "Vos coordonnées sont enregistrées" in text(client.get("/mon-carnet"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phone": "12", "preferred_channel": "sms"}, "Ce numéro de téléphone n'est pas valide."),
        (
            {"phone": "0012345678", "preferred_channel": "sms"},
            "Saisissez un numéro à 10 chiffres commençant par 0",
        ),
        (
            {"email": "pas-une-adresse", "preferred_channel": "letter"},
            "Cette adresse électronique n'est pas valide.",
        ),
        (
            {"preferred_channel": "email"},
            "Indiquez une adresse électronique pour être contacté·e par courriel.",
        ),
        ({"preferred_channel": "sms"}, "Indiquez un numéro de téléphone"),
        ({"phone": "0612345678"}, "Ce champ est obligatoire."),
        ({"preferred_channel": "pigeon"}, "Choisissez comment vous préférez être contacté·e."),
        (
            {"preferred_channel": "letter", "address_line": "1 rue X"},
            "Ce champ n'est pas attendu dans ce formulaire.",
        ),
    ],
)
def test_contact_form_errors_are_french_and_change_nothing(client, world, login_as, data, message):
    login_as(client, world.person_account)
    csrf = token(client, "/mon-carnet/coordonnees")
    before = snapshot()
    response = send(client, "/mon-carnet/coordonnees", data, csrf=csrf)
    assert response.status_code == 422
    assert message in text(response)
    assert snapshot() == before
    person = _person(world)
    assert (person.phone, person.email) == ("06 11 22 33 44", "sofia@exemple.fr")
    assert audit_rows(section="contact:write") == []
