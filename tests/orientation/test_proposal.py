"""The proposal computed from Sofia's record: what the actor may read, each section read
audited once, the health compartment never read, and versioned rules that never change a
proposal already made."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.errors import Denied, InvalidInput, NotFound
from carnet.orientation import rule_services
from carnet.orientation.models import OrientationRuleSet, OrientationType
from carnet.orientation.proposal import describe, propose_for
from carnet.orientation.rules import DEFAULT_RULES
from carnet.records import gate
from carnet.referential.models import OarsaCategory, Theme
from carnet.security import scoping
from carnet.security.permissions import (
    OrganisationKind,
    Outcome,
    PrincipalRole,
    Section,
)
from carnet.security.principal import Principal
from carnet.situation.models import Barrier, BarrierStatus, Declarant
from tests.projects.seed import project_of
from tests.records.world import audit_rows, build_world
from tests.situation.world import HEALTH_LABEL, situation_ids

TAG = "orientation:proposal:computed"


@pytest.fixture
def world(db_session: Any) -> Any:
    world = build_world()
    situation_ids(world)
    return world


def _principal(world: Any, pro: Any, role: PrincipalRole, organisation: Any) -> Principal:
    return Principal(
        role=role,
        auth_method="magic_link",
        account_id=pro.id,
        departement_id=world.departement_id,
        organisation_id=organisation.id,
        organisation_kind=OrganisationKind(organisation.kind),
        membership_id=pro.membership.id,
    )


def _officer(world: Any) -> Principal:
    return _principal(
        world, world.officer, PrincipalRole.ORIENTATION_OFFICER, world.departement_org
    )


def _admin(world: Any) -> Principal:
    return _principal(
        world, world.departement_admin, PrincipalRole.DEPARTEMENT_ADMIN, world.departement_org
    )


def _open(actor: Principal, world: Any) -> gate.RecordAccess:
    return gate.open_record(
        actor=actor, beneficiary_id=world.person.id, section=Section.IDENTITY, tag="test:open"
    )


def _proposal_reads(actor: Principal) -> list[tuple[str, Outcome]]:
    return [
        (row.section, row.outcome) for row in audit_rows(actor_account_id=actor.account_id, tag=TAG)
    ]


def test_the_orientation_officer_gets_a_proposal_from_what_the_record_holds(world):
    project_of(world)  # a project aiming at a ROME job
    world.person.dependants = 2
    db.session().flush()
    officer = _officer(world)
    proposal = propose_for(_open(officer, world))
    factors = [(f.code, f.points) for f in proposal.factors]
    # Diagnostic: CAP/BEP, a strength, a skill; the project; the logement frein; dependants.
    assert factors == [
        ("education:cap_bep", 1),
        ("strengths", 1),
        ("skills", 1),
        ("project:rome", 3),
        ("barrier:logement", 3),
        ("rights:dependants", 1),
    ]
    assert (proposal.employability_score, proposal.barrier_score) == (6, 4)
    assert proposal.proposed_type is OrientationType.PROFESSIONAL
    assert proposal.missing == ["l'autonomie numérique n'est pas renseignée dans le diagnostic"]
    assert proposal.rule_set_version == 0
    # Each section read once, audited as such; the health compartment is never read.
    assert sorted(_proposal_reads(officer)) == [
        ("projects:read", Outcome.ALLOWED),
        ("rights:read", Outcome.ALLOWED),
        ("situation:read", Outcome.ALLOWED),
    ]
    assert not audit_rows(actor_account_id=officer.account_id, section="health:read")
    assert HEALTH_LABEL not in str(proposal.as_json())


def test_a_lifted_frein_no_longer_weighs(world):
    with scoping.unscoped():
        barrier = db.session().get(Barrier, situation_ids(world).barrier_id)
        barrier.status = BarrierStatus.LIFTED
        barrier.lifted_on = clock.today()
        db.session().flush()
    proposal = propose_for(_open(_officer(world), world))
    assert not [f for f in proposal.factors if f.axis == "barriers"]
    assert proposal.barrier_score == 0
    assert "aucun projet professionnel enregistré" in proposal.missing


def test_a_frein_whose_theme_became_a_health_theme_never_weighs(world):
    with scoping.unscoped():
        theme = db.session().get(Theme, world.theme_id)
        theme.oarsa_category = OarsaCategory.SANTE
        db.session().flush()
    proposal = propose_for(_open(_officer(world), world))
    assert proposal.barrier_score == 0
    assert not [f for f in proposal.factors if f.code.startswith("barrier:")]


def test_several_freins_of_one_theme_count_once(world):
    ids = situation_ids(world)
    with scoping.unscoped():
        db.session().add(
            Barrier(
                id=uuid.uuid4(),
                departement_id=world.departement_id,
                beneficiary_id=world.person.id,
                journey_id=world.journey.id,
                theme_id=world.theme_id,
                entry_id=ids.other_entry_id,
                label="Impayés de loyer ou menace d'expulsion",
                status=BarrierStatus.IN_PROGRESS,
                identified_on=clock.today() - dt.timedelta(days=3),
                in_progress_on=clock.today(),
                declared_by=Declarant.PROFESSIONAL,
            )
        )
        db.session().flush()
    proposal = propose_for(_open(_officer(world), world))
    barriers = [f for f in proposal.factors if f.axis == "barriers"]
    assert [(f.code, f.points) for f in barriers] == [("barrier:logement", 3)]
    assert "2 freins" in barriers[0].label


def test_sections_the_actor_may_not_read_are_missing_and_not_read(world):
    # A member from the mission locale reads the situation and projects, not the rights.
    member = _principal(world, world.ml_member, PrincipalRole.PROFESSIONAL, world.mission_locale)
    world.person.dependants = 3
    db.session().flush()
    proposal = propose_for(_open(member, world))
    assert not [f for f in proposal.factors if f.code == "rights:dependants"]
    assert proposal.missing[-1] == (
        "la composition du foyer : vos droits sur ce carnet ne permettent pas de lire "
        "les droits et le foyer"
    )
    assert sorted(_proposal_reads(member)) == [
        ("projects:read", Outcome.ALLOWED),
        ("situation:read", Outcome.ALLOWED),
    ]


# -- versions ------------------------------------------------------------------------------------


def _rules_rows(world: Any) -> list[OrientationRuleSet]:
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(OrientationRuleSet)
                .where(OrientationRuleSet.departement_id == world.departement_id)
                .order_by(OrientationRuleSet.version)
            )
        )


def _departement_rules(**changes: Any) -> Any:
    """The defaults, limited to the themes the world's département has."""
    values = {"barrier_themes": {"logement": DEFAULT_RULES.barrier_themes["logement"]}}
    return dataclasses.replace(DEFAULT_RULES, **{**values, **changes})


