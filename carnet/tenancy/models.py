"""The tenants and the people who work in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carnet import clock
from carnet.db import Base, UUIDPrimaryKey, str_enum
from carnet.security.permissions import Level, MembershipRole, OrganisationKind, Section


class AccreditationStatus(StrEnum):
    ACCREDITED = "accredited"
    PENDING = "pending"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class Departement(UUIDPrimaryKey, Base):
    __tablename__ = "departements"

    code: Mapped[str] = mapped_column(String(3), unique=True)  # INSEE code: 87, 2A, 974
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Territory(UUIDPrimaryKey, Base):
    __tablename__ = "territories"
    __table_args__ = (UniqueConstraint("departement_id", "name"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))


class Organisation(UUIDPrimaryKey, Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            "accreditation_status = 'pending' OR accreditation_decided_at IS NOT NULL",
            name="accreditation_dated",
        ),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("territories.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind, "organisation_kind"))
    siret: Mapped[str | None] = mapped_column(String(14))
    # A structure whose very name reveals sensitive data (addiction care, justice).
    is_sensible: Mapped[bool] = mapped_column(default=False)
    accreditation_status: Mapped[AccreditationStatus] = mapped_column(
        str_enum(AccreditationStatus, "accreditation_status"), default=AccreditationStatus.PENDING
    )
    accreditation_decided_at: Mapped[datetime | None]
    accreditation_decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    territory: Mapped[Territory | None] = relationship(lazy="joined")

    @property
    def is_accredited(self) -> bool:
        return self.accreditation_status is AccreditationStatus.ACCREDITED


class Membership(UUIDPrimaryKey, Base):
    """A role an account holds in one organisation; an account may hold several."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= created_at", name="ends_after_start"),
        Index(
            "uq_memberships_active_role",
            "account_id",
            "organisation_id",
            "role",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    role: Mapped[MembershipRole] = mapped_column(str_enum(MembershipRole, "membership_role"))
    job_title: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class PolicyOverride(UUIDPrimaryKey, Base):
    """A département's tightening of one matrix cell; the loader refuses any that loosens."""

    __tablename__ = "policy_overrides"
    __table_args__ = (
        UniqueConstraint("departement_id", "organisation_kind", "group_role", "section"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    organisation_kind: Mapped[OrganisationKind] = mapped_column(
        str_enum(OrganisationKind, "override_organisation_kind")
    )
    group_role: Mapped[str] = mapped_column(String(32))
    section: Mapped[Section] = mapped_column(str_enum(Section, "override_section"))
    level: Mapped[int] = mapped_column(
        CheckConstraint(f"level IN ({Level.NONE}, {Level.READ})", name="only_tightens")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
