"""Professional projects: the only readers and writers of this section of a record.

Each entry point opens the record through `carnet.records.gate` (scope, policy on the
`projects` section, audit row in the caller's transaction) before it reads or writes
anything, and never commits. Input that can be checked without the record (a ROME code
that is not in the list) is refused before the record is opened, so a refused save leaves
no audit row claiming a write. Writes add a timeline event holding ids and codes only.

Projects carry a version: a save whose version is not the row's current one raises
`StaleEdit` and changes nothing; SQLAlchemy's version counter refuses a save that races
another between the check and the flush the same way.

The jobs come from a subset of the ROME v3 nomenclature shipped as `rome.csv`: official
codes and labels, grouped by the nomenclature's domains (its first letter), with a few
usual job titles per code so that the filter finds « cariste » or « aide-soignante ».
"""

from __future__ import annotations

import csv
import functools
import random
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from carnet import clock, db
from carnet.errors import Conflict, InvalidInput, NotFound
from carnet.projects.models import (
    ContractSought,
    DeclaredBy,
    ProfessionalProject,
    ProjectStatus,
    WorkingTime,
)
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, TimelineEvent
from carnet.security.permissions import Level, Section
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy

ROME_FILE = Path(__file__).with_name("rome.csv")
PROJECTS_LIMIT = 50
FILTER_MAX = 60

# The domains of the ROME v3 nomenclature, by the first letter of a code.
ROME_DOMAINS: dict[str, str] = {
    "A": "Agriculture et pêche, espaces naturels et espaces verts, soins aux animaux",
    "B": "Arts et façonnage d'ouvrages d'art",
    "C": "Banque, assurance, immobilier",
    "D": "Commerce, vente et grande distribution",
    "E": "Communication, média et multimédia",
    "F": "Construction, bâtiment et travaux publics",
    "G": "Hôtellerie-restauration, tourisme, loisirs et animation",
    "H": "Industrie",
    "I": "Installation et maintenance",
    "J": "Santé",
    "K": "Services à la personne et à la collectivité",
    "L": "Spectacle",
    "M": "Support à l'entreprise",
    "N": "Transport et logistique",
}

