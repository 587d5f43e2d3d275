"""The plan d'action's services: the only readers and writers of a person's plan.

Each entry point opens the record through `carnet.records.gate` (scope, policy on the
`plan` section, audit row in the caller's transaction) before it reads or writes
anything, and never commits. Writes add a timeline event (ids only). Objectives and
actions carry a version: a save whose version is not the row's current one raises
`StaleEdit` and changes nothing; SQLAlchemy's version counter refuses a save that races
another between the check and the flush the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from carnet import clock, db
from carnet.errors import Conflict, NotFound
from carnet.plan.models import (
    ActionOrigin,
    ActionStatus,
    ObjectiveStatus,
    PlanAction,
    PlanAxis,
    PlanObjective,
)
from carnet.plan.schemas import ActionChange, NewObjective, ObjectiveChange
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, Journey, TimelineEvent
from carnet.referential import services as referential
from carnet.referential.services import ThemeView
from carnet.security.permissions import Level, Section
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy

NO_JOURNEY_MESSAGE = (
    "Cette personne n'a pas de parcours en cours : son plan d'action ne peut pas être complété."
)
CLOSED_JOURNEY_MESSAGE = (
    "Cet élément appartient au plan d'un parcours clos : il ne peut plus être modifié."
)
STALE_MESSAGE = (
    "Quelqu'un d'autre a modifié cet élément pendant que vous le modifiiez : votre "
    "modification n'a pas été enregistrée. La version actuelle est affichée ci-dessous ; "
    "votre saisie est conservée dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
OPEN_ACTION_STATUSES = frozenset(
    {ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.ON_HOLD}
)


class Tag(StrEnum):
    """Audit tags of the plan (`domain:subject:action`)."""

    ACTION_CREATED = "plan:action:created"
    ACTION_READ = "plan:action:read"
    ACTION_UPDATED = "plan:action:updated"
    OBJECTIVE_CREATED = "plan:objective:created"
    OBJECTIVE_READ = "plan:objective:read"
    OBJECTIVE_UPDATED = "plan:objective:updated"
    PLAN_READ = "plan:plan:read"


class Event(StrEnum):
    """Timeline kinds written by this module."""

    ACTION_CREATED = "plan:action:created"
    ACTION_UPDATED = "plan:action:updated"
    AXIS_CREATED = "plan:axis:created"
    OBJECTIVE_CREATED = "plan:objective:created"
    OBJECTIVE_UPDATED = "plan:objective:updated"


class StaleEdit(Conflict):
    """The objective or action changed since the form was loaded; nothing was saved."""

    def __init__(self, *, kind: str, object_id: uuid.UUID) -> None:
        super().__init__(STALE_MESSAGE, code="stale")
        self.kind = kind  # "objective" | "action"
        self.object_id = object_id


# -- what the pages receive -----------------------------------------------------------------


@dataclass(frozen=True)
class ActionView:
    id: uuid.UUID
    objective_id: uuid.UUID
    label: str
    details: str | None
    status: ActionStatus
    due_on: date | None
    origin: ActionOrigin
    author_label: str
    created_at: datetime
    updated_at: datetime
    version: int
    is_overdue: bool


@dataclass(frozen=True)
class ObjectiveView:
    id: uuid.UUID
    axis_id: uuid.UUID
    label: str
    details: str | None
    status: ObjectiveStatus
    due_on: date | None
    has_person_consent: bool
    author_label: str
    created_at: datetime
    updated_at: datetime
    version: int
    actions: list[ActionView] = field(default_factory=list)


@dataclass(frozen=True)
class AxisView:
    id: uuid.UUID
    theme: ThemeView
    objectives: list[ObjectiveView]


@dataclass(frozen=True)
class PlanPage:
    access: RecordAccess
    person: Beneficiary
    journey: Journey | None  # the journey whose plan is shown (the open one, else the last)
    axes: list[AxisView]
    themes: list[ThemeView]  # the choices of the add forms (active themes)
    default_origin: ActionOrigin

    @property
    def can_write(self) -> bool:
        return bool(
            self.journey is not None
            and self.journey.closed_on is None
            and self.access.can(Section.PLAN, Level.WRITE)
        )

    def theme_of(self, axis_id: uuid.UUID) -> ThemeView | None:
        return next((a.theme for a in self.axes if a.id == axis_id), None)


@dataclass(frozen=True)
class ObjectivePage:
    access: RecordAccess
    person: Beneficiary
    objective: ObjectiveView
    theme: ThemeView
    is_writable: bool
    default_origin: ActionOrigin

    @property
    def can_write(self) -> bool:
        return self.is_writable and self.access.can(Section.PLAN, Level.WRITE)


@dataclass(frozen=True)
class ActionPage:
    access: RecordAccess
    person: Beneficiary
    action: ActionView
    objective: ObjectiveView
    theme: ThemeView
    is_writable: bool

    @property
    def can_write(self) -> bool:
        return self.is_writable and self.access.can(Section.PLAN, Level.WRITE)


# -- helpers ----------------------------------------------------------------------------------


def _open(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    tag: Tag,
    level: Level = Level.READ,
    object_id: uuid.UUID | None = None,
) -> RecordAccess:
    return gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.PLAN,
        level=level,
        tag=tag,
        object_id=object_id,
    )


def _shown_journey(person: Beneficiary) -> Journey | None:
    return person.current_journey or next(iter(person.journeys), None)


def _open_journey(access: RecordAccess) -> Journey:
    journey = access.beneficiary.current_journey
    if journey is None:
        raise Conflict(NO_JOURNEY_MESSAGE)
    return journey


def _timeline(
    access: RecordAccess, journey_id: uuid.UUID | None, kind: Event, **ids: uuid.UUID
) -> None:
    records.add_event(access, kind, journey_id, {key: str(value) for key, value in ids.items()})


def _flush(kind: str, object_id: uuid.UUID) -> None:
    try:
        db.session().flush()
    except StaleDataError:
        # Another save landed between our version check and this write.
        raise StaleEdit(kind=kind, object_id=object_id) from None


def _authors(
    actor: Principal, person: Beneficiary, rows: Iterable[PlanObjective | PlanAction]
) -> tenancy.AuthorLabels:
    pairs = [(row.author_account_id, row.author_organisation_id) for row in rows]
    return tenancy.AuthorLabels(actor, person.account_id, pairs)


def _action_view(row: PlanAction, authors: tenancy.AuthorLabels, today: date) -> ActionView:
    return ActionView(
        id=row.id,
        objective_id=row.objective_id,
        label=row.label,
        details=row.details,
        status=row.status,
        due_on=row.due_on,
        origin=row.origin,
        author_label=authors.label(row.author_account_id, row.author_organisation_id),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        is_overdue=bool(
            row.due_on is not None and row.due_on < today and row.status in OPEN_ACTION_STATUSES
        ),
    )


def _objective_view(
    row: PlanObjective, authors: tenancy.AuthorLabels, actions: Sequence[ActionView] = ()
) -> ObjectiveView:
    return ObjectiveView(
        id=row.id,
        axis_id=row.axis_id,
        label=row.label,
        details=row.details,
        status=row.status,
        due_on=row.due_on,
        has_person_consent=row.has_person_consent,
        author_label=authors.label(row.author_account_id, row.author_organisation_id),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        actions=list(actions),
    )


def _default_origin(actor: Principal) -> ActionOrigin:
    return ActionOrigin.PERSON if actor.beneficiary_id is not None else ActionOrigin.REFERENT


# -- reading ----------------------------------------------------------------------------------


def get_plan(*, actor: Principal, beneficiary_id: uuid.UUID) -> PlanPage:
    """The plan of the open journey (else of the last one): a fixed number of queries."""
    access = _open(actor=actor, beneficiary_id=beneficiary_id, tag=Tag.PLAN_READ)
    person = access.beneficiary
    journey = _shown_journey(person)
    db_session = db.session()
    axes_rows: list[PlanAxis] = []
    objectives: list[PlanObjective] = []
    actions: list[PlanAction] = []
    if journey is not None:
        axes_rows = list(
            db_session.scalars(
                select(PlanAxis)
                .where(PlanAxis.beneficiary_id == person.id, PlanAxis.journey_id == journey.id)
                .order_by(PlanAxis.created_at, PlanAxis.id)
            )
        )
    if axes_rows:
        objectives = list(
            db_session.scalars(
                select(PlanObjective)
                .where(
                    PlanObjective.beneficiary_id == person.id,
                    PlanObjective.axis_id.in_([a.id for a in axes_rows]),
                )
                .order_by(PlanObjective.created_at, PlanObjective.id)
            )
        )
    if objectives:
        actions = list(
            db_session.scalars(
                select(PlanAction)
                .where(
                    PlanAction.beneficiary_id == person.id,
                    PlanAction.objective_id.in_([o.id for o in objectives]),
                )
                .order_by(PlanAction.created_at, PlanAction.id)
            )
        )
    authors = _authors(actor, person, [*objectives, *actions])
    today = clock.today()
    actions_by_objective: dict[uuid.UUID, list[ActionView]] = {o.id: [] for o in objectives}
    for action in actions:
        actions_by_objective[action.objective_id].append(_action_view(action, authors, today))
    objectives_by_axis: dict[uuid.UUID, list[ObjectiveView]] = {a.id: [] for a in axes_rows}
    for objective in objectives:
        objectives_by_axis[objective.axis_id].append(
            _objective_view(objective, authors, actions_by_objective[objective.id])
        )
    all_themes = referential.list_themes(person.departement_id, active_only=False)
    by_id = {theme.id: theme for theme in all_themes}
    axes = [
        AxisView(axis.id, by_id[axis.theme_id], objectives_by_axis[axis.id])
        for axis in axes_rows
        if axis.theme_id in by_id
    ]
    return PlanPage(
        access=access,
        person=person,
        journey=journey,
        axes=axes,
        themes=[theme for theme in all_themes if theme.is_active],
        default_origin=_default_origin(actor),
    )


def _objective_row(access: RecordAccess, objective_id: uuid.UUID) -> tuple[PlanObjective, PlanAxis]:
    db_session = db.session()
    objective = db_session.scalar(
        select(PlanObjective).where(
            PlanObjective.id == objective_id,
            PlanObjective.beneficiary_id == access.beneficiary.id,
        )
    )
    if objective is None:
        raise NotFound("Cet objectif n'existe pas dans ce plan d'action.")
    axis = db_session.get(PlanAxis, objective.axis_id)
    if axis is None:  # pragma: no cover - a foreign key holds it
        raise NotFound("Cet objectif n'existe pas dans ce plan d'action.")
    return objective, axis


def _action_row(access: RecordAccess, action_id: uuid.UUID) -> PlanAction:
    action = db.session().scalar(
        select(PlanAction).where(
            PlanAction.id == action_id, PlanAction.beneficiary_id == access.beneficiary.id
        )
    )
    if action is None:
        raise NotFound("Cette action n'existe pas dans ce plan d'action.")
    return action


def _theme(access: RecordAccess, axis: PlanAxis) -> ThemeView:
    themes = referential.list_themes(access.beneficiary.departement_id, active_only=False)
    theme = next((t for t in themes if t.id == axis.theme_id), None)
    if theme is None:  # pragma: no cover - a foreign key holds it
        raise NotFound("Le thème de cet objectif n'existe plus.")
    return theme


def _is_writable(access: RecordAccess, axis: PlanAxis) -> bool:
    journey = access.beneficiary.current_journey
    return journey is not None and journey.id == axis.journey_id


def get_objective(
    *, actor: Principal, beneficiary_id: uuid.UUID, objective_id: uuid.UUID
) -> ObjectivePage:
    access = _open(
        actor=actor, beneficiary_id=beneficiary_id, tag=Tag.OBJECTIVE_READ, object_id=objective_id
    )
    objective, axis = _objective_row(access, objective_id)
    actions = list(
        db.session().scalars(
            select(PlanAction)
            .where(PlanAction.objective_id == objective.id)
            .order_by(PlanAction.created_at, PlanAction.id)
        )
    )
    authors = _authors(actor, access.beneficiary, [objective, *actions])
    today = clock.today()
    view = _objective_view(objective, authors, [_action_view(a, authors, today) for a in actions])
    return ObjectivePage(
        access=access,
        person=access.beneficiary,
        objective=view,
        theme=_theme(access, axis),
        is_writable=_is_writable(access, axis),
        default_origin=_default_origin(actor),
    )


def get_action(*, actor: Principal, beneficiary_id: uuid.UUID, action_id: uuid.UUID) -> ActionPage:
    access = _open(
        actor=actor, beneficiary_id=beneficiary_id, tag=Tag.ACTION_READ, object_id=action_id
    )
    action = _action_row(access, action_id)
    objective, axis = _objective_row(access, action.objective_id)
    authors = _authors(actor, access.beneficiary, [objective, action])
    return ActionPage(
        access=access,
        person=access.beneficiary,
        action=_action_view(action, authors, clock.today()),
        objective=_objective_view(objective, authors),
        theme=_theme(access, axis),
        is_writable=_is_writable(access, axis),
    )


# -- writing ----------------------------------------------------------------------------------


def add_objective(*, actor: Principal, beneficiary_id: uuid.UUID, data: NewObjective) -> uuid.UUID:
    """Add an objective under the axis of its theme, opening the axis if needed."""
    new_id = uuid.uuid4()
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.OBJECTIVE_CREATED,
        level=Level.WRITE,
        object_id=new_id,
    )
    person = access.beneficiary
    journey = _open_journey(access)
    theme = referential.get_active_theme(person.departement_id, data.theme_id)
    db_session = db.session()
    axis = db_session.scalar(
        select(PlanAxis).where(PlanAxis.journey_id == journey.id, PlanAxis.theme_id == theme.id)
    )
    if axis is None:
        axis = PlanAxis(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id,
            theme_id=theme.id,
            created_at=clock.now(),
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
        )
        db_session.add(axis)
        # Rows are linked by foreign keys only, not ORM relationships: flush the parent first.
        db_session.flush()
        _timeline(access, journey.id, Event.AXIS_CREATED, axis_id=axis.id, theme_id=theme.id)
    db_session.add(
        PlanObjective(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            axis_id=axis.id,
            label=data.label,
            details=data.details,
            status=ObjectiveStatus.IN_PROGRESS,
            due_on=data.due_on,
            has_person_consent=data.has_person_consent,
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
        )
    )
    _timeline(access, journey.id, Event.OBJECTIVE_CREATED, objective_id=new_id, axis_id=axis.id)
    db_session.flush()
    return new_id


def update_objective(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    objective_id: uuid.UUID,
    change: ObjectiveChange,
) -> None:
    """Save an objective edited from the version `change.version`; a stale one is refused."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.OBJECTIVE_UPDATED,
        level=Level.WRITE,
        object_id=objective_id,
    )
    objective, axis = _objective_row(access, objective_id)
    if change.version != objective.version:
        raise StaleEdit(kind="objective", object_id=objective.id)
    if not _is_writable(access, axis):
        raise Conflict(CLOSED_JOURNEY_MESSAGE)
    objective.label = change.label
    objective.details = change.details
    objective.due_on = change.due_on
    objective.has_person_consent = change.has_person_consent
    objective.status = change.status
    if not db.session().is_modified(objective):
        return
    _flush("objective", objective.id)
    _timeline(access, axis.journey_id, Event.OBJECTIVE_UPDATED, objective_id=objective.id)


