"""The access log: append-only, hash-chained per département, written in the caller's
transaction and failing closed (no audit row, no data).

Each row hashes its canonical content together with the previous row's hash. Appends
take a per-département lock (an advisory transaction lock on PostgreSQL; SQLite has a
single writer) so two requests never chain onto the same head; a unique (département,
seq) is the backstop. Signed checkpoints, kept in files outside the database, let
`verify_chain` also detect a truncated tail. Rows hold ids and codes only: no names,
NIR or free text, so shredding a person never touches the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, select, text
from sqlalchemy.engine import ScalarResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from carnet import clock
from carnet.db import Base, TenantScoped, UUIDPrimaryKey, str_enum
from carnet.errors import Unavailable
from carnet.security import scoping
from carnet.security.permissions import AuditAction, Outcome, Purpose
from carnet.security.principal import Principal

GENESIS = bytes(32)


class AccessEvent(TenantScoped, UUIDPrimaryKey, Base):
    __tablename__ = "access_events"
    __table_args__ = (
        UniqueConstraint("departement_id", "seq"),
        Index("ix_access_events_beneficiary", "beneficiary_id", "occurred_at"),
    )

    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"))
    seq: Mapped[int]
    occurred_at: Mapped[datetime]
    actor_account_id: Mapped[uuid.UUID | None]
    actor_organisation_id: Mapped[uuid.UUID | None]
    actor_membership_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    auth_method: Mapped[str] = mapped_column(String(32))
    beneficiary_id: Mapped[uuid.UUID | None]
    object_id: Mapped[uuid.UUID | None]
    section: Mapped[str] = mapped_column(String(48))
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"))
    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose, "audit_purpose"))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "audit_outcome"))
    tag: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    def canonical(self) -> bytes:
        fields = {
            "id": str(self.id),
            "departement_id": str(self.departement_id),
            "seq": self.seq,
            "occurred_at": self.occurred_at.isoformat(timespec="microseconds"),
            "actor_account_id": _str(self.actor_account_id),
            "actor_organisation_id": _str(self.actor_organisation_id),
            "actor_membership_id": _str(self.actor_membership_id),
            "actor_role": self.actor_role,
            "actor_label": self.actor_label,
            "auth_method": self.auth_method,
            "beneficiary_id": _str(self.beneficiary_id),
            "object_id": _str(self.object_id),
            "section": self.section,
            "action": str(self.action),
            "purpose": str(self.purpose),
            "outcome": str(self.outcome),
            "tag": self.tag,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def compute_hash(self) -> bytes:
        return hashlib.sha256(self.prev_hash + self.canonical()).digest()


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Read:
    """One section read, for `record_reads`."""

    section: str
    tag: str


def record_access(
    db: Session,
    *,
    actor: Principal,
    departement_id: uuid.UUID,
    section: str,
    action: AuditAction,
    tag: str,
    beneficiary_id: uuid.UUID | None = None,
    object_id: uuid.UUID | None = None,
    purpose: Purpose = Purpose.NORMAL,
    outcome: Outcome = Outcome.ALLOWED,
) -> AccessEvent:
    """Append one event to the département's chain, in the caller's transaction.

    Any failure raises `Unavailable`, so the caller's transaction rolls back and the page
    shows no data: the log fails closed.
    """
    fields = {
        "beneficiary_id": beneficiary_id,
        "object_id": object_id,
        "section": section,
        "action": action,
        "purpose": purpose,
        "outcome": outcome,
        "tag": tag,
    }
    return _append(db, actor, departement_id, [fields])[0]


def record_reads(
    db: Session,
    *,
    actor: Principal,
    departement_id: uuid.UUID,
    beneficiary_id: uuid.UUID,
    reads: Sequence[Read],
    purpose: Purpose = Purpose.NORMAL,
) -> list[AccessEvent]:
    """Append one allowed read per section shown on a page, chained in order, under one
    lock and in one INSERT: a page of several sections costs one write, not one per
    section."""
    rows = [
        {
            "beneficiary_id": beneficiary_id,
            "object_id": None,
            "section": read.section,
            "action": AuditAction.READ,
            "purpose": purpose,
            "outcome": Outcome.ALLOWED,
            "tag": read.tag,
        }
        for read in reads
    ]
    return _append(db, actor, departement_id, rows) if rows else []


def _append(
    db: Session, actor: Principal, departement_id: uuid.UUID, rows: list[dict[str, Any]]
) -> list[AccessEvent]:
    # The caller's own pending changes flush first, so their errors stay theirs.
    db.flush()
    try:
        _lock_chain(db, departement_id)
        # The chain is named explicitly, so the ambient request scope does not apply: a
        # denial or a system job is logged even where no scope (or another one) is set.
        with scoping.unscoped():
            head = db.execute(
                select(AccessEvent.seq, AccessEvent.hash)
                .where(AccessEvent.departement_id == departement_id)
                .order_by(AccessEvent.seq.desc())
                .limit(1)
            ).first()
        seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
        now = clock.now()
        events = []
        for fields in rows:
            seq += 1
            event = AccessEvent(
                id=uuid.uuid4(),
                departement_id=departement_id,
                seq=seq,
                occurred_at=now,
                actor_account_id=actor.account_id,
                actor_organisation_id=actor.organisation_id,
                actor_membership_id=actor.membership_id,
                actor_role=str(actor.role),
                actor_label=actor.label,
                auth_method=actor.auth_method,
                prev_hash=prev_hash,
                **fields,
            )
            event.hash = prev_hash = event.compute_hash()
            events.append(event)
        db.add_all(events)
        db.flush()
    except SQLAlchemyError as exc:
        raise Unavailable(
            "Le journal des accès est indisponible : par sécurité, rien n'a été affiché "
            "ni enregistré. Réessayez dans un instant."
        ) from exc
    return events


def _lock_chain(db: Session, departement_id: uuid.UUID) -> None:
    if db.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(departement_id.bytes[:8], "big", signed=True)
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# -- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    departement_id: uuid.UUID
    seq: int | None
    event_id: uuid.UUID | None
    problem: str

    def __str__(self) -> str:
        where = (
            f"ligne n°{self.seq} ({self.event_id})" if self.seq is not None else "fin du journal"
        )
        return f"département {self.departement_id} : {where} : {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    departement_id: uuid.UUID
    rows: int
    head: bytes
    problem: ChainProblem | None


def verify_chain(
    db: Session, departement_id: uuid.UUID, checkpoints: list[Checkpoint] | None = None
) -> ChainReport:
    """Walk the chain in order; report the first row whose link, content or place is wrong."""
    expected_prev, expected_seq, rows = GENESIS, 1, 0
    hashes_by_seq: dict[int, bytes] = {}
    wanted = {cp.seq for cp in checkpoints or []}
    events = _events(db, departement_id)
    # Closed on every exit: on PostgreSQL the rows stream through a server-side cursor.
    with events:
        for event in events:
            rows += 1
            problem = None
            if event.seq != expected_seq:
                problem = f"numéro attendu {expected_seq} : ligne supprimée, insérée ou déplacée"
            elif event.prev_hash != expected_prev:
                problem = (
                    "le lien vers la ligne précédente est rompu (insertion ou réordonnancement)"
                )
            elif event.compute_hash() != event.hash:
                problem = "le contenu de la ligne a été modifié"
            if problem:
                return ChainReport(
                    departement_id,
                    rows,
                    expected_prev,
                    ChainProblem(departement_id, event.seq, event.id, problem),
                )
            if event.seq in wanted:
                hashes_by_seq[event.seq] = event.hash
            expected_prev, expected_seq = event.hash, expected_seq + 1
    for cp in checkpoints or []:
        if cp.seq >= expected_seq:
            return ChainReport(
                departement_id,
                rows,
                expected_prev,
                ChainProblem(
                    departement_id,
                    None,
                    None,
                    f"le journal s'arrête à la ligne {expected_seq - 1} alors qu'un point de "
                    f"contrôle signé en atteste {cp.seq} : fin du journal tronquée",
                ),
            )
        if hashes_by_seq.get(cp.seq) != cp.head:
            return ChainReport(
                departement_id,
                rows,
                expected_prev,
                ChainProblem(
                    departement_id,
                    cp.seq,
                    None,
                    "la ligne ne correspond plus au point de contrôle signé",
                ),
            )
    return ChainReport(departement_id, rows, expected_prev, None)


def _events(db: Session, departement_id: uuid.UUID) -> ScalarResult[AccessEvent]:
    stmt = (
        select(AccessEvent)
        .where(AccessEvent.departement_id == departement_id)
        .order_by(AccessEvent.seq, AccessEvent.occurred_at)
        # Check what the database holds, not objects this session wrote earlier.
        .execution_options(yield_per=2000, populate_existing=True)
    )
    with scoping.unscoped():
        return db.scalars(stmt)


# -- signed checkpoints, kept outside the database --------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    departement_id: uuid.UUID
    seq: int
    head: bytes
    created_at: str

    def payload(self) -> bytes:
        return json.dumps(
            {
                "departement_id": str(self.departement_id),
                "seq": self.seq,
                "head": self.head.hex(),
                "created_at": self.created_at,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()


class CheckpointStore:
    """One JSON-lines file per département, each line HMAC-signed with the audit key."""

    def __init__(self, directory: Path, key: bytes) -> None:
        self.directory = directory
        self.key = key

    def _path(self, departement_id: uuid.UUID) -> Path:
        return self.directory / f"{departement_id}.jsonl"

    def write(self, report: ChainReport) -> Checkpoint | None:
        if report.problem is not None or report.rows == 0:
            return None
        cp = Checkpoint(report.departement_id, report.rows, report.head, clock.now().isoformat())
        self.directory.mkdir(parents=True, exist_ok=True)
        line = json.loads(cp.payload())
        line["mac"] = hmac.new(self.key, cp.payload(), hashlib.sha256).hexdigest()
        with self._path(report.departement_id).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
        return cp

    def read(self, departement_id: uuid.UUID) -> list[Checkpoint]:
        """All checkpoints; a line whose signature fails is itself reported as tampering."""
        path = self._path(departement_id)
        if not path.exists():
            return []
        checkpoints = []
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                data = json.loads(raw)
                cp = Checkpoint(
                    uuid.UUID(data["departement_id"]),
                    int(data["seq"]),
                    bytes.fromhex(data["head"]),
                    str(data["created_at"]),
                )
                mac = str(data.get("mac", ""))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise CheckpointForged(f"{path} ligne {number} : illisible") from exc
            expected = hmac.new(self.key, cp.payload(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected.encode(), mac.encode()):
                raise CheckpointForged(f"{path} ligne {number} : signature invalide")
            # A genuine line copied from another département's file is a forgery too.
            if cp.departement_id != departement_id:
                raise CheckpointForged(f"{path} ligne {number} : autre département")
            checkpoints.append(cp)
        return checkpoints


class CheckpointForged(Exception):
    """A checkpoint line is unreadable, badly signed or belongs elsewhere."""
