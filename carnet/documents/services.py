"""Documents: the only readers and writers of this section of a record.

Each entry point opens the record through `carnet.records.gate` (scope, policy on the
`documents` section, audit row in the caller's transaction) before it reads or writes
anything of the person, and never commits. A file is checked before the record is opened
(so a refused upload leaves no audit row claiming a write):

- its size: not empty, at most 5 Mo;
- its type, from its first bytes ("magic numbers"), never from the name or the browser's
  word: PDF, JPEG or PNG, nothing else;
- its name: no folder, no control character, a bounded length, and the extension of the
  detected type.

The file is sealed with AES-256-GCM under the person's data key (the same envelope as
`carnet.security.crypto` uses for fields, bound to the row by the associated data), and
stored in the row, in the same transaction. Its name and description are sealed too.
Destroying the person's key (`crypto.shred`) leaves ciphertext only: downloads then say
so in French. The SHA-256 of the plaintext is kept to show, and re-checked on download.

Every download is an audited read of its own, with the document's id. Uploads and
deletions are written to the timeline with ids and codes only; a deletion removes the
row, hence the file, for good.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import undefer

from carnet import clock, db
from carnet.documents.models import MAX_BYTES, Document, DocumentFormat, DocumentKind
from carnet.errors import Denied, InvalidInput, NotFound, Unavailable
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, Journey, TimelineEvent
from carnet.security import crypto
from carnet.security.permissions import Level, Relation, Section
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

# Where a document's sealed parts live; sealing and opening must name the same place (AAD).
DOCUMENT_TABLE = "documents"
CONTENT_COLUMN = "content_sealed"
FILENAME_COLUMN = "filename_sealed"
DESCRIPTION_COLUMN = "description_sealed"
DOCUMENTS_LIMIT = 100
STEM_MAX = 80  # characters of a file name before its extension
DESCRIPTION_MAX = 200

MEDIA_TYPES: dict[DocumentFormat, str] = {
    DocumentFormat.JPEG: "image/jpeg",
    DocumentFormat.PDF: "application/pdf",
    DocumentFormat.PNG: "image/png",
}
EXTENSIONS: dict[DocumentFormat, str] = {
    DocumentFormat.JPEG: ".jpg",
    DocumentFormat.PDF: ".pdf",
    DocumentFormat.PNG: ".png",
}
# The first bytes of each accepted format.
_SIGNATURES: tuple[tuple[bytes, DocumentFormat], ...] = (
    (b"%PDF-", DocumentFormat.PDF),
    (b"\xff\xd8\xff", DocumentFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", DocumentFormat.PNG),
)
# The name a file gets when nothing usable is left of its own, by kind.
DEFAULT_STEMS: dict[DocumentKind, str] = {
    DocumentKind.CERTIFICATE: "attestation",
    DocumentKind.CV: "cv",
    DocumentKind.DIPLOMA: "diplome",
    DocumentKind.IDENTITY: "piece-identite",
    DocumentKind.OTHER: "document",
    DocumentKind.PROOF_OF_ADDRESS: "justificatif-domicile",
    DocumentKind.TAX_NOTICE: "avis-imposition",
}

FORM_MESSAGE = "Le formulaire contient des erreurs : corrigez les champs signalés."
NO_FILE_MESSAGE = "Choisissez le fichier à envoyer."
EMPTY_MESSAGE = "Le fichier envoyé est vide : choisissez un autre fichier."
TOO_LARGE_MESSAGE = (
    "Le fichier dépasse la taille maximale de 5 Mo. Réduisez-le (par exemple en le "
    "numérisant en qualité « document » plutôt que « photo »), ou envoyez chaque page à part."
)
WRONG_TYPE_MESSAGE = (
    "Ce type de fichier n'est pas accepté. Formats acceptés : PDF, JPEG ou PNG "
    "(un document numérisé ou une photo)."
)
ERASED_MESSAGE = (
    "Ce document ne peut plus être ouvert : les données de cette personne ont été effacées "
    "(leur clé de chiffrement a été détruite)."
)
DELETE_REFUSED_MESSAGE = (
    "Seuls la personne qui a déposé ce document et le référent peuvent le supprimer."
)
UNREADABLE_NAME = "Nom illisible (données effacées)"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters that mean something to a file system, a shell or an HTTP header.
_RESERVED = re.compile(r'[<>:"/\\|?*;%`$]')


class Tag(StrEnum):
    """Audit tags of the documents domain (`domain:subject:action`)."""

    DOCUMENT_CREATED = "documents:document:created"
    DOCUMENT_DELETED = "documents:document:deleted"
    DOCUMENT_DOWNLOADED = "documents:document:downloaded"
    DOCUMENT_READ = "documents:document:read"
    DOCUMENTS_READ = "documents:documents:read"


class Event(StrEnum):
    """Timeline kinds written by this module."""

    DOCUMENT_ADDED = "documents:document:added"
    DOCUMENT_DELETED = "documents:document:deleted"


# -- checking a file (no personal data involved) -----------------------------------------------


def detect_format(content: bytes) -> DocumentFormat | None:
    """The format told by the file's first bytes, or None for anything else."""
    for signature, file_format in _SIGNATURES:
        if content.startswith(signature):
            return file_format
    return None


