"""What needs a professional now, as SQL: one definition per alert, used by the portfolio
(correlated to each membership) and by the record's synthesis (for one person).

Each builder takes the person's (and journey's) id as a column or a bound value and reads
the instants of the page from named parameters: `now`, `today` and, for notes,
`viewer_id` (another's private note is neither shown nor counted, so it dates nothing).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Exists, ScalarSelect, bindparam, exists, func, or_, select
from sqlalchemy.orm import QueryableAttribute, aliased

from carnet.contracts.models import Contract, ContractStatus
from carnet.meetings.models import Appointment, Attendance, Note, NoteVisibility
from carnet.plan import services as plan
from carnet.plan.models import PlanAction, PlanAxis, PlanObjective
from carnet.records.models import GroupMembership

# No contact for this long (an attended appointment or a note): « sans nouvelles ».
QUIET_DAYS = 90
# A contract in force ending within this many days: « contrat arrivant à échéance ».
CONTRACT_ENDING_DAYS = 30

# A membership's column in the portfolio, a bound id in the synthesis.
IdExpression = ColumnElement[Any] | QueryableAttribute[Any]


def next_appointment_at(beneficiary_id: IdExpression) -> ScalarSelect[Any]:
    upcoming = aliased(Appointment, name="upcoming")
    return (
        select(func.min(upcoming.starts_at))
        .where(
            upcoming.beneficiary_id == beneficiary_id,
            upcoming.is_cancelled.is_(False),
            upcoming.starts_at >= bindparam("now"),
        )
        .scalar_subquery()
    )


def last_seen_at(beneficiary_id: IdExpression) -> ScalarSelect[Any]:
    """The last appointment the person attended."""
    held = aliased(Appointment, name="held")
    return (
        select(func.max(held.starts_at))
        .where(
            held.beneficiary_id == beneficiary_id,
            held.is_cancelled.is_(False),
            held.attendance == Attendance.PRESENT,
            held.starts_at <= bindparam("now"),
        )
        .scalar_subquery()
    )


def last_note_at(beneficiary_id: IdExpression, journey_id: IdExpression) -> ScalarSelect[Any]:
    """The last note by anyone who is or was in this journey's group, as the viewer may
    know of it."""
    note = aliased(Note, name="note")
    author = aliased(GroupMembership, name="author")
    authors = select(author.account_id).where(author.journey_id == journey_id)
    return (
        select(func.max(note.created_at))
        .where(
            note.beneficiary_id == beneficiary_id,
            or_(
                note.visibility != NoteVisibility.PRIVATE,
                note.author_account_id == bindparam("viewer_id"),
            ),
            note.author_account_id.in_(authors),
        )
        .scalar_subquery()
    )


def overdue_actions(beneficiary_id: IdExpression, journey_id: IdExpression) -> ScalarSelect[Any]:
    """Actions of this journey's plan past their due date and still open, as the plan page
    marks them (`plan.OPEN_ACTION_STATUSES`)."""
    action = aliased(PlanAction, name="action")
    objective = aliased(PlanObjective, name="objective")
    axis = aliased(PlanAxis, name="axis")
    return (
        select(func.count(action.id))
        .join(objective, objective.id == action.objective_id)
        .join(axis, axis.id == objective.axis_id)
        .where(
            action.beneficiary_id == beneficiary_id,
            axis.journey_id == journey_id,
            action.due_on < bindparam("today"),
            action.status.in_(sorted(plan.OPEN_ACTION_STATUSES)),
        )
        .scalar_subquery()
    )


def met_since(beneficiary_id: IdExpression, since: IdExpression) -> Exists:
    """An appointment held or planned since `since` (a cancelled one does not count): what
    ends « nouvelle orientation sans premier rendez-vous »."""
    met = aliased(Appointment, name="met")
    return exists().where(
        met.beneficiary_id == beneficiary_id,
        met.is_cancelled.is_(False),
        or_(met.starts_at >= since, met.created_at >= since),
    )


def contract_ends_on(beneficiary_id: IdExpression, journey_id: IdExpression) -> ScalarSelect[Any]:
    """The first last day, between today and `contracts_until` (today +
    CONTRACT_ENDING_DAYS) both included, of this journey's contracts in force (NULL when
    none): « contrat arrivant à échéance », time to prepare what comes next with the
    person."""
    contract = aliased(Contract, name="ending_contract")
    return (
        select(func.min(contract.ends_on))
        .where(
            contract.beneficiary_id == beneficiary_id,
            contract.journey_id == journey_id,
            contract.status == ContractStatus.IN_FORCE,
            contract.ends_on >= bindparam("today"),
            contract.ends_on <= bindparam("contracts_until"),
        )
        .scalar_subquery()
    )
