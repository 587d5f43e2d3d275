"""The demo's plans d'action, built step by step along each journey.

Each objective of the story's plan is added at a meeting the person attended with the
référent of the time, its actions at that meeting or the next one. An action's status
follows what happened afterwards: done (or dropped) at a later meeting, under way, or
still planned with a due date ahead; a person whose référent should see overdue actions
has one or two left open past their due date, a person not seen for months has the
open ones « en attente ». An objective is reached only when its actions are closed and
abandoned only when none is under way. `carnet.plan.services.seed_demo_plans` writes the
rows and their timeline events at these instants.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from carnet.demo import stories
from carnet.demo.journal import Attention, Journal, Tier, office, paris_day
from carnet.plan import services as plan_services
from carnet.plan.models import ActionOrigin, ActionStatus, ObjectiveStatus

SEED = 7_019
OPEN = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.ON_HOLD})
CLOSED_ENDINGS = (
    (ActionStatus.DONE, 80),
    (ActionStatus.ABANDONED, 10),
    (ActionStatus.CANCELLED, 10),
)
ORIGINS = (
    (ActionOrigin.REFERENT, 45),
    (ActionOrigin.PERSON, 25),
    (ActionOrigin.PARTNER, 15),
    (ActionOrigin.PRESCRIPTION, 15),
)
Author = tuple[uuid.UUID, uuid.UUID]
T = TypeVar("T")


@dataclass(frozen=True)
class Moment:
    """A meeting where the plan moved: when it ended, and who was the référent."""

    at: datetime
    author: Author

    @property
    def day(self) -> date:
        return paris_day(self.at)


def _weighted(rng: random.Random, pairs: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


class _Builder:
    def __init__(self, rng: random.Random, today: date, attention: Attention) -> None:
        self.rng = rng
        self.today = today
        self.attention = attention

    def action(
        self,
        label: str,
        created: Moment,
        later: list[Moment],
        *,
        overdue: bool,
    ) -> plan_services.DemoAction:
        rng, today = self.rng, self.today
        # Progress is recorded at a meeting at least ten days after the action was agreed.
        after = [m for m in later if m.day >= created.day + timedelta(days=10)]
        status, due_on, changed = ActionStatus.PLANNED, None, None
        if overdue:
            status = ActionStatus.IN_PROGRESS if after else ActionStatus.PLANNED
            changed = after[0] if after else None
            earliest = max(created.day + timedelta(days=3), today - timedelta(days=40))
            due_on = earliest + timedelta(days=rng.randint(0, max(0, (today - earliest).days - 2)))
        elif after and (rng.random() < 0.8 or len(after) > 1):
            changed = after[0] if rng.random() < 0.6 else after[min(1, len(after) - 1)]
            status = _weighted(rng, CLOSED_ENDINGS)
            due_on = max(
                created.day + timedelta(days=7), changed.day - timedelta(days=rng.randint(0, 10))
            )
        elif self.attention is Attention.QUIET:
            status = ActionStatus.ON_HOLD  # waiting for news of the person
        else:
            if after:
                status, changed = ActionStatus.IN_PROGRESS, after[0]
            due_on = max(
                created.day + timedelta(days=rng.randint(14, 45)),
                today + timedelta(days=rng.randint(5, 40)),
            )
        moment = changed or created
        return plan_services.DemoAction(
            label=label,
            status=status,
            due_on=due_on,
            origin=_weighted(rng, ORIGINS),
            created_at=created.at,
            updated_at=max(moment.at, created.at),
            author_account_id=created.author[0],
            author_organisation_id=created.author[1],
            updated_by_account_id=moment.author[0],
            updated_by_organisation_id=moment.author[1],
        )

    def objective(
        self,
        step: stories.PlanStep,
        created: Moment,
        later: list[Moment],
        *,
        actions: int,
        overdue: int,
        may_drop: bool,
        main: bool,
    ) -> plan_services.DemoObjective:
        rng, today = self.rng, self.today
        items = []
        for index, label in enumerate(step.actions[:actions]):
            # The first two are agreed at once, a third at the next meeting.
            at = created if index < 2 or not later else later[0]
            at = Moment(at.at + timedelta(minutes=2 + 3 * index), at.author)
            items.append(self.action(label, at, later, overdue=index < overdue))
        if main and not {item.status for item in items} & OPEN:
            # The main difficulty is not behind the person yet: its last step is still open.
            items[-1] = self._reopen(items[-1])
        statuses = {item.status for item in items}
        status, changed = ObjectiveStatus.IN_PROGRESS, None
        closed = not statuses & OPEN
        old = created.day <= today - timedelta(days=45)
        if (
            may_drop
            and later
            and old
            and rng.random() < 0.15
            and ActionStatus.IN_PROGRESS not in statuses
        ):
            # Given up: what was not done is dropped at the next meeting.
            changed = later[-1]
            status = ObjectiveStatus.ABANDONED
            items = [self._drop(item, changed) if item.status in OPEN else item for item in items]
        elif closed and ActionStatus.DONE in statuses and old and rng.random() < 0.8:
            status = ObjectiveStatus.ACHIEVED
        elif closed and ActionStatus.DONE not in statuses:
            status = ObjectiveStatus.ABANDONED
        if status is not ObjectiveStatus.IN_PROGRESS and changed is None:
            last = max(items, key=lambda item: item.updated_at)
            changed = Moment(
                last.updated_at + timedelta(minutes=1),
                (
                    last.updated_by_account_id or last.author_account_id,
                    last.updated_by_organisation_id or last.author_organisation_id,
                ),
            )
        if status is ObjectiveStatus.ACHIEVED and changed is not None:
            due_on: date | None = changed.day + timedelta(days=rng.randint(0, 30))
        elif status is ObjectiveStatus.ABANDONED:
            due_on = created.day + timedelta(days=rng.randint(90, 180))
        else:
            due_on = max(
                created.day + timedelta(days=rng.randint(120, 240)),
                today + timedelta(days=rng.randint(20, 150)),
            )
        moment = changed or created
        return plan_services.DemoObjective(
            theme_code=step.theme,
            label=step.objective,
            status=status,
            due_on=due_on,
            has_person_consent=rng.random() < 0.85,
            created_at=created.at,
            updated_at=max(moment.at, created.at),
            author_account_id=created.author[0],
            author_organisation_id=created.author[1],
            actions=tuple(items),
            updated_by_account_id=moment.author[0],
            updated_by_organisation_id=moment.author[1],
        )

    def _reopen(self, item: plan_services.DemoAction) -> plan_services.DemoAction:
        quiet = self.attention is Attention.QUIET
        started = item.updated_at > item.created_at
        return plan_services.DemoAction(
            label=item.label,
            status=ActionStatus.ON_HOLD
            if quiet
            else (ActionStatus.IN_PROGRESS if started else ActionStatus.PLANNED),
            due_on=None if quiet else self.today + timedelta(days=self.rng.randint(5, 40)),
            origin=item.origin,
            created_at=item.created_at,
            updated_at=item.updated_at,
            author_account_id=item.author_account_id,
            author_organisation_id=item.author_organisation_id,
            updated_by_account_id=item.updated_by_account_id,
            updated_by_organisation_id=item.updated_by_organisation_id,
        )

    def _drop(self, item: plan_services.DemoAction, at: Moment) -> plan_services.DemoAction:
        status = ActionStatus.ABANDONED if self.rng.random() < 0.6 else ActionStatus.CANCELLED
        return plan_services.DemoAction(
            label=item.label,
            status=status,
            due_on=item.due_on,
            origin=item.origin,
            created_at=item.created_at,
            updated_at=max(at.at, item.created_at),
            author_account_id=item.author_account_id,
            author_organisation_id=item.author_organisation_id,
            updated_by_account_id=at.author[0],
            updated_by_organisation_id=at.author[1],
        )

    def plan(
        self,
        steps: Sequence[stories.PlanStep],
        moments: list[Moment],
        *,
        full: bool,
    ) -> list[plan_services.DemoObjective]:
        if not moments:
            return []
        chosen = steps if full else steps[:1]
        # One objective per meeting, from the first one on, a few minutes apart.
        created = [
            Moment(at.at + timedelta(minutes=5 + 10 * index), at.author)
            for index, at in enumerate(
                moments[min(i, len(moments) - 1)] for i in range(len(chosen))
            )
        ]
        # The overdue actions: in the last objective agreed ten days ago at least.
        target = max(
            (i for i, c in enumerate(created) if c.day <= self.today - timedelta(days=10)),
            default=None,
        )
        overdue = self.rng.randint(1, 2) if self.attention.overdue else 0
        objectives = []
        for index, step in enumerate(chosen):
            later = [m for m in moments if m.at > created[index].at]
            objectives.append(
                self.objective(
                    step,
                    created[index],
                    later,
                    actions=len(step.actions) if full else min(2, len(step.actions)),
                    overdue=overdue if index == target else 0,
                    may_drop=index > 0 and index != target,
                    main=index == 0,
                )
            )
        return objectives


def write(departement_id: uuid.UUID, journals: Sequence[Journal], *, today: date) -> int:
    """Plans for every journal with a meeting held with a référent; returns the number of
    objectives written."""
    rng = random.Random(SEED)
    plans = []
    for journal in journals:
        moments = [
            Moment(v.ends + timedelta(minutes=rng.randint(0, 10)), v.holder.author)
            for v in journal.held_by_referents()
        ]
        builder = _Builder(rng, today, journal.attention)
        objectives = builder.plan(journal.story.plan, moments, full=journal.tier is Tier.FULL)
        if objectives:
            plans.append(
                plan_services.DemoPlan(
                    beneficiary_id=journal.beneficiary.id,
                    journey_id=journal.journey.id,
                    objectives=tuple(objectives),
                )
            )
    return plan_services.seed_demo_plans(departement_id=departement_id, plans=plans)


def sketch(
    people: Sequence[tuple[uuid.UUID, uuid.UUID, datetime]],
    author: Author,
    rng: random.Random,
    *,
    now: datetime,
) -> list[plan_services.DemoPlan]:
    """Plans for the bulk seeder's portfolio ((person, journey, référent since) each): a
    story drawn at random, a meeting every five weeks or so since the référent arrived
    (the first one the day he or she did, for someone taken on these last days)."""
    today = paris_day(now)
    plans = []
    for beneficiary_id, journey_id, since in people:
        story = rng.choice(stories.STORIES)
        moments: list[Moment] = []
        day = paris_day(since) + timedelta(days=3)
        while day < today - timedelta(days=3) and len(moments) < 6:
            moments.append(Moment(office(day, rng) + timedelta(minutes=45), author))
            day += timedelta(days=rng.randint(28, 45))
        moments = [m for m in moments if m.at < now] or [
            Moment(min(since + timedelta(minutes=30), now), author)
        ]
        attention = rng.choice((Attention.STEADY, Attention.OVERDUE))
        objectives = _Builder(rng, today, attention).plan(story.plan, moments, full=True)
        plans.append(plan_services.DemoPlan(beneficiary_id, journey_id, tuple(objectives)))
    return plans