def clean_filename(raw: str | None, file_format: DocumentFormat, kind: DocumentKind) -> str:
    """A name safe to store and to send back: the last path segment only, no control or
    reserved character, no leading dot, at most STEM_MAX characters, and the extension of
    the detected format (whatever extension the name claimed)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name)
    # Unicode's own invisible and direction-changing characters (format, separators).
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Zl", "Zp", "Co"))
    name = _RESERVED.sub("_", name)
    stem, dot, _extension = name.rpartition(".")
    if not dot:
        stem = name
    stem = " ".join(stem.split()).strip(" .-_")
    stem = stem[:STEM_MAX].rstrip(" .")
    return f"{stem or DEFAULT_STEMS[kind]}{EXTENSIONS[file_format]}"


def ascii_filename(name: str) -> str:
    """The plain-ASCII stand-in of a cleaned name, for the `filename=` of old user agents:
    accents dropped, other characters gone, « document » when nothing is left of the stem."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    decomposed = unicodedata.normalize("NFKD", stem)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._() -]", "_", " ".join(plain.split())).strip(" ._")
    plain = plain or "document"
    return f"{plain}.{extension}" if extension else plain


@dataclass(frozen=True)
class Upload:
    """What arrives with an upload: the form's fields and the file as sent."""

    kind: DocumentKind
    description: str | None
    filename: str | None
    content: bytes


@dataclass(frozen=True)
class CheckedFile:
    file_format: DocumentFormat
    filename: str
    sha256: str


def _file_error(message: str) -> InvalidInput:
    return InvalidInput(FORM_MESSAGE, fields={"fichier": [message]})


def check_file(upload: Upload) -> CheckedFile:
    """Refuse an empty, too large or unaccepted file with a French message on `fichier`."""
    if not upload.content:
        raise _file_error(NO_FILE_MESSAGE if not upload.filename else EMPTY_MESSAGE)
    if len(upload.content) > MAX_BYTES:
        raise _file_error(TOO_LARGE_MESSAGE)
    file_format = detect_format(upload.content)
    if file_format is None:
        raise _file_error(WRONG_TYPE_MESSAGE)
    return CheckedFile(
        file_format=file_format,
        filename=clean_filename(upload.filename, file_format, upload.kind),
        sha256=hashlib.sha256(upload.content).hexdigest(),
    )


# -- sealing ----------------------------------------------------------------------------------


def _seal_bytes(person: Beneficiary, row_id: uuid.UUID, column: str, plaintext: bytes) -> bytes:
    return crypto.current().seal_bytes(
        db.session(),
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table=DOCUMENT_TABLE,
        column=column,
        row_id=row_id,
        plaintext=plaintext,
    )


def _open_bytes(person: Beneficiary, row_id: uuid.UUID, column: str, sealed: bytes) -> bytes:
    """Raises crypto.KeyShredded when the person's key is gone, TamperedCiphertext when the
    ciphertext does not open under it (altered, or copied from another row)."""
    return crypto.current().open_bytes(
        db.session(),
        beneficiary_id=person.id,
        table=DOCUMENT_TABLE,
        column=column,
        row_id=row_id,
        sealed=sealed,
    )


