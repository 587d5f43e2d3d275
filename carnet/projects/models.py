"""Professional projects of a person (DOMAIN.md §4 `projects`): the job aimed at, from the
ROME nomenclature or in the person's own words, the contract and working time sought, and
how far and by what means the person can travel.

A person may have several projects. Each carries a `version` (SQLAlchemy's version
counter): a save made on a stale copy is refused, never silently overwritten. Who declared
the project (the person or a professional) is derived from the author, never typed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum

MAX_RADIUS_KM = 300


class ContractSought(StrEnum):
    ANY = "indifferent"
    APPRENTICESHIP = "alternance"
    BUSINESS_CREATION = "creation_entreprise"
    CDD = "cdd"
    CDI = "cdi"
    IAE = "iae"  # insertion par l'activité économique (ACI, EI, ETTI)
    TEMPORARY = "interim"


class WorkingTime(StrEnum):
    ANY = "indifferent"
    FULL_TIME = "temps_plein"
    PART_TIME = "temps_partiel"


class ProjectStatus(StrEnum):
    ABANDONED = "abandonne"
    ACHIEVED = "atteint"
    CONSIDERING = "en_reflexion"
    VALIDATED = "valide"


class DeclaredBy(StrEnum):
    PERSON = "personne"
    PROFESSIONAL = "professionnel"


class ProfessionalProject(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "professional_projects"
    __table_args__ = (
        CheckConstraint(
            f"mobility_radius_km IS NULL OR "
            f"(mobility_radius_km >= 0 AND mobility_radius_km <= {MAX_RADIUS_KM})",
            name="radius_range",
        ),
        CheckConstraint("rome_code IS NULL OR length(rome_code) = 5", name="rome_code_format"),
        Index("ix_professional_projects_record", "beneficiary_id", "created_at"),
        # The jobs people aim at, per département: an indicator's query.
        Index("ix_professional_projects_rome", "departement_id", "rome_code"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    # A job of the ROME list (code, and its label copied at the time), or a free label.
    rome_code: Mapped[str | None] = mapped_column(String(5))
    job_label: Mapped[str] = mapped_column(String(200))
    contract: Mapped[ContractSought] = mapped_column(str_enum(ContractSought, "project_contract"))
    working_time: Mapped[WorkingTime] = mapped_column(str_enum(WorkingTime, "project_working_time"))
    mobility_radius_km: Mapped[int | None]
    has_driving_licence: Mapped[bool] = mapped_column(default=False)  # permis B
    has_vehicle: Mapped[bool] = mapped_column(default=False)  # véhicule personnel
    has_two_wheeler: Mapped[bool] = mapped_column(default=False)  # deux-roues
    uses_public_transport: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus, "project_status"), default=ProjectStatus.CONSIDERING
    )
    declared_by: Mapped[DeclaredBy] = mapped_column(str_enum(DeclaredBy, "project_declared_by"))
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read by SQLAlchemy
