"""Add appointments and notes

Appointments carry a version counter for optimistic locking; a note's body is sealed
under the person's data key (`body_sealed`).

Revision ID: b33341e2fec4
Revises: 2e98f8ea60a1
Create Date: 2026-11-23 11:58:32.540144
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b33341e2fec4"
down_revision: str | None = "2e98f8ea60a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "collectif",
                "individuel",
                "tripartite",
                name="appointment_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "sur_place",
                "telephone",
                "visio",
                name="appointment_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("professional_account_id", sa.Uuid(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=True),
        sa.Column(
            "attendance",
            sa.Enum(
                "absent",
                "excuse",
                "present",
                name="attendance",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("attendance_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attendance_recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "channel != 'sur_place' OR place IS NOT NULL",
            name=op.f("ck_appointments_place_on_site"),
        ),
        sa.CheckConstraint(
            "(attendance IS NULL) = (attendance_recorded_at IS NULL)",
            name=op.f("ck_appointments_attendance_has_date"),
        ),
        sa.CheckConstraint(
            "(is_cancelled AND cancellation_reason IS NOT NULL) "
            "OR (NOT is_cancelled AND cancellation_reason IS NULL)",
            name=op.f("ck_appointments_cancelled_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["attendance_recorded_by_id"],
            ["accounts.id"],
            name=op.f("fk_appointments_attendance_recorded_by_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_appointments_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["accounts.id"], name=op.f("fk_appointments_created_by_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_appointments_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name=op.f("fk_appointments_journey_id_journeys")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_appointments_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_account_id"],
            ["accounts.id"],
            name=op.f("fk_appointments_professional_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_professional", ["professional_account_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_record", ["beneficiary_id", "starts_at"], unique=False
        )

    op.create_table(
        "notes",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("author_account_id", sa.Uuid(), nullable=False),
        sa.Column("author_organisation_id", sa.Uuid(), nullable=True),
        sa.Column(
            "visibility",
            sa.Enum(
                "groupe",
                "privee",
                "partagee",
                name="note_visibility",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_notes_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"], ["accounts.id"], name=op.f("fk_notes_author_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notes_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_notes_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_notes_departement_id_departements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notes_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notes_author_account_id"), ["author_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notes_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index("ix_notes_record", ["beneficiary_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index("ix_notes_record")
        batch_op.drop_index(batch_op.f("ix_notes_departement_id"))
        batch_op.drop_index(batch_op.f("ix_notes_author_account_id"))
        batch_op.drop_index(batch_op.f("ix_notes_appointment_id"))

    op.drop_table("notes")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_record")
        batch_op.drop_index("ix_appointments_professional")
        batch_op.drop_index(batch_op.f("ix_appointments_departement_id"))

    op.drop_table("appointments")
