"""The record page: who reads it, what each one sees, and what the access log keeps."""

from __future__ import annotations

import re

import pytest

from carnet.auth.models import ActivationCode
from carnet.security.permissions import Outcome, Purpose
from tests.records.world import (
    SOFIA_NIR,
    audit_rows,
    build_world,
    count,
    send,
    text,
    token,
)


@pytest.fixture
def world(db_session):
    return build_world()


def _url(world):
    return f"/personnes/{world.person.id}"


def test_group_member_reads_the_record(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Carnet de Sofia Benali</h1>" in body
    assert "Identité" in body
    assert "Coordonnées" in body
    assert "Droits" in body
    assert "Groupe de suivi" in body
    assert "Romane Référente" in body
    # One audit row per section shown, each with its own section.
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("identity:read", "records:record:read", Outcome.ALLOWED),
        ("contact:read", "records:contact:read", Outcome.ALLOWED),
        ("rights:read", "records:rights:read", Outcome.ALLOWED),
        ("group:read", "records:group:read", Outcome.ALLOWED),
        # The synthesis reads what it summarises, each section once.
        ("appointments:read", "workspace:synthesis:read", Outcome.ALLOWED),
        ("contracts:read", "workspace:synthesis:read", Outcome.ALLOWED),
        ("notes:read", "workspace:synthesis:read", Outcome.ALLOWED),
        ("orientation:read", "workspace:synthesis:read", Outcome.ALLOWED),
        ("plan:read", "workspace:synthesis:read", Outcome.ALLOWED),
        ("situation:read", "workspace:synthesis:read", Outcome.ALLOWED),
    ]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("who", "shown", "hidden"),
    [
        # A mission locale member does not read the rights: neither shown nor logged.
        ("ml_member", ["identite", "coordonnees", "groupe"], ["droits"]),
        # Nor does a health partner (the health compartment is another page).
        ("health_member", ["identite", "coordonnees", "groupe"], ["droits"]),
        # The chargé d'orientation reads them outside the group, as the matrix allows.
        ("officer", ["identite", "coordonnees", "droits", "groupe"], []),
    ],
)
def test_only_the_sections_shown_are_logged(client, world, login_as, who, shown, hidden):
    sections = {
        "identite": "identity:read",
        "coordonnees": "contact:read",
        "droits": "rights:read",
        "groupe": "group:read",
    }
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    body = text(client.get(_url(world)))
    for anchor in shown:
        assert f'id="{anchor}"' in body, anchor
    for anchor in hidden:
        assert f'id="{anchor}"' not in body, anchor
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=pro.id)
    page_rows = [r for r in rows if r.tag != "workspace:synthesis:read"]
    assert [r.section for r in page_rows] == [sections[anchor] for anchor in shown]
    assert {r.outcome for r in rows} == {Outcome.ALLOWED}


def test_same_departement_non_member_is_refused_with_the_way_in(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 403
    assert "Vous ne faites pas partie du groupe de suivi de cette personne." in body
    assert f'href="/personnes/{world.person.id}/rejoindre"' in body
    assert "Sofia" not in body
    assert "Benali" not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.outsider.id)
    assert [(r.outcome, r.section) for r in rows] == [(Outcome.DENIED, "identity:read")]


def test_structure_admin_is_refused_without_a_way_in(client, world, login_as):
    login_as(client, world.structure_admin.account, world.structure_admin.membership)
    response = client.get(_url(world))
    assert response.status_code == 403
    assert "/rejoindre" not in text(response)
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.structure_admin.id)
    assert [r.outcome for r in rows] == [Outcome.DENIED]


def test_other_departement_professional_gets_not_found(client, world, login_as):
    login_as(client, world.foreign.account, world.foreign.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 404
    assert "Ce carnet n'existe pas ou ne vous est pas accessible." in body
    assert "Sofia" not in body
    assert "/rejoindre" not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.foreign.id)
    assert [(r.outcome, r.departement_id) for r in rows] == [
        (Outcome.DENIED, world.other_departement_id)
    ]


