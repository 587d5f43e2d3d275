"""The exit and re-entry pages: who sees the form, what a closing does through HTTP, what
bad input gets (a French message and a 422, never a 500, never a half-written exit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.orientation.models import JobFollowUp, JourneyExit
from carnet.records.models import GroupMembership, Journey, TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import Outcome
from tests.records.world import audit_rows, build_world, count, send, text, token


@pytest.fixture
def world(db_session: Any) -> Any:
    return build_world()


def _exit_url(world: Any) -> str:
    return f"/personnes/{world.person.id}/sortie"


def _reopen_url(world: Any) -> str:
    return f"/personnes/{world.person.id}/reouverture"


def _today() -> str:
    return clock.today().isoformat()


def _snapshot() -> dict[str, int]:
    with scoping.unscoped():
        open_places = len(
            list(
                db.session().scalars(
                    select(GroupMembership.id).where(GroupMembership.ended_at.is_(None))
                )
            )
        )
    return {
        "exits": count(JourneyExit),
        "follow_ups": count(JobFollowUp),
        "journeys": count(Journey),
        "closed": count(Journey, exit_reason="emploi"),
        "timeline": count(TimelineEvent),
        "open_places": open_places,
    }


def _login(client: Any, login_as: Any, pro: Any) -> None:
    login_as(client, pro.account, pro.membership)


def _close_as(client: Any, world: Any, data: dict[str, str] | None = None) -> Any:
    csrf = token(client)
    payload = data or {"reason": "emploi", "employment_kind": "cdi", "exited_on": _today()}
    return send(client, _exit_url(world), payload, csrf=csrf)


# -- who sees what ------------------------------------------------------------------------------


def test_the_referent_sees_the_form_and_what_a_closing_does(client, world, login_as):
    _login(client, login_as, world.referent)
    response = client.get(_exit_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Sortie de parcours de Sofia Benali</h1>" in body
    assert "Clore le parcours" in body
    assert "Ce que la clôture entraîne :" in body
    assert "le groupe de suivi prend fin : 3 professionnels n'auront plus accès au carnet" in body
    assert "l'orientation en cours et les contrats en cours prennent fin" in body
    assert "deux points de suivi sont prévus, 6 et 12 mois plus tard" in body
    assert 'name="employment_kind"' in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("orientation:read", "orientation:exit:read", Outcome.ALLOWED)
    ]


def test_a_member_reads_the_page_without_the_form(client, world, login_as):
    _login(client, login_as, world.ml_member)
    response = client.get(_exit_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "Ce que la clôture entraîne" not in body
    assert 'name="reason"' not in body
    assert "enregistrée par le référent unique ou par un·e chargé·e d'orientation" in body


@pytest.mark.parametrize(
    ("who", "status"), [("outsider", 403), ("foreign", 404), ("structure_admin", 403)]
)
def test_people_outside_the_group_are_refused(client, world, login_as, who, status):
    pro = getattr(world, who)
    _login(client, login_as, pro)
    response = client.get(_exit_url(world))
    assert response.status_code == status
    assert "Benali" not in text(response)
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=pro.id)
    assert [(r.outcome, r.section) for r in rows] == [(Outcome.DENIED, "orientation:read")]


def test_another_person_gets_not_found(client, world, login_as):
    login_as(client, world.other_person_account)
    assert client.get(_exit_url(world)).status_code == 404


def test_the_record_page_links_to_the_exit_for_who_may_close(client, world, login_as):
    _login(client, login_as, world.referent)
    assert "Clore le parcours (sortie de parcours)" in text(
        client.get(f"/personnes/{world.person.id}")
    )


def test_a_member_gets_no_link_to_close(client, world, login_as):
    _login(client, login_as, world.ml_member)
    body = text(client.get(f"/personnes/{world.person.id}"))
    assert "Sofia Benali" in body
    assert "Clore le parcours" not in body


# -- closing through the form -------------------------------------------------------------------


def test_the_referent_closes_and_the_group_loses_the_record(client, world, login_as):
    _login(client, login_as, world.referent)
    response = _close_as(client, world)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = text(client.get("/"))
    assert "Le parcours est clos." in home
    assert "le carnet n'est plus accessible au groupe, vous compris" in home
    with scoping.unscoped():
        db.session().expire_all()
        journey = db.session().get(Journey, world.journey.id)
        assert (journey.closed_on, journey.exit_reason) == (clock.today(), "emploi")
    assert count(JobFollowUp) == 2
    # The former référent now meets a refusal on every page of the record.
    for url in (
        f"/personnes/{world.person.id}",
        _exit_url(world),
        f"/personnes/{world.person.id}/plan",
        f"/personnes/{world.person.id}/groupe-de-suivi",
    ):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert "Benali" not in text(refused)


def test_a_former_member_is_refused_too(client, make_client, world, login_as):
    _login(client, login_as, world.officer)
    assert _close_as(client, world).status_code == 302
    member = make_client()
    _login(member, login_as, world.ml_member)
    assert member.get(f"/personnes/{world.person.id}").status_code == 403


def test_the_closing_is_in_the_history_the_log_and_the_notifications(
    client, make_client, world, login_as
):
    _login(client, login_as, world.referent)
    _close_as(client, world, {"reason": "fin_de_droit", "exited_on": _today()})
    rows = audit_rows(beneficiary_id=world.person.id, tag="orientation:exit:recorded")
    assert [(r.actor_account_id, r.outcome) for r in rows] == [(world.referent.id, Outcome.ALLOWED)]
    assert count(TimelineEvent, kind="records:journey:closed") == 1
    person = make_client()
    login_as(person, world.person_account)
    home = text(person.get("/"))
    assert "Votre parcours d'accompagnement est clos." in home


def test_the_orientation_officer_closes_and_reads_the_exit(client, world, login_as):
    _login(client, login_as, world.officer)
    exited_on = dt.date(2026, 8, 31)
    response = _close_as(
        client,
        world,
        {"reason": "emploi", "employment_kind": "cdi", "exited_on": exited_on.isoformat()},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == _exit_url(world)
    body = text(client.get(_exit_url(world)))
    assert "Le parcours est clos." in body
    assert "Dernière sortie de parcours" in body
    assert "Du 5 janvier 2026 au 31 août 2026" in body
    assert "Emploi (CDI), sortie positive" in body
    assert "Point à 6 mois : prévu le 28 février 2027" in body
    assert "Point à 12 mois : prévu le 31 août 2027" in body
    assert "jusqu'au 29 février 2028, la personne ou son employeur peut demander un soutien" in body
    assert "Ouvrir un nouveau parcours" in body
    assert "Ce que la clôture entraîne" not in body
    record = text(client.get(f"/personnes/{world.person.id}"))
    assert "Dernier parcours clos le 31 août 2026 (motif : Emploi)." in record
    assert "Voir la sortie de parcours" in record


def test_a_short_job_is_not_called_a_positive_exit(client, world, login_as):
    _login(client, login_as, world.officer)
    _close_as(
        client,
        world,
        {"reason": "emploi", "employment_kind": "interim", "exited_on": _today()},
    )
    body = text(client.get(_exit_url(world)))
    assert "Emploi (Intérim)" in body
    assert "sortie positive" not in body


def test_the_person_reads_that_the_journey_closed(client, make_client, world, login_as):
    _login(client, login_as, world.officer)
    _close_as(client, world, {"reason": "formation", "exited_on": "2026-06-30"})
    client = make_client()
    login_as(client, world.person_account)
    body = text(client.get("/mon-carnet"))
    assert "Dernier parcours clos le 30 juin 2026 (motif : Formation)." in body
    own = text(client.get(_exit_url(world)))
    assert "<h1>Ma sortie de parcours</h1>" in own
    assert "Formation" in own
    assert "Ouvrir un nouveau parcours" not in own


def test_closing_twice_is_refused_with_the_page_and_its_reason(client, world, login_as):
    _login(client, login_as, world.officer)
    csrf = token(client)
    payload = {"reason": "autre", "exited_on": _today()}
    assert send(client, _exit_url(world), payload, csrf=csrf).status_code == 302
    before = _snapshot()
    response = send(client, _exit_url(world), payload, csrf=csrf)
    body = text(response)
    assert response.status_code == 409
    assert "Le parcours de cette personne est déjà clos" in body
    assert "Rien n'a été enregistré." in body
    assert "Dernière sortie de parcours" in body
    assert _snapshot() == before


def test_a_member_cannot_close_by_posting(client, world, login_as):
    _login(client, login_as, world.ml_member)
    before = _snapshot()
    response = _close_as(client, world)
    assert response.status_code == 403
    assert _snapshot() == before


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "messages"),
    [
        ({}, ["Ce champ est obligatoire.", "Indiquez la date de sortie."]),
        (
            {"reason": "emploi", "exited_on": "TODAY"},
            ["Pour une sortie vers l'emploi, précisez le type d'emploi."],
        ),
        (
            {"reason": "formation", "employment_kind": "cdi", "exited_on": "TODAY"},
            ["Le type d'emploi ne se précise que pour une sortie vers l'emploi"],
        ),
        (
            {"reason": "autre", "exited_on": "2099-01-01"},
            ["La date de sortie ne peut pas être dans le futur."],
        ),
        (
            {"reason": "autre", "exited_on": "2025-12-31"},
            ["La date de sortie ne peut pas précéder l'ouverture du parcours, le 05/01/2026."],
        ),
        (
            {"reason": "autre", "exited_on": "31/12"},
            ["Saisissez une date valide"],
        ),
        ({"reason": "licenciement", "exited_on": "TODAY"}, ["Choisissez le motif de sortie"]),
        (
            {"reason": "emploi", "employment_kind": "stage", "exited_on": "TODAY"},
            ["Choisissez le type d'emploi"],
        ),
        (
            {"reason": "autre", "exited_on": "TODAY", "closed_on": "TODAY"},
            ["Ce champ n'est pas attendu dans ce formulaire."],
        ),
    ],
)
def test_bad_input_gets_french_messages_and_writes_nothing(client, world, login_as, data, messages):
    _login(client, login_as, world.referent)
    csrf = token(client)
    before = _snapshot()
    payload = {key: _today() if value == "TODAY" else value for key, value in data.items()}
    response = send(client, _exit_url(world), payload, csrf=csrf)
    body = text(response)
    assert response.status_code == 422
    for message in messages:
        assert message in body
    # The form comes back with what was typed.
    assert "Clore le parcours" in body
    assert _snapshot() == before


# -- re-entry -------------------------------------------------------------------------------------


def test_the_officer_opens_a_new_journey_for_a_returning_person(client, world, login_as):
    _login(client, login_as, world.officer)
    csrf = token(client)
    send(client, _exit_url(world), {"reason": "fin_de_droit", "exited_on": _today()}, csrf=csrf)
    response = send(client, _reopen_url(world), {"reason": "droit_rouvert"}, csrf=csrf)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/personnes/{world.person.id}/orientation"
    assert count(Journey, beneficiary_id=world.person.id) == 2
    assert count(TimelineEvent, kind="records:journey:opened") == 1
    page = text(client.get(_exit_url(world)))
    assert "Parcours en cours, ouvert le" in page
    assert "Clore le parcours" in page


def test_a_new_journey_is_refused_while_one_is_open(client, world, login_as):
    _login(client, login_as, world.officer)
    before = _snapshot()
    response = send(client, _reopen_url(world), {"reason": "autre"})
    assert response.status_code == 409
    assert "Cette personne a déjà un parcours en cours" in text(response)
    assert _snapshot() == before


def test_a_re_entry_without_reason_is_sent_back(client, world, login_as):
    _login(client, login_as, world.officer)
    csrf = token(client)
    send(client, _exit_url(world), {"reason": "autre", "exited_on": _today()}, csrf=csrf)
    before = _snapshot()
    response = send(client, _reopen_url(world), {"reason": "parce que"}, csrf=csrf)
    assert response.status_code == 422
    assert "Choisissez la raison du retour dans la liste." in text(response)
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["referent", "ml_member"])
def test_only_the_orientation_writes_a_new_journey(client, world, login_as, who):
    pro = getattr(world, who)
    _login(client, login_as, pro)
    for data in ({"reason": "autre"}, {}):
        response = send(client, _reopen_url(world), data)
        assert response.status_code == 403
    assert count(Journey, beneficiary_id=world.person.id) == 1


def test_the_officer_home_links_to_the_retention_checks(client, world, login_as):
    _login(client, login_as, world.officer)
    body = text(client.get("/"))
    assert 'href="/orientation/suivis-emploi"' in body
