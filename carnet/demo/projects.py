"""Demo professional projects: the jobs the demo people aim at, in plausible combinations
of contract, working time and mobility, written as their référent (or, for people who
use the site, they themselves) would have declared them.

Every person with a record (`carnet.demo.journal`) has one or two, chosen among the jobs
that fit his or her story, written at a meeting (or one evening from the person's
space); about a third of the other people followed by a référent have one too.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from carnet import db
from carnet.demo.journal import Journal, Tier, local, office, paris_day
from carnet.projects import services as projects_services
from carnet.projects.models import ContractSought, ProfessionalProject, ProjectStatus, WorkingTime
from carnet.records.models import Beneficiary, GroupMembership, Journey, TimelineEvent
from carnet.security.permissions import GroupRole
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:  # the loader imports this module
    from carnet.demo.loader import Case

C = ContractSought
T = WorkingTime
S = ProjectStatus

SEED = 9_241
OTHER_SHARE = 0.35  # of the people followed without a record of their own


@dataclass(frozen=True)
class Aim:
    """A job someone aims at, and how he or she would look for it."""

    rome_code: str | None
    free_label: str | None
    contracts: tuple[ContractSought, ...]
    working_time: WorkingTime
    radius_km: tuple[int, ...]  # plausible distances; one is drawn
    situations: tuple[str, ...]  # the demo accompaniments this aim suits ("*" for all)


AIMS: tuple[Aim, ...] = (
    Aim("K2204", None, (C.CDI, C.CDD, C.IAE), T.PART_TIME, (5, 10, 15), ("*",)),
    Aim("K1302", None, (C.CDI, C.CDD), T.ANY, (10, 20, 30), ("sociale", "socio_professionnelle")),
    Aim("K1304", None, (C.CDI, C.CDD), T.PART_TIME, (5, 10), ("sociale",)),
    Aim("K1303", None, (C.CDI, C.BUSINESS_CREATION), T.FULL_TIME, (0, 5), ("sociale",)),
    Aim("J1501", None, (C.CDI, C.APPRENTICESHIP), T.FULL_TIME, (20, 30), ("professionnelle",)),
    Aim("J1301", None, (C.CDD, C.CDI), T.FULL_TIME, (15, 25), ("professionnelle", "handicap")),
    Aim("J1304", None, (C.APPRENTICESHIP,), T.FULL_TIME, (20, 40), ("jeune",)),
    Aim("N1103", None, (C.TEMPORARY, C.CDI), T.FULL_TIME, (20, 30, 40), ("*",)),
    Aim("N1101", None, (C.TEMPORARY, C.CDI), T.FULL_TIME, (25, 40), ("professionnelle",)),
    Aim("N4105", None, (C.CDI, C.TEMPORARY), T.FULL_TIME, (30, 50), ("professionnelle",)),
    Aim("N4101", None, (C.CDI,), T.FULL_TIME, (50, 100), ("professionnelle",)),
    Aim("N4103", None, (C.CDI,), T.ANY, (20, 30), ("professionnelle", "socio_professionnelle")),
    Aim("N1105", None, (C.TEMPORARY, C.IAE), T.FULL_TIME, (10, 20), ("socio_professionnelle",)),
    Aim("F1703", None, (C.APPRENTICESHIP, C.CDD, C.TEMPORARY), T.FULL_TIME, (20, 40), ("*",)),
    Aim("F1606", None, (C.CDI, C.IAE), T.FULL_TIME, (15, 30), ("socio_professionnelle",)),
    Aim("F1602", None, (C.APPRENTICESHIP,), T.FULL_TIME, (30, 50), ("jeune",)),
    Aim("F1704", None, (C.TEMPORARY, C.IAE), T.FULL_TIME, (20, 30), ("socio_professionnelle",)),
    Aim("G1602", None, (C.CDI, C.CDD), T.FULL_TIME, (10, 20), ("*",)),
    Aim("G1605", None, (C.CDD, C.TEMPORARY), T.PART_TIME, (5, 10), ("sociale", "jeune")),
    Aim("G1803", None, (C.CDD, C.APPRENTICESHIP), T.ANY, (10, 15), ("jeune",)),
    Aim("G1501", None, (C.CDD,), T.PART_TIME, (10, 20), ("sociale",)),
    Aim("D1507", None, (C.CDD, C.CDI), T.PART_TIME, (5, 15), ("*",)),
    Aim("D1505", None, (C.CDI, C.CDD), T.PART_TIME, (5, 10), ("sociale", "handicap")),
    Aim("D1106", None, (C.APPRENTICESHIP, C.CDD), T.FULL_TIME, (10, 20), ("jeune",)),
    Aim("D1102", None, (C.APPRENTICESHIP,), T.FULL_TIME, (15, 25), ("jeune",)),
    Aim("A1203", None, (C.IAE, C.CDD), T.FULL_TIME, (10, 20), ("socio_professionnelle",)),
    Aim("A1414", None, (C.IAE, C.BUSINESS_CREATION), T.ANY, (15, 30), ("socio_professionnelle",)),
    Aim("A1401", None, (C.CDD,), T.FULL_TIME, (20, 40), ("professionnelle",)),
    Aim("K2503", None, (C.CDI, C.CDD), T.FULL_TIME, (20, 40), ("professionnelle",)),
    Aim("H3302", None, (C.TEMPORARY, C.CDD), T.FULL_TIME, (20, 30), ("professionnelle",)),
    Aim("H2913", None, (C.CDI, C.TEMPORARY), T.FULL_TIME, (30, 50), ("professionnelle",)),
    Aim("I1604", None, (C.APPRENTICESHIP, C.CDI), T.FULL_TIME, (15, 30), ("jeune",)),
    Aim("M1607", None, (C.CDI, C.CDD), T.ANY, (10, 20), ("handicap", "professionnelle")),
    Aim("M1601", None, (C.CDD,), T.PART_TIME, (5, 15), ("handicap",)),
    Aim("M1606", None, (C.CDI,), T.PART_TIME, (0, 10), ("handicap",)),
    Aim("D1202", None, (C.BUSINESS_CREATION,), T.FULL_TIME, (0, 10), ("professionnelle",)),
    Aim(
        None,
        "Ouvrir un camion de cuisine créole sur les marchés",
        (C.BUSINESS_CREATION,),
        T.FULL_TIME,
        (30, 50),
        ("professionnelle", "socio_professionnelle"),
    ),
    Aim(
        None,
        "Réparer des vélos dans un atelier solidaire",
        (C.IAE, C.CDD),
        T.PART_TIME,
        (5, 10),
        ("sociale", "socio_professionnelle"),
    ),
    Aim(
        None,
        "Médiatrice ou médiateur numérique dans une maison France services",
        (C.CDD, C.CDI),
        T.ANY,
        (10, 20),
        ("socio_professionnelle",),
    ),
    Aim(
        None,
        "Reprendre le travail du cuir appris au pays (maroquinerie)",
        (C.ANY,),
        T.ANY,
        (20, 40),
        ("sociale", "professionnelle"),
    ),
    Aim(
        None,
        "Animer des ateliers de couture dans un centre social",
        (C.ANY, C.CDD),
        T.PART_TIME,
        (5, 10),
        ("sociale",),
    ),
    Aim(
        None,
        "Travailler avec les chevaux (centre équestre, écurie)",
        (C.APPRENTICESHIP, C.CDD),
        T.FULL_TIME,
        (20, 40),
        ("jeune",),
    ),
)

_STATUSES = ((S.CONSIDERING, 40), (S.VALIDATED, 40), (S.ACHIEVED, 8), (S.ABANDONED, 12))


def _weighted(rng: random.Random, pairs: Sequence[tuple[ProjectStatus, int]]) -> ProjectStatus:
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


def _means(rng: random.Random, radius: int) -> frozenset[str]:
    """A third of the people have no driving licence; a car comes with the licence."""
    held: set[str] = set()
    if rng.random() < 0.65:
        held.add("permis_b")
        if rng.random() < 0.6:
            held.add("vehicule")
    if rng.random() < 0.2:
        held.add("deux_roues")
    if radius <= 30 and rng.random() < 0.55:
        held.add("transports_en_commun")
    return frozenset(held)


def _key(aim: Aim) -> str:
    return aim.rome_code or aim.free_label or ""


def _aims(rng: random.Random, situation: str, preferred: Sequence[str], count: int) -> list[Aim]:
    suited = [a for a in AIMS if "*" in a.situations or situation in a.situations]
    liked = [a for a in AIMS if _key(a) in preferred]
    chosen = rng.sample(liked, k=min(count, len(liked)))
    rest = [a for a in suited if a not in chosen]
    return chosen + rng.sample(rest, k=min(count - len(chosen), len(rest)))


class _Projects:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.specs: list[projects_services.DemoProject] = []
        self.moments: dict[tuple[uuid.UUID, str], datetime] = {}

    def add(
        self,
        person: Beneficiary,
        journey_id: uuid.UUID,
        aim: Aim,
        author: tuple[uuid.UUID, uuid.UUID],
        at: datetime,
    ) -> None:
        rng = self.rng
        radius = rng.choice(aim.radius_km)
        by_person = person.account_id is not None and rng.random() < 0.35
        if by_person:
            # From the person's space (opened these last weeks), one evening.
            day = self.now.date() - timedelta(days=rng.randint(1, 45))
            at = min(local(day, time(19, rng.randint(0, 59))), self.now)
        self.moments[person.id, _key(aim)] = at
        self.specs.append(
            projects_services.DemoProject(
                beneficiary_id=person.id,
                journey_id=journey_id,
                rome_code=aim.rome_code,
                free_label=aim.free_label,
                contract=rng.choice(aim.contracts),
                working_time=aim.working_time,
                mobility_radius_km=radius if rng.random() < 0.85 else None,
                means=_means(rng, radius),
                status=_weighted(rng, _STATUSES),
                declared_by_person=by_person,
                person_account_id=person.account_id,
                author_account_id=author[0],
                author_organisation_id=author[1],
            )
        )


def seed(
    departement_id: uuid.UUID,
    people: Sequence[tuple[Beneficiary, Case]],
    organisations: Mapping[str, Organisation],
    journals: Sequence[Journal],
    *,
    now: datetime,
) -> int:
    """Projects for every person with a record and some others with an open journey and a
    référent. Returns the number of projects written."""
    rng = random.Random(SEED)
    projects = _Projects(rng, now)
    for journal in journals:
        held = journal.held_by_referents()
        if not held:
            continue
        count = rng.choices((1, 2), (60, 40))[0] if journal.tier is Tier.FULL else 1
        aims = _aims(rng, journal.case.situation.key, journal.story.aims, count)
        for aim in aims:
            visit = rng.choice(held)
            at = visit.ends + timedelta(minutes=rng.randint(15, 25))
            projects.add(journal.beneficiary, journal.journey.id, aim, visit.holder.author, at)
    recorded = {journal.beneficiary.id for journal in journals}
    others = [
        (person, case)
        for person, case in people
        if person.id not in recorded
        and case.referent is not None
        and case.referent_org is not None
        and case.shape in ("open", "reopened")
    ]
    others = rng.sample(others, k=round(len(others) * OTHER_SHARE))
    since = _referents_since([person.id for person, _ in others])
    for person, case in others:
        if case.referent is None or case.referent_org is None:  # pragma: no cover - filtered
            continue
        started = since.get(person.id)
        if started is None:
            continue
        journey_id, start = started
        first = paris_day(start) + timedelta(days=3)
        last = now.date() - timedelta(days=1)
        day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
        at = min(office(day, rng), now)
        author = (case.referent.account.id, organisations[case.referent_org].id)
        for aim in _aims(rng, case.situation.key, (), 1):
            projects.add(person, journey_id, aim, author, at)
    written = projects_services.seed_demo_projects(
        departement_id=departement_id, projects=projects.specs, rng=rng
    )
    _redate(projects.moments)
    return written


def _referents_since(people: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
    """(open journey, since when today's référent follows it) of each person."""
    rows = db.session().execute(
        select(GroupMembership.beneficiary_id, Journey.id, GroupMembership.started_at)
        .join(Journey, Journey.id == GroupMembership.journey_id)
        .where(
            GroupMembership.beneficiary_id.in_(people),
            GroupMembership.role == GroupRole.REFERENT,
            GroupMembership.ended_at.is_(None),
            Journey.closed_on.is_(None),
        )
    )
    return {person_id: (journey_id, started) for person_id, journey_id, started in rows}


def _redate(moments: dict[tuple[uuid.UUID, str], datetime]) -> None:
    """Give each project, and its timeline event, the moment it was written (the projects
    service dates demo projects at random)."""
    session = db.session()
    people = {person_id for person_id, _ in moments}
    when: dict[str, datetime] = {}
    for row in session.scalars(
        select(ProfessionalProject).where(ProfessionalProject.beneficiary_id.in_(people))
    ):
        at = moments.get((row.beneficiary_id, row.rome_code or row.job_label))
        if at is not None:
            row.created_at = row.updated_at = at
            when[str(row.id)] = at
    for event in session.scalars(
        select(TimelineEvent).where(
            TimelineEvent.beneficiary_id.in_(people),
            TimelineEvent.kind == projects_services.Event.PROJECT_CREATED,
        )
    ):
        at = when.get(str(event.details.get("project_id")))
        if at is not None:
            event.occurred_at = at
    session.flush()