def add_action(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    objective_id: uuid.UUID,
    change: ActionChange,
) -> uuid.UUID:
    new_id = uuid.uuid4()
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.ACTION_CREATED,
        level=Level.WRITE,
        object_id=new_id,
    )
    objective, axis = _objective_row(access, objective_id)
    if not _is_writable(access, axis):
        raise Conflict(CLOSED_JOURNEY_MESSAGE)
    person = access.beneficiary
    db.session().add(
        PlanAction(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            objective_id=objective.id,
            label=change.label,
            details=change.details,
            status=change.status,
            due_on=change.due_on,
            origin=change.origin,
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
        )
    )
    _timeline(
        access, axis.journey_id, Event.ACTION_CREATED, action_id=new_id, objective_id=objective.id
    )
    db.session().flush()
    return new_id


def update_action(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    action_id: uuid.UUID,
    change: ActionChange,
) -> None:
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.ACTION_UPDATED,
        level=Level.WRITE,
        object_id=action_id,
    )
    action = _action_row(access, action_id)
    if change.version != action.version:
        raise StaleEdit(kind="action", object_id=action.id)
    _, axis = _objective_row(access, action.objective_id)
    if not _is_writable(access, axis):
        raise Conflict(CLOSED_JOURNEY_MESSAGE)
    action.label = change.label
    action.details = change.details
    action.due_on = change.due_on
    action.origin = change.origin
    action.status = change.status
    if not db.session().is_modified(action):
        return
    _flush("action", action.id)
    _timeline(
        access,
        axis.journey_id,
        Event.ACTION_UPDATED,
        action_id=action.id,
        objective_id=action.objective_id,
    )


