"""The plan d'action of a journey (DOMAIN.md §3.6): axes → objectives → actions.

An axis is one theme of the département's referential for one journey; objectives and
actions hold what was agreed, with a status, a due date, who wrote them and where an
action comes from. Every editable row carries a `version` (SQLAlchemy's version counter):
a save made on a stale copy is refused, never silently overwritten.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum


class ObjectiveStatus(StrEnum):
    ABANDONED = "abandonne"
    ACHIEVED = "atteint"
    IN_PROGRESS = "en_cours"


class ActionStatus(StrEnum):
    ABANDONED = "abandonnee"
    CANCELLED = "annulee"
    DONE = "realisee"
    IN_PROGRESS = "en_cours"
    ON_HOLD = "en_attente"
    PLANNED = "prevue"


class ActionOrigin(StrEnum):
    """Who proposed the action."""

    PARTNER = "partenaire"
    PERSON = "personne"
    PRESCRIPTION = "prescription"
    REFERENT = "referent"


class PlanAxis(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "plan_axes"
    __table_args__ = (UniqueConstraint("journey_id", "theme_id"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id"))
    theme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referential_themes.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))


class PlanObjective(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "plan_objectives"
    __table_args__ = (Index("ix_plan_objectives_record", "beneficiary_id", "created_at"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    axis_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_axes.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[ObjectiveStatus] = mapped_column(
        str_enum(ObjectiveStatus, "plan_objective_status"), default=ObjectiveStatus.IN_PROGRESS
    )
    due_on: Mapped[date | None]
    # The person agreed to this objective (required for those written into a contract).
    has_person_consent: Mapped[bool] = mapped_column(default=False)
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read by SQLAlchemy


class PlanAction(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "plan_actions"
    __table_args__ = (Index("ix_plan_actions_record", "beneficiary_id", "status", "due_on"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    objective_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_objectives.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus, "plan_action_status"), default=ActionStatus.PLANNED
    )
    due_on: Mapped[date | None]
    origin: Mapped[ActionOrigin] = mapped_column(str_enum(ActionOrigin, "plan_action_origin"))
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read by SQLAlchemy
