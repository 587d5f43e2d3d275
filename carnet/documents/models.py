"""Documents of a person's record (DOMAIN.md §4 `documents`): identity papers, proofs of
address, CVs, certificates, tax notices.

The file, its name and its description are sealed under the person's data key
(`*_sealed`, never used in WHERE or ORDER BY): destroying that key makes them unreadable.
The content lives in the row itself, so a document and its file are written in one
transaction; the column is deferred, so listing documents never loads the files. What
stays in clear is what the platform needs to check and show a file without opening it:
its kind, its detected format, its size and the SHA-256 of its content.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum

MAX_BYTES = 5 * 1024 * 1024


class DocumentKind(StrEnum):
    CERTIFICATE = "attestation"
    CV = "cv"
    DIPLOMA = "diplome"
    IDENTITY = "piece_identite"
    OTHER = "autre"
    PROOF_OF_ADDRESS = "justificatif_domicile"
    TAX_NOTICE = "avis_imposition"


class DocumentFormat(StrEnum):
    """The format detected from the file's first bytes (never the browser's word)."""

    JPEG = "jpeg"
    PDF = "pdf"
    PNG = "png"


class Document(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"size_bytes > 0 AND size_bytes <= {MAX_BYTES}", name="size_range"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        Index("ix_documents_record", "beneficiary_id", "uploaded_at"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "document_kind"))
    file_format: Mapped[DocumentFormat] = mapped_column(str_enum(DocumentFormat, "document_format"))
    filename_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    description_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext, hexadecimal
    uploaded_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    uploaded_by_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.now)
