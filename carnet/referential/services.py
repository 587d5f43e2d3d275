"""The referential's services: seeding, reading for the plan, and the département admin's
edits.

The referential is département configuration, not personal data: it is read by every
professional of the département (the plan's choices) and edited only by those the policy
lets configure the département (`policy.can_configure_departement`). Edits are written to
the access log (ids and codes only) in the caller's transaction; services never commit.
Every row carries a version: an edit made on a stale copy is refused with `StaleEntry`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from carnet import db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.referential.models import Aim, EntryKind, OarsaCategory, Theme, ThemeEntry
from carnet.referential.seed_data import THEMES
from carnet.security import audit, policy
from carnet.security.permissions import AuditAction
from carnet.security.principal import Principal

SECTION_WRITE = "referential:write"
DENIED_MESSAGE = (
    "Seule l'administration du département peut modifier le référentiel des thèmes, "
    "objectifs et actions."
)
STALE_MESSAGE = (
    "Cet élément a été modifié par quelqu'un d'autre pendant que vous le modifiiez : "
    "votre modification n'a pas été enregistrée. La version actuelle est affichée ; "
    "votre saisie est conservée dans le formulaire, relisez-la puis enregistrez à nouveau."
)


class Tag(StrEnum):
    """Audit tags of the referential (`domain:subject:action`)."""

    ENTRY_CREATED = "referential:entry:created"
    ENTRY_UPDATED = "referential:entry:updated"
    THEME_CREATED = "referential:theme:created"
    THEME_UPDATED = "referential:theme:updated"


class StaleEntry(Conflict):
    """The row changed since the form was loaded; nothing was saved."""

    def __init__(self, *, theme_id: uuid.UUID, entry_id: uuid.UUID | None = None) -> None:
        super().__init__(STALE_MESSAGE, code="stale")
        self.theme_id = theme_id
        self.entry_id = entry_id


# -- what the pages receive -----------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    id: uuid.UUID
    theme_id: uuid.UUID
    kind: EntryKind
    label: str
    is_active: bool
    version: int


@dataclass(frozen=True)
class ThemeView:
    id: uuid.UUID
    code: str
    label: str
    aim: Aim
    oarsa_category: OarsaCategory
    is_france_travail: bool
    is_active: bool
    version: int
    entries: list[EntryView] = field(default_factory=list)

    def of_kind(self, kind: EntryKind | str, *, active_only: bool = True) -> list[EntryView]:
        wanted = EntryKind(kind)
        return [e for e in self.entries if e.kind is wanted and (e.is_active or not active_only)]


@dataclass(frozen=True)
class ThemeChange:
    label: str
    aim: Aim
    oarsa_category: OarsaCategory
    is_active: bool = True
    version: int | None = None


@dataclass(frozen=True)
class EntryChange:
    label: str
    kind: EntryKind | None = None
    is_active: bool = True
    version: int | None = None


def _entry_view(row: ThemeEntry) -> EntryView:
    return EntryView(row.id, row.theme_id, row.kind, row.label, row.is_active, row.version)


def _theme_view(row: Theme, entries: Iterable[ThemeEntry] = ()) -> ThemeView:
    return ThemeView(
        id=row.id,
        code=row.code,
        label=row.label,
        aim=row.aim,
        oarsa_category=row.oarsa_category,
        is_france_travail=row.is_france_travail,
        is_active=row.is_active,
        version=row.version,
        entries=[_entry_view(e) for e in entries],
    )


# -- seeding ----------------------------------------------------------------------------------


def seed_referential(departement_id: uuid.UUID) -> int:
    """Give a département the default themes and their lists; themes it already has (by
    code) are left as the département edited them. Returns the number of themes added."""
    db_session = db.session()
    existing = set(
        db_session.scalars(select(Theme.code).where(Theme.departement_id == departement_id))
    )
    start = int(
        db_session.scalar(
            select(func.coalesce(func.max(Theme.position), 0)).where(
                Theme.departement_id == departement_id
            )
        )
        or 0
    )
    added = 0
    for seed in THEMES:
        if seed.code in existing:
            continue
        added += 1
        theme = Theme(
            id=uuid.uuid4(),
            departement_id=departement_id,
            code=seed.code,
            label=seed.label,
            aim=seed.aim,
            oarsa_category=seed.oarsa,
            is_france_travail=seed.is_france_travail,
            position=start + added,
        )
        db_session.add(theme)
        lists = (
            (EntryKind.SITUATION, seed.situations),
            (EntryKind.OBJECTIVE, seed.objectives),
            (EntryKind.ACTION, seed.actions),
        )
        for kind, labels in lists:
            db_session.add_all(
                ThemeEntry(
                    id=uuid.uuid4(),
                    departement_id=departement_id,
                    theme_id=theme.id,
                    kind=kind,
                    label=label,
                    position=position,
                )
                for position, label in enumerate(labels, start=1)
            )
    db_session.flush()
    return added


# -- reading (any professional of the département, for the plan's choices) -------------------


def list_themes(departement_id: uuid.UUID, *, active_only: bool = True) -> list[ThemeView]:
    """The département's themes in order, each with its entries, in two queries."""
    db_session = db.session()
    stmt = select(Theme).where(Theme.departement_id == departement_id)
    if active_only:
        stmt = stmt.where(Theme.is_active.is_(True))
    themes = list(db_session.scalars(stmt.order_by(Theme.position, Theme.label)))
    if not themes:
        return []
    entries: dict[uuid.UUID, list[ThemeEntry]] = {theme.id: [] for theme in themes}
    rows = db_session.scalars(
        select(ThemeEntry)
        .where(ThemeEntry.theme_id.in_(entries))
        .order_by(ThemeEntry.kind, ThemeEntry.position, ThemeEntry.label)
    )
    for row in rows:
        entries[row.theme_id].append(row)
    return [_theme_view(theme, entries[theme.id]) for theme in themes]


