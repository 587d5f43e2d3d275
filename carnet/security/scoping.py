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
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from carnet.db import TenantScoped

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


def set_request_scope(departement_id: uuid.UUID | None) -> None:
    """Called by the edge for the current request (its context is discarded afterwards)."""
    _scope.set(departement_id)


def current_scope() -> uuid.UUID | None:
    value = _scope.get()
    return value if isinstance(value, uuid.UUID) else None


@event.listens_for(Session, "do_orm_execute")
def _limit_to_departement(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    scope = _scope.get()
    if scope is _UNSCOPED:
        return
    if not isinstance(scope, uuid.UUID):
        if _touches_personal_data(state):
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


def _touches_personal_data(state: ORMExecuteState) -> bool:
    for mapper in _mappers(state):
        if issubclass(mapper.class_, TenantScoped):
            return True
    return False


def _mappers(state: ORMExecuteState) -> Iterator[Any]:
    for description in state.statement.column_descriptions:  # type: ignore[union-attr]
        entity = description.get("entity")
        if entity is not None:
            yield entity.__mapper__ if hasattr(entity, "__mapper__") else entity
