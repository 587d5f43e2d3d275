"""The situation section: the only readers and writers of a person's diagnostic and freins
périphériques (the health compartment and its consents are in `carnet.situation.health`).

Every entry point opens the record through `carnet.records.gate` (scope, policy on the
`situation` section, audit row in the caller's transaction) before it reads or writes
anything, and never commits. Writes add a timeline event holding ids and codes only. Who
declared something (the person or a professional) comes from the actor.

- A diagnostic is recorded as a new, immutable version; a version made from a form built
  on an older one is refused (`StaleEdit`), so nobody overwrites a colleague's update
  without seeing it.
- Freins carry a version (SQLAlchemy's version counter): a stale save is refused with
  `StaleEdit` and changes nothing. Their status only moves forward: identifié → en cours
  → levé (or identifié → levé), each with its date.
- Themes of the referential whose statistical category is health belong to the health
  compartment, never to the situation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select

from carnet import clock, db
from carnet.errors import InvalidInput, NotFound
from carnet.records import gate
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, DigitalAutonomy
from carnet.referential import services as referential
from carnet.referential.models import EntryKind
from carnet.referential.services import ThemeView
from carnet.security.permissions import Level, Section
from carnet.security.principal import Principal
from carnet.situation.common import (
    BarrierData,
    BarrierView,
    StaleEdit,
    StatusChange,
    add_timeline_event,
    authors_of,
    barrier_view,
    barriers_in,
    check_past,
    declarant,
    flush_or_stale,
    is_health_theme,
    journey_id_of,
    move_barrier,
)
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
    EducationLevel,
)
from carnet.tenancy import services as tenancy

HEALTH_THEME_MESSAGE = (
    "Les freins liés à la santé se notent dans le volet santé, ouvert seulement aux "
    "structures de santé et à celles que la personne a autorisées."
)


class Tag(StrEnum):
    """Audit tags of the situation section (`domain:subject:action`)."""

    BARRIER_ADDED = "situation:barrier:added"
    BARRIER_READ = "situation:barrier:read"
    BARRIER_STATUS_CHANGED = "situation:barrier:status_changed"
    BARRIER_UPDATED = "situation:barrier:updated"
    DIAGNOSTIC_FORM_READ = "situation:diagnostic_form:read"
    DIAGNOSTIC_READ = "situation:diagnostic:read"
    DIAGNOSTIC_RECORDED = "situation:diagnostic:recorded"
    SITUATION_READ = "situation:situation:read"


class Event(StrEnum):
    """Timeline kinds written by this module (labelled in `records.services.EVENT_LABELS`)."""

    BARRIER_ADDED = "situation:barrier:added"
    BARRIER_LIFTED = "situation:barrier:lifted"
    BARRIER_STARTED = "situation:barrier:started"
    BARRIER_UPDATED = "situation:barrier:updated"
    DIAGNOSTIC_RECORDED = "situation:diagnostic:recorded"


# The event of each status a frein may move to (`move_barrier` refuses any other).
_STATUS_EVENTS = {
    BarrierStatus.IN_PROGRESS: Event.BARRIER_STARTED,
    BarrierStatus.LIFTED: Event.BARRIER_LIFTED,
}


# -- what the forms give (built by the input schemas) -------------------------------------------


@dataclass(frozen=True)
class DiagnosticData:
    education_level: EducationLevel | None
    digital_autonomy: DigitalAutonomy | None
    entry_ids: tuple[uuid.UUID, ...]  # situations of the referential, ticked
    others: tuple[tuple[uuid.UUID, str], ...]  # (theme id, free situation)
    strengths: tuple[str, ...]
    skills: tuple[str, ...]
    summary: str | None
    based_on: int  # the number of the latest version when the form was built (0: none)


# -- what the pages receive -----------------------------------------------------------------


@dataclass(frozen=True)
class SituationItem:
    theme_id: uuid.UUID
    theme_label: str
    label: str
    is_free: bool


@dataclass(frozen=True)
class DiagnosticView:
    id: uuid.UUID
    number: int
    recorded_at: datetime
    declared_by: Declarant
    author_label: str
    education_level: EducationLevel | None
    digital_autonomy: DigitalAutonomy | None
    strengths: list[str]
    skills: list[str]
    summary: str | None
    situations: list[SituationItem]
    entry_ids: frozenset[uuid.UUID] = frozenset()

    def by_theme(self) -> list[tuple[str, list[SituationItem]]]:
        groups: dict[str, list[SituationItem]] = {}
        for item in self.situations:
            groups.setdefault(item.theme_label, []).append(item)
        return list(groups.items())

    def free_situation(self, theme_id: uuid.UUID) -> str:
        return next((s.label for s in self.situations if s.is_free and s.theme_id == theme_id), "")


@dataclass(frozen=True)
class VersionSummary:
    id: uuid.UUID
    number: int
    recorded_at: datetime
    declared_by: Declarant
    author_label: str


@dataclass(frozen=True)
class DiagnosticChanges:
    """What a version changed from the one before it."""

    education_level: tuple[EducationLevel | None, EducationLevel | None] | None
    digital_autonomy: tuple[DigitalAutonomy | None, DigitalAutonomy | None] | None
    situations_added: list[SituationItem]
    situations_removed: list[SituationItem]
    strengths_added: list[str]
    strengths_removed: list[str]
    skills_added: list[str]
    skills_removed: list[str]
    summary_changed: bool

    @property
    def is_empty(self) -> bool:
        return not (
            self.education_level
            or self.digital_autonomy
            or self.situations_added
            or self.situations_removed
            or self.strengths_added
            or self.strengths_removed
            or self.skills_added
            or self.skills_removed
            or self.summary_changed
        )


@dataclass(frozen=True)
class SituationPage:
    access: RecordAccess
    person: Beneficiary
    latest: DiagnosticView | None
    versions: list[VersionSummary]
    barriers: list[BarrierView]
    themes: list[ThemeView]  # the choices of the add form: active, not health

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.SITUATION, Level.WRITE)

    def barriers_in(self, status: BarrierStatus | str) -> list[BarrierView]:
        return barriers_in(self.barriers, status)


@dataclass(frozen=True)
class DiagnosticFormPage:
    access: RecordAccess
    person: Beneficiary
    latest: DiagnosticView | None
    themes: list[ThemeView]
    # What changed since the version the user's refused form was built on.
    changes_since: DiagnosticChanges | None = None

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.SITUATION, Level.WRITE)

    @property
    def based_on(self) -> int:
        return self.latest.number if self.latest else 0


@dataclass(frozen=True)
class DiagnosticPage:
    access: RecordAccess
    person: Beneficiary
    diagnostic: DiagnosticView
    previous: DiagnosticView | None
    changes: DiagnosticChanges | None
    versions: list[VersionSummary]


@dataclass(frozen=True)
class BarrierPage:
    access: RecordAccess
    person: Beneficiary
    barrier: BarrierView
    themes: list[ThemeView]  # the edit form's choices: active themes and the current one

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.SITUATION, Level.WRITE)


# -- the referential's themes -------------------------------------------------------------------


def _situation_themes(departement_id: uuid.UUID) -> list[ThemeView]:
    """Active themes of the referential outside health, each with its entries."""
    return [t for t in referential.list_themes(departement_id) if not is_health_theme(t)]


def _all_themes(departement_id: uuid.UUID) -> dict[uuid.UUID, ThemeView]:
    return {t.id: t for t in referential.list_themes(departement_id, active_only=False)}


# -- the diagnostic -----------------------------------------------------------------------------


def _diagnostic_rows(person: Beneficiary) -> list[Diagnostic]:
    """Every version of the person's diagnostic, newest first."""
    return list(
        db.session().scalars(
            select(Diagnostic)
            .where(Diagnostic.beneficiary_id == person.id)
            .order_by(Diagnostic.number.desc())
        )
    )