def _seal_text(person: Beneficiary, row_id: uuid.UUID, column: str, text: str) -> bytes:
    return crypto.current().seal(
        db.session(),
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table=DOCUMENT_TABLE,
        column=column,
        row_id=row_id,
        plaintext=text,
    )


def _open_text(person: Beneficiary, row_id: uuid.UUID, column: str, sealed: bytes) -> str | None:
    """The text, or None when the person's key was destroyed; any other failure is an
    incident, logged by ids only, and the page fails closed."""
    try:
        return crypto.current().open(
            db.session(),
            beneficiary_id=person.id,
            table=DOCUMENT_TABLE,
            column=column,
            row_id=row_id,
            sealed=sealed,
        )
    except crypto.KeyShredded:
        return None
    except crypto.CryptoError as exc:
        _incident(row_id, column, exc)
        raise Unavailable(
            "Impossible de déchiffrer les documents pour le moment. L'incident est signalé ; "
            "réessayez plus tard."
        ) from None


def _incident(row_id: uuid.UUID, column: str, exc: Exception) -> None:
    log.error(
        "sealed document part cannot be opened table=%s column=%s row=%s error=%s",
        DOCUMENT_TABLE,
        column,
        row_id,
        type(exc).__name__,
    )


# -- what the pages receive ---------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    kind: DocumentKind
    file_format: DocumentFormat
    filename: str  # UNREADABLE_NAME once the person's key is destroyed
    description: str | None
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    uploader_label: str
    is_readable: bool
    may_delete: bool


@dataclass(frozen=True)
class DocumentsPage:
    access: RecordAccess
    person: Beneficiary
    documents: list[DocumentView]
    max_bytes: int = MAX_BYTES

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.DOCUMENTS, Level.WRITE)


@dataclass(frozen=True)
class DocumentPage:
    access: RecordAccess
    person: Beneficiary
    document: DocumentView


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    content: bytes


# -- helpers ----------------------------------------------------------------------------------


def _open(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    tag: Tag,
    level: Level = Level.READ,
    object_id: uuid.UUID | None = None,
) -> RecordAccess:
    return gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.DOCUMENTS,
        level=level,
        tag=tag,
        object_id=object_id,
    )


def _timeline(access: RecordAccess, kind: Event, document_id: uuid.UUID, doc_kind: str) -> None:
    journey = access.beneficiary.current_journey
    records.add_event(
        access,
        kind,
        journey.id if journey else None,
        {"document_id": str(document_id), "kind": doc_kind},
    )


def _may_delete(access: RecordAccess, row: Document) -> bool:
    """The uploader, or a professional of the group who may write documents (the matrix
    gives that to the référent): both need the write level on the section."""
    if not access.can(Section.DOCUMENTS, Level.WRITE):
        return False
    actor = access.actor
    # The one who deposited the file (the person included) may take it back.
    if actor.account_id is not None and actor.account_id == row.uploaded_by_account_id:
        return True
    # A group member with the write level: the référent, by the matrix.
    return access.decision.relation is Relation.GROUP_MEMBER


def _uploaders(
    actor: Principal, person: Beneficiary, rows: Iterable[Document]
) -> tenancy.AuthorLabels:
    """Who deposited these files, loaded at once."""
    pairs = [(row.uploaded_by_account_id, row.uploaded_by_organisation_id) for row in rows]
    return tenancy.AuthorLabels(actor, person.account_id, pairs)


def _view(access: RecordAccess, row: Document, uploaders: tenancy.AuthorLabels) -> DocumentView:
    person = access.beneficiary
    filename = _open_text(person, row.id, FILENAME_COLUMN, row.filename_sealed)
    description = (
        _open_text(person, row.id, DESCRIPTION_COLUMN, row.description_sealed)
        if row.description_sealed is not None
        else None
    )
    return DocumentView(
        id=row.id,
        kind=row.kind,
        file_format=row.file_format,
        filename=filename if filename is not None else UNREADABLE_NAME,
        description=description,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        uploaded_at=row.uploaded_at,
        uploader_label=uploaders.label(row.uploaded_by_account_id, row.uploaded_by_organisation_id),
        is_readable=filename is not None,
        may_delete=_may_delete(access, row),
    )