# -- demo data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAction:
    """One action of a demo plan, as it stands today: `updated_at` is when its status last
    changed (its creation instant if it never did), by `updated_by_*` (its author if None)."""

    label: str
    status: ActionStatus
    due_on: date | None
    origin: ActionOrigin
    created_at: datetime
    updated_at: datetime
    author_account_id: uuid.UUID
    author_organisation_id: uuid.UUID
    updated_by_account_id: uuid.UUID | None = None
    updated_by_organisation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DemoObjective:
    """One objective of a demo plan, under the axis of its theme (a referential code)."""

    theme_code: str
    label: str
    status: ObjectiveStatus
    due_on: date | None
    has_person_consent: bool
    created_at: datetime
    updated_at: datetime
    author_account_id: uuid.UUID
    author_organisation_id: uuid.UUID
    actions: tuple[DemoAction, ...] = ()
    updated_by_account_id: uuid.UUID | None = None
    updated_by_organisation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DemoPlan:
    """The plan d'action of one demo person's open journey, dated step by step."""

    beneficiary_id: uuid.UUID
    journey_id: uuid.UUID
    objectives: tuple[DemoObjective, ...]


class _DemoTimeline:
    """The timeline events of the demo plans, each at the instant of its step."""

    def __init__(self, departement_id: uuid.UUID) -> None:
        self.departement_id = departement_id
        self.rows: list[TimelineEvent] = []

    def add(
        self,
        plan: DemoPlan,
        kind: Event,
        at: datetime,
        author: tuple[uuid.UUID, uuid.UUID],
        **ids: uuid.UUID,
    ) -> None:
        self.rows.append(
            TimelineEvent(
                id=uuid.uuid4(),
                departement_id=self.departement_id,
                beneficiary_id=plan.beneficiary_id,
                journey_id=plan.journey_id,
                kind=kind,
                occurred_at=at,
                actor_account_id=author[0],
                actor_organisation_id=author[1],
                details={key: str(value) for key, value in ids.items()},
            )
        )