def _diagnostic_view(
    row: Diagnostic, authors: tenancy.AuthorLabels, themes: dict[uuid.UUID, ThemeView]
) -> DiagnosticView:
    situations = db.session().scalars(
        select(DiagnosticSituation)
        .where(DiagnosticSituation.diagnostic_id == row.id)
        .order_by(DiagnosticSituation.position, DiagnosticSituation.id)
    )
    items: list[SituationItem] = []
    entry_ids: set[uuid.UUID] = set()
    for situation in situations:
        theme = themes.get(situation.theme_id)
        items.append(
            SituationItem(
                theme_id=situation.theme_id,
                theme_label=theme.label if theme else "Thème retiré du référentiel",
                label=situation.label,
                is_free=situation.entry_id is None,
            )
        )
        if situation.entry_id is not None:
            entry_ids.add(situation.entry_id)
    return DiagnosticView(
        id=row.id,
        number=row.number,
        recorded_at=row.recorded_at,
        declared_by=Declarant(row.declared_by),
        author_label=authors.label(row.author_account_id, row.author_organisation_id),
        education_level=EducationLevel(row.education_level) if row.education_level else None,
        digital_autonomy=DigitalAutonomy(row.digital_autonomy) if row.digital_autonomy else None,
        strengths=list(row.strengths or []),
        skills=list(row.skills or []),
        summary=row.summary,
        situations=items,
        entry_ids=frozenset(entry_ids),
    )