def test_a_saved_proposal_keeps_its_version_when_the_rules_change(world):
    admin, officer = _admin(world), _officer(world)
    assert (
        rule_services.save_rules(
            actor=admin, data=_departement_rules(), change_note="Premières règles", based_on=0
        )
        == 1
    )
    first = propose_for(_open(officer, world))
    stored = first.as_json()
    assert stored["rule_set_version"] == 1
    assert first.proposed_type is OrientationType.SOCIO_PROFESSIONAL

    lighter = _departement_rules(barrier_themes={"logement": 0})
    assert (
        rule_services.save_rules(
            actor=admin, data=lighter, change_note="Le logement ne compte plus", based_on=1
        )
        == 2
    )
    second = propose_for(_open(officer, world))
    assert second.rule_set_version == 2
    assert second.barrier_score == 0
    # The first proposal reads back as it was made, and its version is still readable.
    assert describe(stored) == first
    assert rule_services.get_version(actor=officer, version=1).rules == _departement_rules()
    assert rule_services.current_rules(world.departement_id).version == 2
    assert [(r.version, r.change_note) for r in _rules_rows(world)] == [
        (1, "Premières règles"),
        (2, "Le logement ne compte plus"),
    ]


def test_saving_is_audited_like_the_referential(world):
    admin = _admin(world)
    rule_services.save_rules(actor=admin, data=_departement_rules(), change_note="Premières règles")
    row = _rules_rows(world)[0]
    assert row.created_by_account_id == admin.account_id
    events = audit_rows(actor_account_id=admin.account_id, tag="orientation:rule_set:saved")
    assert [(e.section, e.object_id, e.beneficiary_id, e.outcome) for e in events] == [
        ("orientation_rules:write", row.id, None, Outcome.ALLOWED)
    ]


def test_a_save_built_on_an_older_version_is_refused(world):
    admin = _admin(world)
    rule_services.save_rules(actor=admin, data=_departement_rules(), change_note="Premières règles")
    with pytest.raises(rule_services.StaleRules):
        rule_services.save_rules(
            actor=admin, data=_departement_rules(), change_note="Sur la version 0", based_on=0
        )
    assert len(_rules_rows(world)) == 1


def test_rules_naming_a_theme_outside_the_referential_or_health_are_refused(world):
    with pytest.raises(InvalidInput) as refused:
        rule_services.save_rules(
            actor=_admin(world),
            data=_departement_rules(barrier_themes={"logement": 2, "jardin": 1, "sante": 3}),
            change_note="Thèmes inconnus",
        )
    assert refused.value.fields == {
        "barriers.themes.jardin": [rule_services.UNKNOWN_THEME],
        "barriers.themes.sante": [rule_services.HEALTH_THEME],
    }
    assert _rules_rows(world) == []


@pytest.mark.parametrize(
    ("who", "role"),
    [
        ("referent", PrincipalRole.PROFESSIONAL),
        ("officer", PrincipalRole.ORIENTATION_OFFICER),
        ("structure_admin", PrincipalRole.STRUCTURE_ADMIN),
    ],
)
def test_only_a_departement_admin_may_save_rules(world, who, role):
    actor = _principal(world, getattr(world, who), role, world.departement_org)
    with pytest.raises(Denied, match="Seule l'administration du département"):
        rule_services.save_rules(
            actor=actor, data=_departement_rules(), change_note="Tentative de modification"
        )
    assert _rules_rows(world) == []
    assert not audit_rows(tag="orientation:rule_set:saved")


def test_versions_are_read_within_the_departement_only(world):
    rule_services.save_rules(
        actor=_admin(world), data=_departement_rules(), change_note="Premières règles"
    )
    foreign = Principal(
        role=PrincipalRole.DEPARTEMENT_ADMIN,
        auth_method="magic_link",
        account_id=world.foreign.id,
        departement_id=world.other_departement_id,
        organisation_id=world.foreign.membership.organisation_id,
    )
    with pytest.raises(NotFound):
        rule_services.get_version(actor=foreign, version=1)
    assert [v.version for v in rule_services.list_versions(actor=foreign)] == [0]
    person = Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=world.person_account.id,
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
    )
    with pytest.raises(Denied):
        rule_services.list_versions(actor=person)