def _document_row(
    access: RecordAccess, document_id: uuid.UUID, *, with_content: bool = False
) -> Document:
    query = select(Document).where(
        Document.id == document_id, Document.beneficiary_id == access.beneficiary.id
    )
    if with_content:
        query = query.options(undefer(Document.content_sealed))
    document = db.session().scalar(query)
    if document is None:
        raise NotFound("Ce document n'existe pas, ou plus, dans ce carnet.")
    return document


# -- reading ----------------------------------------------------------------------------------


def list_documents(*, actor: Principal, beneficiary_id: uuid.UUID) -> DocumentsPage:
    """The person's documents, newest first, without their files; one audited read."""
    access = _open(actor=actor, beneficiary_id=beneficiary_id, tag=Tag.DOCUMENTS_READ)
    person = access.beneficiary
    rows = list(
        db.session().scalars(
            select(Document)
            .where(Document.beneficiary_id == person.id)
            .order_by(Document.uploaded_at.desc(), Document.id)
            .limit(DOCUMENTS_LIMIT)
        )
    )
    uploaders = _uploaders(actor, person, rows)
    return DocumentsPage(
        access=access, person=person, documents=[_view(access, r, uploaders) for r in rows]
    )


def get_document(
    *, actor: Principal, beneficiary_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentPage:
    """One document's details (the deletion page), without its file; an audited read."""
    access = _open(
        actor=actor, beneficiary_id=beneficiary_id, tag=Tag.DOCUMENT_READ, object_id=document_id
    )
    row = _document_row(access, document_id)
    uploaders = _uploaders(actor, access.beneficiary, [row])
    return DocumentPage(
        access=access, person=access.beneficiary, document=_view(access, row, uploaders)
    )


def download_document(
    *, actor: Principal, beneficiary_id: uuid.UUID, document_id: uuid.UUID
) -> Download:
    """Open one document's file for whoever may read the section: a read audited on its
    own, with the document's id. The content is checked against its stored SHA-256."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.DOCUMENT_DOWNLOADED,
        object_id=document_id,
    )
    person = access.beneficiary
    row = _document_row(access, document_id, with_content=True)
    try:
        content = _open_bytes(person, row.id, CONTENT_COLUMN, row.content_sealed)
    except crypto.KeyShredded:
        raise NotFound(ERASED_MESSAGE) from None
    except crypto.CryptoError as exc:
        _incident(row.id, CONTENT_COLUMN, exc)
        raise Unavailable(
            "Impossible de déchiffrer ce document pour le moment. L'incident est signalé ; "
            "réessayez plus tard."
        ) from None
    if hashlib.sha256(content).hexdigest() != row.sha256:
        _incident(row.id, CONTENT_COLUMN, ValueError("sha256 mismatch"))
        raise Unavailable(
            "Ce document ne correspond plus à son empreinte : il n'est pas envoyé. "
            "L'incident est signalé."
        )
    filename = _open_text(person, row.id, FILENAME_COLUMN, row.filename_sealed)
    if filename is None:  # pragma: no cover - the content above would have failed first
        raise NotFound(ERASED_MESSAGE)
    return Download(filename=filename, media_type=MEDIA_TYPES[row.file_format], content=content)


# -- writing ----------------------------------------------------------------------------------


def _new_row(
    *,
    person: Beneficiary,
    document_id: uuid.UUID,
    upload: Upload,
    checked: CheckedFile,
    uploaded_by_account_id: uuid.UUID | None,
    uploaded_by_organisation_id: uuid.UUID | None,
    uploaded_at: datetime | None = None,
) -> Document:
    return Document(
        id=document_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        kind=upload.kind,
        file_format=checked.file_format,
        filename_sealed=_seal_text(person, document_id, FILENAME_COLUMN, checked.filename),
        description_sealed=(
            _seal_text(person, document_id, DESCRIPTION_COLUMN, upload.description)
            if upload.description
            else None
        ),
        content_sealed=_seal_bytes(person, document_id, CONTENT_COLUMN, upload.content),
        size_bytes=len(upload.content),
        sha256=checked.sha256,
        uploaded_by_account_id=uploaded_by_account_id,
        uploaded_by_organisation_id=uploaded_by_organisation_id,
        uploaded_at=uploaded_at or clock.now(),
    )


def add_document(*, actor: Principal, beneficiary_id: uuid.UUID, upload: Upload) -> uuid.UUID:
    """Store an uploaded file, sealed, with its row; by the person or a professional who
    may write documents. The file is checked before the record is opened."""
    checked = check_file(upload)
    if upload.description is not None and len(upload.description) > DESCRIPTION_MAX:
        raise InvalidInput(
            FORM_MESSAGE,
            fields={
                "description": [f"La description compte au plus {DESCRIPTION_MAX} caractères."]
            },
        )
    new_id = uuid.uuid4()
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.DOCUMENT_CREATED,
        level=Level.WRITE,
        object_id=new_id,
    )
    person = access.beneficiary
    db.session().add(
        _new_row(
            person=person,
            document_id=new_id,
            upload=upload,
            checked=checked,
            uploaded_by_account_id=actor.account_id,
            uploaded_by_organisation_id=actor.organisation_id,
        )
    )
    _timeline(access, Event.DOCUMENT_ADDED, new_id, upload.kind.value)
    db.session().flush()
    return new_id


def delete_document(*, actor: Principal, beneficiary_id: uuid.UUID, document_id: uuid.UUID) -> None:
    """Delete a document and its file for good, by its uploader or a référent; the
    timeline keeps that a document of this kind was deleted, nothing of its content."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.DOCUMENT_DELETED,
        level=Level.WRITE,
        object_id=document_id,
    )
    row = _document_row(access, document_id)
    if not _may_delete(access, row):
        raise Denied(DELETE_REFUSED_MESSAGE)
    kind = row.kind.value
    db.session().delete(row)
    db.session().flush()
    _timeline(access, Event.DOCUMENT_DELETED, document_id, kind)


