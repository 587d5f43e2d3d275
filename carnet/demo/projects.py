"""Demo professional projects: the jobs the demo people aim at, in plausible combinations
of contract, working time and mobility, written as their référent (or, for people who
use the site, they themselves) would have declared them."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from carnet import db
from carnet.projects import services as projects_services
from carnet.projects.models import ContractSought, ProjectStatus, WorkingTime
from carnet.records.models import Beneficiary, Journey
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:  # the loader imports this module
    from carnet.demo.loader import Case

C = ContractSought
T = WorkingTime
S = ProjectStatus

OTHERS = 120  # people with a référent who get projects, besides the showcase people


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


def seed(
    departement_id: uuid.UUID,
    people: Sequence[tuple[Beneficiary, Case]],
    organisations: Mapping[str, Organisation],
    rng: random.Random,
) -> int:
    """One to three projects for the showcase people and OTHERS followed people with an open
    journey. Returns the number of projects written."""
    followed = [
        (person, case)
        for person, case in people
        if case.referent is not None and case.referent_org is not None and case.shape != "closed"
    ]
    chosen = [pair for pair in followed if pair[1].showcase]
    others = [pair for pair in followed if not pair[1].showcase]
    chosen += rng.sample(others, k=min(len(others), OTHERS))
    journeys = {
        journey.beneficiary_id: journey.id
        for journey in db.session().scalars(
            select(Journey).where(
                Journey.beneficiary_id.in_([person.id for person, _ in chosen]),
                Journey.closed_on.is_(None),
            )
        )
    }
    projects: list[projects_services.DemoProject] = []
    for person, case in chosen:
        if case.referent is None or case.referent_org is None:  # pragma: no cover - filtered
            continue
        suited = [a for a in AIMS if "*" in a.situations or case.situation.key in a.situations]
        count = rng.choices((1, 2, 3), (70, 25, 5))[0]
        for aim in rng.sample(suited, k=min(count, len(suited))):
            radius = rng.choice(aim.radius_km)
            projects.append(
                projects_services.DemoProject(
                    beneficiary_id=person.id,
                    journey_id=journeys.get(person.id),
                    rome_code=aim.rome_code,
                    free_label=aim.free_label,
                    contract=rng.choice(aim.contracts),
                    working_time=aim.working_time,
                    mobility_radius_km=radius if rng.random() < 0.85 else None,
                    means=_means(rng, radius),
                    status=_weighted(rng, _STATUSES),
                    declared_by_person=person.account_id is not None and rng.random() < 0.35,
                    person_account_id=person.account_id,
                    author_account_id=case.referent.account.id,
                    author_organisation_id=organisations[case.referent_org].id,
                )
            )
    return projects_services.seed_demo_projects(
        departement_id=departement_id, projects=projects, rng=rng
    )
