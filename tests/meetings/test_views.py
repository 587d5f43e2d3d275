"""Appointments and notes through HTTP: who may read and write them, what is audited, how
private notes stay private, stale saves, malformed input and the sealed note body."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.meetings.models import Appointment, Attendance, Note, NoteVisibility
from carnet.meetings.services import NOTE_COLUMN, NOTE_TABLE
from carnet.records.models import TimelineEvent
from carnet.security import crypto, scoping
from carnet.security.permissions import Outcome
from tests.records.world import audit_rows, build_world, count, send, text, token

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world(db_session: Any) -> Any:
    return build_world()


def _url(world: Any, suffix: str = "") -> str:
    return f"/personnes/{world.person.id}{suffix}"


def _appointment_url(world: Any, suffix: str = "") -> str:
    return _url(world, f"/rendez-vous/{world.appointment.id}{suffix}")


def _stored(appointment_id: Any) -> Appointment:
    with scoping.unscoped():
        row = db.session().get(Appointment, appointment_id)
        assert row is not None
        db.session().refresh(row)
        return row


def _notes() -> list[Note]:
    with scoping.unscoped():
        return list(db.session().scalars(select(Note)))


def _events(kind: str) -> list[TimelineEvent]:
    with scoping.unscoped():
        return list(db.session().scalars(select(TimelineEvent).where(TimelineEvent.kind == kind)))


def _future_form(days: int = 3, **extra: str) -> dict[str, str]:
    day = (clock.now() + dt.timedelta(days=days)).astimezone(PARIS).date()
    return {
        "kind": "tripartite",
        "date": day.isoformat(),
        "time": "14:30",
        "channel": "sur_place",
        "place": "CMS de Limoges Nord, salle 2",
        "topics": "Préparer le dossier de formation",
        **extra,
    }


def _login(client: Any, login_as: Any, pro: Any) -> Any:
    login_as(client, pro.account, pro.membership)
    return client


# -- appointments: allowed and refused, with their audit rows --------------------------------------


def test_referent_lists_appointments_and_plans_one(client, world, login_as):
    _login(client, login_as, world.referent)
    page = client.get(_url(world, "/rendez-vous"))
    body = text(page)
    assert page.status_code == 200
    assert "Rendez-vous de Sofia Benali" in body
    assert "Maison du département, Limoges" in body
    assert "Prévoir un rendez-vous" in body
    listed = audit_rows(actor_account_id=world.referent.id, tag="meetings:appointments:listed")
    assert [(r.section, r.outcome) for r in listed] == [("appointments:read", Outcome.ALLOWED)]

    csrf = token(client, _url(world, "/rendez-vous"))
    response = send(client, _url(world, "/rendez-vous"), _future_form(), csrf=csrf)
    assert response.status_code == 302
    with scoping.unscoped():
        created = (
            db.session()
            .scalars(select(Appointment).where(Appointment.id != world.appointment.id))
            .one()
        )
    assert response.headers["Location"].endswith(f"/rendez-vous/{created.id}")
    assert created.professional_account_id == world.referent.id
    assert created.organisation_id == world.departement_org.id
    assert created.version == 1
    local = created.starts_at.astimezone(PARIS)
    assert (local.hour, local.minute) == (14, 30)
    assert created.starts_at.tzinfo is not None
    events = _events("meetings:appointment:created")
    assert [e.details for e in events] == [{"appointment_id": str(created.id)}]
    rows = audit_rows(actor_account_id=world.referent.id, tag="meetings:appointment:created")
    assert [(r.section, r.object_id, r.outcome) for r in rows] == [
        ("appointments:write", created.id, Outcome.ALLOWED)
    ]

    shown = text(client.get(response.headers["Location"]))
    assert "Tripartite" in shown
    assert "Préparer le dossier de formation" in shown
    assert "La présence pourra être notée une fois l'heure du rendez-vous passée." in shown


def test_mission_locale_member_reads_and_writes_appointments(client, world, login_as):
    _login(client, login_as, world.ml_member)
    response = client.get(_appointment_url(world))
    assert response.status_code == 200
    assert "Noter la présence" in text(response)
    assert "Romane Référente" in text(response)


@pytest.mark.parametrize("path", ["/rendez-vous", "/notes", "/rendez-vous/{appointment}"])
def test_outsider_of_the_departement_is_refused_with_a_denied_audit_row(
    client, world, login_as, path
):
    _login(client, login_as, world.outsider)
    response = client.get(_url(world, path.format(appointment=world.appointment.id)))
    body = text(response)
    assert response.status_code == 403
    assert "Benali" not in body
    assert "Maison du département" not in body
    rows = audit_rows(actor_account_id=world.outsider.id, beneficiary_id=world.person.id)
    assert [r.outcome for r in rows] == [Outcome.DENIED]
    assert rows[0].section in ("appointments:read", "notes:read")


def test_professional_of_another_departement_finds_nothing(client, world, login_as):
    _login(client, login_as, world.foreign)
    assert client.get(_url(world, "/rendez-vous")).status_code == 404
    assert client.get(_url(world, "/notes")).status_code == 404
    rows = audit_rows(actor_account_id=world.foreign.id)
    assert {r.outcome for r in rows} == {Outcome.DENIED}


def test_outsider_cannot_plan_an_appointment_and_nothing_is_written(client, world, login_as):
    _login(client, login_as, world.outsider)
    before = count(Appointment), count(TimelineEvent)
    response = send(client, _url(world, "/rendez-vous"), _future_form())
    assert response.status_code == 403
    assert (count(Appointment), count(TimelineEvent)) == before
    rows = audit_rows(actor_account_id=world.outsider.id, beneficiary_id=world.person.id)
    assert [(r.section, r.outcome) for r in rows] == [("appointments:write", Outcome.DENIED)]


def test_appointment_of_another_person_is_not_found(client, world, login_as):
    with scoping.unscoped():
        other = Appointment(
            departement_id=world.departement_id,
            beneficiary_id=world.other_person.id,
            kind="individuel",
            starts_at=clock.now(),
            channel="telephone",
            organisation_id=world.departement_org.id,
            professional_account_id=world.colleague.id,
        )
        db.session().add(other)
        db.session().flush()
    _login(client, login_as, world.referent)
    response = client.get(_url(world, f"/rendez-vous/{other.id}"))
    assert response.status_code == 404
    assert "Ce rendez-vous n'existe pas ou n'existe plus." in text(response)


# -- attendance and cancellation -------------------------------------------------------------------


def test_attendance_is_recorded_after_the_time(client, world, login_as):
    _login(client, login_as, world.referent)
    csrf = token(client, _appointment_url(world))
    response = send(
        client,
        _appointment_url(world, "/presence"),
        {"attendance": "excuse", "version": "1"},
        csrf=csrf,
    )
    assert response.status_code == 302
    stored = _stored(world.appointment.id)
    assert stored.attendance is Attendance.EXCUSED
    assert stored.attendance_recorded_by_id == world.referent.id
    assert stored.version == 2
    assert [e.details for e in _events("meetings:attendance:recorded")] == [
        {"appointment_id": str(world.appointment.id)}
    ]
    rows = audit_rows(actor_account_id=world.referent.id, tag="meetings:attendance:recorded")
    assert [(r.section, r.outcome) for r in rows] == [("appointments:write", Outcome.ALLOWED)]
    page = text(client.get(_appointment_url(world)))
    assert "Excusé·e" in page
    assert "Corriger la présence" in page
    assert "Modifier le rendez-vous" not in page


def test_attendance_of_a_future_appointment_is_refused_in_french(client, world, login_as):
    with scoping.unscoped():
        row = db.session().get(Appointment, world.appointment.id)
        row.starts_at = clock.now() + dt.timedelta(days=1)
        db.session().flush()
    _login(client, login_as, world.referent)
    response = send(
        client, _appointment_url(world, "/presence"), {"attendance": "present", "version": "2"}
    )
    assert response.status_code == 422
    assert "La présence se note une fois l'heure du rendez-vous passée." in text(response)
    assert _stored(world.appointment.id).attendance is None
    assert _events("meetings:attendance:recorded") == []


def test_cancelled_appointment_takes_no_attendance(client, world, login_as):
    _login(client, login_as, world.referent)
    csrf = token(client, _appointment_url(world))
    response = send(
        client,
        _appointment_url(world, "/annulation"),
        {"reason": "La personne a demandé un report", "version": "1"},
        csrf=csrf,
    )
    assert response.status_code == 302
    stored = _stored(world.appointment.id)
    assert stored.is_cancelled
    assert stored.cancellation_reason == "La personne a demandé un report"
    refused = send(
        client,
        _appointment_url(world, "/presence"),
        {"attendance": "present", "version": "2"},
        csrf=csrf,
    )
    assert refused.status_code == 409
    assert "Ce rendez-vous est annulé" in text(refused)
    assert _stored(world.appointment.id).attendance is None


# -- editing that never loses work -----------------------------------------------------------------


def test_stale_edit_is_refused_showing_current_values_and_keeping_the_input(
    make_client, world, login_as
):
    referent = _login(make_client(), login_as, world.referent)
    member = _login(make_client(), login_as, world.ml_member)
    referent_csrf = token(referent, _appointment_url(world))
    member_csrf = token(member, _appointment_url(world))

    first = send(
        member,
        _appointment_url(world, "/modifier"),
        _future_form(place="Mission locale, 3 rue Neuve", topics="Atelier CV", version="1"),
        csrf=member_csrf,
    )
    assert first.status_code == 302
    assert _stored(world.appointment.id).version == 2

    mine = _future_form(
        days=5, place="Maison du département", topics="Mes sujets tapés longuement", version="1"
    )
    stale = send(referent, _appointment_url(world, "/modifier"), mine, csrf=referent_csrf)
    body = text(stale)
    assert stale.status_code == 409
    assert "modifié par quelqu'un d'autre pendant votre saisie : rien n'a été enregistré" in body
    assert "Valeur actuelle" in body
    assert "Mission locale, 3 rue Neuve" in body  # the current value is shown
    assert "Atelier CV" in body
    assert ">Mes sujets tapés longuement</textarea>" in body  # the input is kept in the form
    assert 'name="version" value="2"' in body
    stored = _stored(world.appointment.id)
    assert (stored.place, stored.topics, stored.version) == (
        "Mission locale, 3 rue Neuve",
        "Atelier CV",
        2,
    )
    assert len(_events("meetings:appointment:updated")) == 1

    again = send(
        referent, _appointment_url(world, "/modifier"), {**mine, "version": "2"}, csrf=referent_csrf
    )
    assert again.status_code == 302
    stored = _stored(world.appointment.id)
    assert (stored.topics, stored.version) == ("Mes sujets tapés longuement", 3)


def test_stale_attendance_is_refused(client, world, login_as):
    _login(client, login_as, world.referent)
    csrf = token(client, _appointment_url(world))
    send(
        client,
        _appointment_url(world, "/presence"),
        {"attendance": "present", "version": "1"},
        csrf=csrf,
    )
    stale = send(
        client,
        _appointment_url(world, "/presence"),
        {"attendance": "absent", "version": "1"},
        csrf=csrf,
    )
    assert stale.status_code == 409
    assert "rien n'a été enregistré" in text(stale)
    assert _stored(world.appointment.id).attendance is Attendance.PRESENT


# -- malformed input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/rendez-vous", {"kind": "festif"}, "Choisissez le type de rendez-vous"),
        ("/rendez-vous", {"date": "31/02/2027"}, "Saisissez une date valide"),
        ("/rendez-vous", {"time": "25:99"}, "Saisissez une heure valide"),
        ("/rendez-vous", {"date": "2071-01-01"}, "dans deux ans au plus"),
        ("/rendez-vous", {"place": ""}, "Indiquez le lieu du rendez-vous"),
        ("/rendez-vous", {"topics": "x" * 2001}, "Les sujets à aborder doit compter"),
        ("/rendez-vous", {"pirate": "1"}, "Ce champ n'est pas attendu dans ce formulaire."),
        ("/notes", {"body": "", "visibility": "groupe"}, "Ce champ est obligatoire."),
        ("/notes", {"body": "Texte", "visibility": "publique"}, "Choisissez qui pourra lire"),
    ],
)
def test_malformed_input_is_refused_in_french_with_no_partial_row(
    client, world, login_as, path, data, message
):
    _login(client, login_as, world.referent)
    form = {**_future_form(), **data} if path == "/rendez-vous" else data
    before = count(Appointment), count(Note), count(TimelineEvent)
    response = send(client, _url(world, path), form)
    assert response.status_code == 422
    assert message in text(response)
    assert "Le formulaire contient des erreurs" in text(response)
    assert (count(Appointment), count(Note), count(TimelineEvent)) == before


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        ("/modifier", {"version": "abc"}),
        ("/presence", {"attendance": "peut-être", "version": "1"}),
        ("/presence", {"attendance": "present"}),
        ("/annulation", {"reason": "x", "version": "1"}),
        ("/notes", {"body": "y" * 5001, "visibility": "groupe"}),
    ],
)
def test_malformed_appointment_forms_change_nothing(client, world, login_as, suffix, data):
    _login(client, login_as, world.referent)
    form = {**_future_form(), **data} if suffix == "/modifier" else data
    before = count(Note), count(TimelineEvent)
    response = send(client, _appointment_url(world, suffix), form)
    assert response.status_code == 422
    assert "Le formulaire contient des erreurs" in text(response)
    stored = _stored(world.appointment.id)
    assert (stored.version, stored.attendance, stored.is_cancelled) == (1, None, False)
    assert (count(Note), count(TimelineEvent)) == before


# -- notes and their visibility --------------------------------------------------------------------


def _add_note(
    client: Any, world: Any, body: str, visibility: str, *, on_appointment: bool = False
) -> Any:
    url = _appointment_url(world, "/notes") if on_appointment else _url(world, "/notes")
    return send(client, url, {"body": body, "visibility": visibility})


def test_private_note_is_seen_by_its_author_only(make_client, world, login_as):
    referent = _login(make_client(), login_as, world.referent)
    assert _add_note(referent, world, "Confidence de la référente", "privee").status_code == 302
    assert _add_note(referent, world, "Bilan pour le groupe", "groupe").status_code == 302
    assert "Confidence de la référente" in text(referent.get(_url(world, "/notes")))

    member = _login(make_client(), login_as, world.ml_member)
    notes_page = text(member.get(_url(world, "/notes")))
    assert "Bilan pour le groupe" in notes_page
    assert "Confidence de la référente" not in notes_page
    assert "Privée" not in notes_page

    person = make_client()
    login_as(person, world.person_account)
    portal = text(person.get("/mon-carnet/rendez-vous"))
    assert "Confidence de la référente" not in portal
    assert "Bilan pour le groupe" not in portal
    # The person's own URL of the professional page leads to his or her space.
    assert person.get(_url(world, "/notes")).headers["Location"].endswith("/mon-carnet/rendez-vous")

    event = _events("meetings:note:added")[0]
    assert set(event.details) == {"note_id", "visibility"}
    rows = audit_rows(actor_account_id=world.referent.id, tag="meetings:note:added")
    assert [(r.section, r.outcome) for r in rows] == [("notes:write", Outcome.ALLOWED)] * 2


def test_shared_note_reaches_the_person_in_the_portal(make_client, world, login_as):
    referent = _login(make_client(), login_as, world.referent)
    response = _add_note(referent, world, "Bravo pour l'entretien", "partagee", on_appointment=True)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rendez-vous/{world.appointment.id}")
    assert "Bravo pour l'entretien" in text(referent.get(_appointment_url(world)))

    person = make_client()
    login_as(person, world.person_account)
    page = person.get("/mon-carnet/rendez-vous")
    body = text(page)
    assert page.status_code == 200
    assert "<h1>Mes rendez-vous</h1>" in body
    assert "Bravo pour l'entretien" in body
    assert "Partagée avec vous" in body
    assert "Maison du département, Limoges" in body
    rows = audit_rows(actor_account_id=world.person_account.id, beneficiary_id=world.person.id)
    assert [(r.tag, r.outcome) for r in rows] == [
        ("meetings:appointments:listed", Outcome.ALLOWED),
        ("meetings:notes:listed", Outcome.ALLOWED),
    ]
    note = _notes()[0]
    assert note.appointment_id == world.appointment.id
    assert note.visibility is NoteVisibility.SHARED


def test_private_note_is_absent_from_the_appointment_page_of_another_member(
    make_client, world, login_as
):
    referent = _login(make_client(), login_as, world.referent)
    _add_note(referent, world, "Mon ressenti personnel", "privee", on_appointment=True)
    member = _login(make_client(), login_as, world.ml_member)
    page = text(member.get(_appointment_url(world)))
    assert "Notes de ce rendez-vous" in page
    assert "Mon ressenti personnel" not in page
    assert "Aucune note pour l'instant." in page


def test_health_member_note_hides_the_sensible_structure(make_client, world, login_as):
    health = _login(make_client(), login_as, world.health_member)
    assert _add_note(health, world, "Orientation vers un suivi", "groupe").status_code == 302
    referent = _login(make_client(), login_as, world.referent)
    page = text(referent.get(_url(world, "/notes")))
    assert "Orientation vers un suivi" in page
    assert "CSAPA" not in page
    assert "Hélène" not in page
    assert "Professionnel·le" in page  # the author is not named either


def test_person_cannot_reach_professional_pages_of_another_record(client, world, login_as):
    login_as(client, world.other_person_account)
    assert client.get(_url(world, "/notes")).status_code == 404
    assert client.get(_url(world, "/rendez-vous")).status_code == 404


def test_note_body_is_not_stored_in_clear(client, world, login_as):
    _login(client, login_as, world.referent)
    secret = "Difficultés avec le bailleur, dette de 1200 euros"
    assert _add_note(client, world, secret, "groupe").status_code == 302
    note = _notes()[0]
    # The stored column itself, read as a database dump would show it.
    notes_table = Note.__table__
    with scoping.unscoped():
        raw = (
            db.session()
            .execute(select(notes_table.c.body_sealed).where(notes_table.c.id == note.id))
            .scalar_one()
        )
    sealed = bytes(raw)
    assert secret.encode() not in sealed
    assert b"bailleur" not in sealed
    assert re.search(rb"1200", sealed) is None
    field_crypto = crypto.current()
    opened = field_crypto.open(
        db.session(),
        beneficiary_id=world.person.id,
        table=NOTE_TABLE,
        column=NOTE_COLUMN,
        row_id=note.id,
        sealed=sealed,
    )
    assert opened == secret
    with pytest.raises(crypto.TamperedCiphertext):
        field_crypto.open(
            db.session(),
            beneficiary_id=world.person.id,
            table=NOTE_TABLE,
            column=NOTE_COLUMN,
            row_id=world.appointment.id,
            sealed=sealed,
        )
