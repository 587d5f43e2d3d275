"""The situation section and the health compartment: the only readers and writers of a
person's diagnostic, freins périphériques, health freins, RQTH, health notes and consents.

Every entry point opens the record through `carnet.records.gate` (scope, policy on the
`situation` or `health` section, audit row in the caller's transaction) before it reads or
writes anything, and never commits. Writes add a timeline event holding ids and codes
only. Who declared something (the person or a professional) comes from the actor.

- A diagnostic is recorded as a new, immutable version; a version made from a form built
  on an older one is refused (`StaleEdit`), so nobody overwrites a colleague's update
  without seeing it.
- Freins carry a version (SQLAlchemy's version counter): a stale save is refused with
  `StaleEdit` and changes nothing. Their status only moves forward: identifié → en cours
  → levé (or identifié → levé), each with its date.
- The health compartment is sealed under the person's data key; it is opened only after
  the policy allowed `health:read` (health structures of the group, organisations the
  person named in a consent in force, the person). Themes of the referential whose
  statistical category is health belong to the compartment, never to the situation.
- Consents: the person gives or withdraws them from his or her space; a professional who
  may manage the follow-up group records one given in person (« mode accompagné »). The
  gate reads consents on every request, so a withdrawal takes effect at once.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from carnet import clock, db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import (
    Beneficiary,
    Consent,
    ConsentScope,
    DigitalAutonomy,
    GroupMembership,
    Journey,
    TimelineEvent,
)
from carnet.referential import services as referential
from carnet.referential.models import EntryKind, OarsaCategory
from carnet.referential.services import ThemeView
from carnet.security import crypto, matrix
from carnet.security.permissions import GroupRole, Level, OrganisationKind, Relation, Section
from carnet.security.principal import Principal
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
    EducationLevel,
    HealthBarrier,
    HealthNote,
    RqthRecord,
    RqthStatus,
)
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

# Where sealed fields live; sealing and opening must name the same place (AAD).
HEALTH_BARRIER_TABLE = "health_barriers"
HEALTH_LABEL_COLUMN = "label_sealed"
HEALTH_DETAILS_COLUMN = "details_sealed"
RQTH_TABLE = "rqth_records"
RQTH_COLUMN = "details_sealed"
HEALTH_NOTE_TABLE = "health_notes"
HEALTH_NOTE_COLUMN = "body_sealed"
HEALTH_NOTES_LIMIT = 200
MASKED_NAME = "Professionnel·le"

STALE_MESSAGE = (
    "Quelqu'un d'autre a modifié cet élément pendant que vous le modifiiez : votre "
    "modification n'a pas été enregistrée. La version actuelle est affichée ci-dessous ; "
    "votre saisie est conservée dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
STALE_DIAGNOSTIC_MESSAGE = (
    "Une nouvelle version du diagnostic a été enregistrée pendant votre saisie : la vôtre "
    "n'a pas été enregistrée. Ce qui a changé est affiché ci-dessous ; votre saisie est "
    "conservée dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
HEALTH_THEME_MESSAGE = (
    "Les freins liés à la santé se notent dans le volet santé, ouvert seulement aux "
    "structures de santé et à celles que la personne a autorisées."
)
FUTURE_DATE_MESSAGE = "Cette date est dans le futur : indiquez une date passée ou aujourd'hui."


class Tag(StrEnum):
    """Audit tags of the situation and health sections (`domain:subject:action`)."""

    BARRIER_ADDED = "situation:barrier:added"
    BARRIER_READ = "situation:barrier:read"
    BARRIER_STATUS_CHANGED = "situation:barrier:status_changed"
    BARRIER_UPDATED = "situation:barrier:updated"
    CONSENT_GRANTED = "health:consent:granted"
    CONSENT_GRANTED_IN_PERSON = "health:consent:granted_in_person"
    CONSENT_WITHDRAWN = "health:consent:withdrawn"
    CONSENT_WITHDRAWN_IN_PERSON = "health:consent:withdrawn_in_person"
    CONSENTS_READ = "health:consents:read"
    DIAGNOSTIC_FORM_READ = "situation:diagnostic_form:read"
    DIAGNOSTIC_READ = "situation:diagnostic:read"
    DIAGNOSTIC_RECORDED = "situation:diagnostic:recorded"
    HEALTH_BARRIER_ADDED = "health:barrier:added"
    HEALTH_BARRIER_READ = "health:barrier:read"
    HEALTH_BARRIER_STATUS_CHANGED = "health:barrier:status_changed"
    HEALTH_BARRIER_UPDATED = "health:barrier:updated"
    HEALTH_NOTE_ADDED = "health:note:added"
    HEALTH_READ = "health:compartment:read"
    RQTH_UPDATED = "health:rqth:updated"
    SITUATION_READ = "situation:situation:read"


class Event(StrEnum):
    """Timeline kinds written by this module (labelled in `records.services.EVENT_LABELS`).

    Kinds starting with `health:` are health data: the history shows them only to those
    who may read the health compartment."""

    BARRIER_ADDED = "situation:barrier:added"
    BARRIER_LIFTED = "situation:barrier:lifted"
    BARRIER_STARTED = "situation:barrier:started"
    BARRIER_UPDATED = "situation:barrier:updated"
    CONSENT_GRANTED = "records:consent:granted"
    CONSENT_GRANTED_ACCOMPANIED = "records:consent:granted_accompanied"
    CONSENT_WITHDRAWN = "records:consent:withdrawn"
    CONSENT_WITHDRAWN_ACCOMPANIED = "records:consent:withdrawn_accompanied"
    DIAGNOSTIC_RECORDED = "situation:diagnostic:recorded"
    HEALTH_BARRIER_ADDED = "health:barrier:added"
    HEALTH_BARRIER_LIFTED = "health:barrier:lifted"
    HEALTH_BARRIER_STARTED = "health:barrier:started"
    HEALTH_BARRIER_UPDATED = "health:barrier:updated"
    HEALTH_NOTE_ADDED = "health:note:added"
    RQTH_UPDATED = "health:rqth:updated"


class ConsentMode(StrEnum):
    AUTONOMOUS = "autonome"  # the person, from his or her space
    ACCOMPANIED = "accompagne"  # recorded by a professional, the person present


class HealthAccess(StrEnum):
    """How an organisation of the group stands to the health compartment."""

    CONSENT = "consent"  # reads it only with the person's consent
    NONE = "none"  # no access, whatever the consent (its role has no health remit)
    REMIT = "remit"  # a health structure: reads and writes it by its mission


class StaleEdit(Conflict):
    """The row changed since the form was loaded; nothing was saved."""

    def __init__(self, *, kind: str, object_id: uuid.UUID | None = None) -> None:
        message = STALE_DIAGNOSTIC_MESSAGE if kind == "diagnostic" else STALE_MESSAGE
        super().__init__(message, code="stale")
        self.kind = kind  # "diagnostic" | "barrier" | "health_barrier" | "rqth"
        self.object_id = object_id


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


@dataclass(frozen=True)
class BarrierData:
    """A new frein, or the edit of one (`version` set)."""

    label: str
    details: str | None
    theme_id: uuid.UUID | None = None  # freins périphériques only
    identified_on: date | None = None  # new freins only; today when left empty
    version: int | None = None


@dataclass(frozen=True)
class StatusChange:
    status: BarrierStatus
    on: date | None  # today when left empty
    version: int


@dataclass(frozen=True)
class RqthChange:
    status: RqthStatus
    requested_on: date | None
    valid_until: date | None
    version: int  # 0 when nothing was recorded yet


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
class BarrierView:
    id: uuid.UUID
    label: str
    details: str | None
    status: BarrierStatus
    identified_on: date
    in_progress_on: date | None
    lifted_on: date | None
    declared_by: Declarant
    author_label: str
    created_at: datetime
    updated_at: datetime
    version: int
    theme_id: uuid.UUID | None = None  # freins périphériques only
    theme_label: str = ""

    @property
    def next_statuses(self) -> list[BarrierStatus]:
        return list(_TRANSITIONS[self.status])


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
        wanted = BarrierStatus(status)
        return [b for b in self.barriers if b.status is wanted]


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


@dataclass(frozen=True)
class RqthView:
    status: RqthStatus
    requested_on: date | None
    valid_until: date | None
    updated_at: datetime | None
    author_label: str | None
    version: int  # 0 when nothing was recorded yet


@dataclass(frozen=True)
class HealthNoteView:
    id: uuid.UUID
    body: str
    author_label: str
    created_at: datetime


@dataclass(frozen=True)
class HealthPage:
    access: RecordAccess
    person: Beneficiary
    barriers: list[BarrierView]
    rqth: RqthView
    notes: list[HealthNoteView]
    suggestions: list[str]  # the health situations of the referential

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.HEALTH, Level.WRITE)

    def barriers_in(self, status: BarrierStatus | str) -> list[BarrierView]:
        wanted = BarrierStatus(status)
        return [b for b in self.barriers if b.status is wanted]


@dataclass(frozen=True)
class HealthBarrierPage:
    access: RecordAccess
    person: Beneficiary
    barrier: BarrierView
    suggestions: list[str]

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.HEALTH, Level.WRITE)


@dataclass(frozen=True)
class ConsentLine:
    organisation_id: uuid.UUID
    label: str
    health_access: HealthAccess
    in_group: bool
    granted_at: datetime | None  # the consent in force, if any
    recorded_in_person: bool = False

    @property
    def has_consent(self) -> bool:
        return self.granted_at is not None


@dataclass(frozen=True)
class ConsentsPage:
    access: RecordAccess
    person: Beneficiary
    lines: list[ConsentLine]

    @property
    def is_own(self) -> bool:
        return self.access.decision.relation is Relation.OWN_RECORD

    @property
    def can_change(self) -> bool:
        """The person on his or her own record, or a professional who manages the group."""
        return self.is_own or self.access.can(Section.GROUP, Level.WRITE)


@dataclass(frozen=True)
class ConsentChange:
    organisation_label: str
    granted: bool
    mode: ConsentMode


# -- helpers ------------------------------------------------------------------------------------

_TRANSITIONS: dict[BarrierStatus, tuple[BarrierStatus, ...]] = {
    BarrierStatus.IDENTIFIED: (BarrierStatus.IN_PROGRESS, BarrierStatus.LIFTED),
    BarrierStatus.IN_PROGRESS: (BarrierStatus.LIFTED,),
    BarrierStatus.LIFTED: (),
}


def _declarant(actor: Principal) -> Declarant:
    return Declarant.PERSON if actor.is_beneficiary else Declarant.PROFESSIONAL


def _is_health_theme(theme: ThemeView) -> bool:
    return theme.oarsa_category is OarsaCategory.SANTE


def _situation_themes(departement_id: uuid.UUID) -> list[ThemeView]:
    """Active themes of the referential outside health, each with its entries."""
    return [t for t in referential.list_themes(departement_id) if not _is_health_theme(t)]


def _health_suggestions(departement_id: uuid.UUID) -> list[str]:
    return [
        entry.label
        for theme in referential.list_themes(departement_id)
        if _is_health_theme(theme)
        for entry in theme.of_kind(EntryKind.SITUATION)
    ]


def _open(
    actor: Principal,
    beneficiary_id: uuid.UUID,
    section: Section,
    tag: Tag,
    *,
    level: Level = Level.READ,
    object_id: uuid.UUID | None = None,
) -> RecordAccess:
    return gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=section,
        level=level,
        tag=tag,
        object_id=object_id,
    )


def _timeline(access: RecordAccess, kind: Event, **details: str) -> None:
    person = access.beneficiary
    journey = person.current_journey
    db.session().add(
        TimelineEvent(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id if journey else None,
            kind=kind,
            occurred_at=clock.now(),
            actor_account_id=access.actor.account_id,
            actor_organisation_id=access.actor.organisation_id,
            details=details,
        )
    )


def _flush(kind: str, object_id: uuid.UUID | None) -> None:
    """The version counter (or a unique index) is checked again by the write itself: two
    saves at the same instant cannot both pass."""
    try:
        db.session().flush()
    except (StaleDataError, IntegrityError):
        log.info("stale save refused kind=%s object=%s", kind, object_id)
        raise StaleEdit(kind=kind, object_id=object_id) from None


def _check_past(on: date, field_name: str) -> None:
    if on > clock.today():
        raise InvalidInput(FUTURE_DATE_MESSAGE, fields={field_name: [FUTURE_DATE_MESSAGE]})


class _Authors:
    """Who wrote what: the person, or a professional and his or her structure (a sensible
    structure's staff stay unnamed, as in the follow-up group)."""

    def __init__(
        self,
        actor: Principal,
        person: Beneficiary,
        pairs: Iterable[tuple[uuid.UUID | None, uuid.UUID | None]],
    ) -> None:
        items = list(pairs)
        self.actor = actor
        self.person = person
        self.names = tenancy.professional_names(account for account, _ in items)
        self.organisations = tenancy.organisations_by_id(org for _, org in items)

    def label(self, account_id: uuid.UUID | None, organisation_id: uuid.UUID | None) -> str:
        if account_id is None:
            return "Reprise de données"
        if account_id == self.person.account_id:
            return "La personne"
        organisation = self.organisations.get(organisation_id) if organisation_id else None
        name = self.names.get(account_id, MASKED_NAME)
        if organisation is None:
            return name
        if organisation.is_masked_for(self.actor):
            return f"{MASKED_NAME}, {organisation.label_for(self.actor)}"
        return f"{name}, {organisation.label_for(self.actor)}"


def _move(row: Barrier | HealthBarrier, change: StatusChange) -> date:
    """Apply a status change to a frein, or refuse it with a French message."""
    current = BarrierStatus(row.status)
    target = change.status
    if target is current:
        message = "Ce frein a déjà ce statut : choisissez le statut suivant."
        raise InvalidInput(message, fields={"status": [message]})
    if target not in _TRANSITIONS[current]:
        if current is BarrierStatus.LIFTED:
            message = (
                "Ce frein est levé : son statut ne change plus. S'il se présente de nouveau, "
                "notez-le comme un nouveau frein."
            )
        else:
            message = (
                "Un frein en cours ne revient pas au statut « identifié » : il peut seulement "
                "être levé."
            )
        raise InvalidInput(message, fields={"status": [message]})
    on = change.on or clock.today()
    _check_past(on, "on")
    floor = row.in_progress_on or row.identified_on
    if on < floor:
        message = (
            f"Cette date précède celle du statut précédent ({floor:%d/%m/%Y}) : "
            "indiquez une date égale ou postérieure."
        )
        raise InvalidInput(message, fields={"on": [message]})
    row.status = target
    if target is BarrierStatus.IN_PROGRESS:
        row.in_progress_on = on
    else:
        row.lifted_on = on
    return on


def _status_event(status: BarrierStatus, *, health: bool) -> Event:
    if status is BarrierStatus.IN_PROGRESS:
        return Event.HEALTH_BARRIER_STARTED if health else Event.BARRIER_STARTED
    return Event.HEALTH_BARRIER_LIFTED if health else Event.BARRIER_LIFTED


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
    row: Diagnostic, authors: _Authors, themes: dict[uuid.UUID, ThemeView]
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


def _versions(rows: Sequence[Diagnostic], authors: _Authors) -> list[VersionSummary]:
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


def _all_themes(departement_id: uuid.UUID) -> dict[uuid.UUID, ThemeView]:
    return {t.id: t for t in referential.list_themes(departement_id, active_only=False)}


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


def _authors_of(
    actor: Principal, person: Beneficiary, rows: Iterable[Barrier | HealthBarrier | Diagnostic]
) -> _Authors:
    return _Authors(
        actor, person, [(row.author_account_id, row.author_organisation_id) for row in rows]
    )


def get_situation(*, actor: Principal, beneficiary_id: uuid.UUID) -> SituationPage:
    """The latest diagnostic, the dated list of its versions, and the freins."""
    access = _open(actor, beneficiary_id, Section.SITUATION, Tag.SITUATION_READ)
    person = access.beneficiary
    versions = _diagnostic_rows(person)
    barriers = list(
        db.session().scalars(
            select(Barrier)
            .where(Barrier.beneficiary_id == person.id)
            .order_by(Barrier.identified_on.desc(), Barrier.created_at.desc(), Barrier.id)
        )
    )
    authors = _authors_of(actor, person, [*versions, *barriers])
    themes = _all_themes(person.departement_id)
    return SituationPage(
        access=access,
        person=person,
        latest=_diagnostic_view(versions[0], authors, themes) if versions else None,
        versions=_versions(versions, authors),
        barriers=[_barrier_view(row, authors, themes) for row in barriers],
        themes=[t for t in themes.values() if t.is_active and not _is_health_theme(t)],
    )


def get_diagnostic_form(
    *, actor: Principal, beneficiary_id: uuid.UUID, since: int | None = None
) -> DiagnosticFormPage:
    """The form of a new version, filled from the latest one. `since`: the version a refused
    form was built on, to show what changed after it."""
    access = _open(actor, beneficiary_id, Section.SITUATION, Tag.DIAGNOSTIC_FORM_READ)
    person = access.beneficiary
    rows = _diagnostic_rows(person)
    authors = _authors_of(actor, person, rows)
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
    access = _open(
        actor, beneficiary_id, Section.SITUATION, Tag.DIAGNOSTIC_READ, object_id=diagnostic_id
    )
    person = access.beneficiary
    rows = _diagnostic_rows(person)
    index = next((i for i, row in enumerate(rows) if row.id == diagnostic_id), None)
    if index is None:
        raise NotFound("Cette version du diagnostic n'existe pas dans ce carnet.")
    authors = _authors_of(actor, person, rows)
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


def _situation_rows(
    person: Beneficiary, diagnostic_id: uuid.UUID, data: DiagnosticData
) -> list[DiagnosticSituation]:
    """The ticked situations, checked against the référentiel of the person's département."""
    themes = _situation_themes(person.departement_id)
    entries = {
        entry.id: (theme, entry) for theme in themes for entry in theme.of_kind(EntryKind.SITUATION)
    }
    by_id = {theme.id: theme for theme in themes}
    unknown = [entry_id for entry_id in data.entry_ids if entry_id not in entries]
    if unknown:
        message = "Une situation cochée ne fait plus partie du référentiel : rechargez la page."
        raise InvalidInput(message, fields={"situation": [message]})
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


def record_diagnostic(
    *, actor: Principal, beneficiary_id: uuid.UUID, data: DiagnosticData
) -> uuid.UUID:
    """Write a new version of the diagnostic; a form built on an older version is refused."""
    new_id = uuid.uuid4()
    access = _open(
        actor,
        beneficiary_id,
        Section.SITUATION,
        Tag.DIAGNOSTIC_RECORDED,
        level=Level.WRITE,
        object_id=new_id,
    )
    person = access.beneficiary
    db_session = db.session()
    latest = int(
        db_session.scalar(
            select(func.coalesce(func.max(Diagnostic.number), 0)).where(
                Diagnostic.beneficiary_id == person.id
            )
        )
        or 0
    )
    if latest != data.based_on:
        raise StaleEdit(kind="diagnostic")
    situations = _situation_rows(person, new_id, data)
    journey = person.current_journey
    declared_by = _declarant(actor)
    db_session.add(
        Diagnostic(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id if journey else None,
            number=latest + 1,
            recorded_at=clock.now(),
            declared_by=declared_by,
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
            education_level=data.education_level,
            digital_autonomy=data.digital_autonomy,
            strengths=list(data.strengths),
            skills=list(data.skills),
            summary=data.summary,
        )
    )
    # Two versions numbered alike at the same instant: the unique index refuses the second.
    _flush("diagnostic", None)
    db_session.add_all(situations)
    db_session.flush()
    _timeline(
        access,
        Event.DIAGNOSTIC_RECORDED,
        diagnostic_id=str(new_id),
        number=str(latest + 1),
        declared_by=declared_by.value,
    )
    return new_id


# -- freins périphériques -----------------------------------------------------------------------


def _barrier_view(
    row: Barrier | HealthBarrier,
    authors: _Authors,
    themes: dict[uuid.UUID, ThemeView] | None = None,
    *,
    label: str | None = None,
    details: str | None = None,
) -> BarrierView:
    theme_id = row.theme_id if isinstance(row, Barrier) else None
    theme = (themes or {}).get(theme_id) if theme_id is not None else None
    return BarrierView(
        id=row.id,
        label=row.label if isinstance(row, Barrier) else (label or ""),
        details=row.details if isinstance(row, Barrier) else details,
        status=BarrierStatus(row.status),
        identified_on=row.identified_on,
        in_progress_on=row.in_progress_on,
        lifted_on=row.lifted_on,
        declared_by=Declarant(row.declared_by),
        author_label=authors.label(row.author_account_id, row.author_organisation_id),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        theme_id=theme_id,
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
        raise InvalidInput(message, fields={"theme_id": [message]})
    if _is_health_theme(theme):
        raise InvalidInput(HEALTH_THEME_MESSAGE, fields={"theme_id": [HEALTH_THEME_MESSAGE]})
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
    access = _open(actor, beneficiary_id, Section.SITUATION, Tag.BARRIER_READ, object_id=barrier_id)
    row = _barrier_row(access, barrier_id)
    person = access.beneficiary
    themes = _all_themes(person.departement_id)
    authors = _authors_of(actor, person, [row])
    return BarrierPage(
        access=access,
        person=person,
        barrier=_barrier_view(row, authors, themes),
        themes=[
            t
            for t in themes.values()
            if (t.is_active and not _is_health_theme(t)) or t.id == row.theme_id
        ],
    )


def add_barrier(*, actor: Principal, beneficiary_id: uuid.UUID, data: BarrierData) -> uuid.UUID:
    """Note a frein périphérique, identified today or on the date given."""
    new_id = uuid.uuid4()
    access = _open(
        actor,
        beneficiary_id,
        Section.SITUATION,
        Tag.BARRIER_ADDED,
        level=Level.WRITE,
        object_id=new_id,
    )
    person = access.beneficiary
    theme = _barrier_theme(person, data.theme_id)
    identified_on = data.identified_on or clock.today()
    _check_past(identified_on, "identified_on")
    journey = person.current_journey
    db.session().add(
        Barrier(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id if journey else None,
            theme_id=theme.id,
            entry_id=_entry_id(theme, data.label),
            label=data.label,
            details=data.details,
            status=BarrierStatus.IDENTIFIED,
            identified_on=identified_on,
            declared_by=_declarant(actor),
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
        )
    )
    db.session().flush()
    _timeline(
        access,
        Event.BARRIER_ADDED,
        barrier_id=str(new_id),
        theme_id=str(theme.id),
        declared_by=_declarant(actor).value,
    )
    return new_id


def update_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, data: BarrierData
) -> bool:
    """Save a frein edited from the version `data.version`; a stale one is refused.
    Returns whether anything changed."""
    access = _open(
        actor,
        beneficiary_id,
        Section.SITUATION,
        Tag.BARRIER_UPDATED,
        level=Level.WRITE,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    if data.version != row.version:
        raise StaleEdit(kind="barrier", object_id=row.id)
    person = access.beneficiary
    theme = _barrier_theme(person, data.theme_id, current=row.theme_id)
    row.theme_id = theme.id
    row.label = data.label
    row.details = data.details
    row.entry_id = _entry_id(theme, data.label)
    if not db.session().is_modified(row):
        return False
    _flush("barrier", row.id)
    _timeline(access, Event.BARRIER_UPDATED, barrier_id=str(row.id), theme_id=str(row.theme_id))
    return True


def change_barrier_status(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, change: StatusChange
) -> BarrierStatus:
    """Move a frein forward (en cours, levé) on a date; an invalid move is refused."""
    access = _open(
        actor,
        beneficiary_id,
        Section.SITUATION,
        Tag.BARRIER_STATUS_CHANGED,
        level=Level.WRITE,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    if change.version != row.version:
        raise StaleEdit(kind="barrier", object_id=row.id)
    on = _move(row, change)
    _flush("barrier", row.id)
    _timeline(
        access,
        _status_event(change.status, health=False),
        barrier_id=str(row.id),
        theme_id=str(row.theme_id),
        on=on.isoformat(),
    )
    return change.status


# -- the health compartment ---------------------------------------------------------------------


def _seal(person: Beneficiary, table: str, column: str, row_id: uuid.UUID, text: str) -> bytes:
    return crypto.current().seal(
        db.session(),
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table=table,
        column=column,
        row_id=row_id,
        plaintext=text,
    )


def _unseal(
    person: Beneficiary, table: str, column: str, row_id: uuid.UUID, sealed: bytes, what: str
) -> str:
    return records.open_sealed(
        person.id, table=table, column=column, row_id=row_id, sealed=sealed, what=what
    )


def _health_barrier_view(person: Beneficiary, row: HealthBarrier, authors: _Authors) -> BarrierView:
    label = _unseal(
        person, HEALTH_BARRIER_TABLE, HEALTH_LABEL_COLUMN, row.id, row.label_sealed, "ce frein"
    )
    details = None
    if row.details_sealed is not None:
        details = _unseal(
            person,
            HEALTH_BARRIER_TABLE,
            HEALTH_DETAILS_COLUMN,
            row.id,
            row.details_sealed,
            "ce frein",
        )
    return _barrier_view(row, authors, label=label, details=details)


def _rqth_view(person: Beneficiary, row: RqthRecord | None, actor: Principal) -> RqthView:
    if row is None:
        return RqthView(RqthStatus.NONE, None, None, None, None, 0)
    payload = json.loads(
        _unseal(person, RQTH_TABLE, RQTH_COLUMN, row.id, row.details_sealed, "la RQTH")
    )
    authors = _Authors(actor, person, [(row.updated_by_account_id, row.updated_by_organisation_id)])

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return RqthView(
        status=RqthStatus(payload["status"]),
        requested_on=day(payload.get("requested_on")),
        valid_until=day(payload.get("valid_until")),
        updated_at=row.updated_at,
        author_label=authors.label(row.updated_by_account_id, row.updated_by_organisation_id),
        version=row.version,
    )


def _rqth_row(person: Beneficiary) -> RqthRecord | None:
    return db.session().scalar(select(RqthRecord).where(RqthRecord.beneficiary_id == person.id))


def get_health(*, actor: Principal, beneficiary_id: uuid.UUID) -> HealthPage:
    """The compartment for those the policy lets read it: freins, RQTH and notes, opened."""
    access = _open(actor, beneficiary_id, Section.HEALTH, Tag.HEALTH_READ)
    person = access.beneficiary
    db_session = db.session()
    barriers = list(
        db_session.scalars(
            select(HealthBarrier)
            .where(HealthBarrier.beneficiary_id == person.id)
            .order_by(HealthBarrier.identified_on.desc(), HealthBarrier.created_at.desc())
        )
    )
    notes = list(
        db_session.scalars(
            select(HealthNote)
            .where(HealthNote.beneficiary_id == person.id)
            .order_by(HealthNote.created_at.desc(), HealthNote.id)
            .limit(HEALTH_NOTES_LIMIT)
        )
    )
    authors = _Authors(
        actor,
        person,
        [
            *((row.author_account_id, row.author_organisation_id) for row in barriers),
            *((row.author_account_id, row.author_organisation_id) for row in notes),
        ],
    )
    return HealthPage(
        access=access,
        person=person,
        barriers=[_health_barrier_view(person, row, authors) for row in barriers],
        rqth=_rqth_view(person, _rqth_row(person), actor),
        notes=[
            HealthNoteView(
                id=row.id,
                body=_unseal(
                    person,
                    HEALTH_NOTE_TABLE,
                    HEALTH_NOTE_COLUMN,
                    row.id,
                    row.body_sealed,
                    "cette note",
                ),
                author_label=authors.label(row.author_account_id, row.author_organisation_id),
                created_at=row.created_at,
            )
            for row in notes
        ],
        suggestions=_health_suggestions(person.departement_id),
    )


def _health_barrier_row(access: RecordAccess, barrier_id: uuid.UUID) -> HealthBarrier:
    row = db.session().scalar(
        select(HealthBarrier).where(
            HealthBarrier.id == barrier_id,
            HealthBarrier.beneficiary_id == access.beneficiary.id,
        )
    )
    if row is None:
        raise NotFound("Ce frein n'existe pas dans le volet santé de ce carnet.")
    return row


def get_health_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID
) -> HealthBarrierPage:
    access = _open(
        actor, beneficiary_id, Section.HEALTH, Tag.HEALTH_BARRIER_READ, object_id=barrier_id
    )
    row = _health_barrier_row(access, barrier_id)
    person = access.beneficiary
    authors = _authors_of(actor, person, [row])
    return HealthBarrierPage(
        access=access,
        person=person,
        barrier=_health_barrier_view(person, row, authors),
        suggestions=_health_suggestions(person.departement_id),
    )


def _seal_barrier_text(person: Beneficiary, row: HealthBarrier, data: BarrierData) -> None:
    row.label_sealed = _seal(person, HEALTH_BARRIER_TABLE, HEALTH_LABEL_COLUMN, row.id, data.label)
    row.details_sealed = (
        _seal(person, HEALTH_BARRIER_TABLE, HEALTH_DETAILS_COLUMN, row.id, data.details)
        if data.details
        else None
    )


def add_health_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, data: BarrierData
) -> uuid.UUID:
    new_id = uuid.uuid4()
    access = _open(
        actor,
        beneficiary_id,
        Section.HEALTH,
        Tag.HEALTH_BARRIER_ADDED,
        level=Level.WRITE,
        object_id=new_id,
    )
    person = access.beneficiary
    identified_on = data.identified_on or clock.today()
    _check_past(identified_on, "identified_on")
    journey = person.current_journey
    row = HealthBarrier(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey.id if journey else None,
        status=BarrierStatus.IDENTIFIED,
        identified_on=identified_on,
        declared_by=_declarant(actor),
        author_account_id=actor.account_id,
        author_organisation_id=actor.organisation_id,
    )
    _seal_barrier_text(person, row, data)
    db.session().add(row)
    db.session().flush()
    _timeline(access, Event.HEALTH_BARRIER_ADDED, barrier_id=str(new_id))
    return new_id


def update_health_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, data: BarrierData
) -> bool:
    access = _open(
        actor,
        beneficiary_id,
        Section.HEALTH,
        Tag.HEALTH_BARRIER_UPDATED,
        level=Level.WRITE,
        object_id=barrier_id,
    )
    row = _health_barrier_row(access, barrier_id)
    if data.version != row.version:
        raise StaleEdit(kind="health_barrier", object_id=row.id)
    person = access.beneficiary
    current = _health_barrier_view(person, row, _authors_of(actor, person, [row]))
    if current.label == data.label and (current.details or None) == (data.details or None):
        return False
    _seal_barrier_text(person, row, data)
    _flush("health_barrier", row.id)
    _timeline(access, Event.HEALTH_BARRIER_UPDATED, barrier_id=str(row.id))
    return True


