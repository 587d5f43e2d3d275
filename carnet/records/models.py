"""The person, the journeys, who follows them, and what happened.

Every table holds `departement_id` (the tenancy criterion and the future shard key).
Ciphertext columns end in `_sealed` and are never used in WHERE or ORDER BY; the NIR is
found through its blind index `nir_bidx`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum
from carnet.security.permissions import GroupRole


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


class HouseholdRole(StrEnum):
    CONJOINT = "conjoint"
    DEMANDEUR = "demandeur"


class RsaState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PENDING = "pending"
    SUSPENDED = "suspended"


class ContactChannel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    SMS = "sms"


class DigitalAutonomy(StrEnum):
    AUTONOMOUS = "autonomous"
    NEEDS_HELP = "needs_help"
    NO_ACCESS = "no_access"


SEARCH_NAME_MAX = 250
# Hyphens, dashes and apostrophes (typed or typographic) separate the words of a name.
_NAME_SEPARATORS = re.compile(r"[\-\u2010-\u2015\u2212'\u2019\u02bc`\u00b4]")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def search_key(text: str) -> str:
    """« Lefèvre-D'Arc » → « lefevre d arc »: lower-case, accents stripped (NFKD),
    hyphens and apostrophes as spaces, whitespace collapsed. Names and queries alike."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NAME_SEPARATORS.sub(" ", bare).lower().split())


def search_name_of(family_name: str, birth_name: str | None, given_name: str) -> str:
    """The searchable form of a person's names: family name, birth name, given names."""
    return search_key(" ".join(n for n in (family_name, birth_name, given_name) if n))[
        :SEARCH_NAME_MAX
    ].rstrip()


