"""The access log: chained per département, verified, tamper-evident, failing closed,
append-only in PostgreSQL, and unforked under concurrent writers."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from carnet.cli import main as carnet_cli
from carnet.config import Settings
from carnet.errors import Unavailable
from carnet.security import audit, scoping
from carnet.security.audit import AccessEvent, CheckpointForged, CheckpointStore
from carnet.security.permissions import AuditAction, OrganisationKind, Outcome, PrincipalRole
from carnet.security.principal import Principal, system_principal
from carnet.tenancy.models import Departement
from tests.factories import DepartementFactory

EVENTS = AccessEvent.__table__


def professional(departement_id: uuid.UUID) -> Principal:
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="proconnect",
        account_id=uuid.uuid4(),
        departement_id=departement_id,
        organisation_id=uuid.uuid4(),
        organisation_kind=OrganisationKind.CCAS,
        membership_id=uuid.uuid4(),
    )


def append(db: Session, departement_id: uuid.UUID, count: int) -> list[AccessEvent]:
    actor = professional(departement_id)
    return [
        audit.record_access(
            db,
            actor=actor,
            departement_id=departement_id,
            beneficiary_id=uuid.uuid4(),
            section="plan:read",
            action=AuditAction.READ,
            tag="records:section:read",
        )
        for _ in range(count)
    ]


def is_postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def as_insider(db: Session, *statements: Any) -> None:
    """What someone with write access to the database could do. On PostgreSQL the table's
    triggers refuse it, so the insider first disables them (inside the test's transaction,
    which is rolled back)."""
    if is_postgresql(db):
        db.execute(text("ALTER TABLE access_events DISABLE TRIGGER USER"))
    for statement in statements:
        db.execute(statement)


@pytest.fixture
def departement(db_session: Session) -> Departement:
    departement = DepartementFactory()
    db_session.flush()
    return departement


@pytest.fixture
def store(settings: Settings) -> CheckpointStore:
    return CheckpointStore(settings.audit_checkpoint_dir, b"k" * 32)


# -- the chain ------------------------------------------------------------------------------


def test_each_row_holds_the_hash_of_the_previous_one(
    db_session: Session, departement: Departement
) -> None:
    first, second, third = append(db_session, departement.id, 3)
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert all(e.hash == e.compute_hash() for e in (first, second, third))
    report = audit.verify_chain(db_session, departement.id)
    assert report.problem is None
    assert report.rows == 3
    assert report.head == third.hash


def test_the_reads_of_a_page_are_chained_in_order_in_one_append(
    db_session: Session, departement: Departement
) -> None:
    (before,) = append(db_session, departement.id, 1)
    person = uuid.uuid4()
    reads = [audit.Read("contact:read", "records:contact:read"), audit.Read("plan:read", "x:y:z")]
    contact, plan = audit.record_reads(
        db_session,
        actor=professional(departement.id),
        departement_id=departement.id,
        beneficiary_id=person,
        reads=reads,
    )
    (after,) = append(db_session, departement.id, 1)
    assert [e.seq for e in (before, contact, plan, after)] == [1, 2, 3, 4]
    assert (contact.prev_hash, plan.prev_hash, after.prev_hash) == (
        before.hash,
        contact.hash,
        plan.hash,
    )
    assert [(e.section, e.tag, e.beneficiary_id) for e in (contact, plan)] == [
        ("contact:read", "records:contact:read", person),
        ("plan:read", "x:y:z", person),
    ]
    assert audit.verify_chain(db_session, departement.id).problem is None


def test_each_departement_has_its_own_chain(db_session: Session, departement: Departement) -> None:
    other = DepartementFactory()
    db_session.flush()
    append(db_session, departement.id, 2)
    (first_elsewhere,) = append(db_session, other.id, 1)
    assert first_elsewhere.seq == 1
    assert first_elsewhere.prev_hash == audit.GENESIS


def test_rows_hold_ids_and_codes_not_names(db_session: Session, departement: Departement) -> None:
    (event,) = append(db_session, departement.id, 1)
    assert event.actor_role == "professional"
    assert event.outcome is Outcome.ALLOWED
    assert event.occurred_at.tzinfo is not None


def test_a_chain_can_be_written_without_any_request_scope(
    db_session: Session, departement: Departement
) -> None:
    token = scoping.set_request_scope(None)
    try:
        event = audit.record_access(
            db_session,
            actor=system_principal("job:test"),
            departement_id=departement.id,
            section="system",
            action=AuditAction.EXPORT,
            tag="privacy:export:run",
        )
    finally:
        scoping.reset_request_scope(token)
    assert event.seq == 1
    assert event.actor_label == "job:test"


# -- tampering ------------------------------------------------------------------------------


def test_a_modified_row_is_named(db_session: Session, departement: Departement) -> None:
    events = append(db_session, departement.id, 4)
    as_insider(
        db_session,
        update(EVENTS).where(EVENTS.c.id == events[1].id).values(section="health:read"),
    )
    problem = audit.verify_chain(db_session, departement.id).problem
    assert problem is not None
    assert (problem.seq, problem.event_id) == (2, events[1].id)
    assert problem.problem == "le contenu de la ligne a été modifié"
    assert f"ligne n°2 ({events[1].id})" in str(problem)


def test_a_deleted_middle_row_is_named(db_session: Session, departement: Departement) -> None:
    events = append(db_session, departement.id, 4)
    as_insider(db_session, delete(EVENTS).where(EVENTS.c.id == events[1].id))
    problem = audit.verify_chain(db_session, departement.id).problem
    assert problem is not None
    # The first row out of place is the one after the gap.
    assert (problem.seq, problem.event_id) == (3, events[2].id)
    assert "numéro attendu 2" in problem.problem


def test_reordered_rows_are_named(db_session: Session, departement: Departement) -> None:
    events = append(db_session, departement.id, 4)
    by_id = EVENTS.c.id
    as_insider(
        db_session,
        update(EVENTS).where(by_id == events[1].id).values(seq=-1),
        update(EVENTS).where(by_id == events[2].id).values(seq=2),
        update(EVENTS).where(by_id == events[1].id).values(seq=3),
    )
    problem = audit.verify_chain(db_session, departement.id).problem
    assert problem is not None
    assert (problem.seq, problem.event_id) == (2, events[2].id)
    assert "rompu" in problem.problem


def test_a_forged_row_inserted_in_the_middle_is_caught_at_the_next_row(
    db_session: Session, departement: Departement
) -> None:
    events = append(db_session, departement.id, 4)
    # Make room after row 2, highest first so (departement, seq) stays unique.
    as_insider(
        db_session,
        *[
            update(EVENTS).where(EVENTS.c.id == event.id).values(seq=event.seq + 1)
            for event in reversed(events[2:])
        ],
    )
    forged = AccessEvent(
        id=uuid.uuid4(),
        departement_id=departement.id,
        seq=3,
        occurred_at=events[1].occurred_at,
        actor_account_id=None,
        actor_organisation_id=None,
        actor_membership_id=None,
        actor_role="professional",
        actor_label="",
        auth_method="proconnect",
        beneficiary_id=None,
        object_id=None,
        section="plan:read",
        action=AuditAction.READ,
        purpose=events[0].purpose,
        outcome=Outcome.ALLOWED,
        tag="records:section:read",
        prev_hash=events[1].hash,
    )
    forged.hash = forged.compute_hash()  # a well-formed forgery, linked to row 2
    db_session.add(forged)
    db_session.flush()
    problem = audit.verify_chain(db_session, departement.id).problem
    assert problem is not None
    # The row that used to follow row 2 no longer links to its predecessor.
    assert (problem.seq, problem.event_id) == (4, events[2].id)


def test_a_forged_row_appended_without_the_chain_is_named(
    db_session: Session, departement: Departement
) -> None:
    events = append(db_session, departement.id, 2)
    forged_id = uuid.uuid4()
    as_insider(
        db_session,
        EVENTS.insert().values(
            id=forged_id,
            departement_id=departement.id,
            seq=3,
            occurred_at=events[1].occurred_at,
            actor_role="professional",
            actor_label="",
            auth_method="proconnect",
            section="identity:read",
            action="R",
            purpose="normal",
            outcome="allowed",
            tag="records:section:read",
            prev_hash=os.urandom(32),
            hash=os.urandom(32),
        ),
    )
    problem = audit.verify_chain(db_session, departement.id).problem
    assert problem is not None
    assert (problem.seq, problem.event_id) == (3, forged_id)


def test_a_truncated_tail_is_caught_only_against_a_signed_checkpoint(
    db_session: Session, departement: Departement, store: CheckpointStore
) -> None:
    events = append(db_session, departement.id, 5)
    checkpoint = store.write(audit.verify_chain(db_session, departement.id))
    assert checkpoint is not None
    assert checkpoint.seq == 5
    as_insider(db_session, delete(EVENTS).where(EVENTS.c.id.in_([e.id for e in events[3:]])))

    # The remaining rows are a perfectly valid chain on their own...
    alone = audit.verify_chain(db_session, departement.id)
    assert alone.problem is None
    assert alone.rows == 3
    # ...but the checkpoint attests five.
    problem = audit.verify_chain(db_session, departement.id, store.read(departement.id)).problem
    assert problem is not None
    assert problem.seq is None
    assert "tronquée" in problem.problem
    assert "fin du journal" in str(problem)


def test_a_rewritten_chain_is_caught_only_against_a_signed_checkpoint(
    db_session: Session, departement: Departement, store: CheckpointStore
) -> None:
    events = append(db_session, departement.id, 3)
    store.write(audit.verify_chain(db_session, departement.id))
    # An insider who recomputes every hash from row 2 on (the hash needs no key).
    as_insider(db_session)
    events[1].section = "health:read"
    events[1].hash = events[1].compute_hash()
    events[2].prev_hash = events[1].hash
    events[2].hash = events[2].compute_hash()
    db_session.flush()

    assert audit.verify_chain(db_session, departement.id).problem is None
    problem = audit.verify_chain(db_session, departement.id, store.read(departement.id)).problem
    assert problem is not None
    assert problem.seq == 3
    assert problem.problem == "la ligne ne correspond plus au point de contrôle signé"


# -- checkpoints ----------------------------------------------------------------------------


def test_checkpoints_are_signed_lines_that_read_back(
    db_session: Session, departement: Departement, store: CheckpointStore
) -> None:
    append(db_session, departement.id, 2)
    first = store.write(audit.verify_chain(db_session, departement.id))
    append(db_session, departement.id, 1)
    second = store.write(audit.verify_chain(db_session, departement.id))
    assert store.read(departement.id) == [first, second]
    report = audit.verify_chain(db_session, departement.id, store.read(departement.id))
    assert report.problem is None


def test_no_checkpoint_for_an_empty_or_broken_chain(
    db_session: Session, departement: Departement, store: CheckpointStore
) -> None:
    assert store.write(audit.verify_chain(db_session, departement.id)) is None
    events = append(db_session, departement.id, 2)
    as_insider(db_session, update(EVENTS).where(EVENTS.c.id == events[0].id).values(tag="x"))
    assert store.write(audit.verify_chain(db_session, departement.id)) is None
    assert store.read(departement.id) == []


def _edited(line: str, **changes: Any) -> str:
    return json.dumps({**json.loads(line), **changes}, sort_keys=True)


def _forge(path: Path, edit: Callable[[str], str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = edit(lines[-1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        pytest.param(lambda line: _edited(line, seq=1), "signature invalide", id="seq-lowered"),
        pytest.param(
            lambda line: _edited(line, head="00" * 32), "signature invalide", id="head-replaced"
        ),
        pytest.param(
            lambda line: _edited(line, mac="0" * 64), "signature invalide", id="mac-replaced"
        ),
        pytest.param(
            lambda line: _edited(line, mac="é" * 64), "signature invalide", id="mac-not-ascii"
        ),
        pytest.param(lambda line: "{pas du json", "illisible", id="garbage"),
        pytest.param(lambda line: '{"seq": 2}', "illisible", id="fields-missing"),
        pytest.param(lambda line: "[1, 2]", "illisible", id="not-an-object"),
    ],
)
def test_a_forged_checkpoint_file_is_refused(
    db_session: Session,
    departement: Departement,
    store: CheckpointStore,
    edit: Callable[[str], str],
    reason: str,
) -> None:
    append(db_session, departement.id, 2)
    store.write(audit.verify_chain(db_session, departement.id))
    _forge(store.directory / f"{departement.id}.jsonl", edit)
    with pytest.raises(CheckpointForged, match=f"ligne 1 : {reason}"):
        store.read(departement.id)


def test_a_genuine_checkpoint_of_another_departement_is_refused(
    db_session: Session, departement: Departement, store: CheckpointStore
) -> None:
    other = DepartementFactory()
    db_session.flush()
    append(db_session, other.id, 2)
    store.write(audit.verify_chain(db_session, other.id))
    source = store.directory / f"{other.id}.jsonl"
    (store.directory / f"{departement.id}.jsonl").write_bytes(source.read_bytes())
    with pytest.raises(CheckpointForged, match="autre département"):
        store.read(departement.id)


def test_a_checkpoint_signed_with_another_key_is_refused(
    db_session: Session, departement: Departement, store: CheckpointStore
) -> None:
    append(db_session, departement.id, 1)
    CheckpointStore(store.directory, b"x" * 32).write(
        audit.verify_chain(db_session, departement.id)
    )
    with pytest.raises(CheckpointForged, match="signature invalide"):
        store.read(departement.id)


# -- fail closed ----------------------------------------------------------------------------


def test_a_failed_audit_insert_raises_unavailable(db_session: Session) -> None:
    nowhere = uuid.uuid4()  # no such département: the foreign key refuses the row
    with pytest.raises(Unavailable) as failure:
        audit.record_access(
            db_session,
            actor=professional(nowhere),
            departement_id=nowhere,
            section="plan:read",
            action=AuditAction.READ,
            tag="records:section:read",
        )
    assert failure.value.status == 503
    assert failure.value.message.startswith("Le journal des accès est indisponible")
    db_session.rollback()


# -- PostgreSQL: append-only in the database, and no fork under concurrency ------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_events SET tag = 'effacé'",
        "DELETE FROM access_events",
        "TRUNCATE access_events",
    ],
)
def test_postgresql_refuses_to_change_the_access_log(
    db_session: Session, departement: Departement, statement: str
) -> None:
    if not is_postgresql(db_session):
        pytest.skip("the append-only triggers exist on PostgreSQL only")
    append(db_session, departement.id, 2)
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text(statement))
    assert audit.verify_chain(db_session, departement.id).rows == 2


def test_concurrent_writers_never_fork_a_chain(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer; the advisory lock is PostgreSQL's")
    departement_id = uuid.uuid4()
    with Session(engine) as setup, setup.begin():
        setup.add(Departement(id=departement_id, code="Z99", name="Concurrence"))
    per_thread, threads = 40, 4
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def writer() -> None:
        actor = system_principal("job:concurrency", departement_id)
        try:
            barrier.wait()
            for _ in range(per_thread):
                with Session(engine) as db, db.begin():
                    audit.record_access(
                        db,
                        actor=actor,
                        departement_id=departement_id,
                        section="system",
                        action=AuditAction.READ,
                        tag="test:concurrency:append",
                    )
        except BaseException as exc:  # reported to the main thread below
            failures.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert failures == []
        with Session(engine) as db, scoping.unscoped():
            report = audit.verify_chain(db, departement_id)
            seqs = db.scalars(
                select(AccessEvent.seq).where(AccessEvent.departement_id == departement_id)
            ).all()
        assert report.problem is None
        assert report.rows == per_thread * threads
        assert sorted(seqs) == list(range(1, per_thread * threads + 1))
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE access_events DISABLE TRIGGER USER"))
            conn.execute(delete(EVENTS).where(EVENTS.c.departement_id == departement_id))
            conn.execute(text("ALTER TABLE access_events ENABLE TRIGGER USER"))
            conn.execute(delete(Departement.__table__).where(Departement.id == departement_id))
        with engine.connect() as conn:
            left = conn.scalar(
                select(func.count())
                .select_from(EVENTS)
                .where(EVENTS.c.departement_id == departement_id)
            )
        assert left == 0


# -- the commands ---------------------------------------------------------------------------


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(carnet_cli, list(args))


def test_audit_verify_prints_ok_then_echec(
    app: Flask, db_session: Session, departement: Departement
) -> None:
    events = append(db_session, departement.id, 3)
    db_session.commit()
    result = run(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"OK  département {departement.id} : 3 lignes, 0 point(s) de contrôle" in result.output
    assert "ÉCHEC" not in result.output

    as_insider(db_session, update(EVENTS).where(EVENTS.c.id == events[1].id).values(tag="x"))
    db_session.commit()
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"ÉCHEC : département {departement.id} : ligne n°2 ({events[1].id})" in result.output


def test_audit_checkpoint_then_verify_catches_a_truncation(
    app: Flask, db_session: Session, departement: Departement
) -> None:
    events = append(db_session, departement.id, 3)
    db_session.commit()
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    assert f"OK  point de contrôle posé : département {departement.id}, ligne 3" in result.output
    result = run(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"OK  département {departement.id} : 3 lignes, 1 point(s) de contrôle" in result.output

    as_insider(db_session, delete(EVENTS).where(EVENTS.c.id == events[2].id))
    db_session.commit()
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "fin du journal tronquée" in result.output
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 1
    assert "ÉCHEC, aucun point posé" in result.output


def test_audit_commands_refuse_a_forged_checkpoint_file(
    app: Flask, settings: Settings, db_session: Session, departement: Departement
) -> None:
    append(db_session, departement.id, 2)
    db_session.commit()
    assert run(app, "audit", "checkpoint").exit_code == 0
    _forge(
        settings.audit_checkpoint_dir / f"{departement.id}.jsonl",
        lambda line: _edited(line, seq=1),
    )
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "ÉCHEC : point de contrôle falsifié" in result.output
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 1
    assert "point de contrôle falsifié" in result.output