STALE_MESSAGE = (
    "Quelqu'un d'autre a modifié ce projet pendant que vous le modifiiez : votre "
    "modification n'a pas été enregistrée. La version actuelle est affichée ci-dessous ; "
    "votre saisie est conservée dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
UNKNOWN_JOB_MESSAGE = (
    "Ce métier n'est pas dans la liste : choisissez-en un dans la liste, ou écrivez-le dans "
    "le champ « Autre métier »."
)


class Tag(StrEnum):
    """Audit tags of the projects domain (`domain:subject:action`)."""

    PROJECT_CREATED = "projects:project:created"
    PROJECT_READ = "projects:project:read"
    PROJECT_UPDATED = "projects:project:updated"
    PROJECTS_READ = "projects:projects:read"


class Event(StrEnum):
    """Timeline kinds written by this module."""

    PROJECT_CREATED = "projects:project:created"
    PROJECT_UPDATED = "projects:project:updated"


class StaleEdit(Conflict):
    """The project changed since the form was loaded; nothing was saved."""

    def __init__(self, *, project_id: uuid.UUID) -> None:
        super().__init__(STALE_MESSAGE, code="stale")
        self.project_id = project_id


# -- the ROME list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RomeJob:
    code: str
    label: str  # the official label of the nomenclature
    keywords: tuple[str, ...] = ()  # usual job titles, for the filter only (« cariste »)

    @property
    def domain(self) -> str:
        return self.code[0]


@dataclass(frozen=True)
class RomeDomain:
    letter: str
    label: str
    jobs: tuple[RomeJob, ...]


@functools.cache
def rome_jobs() -> dict[str, RomeJob]:
    """The shipped ROME subset, by code, in the file's order (domain, then code)."""
    with ROME_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    jobs = {
        row["code"]: RomeJob(
            code=row["code"],
            label=row["label"],
            keywords=tuple(word for word in (row.get("keywords") or "").split("|") if word),
        )
        for row in rows
    }
    if len(jobs) != len(rows) or any(job.domain not in ROME_DOMAINS for job in jobs.values()):
        raise ValueError(f"{ROME_FILE.name}: duplicate code or unknown domain")
    return jobs


def _folded(text: str) -> str:
    """Lower case without accents, so « electricite » finds « Électricité bâtiment »."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def rome_domains(job_filter: str | None = None) -> list[RomeDomain]:
    """The jobs grouped by domain; with a filter, only the jobs whose code, label or usual
    titles hold every word of it (accents and case ignored), and only the domains left
    with a job."""
    words = _folded(job_filter or "").split()
    grouped: dict[str, list[RomeJob]] = {}
    for job in rome_jobs().values():
        haystack = _folded(" ".join((job.code, job.label, *job.keywords)))
        if all(word in haystack for word in words):
            grouped.setdefault(job.domain, []).append(job)
    return [
        RomeDomain(letter, ROME_DOMAINS[letter], tuple(jobs))
        for letter, jobs in sorted(grouped.items())
    ]


# -- what the pages receive ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectDetails:
    """What the form says about a project (built by the input schemas)."""

    rome_code: str | None
    free_label: str | None
    contract: ContractSought
    working_time: WorkingTime
    mobility_radius_km: int | None
    has_driving_licence: bool
    has_vehicle: bool
    has_two_wheeler: bool
    uses_public_transport: bool
    status: ProjectStatus
    version: int | None = None  # the version the edit form was built from


@dataclass(frozen=True)
class ProjectView:
    id: uuid.UUID
    rome_code: str | None
    job_label: str
    domain_label: str | None
    contract: ContractSought
    working_time: WorkingTime
    mobility_radius_km: int | None
    has_driving_licence: bool
    has_vehicle: bool
    has_two_wheeler: bool
    uses_public_transport: bool
    status: ProjectStatus
    declared_by: DeclaredBy
    author_label: str
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def has_mobility_means(self) -> bool:
        return (
            self.has_driving_licence
            or self.has_vehicle
            or self.has_two_wheeler
            or self.uses_public_transport
        )


@dataclass(frozen=True)
class ProjectsPage:
    access: RecordAccess
    person: Beneficiary
    projects: list[ProjectView]
    domains: list[RomeDomain]  # the job picker's choices (filtered when a filter is given)
    job_filter: str

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.PROJECTS, Level.WRITE)


@dataclass(frozen=True)
class ProjectPage:
    access: RecordAccess
    person: Beneficiary
    project: ProjectView
    domains: list[RomeDomain]
    job_filter: str

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.PROJECTS, Level.WRITE)


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
        section=Section.PROJECTS,
        level=level,
        tag=tag,
        object_id=object_id,
    )


def _timeline(access: RecordAccess, kind: Event, project: ProfessionalProject) -> None:
    journey = access.beneficiary.current_journey
    records.add_event(
        access,
        kind,
        journey.id if journey else None,
        {"project_id": str(project.id), "status": project.status.value},
    )


def _job(details: ProjectDetails) -> tuple[str | None, str]:
    """The ROME code and the label to store; a code not in the list is refused."""
    if details.rome_code is not None:
        job = rome_jobs().get(details.rome_code)
        if job is None:
            raise InvalidInput(
                "Le formulaire contient des erreurs : corrigez les champs signalés.",
                fields={"rome_code": [UNKNOWN_JOB_MESSAGE]},
            )
        return job.code, job.label
    if details.free_label is None:  # pragma: no cover - the input schemas require one
        raise InvalidInput(
            "Le formulaire contient des erreurs : corrigez les champs signalés.",
            fields={"rome_code": [UNKNOWN_JOB_MESSAGE]},
        )
    return None, details.free_label


def _authors(
    actor: Principal, person: Beneficiary, rows: Iterable[ProfessionalProject]
) -> tenancy.AuthorLabels:
    pairs = [(row.author_account_id, row.author_organisation_id) for row in rows]
    return tenancy.AuthorLabels(actor, person.account_id, pairs)


def _view(row: ProfessionalProject, authors: tenancy.AuthorLabels) -> ProjectView:
    return ProjectView(
        id=row.id,
        rome_code=row.rome_code,
        job_label=row.job_label,
        domain_label=ROME_DOMAINS.get(row.rome_code[0]) if row.rome_code else None,
        contract=row.contract,
        working_time=row.working_time,
        mobility_radius_km=row.mobility_radius_km,
        has_driving_licence=row.has_driving_licence,
        has_vehicle=row.has_vehicle,
        has_two_wheeler=row.has_two_wheeler,
        uses_public_transport=row.uses_public_transport,
        status=row.status,
        declared_by=row.declared_by,
        # What the person declared is the person's, whichever account it came through.
        author_label=(
            tenancy.PERSON_AUTHOR
            if row.declared_by is DeclaredBy.PERSON
            else authors.label(row.author_account_id, row.author_organisation_id)
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _declared_by(actor: Principal, person: Beneficiary) -> DeclaredBy:
    # The person on his or her own record; anyone else who may write here is a professional.
    is_person = actor.is_beneficiary and actor.beneficiary_id == person.id
    return DeclaredBy.PERSON if is_person else DeclaredBy.PROFESSIONAL


def _clean_filter(job_filter: str | None) -> str:
    return " ".join((job_filter or "").split())[:FILTER_MAX]


# -- reading ----------------------------------------------------------------------------------


def list_projects(
    *, actor: Principal, beneficiary_id: uuid.UUID, job_filter: str | None = None
) -> ProjectsPage:
    """The person's projects, the ongoing ones first, newest first; one audited read."""
    access = _open(actor=actor, beneficiary_id=beneficiary_id, tag=Tag.PROJECTS_READ)
    person = access.beneficiary
    rows = list(
        db.session().scalars(
            select(ProfessionalProject)
            .where(ProfessionalProject.beneficiary_id == person.id)
            .order_by(ProfessionalProject.created_at.desc(), ProfessionalProject.id)
            .limit(PROJECTS_LIMIT)
        )
    )
    closed = {ProjectStatus.ABANDONED, ProjectStatus.ACHIEVED}
    rows.sort(key=lambda row: row.status in closed)  # stable: newest first within each group
    authors = _authors(actor, person, rows)
    cleaned = _clean_filter(job_filter)
    return ProjectsPage(
        access=access,
        person=person,
        projects=[_view(row, authors) for row in rows],
        domains=rome_domains(cleaned),
        job_filter=cleaned,
    )


def _project_row(access: RecordAccess, project_id: uuid.UUID) -> ProfessionalProject:
    project = db.session().scalar(
        select(ProfessionalProject).where(
            ProfessionalProject.id == project_id,
            ProfessionalProject.beneficiary_id == access.beneficiary.id,
        )
    )
    if project is None:
        raise NotFound("Ce projet professionnel n'existe pas dans ce carnet.")
    return project


def get_project(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    project_id: uuid.UUID,
    job_filter: str | None = None,
) -> ProjectPage:
    access = _open(
        actor=actor, beneficiary_id=beneficiary_id, tag=Tag.PROJECT_READ, object_id=project_id
    )
    project = _project_row(access, project_id)
    cleaned = _clean_filter(job_filter)
    return ProjectPage(
        access=access,
        person=access.beneficiary,
        project=_view(project, _authors(actor, access.beneficiary, [project])),
        domains=rome_domains(cleaned),
        job_filter=cleaned,
    )


# -- writing ----------------------------------------------------------------------------------


def add_project(
    *, actor: Principal, beneficiary_id: uuid.UUID, details: ProjectDetails
) -> uuid.UUID:
    """Record a project, declared by the person or by a professional (the actor says which)."""
    rome_code, job_label = _job(details)
    new_id = uuid.uuid4()
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.PROJECT_CREATED,
        level=Level.WRITE,
        object_id=new_id,
    )
    person = access.beneficiary
    project = ProfessionalProject(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        rome_code=rome_code,
        job_label=job_label,
        contract=details.contract,
        working_time=details.working_time,
        mobility_radius_km=details.mobility_radius_km,
        has_driving_licence=details.has_driving_licence,
        has_vehicle=details.has_vehicle,
        has_two_wheeler=details.has_two_wheeler,
        uses_public_transport=details.uses_public_transport,
        status=details.status,
        declared_by=_declared_by(actor, person),
        author_account_id=actor.account_id,
        author_organisation_id=actor.organisation_id,
    )
    db.session().add(project)
    _timeline(access, Event.PROJECT_CREATED, project)
    db.session().flush()
    return new_id


