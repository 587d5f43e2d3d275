"""The demo's records read as real journeys: every person followed by a showcase
professional has every section filled, each step dated in order by someone who was in the
group that day, and the portfolios show varied alerts."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from faker.providers.person.fr_FR import Provider as FrenchNames
from freezegun import freeze_time
from sqlalchemy import select

from carnet.auth.models import Account
from carnet.demo import journal, stories
from carnet.demo.loader import load_demo
from carnet.demo.referential import OTHER_PROFESSIONALS, SHOWCASE_PROFESSIONALS
from carnet.documents.models import Document
from carnet.meetings.models import Appointment, AppointmentKind, Attendance, Note, NoteVisibility
from carnet.notifications.models import Notification
from carnet.plan.models import ActionStatus, ObjectiveStatus, PlanAction, PlanAxis, PlanObjective
from carnet.plan.services import OPEN_ACTION_STATUSES
from carnet.projects.models import ProfessionalProject
from carnet.records.models import Beneficiary, GroupMembership, Journey, TimelineEvent
from carnet.referential.seed_data import THEMES
from carnet.security import scoping
from carnet.security.permissions import OrganisationKind, PrincipalRole
from carnet.security.principal import Principal
from carnet.situation.models import Barrier, BarrierStatus, Declarant, Diagnostic
from carnet.tenancy.models import Membership, Organisation
from carnet.workspace import services as workspace

PARIS = ZoneInfo("Europe/Paris")
# A Wednesday, noon in France: « cette semaine » still has working days ahead.
WEDNESDAY = dt.datetime(2026, 11, 25, 12, 0, tzinfo=PARIS)
SATURDAY = dt.datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)


def _account(db_session: Any, key: str) -> Account:
    spec = next(p for p in SHOWCASE_PROFESSIONALS if p.key == key)
    return db_session.scalars(
        select(Account).where(
            Account.given_name == spec.given_name, Account.family_name == spec.family_name
        )
    ).one()


def _followed(db_session: Any, account: Account) -> set[Any]:
    """The people in whose open journey's group the professional is today."""
    return set(
        db_session.scalars(
            select(GroupMembership.beneficiary_id)
            .join(Journey, Journey.id == GroupMembership.journey_id)
            .where(
                GroupMembership.account_id == account.id,
                GroupMembership.ended_at.is_(None),
                Journey.closed_on.is_(None),
            )
        )
    )


def _people_of(db_session: Any, model: Any) -> set[Any]:
    return set(db_session.scalars(select(model.beneficiary_id)))


@pytest.fixture
def wednesday_demo(db_session: Any) -> Any:
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)):
        yield load_demo(db_session)


def test_every_person_of_a_showcase_professional_has_a_full_record(
    db_session: Any, wednesday_demo: Any
) -> None:
    sections = {
        "diagnostic": _people_of(db_session, Diagnostic),
        "freins": _people_of(db_session, Barrier),
        "projets": _people_of(db_session, ProfessionalProject),
        "plan": _people_of(db_session, PlanObjective),
        "rendez-vous": _people_of(db_session, Appointment),
        "notes": _people_of(db_session, Note),
        "documents": _people_of(db_session, Document),
    }
    for key in journal.FOLLOWERS:
        people = _followed(db_session, _account(db_session, key))
        assert len(people) >= 3, key
        for section, filled in sections.items():
            missing = people - filled
            assert not missing, f"{key}: {len(missing)} people without {section}"
    # Notes of the three visibilities, past appointments of each attendance.
    assert {n.visibility for n in db_session.scalars(select(Note))} == set(NoteVisibility)
    past = db_session.scalars(select(Appointment).where(Appointment.attendance.is_not(None)))
    assert {a.attendance for a in past} == set(Attendance)
    # About a third of the others have a lighter record.
    diagnosed = sections["diagnostic"]
    full = set().union(*(_followed(db_session, _account(db_session, k)) for k in journal.FOLLOWERS))
    assert 25 <= len(diagnosed - full) <= 80
    # Each showcase professional has notifications, one at least still to read.
    unread = Counter(
        db_session.scalars(
            select(Notification.recipient_account_id).where(Notification.read_at.is_(None))
        )
    )
    for key in journal.FOLLOWERS:
        assert unread[_account(db_session, key).id] >= 1, key


