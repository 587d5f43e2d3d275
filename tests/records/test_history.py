"""The record's history: the generated timeline, who reads it, its filters and its pages."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

from carnet import db
from carnet.demo import loader
from carnet.meetings import services as meetings_services
from carnet.meetings.models import NoteVisibility
from carnet.plan import services as plan_services
from carnet.records import services
from carnet.records.models import TimelineEvent
from carnet.security.permissions import Outcome
from tests.records.world import audit_rows, build_world, text

UTC = dt.UTC


@pytest.fixture
def world(db_session):
    return build_world()


def _url(world, query: str = "") -> str:
    return f"/personnes/{world.person.id}/historique{query}"


def _event(world, kind, at, *, actor=None, organisation=None, **details):
    row = TimelineEvent(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        kind=kind,
        occurred_at=at,
        actor_account_id=(actor or world.referent).id,
        actor_organisation_id=(organisation or world.departement_org).id,
        details=details,
    )
    db.session().add(row)
    db.session().flush()
    return row


def _moment(day: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, 0, tzinfo=UTC)


@pytest.fixture
def events(world):
    _event(world, "records:journey:opened", _moment(1, 1))
    _event(world, "plan:objective:created", _moment(5), objective_id=str(world.objective_id))
    _event(world, "meetings:appointment:created", _moment(10))
    _event(world, "records:group:member_added", _moment(12), organisation=world.csapa)
    _event(world, "records:something:new", _moment(15))


def _labels(body: str) -> list[str]:
    return re.findall(r'<p class="access-what">(.*?) <span', body)


def test_referent_reads_the_history_with_french_labels(client, world, events, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "Historique du carnet de Sofia Benali" in body
    # Newest first; an unknown kind keeps a neutral label.
    assert _labels(body) == [
        "Événement",
        "Professionnel ajouté au groupe de suivi",
        "Rendez-vous planifié",
        "Objectif ajouté au plan d'action",
        "Parcours ouvert",
    ]
    assert "5 événements" in body
    assert "Service insertion du Département" in body
    # A sensible structure the referent is not in keeps its neutral label.
    assert "CSAPA Les Tilleuls" not in body
    assert "Structure partenaire (nom protégé)" in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("history:read", "records:history:read", Outcome.ALLOWED)
    ]
    assert response.headers["Cache-Control"] == "no-store"


def test_the_record_page_links_to_the_history(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(f"/personnes/{world.person.id}"))
    assert f'href="/personnes/{world.person.id}/historique"' in body
    assert "Historique" in body


def test_outsider_is_refused_and_the_refusal_logged(client, world, events, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    response = client.get(_url(world))
    assert response.status_code == 403
    assert "Parcours ouvert" not in text(response)
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.outsider.id)
    assert [(r.section, r.outcome) for r in rows] == [("history:read", Outcome.DENIED)]


def test_other_departement_gets_not_found(client, world, events, login_as):
    login_as(client, world.foreign.account, world.foreign.membership)
    response = client.get(_url(world))
    assert response.status_code == 404
    assert "Benali" not in text(response)


def test_the_person_reads_his_or_her_own_history(client, world, events, login_as):
    login_as(client, world.person_account)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "Parcours ouvert" in body
    assert "Mon carnet" in body
    # The person sees the names of the structures that follow him or her.
    assert "CSAPA Les Tilleuls" in body


def test_period_filter_keeps_days_both_included(client, world, events, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_url(world, "?du=2026-03-05&au=10/03/2026")))
    assert _labels(body) == ["Rendez-vous planifié", "Objectif ajouté au plan d'action"]
    assert "2 événements" in body


def test_domain_filter_uses_the_kind_prefix(client, world, events, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    assert _labels(text(client.get(_url(world, "?domaine=plan")))) == [
        "Objectif ajouté au plan d'action"
    ]
    assert _labels(text(client.get(_url(world, "?domaine=records")))) == [
        "Événement",
        "Professionnel ajouté au groupe de suivi",
        "Parcours ouvert",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?du=demain", "Indiquez une date au format jj/mm/aaaa"),
        ("?du=2026-13-45", "Indiquez une date au format jj/mm/aaaa"),
        ("?du=9999-12-31", "Indiquez une date au format jj/mm/aaaa"),
        ("?du=2026-03-10&au=2026-03-01", "La date de fin doit être postérieure"),
        ("?domaine=sante", "Choisissez un domaine"),
        ("?page=0", "Ce numéro de page n'existe pas."),
        ("?page=abc", "Ce numéro de page n'existe pas."),
        ("?pirate=1", "Ce champ n'est pas attendu"),
    ],
)
def test_invalid_filters_are_answered_in_french(client, world, events, login_as, query, message):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(_url(world, query))
    body = text(response)
    assert response.status_code == 422
    assert message in body
    assert "Le formulaire contient des erreurs" in body
    assert _labels(body) == []


def test_invalid_filters_do_not_open_the_door_to_an_outsider(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    assert client.get(_url(world, "?du=demain")).status_code == 403


def test_a_private_note_is_seen_by_its_author_only(client, world, login_as):
    _event(world, "meetings:note:added", _moment(2), visibility="groupe")
    _event(
        world,
        "meetings:note:added",
        _moment(3),
        actor=world.ml_member,
        organisation=world.mission_locale,
        visibility=NoteVisibility.PRIVATE.value,
    )
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_url(world)))
    assert _labels(body) == ["Note ajoutée"]
    assert "1 événement" in body
    assert "Mission locale de Limoges" not in body

    author = client.application.test_client()
    login_as(author, world.ml_member.account, world.ml_member.membership)
    body = text(author.get(_url(world)))
    assert _labels(body) == ["Note ajoutée", "Note ajoutée"]
    assert "Mission locale de Limoges" in body


def test_the_history_is_paginated_by_fifty(client, world, login_as):
    start = dt.datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    for minute in range(55):
        _event(world, "meetings:appointment:updated", start + dt.timedelta(minutes=minute))
    _event(world, "records:journey:opened", start - dt.timedelta(days=1))
    login_as(client, world.referent.account, world.referent.membership)
    first = text(client.get(_url(world, "?domaine=meetings")))
    assert len(_labels(first)) == 50
    assert "Page 1 sur 2" in first
    assert "55 événements" in first
    assert "domaine=meetings" in first
    assert "page=2" in first
    second = text(client.get(_url(world, "?domaine=meetings&page=2")))
    assert len(_labels(second)) == 5
    assert "Parcours ouvert" not in second
    empty = client.get(_url(world, "?page=9"))
    assert empty.status_code == 200
    assert "Cette page est vide." in text(empty)


def test_every_kind_written_today_has_a_french_label():
    assert NoteVisibility.PRIVATE.value == services.PRIVATE_NOTE_VISIBILITY
    written = {*services.Event, *plan_services.Event, *meetings_services.Event}
    # The demo loader writes some kinds as literals, its meetings kinds without the prefix.
    source = Path(loader.__file__).read_text(encoding="utf-8")
    written |= set(re.findall(r'"(records:[a-z_]+:[a-z_]+)"', source))
    meetings_kinds = re.findall(r'"([a-z_]+:[a-z_]+)"', source)
    written |= {f"meetings:{kind}" for kind in meetings_kinds if not kind.startswith("cli:")}
    missing = sorted(kind for kind in written if kind not in services.EVENT_LABELS)
    assert not missing
