"""The orientation proposal rules of a département: reading them, and the département
admin's saves.

The rules are département configuration, not personal data. Every professional of the
département may read them (the orientation page shows the grid that proposed a type);
only those the policy lets configure the département (`policy.can_configure_departement`)
may save a new version. A save never changes a row: it writes version n + 1 (the
département's previous highest + 1), so every past proposal keeps naming the version that
produced it. Saves are written to the access log (ids and codes only) in the caller's
transaction, like the referential's edits; services never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carnet import clock, db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.orientation.models import OrientationRuleSet
from carnet.orientation.rules import (
    CHANGE_NOTE_MAX,
    CHANGE_NOTE_MIN,
    DEFAULT_RULES,
    RuleSet,
    load_document,
    to_document,
)
from carnet.referential import services as referential
from carnet.referential.models import OarsaCategory
from carnet.referential.seed_data import THEMES
from carnet.security import audit, policy
from carnet.security.permissions import AuditAction
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy

SECTION_WRITE = "orientation_rules:write"
DENIED_MESSAGE = (
    "Seule l'administration du département peut modifier les règles de proposition d'orientation."
)
READ_DENIED_MESSAGE = (
    "Les règles de proposition d'orientation se consultent depuis un compte professionnel "
    "du département."
)
STALE_MESSAGE = (
    "Une nouvelle version des règles a été enregistrée pendant votre saisie : la vôtre n'a "
    "pas été enregistrée. Les règles en vigueur sont affichées ; votre saisie est conservée "
    "dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
DEFAULT_NOTE = (
    "Règles proposées par Carnet, en vigueur tant que le département n'en a pas enregistré."
)
UNKNOWN_THEME = "Ce thème n'existe pas dans le référentiel de votre département."
HEALTH_THEME = (
    "Les freins liés à la santé ne comptent jamais dans la proposition : ils relèvent du "
    "volet santé, que la proposition ne lit pas."
)


class Tag(StrEnum):
    """Audit tags of the rules (`domain:subject:action`)."""

    RULE_SET_SAVED = "orientation:rule_set:saved"


class StaleRules(Conflict):
    """Another version was saved since the form was loaded; nothing was saved."""

    def __init__(self) -> None:
        super().__init__(STALE_MESSAGE, code="stale")


@dataclass(frozen=True)
class RuleSetView:
    version: int  # 0: Carnet's defaults, never saved
    rules: RuleSet
    change_note: str
    created_at: datetime | None = None
    created_by: str | None = None  # the author's name, for the history

    @property
    def is_default(self) -> bool:
        return self.version == 0

    @property
    def document(self) -> dict[str, Any]:
        return to_document(self.rules)


DEFAULT_VIEW = RuleSetView(version=0, rules=DEFAULT_RULES, change_note=DEFAULT_NOTE)


def _view(row: OrientationRuleSet, names: dict[uuid.UUID, str]) -> RuleSetView:
    return RuleSetView(
        version=row.version,
        rules=load_document(row.rules),
        change_note=row.change_note,
        created_at=row.created_at,
        created_by=names.get(row.created_by_account_id) if row.created_by_account_id else None,
    )


def _latest_row(departement_id: uuid.UUID) -> OrientationRuleSet | None:
    return db.session().scalar(
        select(OrientationRuleSet)
        .where(OrientationRuleSet.departement_id == departement_id)
        .order_by(OrientationRuleSet.version.desc())
        .limit(1)
    )


def current_rules(departement_id: uuid.UUID) -> RuleSetView:
    """The département's latest saved version, else Carnet's defaults (version 0)."""
    row = _latest_row(departement_id)
    return DEFAULT_VIEW if row is None else _view(row, {})


def _reader(actor: Principal) -> uuid.UUID:
    # Any professional acting in a département; never a person, never outside one.
    if actor.departement_id is None or actor.is_beneficiary:
        raise Denied(READ_DENIED_MESSAGE)
    return actor.departement_id


def _configurer(actor: Principal) -> uuid.UUID:
    if not policy.can_configure_departement(actor) or actor.departement_id is None:
        raise Denied(DENIED_MESSAGE)
    return actor.departement_id


def list_versions(*, actor: Principal) -> list[RuleSetView]:
    """Every saved version of the actor's département, newest first, then the defaults."""
    departement_id = _reader(actor)
    rows = list(
        db.session().scalars(
            select(OrientationRuleSet)
            .where(OrientationRuleSet.departement_id == departement_id)
            .order_by(OrientationRuleSet.version.desc())
        )
    )
    names = tenancy.professional_names(row.created_by_account_id for row in rows)
    return [*(_view(row, names) for row in rows), DEFAULT_VIEW]