def test_claire_s_portfolio_shows_varied_alerts(db_session: Any, wednesday_demo: Any) -> None:
    claire = _account(db_session, "claire")
    membership = db_session.scalars(
        select(Membership).where(
            Membership.account_id == claire.id, Membership.role == PrincipalRole.PROFESSIONAL
        )
    ).one()
    organisation = db_session.get(Organisation, membership.organisation_id)
    actor = Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=claire.id,
        departement_id=organisation.departement_id,
        organisation_id=organisation.id,
        organisation_kind=OrganisationKind(organisation.kind),
        membership_id=membership.id,
    )
    with freeze_time(WEDNESDAY.astimezone(dt.UTC)), scoping.scoped_to(organisation.departement_id):
        portfolio = workspace.get_portfolio(actor=actor)
    summary = portfolio.summary
    assert summary.appointments_this_week >= 1
    assert summary.with_overdue_actions >= 1
    assert summary.awaiting_first_appointment >= 1
    assert summary.to_handle < summary.people  # not everyone needs something
    quiet = [p for p in portfolio.people if (p.days_since_contact or 0) > 90]
    assert quiet
    seen_lately = [p for p in portfolio.people if (p.days_since_contact or 999) <= 60]
    assert len(seen_lately) >= summary.people // 2


def test_demo_journeys_are_dated_in_order(db_session: Any, wednesday_demo: Any) -> None:
    now = WEDNESDAY.astimezone(dt.UTC)
    groups: dict[Any, list[GroupMembership]] = defaultdict(list)
    for membership in db_session.scalars(select(GroupMembership)):
        groups[membership.journey_id].append(membership)

    def in_group(journey_id: Any, account_id: Any, at: dt.datetime) -> bool:
        return any(
            m.account_id == account_id
            and m.started_at <= at
            and (m.ended_at is None or at <= m.ended_at)
            for m in groups[journey_id]
        )

    # Appointments: weekdays, office hours, planned before they start, by a member of the
    # group; a tripartite one has a second professional in the group that day.
    for appointment in db_session.scalars(select(Appointment)):
        local = appointment.starts_at.astimezone(PARIS)
        assert local.weekday() < 5, appointment.starts_at
        assert (local.day, local.month) not in journal.HOLIDAYS, appointment.starts_at
        assert dt.time(9) <= local.time() <= dt.time(17), appointment.starts_at
        assert appointment.created_at < appointment.starts_at
        assert appointment.created_at <= now
        at = appointment.starts_at
        assert in_group(appointment.journey_id, appointment.professional_account_id, at)
        if appointment.kind is AppointmentKind.TRIPARTITE:
            others = [
                m
                for m in groups[appointment.journey_id]
                if m.account_id != appointment.professional_account_id
                and m.started_at <= at
                and (m.ended_at is None or at <= m.ended_at)
            ]
            assert others, appointment.topics
        if appointment.starts_at > now:
            assert appointment.attendance is None
        else:
            assert appointment.attendance is not None

    # Nobody holds two appointments at once; people join groups on working days.
    slots = Counter(
        (a.professional_account_id, a.starts_at) for a in db_session.scalars(select(Appointment))
    )
    assert max(slots.values()) == 1
    for membership in db_session.scalars(select(GroupMembership)):
        day = membership.started_at.astimezone(PARIS)
        assert day.weekday() < 5, membership.started_at

    # Diagnostics: by someone in the group that day (or the person); numbered in order;
    # the latest one's digital autonomy is the contact section's.
    journeys = {j.id: j for j in db_session.scalars(select(Journey))}
    versions: dict[Any, list[Diagnostic]] = defaultdict(list)
    for diagnostic in db_session.scalars(select(Diagnostic)):
        versions[diagnostic.beneficiary_id].append(diagnostic)
        if diagnostic.declared_by is Declarant.PROFESSIONAL:
            assert in_group(
                diagnostic.journey_id, diagnostic.author_account_id, diagnostic.recorded_at
            )
        assert journeys[diagnostic.journey_id].opened_on <= diagnostic.recorded_at.date()
    summaries = Counter()
    for beneficiary_id, rows in versions.items():
        rows.sort(key=lambda d: d.number)
        assert [d.recorded_at for d in rows] == sorted(d.recorded_at for d in rows)
        person = db_session.get(Beneficiary, beneficiary_id)
        assert rows[-1].digital_autonomy == person.digital_autonomy
        summaries.update(d.summary for d in rows)
    assert max(summaries.values()) == 1, summaries.most_common(1)

    # Freins move forward in time, each by someone of the group.
    for barrier in db_session.scalars(select(Barrier)):
        assert (barrier.lifted_on is not None) is (barrier.status is BarrierStatus.LIFTED)
        assert in_group(barrier.journey_id, barrier.author_account_id, barrier.created_at)
    assert {b.status for b in db_session.scalars(select(Barrier))} == set(BarrierStatus)

    # The plan: built over time, never « atteint » with an open action nor « abandonné »
    # with one under way; each row by someone of the group.
    axes = {a.id: a for a in db_session.scalars(select(PlanAxis))}
    objectives = {o.id: o for o in db_session.scalars(select(PlanObjective))}
    actions: dict[Any, list[PlanAction]] = defaultdict(list)
    for action in db_session.scalars(select(PlanAction)):
        actions[action.objective_id].append(action)
    assert {o.status for o in objectives.values()} == set(ObjectiveStatus)
    for objective in objectives.values():
        axis = axes[objective.axis_id]
        assert in_group(axis.journey_id, objective.author_account_id, objective.created_at)
        assert axis.created_at <= objective.created_at <= objective.updated_at <= now
        statuses = {a.status for a in actions[objective.id]}
        if objective.status is ObjectiveStatus.ACHIEVED:
            assert not statuses & OPEN_ACTION_STATUSES, statuses
        if objective.status is ObjectiveStatus.ABANDONED:
            assert ActionStatus.IN_PROGRESS not in statuses, statuses
        for action in actions[objective.id]:
            assert objective.created_at <= action.created_at <= action.updated_at <= now
            assert in_group(axis.journey_id, action.author_account_id, action.created_at)
    per_person: dict[Any, set[dt.date]] = defaultdict(set)
    for objective in objectives.values():
        per_person[objective.beneficiary_id].add(objective.created_at.date())
    assert sum(1 for days in per_person.values() if len(days) > 1) > len(per_person) // 2
    # Timeline events of the plan are not stamped at the load moment.
    plan_events = db_session.scalars(
        select(TimelineEvent.occurred_at).where(TimelineEvent.kind.like("plan:%"))
    ).all()
    assert len({e.date() for e in plan_events}) > 100
    assert max(plan_events) <= now

    # Documents and notes: after the journey opened, by then.
    for document in db_session.scalars(select(Document)):
        assert document.uploaded_at <= now
    for note in db_session.scalars(select(Note)):
        assert note.created_at <= now


