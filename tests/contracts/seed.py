"""Sofia's contract, added to the seeded world on demand (the route walker and the contract
tests share it), and the principals the contract tests act as."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from carnet import clock, db
from carnet.contracts import services
from carnet.contracts.models import ContractKind, ContractVersion
from carnet.security import scoping
from carnet.security.permissions import OrganisationKind, PrincipalRole
from carnet.security.principal import Principal
from tests.records.world import World

PERSON_COMMITMENTS = "Je participe aux ateliers logement et je dépose ma demande avant juin."
SUPPORT_COMMITMENTS = "La référente m'accompagne au dépôt et fait le point chaque mois."


def terms(**changes: Any) -> services.Terms:
    values: dict[str, Any] = {
        "starts_on": clock.today() - dt.timedelta(days=30),
        "duration_months": 6,
        "ends_on": None,
        "weekly_hours": None,
        "exemption": None,
        "exemption_details": None,
        "person_commitments": PERSON_COMMITMENTS,
        "support_commitments": SUPPORT_COMMITMENTS,
    }
    values.update(changes)
    return services.Terms(**values)


def referent(world: World) -> Principal:
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.referent.id,
        departement_id=world.departement_id,
        organisation_id=world.departement_org.id,
        organisation_kind=OrganisationKind.DEPARTEMENT,
        membership_id=world.referent.membership.id,
    )


def member(world: World) -> Principal:
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.ml_member.id,
        departement_id=world.departement_id,
        organisation_id=world.mission_locale.id,
        organisation_kind=OrganisationKind.MISSION_LOCALE,
        membership_id=world.ml_member.membership.id,
    )


def person(world: World) -> Principal:
    return Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=world.person_account.id,
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
    )


def seen_of(contract_id: uuid.UUID) -> str:
    """The fingerprint of the open version's text, as a signer's page sends it back."""
    row = db.session().scalar(
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract_id)
        .order_by(ContractVersion.number.desc())
        .limit(1)
    )
    assert row is not None
    return services.content_key(row)


def signed_contract(
    world: World, kind: ContractKind = ContractKind.CER, **changes: Any
) -> uuid.UUID:
    """A contract of `kind` signed by both (the person in « mode accompagné »): in force,
    with its PDF."""
    actor = referent(world)
    with scoping.scoped_to(world.departement_id):
        contract_id = services.create_draft(
            actor=actor, beneficiary_id=world.person.id, kind=kind, terms=terms(**changes)
        )
        services.propose(
            actor=actor, beneficiary_id=world.person.id, contract_id=contract_id, version=1
        )
        services.sign_as_referent(
            actor=actor,
            beneficiary_id=world.person.id,
            contract_id=contract_id,
            number=1,
            seen=seen_of(contract_id),
        )
        services.record_person_signature_accompanied(
            actor=actor,
            beneficiary_id=world.person.id,
            contract_id=contract_id,
            number=1,
            seen=seen_of(contract_id),
        )
    return contract_id


def contract_of(world: World) -> uuid.UUID:
    """The id of Sofia's CER, signed and in force (version 1 has a PDF); made on first use
    and remembered on the world."""
    known = world.__dict__.get("contract_id")
    if known is not None:
        return uuid.UUID(str(known))
    contract_id = signed_contract(world)
    world.__dict__["contract_id"] = contract_id
    return contract_id