def themes_by_id(departement_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ThemeView]:
    """Themes of the département by id, active or not (a plan keeps its past axes)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session().scalars(
        select(Theme).where(Theme.departement_id == departement_id, Theme.id.in_(wanted))
    )
    return {row.id: _theme_view(row) for row in rows}


def get_active_theme(departement_id: uuid.UUID, theme_id: uuid.UUID) -> ThemeView:
    """An active theme of the département, or InvalidInput on the `theme_id` field."""
    row = db.session().get(Theme, theme_id)
    if row is None or row.departement_id != departement_id or not row.is_active:
        message = "Choisissez un thème du référentiel de votre département."
        raise InvalidInput.on("theme_id", message)
    return _theme_view(row)


# -- the département admin's edits -----------------------------------------------------------


def _authorize(actor: Principal) -> uuid.UUID:
    if not policy.can_configure_departement(actor) or actor.departement_id is None:
        raise Denied(DENIED_MESSAGE)
    return actor.departement_id


def _audit(actor: Principal, departement_id: uuid.UUID, tag: Tag, object_id: uuid.UUID) -> None:
    audit.record_access(
        db.session(),
        actor=actor,
        departement_id=departement_id,
        section=SECTION_WRITE,
        action=AuditAction.CREATE if tag.endswith("created") else AuditAction.UPDATE,
        tag=tag,
        object_id=object_id,
    )


def _theme_row(departement_id: uuid.UUID, theme_id: uuid.UUID) -> Theme:
    row = db.session().get(Theme, theme_id)
    if row is None or row.departement_id != departement_id:
        raise NotFound("Ce thème n'existe pas dans le référentiel de votre département.")
    return row


def _flush(*, theme_id: uuid.UUID, entry_id: uuid.UUID | None = None, duplicate: str) -> None:
    try:
        db.session().flush()
    except StaleDataError:
        raise StaleEntry(theme_id=theme_id, entry_id=entry_id) from None
    except IntegrityError:
        # Someone saved the same label at the same moment: the session is spent, so the
        # request rolls back and the page says why.
        raise Conflict(duplicate) from None


_DUPLICATE_THEME = "Un thème porte déjà ce nom dans votre département."
_DUPLICATE_ENTRY = "Cette ligne existe déjà dans ce thème."


def list_admin_themes(*, actor: Principal) -> list[ThemeView]:
    """Every theme of the actor's département, inactive ones included, for editing."""
    departement_id = _authorize(actor)
    return list_themes(departement_id, active_only=False)


def get_admin_theme(*, actor: Principal, theme_id: uuid.UUID) -> ThemeView:
    departement_id = _authorize(actor)
    theme = _theme_row(departement_id, theme_id)
    entries = db.session().scalars(
        select(ThemeEntry)
        .where(ThemeEntry.theme_id == theme.id)
        .order_by(ThemeEntry.kind, ThemeEntry.position, ThemeEntry.label)
    )
    return _theme_view(theme, entries)


