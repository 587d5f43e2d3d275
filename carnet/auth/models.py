"""Accounts and the ways they prove who they are."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum


class AccountKind(StrEnum):
    BENEFICIARY = "beneficiary"
    PLATFORM_ADMIN = "platform_admin"
    PROFESSIONAL = "professional"


class Account(UUIDPrimaryKey, Base):
    """A person who may log in. Identity comes from `OidcIdentity`, never from the e-mail."""

    __tablename__ = "accounts"

    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "account_kind"))
    # An invited professional's e-mail: his or her first ProConnect login with the same
    # verified address claims the account; from then on only the identity counts.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    is_disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_login_at: Mapped[datetime | None]

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class OidcIdentity(UUIDPrimaryKey, Base):
    __tablename__ = "oidc_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))  # proconnect | franceconnect
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime | None]


class MagicLink(UUIDPrimaryKey, Base):
    """An e-mail login link: only its SHA-256 is stored; a POST consumes it, once."""

    __tablename__ = "magic_links"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_creation"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ActivationCode(TenantScoped, UUIDPrimaryKey, Base):
    """A code handed over by letter or SMS to link a beneficiary's FranceConnect identity."""

    __tablename__ = "activation_codes"
    __table_args__ = (CheckConstraint("failed_attempts >= 0", name="attempts_positive"),)

    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    # The code's first characters, in clear: they find the row, so a wrong secret can be
    # counted against that code (dead after 5 failures). The whole code is stored hashed.
    selector: Mapped[str] = mapped_column(String(8), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)


class TotpCredential(UUIDPrimaryKey, Base):
    """An admin's second factor; the last accepted time step refuses a replayed code."""

    __tablename__ = "totp_credentials"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), unique=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None]
    last_used_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
