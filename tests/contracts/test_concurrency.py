"""Two people acting on one contract at the same moment (PostgreSQL, two real connections):
the contract row's lock makes them run one after the other. Both signatures land and the
PDF is made once; a signature racing the référent taking the text back: one wins, the
other is refused with a French message and changes nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, or_, select, text

from carnet import db
from carnet.contracts import services
from carnet.contracts.models import Contract, ContractStatus, ContractVersion, VersionStatus
from carnet.db import Base
from carnet.errors import Conflict
from carnet.records.models import TimelineEvent
from carnet.security import scoping
from tests.contracts.seed import person, referent, seen_of, terms
from tests.records.world import World, build_world


@pytest.fixture
def committed(engine: Engine, app: Any) -> Iterator[World]:
    """A seeded world committed for real (each thread has its own connection), removed
    afterwards, access log included."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; the row lock is PostgreSQL's")
    db.session.remove()
    with scoping.unscoped():
        world = build_world()
        db.session().commit()
    db.session.remove()
    try:
        yield world
    finally:
        db.session.remove()
        _purge(engine, world)


def _purge(engine: Engine, world: World) -> None:
    departements = [world.departement_id, world.other_departement_id]
    accounts = [
        pro.id
        for pro in (
            world.referent,
            world.ml_member,
            world.health_member,
            world.outsider,
            world.officer,
            world.colleague,
            world.structure_admin,
            world.departement_admin,
            world.foreign,
        )
    ] + [world.person_account.id, world.other_person_account.id, world.platform_admin.id]
    with engine.begin() as conn:
        for name in ("access_events", "contract_versions"):
            conn.execute(text(f"ALTER TABLE {name} DISABLE TRIGGER USER"))
        for table in reversed(Base.metadata.sorted_tables):
            conditions = []
            if "departement_id" in table.c:
                conditions.append(table.c.departement_id.in_(departements))
            conditions.extend(
                column.in_(accounts)
                for column in table.c
                if any(fk.column.table.name == "accounts" for fk in column.foreign_keys)
            )
            if table.name == "accounts":
                conditions.append(table.c.id.in_(accounts))
            if table.name == "departements":
                conditions.append(table.c.id.in_(departements))
            if conditions:
                conn.execute(delete(table).where(or_(*conditions)))
        for name in ("access_events", "contract_versions"):
            conn.execute(text(f"ALTER TABLE {name} ENABLE TRIGGER USER"))
    with engine.connect() as conn:
        departements_table = Base.metadata.tables["departements"]
        left = conn.scalar(
            select(func.count())
            .select_from(departements_table)
            .where(departements_table.c.id.in_(departements))
        )
    assert left == 0


def _in_transaction(world: World, work: Callable[[], Any]) -> Any:
    with scoping.scoped_to(world.departement_id), db.unit_of_work():
        return work()


def _proposed(world: World, *, referent_signed: bool) -> tuple[uuid.UUID, int, str]:
    """A CER proposed to the person (signed by the référent if asked), committed."""
    actor = referent(world)

    def work() -> tuple[uuid.UUID, int, str]:
        contract_id = services.create_draft(
            actor=actor, beneficiary_id=world.person.id, kind="cer", terms=terms()
        )
        services.propose(
            actor=actor, beneficiary_id=world.person.id, contract_id=contract_id, version=1
        )
        if referent_signed:
            services.sign_as_referent(
                actor=actor,
                beneficiary_id=world.person.id,
                contract_id=contract_id,
                number=1,
                seen=seen_of(contract_id),
            )
        counter = db.session().scalar(
            select(ContractVersion.version).where(ContractVersion.contract_id == contract_id)
        )
        return contract_id, int(counter or 0), seen_of(contract_id)

    try:
        return _in_transaction(world, work)
    finally:
        db.session.remove()


def _race(world: World, *calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread and transaction, released together."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = _in_transaction(world, call)
        except BaseException as exc:  # reported to the main thread
            outcomes[index] = exc
        finally:
            db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _state(world: World, contract_id: uuid.UUID) -> tuple[Contract, ContractVersion, list[str]]:
    with scoping.unscoped():
        session = db.session()
        contract = session.get(Contract, contract_id)
        version = session.scalar(
            select(ContractVersion).where(ContractVersion.contract_id == contract_id)
        )
        kinds = [
            row.kind
            for row in session.scalars(
                select(TimelineEvent).where(TimelineEvent.beneficiary_id == world.person.id)
            )
            if row.details.get("contract_id") == str(contract_id)
        ]
    db.session.remove()
    assert contract is not None
    assert version is not None
    return contract, version, kinds


def test_two_signatures_at_the_same_moment_both_land_and_one_pdf_is_made(committed):
    world = committed
    contract_id, _, seen = _proposed(world, referent_signed=False)

    def by_referent() -> bool:
        return services.sign_as_referent(
            actor=referent(world),
            beneficiary_id=world.person.id,
            contract_id=contract_id,
            number=1,
            seen=seen,
        )

    def by_person() -> bool:
        return services.sign_as_person(
            actor=person(world),
            beneficiary_id=world.person.id,
            contract_id=contract_id,
            number=1,
            seen=seen,
        )

    outcomes = _race(world, by_referent, by_person)
    # Both land; the one that ran second saw the first signature and completed the version.
    assert sorted(outcomes) == [False, True]
    contract, version, kinds = _state(world, contract_id)
    assert (contract.status, version.status) == (ContractStatus.IN_FORCE, VersionStatus.SIGNED)
    assert version.person_signed_at is not None
    assert version.referent_signed_at is not None
    assert version.pdf_sha256 is not None
    assert kinds.count("contracts:version:signed") == 1
    assert kinds.count("contracts:version:referent_signed") == 1
    assert kinds.count("contracts:version:person_signed") == 1


def test_a_signature_racing_the_text_taken_back_one_wins_the_other_is_refused(committed):
    world = committed
    contract_id, counter, seen = _proposed(world, referent_signed=True)

    def sign() -> bool:
        return services.sign_as_person(
            actor=person(world),
            beneficiary_id=world.person.id,
            contract_id=contract_id,
            number=1,
            seen=seen,
        )

    def take_back() -> None:
        services.reopen(
            actor=referent(world),
            beneficiary_id=world.person.id,
            contract_id=contract_id,
            version=counter,
        )

    signed, reopened = _race(world, sign, take_back)
    contract, version, _ = _state(world, contract_id)
    if signed is True:
        assert isinstance(reopened, Conflict)
        assert reopened.message == services.REFUSALS[services.Step.REOPEN]
        assert version.status is VersionStatus.SIGNED
        assert contract.status is ContractStatus.IN_FORCE
    else:
        assert reopened is None
        assert isinstance(signed, Conflict)
        assert signed.message == services.REFUSALS[services.Step.SIGN_PERSON]
        assert version.status is VersionStatus.DRAFT
        assert version.person_signed_at is None
        assert contract.status is ContractStatus.DRAFT