def get_version(*, actor: Principal, version: int) -> RuleSetView:
    """One version of the actor's département (0: Carnet's defaults)."""
    departement_id = _reader(actor)
    if version == 0:
        return DEFAULT_VIEW
    row = db.session().scalar(
        select(OrientationRuleSet).where(
            OrientationRuleSet.departement_id == departement_id,
            OrientationRuleSet.version == version,
        )
    )
    if row is None:
        raise NotFound("Cette version des règles n'existe pas dans votre département.")
    return _view(row, tenancy.professional_names([row.created_by_account_id]))


@dataclass(frozen=True)
class ThemeChoice:
    """A theme of the département's referential that the rules may weigh."""

    code: str
    label: str
    is_active: bool


@dataclass(frozen=True)
class RulesPage:
    current: RuleSetView
    versions: list[RuleSetView]  # newest first, the defaults last
    themes: list[ThemeChoice]  # the département's themes outside health, in order


def get_rules_page(*, actor: Principal) -> RulesPage:
    """The département admin's page: the rules in force, their history and the themes."""
    departement_id = _configurer(actor)
    versions = list_versions(actor=actor)
    themes = [
        ThemeChoice(code=t.code, label=t.label, is_active=t.is_active)
        for t in referential.list_themes(departement_id, active_only=False)
        if t.oarsa_category is not OarsaCategory.SANTE
    ]
    return RulesPage(current=versions[0], versions=versions, themes=themes)


@dataclass(frozen=True)
class VersionPage:
    shown: RuleSetView
    theme_labels: dict[str, str]  # code → label, for the themes of the département


def get_version_page(*, actor: Principal, version: int) -> VersionPage:
    """One version to read, with the names of the département's themes."""
    shown = get_version(actor=actor, version=version)
    departement_id = _reader(actor)
    # Carnet's default themes by name, then the département's own names.
    labels = {seed.code: seed.label for seed in THEMES}
    labels.update(
        (t.code, t.label) for t in referential.list_themes(departement_id, active_only=False)
    )
    return VersionPage(shown=shown, theme_labels=labels)


def _check_themes(departement_id: uuid.UUID, rules: RuleSet) -> None:
    """Every theme the rules weigh is a theme of the département's referential, not health."""
    themes = {t.code: t for t in referential.list_themes(departement_id, active_only=False)}
    errors: dict[str, list[str]] = {}
    for code in rules.barrier_themes:
        theme = themes.get(code)
        if theme is None:
            errors[f"barriers.themes.{code}"] = [UNKNOWN_THEME]
        elif theme.oarsa_category is OarsaCategory.SANTE:
            errors[f"barriers.themes.{code}"] = [HEALTH_THEME]
    if errors:
        raise InvalidInput(
            "Les règles contiennent des erreurs : corrigez les champs signalés.", fields=errors
        )


def _check_note(change_note: str) -> str:
    note = " ".join(change_note.split())
    if not CHANGE_NOTE_MIN <= len(note) <= CHANGE_NOTE_MAX:
        message = (
            f"Le motif de la modification doit compter entre {CHANGE_NOTE_MIN} et "
            f"{CHANGE_NOTE_MAX} caractères."
        )
        raise InvalidInput.on("change_note", message)
    return note


def save_rules(
    *, actor: Principal, data: RuleSet, change_note: str, based_on: int | None = None
) -> int:
    """Save the rules as the département's next version and return its number. `based_on`:
    the version the form was built on; if another was saved since, nothing is saved."""
    departement_id = _configurer(actor)
    note = _check_note(change_note)
    _check_themes(departement_id, data)
    db_session = db.session()
    latest = int(
        db_session.scalar(
            select(func.coalesce(func.max(OrientationRuleSet.version), 0)).where(
                OrientationRuleSet.departement_id == departement_id
            )
        )
        or 0
    )
    if based_on is not None and based_on != latest:
        raise StaleRules
    row = OrientationRuleSet(
        id=uuid.uuid4(),
        departement_id=departement_id,
        version=latest + 1,
        rules=to_document(data),
        change_note=note,
        created_at=clock.now(),
        created_by_account_id=actor.account_id,
    )
    db_session.add(row)
    try:
        db_session.flush()
    except IntegrityError:
        # Another admin saved the same version number at the same instant.
        raise StaleRules from None
    audit.record_access(
        db_session,
        actor=actor,
        departement_id=departement_id,
        section=SECTION_WRITE,
        action=AuditAction.CREATE,
        tag=Tag.RULE_SET_SAVED,
        object_id=row.id,
    )
    return row.version