def _versions(rows: Sequence[Diagnostic], authors: tenancy.AuthorLabels) -> list[VersionSummary]:
    return [
        VersionSummary(
            id=row.id,
            number=row.number,
            recorded_at=row.recorded_at,
            declared_by=Declarant(row.declared_by),
            author_label=authors.label(row.author_account_id, row.author_organisation_id),
        )
        for row in rows
    ]


def _compare(before: DiagnosticView, after: DiagnosticView) -> DiagnosticChanges:
    def key(item: SituationItem) -> tuple[uuid.UUID, str]:
        return (item.theme_id, item.label)

    old = {key(s): s for s in before.situations}
    new = {key(s): s for s in after.situations}
    return DiagnosticChanges(
        education_level=(before.education_level, after.education_level)
        if before.education_level != after.education_level
        else None,
        digital_autonomy=(before.digital_autonomy, after.digital_autonomy)
        if before.digital_autonomy != after.digital_autonomy
        else None,
        situations_added=[s for k, s in new.items() if k not in old],
        situations_removed=[s for k, s in old.items() if k not in new],
        strengths_added=[s for s in after.strengths if s not in before.strengths],
        strengths_removed=[s for s in before.strengths if s not in after.strengths],
        skills_added=[s for s in after.skills if s not in before.skills],
        skills_removed=[s for s in before.skills if s not in after.skills],
        summary_changed=(before.summary or "") != (after.summary or ""),
    )


def _empty_diagnostic(at: datetime) -> DiagnosticView:
    """No diagnostic at all: what the first version is compared with."""
    return DiagnosticView(
        id=uuid.UUID(int=0),
        number=0,
        recorded_at=at,
        declared_by=Declarant.PROFESSIONAL,
        author_label="",
        education_level=None,
        digital_autonomy=None,
        strengths=[],
        skills=[],
        summary=None,
        situations=[],
    )


def get_situation(*, actor: Principal, beneficiary_id: uuid.UUID) -> SituationPage:
    """The latest diagnostic, the dated list of its versions, and the freins."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        tag=Tag.SITUATION_READ,
    )
    person = access.beneficiary
    versions = _diagnostic_rows(person)
    barriers = list(
        db.session().scalars(
            select(Barrier)
            .where(Barrier.beneficiary_id == person.id)
            .order_by(Barrier.identified_on.desc(), Barrier.created_at.desc(), Barrier.id)
        )
    )
    authors = authors_of(actor, person, [*versions, *barriers])
    themes = _all_themes(person.departement_id)
    return SituationPage(
        access=access,
        person=person,
        latest=_diagnostic_view(versions[0], authors, themes) if versions else None,
        versions=_versions(versions, authors),
        barriers=[_barrier_view(row, authors, themes) for row in barriers],
        themes=[t for t in themes.values() if t.is_active and not is_health_theme(t)],
    )


def get_diagnostic_form(
    *, actor: Principal, beneficiary_id: uuid.UUID, since: int | None = None
) -> DiagnosticFormPage:
    """The form of a new version, filled from the latest one. `since`: the version a refused
    form was built on, to show what changed after it."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        tag=Tag.DIAGNOSTIC_FORM_READ,
    )
    person = access.beneficiary
    rows = _diagnostic_rows(person)
    authors = authors_of(actor, person, rows)
    themes = _all_themes(person.departement_id)
    latest = _diagnostic_view(rows[0], authors, themes) if rows else None
    changes = None
    if latest is not None and since is not None and since != latest.number:
        base = next((row for row in rows if row.number == since), None)
        before = (
            _diagnostic_view(base, authors, themes)
            if base is not None
            else _empty_diagnostic(latest.recorded_at)
        )
        changes = _compare(before, latest)
    return DiagnosticFormPage(
        access=access,
        person=person,
        latest=latest,
        themes=_situation_themes(person.departement_id),
        changes_since=changes,
    )


