"""Appointments and notes of a person's record.

An appointment carries a `version` (SQLAlchemy's version counter): an edit made on a
stale copy is refused. A note's body is sealed under the person's data key
(`body_sealed`, never used in WHERE or ORDER BY); its visibility says who may read it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum


class AppointmentKind(StrEnum):
    COLLECTIVE = "collectif"
    INDIVIDUAL = "individuel"
    TRIPARTITE = "tripartite"


class AppointmentChannel(StrEnum):
    IN_PERSON = "sur_place"
    PHONE = "telephone"
    VIDEO = "visio"


class Attendance(StrEnum):
    ABSENT = "absent"
    EXCUSED = "excuse"
    PRESENT = "present"


class NoteVisibility(StrEnum):
    GROUP = "groupe"
    PRIVATE = "privee"
    SHARED = "partagee"


class Appointment(TenantScoped, UUIDPrimaryKey, Base):
    """A meeting with the person, held by one professional of one organisation."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("channel != 'sur_place' OR place IS NOT NULL", name="place_on_site"),
        CheckConstraint(
            "(is_cancelled AND cancellation_reason IS NOT NULL) "
            "OR (NOT is_cancelled AND cancellation_reason IS NULL)",
            name="cancelled_has_reason",
        ),
        CheckConstraint(
            "(attendance IS NULL) = (attendance_recorded_at IS NULL)",
            name="attendance_has_date",
        ),
        Index("ix_appointments_record", "beneficiary_id", "starts_at"),
        Index("ix_appointments_professional", "professional_account_id", "starts_at"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    journey_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journeys.id"))
    kind: Mapped[AppointmentKind] = mapped_column(str_enum(AppointmentKind, "appointment_kind"))
    starts_at: Mapped[datetime]
    channel: Mapped[AppointmentChannel] = mapped_column(
        str_enum(AppointmentChannel, "appointment_channel")
    )
    place: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    professional_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    # « Sujets à aborder », listed in the invitation so the person can prepare.
    topics: Mapped[str | None] = mapped_column(Text)
    attendance: Mapped[Attendance | None] = mapped_column(str_enum(Attendance, "attendance"))
    attendance_recorded_at: Mapped[datetime | None]
    attendance_recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class Note(TenantScoped, UUIDPrimaryKey, Base):
    """A note about the person, optionally about one appointment; the body is sealed."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_record", "beneficiary_id", "created_at"),)

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id"), index=True
    )
    author_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    author_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    visibility: Mapped[NoteVisibility] = mapped_column(str_enum(NoteVisibility, "note_visibility"))
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
