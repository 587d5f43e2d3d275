"""The job-retention checks, 6 and 12 months after an exit to employment: the chargé
d'orientation's list of what is due, answering one, a stale copy, and who may do it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from carnet import clock, db
from carnet.errors import Conflict
from carnet.orientation import exits
from carnet.orientation.models import EmploymentKind, JobFollowUp, JourneyExit
from carnet.records.models import Journey, JourneyExitReason, TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import Outcome
from tests.factories import BeneficiaryFactory
from tests.orientation.exit_seed import follow_up_of
from tests.records.world import audit_rows, build_world, count, send, text, token
from tests.workspace.people import principal


@pytest.fixture
def world(db_session: Any) -> Any:
    world = build_world()
    follow_up_of(world)
    return world


def _list_url() -> str:
    return "/orientation/suivis-emploi"


def _url(world: Any, follow_up_id: uuid.UUID | None = None) -> str:
    return f"/personnes/{world.person.id}/suivis-emploi/{follow_up_id or world.follow_up_id}"


def _fresh(follow_up_id: uuid.UUID) -> JobFollowUp:
    with scoping.unscoped():
        db.session().expire_all()
        row = db.session().get(JobFollowUp, follow_up_id)
        assert row is not None
        return row


def _answered() -> int:
    with scoping.unscoped():
        return len(
            list(
                db.session().scalars(
                    select(JobFollowUp.id).where(JobFollowUp.checked_on.isnot(None))
                )
            )
        )


def _exit_for(person: Any, departement_id: uuid.UUID, exited_on: dt.date) -> JourneyExit:
    journey = Journey(
        id=uuid.uuid4(),
        departement_id=departement_id,
        beneficiary_id=person.id,
        opened_on=exited_on - dt.timedelta(days=300),
        closed_on=exited_on,
        exit_reason=JourneyExitReason.EMPLOYMENT,
    )
    row = JourneyExit(
        id=uuid.uuid4(),
        departement_id=departement_id,
        beneficiary_id=person.id,
        journey_id=journey.id,
        reason=JourneyExitReason.EMPLOYMENT,
        employment_kind=EmploymentKind.CDD_SHORT,
        is_positive=False,
        exited_on=exited_on,
    )
    session = db.session()
    session.add(journey)
    session.flush()
    session.add(row)
    session.flush()
    return row


def _check(row: JourneyExit, months: int, due_on: dt.date, **answer: Any) -> JobFollowUp:
    check = JobFollowUp(
        id=uuid.uuid4(),
        departement_id=row.departement_id,
        beneficiary_id=row.beneficiary_id,
        exit_id=row.id,
        months=months,
        due_on=due_on,
        **answer,
    )
    db.session().add(check)
    db.session().flush()
    return check


def _answer(**overrides: Any) -> dict[str, str]:
    return {"still_employed": "oui", "checked_on": clock.today().isoformat(), "version": "1"} | {
        key: str(value) for key, value in overrides.items()
    }


# -- the list -------------------------------------------------------------------------------------


def test_the_officer_lists_what_is_due_oldest_first(client, world, login_as):
    today = clock.today()
    yanis = _exit_for(world.other_person, world.departement_id, today - dt.timedelta(days=190))
    soon = _check(yanis, 6, today + dt.timedelta(days=5))
    _check(yanis, 12, today + dt.timedelta(days=30))  # not yet: beyond a week
    done = _exit_for(
        BeneficiaryFactory(departement_id=world.departement_id, family_name="Répondu"),
        world.departement_id,
        today - dt.timedelta(days=400),
    )
    _check(done, 12, today - dt.timedelta(days=30), checked_on=today, still_employed=True)
    elsewhere = _exit_for(
        BeneficiaryFactory(departement_id=world.other_departement_id, family_name="Ailleurs"),
        world.other_departement_id,
        today - dt.timedelta(days=200),
    )
    _check(elsewhere, 6, today - dt.timedelta(days=5))
    login_as(client, world.officer.account, world.officer.membership)
    response = client.get(_list_url())
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Suivis de l'emploi</h1>" in body
    assert "3 points de suivi à faire" in body
    ids = [world.follow_up_id, *_twelve_month_id(world), soon.id]
    positions = [body.index(f'id="suivi-{follow_up_id}"') for follow_up_id in ids]
    assert positions == sorted(positions)
    assert body.count("En retard") == 2
    assert "Sofia Benali" in body
    assert "Yanis Autre" in body
    assert "Répondu" not in body
    assert "Ailleurs" not in body
    assert "point à 6 mois, prévu le 30 décembre 2025" in body
    rows = audit_rows(actor_account_id=world.officer.id, tag="orientation:follow_ups:listed")
    assert [(r.outcome, r.beneficiary_id) for r in rows] == [(Outcome.ALLOWED, None)]


def _twelve_month_id(world: Any) -> list[uuid.UUID]:
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(JobFollowUp.id).where(
                    JobFollowUp.exit_id == world.earlier_exit_id, JobFollowUp.months == 12
                )
            )
        )


def test_an_empty_list_says_so_and_logs_nothing(client, world, login_as):
    with scoping.unscoped():
        db.session().execute(
            update(JobFollowUp).values(
                checked_on=clock.today(), still_employed=False, version=JobFollowUp.version + 1
            )
        )
    login_as(client, world.officer.account, world.officer.membership)
    body = text(client.get(_list_url()))
    assert "Aucun point de suivi de l'emploi n'est à faire pour l'instant." in body
    assert audit_rows(actor_account_id=world.officer.id, tag="orientation:follow_ups:listed") == []


@pytest.mark.parametrize("who", ["referent", "departement_admin", "structure_admin"])
def test_others_have_no_retention_checks_to_do(client, world, login_as, who):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    response = client.get(_list_url())
    assert response.status_code == 403
    body = text(response)
    assert "Votre rôle ne permet pas de consulter les suivis de l'emploi." in body
    assert "Benali" not in body


def test_the_person_has_no_retention_list(client, world, login_as):
    login_as(client, world.person_account)
    assert client.get(_list_url()).status_code == 403


# -- answering a check ----------------------------------------------------------------------------


def test_the_officer_answers_a_check(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    csrf = token(client, _list_url())
    response = send(client, _url(world), _answer(still_employed="non"), csrf=csrf)
    assert response.status_code == 302
    assert response.headers["Location"] == _list_url()
    row = _fresh(world.follow_up_id)
    assert (row.checked_on, row.still_employed, row.checked_by_account_id, row.version) == (
        clock.today(),
        False,
        world.officer.id,
        2,
    )
    with scoping.unscoped():
        (event,) = db.session().scalars(
            select(TimelineEvent).where(TimelineEvent.kind == "orientation:follow_up:recorded")
        )
    assert event.journey_id == world.earlier_journey_id
    assert event.details == {
        "follow_up_id": str(world.follow_up_id),
        "exit_id": str(world.earlier_exit_id),
        "months": 6,
        "still_employed": False,
    }
    rows = audit_rows(beneficiary_id=world.person.id, tag="orientation:follow_up:recorded")
    assert [(r.actor_account_id, r.outcome, r.object_id, r.section) for r in rows] == [
        (world.officer.id, Outcome.ALLOWED, world.follow_up_id, "orientation:write")
    ]
    listing = text(client.get(_list_url()))
    assert "Le point de suivi de l'emploi est enregistré." in listing
    assert f'id="suivi-{world.follow_up_id}"' not in listing
    history = text(client.get(f"/personnes/{world.person.id}/historique"))
    assert "Point de suivi de l'emploi enregistré" in history


def test_a_stale_copy_is_refused_and_the_current_answer_shown(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    csrf = token(client, _list_url())
    assert send(client, _url(world), _answer(), csrf=csrf).status_code == 302
    before = (count(TimelineEvent), _answered())
    # A colleague's tab, loaded before the answer: version 1.
    response = send(client, _url(world), _answer(still_employed="non"), csrf=csrf)
    body = text(response)
    assert response.status_code == 409
    assert "Quelqu'un d'autre a enregistré ce point de suivi" in body
    assert "Rien n'a été enregistré." in body
    assert "toujours en emploi." in body
    assert (count(TimelineEvent), _answered()) == before
    assert _fresh(world.follow_up_id).still_employed is True


def test_an_answer_racing_another_is_refused_by_the_version(world):
    officer = principal(world.officer, world.departement_org)
    session = db.session()
    session.get(JobFollowUp, world.follow_up_id)  # our copy, at version 1
    # Another transaction answers between our read and our write.
    session.execute(
        update(JobFollowUp)
        .where(JobFollowUp.id == world.follow_up_id)
        .values(checked_on=clock.today(), still_employed=True, version=2)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict) as refused:
        exits.record_follow_up(
            actor=officer,
            beneficiary_id=world.person.id,
            follow_up_id=world.follow_up_id,
            still_employed=False,
            checked_on=clock.today(),
            version=1,
        )
    assert refused.value.code == "stale"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"checked_on": "2099-01-01"}, "La date du point de suivi ne peut pas être dans le futur."),
        (
            {"checked_on": "2025-06-29"},
            "Le point de suivi ne peut pas précéder la sortie de parcours, le 30/06/2025.",
        ),
        ({"still_employed": "peut-être"}, "Indiquez si la personne est toujours en emploi"),
        ({"checked_on": "demain"}, "Saisissez une date valide"),
        ({"version": "x"}, "Le formulaire est incomplet : rechargez la page."),
        ({"note": "texte libre"}, "Ce champ n'est pas attendu dans ce formulaire."),
    ],
)
def test_bad_answers_get_french_messages_and_write_nothing(client, world, login_as, data, message):
    login_as(client, world.officer.account, world.officer.membership)
    csrf = token(client, _list_url())
    before = (count(TimelineEvent), _answered())
    response = send(client, _url(world), _answer(**data), csrf=csrf)
    body = text(response)
    assert response.status_code == 422
    assert message in body
    assert "Point de suivi de l'emploi à 6 mois" in body
    assert (count(TimelineEvent), _answered()) == before


def test_an_empty_answer_is_sent_back(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    response = send(client, _url(world), {}, csrf=token(client, _list_url()))
    body = text(response)
    assert response.status_code == 422
    assert "Indiquez si la personne est toujours en emploi" in body
    assert "Indiquez la date du point de suivi." in body


@pytest.mark.parametrize(("who", "status"), [("referent", 403), ("foreign", 404)])
def test_only_the_orientation_answers_checks(client, world, login_as, who, status):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    for data in (_answer(), {}):
        response = send(client, _url(world), data)
        assert response.status_code == status
        assert "Benali" not in text(response)
    assert _answered() == 0


def test_a_check_of_someone_else_is_not_found_on_this_record(client, world, login_as):
    yanis = _exit_for(world.other_person, world.departement_id, dt.date(2026, 1, 31))
    other = _check(yanis, 6, dt.date(2026, 7, 31))
    login_as(client, world.officer.account, world.officer.membership)
    csrf = token(client, _list_url())
    for follow_up_id in (other.id, uuid.uuid4()):
        response = send(client, _url(world, follow_up_id), _answer(), csrf=csrf)
        assert response.status_code == 404
        assert "Ce point de suivi n'existe pas pour cette personne." in text(response)
    assert _answered() == 0


def test_a_closing_to_employment_puts_its_checks_in_the_list(world):
    officer = principal(world.officer, world.departement_org)
    # Yanis's journey opened on 1 February 2026; his job began about 200 days ago.
    exited_on = clock.today() - dt.timedelta(days=200)
    exits.close_journey(
        actor=officer,
        beneficiary_id=world.other_person.id,
        reason=JourneyExitReason.EMPLOYMENT,
        employment_kind=EmploymentKind.CDI,
        exited_on=exited_on,
    )
    listing = exits.list_due_follow_ups(actor=officer)
    listed = {(item.beneficiary_id, item.months) for item in listing.items}
    assert (world.other_person.id, 6) in listed
    assert (world.other_person.id, 12) not in listed
    assert {item.display_name for item in listing.items} == {"Sofia Benali", "Yanis Autre"}