def get_diagnostic(
    *, actor: Principal, beneficiary_id: uuid.UUID, diagnostic_id: uuid.UUID
) -> DiagnosticPage:
    """One version, and what it changed from the version before it."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        tag=Tag.DIAGNOSTIC_READ,
        object_id=diagnostic_id,
    )
    person = access.beneficiary
    rows = _diagnostic_rows(person)
    index = next((i for i, row in enumerate(rows) if row.id == diagnostic_id), None)
    if index is None:
        raise NotFound("Cette version du diagnostic n'existe pas dans ce carnet.")
    authors = authors_of(actor, person, rows)
    themes = _all_themes(person.departement_id)
    current = _diagnostic_view(rows[index], authors, themes)
    previous = _diagnostic_view(rows[index + 1], authors, themes) if index + 1 < len(rows) else None
    return DiagnosticPage(
        access=access,
        person=person,
        diagnostic=current,
        previous=previous,
        changes=_compare(previous, current) if previous is not None else None,
        versions=_versions(rows, authors),
    )


def _picked_situations(
    themes: list[ThemeView], data: DiagnosticData
) -> list[tuple[ThemeView, uuid.UUID | None, str]]:
    """The ticked situations and the free ones (theme, entry, label), in the referential's
    order; any that left the referential since the form was built is refused."""
    entries = {
        entry.id: (theme, entry) for theme in themes for entry in theme.of_kind(EntryKind.SITUATION)
    }
    by_id = {theme.id: theme for theme in themes}
    unknown = [entry_id for entry_id in data.entry_ids if entry_id not in entries]
    if unknown:
        message = "Une situation cochée ne fait plus partie du référentiel : rechargez la page."
        raise InvalidInput.on("situation", message)
    errors = {
        f"autre-{theme_id}": ["Ce thème ne fait plus partie du référentiel : rechargez la page."]
        for theme_id, _ in data.others
        if theme_id not in by_id
    }
    if errors:
        raise InvalidInput("Le formulaire contient des erreurs.", fields=errors)
    picked: list[tuple[ThemeView, uuid.UUID | None, str]] = [
        (entries[entry_id][0], entry_id, entries[entry_id][1].label)
        for entry_id in dict.fromkeys(data.entry_ids)
    ]
    picked += [(by_id[theme_id], None, label) for theme_id, label in data.others]
    order = {theme.id: position for position, theme in enumerate(themes)}
    picked.sort(key=lambda item: (order[item[0].id], item[1] is None))
    return picked


def _situation_rows(
    person: Beneficiary, diagnostic_id: uuid.UUID, data: DiagnosticData
) -> list[DiagnosticSituation]:
    """The ticked situations, checked against the référentiel of the person's département."""
    picked = _picked_situations(_situation_themes(person.departement_id), data)
    return [
        DiagnosticSituation(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            diagnostic_id=diagnostic_id,
            theme_id=theme.id,
            entry_id=entry_id,
            label=label,
            position=position,
        )
        for position, (theme, entry_id, label) in enumerate(picked, start=1)
    ]


def _latest_number(person: Beneficiary) -> int:
    """The number of the person's latest diagnostic version (0: none yet)."""
    return int(
        db.session().scalar(
            select(func.coalesce(func.max(Diagnostic.number), 0)).where(
                Diagnostic.beneficiary_id == person.id
            )
        )
        or 0
    )


def _new_diagnostic(
    actor: Principal, person: Beneficiary, new_id: uuid.UUID, number: int, data: DiagnosticData
) -> Diagnostic:
    return Diagnostic(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey_id_of(person),
        number=number,
        recorded_at=clock.now(),
        declared_by=declarant(actor),
        author_account_id=actor.account_id,
        author_organisation_id=actor.organisation_id,
        education_level=data.education_level,
        digital_autonomy=data.digital_autonomy,
        strengths=list(data.strengths),
        skills=list(data.skills),
        summary=data.summary,
    )


