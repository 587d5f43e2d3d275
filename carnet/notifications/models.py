"""Notices to people (in the app) and the outbox of messages to send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, UUIDPrimaryKey


class Notification(UUIDPrimaryKey, Base):
    """Something a person must know (« X a rejoint votre groupe de suivi »).

    The text is composed at display time from `kind` and `details` (ids and codes), so a
    shredded record leaves no readable personal data here.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient_unread", "recipient_account_id", "read_at"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    recipient_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    beneficiary_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("beneficiaries.id"))
    kind: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None]
