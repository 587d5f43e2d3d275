"""Service-level behaviours that HTTP alone cannot reach: races, vocabularies, sealing."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from carnet import db
from carnet.notifications import services as notifications
from carnet.records import services
from carnet.records.models import GroupMembership, Journey
from carnet.security import crypto, scoping
from carnet.security.permissions import GroupRole, OrganisationKind, PrincipalRole
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy
from tests.factories import GroupMembershipFactory, OrganisationFactory
from tests.records.world import build_world, send, snapshot, text, token


@pytest.fixture
def world(db_session):
    return build_world()


def test_every_event_of_the_records_domain_has_a_notification_text(world):
    for kind in services.Event:
        notification = notifications.notify(
            recipient_account_id=world.referent.id,
            departement_id=world.departement_id,
            kind=kind,
            details={"organisation_id": str(world.csapa.id), "role": "member"},
        )
        assert notification.kind == kind
    with pytest.raises(ValueError, match="unknown notification kind"):
        notifications.notify(
            recipient_account_id=world.referent.id,
            departement_id=world.departement_id,
            kind="records:nothing:happened",
        )


def test_two_referents_at_once_are_stopped_by_the_database(client, world, login_as, monkeypatch):
    """Another request designates a référent between our read and our write: the partial
    unique index refuses the second one and the person keeps exactly one référent."""
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    before = snapshot()
    # What a concurrent transaction would make us see: no référent yet.
    monkeypatch.setattr(services, "_active_memberships", lambda journey: [])
    response = send(
        client,
        f"/personnes/{world.person.id}/groupe-de-suivi/inviter",
        {
            "membership_id": str(world.colleague.membership.id),
            "role": "referent",
            "reason": "Prise de relais",
        },
        csrf=csrf,
    )
    assert response.status_code == 409
    assert "Le groupe de suivi vient d'être modifié par quelqu'un d'autre" in text(response)
    assert snapshot() == before
    with scoping.unscoped():
        referents = db.session().scalars(
            select(GroupMembership).where(
                GroupMembership.journey_id == world.journey.id,
                GroupMembership.role == GroupRole.REFERENT,
                GroupMembership.ended_at.is_(None),
            )
        )
        assert [m.account_id for m in referents] == [world.referent.id]


def test_an_invalid_nir_is_never_sealed(world):
    with pytest.raises(crypto.InvalidNir, match="clé de contrôle"):
        services.seal_nir(world.other_person, "2 88 04 87 085 123 00")
    assert world.other_person.nir_sealed is None


def test_the_nir_is_bound_to_its_person(client, world, login_as, db_session):
    """A sealed NIR copied onto another person's row does not open there."""
    with scoping.unscoped():
        journey = db_session.scalar(
            select(Journey).where(Journey.beneficiary_id == world.other_person.id)
        )
        GroupMembershipFactory(
            journey=journey,
            account_id=world.referent.id,
            organisation_id=world.departement_org.id,
            role=GroupRole.REFERENT,
        )
        world.other_person.nir_sealed = world.person.nir_sealed
        crypto.current().ensure_data_key(
            db_session,
            beneficiary_id=world.other_person.id,
            departement_id=world.departement_id,
        )
        db_session.flush()
    login_as(client, world.referent.account, world.referent.membership)
    response = send(client, f"/personnes/{world.other_person.id}/nir")
    assert response.status_code == 503
    assert "Impossible de déchiffrer le NIR" in text(response)


@pytest.mark.parametrize("kind", list(OrganisationKind))
def test_every_sensible_structure_has_the_same_neutral_label(world, kind):
    """A label per kind (« de santé ») would tell what the hidden name reveals."""
    structure = OrganisationFactory(
        departement_id=world.departement_id, name="Nom révélateur", kind=kind, is_sensible=True
    )
    summary = tenancy.get_organisation(structure.id)
    outsider = Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.outsider.id,
        departement_id=world.departement_id,
        organisation_id=world.france_travail.id,
        organisation_kind=OrganisationKind.FRANCE_TRAVAIL,
    )
    assert summary.label_for(outsider) == "Structure partenaire (nom protégé)"
    inside = dataclasses.replace(outsider, organisation_id=structure.id, organisation_kind=kind)
    assert summary.label_for(inside) == "Nom révélateur"
