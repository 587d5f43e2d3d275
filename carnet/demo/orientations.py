"""The demo's orientations, exits and reorientation requests, read from the groups.

Every référent the loader placed came through an orientation: each run of référents of
one structure on a journey is one orientation period, decided by the chargée
d'orientation the day the first of them started; a change of structure starts the next
period, the end of a journey closes the last. The type follows the accompaniment the
person lives and the structure. A closed journey gets its exit detail (the kind of job
for an exit to employment, whether it is a « sortie positive ») and, after a job, the
retention checks at 6 and 12 months, answered when their date has passed. A few people
followed by the showcase référents have a reorientation request: pending, or answered
by keeping the accompaniment.

Orientations decided before the platform existed carry no proposal: the page says so.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.orientation.models import (
    POSITIVE_EMPLOYMENT,
    EmploymentKind,
    JobFollowUp,
    JourneyExit,
    Orientation,
    OrientationType,
    ReorientationRequest,
    RequestStatus,
)
from carnet.records.models import GroupMembership, Journey, JourneyExitReason, TimelineEvent
from carnet.security.permissions import GroupRole, OrganisationKind
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:  # the loader imports this module
    from carnet.demo.loader import Case
    from carnet.records.models import Beneficiary

SEED = 8_423
FOLLOW_UP_MONTHS = (6, 12)
STILL_EMPLOYED_SHARE = 0.75
DECIDED = "orientation:period:decided"
REQUESTED = "orientation:request:created"
KEPT = "orientation:request:kept"
CHECKED = "orientation:follow_up:recorded"

EMPLOYMENT_KINDS: tuple[tuple[EmploymentKind, int], ...] = (
    (EmploymentKind.CDI, 30),
    (EmploymentKind.CDD_LONG, 25),
    (EmploymentKind.CDD_SHORT, 20),
    (EmploymentKind.TEMPORARY, 15),
    (EmploymentKind.BUSINESS_CREATION, 10),
)

MOTIVES: dict[OrientationType, tuple[str, ...]] = {
    OrientationType.SOCIAL: (
        "Logement à stabiliser et démarches administratives à reprendre avant une "
        "recherche d'emploi.",
        "Situation familiale à organiser (garde des enfants) ; accompagnement social global.",
        "Santé et ressources à sécuriser d'abord, avec l'accord de la personne.",
    ),
    OrientationType.SOCIO_PROFESSIONAL: (
        "Projet professionnel à construire, freins de mobilité et de garde à lever en parallèle.",
        "Reprise d'activité progressive : chantier d'insertion envisagé.",
        "Besoin d'un accompagnement renforcé vers la formation et l'emploi.",
    ),
    OrientationType.PROFESSIONAL: (
        "Projet professionnel défini, disponible pour une recherche d'emploi.",
        "Expérience récente dans le métier recherché ; accompagnement par France Travail.",
        "Reconnaissance de la qualité de travailleur handicapé : accompagnement Cap emploi.",
    ),
}

REQUEST_MOTIVES: dict[OrientationType, str] = {
    OrientationType.SOCIO_PROFESSIONAL: (
        "Le logement est stabilisé et la personne souhaite reprendre une formation : un "
        "accompagnement socioprofessionnel lui conviendrait mieux."
    ),
    OrientationType.SOCIAL: (
        "Des difficultés de santé et de logement sont apparues ; la recherche d'emploi est "
        "suspendue le temps de les traiter."
    ),
}
KEPT_REASON = (
    "Le projet de formation démarre dans deux mois : l'accompagnement actuel est maintenu "
    "jusque-là, nous en reparlerons au prochain bilan."
)


@dataclass(frozen=True)
class Officer:
    """The chargée d'orientation who decides, and her organisation."""

    account_id: uuid.UUID
    organisation_id: uuid.UUID


def orientation_type(situation: str, kind: OrganisationKind) -> OrientationType:
    """The type of an orientation towards a structure of `kind` for this accompaniment."""
    if kind in (OrganisationKind.FRANCE_TRAVAIL, OrganisationKind.CAP_EMPLOI):
        return OrientationType.PROFESSIONAL
    if situation in ("socio_professionnelle", "jeune") or kind in (
        OrganisationKind.PLIE,
        OrganisationKind.MISSION_LOCALE,
    ):
        return OrientationType.SOCIO_PROFESSIONAL
    return OrientationType.SOCIAL