def test_unknown_record_is_not_found_like_a_foreign_one(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get("/personnes/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert client.get("/personnes/pas-un-identifiant").status_code == 404


def test_person_reads_own_record_but_not_another(client, world, login_as):
    login_as(client, world.person_account)
    own = client.get(_url(world))
    assert own.status_code == 302
    assert own.headers["Location"] == "/mon-carnet"
    page = client.get("/mon-carnet")
    assert page.status_code == 200
    assert "Sofia" in text(page)
    other = client.get(f"/personnes/{world.other_person.id}")
    assert other.status_code == 404
    assert "Yanis" not in text(other)
    rows = audit_rows(beneficiary_id=world.other_person.id)
    assert [r.outcome for r in rows] == [Outcome.DENIED]


def test_nir_is_hidden_from_a_mission_locale_member(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    page = client.get(_url(world))
    body = text(page)
    assert page.status_code == 200
    assert "Afficher le NIR" not in body
    assert SOFIA_NIR not in body
    assert 'id="droits"' not in body  # rights are not a mission locale member's remit
    assert "288048708512339" not in body
    csrf = token(client)
    refused = send(client, f"{_url(world)}/nir", csrf=csrf)
    assert refused.status_code == 403, text(refused)[-900:]
    assert SOFIA_NIR not in text(refused)
    assert "/rejoindre" not in text(refused)  # already in the group: no way in to offer
    nir_rows = audit_rows(beneficiary_id=world.person.id, section="nir:read")
    assert [r.outcome for r in nir_rows] == [Outcome.DENIED]


def test_nir_is_shown_to_the_departement_referent_after_a_post(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    page = text(client.get(_url(world)))
    assert "Masqué" in page
    assert "Afficher le NIR" in page
    assert SOFIA_NIR not in page
    csrf = token(client)
    shown = send(client, f"{_url(world)}/nir", csrf=csrf)
    assert shown.status_code == 200
    assert SOFIA_NIR in text(shown)
    nir_rows = audit_rows(beneficiary_id=world.person.id, section="nir:read")
    assert [(r.outcome, r.tag, r.actor_account_id) for r in nir_rows] == [
        (Outcome.ALLOWED, "records:nir:read", world.referent.id)
    ]
    # A GET never opens it: the NIR endpoint only answers POST.
    assert client.get(f"{_url(world)}/nir").status_code == 405


def test_sensible_structure_name_is_shown_only_inside_it_and_to_the_person(
    make_client, world, login_as
):
    referent = make_client()
    login_as(referent, world.referent.account, world.referent.membership)
    body = text(referent.get(_url(world)))
    assert "CSAPA Les Tilleuls" not in body
    # One neutral label for every sensible structure: not even that it is a health one.
    assert "Structure partenaire (nom protégé)" in body
    assert "santé" not in body.split('id="groupe"', 1)[1]
    # Nor the name of its professional, which would lead back to the structure.
    assert "Hélène Soignante" not in body
    assert "Suivi santé demandé par la personne" not in body

    health = make_client()
    login_as(health, world.health_member.account, world.health_member.membership)
    assert "CSAPA Les Tilleuls" in text(health.get(_url(world)))

    person = make_client()
    login_as(person, world.person_account)
    own = text(person.get("/mon-carnet"))
    assert "CSAPA Les Tilleuls" in own
    assert "Hélène Soignante" in own


def test_ended_memberships_are_listed_with_their_end(client, world, login_as, db_session):
    from carnet import clock

    world.ml_row.ended_at = clock.now()
    world.ml_row.end_reason = "Fin de l'action collective"
    db_session.flush()
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_url(world)))
    history = body.split("Anciens membres", 1)[1]
    assert "Malik Conseiller" in history
    assert "Fin de l'action collective" in history


def test_activation_code_is_shown_once_to_a_contact_writer(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    assert "Donner un code d'activation" in text(client.get(_url(world)))
    response = send(client, f"{_url(world)}/code-d-activation")
    body = text(response)
    assert response.status_code == 200
    assert re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", body)
    assert "Ce code ne sera plus affiché" in body
    assert count(ActivationCode, beneficiary_id=world.person.id) == 1
    rows = audit_rows(beneficiary_id=world.person.id, tag="auth:activation_code:issued")
    assert [(r.section, r.outcome) for r in rows] == [("contact:write", Outcome.ALLOWED)]


def test_activation_code_is_refused_to_a_reader(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    assert "Donner un code d'activation" not in text(client.get(_url(world)))
    response = send(client, f"{_url(world)}/code-d-activation")
    assert response.status_code == 403
    assert count(ActivationCode, beneficiary_id=world.person.id) == 0


def test_platform_admin_sees_no_record(client, world, login_as):
    login_as(client, world.platform_admin)
    response = client.get(_url(world))
    assert response.status_code == 404
    assert "Sofia" not in text(response)


def test_anonymous_visitor_is_sent_to_login(client, world):
    response = client.get(_url(world))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_break_glass_purpose_is_never_used_for_a_plain_read(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    client.get(_url(world))
    assert all(r.purpose is Purpose.NORMAL for r in audit_rows(beneficiary_id=world.person.id))
