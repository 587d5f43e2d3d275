"""Orientation data added to the seeded world on demand (the route walker and the
orientation tests share it): Sofia's open orientation (social, to the Département's
service, her référent named) and a pending reorientation request by her référent."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from carnet import clock, db
from carnet.orientation.models import (
    Orientation,
    OrientationType,
    ReorientationRequest,
    RequestStatus,
)
from carnet.security import scoping
from carnet.security.permissions import PrincipalRole
from carnet.security.principal import Principal
from tests.records.world import Pro, World


def principal(
    world: World, pro: Pro, role: PrincipalRole = PrincipalRole.PROFESSIONAL
) -> Principal:
    """The principal a login as `pro` (in his or her organisation) would build."""
    organisation = pro.membership.organisation
    return Principal(
        role=role,
        auth_method="magic_link",
        account_id=pro.id,
        departement_id=organisation.departement_id,
        organisation_id=organisation.id,
        organisation_kind=organisation.kind,
        membership_id=pro.membership.id,
    )


def officer(world: World) -> Principal:
    return principal(world, world.officer, PrincipalRole.ORIENTATION_OFFICER)


def add_orientation(
    world: World,
    *,
    beneficiary_id: uuid.UUID | None = None,
    journey_id: uuid.UUID | None = None,
    type: OrientationType = OrientationType.SOCIAL,
    organisation_id: uuid.UUID | None = None,
    starts_on: dt.date = dt.date(2026, 1, 20),
    ends_on: dt.date | None = None,
    **extra: Any,
) -> Orientation:
    period = Orientation(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=beneficiary_id or world.person.id,
        journey_id=journey_id or world.journey.id,
        type=type,
        organisation_id=organisation_id or world.departement_org.id,
        referent_account_id=extra.pop("referent_account_id", world.referent.id),
        motive="Logement à stabiliser avant toute recherche d'emploi",
        starts_on=starts_on,
        ends_on=ends_on,
        decided_by_account_id=world.officer.id,
        decided_by_organisation_id=world.departement_org.id,
        **extra,
    )
    with scoping.unscoped():
        db.session().add(period)
        db.session().flush()
    return period


def orientation_of(world: World) -> uuid.UUID:
    """Sofia's open orientation; created on first use and remembered on the world."""
    known = world.__dict__.get("orientation_id")
    if known is not None:
        return uuid.UUID(str(known))
    period = add_orientation(world)
    world.__dict__["orientation_id"] = period.id
    return period.id


def request_of(world: World) -> uuid.UUID:
    """A pending reorientation request on Sofia's journey, by her référent."""
    known = world.__dict__.get("request_id")
    if known is not None:
        return uuid.UUID(str(known))
    orientation_id = orientation_of(world)
    request = ReorientationRequest(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=world.journey.id,
        orientation_id=orientation_id,
        requested_by_account_id=world.referent.id,
        requested_by_organisation_id=world.departement_org.id,
        requested_at=clock.now(),
        motive="Projet professionnel désormais précis",
        proposed_type=OrientationType.PROFESSIONAL,
        status=RequestStatus.PENDING,
    )
    with scoping.unscoped():
        db.session().add(request)
        db.session().flush()
    world.__dict__["request_id"] = request.id
    return request.id
