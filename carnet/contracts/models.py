"""Contracts (DOMAIN.md §3.5): a series of versions, each drafted, proposed, then signed.

A `Contract` is one engagement of a kind over time; its `status` says where it stands
(brouillon until a first version is signed, then en vigueur, then terminé or échu). Its
`ContractVersion`s carry the content: the first version and each avenant. A version is
drafted, proposed to the person, then signed by both parties; once both signatures are
on it, it never changes again (the ORM refuses and, on PostgreSQL, a trigger too), and
its PDF is kept sealed under the person's data key with the SHA-256 of its bytes. A
contract signed outside Carnet (on paper, or a PPAE in France Travail's tool) is recorded
as such and has no PDF here.

At most one contract per kind is in force for a person, enforced by a partial unique
index; at most one version of a contract is being negotiated at a time, likewise.
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
    event,
    text,
)
from sqlalchemy.orm import Mapped, attributes, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum

TEXT_MAX = 2000
REASON_MAX = 500
DEFAULT_WEEKLY_HOURS = 15


class ContractKind(StrEnum):
    CEJ = "cej"  # contrat d'engagement jeune
    CER = "cer"  # contrat d'engagement réciproque
    ENGAGEMENT = "contrat_engagement"  # loi « plein emploi » (2023)
    PACEA = "pacea"
    PPAE = "ppae"  # projet personnalisé d'accès à l'emploi


class ContractStatus(StrEnum):
    CANCELLED = "abandonne"  # a draft never signed, given up
    DRAFT = "brouillon"
    ENDED = "termine"  # ended before its term, with a reason
    EXPIRED = "echu"  # reached its end date
    IN_FORCE = "en_vigueur"


class VersionStatus(StrEnum):
    DRAFT = "brouillon"
    PROPOSED = "proposee"
    SIGNED = "signee"
    WITHDRAWN = "retiree"  # an avenant given up before signature


class SignatureMode(StrEnum):
    ACCOMPANIED = "accompagne"  # with the person present, recorded by the référent
    ELSEWHERE = "hors_carnet"  # signed on paper or in another tool (a PPAE at France Travail)
    PORTAL = "espace_personnel"  # by the person in his or her own space


class Contract(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(
            "status NOT IN ('termine', 'abandonne') OR end_reason IS NOT NULL",
            name="ended_has_reason",
        ),
        Index(
            "uq_contracts_one_in_force_per_kind",
            "beneficiary_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'en_vigueur'"),
            postgresql_where=text("status = 'en_vigueur'"),
        ),
        Index("ix_contracts_record", "beneficiary_id", "created_at"),
        Index("ix_contracts_ending", "departement_id", "status", "ends_on"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id"), index=True)
    kind: Mapped[ContractKind] = mapped_column(str_enum(ContractKind, "contract_kind"))
    status: Mapped[ContractStatus] = mapped_column(
        str_enum(ContractStatus, "contract_status"), default=ContractStatus.DRAFT
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    # The dates of the version in force (copied at signature), for the alerts and queries.
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class ContractVersion(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "contract_versions"
    __table_args__ = (
        UniqueConstraint("contract_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        CheckConstraint(
            "weekly_hours IS NULL OR (weekly_hours >= 0 AND weekly_hours <= 35)",
            name="weekly_hours_bounds",
        ),
        CheckConstraint(
            "weekly_hours IS NULL OR weekly_hours >= 15 OR hours_exemption_reason IS NOT NULL",
            name="reduced_hours_have_reason",
        ),
        CheckConstraint(
            "status <> 'signee' OR (person_signed_at IS NOT NULL "
            "AND referent_signed_at IS NOT NULL "
            "AND (pdf_sha256 IS NOT NULL OR person_signature_mode = 'hors_carnet'))",
            name="signed_has_both_signatures",
        ),
        Index(
            "uq_contract_versions_one_open",
            "contract_id",
            unique=True,
            sqlite_where=text("status IN ('brouillon', 'proposee')"),
            postgresql_where=text("status IN ('brouillon', 'proposee')"),
        ),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int]  # 1 for the contract, 2… for each avenant
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus, "contract_version_status"), default=VersionStatus.DRAFT
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Contrat d'engagement: hours of activity a week (15 by default) and why fewer.
    weekly_hours: Mapped[int | None]
    hours_exemption_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    person_commitments: Mapped[str] = mapped_column(String(TEXT_MAX))
    support_commitments: Mapped[str] = mapped_column(String(TEXT_MAX))
    # The plan objectives written into this version, as they read: [{"id", "label"}].
    objectives: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    referent_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    proposed_at: Mapped[datetime | None]
    person_signed_at: Mapped[datetime | None]
    person_signature_mode: Mapped[SignatureMode | None] = mapped_column(
        str_enum(SignatureMode, "signature_mode")
    )
    # In « mode accompagné », the professional who recorded the person's signature.
    person_signature_recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id")
    )
    referent_signed_at: Mapped[datetime | None]
    referent_signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    referent_signed_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )
    pdf_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column()

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class SignedVersionChanged(RuntimeError):
    """A signed version was about to change: a programming error, never a user's."""


@event.listens_for(ContractVersion, "before_update")
def _refuse_signed_changes(_mapper: Any, _connection: Any, target: ContractVersion) -> None:
    # The status as loaded, before this flush's change: a signed version is immutable.
    history = attributes.get_history(target, "status")
    loaded = history.deleted[0] if history.deleted else target.status
    if loaded == VersionStatus.SIGNED:
        raise SignedVersionChanged(f"contract version {target.id} is signed")