class Beneficiary(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "beneficiaries"
    __table_args__ = (
        UniqueConstraint("departement_id", "nir_bidx"),
        UniqueConstraint("departement_id", "departement_ref"),
        Index("ix_beneficiaries_caf", "departement_id", "caf_number", "household_role"),
        Index("ix_beneficiaries_ft", "departement_id", "france_travail_id"),
        Index("ix_beneficiaries_name", "departement_id", "search_name"),
        # Typo-tolerant name search (pg_trgm); a plain index on SQLite.
        Index(
            "ix_beneficiaries_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), unique=True)
    # identity
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    birth_name: Mapped[str | None] = mapped_column(String(120))
    # `search_name_of(family, birth, given)`, set at every flush; derived, never typed.
    search_name: Mapped[str] = mapped_column(String(SEARCH_NAME_MAX))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"))
    birth_on: Mapped[date]
    birth_place: Mapped[str | None] = mapped_column(String(120))
    nir_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    nir_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    caf_number: Mapped[str | None] = mapped_column(String(16))
    is_msa: Mapped[bool] = mapped_column(default=False)
    france_travail_id: Mapped[str | None] = mapped_column(String(16))
    departement_ref: Mapped[str | None] = mapped_column(String(32))
    # contact
    address_line: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    preferred_channel: Mapped[ContactChannel] = mapped_column(
        str_enum(ContactChannel, "contact_channel"), default=ContactChannel.LETTER
    )
    digital_autonomy: Mapped[DigitalAutonomy | None] = mapped_column(
        str_enum(DigitalAutonomy, "digital_autonomy")
    )
    # rights
    rsa_state: Mapped[RsaState] = mapped_column(
        str_enum(RsaState, "rsa_state"), default=RsaState.OPEN
    )
    is_subject_to_duties: Mapped[bool] = mapped_column(default=True)
    household_role: Mapped[HouseholdRole] = mapped_column(
        str_enum(HouseholdRole, "household_role"), default=HouseholdRole.DEMANDEUR
    )
    right_opened_on: Mapped[date | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(200))
    other_allowances: Mapped[str | None] = mapped_column(String(200))  # ARE, ASS, AAH…
    dependants: Mapped[int] = mapped_column(default=0)
    # Generated people (demo, benchmarks): never sent to a partner.
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    journeys: Mapped[list[Journey]] = relationship(
        back_populates="beneficiary", order_by="Journey.opened_on.desc()", lazy="selectin"
    )

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def current_journey(self) -> Journey | None:
        return next((j for j in self.journeys if j.closed_on is None), None)


@event.listens_for(Beneficiary, "before_insert")
@event.listens_for(Beneficiary, "before_update")
def _derive_search_name(_mapper: Any, _connection: Any, person: Beneficiary) -> None:
    """The one place `search_name` is written for the ORM: derived from the names at every
    flush, whatever the caller set (the bulk seeder's Core inserts call `search_name_of`)."""
    person.search_name = search_name_of(person.family_name, person.birth_name, person.given_name)


class JourneyExitReason(StrEnum):
    DEATH = "deces"
    EMPLOYMENT = "emploi"
    END_OF_RIGHT = "fin_de_droit"
    MOVED = "demenagement"
    OTHER = "autre"
    TRAINING = "formation"


class Journey(TenantScoped, UUIDPrimaryKey, Base):
    """One accompaniment period; a person who comes back gets a new journey on the same record."""

    __tablename__ = "journeys"
    __table_args__ = (
        CheckConstraint("closed_on IS NULL OR closed_on >= opened_on", name="closes_after_open"),
        CheckConstraint("(closed_on IS NULL) = (exit_reason IS NULL)", name="closed_has_reason"),
        Index(
            "uq_journeys_one_open",
            "beneficiary_id",
            unique=True,
            sqlite_where=text("closed_on IS NULL"),
            postgresql_where=text("closed_on IS NULL"),
        ),
        # The orientation queue reads only the open journeys still waiting: a few percent.
        Index(
            "ix_journeys_awaiting_orientation",
            "departement_id",
            sqlite_where=text("closed_on IS NULL AND first_oriented_on IS NULL"),
            postgresql_where=text("closed_on IS NULL AND first_oriented_on IS NULL"),
        ),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    opened_on: Mapped[date]
    closed_on: Mapped[date | None]
    exit_reason: Mapped[JourneyExitReason | None] = mapped_column(
        str_enum(JourneyExitReason, "journey_exit_reason")
    )
    # The start of the journey's first orientation period; derived, set when an orientation
    # is written (`carnet.orientation.models`), never typed.
    first_oriented_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="journeys")
    group: Mapped[list[GroupMembership]] = relationship(
        back_populates="journey", order_by="GroupMembership.started_at", lazy="selectin"
    )


class GroupMembership(TenantScoped, UUIDPrimaryKey, Base):
    """A professional in a journey's follow-up group; one active référent, enforced here."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_has_reason"),
        Index(
            "uq_group_memberships_one_referent",
            "journey_id",
            unique=True,
            sqlite_where=text("role = 'referent' AND ended_at IS NULL"),
            postgresql_where=text("role = 'referent' AND ended_at IS NULL"),
        ),
        Index(
            "uq_group_memberships_active_member",
            "journey_id",
            "account_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_group_memberships_account_active", "account_id", "ended_at"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[GroupRole] = mapped_column(str_enum(GroupRole, "group_role"))
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    start_reason: Mapped[str] = mapped_column(String(500))
    is_break_glass: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))

    journey: Mapped[Journey] = relationship(back_populates="group")

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class ConsentScope(StrEnum):
    HEALTH = "health"


class Consent(TenantScoped, UUIDPrimaryKey, Base):
    """The person opens a compartment (health) to a named organisation, until withdrawn."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_at >= granted_at", name="withdrawn_after"
        ),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    scope: Mapped[ConsentScope] = mapped_column(str_enum(ConsentScope, "consent_scope"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    granted_at: Mapped[datetime] = mapped_column(default=clock.now)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    withdrawn_at: Mapped[datetime | None]


class TimelineEvent(TenantScoped, UUIDPrimaryKey, Base):
    """What happened on a record, generated by services (never typed by a user)."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_record", "beneficiary_id", "occurred_at"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journeys.id"))
    kind: Mapped[str] = mapped_column(String(64))  # domain:subject:event
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
    actor_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    actor_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    # Ids and codes only, so shredding a person's key leaves nothing readable here.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
