"""The health compartment and the person's consents through HTTP: who reads it (health
structures, organisations the person named, the person), how a consent opens it and a
withdrawal closes it at once, « mode accompagné », sealed text, stale saves."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from carnet import db
from carnet.records.models import TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import Outcome
from carnet.situation.models import BarrierStatus, HealthBarrier, HealthNote, RqthRecord
from tests.records.world import audit_rows, build_world, count, send, text, token
from tests.situation.world import HEALTH_LABEL, consents, give_consent, situation_ids

CONSENT_MISSING = "Le volet santé n'est ouvert qu'avec l'accord de la personne."


@pytest.fixture
def world(db_session: Any) -> Any:
    world = build_world()
    situation_ids(world)
    return world


def _url(world: Any, suffix: str = "") -> str:
    return f"/personnes/{world.person.id}/sante{suffix}"


def _barrier_url(world: Any, suffix: str = "") -> str:
    return _url(world, f"/freins/{situation_ids(world).health_barrier_id}{suffix}")


def _login(client: Any, login_as: Any, world: Any, who: str) -> uuid.UUID:
    if who == "person":
        login_as(client, world.person_account)
        return world.person_account.id
    if who == "other_person":
        login_as(client, world.other_person_account)
        return world.other_person_account.id
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    return pro.id


def _kinds(world: Any) -> list[str]:
    with scoping.unscoped():
        return [
            e.kind
            for e in db.session().scalars(
                select(TimelineEvent)
                .where(TimelineEvent.beneficiary_id == world.person.id)
                .order_by(TimelineEvent.occurred_at)
            )
        ]


def _snapshot() -> dict[str, int]:
    return {
        "barriers": count(HealthBarrier),
        "notes": count(HealthNote),
        "rqth": count(RqthRecord),
        "timeline": count(TimelineEvent),
    }


def _version_in(body: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', body)
    assert match, "no version field in the form"
    return match.group(1)


# -- reading, per role ---------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "writes"), [("health_member", True), ("person", False)])
def test_the_compartment_is_read_by_the_health_structure_and_the_person(
    client, world, login_as, who, writes
):
    actor_id = _login(client, login_as, world, who)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert HEALTH_LABEL in body
    assert "Pas de RQTH" in body
    assert ("Noter un frein lié à la santé" in body) is writes
    assert ("Écrire une note" in body) is writes
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=actor_id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("health:read", "health:compartment:read", Outcome.ALLOWED)
    ]


@pytest.mark.parametrize(
    ("who", "status", "message", "reason"),
    [
        ("referent", 403, CONSENT_MISSING, "policy:consent_missing"),
        ("ml_member", 403, CONSENT_MISSING, "policy:consent_missing"),
        ("officer", 403, "Vous ne faites pas partie du groupe de suivi", "policy:not_in_group"),
        ("outsider", 403, "Vous ne faites pas partie du groupe de suivi", "policy:not_in_group"),
        ("foreign", 404, "Ce carnet n'existe pas", "policy:not_in_scope"),
        ("other_person", 404, "Ce carnet n'existe pas", "policy:not_in_group"),
    ],
)
def test_the_compartment_is_refused_without_consent_and_the_refusal_is_logged(
    client, world, login_as, who, status, message, reason
):
    actor_id = _login(client, login_as, world, who)
    for url in (_url(world), _barrier_url(world)):
        response = client.get(url)
        body = text(response)
        assert response.status_code == status, url
        assert message in body
        assert HEALTH_LABEL not in body
        assert "Benali" not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=actor_id)
    assert [(r.outcome, r.section, r.tag) for r in rows] == [
        (Outcome.DENIED, "health:read", reason)
    ] * 2


def test_without_consent_the_record_page_offers_the_consents_not_the_compartment(
    client, world, login_as
):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(f"/personnes/{world.person.id}"))
    assert f'href="/personnes/{world.person.id}/sante"' not in body
    assert f'href="/personnes/{world.person.id}/sante/accords"' in body


# -- consent opens, withdrawal closes at once ------------------------------------------------------


def test_the_person_opens_the_compartment_to_the_referent_and_closes_it_again(
    make_client, world, login_as
):
    person, referent = make_client(), make_client()
    login_as(person, world.person_account)
    login_as(referent, world.referent.account, world.referent.membership)
    assert referent.get(_url(world)).status_code == 403

    page = text(person.get("/mon-carnet/sante/accords"))
    assert "Mes accords santé" in page
    assert "Service insertion du Département" in page
    # The person sees the names of the structures that follow him or her.
    assert "CSAPA Les Tilleuls" in page
    assert "Structure de santé : lit le volet santé" in page
    given = person.submit(
        "/mon-carnet/sante/accords",
        {"organisation_id": str(world.departement_org.id), "decision": "donner"},
    )
    assert given.status_code == 302
    assert "peut lire le volet santé" in text(person.get(given.headers["Location"]))
    [consent] = consents(world)
    assert consent.organisation_id == world.departement_org.id
    assert consent.recorded_by_id == world.person_account.id
    assert consent.withdrawn_at is None

    opened = referent.get(_url(world))
    assert opened.status_code == 200
    assert HEALTH_LABEL in text(opened)
    # Reading with consent: read only.
    assert "Noter un frein lié à la santé" not in text(opened)
    assert f'href="/personnes/{world.person.id}/sante"' in text(
        referent.get(f"/personnes/{world.person.id}")
    )

    withdrawn = person.submit(
        "/mon-carnet/sante/accords",
        {"organisation_id": str(world.departement_org.id), "decision": "retirer"},
    )
    assert withdrawn.status_code == 302
    assert consents(world)[0].withdrawn_at is not None
    closed = referent.get(_url(world))
    assert closed.status_code == 403
    assert HEALTH_LABEL not in text(closed)

    assert [k for k in _kinds(world) if k.startswith("records:consent")] == [
        "records:consent:granted",
        "records:consent:withdrawn",
    ]
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.person_account.id)
    tags = [(r.tag, r.object_id, r.outcome) for r in rows if r.tag.startswith("health:consent:")]
    assert tags == [
        ("health:consent:granted", world.departement_org.id, Outcome.ALLOWED),
        ("health:consent:withdrawn", world.departement_org.id, Outcome.ALLOWED),
    ]
    referent_rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.outcome, r.section) for r in referent_rows if r.section == "health:read"] == [
        (Outcome.DENIED, "health:read"),
        (Outcome.ALLOWED, "health:read"),
        (Outcome.DENIED, "health:read"),
    ]


def test_the_referent_records_a_consent_given_in_person(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    page = text(client.get(_url(world, "/accords")))
    assert "Accords santé de Sofia Benali" in page
    assert "mode accompagné" in page
    # A sensible structure keeps its neutral label for the référent.
    assert "CSAPA" not in page
    csrf = token(client, _url(world, "/accords"))
    refused = send(
        client,
        _url(world, "/accords"),
        {"organisation_id": str(world.mission_locale.id), "decision": "donner"},
        csrf=csrf,
    )
    assert refused.status_code == 422
    assert "Cochez la case pour confirmer que la personne est présente" in text(refused)
    assert consents(world) == []

    given = client.submit(
        _url(world, "/accords"),
        {"organisation_id": str(world.mission_locale.id), "decision": "donner", "in_person": "1"},
    )
    assert given.status_code == 302
    body = text(client.get(given.headers["Location"]))
    assert "recueillie en votre présence" in body
    assert "accord recueilli en rendez-vous" in body
    [consent] = consents(world)
    assert consent.organisation_id == world.mission_locale.id
    assert consent.recorded_by_id == world.referent.id
    assert "records:consent:granted_accompanied" in _kinds(world)
    rows = audit_rows(beneficiary_id=world.person.id, tag="health:consent:granted_in_person")
    assert [(r.section, r.actor_account_id, r.object_id) for r in rows] == [
        ("group:write", world.referent.id, world.mission_locale.id)
    ]

    member = client.application.test_client()
    login_as(member, world.ml_member.account, world.ml_member.membership)
    assert member.get(_url(world)).status_code == 200

    withdrawn = client.submit(
        _url(world, "/accords"),
        {"organisation_id": str(world.mission_locale.id), "decision": "retirer", "in_person": "1"},
    )
    assert withdrawn.status_code == 302
    assert member.get(_url(world)).status_code == 403
    assert "records:consent:withdrawn_accompanied" in _kinds(world)


@pytest.mark.parametrize(
    ("organisation", "decision", "status", "message"),
    [
        ("csapa", "donner", 409, "accède déjà au volet santé par sa mission"),
        ("france_travail", "donner", 422, "Choisissez une structure du groupe de suivi."),
        ("mission_locale", "retirer", 409, "n'a pas d'accord en cours"),
        ("departement_org", "peut-etre", 422, "Choisissez : donner ou retirer l'accord."),
    ],
)
def test_impossible_consents_are_refused_in_french(
    client, world, login_as, organisation, decision, status, message
):
    login_as(client, world.person_account)
    csrf = token(client, "/mon-carnet/sante/accords")
    organisation_id = getattr(world, organisation).id
    response = send(
        client,
        "/mon-carnet/sante/accords",
        {"organisation_id": str(organisation_id), "decision": decision},
        csrf=csrf,
    )
    assert response.status_code == status
    assert message in text(response)
    assert consents(world) == []


def test_a_member_who_does_not_manage_the_group_cannot_record_a_consent(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    page = text(client.get(_url(world, "/accords")))
    assert "Enregistrer l'accord de la personne" not in page
    csrf = token(client, _url(world, "/accords"))
    response = send(
        client,
        _url(world, "/accords"),
        {"organisation_id": str(world.mission_locale.id), "decision": "donner", "in_person": "1"},
        csrf=csrf,
    )
    assert response.status_code == 403
    assert consents(world) == []
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.ml_member.id)
    assert (Outcome.DENIED, "group:write") in [(r.outcome, r.section) for r in rows]


def test_a_consent_of_an_organisation_that_left_the_group_can_still_be_withdrawn(
    client, world, login_as
):
    give_consent(world, world.france_travail.id)
    login_as(client, world.person_account)
    page = text(client.get("/mon-carnet/sante/accords"))
    assert "France Travail Limoges Nord" in page
    assert "ne fait plus partie du groupe de suivi" in page
    response = client.submit(
        "/mon-carnet/sante/accords",
        {"organisation_id": str(world.france_travail.id), "decision": "retirer"},
    )
    assert response.status_code == 302
    assert consents(world)[0].withdrawn_at is not None


# -- writing the compartment: sealed ---------------------------------------------------------------


def _raw(table: str, column: str) -> list[bytes]:
    """The stored bytes of a sealed column, read past the ORM."""
    statement = sql(f"SELECT {column} FROM {table}")  # noqa: S608 - fixed names
    with scoping.unscoped():
        return [bytes(row[0]) for row in db.session().execute(statement) if row[0] is not None]


def test_the_health_structure_writes_sealed_freins_notes_and_rqth(client, world, login_as):
    login_as(client, world.health_member.account, world.health_member.membership)
    before = _snapshot()
    added = client.submit(
        _url(world, "/freins"),
        {"label": "Suivi en addictologie en cours", "details": "Rendez-vous tous les mardis."},
        form_page=_url(world),
    )
    assert added.status_code == 302
    note = client.submit(
        _url(world, "/notes"),
        {"body": "Sofia tient ses rendez-vous ; la reprise d'un emploi à mi-temps est possible."},
        form_page=_url(world),
    )
    assert note.status_code == 302
    rqth = client.submit(
        _url(world, "/rqth"),
        {
            "status": "reconnue",
            "requested_on": "2025-02-01",
            "valid_until": "2030-01-31",
            "version": "0",
        },
        form_page=_url(world),
    )
    assert rqth.status_code == 302
    after = _snapshot()
    assert after["barriers"] == before["barriers"] + 1
    assert after["notes"] == before["notes"] + 1
    assert after["rqth"] == 1

    body = text(client.get(_url(world)))
    assert "Suivi en addictologie en cours" in body
    assert "Rendez-vous tous les mardis." in body
    assert "la reprise d'un emploi à mi-temps est possible" in body
    assert "RQTH reconnue" in body
    assert "31 janvier 2030" in body
    assert "Hélène Soignante, CSAPA Les Tilleuls" in body

    # Nothing of it is stored in clear.
    stored = b"".join(
        [
            *_raw("health_barriers", "label_sealed"),
            *_raw("health_barriers", "details_sealed"),
            *_raw("health_notes", "body_sealed"),
            *_raw("rqth_records", "details_sealed"),
        ]
    )
    for plain in ("addictologie", "mardis", "mi-temps", "reconnue", "2030-01-31", "Douleurs"):
        assert plain.encode() not in stored
    kinds = _kinds(world)
    assert {"health:barrier:added", "health:note:added", "health:rqth:updated"} <= set(kinds)
    with scoping.unscoped():
        details = [
            e.details
            for e in db.session().scalars(
                select(TimelineEvent).where(TimelineEvent.kind.startswith("health:"))
            )
        ]
    assert all("addictologie" not in str(d) and "reconnue" not in str(d) for d in details)
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.health_member.id)
    assert ("health:write", "health:rqth:updated") in [(r.section, r.tag) for r in rows]


def test_the_referent_with_consent_sees_the_csapa_under_its_neutral_label(client, world, login_as):
    give_consent(world, world.departement_org.id)
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_url(world)))
    assert HEALTH_LABEL in body
    assert "CSAPA" not in body
    assert "Hélène" not in body
    assert "Professionnel·le, Structure partenaire (nom protégé)" in body


def test_a_reader_by_consent_cannot_write(client, world, login_as):
    give_consent(world, world.departement_org.id)
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _url(world))
    before = _snapshot()
    response = send(client, _url(world, "/notes"), {"body": "Une note"}, csrf=csrf)
    assert response.status_code == 403
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "reconnue", "version": "0"}, "Indiquez la date de fin de la reconnaissance"),
        (
            {
                "status": "reconnue",
                "requested_on": "2026-05-01",
                "valid_until": "2026-01-01",
                "version": "0",
            },
            "La date de fin doit suivre la date de la demande.",
        ),
        ({"status": "peut-etre", "version": "0"}, "Choisissez la situation"),
        ({"status": "aucune"}, "rechargez la page"),
        ({"status": "demande_en_cours", "requested_on": "2099-01-01", "version": "0"}, "futur"),
    ],
)
def test_a_malformed_rqth_gets_a_french_422(client, world, login_as, data, message):
    login_as(client, world.health_member.account, world.health_member.membership)
    csrf = token(client, _url(world))
    before = _snapshot()
    response = send(client, _url(world, "/rqth"), data, csrf=csrf)
    assert response.status_code == 422
    assert message in text(response)
    assert _snapshot() == before


def test_a_stale_rqth_save_is_refused_and_keeps_the_input(make_client, world, login_as):
    first, second = make_client(), make_client()
    login_as(first, world.health_member.account, world.health_member.membership)
    login_as(second, world.health_member.account, world.health_member.membership)
    assert _version_in(text(second.get(_url(world)))) == "0"
    saved = first.submit(
        _url(world, "/rqth"),
        {"status": "demande_en_cours", "requested_on": "2026-09-01", "version": "0"},
    )
    assert saved.status_code == 302
    stale = second.submit(
        _url(world, "/rqth"),
        {"status": "reconnue", "valid_until": "2031-06-30", "version": "0"},
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cet élément" in body
    assert "Demande en cours" in body
    assert 'value="2031-06-30"' in body
    assert _version_in(body) == "1"
    assert "RQTH reconnue" in body  # the user's choice, beside the stored one
    with scoping.unscoped():
        assert db.session().scalar(select(RqthRecord.version)) == 1


def test_a_stale_health_frein_save_is_refused_and_nothing_is_lost(make_client, world, login_as):
    first, second = make_client(), make_client()
    login_as(first, world.health_member.account, world.health_member.membership)
    login_as(second, world.health_member.account, world.health_member.membership)
    version = _version_in(text(second.get(_barrier_url(world))))
    assert (
        first.submit(
            _barrier_url(world),
            {"label": HEALTH_LABEL, "details": "Kinésithérapie prescrite.", "version": version},
        ).status_code
        == 302
    )
    stale = second.submit(
        _barrier_url(world),
        {"label": "Mal de dos chronique", "details": "Arrêt de travail fini.", "version": version},
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Kinésithérapie prescrite." in body
    assert 'value="Mal de dos chronique"' in body
    assert "Arrêt de travail fini.</textarea>" in body
    page = text(first.get(_url(world)))
    assert HEALTH_LABEL in page
    assert "Kinésithérapie prescrite." in page
    assert "Mal de dos chronique" not in page


def test_a_health_frein_moves_forward_and_an_invalid_move_is_refused(client, world, login_as):
    login_as(client, world.health_member.account, world.health_member.membership)
    version = _version_in(text(client.get(_barrier_url(world))))
    lifted = client.submit(_barrier_url(world, "/statut"), {"status": "leve", "version": version})
    assert lifted.status_code == 302
    with scoping.unscoped():
        db.session().expire_all()
        row = db.session().get(HealthBarrier, situation_ids(world).health_barrier_id)
    assert row.status is BarrierStatus.LIFTED
    assert row.in_progress_on is None
    csrf = token(client, _barrier_url(world))
    again = send(
        client,
        _barrier_url(world, "/statut"),
        {"status": "en_cours", "version": str(row.version)},
        csrf=csrf,
    )
    assert again.status_code == 422
    assert "Ce frein est levé : son statut ne change plus." in text(again)
    assert "health:barrier:lifted" in _kinds(world)


# -- the history: health events are health data -------------------------------------------------


def test_health_events_show_in_the_history_only_to_those_who_read_the_compartment(
    make_client, world, login_as
):
    health, referent = make_client(), make_client()
    login_as(health, world.health_member.account, world.health_member.membership)
    login_as(referent, world.referent.account, world.referent.membership)
    note = health.submit(
        _url(world, "/notes"), {"body": "Bilan fait ce jour."}, form_page=_url(world)
    )
    assert note.status_code == 302
    history = f"/personnes/{world.person.id}/historique"
    assert "Note du volet santé ajoutée" in text(health.get(history))
    assert "Note du volet santé ajoutée" in text(health.get(f"{history}?domaine=health"))
    assert "Note du volet santé ajoutée" not in text(referent.get(history))
    give_consent(world, world.departement_org.id)
    assert "Note du volet santé ajoutée" in text(referent.get(history))


@pytest.mark.parametrize(
    ("who", "status", "forms"),
    [
        ("referent", 200, True),  # manages the group: records what the person says in person
        ("ml_member", 200, False),  # reads the group only
        ("health_member", 200, False),
        ("outsider", 403, False),
        ("foreign", 404, False),
        ("other_person", 404, False),
    ],
)
def test_the_consents_page_per_role(client, world, login_as, who, status, forms):
    actor_id = _login(client, login_as, world, who)
    response = client.get(_url(world, "/accords"))
    body = text(response)
    assert response.status_code == status
    assert ("Enregistrer l'accord de la personne" in body) is forms
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=actor_id)
    if status == 200:
        assert "Mission locale de Limoges" in body
        assert [(r.section, r.tag, r.outcome) for r in rows] == [
            ("group:read", "health:consents:read", Outcome.ALLOWED)
        ]
    else:
        assert "Benali" not in body
        assert [(r.section, r.outcome) for r in rows] == [("group:read", Outcome.DENIED)]


def test_the_person_is_sent_to_his_or_her_own_consents_page(client, world, login_as):
    login_as(client, world.person_account)
    response = client.get(_url(world, "/accords"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mon-carnet/sante/accords")


def test_the_consents_page_of_the_person_space_is_only_for_people(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get("/mon-carnet/sante/accords")
    assert response.status_code == 404
    assert "Cet espace est réservé aux personnes accompagnées." in text(response)