def change_health_barrier_status(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, change: StatusChange
) -> BarrierStatus:
    access = _open(
        actor,
        beneficiary_id,
        Section.HEALTH,
        Tag.HEALTH_BARRIER_STATUS_CHANGED,
        level=Level.WRITE,
        object_id=barrier_id,
    )
    row = _health_barrier_row(access, barrier_id)
    if change.version != row.version:
        raise StaleEdit(kind="health_barrier", object_id=row.id)
    on = _move(row, change)
    _flush("health_barrier", row.id)
    _timeline(
        access,
        _status_event(change.status, health=True),
        barrier_id=str(row.id),
        on=on.isoformat(),
    )
    return change.status


def update_rqth(*, actor: Principal, beneficiary_id: uuid.UUID, change: RqthChange) -> None:
    """Record the RQTH status and its dates, sealed; a stale save is refused."""
    access = _open(actor, beneficiary_id, Section.HEALTH, Tag.RQTH_UPDATED, level=Level.WRITE)
    person = access.beneficiary
    row = _rqth_row(person)
    if change.version != (row.version if row is not None else 0):
        raise StaleEdit(kind="rqth", object_id=row.id if row is not None else None)
    if change.requested_on is not None:
        _check_past(change.requested_on, "requested_on")
    payload = json.dumps(
        {
            "status": change.status.value,
            "requested_on": change.requested_on.isoformat() if change.requested_on else None,
            "valid_until": change.valid_until.isoformat() if change.valid_until else None,
        },
        sort_keys=True,
    )
    if row is not None:
        current = _rqth_view(person, row, actor)
        if (current.status, current.requested_on, current.valid_until) == (
            change.status,
            change.requested_on,
            change.valid_until,
        ):
            return
        row.details_sealed = _seal(person, RQTH_TABLE, RQTH_COLUMN, row.id, payload)
    else:
        # Sealed before it joins the session: sealing may flush, and the row needs its text.
        row = RqthRecord(
            id=uuid.uuid4(), departement_id=person.departement_id, beneficiary_id=person.id
        )
        row.details_sealed = _seal(person, RQTH_TABLE, RQTH_COLUMN, row.id, payload)
        db.session().add(row)
    row.updated_at = clock.now()
    row.updated_by_account_id = actor.account_id
    row.updated_by_organisation_id = actor.organisation_id
    _flush("rqth", row.id)
    _timeline(access, Event.RQTH_UPDATED, rqth_id=str(row.id))


