"""Tenancy by construction: every ORM SELECT on a personal-data model is limited to the
current département (SQLAlchemy's documented global-criteria recipe).

The scope is set once per request from the principal, and per command in the CLI. A
query on personal data with no scope set is refused rather than left unfiltered; code
that must cross départements (login lookups, the audit verifier, bulk seeding) says so
with `unscoped()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.expression import ClauseElement, ColumnClause, TableClause

from carnet.db import Base, TenantScoped

_UNSCOPED = object()
_scope: ContextVar[uuid.UUID | object | None] = ContextVar("carnet_departement_scope", default=None)


class ScopeMissing(RuntimeError):
    """Personal data was queried before any département scope was set."""


@contextmanager
def scoped_to(departement_id: uuid.UUID) -> Iterator[None]:
    token = _scope.set(departement_id)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """For the few places that legitimately cross départements; each is a reviewed call site."""
    token = _scope.set(_UNSCOPED)
    try:
        yield
    finally:
        _scope.reset(token)


def set_request_scope(departement_id: uuid.UUID | None) -> Token[uuid.UUID | object | None]:
    """Called by the edge for the current request; the edge gives the token of its first
    call back to `reset_request_scope` when the request ends (the thread lives on)."""
    return _scope.set(departement_id)


def reset_request_scope(token: Token[uuid.UUID | object | None]) -> None:
    _scope.reset(token)


def current_scope() -> uuid.UUID | None:
    value = _scope.get()
    return value if isinstance(value, uuid.UUID) else None


@event.listens_for(Session, "do_orm_execute")
def _limit_to_departement(state: ORMExecuteState) -> None:
    # ORM UPDATE and DELETE statements are limited too: a bulk write must not cross
    # départements any more than a read.
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    scope = _scope.get()
    if scope is _UNSCOPED:
        return
    if not isinstance(scope, uuid.UUID):
        if _touches_personal_data(state.statement):
            raise ScopeMissing("personal data queried without a département scope")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.departement_id == scope,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


def _touches_personal_data(statement: Executable) -> bool:
    """Whether any part of the statement (columns, FROM, joins, WHERE, subqueries) names a
    personal-data table: `select(func.count()).select_from(Beneficiary)` counts too."""
    personal = _personal_tables()
    if not isinstance(statement, ClauseElement):  # pragma: no cover - always one here
        return False
    for element in visitors.iterate(statement):
        name: str | None = None
        if isinstance(element, TableClause):
            name = element.name
        elif isinstance(element, ColumnClause) and element.table is not None:
            name = getattr(element.table, "name", None)
        if name in personal:
            return True
    return False


def _personal_tables() -> frozenset[str]:
    return frozenset(
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantScoped) and isinstance(mapper.local_table, TableClause)
    )