# -- demo data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDocument:
    """One demo file of a demo person, as the demo loader describes it."""

    beneficiary_id: uuid.UUID
    kind: DocumentKind
    filename: str
    description: str | None
    content: bytes
    uploaded_by_account_id: uuid.UUID
    uploaded_by_organisation_id: uuid.UUID | None


def seed_demo_documents(
    *, departement_id: uuid.UUID, documents: Sequence[DemoDocument], rng: random.Random
) -> int:
    """Store demo files, checked and sealed exactly as uploads are, with their timeline
    events. For the demo loader only (run unscoped). Returns the number stored."""
    session = db.session()
    ids = {d.beneficiary_id for d in documents}
    people = {
        person.id: person
        for person in session.scalars(
            select(Beneficiary).where(
                Beneficiary.id.in_(ids), Beneficiary.departement_id == departement_id
            )
        )
    }
    journeys = {
        journey.beneficiary_id: journey.id
        for journey in session.scalars(
            select(Journey).where(Journey.beneficiary_id.in_(ids), Journey.closed_on.is_(None))
        )
    }
    rows: list[Document] = []
    events: list[TimelineEvent] = []
    now = clock.now()
    for spec in documents:
        person = people[spec.beneficiary_id]
        upload = Upload(spec.kind, spec.description, spec.filename, spec.content)
        uploaded_at = now - timedelta(days=rng.randint(1, 120))
        row = _new_row(
            person=person,
            document_id=uuid.uuid4(),
            upload=upload,
            checked=check_file(upload),
            uploaded_by_account_id=spec.uploaded_by_account_id,
            uploaded_by_organisation_id=spec.uploaded_by_organisation_id,
            uploaded_at=uploaded_at,
        )
        rows.append(row)
        events.append(
            TimelineEvent(
                id=uuid.uuid4(),
                departement_id=departement_id,
                beneficiary_id=person.id,
                journey_id=journeys.get(person.id),
                kind=Event.DOCUMENT_ADDED,
                occurred_at=uploaded_at,
                actor_account_id=spec.uploaded_by_account_id,
                actor_organisation_id=spec.uploaded_by_organisation_id,
                details={"document_id": str(row.id), "kind": spec.kind.value},
            )
        )
    for batch in (rows, events):
        session.add_all(batch)
        session.flush()
    return len(rows)
