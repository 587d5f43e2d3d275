"""The referential of a département: editable configuration, not personal data.

A theme (an axis of the plan d'action) says whether it aims at the social or the
professional side of the journey and maps to a DREES « OARSA » category, so the national
statistics can be produced from the plans. Each theme lists situations (what the
diagnostic may find), objective templates and action templates, all editable per
département. Every editable row carries a `version` used for optimistic locking.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, UUIDPrimaryKey, str_enum


class Aim(StrEnum):
    """« visée sociale » or « visée professionnelle »."""

    PROFESSIONAL = "professionnelle"
    SOCIAL = "sociale"


class OarsaCategory(StrEnum):
    """The DREES OARSA groups of contract actions (DOMAIN.md §6)."""

    ACCES_DROITS = "acces_droits"
    CREATION_ENTREPRISE = "creation_entreprise"
    FAMILLE = "famille"
    FINANCES = "finances"
    FORMATION = "formation"
    IAE = "iae"
    LIEN_SOCIAL = "lien_social"
    LOGEMENT = "logement"
    MOBILITE = "mobilite"
    RECHERCHE_EMPLOI = "recherche_emploi"
    SANTE = "sante"
    SAVOIRS_DE_BASE = "savoirs_de_base"


class EntryKind(StrEnum):
    """What a line of a theme is: a situation, an objective or an action template."""

    ACTION = "action"
    OBJECTIVE = "objective"
    SITUATION = "situation"


class Theme(UUIDPrimaryKey, Base):
    __tablename__ = "referential_themes"
    __table_args__ = (
        UniqueConstraint("departement_id", "code"),
        UniqueConstraint("departement_id", "label"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    code: Mapped[str] = mapped_column(String(48))  # stable key of the seeded lists
    label: Mapped[str] = mapped_column(String(120))
    aim: Mapped[Aim] = mapped_column(str_enum(Aim, "referential_aim"))
    oarsa_category: Mapped[OarsaCategory] = mapped_column(
        str_enum(OarsaCategory, "referential_oarsa_category")
    )
    is_france_travail: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read by SQLAlchemy


class ThemeEntry(UUIDPrimaryKey, Base):
    """A situation, objective template or action template of one theme."""

    __tablename__ = "referential_entries"
    __table_args__ = (
        UniqueConstraint("theme_id", "kind", "label"),
        Index("ix_referential_entries_theme_kind", "theme_id", "kind", "position"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    theme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referential_themes.id"))
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, "referential_entry_kind"))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read by SQLAlchemy
