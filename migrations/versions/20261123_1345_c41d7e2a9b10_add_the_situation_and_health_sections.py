"""Add the situation and health sections

Dated diagnostic versions with their situations, freins périphériques, and the health
compartment: health freins, the RQTH record and health partners' notes, their words
sealed. Editable rows carry a `version` counter for optimistic locking.

Revision ID: c41d7e2a9b10
Revises: b52ce5d6b9ca
Create Date: 2026-11-23 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41d7e2a9b10"
down_revision: str | None = "b52ce5d6b9ca"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frein's status and its dates agree (the models' `status_dates` check).
_STATUS_DATES = (
    "(status = 'identifie' AND in_progress_on IS NULL AND lifted_on IS NULL) "
    "OR (status = 'en_cours' AND in_progress_on IS NOT NULL AND lifted_on IS NULL) "
    "OR (status = 'leve' AND lifted_on IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "barriers",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=True),
        sa.Column("theme_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("details", sa.String(length=1000), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "identifie",
                "en_cours",
                "leve",
                name="barrier_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("identified_on", sa.Date(), nullable=False),
        sa.Column("in_progress_on", sa.Date(), nullable=True),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column(
            "declared_by",
            sa.Enum(
                "personne",
                "professionnel",
                name="declarant",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author_account_id", sa.Uuid(), nullable=True),
        sa.Column("author_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            _STATUS_DATES,
            name=op.f("ck_barriers_status_dates"),
        ),
        sa.CheckConstraint(
            "in_progress_on IS NULL OR in_progress_on >= identified_on",
            name=op.f("ck_barriers_started_after"),
        ),
        sa.CheckConstraint(
            "lifted_on IS NULL OR in_progress_on IS NULL OR lifted_on >= in_progress_on",
            name=op.f("ck_barriers_lifted_after_start"),
        ),
        sa.CheckConstraint(
            "lifted_on IS NULL OR lifted_on >= identified_on", name=op.f("ck_barriers_lifted_after")
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_barriers_author_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_barriers_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_barriers_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_barriers_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["referential_entries.id"],
            name=op.f("fk_barriers_entry_id_referential_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name=op.f("fk_barriers_journey_id_journeys")
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["referential_themes.id"],
            name=op.f("fk_barriers_theme_id_referential_themes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barriers")),
    )
    with op.batch_alter_table("barriers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_barriers_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index("ix_barriers_record", ["beneficiary_id", "status"], unique=False)
        batch_op.create_index(
            "ix_barriers_theme", ["departement_id", "theme_id", "status"], unique=False
        )

    op.create_table(
        "diagnostics",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "declared_by",
            sa.Enum(
                "personne",
                "professionnel",
                name="declarant",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author_account_id", sa.Uuid(), nullable=True),
        sa.Column("author_organisation_id", sa.Uuid(), nullable=True),
        sa.Column(
            "education_level",
            sa.Enum(
                "aucun_diplome",
                "cap_bep",
                "bac",
                "bac_2",
                "licence",
                "master_plus",
                name="education_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "digital_autonomy",
            sa.Enum(
                "autonomous",
                "needs_help",
                "no_access",
                name="digital_autonomy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("strengths", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_diagnostics_number_positive")),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_diagnostics_author_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_diagnostics_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_diagnostics_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_diagnostics_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name=op.f("fk_diagnostics_journey_id_journeys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostics")),
        sa.UniqueConstraint(
            "beneficiary_id", "number", name=op.f("uq_diagnostics_beneficiary_id_number")
        ),
    )
    with op.batch_alter_table("diagnostics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_diagnostics_departement_id"), ["departement_id"], unique=False
        )

    op.create_table(
        "health_barriers",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=True),
        sa.Column("label_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "identifie",
                "en_cours",
                "leve",
                name="barrier_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("identified_on", sa.Date(), nullable=False),
        sa.Column("in_progress_on", sa.Date(), nullable=True),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column(
            "declared_by",
            sa.Enum(
                "personne",
                "professionnel",
                name="declarant",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author_account_id", sa.Uuid(), nullable=True),
        sa.Column("author_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            _STATUS_DATES,
            name=op.f("ck_health_barriers_status_dates"),
        ),
        sa.CheckConstraint(
            "in_progress_on IS NULL OR in_progress_on >= identified_on",
            name=op.f("ck_health_barriers_started_after"),
        ),
        sa.CheckConstraint(
            "lifted_on IS NULL OR in_progress_on IS NULL OR lifted_on >= in_progress_on",
            name=op.f("ck_health_barriers_lifted_after_start"),
        ),
        sa.CheckConstraint(
            "lifted_on IS NULL OR lifted_on >= identified_on",
            name=op.f("ck_health_barriers_lifted_after"),
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_health_barriers_author_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_health_barriers_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_health_barriers_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_health_barriers_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name=op.f("fk_health_barriers_journey_id_journeys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_barriers")),
    )
    with op.batch_alter_table("health_barriers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_barriers_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index(
            "ix_health_barriers_record", ["beneficiary_id", "status"], unique=False
        )

    op.create_table(
        "health_notes",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("author_account_id", sa.Uuid(), nullable=False),
        sa.Column("author_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_health_notes_author_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_health_notes_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_health_notes_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_health_notes_departement_id_departements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_notes")),
    )
    with op.batch_alter_table("health_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_notes_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index(
            "ix_health_notes_record", ["beneficiary_id", "created_at"], unique=False
        )

    op.create_table(
        "rqth_records",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_account_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_rqth_records_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_rqth_records_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_rqth_records_updated_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_rqth_records_updated_by_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rqth_records")),
        sa.UniqueConstraint("beneficiary_id", name=op.f("uq_rqth_records_beneficiary_id")),
    )
    with op.batch_alter_table("rqth_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rqth_records_departement_id"), ["departement_id"], unique=False
        )

    op.create_table(
        "diagnostic_situations",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("diagnostic_id", sa.Uuid(), nullable=False),
        sa.Column("theme_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_diagnostic_situations_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_diagnostic_situations_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["diagnostic_id"],
            ["diagnostics.id"],
            name=op.f("fk_diagnostic_situations_diagnostic_id_diagnostics"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["referential_entries.id"],
            name=op.f("fk_diagnostic_situations_entry_id_referential_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["referential_themes.id"],
            name=op.f("fk_diagnostic_situations_theme_id_referential_themes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_situations")),
    )
    with op.batch_alter_table("diagnostic_situations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_diagnostic_situations_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_diagnostic_situations_diagnostic_id"), ["diagnostic_id"], unique=False
        )
        batch_op.create_index(
            "ix_diagnostic_situations_theme", ["departement_id", "theme_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("diagnostic_situations", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnostic_situations_theme")
        batch_op.drop_index(batch_op.f("ix_diagnostic_situations_diagnostic_id"))
        batch_op.drop_index(batch_op.f("ix_diagnostic_situations_departement_id"))

    op.drop_table("diagnostic_situations")
    with op.batch_alter_table("rqth_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rqth_records_departement_id"))

    op.drop_table("rqth_records")
    with op.batch_alter_table("health_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_health_notes_record")
        batch_op.drop_index(batch_op.f("ix_health_notes_departement_id"))

    op.drop_table("health_notes")
    with op.batch_alter_table("health_barriers", schema=None) as batch_op:
        batch_op.drop_index("ix_health_barriers_record")
        batch_op.drop_index(batch_op.f("ix_health_barriers_departement_id"))

    op.drop_table("health_barriers")
    with op.batch_alter_table("diagnostics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnostics_departement_id"))

    op.drop_table("diagnostics")
    with op.batch_alter_table("barriers", schema=None) as batch_op:
        batch_op.drop_index("ix_barriers_theme")
        batch_op.drop_index("ix_barriers_record")
        batch_op.drop_index(batch_op.f("ix_barriers_departement_id"))

    op.drop_table("barriers")
