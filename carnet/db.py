"""Engine, session, declarative base and the unit of work.

Services never commit: the request wrapper, the CLI and jobs open one unit of work,
which commits once or rolls back. Work that must only happen once data is durable
(mail, jobs) is registered with `after_commit`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, overload

from sqlalchemy import JSON, Date, DateTime, ForeignKey, MetaData, Uuid, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from carnet.errors import Conflict

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on every engine (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use carnet.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        date: Date(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSON(),
    }

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} id={ident}>"


class UUIDPrimaryKey:
    """UUID ids made in Python, so URLs leak no counts and SQLite works alike."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


session_factory = sessionmaker(expire_on_commit=False)
session: scoped_session[Session] = scoped_session(session_factory)

_AFTER_COMMIT = "carnet_after_commit"


RANDOM_PAGE_COST = 1.1


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if "isolation_level" not in kwargs:
            # The driver's own transaction handling defers BEGIN to the first write, so a
            # SAVEPOINT opened before it becomes the outermost transaction and its RELEASE
            # commits: SQLAlchemy's documented fix is to emit BEGIN ourselves. IMMEDIATE
            # takes the single writer's lock up front (waiting up to busy_timeout), so a
            # request that read first never fails to write on a stale snapshot.
            event.listen(engine, "begin", _sqlite_begin)
        return engine
    # hide_parameters: SQL errors are logged without their values (names, tokens).
    # random_page_cost: a département's working set lives in memory or on SSD, where a
    # random page costs about a sequential one (PostgreSQL's default of 4 assumes spinning
    # disks, and made the orientation queue scan every person instead of fetching the few
    # waiting by primary key: 59 ms against 18 ms on 100,000 people).
    connect_args = {"options": f"-c random_page_cost={RANDOM_PAGE_COST}"}
    connect_args.update(kwargs.pop("connect_args", {}))
    return create_engine(
        url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args, **kwargs
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # Let SQLAlchemy, not the driver, decide where transactions begin (see make_engine).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def bind(engine: Engine) -> None:
    session.remove()
    session_factory.configure(bind=engine)


def is_postgresql(db_session: Session | None = None) -> bool:
    bind_ = (db_session or session()).get_bind()
    return bind_.dialect.name == "postgresql"


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction has committed; never if it rolls back."""
    session().info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(db_session: Session) -> None:
    callbacks = db_session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(db_session: Session) -> None:
    db_session.info.pop(_AFTER_COMMIT, None)


@overload
def as_date(value: date | str) -> date: ...
@overload
def as_date(value: None) -> None: ...
def as_date(value: date | str | None) -> date | None:
    """A date computed in SQL (a min, a coalesce in a CTE), as Python reads it: SQLite
    gives it back as ISO text, PostgreSQL as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def flush_or_conflict(message: str, *, code: str | None = None) -> None:
    """Flush the pending writes. A unique index or a version counter that refuses them is
    the backstop of the checks made before, for two people acting at the same moment: the
    request gets a French `Conflict` and rolls back, nothing is half-written."""
    try:
        session().flush()
    except (IntegrityError, StaleDataError) as exc:
        log.info("write refused by the database: %s", type(exc).__name__)
        raise Conflict(message, code=code) from None


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction: commit at the end, roll back on any error."""
    db_session = session()
    try:
        yield db_session
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise


def str_enum(enum_cls: type[Any], name: str) -> SAEnum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, values not names."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class TenantScoped:
    """Marks a personal-data model: every ORM SELECT on it is limited to one département
    by `carnet.security.scoping`. Such a model must have a `departement_id` column."""

    # Declared on the mixin (models may redeclare it, e.g. to add an index) because the
    # scoping criterion `lambda cls: cls.departement_id == …` is first evaluated against
    # this class itself; without the attribute every scoped query failed.
    @declared_attr
    def departement_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - a declared_attr takes the class
        return mapped_column(ForeignKey("departements.id"), index=True)
