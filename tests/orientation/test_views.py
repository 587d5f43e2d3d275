"""The record's « Orientation » tab and the officers' pages, through HTTP, per role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carnet import db
from carnet.orientation.models import Orientation, ReorientationRequest, RequestStatus
from carnet.security import scoping
from tests.orientation.seed import add_orientation, request_of
from tests.records.world import _pro, audit_rows, build_world, text


@pytest.fixture
def world(db_session):
    return build_world()


def _url(world, suffix=""):
    return f"/personnes/{world.person.id}/orientation{suffix}"


def test_the_officer_sees_the_period_the_proposal_and_the_decision_form(client, world, login_as):
    add_orientation(world)
    login_as(client, world.officer.account, world.officer.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "Depuis le 20/01/2026 – orientation sociale – Service insertion du Département" in body
    assert "référent : Romane Référente" in body
    assert "Logement à stabiliser avant toute recherche d'emploi" in body
    assert "Décider l'orientation" in body or "Réorienter" in body
    assert "Proposition" in body
    assert "Demander une réorientation" not in body
    tags = {
        r.tag for r in audit_rows(actor_account_id=world.officer.id, beneficiary_id=world.person.id)
    }
    assert "orientation:record:read" in tags


def test_the_referent_reads_and_may_ask_but_not_decide(client, world, login_as):
    add_orientation(world)
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_url(world)))
    assert "Demander une réorientation" in body
    assert "Enregistrer l'orientation" not in body
    # The request offers the other types only: the person is already in « sociale ».
    assert 'id="request-type-sociale"' not in body
    assert 'value="professionnelle"' in body.split("Demander une réorientation", 1)[1]
    response = client.submit(
        _url(world, "/reorientation"),
        {"proposed_type": "professionnelle", "motive": "Projet professionnel précis"},
        form_page=_url(world),
    )
    assert response.status_code == 302
    body = text(client.get(_url(world)))
    assert "En attente de décision" in body
    assert "Demander une réorientation" not in body  # one pending at a time


def test_a_member_reads_without_any_form(client, world, login_as):
    add_orientation(world)
    login_as(client, world.ml_member.account, world.ml_member.membership)
    body = text(client.get(_url(world)))
    assert "Orientation en cours" in body
    assert "Demander une réorientation" not in body
    assert "Enregistrer l'orientation" not in body


def test_the_person_reads_his_or_her_own_orientation(client, world, login_as):
    add_orientation(world)
    login_as(client, world.person_account)
    response = client.get(_url(world))
    assert response.status_code == 200
    body = text(response)
    assert "orientation sociale" in body
    assert "Enregistrer l'orientation" not in body


@pytest.mark.parametrize(("who", "status"), [("outsider", 403), ("foreign", 404)])
def test_outside_the_remit_the_tab_is_refused(client, world, login_as, who, status):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    response = client.get(_url(world))
    assert response.status_code == status
    assert "Benali" not in text(response)


def test_a_waiting_person_shows_the_clock_and_the_last_known_orientation(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    body = text(client.get(_url(world)))
    assert "Cette personne attend son orientation." in body
    assert "Délai légal de six semaines" in body
    assert "Délai légal de six semaines dépassé" in body  # right opened on 2 January 2026


def test_deciding_through_the_form(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    ft_pro = _pro(world.france_travail, given_name="Fanny", family_name="Conseillère")
    response = client.submit(
        _url(world),
        {
            "type": "professionnelle",
            "organisation_id": str(world.france_travail.id),
            "referent_membership_id": str(ft_pro.membership.id),
            "motive": "Projet professionnel défini",
            "previous_referent": "reste_membre",
            "previous_referent_reason": "Garde le suivi du logement",
        },
        form_page=_url(world),
    )
    assert response.status_code == 302
    body = text(client.get(_url(world)))
    assert (
        "orientation professionnelle – France Travail Limoges Nord – référent : Fanny Conseillère"
        in body
    )


def test_a_bad_form_is_answered_in_french_and_writes_nothing(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    response = client.submit(
        _url(world),
        {"type": "sociale", "organisation_id": str(world.france_travail.id), "motive": "x"},
        form_page=_url(world),
    )
    assert response.status_code == 422
    assert "Le motif doit compter entre 5 et 1000 caractères." in text(response)
    refused = client.submit(
        _url(world),
        {
            "type": "sociale",
            "organisation_id": str(world.france_travail.id),
            "motive": "Motif suffisant",
        },
        form_page=_url(world),
    )
    assert refused.status_code == 422
    assert "n'assure pas d'orientation sociale" in text(refused)
    with scoping.unscoped():
        assert db.session().scalar(select(Orientation.id)) is None


def test_keeping_through_the_form_and_the_pending_list(client, world, login_as):
    request_id = request_of(world)
    login_as(client, world.officer.account, world.officer.membership)
    listing = text(client.get("/orientation/demandes"))
    assert "Sofia Benali" in listing
    response = client.submit(
        _url(world, f"/demandes/{request_id}/maintien"),
        {"reason": "Le logement reste à stabiliser"},
        form_page=_url(world),
    )
    assert response.status_code == 302
    request = db.session().get(ReorientationRequest, request_id)
    assert request.status is RequestStatus.KEPT
    assert "Aucune demande n'attend de décision." in text(client.get("/orientation/demandes"))
    again = client.submit(
        _url(world, f"/demandes/{request_id}/maintien"),
        {"reason": "Seconde réponse"},
        form_page=_url(world),
    )
    assert again.status_code == 409
    assert "déjà reçu une réponse" in text(again)


def test_the_tab_appears_in_the_record(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(f"/personnes/{world.person.id}"))
    assert f'href="/personnes/{world.person.id}/orientation"' in body
