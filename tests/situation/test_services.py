"""Service-level behaviours: the person as the actor (declarations are his or hers), the
rules the database holds, and the history's French words for every event written here."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carnet import clock, db
from carnet.records import services as records
from carnet.records.gate import record_facts
from carnet.records.models import TimelineEvent
from carnet.security import policy
from carnet.security.audit import AccessEvent
from carnet.security.permissions import Level, OrganisationKind, PrincipalRole, Section
from carnet.security.principal import Principal
from carnet.situation import health as health_services
from carnet.situation import services
from carnet.situation.common import BarrierData, StatusChange
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    EducationLevel,
)
from tests.records.world import build_world
from tests.situation.world import SITUATION_LABEL, situation_ids


@pytest.fixture
def world(db_session: Any) -> Any:
    world = build_world()
    situation_ids(world)
    return world


def _person(world: Any, account: Any = None, beneficiary: Any = None) -> Principal:
    return Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=(account or world.person_account).id,
        departement_id=world.departement_id,
        beneficiary_id=(beneficiary or world.person).id,
    )


def _referent(world: Any) -> Principal:
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.referent.id,
        departement_id=world.departement_id,
        organisation_id=world.departement_org.id,
        organisation_kind=OrganisationKind.DEPARTEMENT,
        membership_id=world.referent.membership.id,
    )


def test_the_person_declares_a_frein_on_his_or_her_own_record(world):
    barrier_id = services.add_barrier(
        actor=_person(world),
        beneficiary_id=world.person.id,
        data=BarrierData(
            label="Pas de place en crèche pour ma fille",
            details="Je ne peux pas aller aux ateliers le matin.",
            theme_id=world.theme_id,
        ),
    )
    row = db.session().get(Barrier, barrier_id)
    assert row.declared_by is Declarant.PERSON
    assert row.author_account_id == world.person_account.id
    assert row.author_organisation_id is None
    assert row.status is BarrierStatus.IDENTIFIED
    assert row.identified_on == clock.today()
    event = db.session().scalar(
        select(TimelineEvent).where(TimelineEvent.kind == "situation:barrier:added")
    )
    assert event.actor_account_id == world.person_account.id
    assert event.details["declared_by"] == "personne"
    audit = db.session().scalar(
        select(AccessEvent).where(AccessEvent.tag == "situation:barrier:added")
    )
    assert (audit.section, audit.actor_role, audit.object_id) == (
        "situation:write",
        "beneficiary",
        barrier_id,
    )
    page = services.get_situation(actor=_referent(world), beneficiary_id=world.person.id)
    mine = next(b for b in page.barriers if b.id == barrier_id)
    assert mine.author_label == "la personne"
    assert mine.declared_by is Declarant.PERSON


def test_the_person_moves_his_or_her_own_frein_forward(world):
    barrier_id = situation_ids(world).barrier_id
    status = services.change_barrier_status(
        actor=_person(world),
        beneficiary_id=world.person.id,
        barrier_id=barrier_id,
        change=StatusChange(BarrierStatus.LIFTED, None, 1),
    )
    assert status is BarrierStatus.LIFTED
    row = db.session().get(Barrier, barrier_id)
    assert row.lifted_on == clock.today()
    # Declared by the référent: a change of status does not change who declared it.
    assert row.declared_by is Declarant.PROFESSIONAL


def test_the_person_records_a_version_of_the_diagnostic(world):
    ids = situation_ids(world)
    diagnostic_id = services.record_diagnostic(
        actor=_person(world),
        beneficiary_id=world.person.id,
        data=services.DiagnosticData(
            education_level=EducationLevel.CAP_BEP,
            digital_autonomy=None,
            entry_ids=(ids.situation_entry_id,),
            others=(),
            strengths=("Très entourée par sa sœur",),
            skills=("Vente en boulangerie",),
            summary="Je veux d'abord un logement.",
            based_on=1,
        ),
    )
    row = db.session().get(Diagnostic, diagnostic_id)
    assert (row.number, row.declared_by) == (2, Declarant.PERSON)
    page = services.get_diagnostic(
        actor=_referent(world), beneficiary_id=world.person.id, diagnostic_id=diagnostic_id
    )
    assert page.diagnostic.author_label == "la personne"
    assert page.changes is not None
    assert page.changes.summary_changed
    assert not page.changes.situations_added


def test_the_person_reads_but_does_not_write_the_health_compartment(world):
    page = health_services.get_health(actor=_person(world), beneficiary_id=world.person.id)
    assert not page.can_write
    with pytest.raises(policy.PolicyDenied):
        health_services.add_health_note(
            actor=_person(world), beneficiary_id=world.person.id, body="Une note"
        )


def test_another_person_cannot_declare_on_a_record_not_his_or_her_own(world):
    other = _person(world, world.other_person_account, world.other_person)
    with pytest.raises(policy.PolicyNotFound):
        services.add_barrier(
            actor=other,
            beneficiary_id=world.person.id,
            data=BarrierData(label="Un frein", details=None, theme_id=world.theme_id),
        )


def test_the_persons_consent_reaches_the_policy_at_once(world):
    referent = _referent(world)

    def can_read() -> bool:
        facts = record_facts(db.session(), referent, world.person)
        return policy.can(referent, facts, Section.HEALTH, Level.READ)

    assert not can_read()
    change = health_services.change_health_consent(
        actor=_person(world),
        beneficiary_id=world.person.id,
        organisation_id=world.departement_org.id,
        grant=True,
    )
    assert change.mode is health_services.ConsentMode.AUTONOMOUS
    assert change.organisation_label == "Service insertion du Département"
    assert can_read()
    health_services.change_health_consent(
        actor=_person(world),
        beneficiary_id=world.person.id,
        organisation_id=world.departement_org.id,
        grant=False,
    )
    assert not can_read()


# -- what the database holds -----------------------------------------------------------------------


def test_two_versions_with_the_same_number_are_refused_by_the_database(world):
    session = db.session()
    session.add(
        Diagnostic(
            id=uuid.uuid4(),
            departement_id=world.departement_id,
            beneficiary_id=world.person.id,
            number=1,
            declared_by=Declarant.PROFESSIONAL,
        )
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


@pytest.mark.parametrize(
    ("status", "started", "lifted"),
    [
        (BarrierStatus.LIFTED, None, None),  # levé without its date
        (BarrierStatus.IDENTIFIED, -1, None),  # identifié with a start date
        (BarrierStatus.IN_PROGRESS, -40, None),  # started before it was identified
    ],
)
def test_a_status_and_its_dates_always_agree(world, status, started, lifted):
    session = db.session()
    today = clock.today()
    session.add(
        Barrier(
            departement_id=world.departement_id,
            beneficiary_id=world.person.id,
            theme_id=world.theme_id,
            label=SITUATION_LABEL,
            status=status,
            identified_on=today - dt.timedelta(days=30),
            in_progress_on=None if started is None else today + dt.timedelta(days=started),
            lifted_on=lifted,
            declared_by=Declarant.PROFESSIONAL,
        )
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


# -- the history's words ---------------------------------------------------------------------------


def test_every_event_written_here_has_a_french_label_and_a_domain():
    kinds = [*services.Event, *health_services.Event]
    for kind in kinds:
        assert kind in records.EVENT_LABELS, kind
        assert kind.split(":", 1)[0] in records.DOMAIN_LABELS, kind
    health = [kind for kind in kinds if kind.startswith("health:")]
    assert all(kind.startswith(records.HEALTH_KIND_PREFIX) for kind in health)
    assert health
