"""Sofia's professional project, added to the seeded world on demand (the route walker and
the project tests share it)."""

from __future__ import annotations

import uuid

from carnet import db
from carnet.projects.models import (
    ContractSought,
    DeclaredBy,
    ProfessionalProject,
    ProjectStatus,
    WorkingTime,
)
from carnet.security import scoping
from tests.records.world import World


def project_of(world: World) -> uuid.UUID:
    """The id of Sofia's project « Nettoyage de locaux », written by her référent; created
    on first use and remembered on the world."""
    known = world.__dict__.get("project_id")
    if known is not None:
        return uuid.UUID(str(known))
    project = ProfessionalProject(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        rome_code="K2204",
        job_label="Nettoyage de locaux",
        contract=ContractSought.CDI,
        working_time=WorkingTime.PART_TIME,
        mobility_radius_km=15,
        uses_public_transport=True,
        status=ProjectStatus.CONSIDERING,
        declared_by=DeclaredBy.PROFESSIONAL,
        author_account_id=world.referent.id,
        author_organisation_id=world.departement_org.id,
    )
    with scoping.unscoped():
        db.session().add(project)
        db.session().flush()
    world.__dict__["project_id"] = project.id
    return project.id
