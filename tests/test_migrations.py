"""The migrations, checked as pytest-alembic would (single head, upgrade from empty,
models match the schema, up/down consistency), on a throwaway database of their own:
a SQLite file always, and PostgreSQL when DATABASE_URL points to one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from carnet import db, models_registry  # noqa: F401 - registers every table on Base.metadata
from carnet.cli import alembic_config

pytestmark = pytest.mark.slow


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database nobody else uses, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    configured = os.environ.get("DATABASE_URL", "").strip()
    if not configured.startswith("postgresql"):
        pytest.skip("DATABASE_URL does not point to PostgreSQL")
    configured = configured.replace("postgresql://", "postgresql+psycopg://", 1)
    parsed = make_url(configured)
    name = f"{parsed.database}_migrations_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(_admin_url(configured), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def schema_differences(url: str) -> list[object]:
    """What `alembic revision --autogenerate` would write: nothing, if models and
    migrations agree."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "render_as_batch": conn.dialect.name == "sqlite",
                },
            )
            return list(compare_metadata(context, db.Base.metadata))
    finally:
        engine.dispose()


def revisions(config: Config) -> list[str]:
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def test_there_is_a_single_head() -> None:
    config = alembic_config("sqlite://")
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_every_revision_has_a_downgrade() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions("base", "heads"):
        source = Path(str(revision.path)).read_text(encoding="utf-8")
        body = source.split("def downgrade() -> None:", 1)
        assert len(body) == 2, revision.revision
        assert body[1].strip() not in ("", "pass"), revision.revision


def test_upgrade_from_empty_gives_exactly_the_models(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    assert schema_differences(empty_database) == []
    command.check(config)  # `alembic check`: raises when autogenerate would find anything
    assert {"access_events", "beneficiaries", "data_keys"} <= tables(empty_database)


def test_downgrade_to_base_leaves_no_table(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert tables(empty_database) <= {"alembic_version"}
    if empty_database.startswith("postgresql"):
        engine = db.make_engine(empty_database)
        with engine.connect() as conn:
            functions = conn.scalars(
                text("SELECT proname FROM pg_proc WHERE proname LIKE 'carnet_%'")
            ).all()
        engine.dispose()
        assert functions == []


def test_each_revision_goes_down_and_up_again(empty_database: str) -> None:
    config = alembic_config(empty_database)
    steps = revisions(config)
    assert steps, "no revision found"
    for revision in steps:
        command.upgrade(config, revision)
        command.downgrade(config, "-1")
        command.upgrade(config, revision)
    for _ in steps:
        command.downgrade(config, "-1")
    assert tables(empty_database) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert schema_differences(empty_database) == []


def test_postgresql_gets_the_append_only_triggers(empty_database: str) -> None:
    if not empty_database.startswith("postgresql"):
        pytest.skip("SQLite has no such triggers")
    command.upgrade(alembic_config(empty_database), "head")
    engine = db.make_engine(empty_database)
    with engine.connect() as conn:
        triggers = conn.scalars(
            text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'access_events'::regclass "
                "AND NOT tgisinternal ORDER BY tgname"
            )
        ).all()
    engine.dispose()
    assert triggers == ["access_events_append_only", "access_events_no_truncate"]
