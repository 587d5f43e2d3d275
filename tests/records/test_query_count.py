"""The record page runs a fixed number of SQL statements whatever the record's size (no N+1).

Two people of the same département, followed by the same référent and the same mission
locale member: one with a small record (one of everything), one with a large record (many
group members, past journeys, plan objectives and actions, appointments, notes, consents,
freins and timeline events). Both pages are read the same way; every statement the request sends
to the database is counted (session, principal, policy, audit rows, sections, commit).
A record with nothing at all in a list may skip that list's lookups; one of everything
against many of everything is the comparison that finds a query per row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from carnet import clock, db
from carnet.meetings import services as meetings_services
from carnet.meetings.models import (
    Appointment,
    AppointmentChannel,
    AppointmentKind,
    Attendance,
    Note,
    NoteVisibility,
)
from carnet.plan.models import (
    ActionOrigin,
    ActionStatus,
    ObjectiveStatus,
    PlanAction,
    PlanAxis,
    PlanObjective,
)
from carnet.records.models import (
    Beneficiary,
    Consent,
    ConsentScope,
    GroupMembership,
    Journey,
    JourneyExitReason,
    TimelineEvent,
)
from carnet.referential import services as referential_services
from carnet.referential.models import Theme
from carnet.security import crypto
from carnet.security.permissions import GroupRole, OrganisationKind
from carnet.situation.models import Barrier, BarrierStatus, Declarant
from carnet.tenancy.models import Organisation
from tests.factories import (
    AccountFactory,
    BeneficiaryFactory,
    JourneyFactory,
    MembershipFactory,
    OrganisationFactory,
)
from tests.records.world import World, build_world, text

EVENT_KINDS = (
    "records:group:member_added",
    "plan:objective:created",
    "plan:action:created",
    "meetings:appointment:created",
    "meetings:attendance:recorded",
    "meetings:note:added",
    "records:contact:updated",
    "plan:action:updated",
)


@dataclass(frozen=True)
class Size:
    members: int  # besides the référent and the mission locale member
    past_journeys: int
    axes: int
    objectives_per_axis: int
    actions_per_objective: int
    appointments: int
    notes: int
    consents: int
    barriers: int
    events: int


SMALL = Size(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
LARGE = Size(24, 3, 6, 3, 4, 30, 30, 3, 20, 150)


@contextmanager
def statements_of(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine's connections send while the block runs."""
    seen: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