def test_no_appointment_falls_on_a_weekend_when_loaded_on_a_saturday(db_session: Any) -> None:
    with freeze_time(SATURDAY.astimezone(dt.UTC)):
        load_demo(db_session)
    starts = db_session.scalars(select(Appointment.starts_at)).all()
    assert starts
    assert all(s.astimezone(PARIS).weekday() < 5 for s in starts)
    upcoming = [s for s in starts if s > SATURDAY]
    assert upcoming


def test_job_titles_agree_with_first_names(db_session: Any) -> None:
    load_demo(db_session)
    female = set(FrenchNames.first_names_female)
    male = set(FrenchNames.first_names_male)
    titles = {title for roles in OTHER_PROFESSIONALS for _, _, title in roles}
    rows = db_session.execute(
        select(Account.given_name, Membership.job_title).join(
            Membership, Membership.account_id == Account.id
        )
    ).all()
    checked = 0
    for given_name, title in rows:
        if title not in titles:
            continue
        word = title.split()[0]
        if word in ("Responsable", "Secrétaire", "Membre"):
            continue
        if word.endswith(("e", "rice", "euse")):
            assert given_name in female, (given_name, title)
        else:
            assert given_name in male, (given_name, title)
        checked += 1
    assert checked >= 25


def test_stories_use_the_referential_s_own_labels() -> None:
    labels = {
        kind: {(t.code, label) for t in THEMES for label in getattr(t, kind)}
        for kind in ("situations", "objectives", "actions")
    }
    for story in stories.STORIES:
        for pair in story.diagnostic:
            assert pair in labels["situations"], (story.key, pair)
        for step in story.plan:
            assert (step.theme, step.objective) in labels["objectives"], (story.key, step)
            for action in step.actions:
                assert (step.theme, action) in labels["actions"], (story.key, action)
        assert len(story.first_summaries) >= 2
        assert len(story.later_summaries) >= 2
        assert story.group_notes
        assert story.shared_notes
        assert story.private_notes