def record_diagnostic(
    *, actor: Principal, beneficiary_id: uuid.UUID, data: DiagnosticData
) -> uuid.UUID:
    """Write a new version of the diagnostic; a form built on an older version is refused."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        level=Level.WRITE,
        tag=Tag.DIAGNOSTIC_RECORDED,
        object_id=new_id,
    )
    person = access.beneficiary
    latest = _latest_number(person)
    if latest != data.based_on:
        raise StaleEdit(kind="diagnostic")
    situations = _situation_rows(person, new_id, data)
    row = _new_diagnostic(actor, person, new_id, latest + 1, data)
    db_session = db.session()
    db_session.add(row)
    # Two versions numbered alike at the same instant: the unique index refuses the second.
    flush_or_stale("diagnostic", None)
    db_session.add_all(situations)
    db_session.flush()
    add_timeline_event(
        access,
        Event.DIAGNOSTIC_RECORDED,
        diagnostic_id=str(new_id),
        number=str(row.number),
        declared_by=row.declared_by.value,
    )
    return new_id


# -- freins périphériques -----------------------------------------------------------------------


def _barrier_view(
    row: Barrier, authors: tenancy.AuthorLabels, themes: dict[uuid.UUID, ThemeView]
) -> BarrierView:
    theme = themes.get(row.theme_id)
    return barrier_view(
        row,
        authors,
        label=row.label,
        details=row.details,
        theme_id=row.theme_id,
        theme_label=theme.label if theme else "",
    )


def _barrier_theme(
    person: Beneficiary, theme_id: uuid.UUID | None, current: uuid.UUID | None = None
) -> ThemeView:
    """The theme of a frein périphérique: an active theme of the département's referential
    (or the frein's current one, even if retired since), never a health theme."""
    themes = _all_themes(person.departement_id)
    theme = themes.get(theme_id) if theme_id is not None else None
    if theme is None or not (theme.is_active or theme.id == current):
        message = "Choisissez un thème du référentiel de votre département."
        raise InvalidInput.on("theme_id", message)
    if is_health_theme(theme):
        raise InvalidInput.on("theme_id", HEALTH_THEME_MESSAGE)
    return theme


def _entry_id(theme: ThemeView, label: str) -> uuid.UUID | None:
    """The referential's situation of that name, when the label was chosen from it."""
    return next((e.id for e in theme.of_kind(EntryKind.SITUATION) if e.label == label), None)


def _barrier_row(access: RecordAccess, barrier_id: uuid.UUID) -> Barrier:
    row = db.session().scalar(
        select(Barrier).where(
            Barrier.id == barrier_id, Barrier.beneficiary_id == access.beneficiary.id
        )
    )
    if row is None:
        raise NotFound("Ce frein n'existe pas dans ce carnet.")
    return row


def get_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID
) -> BarrierPage:
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        tag=Tag.BARRIER_READ,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    person = access.beneficiary
    themes = _all_themes(person.departement_id)
    authors = authors_of(actor, person, [row])
    return BarrierPage(
        access=access,
        person=person,
        barrier=_barrier_view(row, authors, themes),
        themes=[
            t
            for t in themes.values()
            if (t.is_active and not is_health_theme(t)) or t.id == row.theme_id
        ],
    )


def add_barrier(*, actor: Principal, beneficiary_id: uuid.UUID, data: BarrierData) -> uuid.UUID:
    """Note a frein périphérique, identified today or on the date given."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        level=Level.WRITE,
        tag=Tag.BARRIER_ADDED,
        object_id=new_id,
    )
    person = access.beneficiary
    theme = _barrier_theme(person, data.theme_id)
    identified_on = data.identified_on or clock.today()
    check_past(identified_on, "identified_on")
    declared_by = declarant(actor)
    db.session().add(
        Barrier(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey_id_of(person),
            theme_id=theme.id,
            entry_id=_entry_id(theme, data.label),
            label=data.label,
            details=data.details,
            status=BarrierStatus.IDENTIFIED,
            identified_on=identified_on,
            declared_by=declared_by,
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
        )
    )
    db.session().flush()
    add_timeline_event(
        access,
        Event.BARRIER_ADDED,
        barrier_id=str(new_id),
        theme_id=str(theme.id),
        declared_by=declared_by.value,
    )
    return new_id


def update_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, data: BarrierData
) -> bool:
    """Save a frein edited from the version `data.version`; a stale one is refused.
    Returns whether anything changed."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        level=Level.WRITE,
        tag=Tag.BARRIER_UPDATED,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    if data.version != row.version:
        raise StaleEdit(kind="barrier", object_id=row.id)
    theme = _barrier_theme(access.beneficiary, data.theme_id, current=row.theme_id)
    row.theme_id = theme.id
    row.label = data.label
    row.details = data.details
    row.entry_id = _entry_id(theme, data.label)
    if not db.session().is_modified(row):
        return False
    flush_or_stale("barrier", row.id)
    add_timeline_event(
        access, Event.BARRIER_UPDATED, barrier_id=str(row.id), theme_id=str(row.theme_id)
    )
    return True


def change_barrier_status(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, change: StatusChange
) -> BarrierStatus:
    """Move a frein forward (en cours, levé) on a date; an invalid move is refused."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.SITUATION,
        level=Level.WRITE,
        tag=Tag.BARRIER_STATUS_CHANGED,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    if change.version != row.version:
        raise StaleEdit(kind="barrier", object_id=row.id)
    on = move_barrier(row, change)
    flush_or_stale("barrier", row.id)
    add_timeline_event(
        access,
        _STATUS_EVENTS[change.status],
        barrier_id=str(row.id),
        theme_id=str(row.theme_id),
        on=on.isoformat(),
    )
    return change.status