def add_health_note(*, actor: Principal, beneficiary_id: uuid.UUID, body: str) -> uuid.UUID:
    """A health partner's note, sealed before it is stored."""
    new_id = uuid.uuid4()
    access = _open(
        actor,
        beneficiary_id,
        Section.HEALTH,
        Tag.HEALTH_NOTE_ADDED,
        level=Level.WRITE,
        object_id=new_id,
    )
    if actor.account_id is None:  # pragma: no cover - the policy lets only members write
        raise Denied("Seul un professionnel de santé du groupe de suivi peut écrire une note.")
    person = access.beneficiary
    db.session().add(
        HealthNote(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
            body_sealed=_seal(person, HEALTH_NOTE_TABLE, HEALTH_NOTE_COLUMN, new_id, body),
            created_at=clock.now(),
        )
    )
    db.session().flush()
    _timeline(access, Event.HEALTH_NOTE_ADDED, note_id=str(new_id))
    return new_id


# -- consents -----------------------------------------------------------------------------------


def _health_access(kind: OrganisationKind, roles: Iterable[GroupRole]) -> HealthAccess:
    """What the matrix gives an organisation on the health compartment, by its roles."""
    best = HealthAccess.NONE
    for role in roles:
        if matrix.group_level(kind, role, Section.HEALTH) >= Level.READ:
            return HealthAccess.REMIT
        if Section.HEALTH in matrix.CONSENT_GATED.get((kind, role), frozenset()):
            best = HealthAccess.CONSENT
    return best


