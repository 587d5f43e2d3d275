"""The situation section and the health compartment of a person's record (DOMAIN.md §4).

A diagnostic is a series of dated, immutable versions: each time it is recorded, a new
row is written (never updated), numbered per person, with the situations ticked by theme
of the département's referential. Freins périphériques are tracked objects with a status
(identifié → en cours → levé) and the date of each status; they carry a `version`
(SQLAlchemy's version counter), so a save made on a stale copy is refused.

The health compartment (health data, GDPR art. 9) keeps its free text sealed under the
person's data key (`*_sealed` columns, never used in WHERE or ORDER BY): the label and
details of health freins, the RQTH record and the health partners' notes.
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
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum
from carnet.records.models import DigitalAutonomy


class EducationLevel(StrEnum):
    """The French levels of qualification (nomenclature of 2019)."""

    NONE = "aucun_diplome"  # no diploma, or below level 3
    CAP_BEP = "cap_bep"  # level 3
    BAC = "bac"  # level 4
    BAC_2 = "bac_2"  # level 5
    LICENCE = "licence"  # level 6
    MASTER = "master_plus"  # levels 7 and 8


class Declarant(StrEnum):
    """Who declared it: derived from the actor, never typed."""

    PERSON = "personne"
    PROFESSIONAL = "professionnel"


class BarrierStatus(StrEnum):
    IDENTIFIED = "identifie"
    IN_PROGRESS = "en_cours"
    LIFTED = "leve"


class RqthStatus(StrEnum):
    """Reconnaissance de la qualité de travailleur handicapé; stored sealed, never in clear."""

    NONE = "aucune"
    RECOGNISED = "reconnue"
    REQUESTED = "demande_en_cours"


# A status and its dates agree: en cours has started, levé has been lifted.
_STATUS_DATES = (
    "(status = 'identifie' AND in_progress_on IS NULL AND lifted_on IS NULL) "
    "OR (status = 'en_cours' AND in_progress_on IS NOT NULL AND lifted_on IS NULL) "
    "OR (status = 'leve' AND lifted_on IS NOT NULL)"
)


def _barrier_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(_STATUS_DATES, name="status_dates"),
        CheckConstraint(
            "in_progress_on IS NULL OR in_progress_on >= identified_on", name="started_after"
        ),
        CheckConstraint("lifted_on IS NULL OR lifted_on >= identified_on", name="lifted_after"),
        CheckConstraint(
            "lifted_on IS NULL OR in_progress_on IS NULL OR lifted_on >= in_progress_on",
            name="lifted_after_start",
        ),
    )


class Diagnostic(TenantScoped, UUIDPrimaryKey, Base):
    """One dated version of the diagnostic: written once, never changed."""

    __tablename__ = "diagnostics"
    __table_args__ = (
        UniqueConstraint("beneficiary_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journeys.id"))
    number: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    declared_by: Mapped[Declarant] = mapped_column(str_enum(Declarant, "declarant"))
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    education_level: Mapped[EducationLevel | None] = mapped_column(
        str_enum(EducationLevel, "education_level")
    )
    digital_autonomy: Mapped[DigitalAutonomy | None] = mapped_column(
        str_enum(DigitalAutonomy, "digital_autonomy")
    )
    # Short free lines, in the order typed.
    strengths: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(String(1000))


class DiagnosticSituation(TenantScoped, UUIDPrimaryKey, Base):
    """A situation ticked in one diagnostic version, under one theme; the label is kept as
    it read that day (the referential may change later). `entry_id` is empty for a free one."""

    __tablename__ = "diagnostic_situations"
    __table_args__ = (Index("ix_diagnostic_situations_theme", "departement_id", "theme_id"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    diagnostic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("diagnostics.id"), index=True)
    theme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referential_themes.id"))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referential_entries.id"))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)


class Barrier(TenantScoped, UUIDPrimaryKey, Base):
    """A frein périphérique, followed until it is lifted."""

    __tablename__ = "barriers"
    __table_args__ = (
        *_barrier_checks(),
        Index("ix_barriers_record", "beneficiary_id", "status"),
        Index("ix_barriers_theme", "departement_id", "theme_id", "status"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journeys.id"))
    theme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referential_themes.id"))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referential_entries.id"))
    label: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[BarrierStatus] = mapped_column(str_enum(BarrierStatus, "barrier_status"))
    identified_on: Mapped[date]
    in_progress_on: Mapped[date | None]
    lifted_on: Mapped[date | None]
    declared_by: Mapped[Declarant] = mapped_column(str_enum(Declarant, "declarant"))
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class HealthBarrier(TenantScoped, UUIDPrimaryKey, Base):
    """A health-related frein: like a frein périphérique, its words sealed."""

    __tablename__ = "health_barriers"
    __table_args__ = (
        *_barrier_checks(),
        Index("ix_health_barriers_record", "beneficiary_id", "status"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journeys.id"))
    label_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[BarrierStatus] = mapped_column(str_enum(BarrierStatus, "barrier_status"))
    identified_on: Mapped[date]
    in_progress_on: Mapped[date | None]
    lifted_on: Mapped[date | None]
    declared_by: Mapped[Declarant] = mapped_column(str_enum(Declarant, "declarant"))
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class RqthRecord(TenantScoped, UUIDPrimaryKey, Base):
    """The person's RQTH: status and dates, sealed together as one JSON text."""

    __tablename__ = "rqth_records"

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), unique=True)
    details_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    updated_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    updated_by_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class HealthNote(TenantScoped, UUIDPrimaryKey, Base):
    """A note of a health partner; the body is sealed."""

    __tablename__ = "health_notes"
    __table_args__ = (Index("ix_health_notes_record", "beneficiary_id", "created_at"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    author_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