class _RecordBuilder:
    """A person's record of the given size, as the services would have left it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.session = db.session()
        self.departement_id = world.departement_id
        referential_services.seed_referential(world.departement_id)
        self.themes = list(
            self.session.scalars(
                select(Theme.id)
                .where(Theme.departement_id == world.departement_id)
                .order_by(Theme.position)
            )
        )
        extra = OrganisationFactory(
            departement_id=world.departement_id,
            name="PLIE du Limousin",
            kind=OrganisationKind.PLIE,
        )
        self.organisations: list[Organisation] = [
            world.departement_org,
            world.france_travail,
            world.csapa,  # sensible: its members are masked to the others
            extra,
        ]
        self.professionals = 0

    def _professional(self, organisation: Organisation) -> uuid.UUID:
        self.professionals += 1
        account = AccountFactory(given_name="Membre", family_name=f"Groupe{self.professionals}")
        MembershipFactory(account_id=account.id, organisation=organisation)
        return account.id

    def build(self, size: Size, family_name: str) -> Beneficiary:
        person = BeneficiaryFactory(
            departement_id=self.departement_id,
            given_name="Inès",
            family_name=family_name,
            phone="06 12 34 56 78",
            email=f"{family_name.lower()}@exemple.fr",
        )
        now = clock.now()
        for number in range(size.past_journeys):
            opened = dt.date(2019 + number, 3, 1)
            past = JourneyFactory(
                beneficiary=person,
                opened_on=opened,
                closed_on=opened + dt.timedelta(days=200),
                exit_reason=JourneyExitReason.EMPLOYMENT,
            )
            self._membership(
                past,
                self.world.referent.id,
                self.world.departement_org.id,
                GroupRole.REFERENT,
                ended=True,
            )
        journey = JourneyFactory(beneficiary=person, opened_on=dt.date(2026, 1, 5))
        self._membership(
            journey, self.world.referent.id, self.world.departement_org.id, GroupRole.REFERENT
        )
        self._membership(
            journey, self.world.ml_member.id, self.world.mission_locale.id, GroupRole.MEMBER
        )
        authors = [(self.world.referent.id, self.world.departement_org.id)]
        for number in range(size.members):
            organisation = self.organisations[number % len(self.organisations)]
            account_id = self._professional(organisation)
            # One member in three has left the group: the history lists them.
            self._membership(
                journey, account_id, organisation.id, GroupRole.MEMBER, ended=number % 3 == 2
            )
            authors.append((account_id, organisation.id))
        self.session.flush()
        self._plan(person, journey, size, authors)
        appointments = self._appointments(person, journey, size, authors, now)
        self._notes(person, size, authors, appointments, now)
        for number in range(size.consents):
            organisation = self.organisations[(number + 2) % len(self.organisations)]
            self.session.add(
                Consent(
                    departement_id=self.departement_id,
                    beneficiary_id=person.id,
                    scope=ConsentScope.HEALTH,
                    organisation_id=organisation.id,
                    recorded_by_id=self.world.referent.id,
                )
            )
        self._barriers(person, journey, size, authors)
        for number in range(size.events):
            actor_account, actor_organisation = authors[number % len(authors)]
            self.session.add(
                TimelineEvent(
                    departement_id=self.departement_id,
                    beneficiary_id=person.id,
                    journey_id=journey.id,
                    kind=EVENT_KINDS[number % len(EVENT_KINDS)],
                    occurred_at=now - dt.timedelta(hours=number + 1),
                    actor_account_id=actor_account,
                    actor_organisation_id=actor_organisation,
                    details={"number": str(number)},
                )
            )
        self.session.flush()
        return person

    def _membership(
        self,
        journey: Journey,
        account_id: uuid.UUID,
        organisation_id: uuid.UUID,
        role: GroupRole,
        *,
        ended: bool = False,
    ) -> None:
        started = dt.datetime.combine(journey.opened_on, dt.time(9), tzinfo=dt.UTC)
        self.session.add(
            GroupMembership(
                departement_id=self.departement_id,
                journey_id=journey.id,
                beneficiary_id=journey.beneficiary_id,
                account_id=account_id,
                organisation_id=organisation_id,
                role=role,
                started_at=started,
                start_reason="Invitation du référent",
                ended_at=started + dt.timedelta(days=30) if ended else None,
                end_reason="Accompagnement terminé" if ended else None,
                added_by_id=self.world.officer.id,
            )
        )

    def _plan(
        self,
        person: Beneficiary,
        journey: Journey,
        size: Size,
        authors: list[tuple[uuid.UUID, uuid.UUID]],
    ) -> None:
        assert len(self.themes) >= size.axes
        objective_statuses = list(ObjectiveStatus)
        action_statuses = list(ActionStatus)
        origins = list(ActionOrigin)
        rows: list[list[Any]] = [[], [], []]
        for a in range(size.axes):
            author_account, author_organisation = authors[a % len(authors)]
            author = {
                "author_account_id": author_account,
                "author_organisation_id": author_organisation,
            }
            axis = PlanAxis(
                id=uuid.uuid4(),
                departement_id=self.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id,
                theme_id=self.themes[a],
                **author,
            )
            rows[0].append(axis)
            for o in range(size.objectives_per_axis):
                objective = PlanObjective(
                    id=uuid.uuid4(),
                    departement_id=self.departement_id,
                    beneficiary_id=person.id,
                    axis_id=axis.id,
                    label=f"Objectif {a}.{o}",
                    status=objective_statuses[o % len(objective_statuses)],
                    due_on=dt.date(2026, 6, 1) + dt.timedelta(days=o),
                    **author,
                )
                rows[1].append(objective)
                for n in range(size.actions_per_objective):
                    rows[2].append(
                        PlanAction(
                            id=uuid.uuid4(),
                            departement_id=self.departement_id,
                            beneficiary_id=person.id,
                            objective_id=objective.id,
                            label=f"Action {a}.{o}.{n}",
                            status=action_statuses[n % len(action_statuses)],
                            due_on=dt.date(2026, 3, 1) + dt.timedelta(days=n),
                            origin=origins[n % len(origins)],
                            **author,
                        )
                    )
        for level in rows:  # linked by foreign keys: each level before the next
            self.session.add_all(level)
            self.session.flush()

    def _appointments(
        self,
        person: Beneficiary,
        journey: Journey,
        size: Size,
        authors: list[tuple[uuid.UUID, uuid.UUID]],
        now: dt.datetime,
    ) -> list[Appointment]:
        rows = []
        for number in range(size.appointments):
            account_id, organisation_id = authors[number % len(authors)]
            # Past ones (attendance recorded), upcoming ones, and one in five cancelled.
            starts_at = now + dt.timedelta(days=number - size.appointments // 2, hours=1)
            past = starts_at < now
            cancelled = number % 5 == 4
            appointment = Appointment(
                departement_id=self.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id,
                kind=list(AppointmentKind)[number % len(AppointmentKind)],
                starts_at=starts_at,
                channel=AppointmentChannel.IN_PERSON,
                place="Maison du département",
                organisation_id=organisation_id,
                professional_account_id=account_id,
                topics="Point sur les démarches",
                created_by_id=account_id,
                attendance=Attendance.PRESENT if past and not cancelled else None,
                attendance_recorded_at=starts_at if past and not cancelled else None,
                attendance_recorded_by_id=account_id if past and not cancelled else None,
                is_cancelled=cancelled,
                cancellation_reason="Empêchement de la personne" if cancelled else None,
                cancelled_at=now if cancelled else None,
            )
            rows.append(appointment)
        self.session.add_all(rows)
        self.session.flush()
        return rows

    def _barriers(
        self,
        person: Beneficiary,
        journey: Journey,
        size: Size,
        authors: list[tuple[uuid.UUID, uuid.UUID]],
    ) -> None:
        """Freins périphériques: identified, being lifted, lifted (the synthesis lists the
        open ones)."""
        statuses = list(BarrierStatus)
        for number in range(size.barriers):
            account_id, organisation_id = authors[number % len(authors)]
            status = statuses[number % len(statuses)]
            identified = dt.date(2026, 1, 10) + dt.timedelta(days=number)
            self.session.add(
                Barrier(
                    departement_id=self.departement_id,
                    beneficiary_id=person.id,
                    journey_id=journey.id,
                    theme_id=self.themes[number % len(self.themes)],
                    label=f"Frein {number}",
                    status=status,
                    identified_on=identified,
                    in_progress_on=identified + dt.timedelta(days=5)
                    if status is BarrierStatus.IN_PROGRESS
                    else None,
                    lifted_on=identified + dt.timedelta(days=20)
                    if status is BarrierStatus.LIFTED
                    else None,
                    declared_by=Declarant.PROFESSIONAL,
                    author_account_id=account_id,
                    author_organisation_id=organisation_id,
                )
            )
        self.session.flush()

    def _notes(
        self,
        person: Beneficiary,
        size: Size,
        authors: list[tuple[uuid.UUID, uuid.UUID]],
        appointments: list[Appointment],
        now: dt.datetime,
    ) -> None:
        visibilities = list(NoteVisibility)
        for number in range(size.notes):
            account_id, organisation_id = authors[number % len(authors)]
            note_id = uuid.uuid4()
            self.session.add(
                Note(
                    id=note_id,
                    departement_id=self.departement_id,
                    beneficiary_id=person.id,
                    appointment_id=appointments[number % len(appointments)].id
                    if number % 2 == 0
                    else None,
                    author_account_id=account_id,
                    author_organisation_id=organisation_id,
                    visibility=visibilities[number % len(visibilities)],
                    body_sealed=crypto.current().seal(
                        self.session,
                        beneficiary_id=person.id,
                        departement_id=self.departement_id,
                        table=meetings_services.NOTE_TABLE,
                        column=meetings_services.NOTE_COLUMN,
                        row_id=note_id,
                        plaintext=f"Note {number} : démarches du mois.",
                    ),
                    created_at=now - dt.timedelta(days=number),
                )
            )
        self.session.flush()


@pytest.fixture
def records(db_session: Any) -> tuple[World, Beneficiary, Beneficiary]:
    world = build_world()
    builder = _RecordBuilder(world)
    return world, builder.build(SMALL, "Petitdossier"), builder.build(LARGE, "Grosdossier")


@pytest.mark.parametrize("who", ["referent", "ml_member"])
def test_record_page_runs_the_same_queries_for_a_small_and_a_large_record(
    client: Any, connection: Any, login_as: Any, records: Any, who: str
) -> None:
    world, small, large = records
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    # The first page after the login may differ (session row, caches): not measured.
    assert client.get(f"/personnes/{small.id}").status_code == 200

    counted: dict[str, list[str]] = {}
    bodies: dict[str, str] = {}
    for name, person in (("small", small), ("large", large)):
        with statements_of(connection.engine) as statements:
            response = client.get(f"/personnes/{person.id}")
        assert response.status_code == 200, name
        counted[name] = list(statements)
        bodies[name] = text(response)

    # The large page does show more (so the comparison means something)...
    assert "Membre Groupe" in bodies["large"]
    assert len(bodies["large"]) > len(bodies["small"])
    # ...with exactly as many statements.
    extra = Counter(counted["large"]) - Counter(counted["small"])
    assert len(counted["large"]) == len(counted["small"]), (
        f"{len(counted['small'])} statements for the small record, "
        f"{len(counted['large'])} for the large one; repeated in the large one:\n"
        + "\n---\n".join(f"{n}x {s}" for s, n in extra.items())
    )