def _updater(
    spec: DemoObjective | DemoAction,
) -> tuple[uuid.UUID, uuid.UUID]:
    return (
        spec.updated_by_account_id or spec.author_account_id,
        spec.updated_by_organisation_id or spec.author_organisation_id,
    )


def seed_demo_plans(*, departement_id: uuid.UUID, plans: Sequence[DemoPlan]) -> int:
    """Write demo plans as their référents built them over the journey: an axis when the
    first objective of its theme was added, each objective and action at its own instant,
    and a status change where `updated_at` is later than `created_at`, each step with its
    timeline event. Themes are the département's referential, by code (an unknown code is
    refused). For the demo loaders only (run unscoped): like the rest of the demo, the
    person's creation is the one access-log row per person. Returns the number of
    objectives written."""
    themes = {theme.code: theme for theme in referential.list_themes(departement_id)}
    axes: list[PlanAxis] = []
    objectives: list[PlanObjective] = []
    actions: list[PlanAction] = []
    timeline = _DemoTimeline(departement_id)
    for plan in plans:
        plan_axes: dict[str, PlanAxis] = {}
        for spec in sorted(plan.objectives, key=lambda o: o.created_at):
            theme = themes.get(spec.theme_code)
            if theme is None:
                raise ValueError(f"no theme {spec.theme_code!r} in the référentiel")
            author = (spec.author_account_id, spec.author_organisation_id)
            axis = plan_axes.get(spec.theme_code)
            if axis is None:
                axis = PlanAxis(
                    id=uuid.uuid4(),
                    departement_id=departement_id,
                    beneficiary_id=plan.beneficiary_id,
                    journey_id=plan.journey_id,
                    theme_id=theme.id,
                    created_at=spec.created_at,
                    author_account_id=author[0],
                    author_organisation_id=author[1],
                )
                plan_axes[spec.theme_code] = axis
                axes.append(axis)
                timeline.add(
                    plan,
                    Event.AXIS_CREATED,
                    spec.created_at,
                    author,
                    axis_id=axis.id,
                    theme_id=theme.id,
                )
            objective = PlanObjective(
                id=uuid.uuid4(),
                departement_id=departement_id,
                beneficiary_id=plan.beneficiary_id,
                axis_id=axis.id,
                label=spec.label,
                status=spec.status,
                due_on=spec.due_on,
                has_person_consent=spec.has_person_consent,
                author_account_id=author[0],
                author_organisation_id=author[1],
                created_at=spec.created_at,
                updated_at=spec.updated_at,
            )
            objectives.append(objective)
            timeline.add(
                plan,
                Event.OBJECTIVE_CREATED,
                spec.created_at,
                author,
                objective_id=objective.id,
                axis_id=axis.id,
            )
            if spec.updated_at > spec.created_at:
                timeline.add(
                    plan,
                    Event.OBJECTIVE_UPDATED,
                    spec.updated_at,
                    _updater(spec),
                    objective_id=objective.id,
                )
            for item in spec.actions:
                action = PlanAction(
                    id=uuid.uuid4(),
                    departement_id=departement_id,
                    beneficiary_id=plan.beneficiary_id,
                    objective_id=objective.id,
                    label=item.label,
                    status=item.status,
                    due_on=item.due_on,
                    origin=item.origin,
                    author_account_id=item.author_account_id,
                    author_organisation_id=item.author_organisation_id,
                    created_at=item.created_at,
                    updated_at=item.updated_at,
                )
                actions.append(action)
                ids = {"action_id": action.id, "objective_id": objective.id}
                timeline.add(
                    plan,
                    Event.ACTION_CREATED,
                    item.created_at,
                    (item.author_account_id, item.author_organisation_id),
                    **ids,
                )
                if item.updated_at > item.created_at:
                    timeline.add(plan, Event.ACTION_UPDATED, item.updated_at, _updater(item), **ids)
    # Linked by foreign keys only: each level is written before the next.
    db_session = db.session()
    for rows in (axes, objectives, actions, timeline.rows):
        db_session.add_all(rows)
        db_session.flush()
    return len(objectives)