def _consents_in_force(person: Beneficiary) -> list[Consent]:
    return list(
        db.session().scalars(
            select(Consent)
            .where(
                Consent.beneficiary_id == person.id,
                Consent.scope == ConsentScope.HEALTH,
                Consent.withdrawn_at.is_(None),
            )
            .order_by(Consent.granted_at)
        )
    )


def _consent_lines(access: RecordAccess) -> list[ConsentLine]:
    """The organisations of the active group, and any other one holding a consent in force."""
    person = access.beneficiary
    roles: dict[uuid.UUID, set[GroupRole]] = {}
    rows = db.session().execute(
        select(GroupMembership.organisation_id, GroupMembership.role)
        .join(Journey, Journey.id == GroupMembership.journey_id)
        .where(
            GroupMembership.beneficiary_id == person.id,
            GroupMembership.ended_at.is_(None),
            Journey.closed_on.is_(None),
        )
    )
    for organisation_id, role in rows:
        roles.setdefault(organisation_id, set()).add(GroupRole(role))
    consents: dict[uuid.UUID, Consent] = {}
    for row in _consents_in_force(person):
        consents.setdefault(row.organisation_id, row)
    organisations = tenancy.organisations_by_id([*roles, *consents])
    lines = []
    for organisation_id, organisation in organisations.items():
        in_group = organisation_id in roles
        consent = consents.get(organisation_id)
        lines.append(
            ConsentLine(
                organisation_id=organisation_id,
                label=organisation.label_for(access.actor),
                health_access=_health_access(organisation.kind, roles.get(organisation_id, ()))
                if in_group
                else HealthAccess.CONSENT,
                in_group=in_group,
                granted_at=consent.granted_at if consent else None,
                recorded_in_person=bool(
                    consent is not None and consent.recorded_by_id != person.account_id
                ),
            )
        )
    lines.sort(
        key=lambda line: (not line.in_group, line.label.casefold(), str(line.organisation_id))
    )
    return lines