def add_theme(*, actor: Principal, change: ThemeChange) -> uuid.UUID:
    departement_id = _authorize(actor)
    db_session = db.session()
    if db_session.scalar(
        select(Theme.id).where(Theme.departement_id == departement_id, Theme.label == change.label)
    ):
        raise InvalidInput.on("label", _DUPLICATE_THEME)
    position = db_session.scalar(
        select(func.coalesce(func.max(Theme.position), 0)).where(
            Theme.departement_id == departement_id
        )
    )
    theme = Theme(
        id=uuid.uuid4(),
        departement_id=departement_id,
        code=f"local-{uuid.uuid4().hex[:12]}",
        label=change.label,
        aim=change.aim,
        oarsa_category=change.oarsa_category,
        position=int(position or 0) + 1,
        is_active=change.is_active,
    )
    db_session.add(theme)
    _flush(theme_id=theme.id, duplicate=_DUPLICATE_THEME)
    _audit(actor, departement_id, Tag.THEME_CREATED, theme.id)
    return theme.id


def update_theme(*, actor: Principal, theme_id: uuid.UUID, change: ThemeChange) -> None:
    departement_id = _authorize(actor)
    theme = _theme_row(departement_id, theme_id)
    if change.version != theme.version:
        raise StaleEntry(theme_id=theme.id)
    if db.session().scalar(
        select(Theme.id).where(
            Theme.departement_id == departement_id,
            Theme.label == change.label,
            Theme.id != theme.id,
        )
    ):
        raise InvalidInput.on("label", _DUPLICATE_THEME)
    theme.label = change.label
    theme.aim = change.aim
    theme.oarsa_category = change.oarsa_category
    theme.is_active = change.is_active
    _flush(theme_id=theme.id, duplicate=_DUPLICATE_THEME)
    _audit(actor, departement_id, Tag.THEME_UPDATED, theme.id)


def add_entry(*, actor: Principal, theme_id: uuid.UUID, change: EntryChange) -> uuid.UUID:
    departement_id = _authorize(actor)
    theme = _theme_row(departement_id, theme_id)
    kind = change.kind or EntryKind.ACTION
    db_session = db.session()
    if db_session.scalar(
        select(ThemeEntry.id).where(
            ThemeEntry.theme_id == theme.id,
            ThemeEntry.kind == kind,
            ThemeEntry.label == change.label,
        )
    ):
        raise InvalidInput.on("label", _DUPLICATE_ENTRY)
    position = db_session.scalar(
        select(func.coalesce(func.max(ThemeEntry.position), 0)).where(
            ThemeEntry.theme_id == theme.id, ThemeEntry.kind == kind
        )
    )
    entry = ThemeEntry(
        id=uuid.uuid4(),
        departement_id=departement_id,
        theme_id=theme.id,
        kind=kind,
        label=change.label,
        position=int(position or 0) + 1,
        is_active=change.is_active,
    )
    db_session.add(entry)
    _flush(theme_id=theme.id, entry_id=entry.id, duplicate=_DUPLICATE_ENTRY)
    _audit(actor, departement_id, Tag.ENTRY_CREATED, entry.id)
    return entry.id


def update_entry(
    *, actor: Principal, theme_id: uuid.UUID, entry_id: uuid.UUID, change: EntryChange
) -> None:
    departement_id = _authorize(actor)
    theme = _theme_row(departement_id, theme_id)
    entry = db.session().get(ThemeEntry, entry_id)
    if entry is None or entry.theme_id != theme.id:
        raise NotFound("Cette ligne n'existe pas dans ce thème.")
    if change.version != entry.version:
        raise StaleEntry(theme_id=theme.id, entry_id=entry.id)
    if db.session().scalar(
        select(ThemeEntry.id).where(
            ThemeEntry.theme_id == theme.id,
            ThemeEntry.kind == entry.kind,
            ThemeEntry.label == change.label,
            ThemeEntry.id != entry.id,
        )
    ):
        raise InvalidInput.on("label", _DUPLICATE_ENTRY)
    entry.label = change.label
    entry.is_active = change.is_active
    _flush(theme_id=theme.id, entry_id=entry.id, duplicate=_DUPLICATE_ENTRY)
    _audit(actor, departement_id, Tag.ENTRY_UPDATED, entry.id)
