"""Add professional projects and documents

Professional projects (ROME jobs) and encrypted uploaded documents.

Revision ID: d52e8f3b0c21
Revises: c41d7e2a9b10
Create Date: 2026-11-23 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d52e8f3b0c21"
down_revision: str | None = "c41d7e2a9b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "document_kind",
                "attestation",
                "cv",
                "diplome",
                "piece_identite",
                "autre",
                "justificatif_domicile",
                "avis_imposition",
            ),
            nullable=False,
        ),
        sa.Column("file_format", _enum("document_format", "jpeg", "pdf", "png"), nullable=False),
        sa.Column("filename_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("description_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_account_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_documents_sha256_hex")),
        sa.CheckConstraint(
            "size_bytes > 0 AND size_bytes <= 5242880", name=op.f("ck_documents_size_range")
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_documents_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_documents_departement_id_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_documents_uploaded_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_documents_uploaded_by_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_departement_id"), ["departement_id"], unique=False
        )
        batch_op.create_index(
            "ix_documents_record", ["beneficiary_id", "uploaded_at"], unique=False
        )

    op.create_table(
        "professional_projects",
        sa.Column("departement_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=True),
        sa.Column("job_label", sa.String(length=200), nullable=False),
        sa.Column(
            "contract",
            _enum(
                "project_contract",
                "indifferent",
                "alternance",
                "creation_entreprise",
                "cdd",
                "cdi",
                "iae",
                "interim",
            ),
            nullable=False,
        ),
        sa.Column(
            "working_time",
            _enum("project_working_time", "indifferent", "temps_plein", "temps_partiel"),
            nullable=False,
        ),
        sa.Column("mobility_radius_km", sa.Integer(), nullable=True),
        sa.Column("has_driving_licence", sa.Boolean(), nullable=False),
        sa.Column("has_vehicle", sa.Boolean(), nullable=False),
        sa.Column("has_two_wheeler", sa.Boolean(), nullable=False),
        sa.Column("uses_public_transport", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            _enum("project_status", "abandonne", "atteint", "en_reflexion", "valide"),
            nullable=False,
        ),
        sa.Column(
            "declared_by",
            _enum("project_declared_by", "personne", "professionnel"),
            nullable=False,
        ),
        sa.Column("author_account_id", sa.Uuid(), nullable=True),
        sa.Column("author_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "mobility_radius_km IS NULL OR (mobility_radius_km >= 0 AND mobility_radius_km <= 300)",
            name=op.f("ck_professional_projects_radius_range"),
        ),
        sa.CheckConstraint(
            "rome_code IS NULL OR length(rome_code) = 5",
            name=op.f("ck_professional_projects_rome_code_format"),
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_professional_projects_author_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_professional_projects_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_professional_projects_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_id"],
            ["departements.id"],
            name=op.f("fk_professional_projects_departement_id_departements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_professional_projects")),
    )
    with op.batch_alter_table("professional_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_professional_projects_departement_id"),
            ["departement_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_professional_projects_record", ["beneficiary_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_professional_projects_rome", ["departement_id", "rome_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("professional_projects", schema=None) as batch_op:
        batch_op.drop_index("ix_professional_projects_rome")
        batch_op.drop_index("ix_professional_projects_record")
        batch_op.drop_index(batch_op.f("ix_professional_projects_departement_id"))
    op.drop_table("professional_projects")

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_record")
        batch_op.drop_index(batch_op.f("ix_documents_departement_id"))
    op.drop_table("documents")