def update_project(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    project_id: uuid.UUID,
    details: ProjectDetails,
) -> bool:
    """Save a project edited from the version `details.version`; a stale one is refused.
    Returns whether anything changed."""
    rome_code, job_label = _job(details)
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.PROJECT_UPDATED,
        level=Level.WRITE,
        object_id=project_id,
    )
    project = _project_row(access, project_id)
    if details.version != project.version:
        raise StaleEdit(project_id=project.id)
    project.rome_code = rome_code
    project.job_label = job_label
    project.contract = details.contract
    project.working_time = details.working_time
    project.mobility_radius_km = details.mobility_radius_km
    project.has_driving_licence = details.has_driving_licence
    project.has_vehicle = details.has_vehicle
    project.has_two_wheeler = details.has_two_wheeler
    project.uses_public_transport = details.uses_public_transport
    project.status = details.status
    if not db.session().is_modified(project):
        return False
    try:
        db.session().flush()
    except StaleDataError:
        # Another save landed between our version check and this write.
        raise StaleEdit(project_id=project.id) from None
    _timeline(access, Event.PROJECT_UPDATED, project)
    return True


# -- demo data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoProject:
    """One project of a demo person, as the demo loader describes it."""

    beneficiary_id: uuid.UUID
    journey_id: uuid.UUID | None
    rome_code: str | None
    free_label: str | None
    contract: ContractSought
    working_time: WorkingTime
    mobility_radius_km: int | None
    means: frozenset[str]  # among: permis_b, vehicule, deux_roues, transports_en_commun
    status: ProjectStatus
    declared_by_person: bool
    person_account_id: uuid.UUID | None
    author_account_id: uuid.UUID
    author_organisation_id: uuid.UUID