def get_consents(*, actor: Principal, beneficiary_id: uuid.UUID) -> ConsentsPage:
    """Which organisations of the group may read the health compartment, and why."""
    access = _open(actor, beneficiary_id, Section.GROUP, Tag.CONSENTS_READ)
    return ConsentsPage(access=access, person=access.beneficiary, lines=_consent_lines(access))


def change_health_consent(
    *, actor: Principal, beneficiary_id: uuid.UUID, organisation_id: uuid.UUID, grant: bool
) -> ConsentChange:
    """Give or withdraw the person's consent for one organisation to read the compartment.

    The person acts from his or her own record; a professional who may manage the follow-up
    group records a decision the person made in front of him or her (« mode accompagné »),
    and the timeline and the access log say so. A withdrawal applies to the next request.
    """
    mode = ConsentMode.AUTONOMOUS if actor.is_beneficiary else ConsentMode.ACCOMPANIED
    if mode is ConsentMode.AUTONOMOUS:
        # Only the person may decide alone: the gate answers "not found" on any other record.
        tag = Tag.CONSENT_GRANTED if grant else Tag.CONSENT_WITHDRAWN
        access = _open(actor, beneficiary_id, Section.HEALTH, tag, object_id=organisation_id)
        if access.decision.relation is not Relation.OWN_RECORD:  # pragma: no cover - gate
            raise Denied("Seule la personne peut donner ou retirer son accord.")
    else:
        tag = Tag.CONSENT_GRANTED_IN_PERSON if grant else Tag.CONSENT_WITHDRAWN_IN_PERSON
        access = _open(
            actor, beneficiary_id, Section.GROUP, tag, level=Level.WRITE, object_id=organisation_id
        )
    person = access.beneficiary
    line = next((x for x in _consent_lines(access) if x.organisation_id == organisation_id), None)
    if line is None:
        message = "Choisissez une structure du groupe de suivi."
        raise InvalidInput(message, fields={"organisation_id": [message]})
    now = clock.now()
    if grant:
        if line.health_access is HealthAccess.REMIT:
            raise Conflict(
                "Cette structure de santé accède déjà au volet santé par sa mission : "
                "aucun accord n'est nécessaire."
            )
        if line.health_access is HealthAccess.NONE:
            raise Conflict("Le rôle de cette structure ne lui donne pas accès au volet santé.")
        if line.has_consent:
            raise Conflict("Cette structure a déjà l'accord de la personne.")
        db.session().add(
            Consent(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                scope=ConsentScope.HEALTH,
                organisation_id=organisation_id,
                granted_at=now,
                recorded_by_id=actor.account_id,
            )
        )
        event = (
            Event.CONSENT_GRANTED
            if mode is ConsentMode.AUTONOMOUS
            else Event.CONSENT_GRANTED_ACCOMPANIED
        )
    else:
        in_force = [c for c in _consents_in_force(person) if c.organisation_id == organisation_id]
        if not in_force:
            raise Conflict("Cette structure n'a pas d'accord en cours : rien à retirer.")
        for consent in in_force:
            consent.withdrawn_at = max(now, consent.granted_at)
        event = (
            Event.CONSENT_WITHDRAWN
            if mode is ConsentMode.AUTONOMOUS
            else Event.CONSENT_WITHDRAWN_ACCOMPANIED
        )
    db.session().flush()
    _timeline(
        access,
        event,
        scope=ConsentScope.HEALTH.value,
        organisation_id=str(organisation_id),
        mode=mode.value,
    )
    log.info(
        "health consent %s beneficiary=%s organisation=%s mode=%s",
        "granted" if grant else "withdrawn",
        person.id,
        organisation_id,
        mode.value,
    )
    return ConsentChange(organisation_label=line.label, granted=grant, mode=mode)
