"""Orientation periods, the rules that propose them, reorientation requests and exits.

An orientation is a dated period of a journey: a type (DOMAIN.md §3.4), the structure
that accompanies, the référent when known, the motive and the proposal shown when it was
decided. Periods are half-open: `ends_on` is the day the next period starts; one open
period per journey, enforced by a partial unique index.

The proposal rules are versioned configuration per département (not personal data): each
save writes a new row, so every past proposal names the version that produced it.

A journey's exit keeps its detail here (`Journey.exit_reason` holds the coarse reason):
the kind of employment, the derived « sortie positive » flag, and the follow-up checks
of job retention at 6 and 12 months.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum
from carnet.records.models import Journey, JourneyExitReason

MOTIVE_MAX = 1000


class OrientationType(StrEnum):
    """The three types of the CASF."""

    PROFESSIONAL = "professionnelle"
    SOCIAL = "sociale"
    SOCIO_PROFESSIONAL = "socio_professionnelle"


class Orientation(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "orientations"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        Index(
            "uq_orientations_one_open",
            "journey_id",
            unique=True,
            sqlite_where=text("ends_on IS NULL"),
            postgresql_where=text("ends_on IS NULL"),
        ),
        Index("ix_orientations_record", "beneficiary_id", "starts_on"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id"), index=True)
    type: Mapped[OrientationType] = mapped_column(str_enum(OrientationType, "orientation_type"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    referent_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    motive: Mapped[str] = mapped_column(String(MOTIVE_MAX))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    decided_at: Mapped[datetime] = mapped_column(default=clock.now)
    decided_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    decided_by_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )
    # The proposal shown when deciding: rule-set version, proposed type, every factor.
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)


@event.listens_for(Orientation, "after_insert")
def _mark_journey_oriented(_mapper: Any, connection: Any, orientation: Orientation) -> None:
    """The one place `Journey.first_oriented_on` is written for the ORM: the queue of people
    waiting reads that column through a small partial index instead of comparing every open
    journey with every open period (the bulk seeder's Core inserts set it themselves)."""
    connection.execute(
        update(Journey)
        .where(Journey.id == orientation.journey_id, Journey.first_oriented_on.is_(None))
        .values(first_oriented_on=orientation.starts_on)
    )


class OrientationRuleSet(UUIDPrimaryKey, Base):
    """One version of a département's proposal rules (`rules` is checked by its schema)."""

    __tablename__ = "orientation_rule_sets"
    __table_args__ = (
        UniqueConstraint("departement_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    version: Mapped[int]
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    change_note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))


class RequestStatus(StrEnum):
    ACCEPTED = "acceptee"
    KEPT = "maintien"  # the accompaniment is kept, with a reason sent to the requester
    MOOT = "sans_objet"  # the journey closed before anyone answered
    PENDING = "en_attente"


class ReorientationRequest(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "reorientation_requests"
    __table_args__ = (
        CheckConstraint(
            "(status = 'en_attente') = (decided_at IS NULL)", name="decided_when_not_pending"
        ),
        CheckConstraint(
            "status <> 'maintien' OR decision_reason IS NOT NULL", name="kept_has_reason"
        ),
        Index(
            "uq_reorientation_requests_one_pending",
            "journey_id",
            unique=True,
            sqlite_where=text("status = 'en_attente'"),
            postgresql_where=text("status = 'en_attente'"),
        ),
        Index("ix_reorientation_requests_pending", "departement_id", "status", "requested_at"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id"))
    # The period in force when asked, and the one decided when the request was accepted.
    orientation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orientations.id"))
    decided_orientation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orientations.id"))
    requested_by_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    requested_by_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    requested_at: Mapped[datetime] = mapped_column(default=clock.now)
    motive: Mapped[str] = mapped_column(String(MOTIVE_MAX))
    proposed_type: Mapped[OrientationType] = mapped_column(
        str_enum(OrientationType, "orientation_type")
    )
    # From professional to social: the équipe pluridisciplinaire must be consulted.
    needs_team_review: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "reorientation_status"), default=RequestStatus.PENDING
    )
    decided_at: Mapped[datetime | None]
    decided_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    decided_by_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )
    decision_reason: Mapped[str | None] = mapped_column(String(MOTIVE_MAX))
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class EmploymentKind(StrEnum):
    """The job found, when the exit reason is employment."""

    BUSINESS_CREATION = "creation_entreprise"
    CDD_LONG = "cdd_6_mois_et_plus"
    CDD_SHORT = "cdd_moins_6_mois"
    CDI = "cdi"
    TEMPORARY = "interim"


# « Sortie positive » (DOMAIN.md §3.11): a CDI, a CDD of 6 months or more, a new business.
POSITIVE_EMPLOYMENT = frozenset(
    {EmploymentKind.CDI, EmploymentKind.CDD_LONG, EmploymentKind.BUSINESS_CREATION}
)


class JourneyExit(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "journey_exits"
    __table_args__ = (
        CheckConstraint(
            "(reason = 'emploi') = (employment_kind IS NOT NULL)", name="employment_has_kind"
        ),
        Index("ix_journey_exits_departement", "departement_id", "exited_on"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id"), unique=True)
    reason: Mapped[JourneyExitReason] = mapped_column(
        str_enum(JourneyExitReason, "journey_exit_reason")
    )
    employment_kind: Mapped[EmploymentKind | None] = mapped_column(
        str_enum(EmploymentKind, "employment_kind")
    )
    # Derived from reason and employment kind when written; stored for the indicators.
    is_positive: Mapped[bool]
    exited_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    recorded_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    recorded_by_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )


class JobFollowUp(TenantScoped, UUIDPrimaryKey, Base):
    """A job-retention check due 6 or 12 months after an exit to employment."""

    __tablename__ = "job_follow_ups"
    __table_args__ = (
        UniqueConstraint("exit_id", "months"),
        CheckConstraint("months IN (6, 12)", name="months_6_or_12"),
        CheckConstraint(
            "(checked_on IS NULL) = (still_employed IS NULL)", name="checked_has_answer"
        ),
        Index("ix_job_follow_ups_due", "departement_id", "checked_on", "due_on"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    exit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journey_exits.id"))
    months: Mapped[int]
    due_on: Mapped[date]
    checked_on: Mapped[date | None]
    still_employed: Mapped[bool | None]
    checked_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012