def seed_demo_projects(
    *, departement_id: uuid.UUID, projects: Sequence[DemoProject], rng: random.Random
) -> int:
    """Write demo projects with their timeline events, as `add_project` would have. For the
    demo loader only (run unscoped): like the rest of the demo, the person's creation is the
    one access-log row per person. Returns the number of projects written."""
    rows: list[ProfessionalProject] = []
    events: list[TimelineEvent] = []
    now = clock.now()
    for spec in projects:
        if spec.rome_code is not None:
            job = rome_jobs()[spec.rome_code]
            rome_code, job_label = job.code, job.label
        elif spec.free_label is not None:
            rome_code, job_label = None, spec.free_label
        else:
            raise ValueError("a demo project needs a ROME code or a free label")
        by_person = spec.declared_by_person and spec.person_account_id is not None
        author_account = spec.person_account_id if by_person else spec.author_account_id
        author_organisation = None if by_person else spec.author_organisation_id
        created_at = now - timedelta(days=rng.randint(3, 200))
        row = ProfessionalProject(
            id=uuid.uuid4(),
            departement_id=departement_id,
            beneficiary_id=spec.beneficiary_id,
            rome_code=rome_code,
            job_label=job_label,
            contract=spec.contract,
            working_time=spec.working_time,
            mobility_radius_km=spec.mobility_radius_km,
            has_driving_licence="permis_b" in spec.means,
            has_vehicle="vehicule" in spec.means,
            has_two_wheeler="deux_roues" in spec.means,
            uses_public_transport="transports_en_commun" in spec.means,
            status=spec.status,
            declared_by=DeclaredBy.PERSON if by_person else DeclaredBy.PROFESSIONAL,
            author_account_id=author_account,
            author_organisation_id=author_organisation,
            created_at=created_at,
            updated_at=created_at,
        )
        rows.append(row)
        events.append(
            TimelineEvent(
                id=uuid.uuid4(),
                departement_id=departement_id,
                beneficiary_id=spec.beneficiary_id,
                journey_id=spec.journey_id,
                kind=Event.PROJECT_CREATED,
                occurred_at=created_at,
                actor_account_id=author_account,
                actor_organisation_id=author_organisation,
                details={"project_id": str(row.id), "status": spec.status.value},
            )
        )
    session = db.session()
    for batch in (rows, events):
        session.add_all(batch)
        session.flush()
    return len(rows)
