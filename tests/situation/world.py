"""Sofia's situation and health compartment, on top of the seeded world of
tests/records/world.py: the référentiel's situations (one social theme, one health theme),
a first diagnostic written by her référent, one frein périphérique, one health frein
written by the CSAPA, sealed. Shared by the situation tests and the route walker."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from carnet import clock, db
from carnet.records.models import Consent, ConsentScope
from carnet.referential.models import Aim, EntryKind, OarsaCategory, Theme, ThemeEntry
from carnet.security import crypto, scoping
from carnet.situation import health as health_services
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
    EducationLevel,
    HealthBarrier,
)
from tests.records.world import World

HEALTH_LABEL = "Douleurs de dos qui empêchent le port de charges"
SITUATION_LABEL = "Hébergé·e chez un proche"


@dataclass
class SituationIds:
    situation_entry_id: uuid.UUID  # « Hébergé·e chez un proche », theme Logement
    other_entry_id: uuid.UUID  # « Impayés de loyer », theme Logement
    health_theme_id: uuid.UUID
    health_entry_id: uuid.UUID
    diagnostic_id: uuid.UUID
    barrier_id: uuid.UUID
    health_barrier_id: uuid.UUID


def situation_ids(world: World) -> SituationIds:
    """Seed Sofia's situation once per world and return its ids."""
    found: SituationIds | None = getattr(world, "_situation_ids", None)
    if found is None:
        with scoping.unscoped():
            found = _seed(world)
        world._situation_ids = found  # type: ignore[attr-defined]
    return found


def _entry(theme: Any, label: str, position: int) -> ThemeEntry:
    return ThemeEntry(
        id=uuid.uuid4(),
        departement_id=theme.departement_id,
        theme_id=theme.id,
        kind=EntryKind.SITUATION,
        label=label,
        position=position,
    )


def _seed(world: World) -> SituationIds:
    session = db.session()
    person = world.person
    theme = session.get(Theme, world.theme_id)
    assert theme is not None
    situation = _entry(theme, SITUATION_LABEL, 1)
    other = _entry(theme, "Impayés de loyer ou menace d'expulsion", 2)
    health_theme = Theme(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        code="sante",
        label="Santé",
        aim=Aim.SOCIAL,
        oarsa_category=OarsaCategory.SANTE,
        position=9,
    )
    session.add_all([situation, other, health_theme])
    session.flush()
    health_entry = _entry(health_theme, "Problème de santé qui limite l'activité", 1)
    session.add(health_entry)
    author = {
        "author_account_id": world.referent.id,
        "author_organisation_id": world.departement_org.id,
    }
    diagnostic = Diagnostic(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=world.journey.id,
        number=1,
        recorded_at=clock.now() - dt.timedelta(days=30),
        declared_by=Declarant.PROFESSIONAL,
        education_level=EducationLevel.CAP_BEP,
        strengths=["Très entourée par sa sœur"],
        skills=["Vente en boulangerie"],
        summary="Cherche un logement à elle avant de reprendre un emploi.",
        **author,
    )
    session.add(diagnostic)
    session.flush()
    session.add(
        DiagnosticSituation(
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            diagnostic_id=diagnostic.id,
            theme_id=theme.id,
            entry_id=situation.id,
            label=situation.label,
            position=1,
        )
    )
    barrier = Barrier(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=world.journey.id,
        theme_id=theme.id,
        entry_id=situation.id,
        label=situation.label,
        status=BarrierStatus.IDENTIFIED,
        identified_on=clock.today() - dt.timedelta(days=30),
        declared_by=Declarant.PROFESSIONAL,
        **author,
    )
    health_barrier = HealthBarrier(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=world.journey.id,
        status=BarrierStatus.IDENTIFIED,
        identified_on=clock.today() - dt.timedelta(days=10),
        declared_by=Declarant.PROFESSIONAL,
        author_account_id=world.health_member.id,
        author_organisation_id=world.csapa.id,
    )
    health_barrier.label_sealed = crypto.current().seal(
        session,
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table=health_services.HEALTH_BARRIER_TABLE,
        column=health_services.HEALTH_LABEL_COLUMN,
        row_id=health_barrier.id,
        plaintext=HEALTH_LABEL,
    )
    session.add_all([barrier, health_barrier])
    session.flush()
    return SituationIds(
        situation_entry_id=situation.id,
        other_entry_id=other.id,
        health_theme_id=health_theme.id,
        health_entry_id=health_entry.id,
        diagnostic_id=diagnostic.id,
        barrier_id=barrier.id,
        health_barrier_id=health_barrier.id,
    )


def give_consent(world: World, organisation_id: uuid.UUID) -> Consent:
    """A health consent in force, as the person would have given it."""
    consent = Consent(
        departement_id=world.person.departement_id,
        beneficiary_id=world.person.id,
        scope=ConsentScope.HEALTH,
        organisation_id=organisation_id,
        granted_at=clock.now() - dt.timedelta(minutes=5),
        recorded_by_id=world.person_account.id,
    )
    db.session().add(consent)
    db.session().flush()
    return consent


def consents(world: World) -> list[Consent]:
    with scoping.unscoped():
        db.session().expire_all()
        return list(
            db.session().scalars(
                select(Consent)
                .where(Consent.beneficiary_id == world.person.id)
                .order_by(Consent.granted_at)
            )
        )


# -- ids for the route walker ------------------------------------------------------------------


def diagnostic_of(world: World) -> uuid.UUID:
    return situation_ids(world).diagnostic_id


def barrier_of(world: World) -> uuid.UUID:
    return situation_ids(world).barrier_id


def health_barrier_of(world: World) -> uuid.UUID:
    return situation_ids(world).health_barrier_id