def write(
    db: Session,
    people: Sequence[tuple[Beneficiary, Case]],
    organisations: dict[str, Organisation],
    officer: Officer,
    *,
    today: date,
) -> int:
    """Write the orientations, exits and requests of `people`; returns the periods written."""
    return _Builder(db, people, organisations, officer, today).build()


class _Builder:
    def __init__(
        self,
        db: Session,
        people: Sequence[tuple[Beneficiary, Case]],
        organisations: dict[str, Organisation],
        officer: Officer,
        today: date,
    ) -> None:
        self.db = db
        self.people = people
        self.kinds = {o.id: o.kind for o in organisations.values()}
        self.officer = officer
        self.today = today
        self.rng = random.Random(SEED)
        # Written in two flushes: the rows the others point to, then the others.
        self.parents: list[Orientation | JourneyExit] = []
        self.rows: list[Any] = []
        self.periods = 0

    def build(self) -> int:
        ids = [person.id for person, _ in self.people]
        journeys: dict[uuid.UUID, list[Journey]] = {}
        for journey in self.db.scalars(
            select(Journey).where(Journey.beneficiary_id.in_(ids)).order_by(Journey.opened_on)
        ):
            journeys.setdefault(journey.beneficiary_id, []).append(journey)
        referents: dict[uuid.UUID, list[GroupMembership]] = {}
        for membership in self.db.scalars(
            select(GroupMembership)
            .where(
                GroupMembership.beneficiary_id.in_(ids),
                GroupMembership.role == GroupRole.REFERENT,
            )
            .order_by(GroupMembership.started_at)
        ):
            referents.setdefault(membership.journey_id, []).append(membership)
        for person, case in self.people:
            own = journeys.get(person.id, [])
            for index, journey in enumerate(own):
                current = self._periods(person, case, journey, referents.get(journey.id, []))
                if journey.closed_on is not None and journey.exit_reason is not None:
                    back_on = own[index + 1].opened_on if index + 1 < len(own) else None
                    self._exit(
                        person, case, journey, journey.closed_on, journey.exit_reason, back_on
                    )
                elif current is not None:
                    self._request(person, case, journey, current)
        self.db.add_all(self.parents)
        self.db.flush()
        self.db.add_all(self.rows)
        self.db.flush()
        return self.periods

    # -- orientation periods ------------------------------------------------------------
    def _periods(
        self,
        person: Beneficiary,
        case: Case,
        journey: Journey,
        memberships: list[GroupMembership],
    ) -> Orientation | None:
        """One period per run of référents of one structure; the open one, if any."""
        runs: list[list[GroupMembership]] = []
        for membership in memberships:
            if runs and runs[-1][-1].organisation_id == membership.organisation_id:
                runs[-1].append(membership)
            else:
                runs.append([membership])
        current = None
        for index, run in enumerate(runs):
            first, last = run[0], run[-1]
            starts_on = first.started_at.date()
            if index + 1 < len(runs):
                ends_on: date | None = runs[index + 1][0].started_at.date()
            elif journey.closed_on is not None:
                ends_on = journey.closed_on
            else:
                ends_on = None if last.ended_at is None else last.ended_at.date()
            organisation_kind = self.kinds[first.organisation_id]
            kind = orientation_type(case.situation.key, organisation_kind)
            orientation = Orientation(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id,
                type=kind,
                organisation_id=first.organisation_id,
                referent_account_id=first.account_id,
                motive=_motive(self.rng, kind, organisation_kind),
                starts_on=starts_on,
                ends_on=max(ends_on, starts_on) if ends_on is not None else None,
                decided_at=first.started_at,
                decided_by_account_id=self.officer.account_id,
                decided_by_organisation_id=self.officer.organisation_id,
            )
            self.parents.append(orientation)
            self._event(
                person,
                journey,
                DECIDED,
                first.started_at,
                {
                    "orientation_id": orientation.id,
                    "type": kind.value,
                    "organisation_id": first.organisation_id,
                },
            )
            self.periods += 1
            if orientation.ends_on is None:
                current = orientation
        return current

    # -- exits ----------------------------------------------------------------------------
    def _exit(
        self,
        person: Beneficiary,
        case: Case,
        journey: Journey,
        closed_on: date,
        reason: JourneyExitReason,
        back_on: date | None,
    ) -> None:
        """The exit's detail; after a job, the checks, answered « no longer employed »
        once the person came back to the RSA (`back_on`)."""
        kind = None
        if reason is JourneyExitReason.EMPLOYMENT:
            # Samia's job was a short contract: she came back to the RSA.
            kind = (
                EmploymentKind.CDD_SHORT
                if case.showcase is not None
                else self.rng.choices(*zip(*EMPLOYMENT_KINDS, strict=True))[0]
            )
        exit_row = JourneyExit(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id,
            reason=reason,
            employment_kind=kind,
            is_positive=kind in POSITIVE_EMPLOYMENT,
            exited_on=closed_on,
            recorded_at=_noon(closed_on),
            recorded_by_account_id=self.officer.account_id,
            recorded_by_organisation_id=self.officer.organisation_id,
        )
        self.parents.append(exit_row)
        if kind is None:
            return
        for months in FOLLOW_UP_MONTHS:
            due_on = clock.add_months(closed_on, months)
            checked = due_on + timedelta(days=self.rng.randint(1, 12))
            answered = checked < self.today
            came_back = back_on is not None and back_on <= due_on
            still = answered and not came_back and self.rng.random() < STILL_EMPLOYED_SHARE
            self.rows.append(
                JobFollowUp(
                    id=uuid.uuid4(),
                    departement_id=person.departement_id,
                    beneficiary_id=person.id,
                    exit_id=exit_row.id,
                    months=months,
                    due_on=due_on,
                    checked_on=checked if answered else None,
                    still_employed=still if answered else None,
                    checked_by_account_id=self.officer.account_id if answered else None,
                )
            )
            if answered:
                self._event(
                    person,
                    journey,
                    CHECKED,
                    _noon(checked),
                    {"exit_id": exit_row.id, "months": months, "still_employed": still},
                )

    # -- reorientation requests ----------------------------------------------------------
    def _request(
        self, person: Beneficiary, case: Case, journey: Journey, current: Orientation
    ) -> None:
        """Some long accompaniments of the showcase référents' people have a request."""
        if case.tier is None or case.tier.value != "full" or case.showcase is not None:
            return
        if (self.today - current.starts_on).days < 240 or self.rng.random() > 0.12:
            return
        proposed = (
            OrientationType.SOCIAL
            if current.type is OrientationType.PROFESSIONAL
            else OrientationType.SOCIO_PROFESSIONAL
        )
        if proposed is current.type:
            return
        if current.referent_account_id is None:
            return
        asked = _noon(self.today - timedelta(days=self.rng.randint(3, 40)))
        kept = self.rng.random() < 0.3
        decided_at = asked + timedelta(days=4)
        request = ReorientationRequest(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id,
            orientation_id=current.id,
            requested_by_account_id=current.referent_account_id,
            requested_by_organisation_id=current.organisation_id,
            requested_at=asked,
            motive=REQUEST_MOTIVES[proposed],
            proposed_type=proposed,
            needs_team_review=current.type is OrientationType.PROFESSIONAL
            and proposed is OrientationType.SOCIAL,
            status=RequestStatus.KEPT if kept else RequestStatus.PENDING,
            decided_at=decided_at if kept else None,
            decided_by_account_id=self.officer.account_id if kept else None,
            decided_by_organisation_id=self.officer.organisation_id if kept else None,
            decision_reason=KEPT_REASON if kept else None,
        )
        self.rows.append(request)
        details = {"request_id": request.id, "proposed_type": proposed.value}
        self._event(person, journey, REQUESTED, asked, details)
        if kept:
            self._event(person, journey, KEPT, decided_at, details)

    def _event(
        self,
        person: Beneficiary,
        journey: Journey,
        kind: str,
        at: datetime,
        details: dict[str, Any],
    ) -> None:
        self.rows.append(
            TimelineEvent(
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id,
                kind=kind,
                occurred_at=at,
                actor_account_id=self.officer.account_id,
                actor_organisation_id=self.officer.organisation_id,
                details={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in details.items()},
            )
        )


def _motive(rng: random.Random, kind: OrientationType, organisation: OrganisationKind) -> str:
    """A motive that fits the structure: the RQTH one only for Cap emploi."""
    if organisation is OrganisationKind.CAP_EMPLOI:
        return MOTIVES[kind][-1]
    if kind is OrientationType.PROFESSIONAL:
        return rng.choice(MOTIVES[kind][:-1])
    return rng.choice(MOTIVES[kind])


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(11, 0), tzinfo=UTC)
