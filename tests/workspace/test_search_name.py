"""`search_name`: derived from the names wherever people are written (ORM, demo, bulk seed,
the migration's backfill), never typed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from carnet import db
from carnet.cli import alembic_config, main
from carnet.config import Settings
from carnet.demo.loader import load_demo
from carnet.records.models import Beneficiary, search_key, search_name_of
from carnet.tenancy.models import Departement
from tests.factories import BeneficiaryFactory, DepartementFactory

BEFORE = "d52e8f3b0c21"  # the revision before the name search
NAME_SEARCH = "e63f904c1d32"


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        ("Lefèvre", "lefevre"),
        ("  ÉLOÏSE   d’Ornano ", "eloise d ornano"),
        ("Jean-Pierre", "jean pierre"),
        ("N'Diaye", "n diaye"),
        ("Lœuillet", "loeuillet"),
        ("Müller\tÇa", "muller ca"),
    ],
)
def test_search_key_strips_accents_case_hyphens_and_apostrophes(text_in, expected):
    assert search_key(text_in) == expected


def test_search_name_holds_family_birth_and_given_names():
    assert search_name_of("Le Gall-Durand", "Martin", "Anne-Sophie") == (
        "le gall durand martin anne sophie"
    )
    assert search_name_of("Benali", None, "Sofia") == "benali sofia"
    assert len(search_name_of("A" * 120, "B" * 120, "C" * 120)) == 250


def test_the_model_keeps_it_in_step_with_the_names(db_session):
    departement = DepartementFactory()
    person = Beneficiary(
        departement_id=departement.id,
        given_name="Hélène",
        family_name="Lefèvre",
        search_name="typed by hand",
        sex="F",
        birth_on=dt.date(1990, 1, 1),
    )
    db_session.add(person)
    db_session.flush()
    assert person.search_name == "lefevre helene"
    person.birth_name = "Dupont"
    db_session.flush()
    db_session.expire(person)
    assert person.search_name == "lefevre dupont helene"
    person.family_name = "N'Guessan"
    db_session.flush()
    assert db_session.scalar(
        select(Beneficiary.search_name).where(Beneficiary.id == person.id)
    ) == ("n guessan dupont helene")
    # Factories go through the same flush.
    other = BeneficiaryFactory(departement_id=departement.id, given_name="Zoé", family_name="Ève")
    assert other.search_name == "eve zoe"


def _all_derived(db_session: Any, departement_id: uuid.UUID) -> int:
    rows = db_session.execute(
        select(
            Beneficiary.family_name,
            Beneficiary.birth_name,
            Beneficiary.given_name,
            Beneficiary.search_name,
        ).where(Beneficiary.departement_id == departement_id)
    ).all()
    for family, birth, given, stored in rows:
        assert stored == search_name_of(family, birth, given)
    return len(rows)


def test_the_demo_fills_it(db_session):
    summary = load_demo(db_session)
    assert _all_derived(db_session, summary.departement_id) == summary.beneficiaries


def test_the_bulk_seed_fills_it(
    app: Flask, db_session: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variant = dataclasses.replace(settings, audit_checkpoint_dir=tmp_path / "checkpoints")
    monkeypatch.setitem(app.config, "CARNET_SETTINGS", variant)
    result = app.test_cli_runner().invoke(
        main, ["seed", "--beneficiaries", "40", "--departement-code", "96"]
    )
    assert result.exit_code == 0, result.output
    departement = db_session.scalar(select(Departement).where(Departement.code == "96"))
    assert _all_derived(db_session, departement.id) == 40


# -- the migration's backfill ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, as tests/test_migrations.py makes them."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backfill.sqlite3'}"
        return
    configured = os.environ.get("DATABASE_URL", "").strip()
    if not configured.startswith("postgresql"):
        pytest.skip("DATABASE_URL does not point to PostgreSQL")
    configured = configured.replace("postgresql://", "postgresql+psycopg://", 1)
    parsed = make_url(configured)
    name = f"{parsed.database}_backfill_{uuid.uuid4().hex[:8]}"
    admin_url = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = db.make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.slow
def test_the_migration_recomputes_every_search_name_and_back(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, BEFORE)
    engine = db.make_engine(empty_database)
    departement_id, person_id = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        # The tables as they are at that revision, not as the models are today.
        metadata = sa.MetaData()
        departements = sa.Table(
            "departements",
            metadata,
            sa.Column("id", sa.Uuid(), primary_key=True),
            autoload_with=conn,
        )
        beneficiaries = sa.Table(
            "beneficiaries",
            metadata,
            sa.Column("id", sa.Uuid(), primary_key=True),
            sa.Column("departement_id", sa.Uuid()),
            autoload_with=conn,
        )
        conn.execute(
            sa.insert(departements).values(
                id=departement_id, code="87", name="Haute-Vienne", created_at=now
            )
        )
        conn.execute(
            sa.insert(beneficiaries).values(
                id=person_id,
                departement_id=departement_id,
                given_name="Jean-Pierre",
                family_name="Lefèvre",
                birth_name="N'Diaye",
                search_name="lefèvre jean-pierre",
                sex="M",
                birth_on=dt.date(1980, 5, 4),
                is_msa=False,
                preferred_channel="letter",
                rsa_state="open",
                is_subject_to_duties=True,
                household_role="demandeur",
                dependants=0,
                is_synthetic=True,
                created_at=now,
                updated_at=now,
            )
        )

    def stored() -> str:
        with engine.connect() as conn:
            return str(
                conn.scalar(
                    select(beneficiaries.c.search_name).where(beneficiaries.c.id == person_id)
                )
            )

    command.upgrade(config, NAME_SEARCH)
    assert stored() == "lefevre n diaye jean pierre"
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            definition = conn.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes "
                    "WHERE indexname = 'ix_beneficiaries_search_name_trgm'"
                )
            )
        assert "USING gin (search_name gin_trgm_ops)" in str(definition)
        assert _word_similarity_cost(engine) == 100
    command.downgrade(config, BEFORE)
    assert stored() == "lefevre jean-pierre"
    if engine.dialect.name == "postgresql":
        assert _word_similarity_cost(engine) == 1
    engine.dispose()


def _word_similarity_cost(engine: Any) -> float:
    with engine.connect() as conn:
        return float(
            conn.scalar(text("SELECT procost FROM pg_proc WHERE proname = 'word_similarity_op'"))
        )
