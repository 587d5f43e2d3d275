"""The contracts' services: the only readers and writers of a person's contracts.

Every change of a contract is one function here and one entry of `TRANSITIONS`, the one
table of what may follow what: the services refuse anything else with a French message
(`Conflict`, code ``transition``) and the pages show only the buttons the table allows.

Each entry point opens the record through `carnet.records.gate` (scope, policy on the
`contracts` section, or `Action.SIGN_OWN_CONTRACT` for the person signing in his or her
own space, and the audit row), then locks the contract row (``SELECT … FOR UPDATE`` on
PostgreSQL) so that two signatures, or a signature and an amendment, made at the same
moment run one after the other; the ORM's version counters are the second backstop
(`StaleDataError` becomes a French « rechargez la page »), the partial unique indexes
(one contract in force per kind, one version being negotiated) the third. Services never
commit; each write adds a timeline event (ids and codes only).

When both signatures are on a version it is signed for good: its PDF is rendered
(`carnet.contracts.pdf`), sealed under the person's data key with its SHA-256, and the
contract is in force on that version's dates. A signed version never changes again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from carnet import clock, db
from carnet.contracts import pdf
from carnet.contracts.models import (
    DEFAULT_WEEKLY_HOURS,
    Contract,
    ContractKind,
    ContractStatus,
    ContractVersion,
    SignatureMode,
    VersionStatus,
)
from carnet.errors import Conflict, InvalidInput, NotFound, Unavailable
from carnet.notifications import services as notifications
from carnet.plan.models import PlanAxis, PlanObjective
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, Journey, Sex
from carnet.security import audit, crypto
from carnet.security.permissions import (
    Action,
    AuditAction,
    GroupRole,
    Level,
    Purpose,
    Relation,
    Section,
    permission,
)
from carnet.security.policy import Decision
from carnet.security.principal import Principal, system_principal
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
VERSION_TABLE = "contract_versions"
PDF_COLUMN = "pdf_sealed"
DURATIONS = (6, 12, 24)  # months, the usual lengths of a CER
MAX_MONTHS = 36
EXIT_REASON = "Sortie de parcours"
EXPIRY_WARNING_DAYS = 30
WEEKLY_HOURS_MAX = 35

KIND_LABELS: Mapping[ContractKind, str] = MappingProxyType(
    {
        ContractKind.CER: "Contrat d'engagement réciproque (CER)",
        ContractKind.ENGAGEMENT: "Contrat d'engagement",
        ContractKind.PPAE: "Projet personnalisé d'accès à l'emploi (PPAE)",
        ContractKind.CEJ: "Contrat d'engagement jeune (CEJ)",
        ContractKind.PACEA: "Parcours contractualisé d'accompagnement vers l'emploi "
        "et l'autonomie (PACEA)",
    }
)
PROPOSED_LABEL = "Proposé à la signature"
STATUS_LABELS: Mapping[ContractStatus, str] = MappingProxyType(
    {
        ContractStatus.DRAFT: "En préparation",
        ContractStatus.IN_FORCE: "En vigueur",
        ContractStatus.ENDED: "Terminé",
        ContractStatus.EXPIRED: "Arrivé à échéance",
        ContractStatus.CANCELLED: "Abandonné",
    }
)
VERSION_STATUS_LABELS: Mapping[VersionStatus, str] = MappingProxyType(
    {
        VersionStatus.DRAFT: "Brouillon",
        VersionStatus.PROPOSED: "Proposée à la signature",
        VersionStatus.SIGNED: "Signée",
        VersionStatus.WITHDRAWN: "Retirée",
    }
)
MODE_LABELS: Mapping[SignatureMode, str] = MappingProxyType(
    {
        SignatureMode.PORTAL: "dans son espace personnel",
        SignatureMode.ACCOMPANIED: "en rendez-vous, en mode accompagné",
        SignatureMode.ELSEWHERE: "hors du carnet (papier ou autre outil)",
    }
)


class Exemption(StrEnum):
    """Why a contrat d'engagement has fewer than 15 hours of activity a week."""

    DISABILITY = "handicap"
    HEALTH = "sante"
    LONE_PARENT = "parent_isole"
    OTHER = "autre"


EXEMPTION_LABELS: Mapping[Exemption, str] = MappingProxyType(
    {
        Exemption.HEALTH: "Raisons de santé",
        Exemption.DISABILITY: "Situation de handicap",
        Exemption.LONE_PARENT: "Parent isolé sans solution de garde pour un enfant de moins "
        "de 12 ans",
        Exemption.OTHER: "Autre raison",
    }
)

# -- messages ---------------------------------------------------------------------------------

NO_JOURNEY_MESSAGE = (
    "Cette personne n'a pas de parcours en cours : un contrat ne peut pas être préparé."
)
NOT_FOUND_MESSAGE = "Ce contrat n'existe pas dans ce carnet."
VERSION_NOT_FOUND_MESSAGE = "Cette version du contrat n'existe pas."
RELOAD_MESSAGE = (
    "Ce contrat vient d'être modifié par quelqu'un d'autre : rien n'a été enregistré. "
    "Rechargez la page pour voir sa version actuelle, puis recommencez si besoin."
)
CHANGED_MESSAGE = (
    "Cette version a changé depuis que la page a été ouverte : rien n'a été enregistré. "
    "Relisez-la avant de recommencer."
)
OPEN_VERSION_TAKEN = (
    "Une version de ce contrat est déjà en préparation : reprenez-la plutôt que d'en "
    "créer une autre."
)
REFERENT_ALREADY_SIGNED = "Le référent a déjà signé cette version."
PERSON_ALREADY_SIGNED = "La signature de la personne est déjà enregistrée pour cette version."
PDF_UNAVAILABLE = (
    "Le PDF de ce contrat ne peut pas être ouvert pour le moment. L'incident est signalé ; "
    "réessayez plus tard."
)
NO_PDF_MESSAGE = (
    "Cette version n'a pas de PDF dans le carnet : seules les versions signées dans le "
    "carnet en ont un (un contrat signé sur papier ou dans un autre outil n'en a pas)."
)


def in_force_message(kind: ContractKind) -> str:
    return (
        f"Un autre contrat « {KIND_LABELS[kind]} » est déjà en vigueur pour cette personne : "
        "terminez-le avant de faire signer celui-ci."
    )


# -- the life cycle: the one table of what may follow what -------------------------------------


class Step(StrEnum):
    """Every change of a contract or of its open version."""

    AMEND = "avenant"  # in force: a new version drafted from the last signed one
    CANCEL = "abandonner"  # never signed: given up, with a reason
    COMPLETE = "signee"  # both signatures are on the version (internal)
    EDIT = "modifier"
    END = "terminer"  # in force: ended before its term, with a reason
    EXPIRE = "echoir"  # in force: its end date has passed
    PROPOSE = "proposer"
    RECORD_ELSEWHERE = "signe_hors_carnet"
    REOPEN = "reprendre"  # a proposed version back to draft (signatures cleared)
    SIGN_ACCOMPANIED = "signature_accompagnee"
    SIGN_PERSON = "signature_personne"
    SIGN_REFERENT = "signature_referent"
    WITHDRAW = "retirer_avenant"  # an avenant given up before its signature


# (contract status, status of its open version or None) → the same after the step; an
# open version that ends up signed or withdrawn is closed.
State = tuple[ContractStatus, VersionStatus | None]

_C = ContractStatus
_V = VersionStatus


def _table() -> dict[tuple[ContractStatus, VersionStatus | None, Step], State]:
    table: dict[tuple[ContractStatus, VersionStatus | None, Step], State] = {}
    for contract in (_C.DRAFT, _C.IN_FORCE):
        table[(contract, _V.DRAFT, Step.EDIT)] = (contract, _V.DRAFT)
        table[(contract, _V.DRAFT, Step.PROPOSE)] = (contract, _V.PROPOSED)
        table[(contract, _V.PROPOSED, Step.REOPEN)] = (contract, _V.DRAFT)
        for sign in (Step.SIGN_REFERENT, Step.SIGN_ACCOMPANIED, Step.SIGN_PERSON):
            table[(contract, _V.PROPOSED, sign)] = (contract, _V.PROPOSED)
        table[(contract, _V.PROPOSED, Step.COMPLETE)] = (_C.IN_FORCE, _V.SIGNED)
        for open_status in (_V.DRAFT, _V.PROPOSED):
            table[(contract, open_status, Step.RECORD_ELSEWHERE)] = (_C.IN_FORCE, _V.SIGNED)
    for open_status in (_V.DRAFT, _V.PROPOSED):
        # A contract never signed is given up; an avenant is withdrawn, the contract stays.
        table[(_C.DRAFT, open_status, Step.CANCEL)] = (_C.CANCELLED, _V.WITHDRAWN)
        table[(_C.IN_FORCE, open_status, Step.WITHDRAW)] = (_C.IN_FORCE, _V.WITHDRAWN)
    table[(_C.IN_FORCE, None, Step.AMEND)] = (_C.IN_FORCE, _V.DRAFT)
    any_open: tuple[VersionStatus | None, ...] = (None, _V.DRAFT, _V.PROPOSED)
    for maybe_open in any_open:
        closed = None if maybe_open is None else _V.WITHDRAWN
        table[(_C.IN_FORCE, maybe_open, Step.END)] = (_C.ENDED, closed)
        table[(_C.IN_FORCE, maybe_open, Step.EXPIRE)] = (_C.EXPIRED, closed)
    return table


TRANSITIONS: Mapping[tuple[ContractStatus, VersionStatus | None, Step], State] = MappingProxyType(
    _table()
)

# Why a step is refused, whatever the state it was tried from.
REFUSALS: Mapping[Step, str] = MappingProxyType(
    {
        Step.AMEND: (
            "Un avenant ne se prépare que sur un contrat en vigueur qui n'a pas déjà un "
            "avenant en préparation."
        ),
        Step.CANCEL: (
            "Seul un contrat jamais signé peut être abandonné ; un contrat en vigueur se "
            "termine, avec un motif."
        ),
        Step.COMPLETE: "Cette version n'est pas proposée à la signature.",
        Step.EDIT: (
            "Seul un brouillon se modifie : une version proposée se reprend d'abord en "
            "brouillon, et une version signée ne change plus."
        ),
        Step.END: "Seul un contrat en vigueur peut être terminé.",
        Step.EXPIRE: "Seul un contrat en vigueur arrive à échéance.",
        Step.PROPOSE: "Seul un brouillon peut être proposé à la signature de la personne.",
        Step.RECORD_ELSEWHERE: (
            "Seul un contrat ou un avenant en préparation peut être enregistré comme signé "
            "hors du carnet."
        ),
        Step.REOPEN: "Seule une version proposée et pas encore signée se reprend en brouillon.",
        Step.SIGN_ACCOMPANIED: (
            "Cette version n'est pas proposée à la signature : proposez-la d'abord, une "
            "version signée ne se signe plus."
        ),
        Step.SIGN_PERSON: (
            "Ce contrat n'attend pas votre signature : il n'est pas proposé, ou il est déjà signé."
        ),
        Step.SIGN_REFERENT: (
            "Cette version n'est pas proposée à la signature : proposez-la d'abord, une "
            "version signée ne se signe plus."
        ),
        Step.WITHDRAW: (
            "Il n'y a pas d'avenant en préparation à retirer (un contrat jamais signé s'abandonne)."
        ),
    }
)

# Steps a professional who may write the contracts section takes from the pages.
PROFESSIONAL_STEPS = frozenset(
    {
        Step.AMEND,
        Step.CANCEL,
        Step.EDIT,
        Step.END,
        Step.PROPOSE,
        Step.RECORD_ELSEWHERE,
        Step.REOPEN,
        Step.SIGN_ACCOMPANIED,
        Step.SIGN_REFERENT,
        Step.WITHDRAW,
    }
)


def allowed_steps(status: ContractStatus, open_status: VersionStatus | None) -> frozenset[Step]:
    """The steps the table allows from this state (the pages show only these)."""
    return frozenset(step for (c, v, step) in TRANSITIONS if c is status and v is open_status) - {
        Step.COMPLETE
    }


def next_state(status: ContractStatus, open_status: VersionStatus | None, step: Step) -> State:
    """The state after `step`, or the French refusal (`Conflict`, code ``transition``)."""
    target = TRANSITIONS.get((status, open_status, step))
    if target is None:
        raise Conflict(REFUSALS[step], code="transition")
    return target


class Tag(StrEnum):
    """Audit tags of the contracts (`domain:subject:action`)."""

    AVENANT_DRAFTED = "contracts:avenant:drafted"
    AVENANT_WITHDRAWN = "contracts:avenant:withdrawn"
    CONTRACT_CANCELLED = "contracts:contract:cancelled"
    CONTRACT_CREATED = "contracts:contract:created"
    CONTRACT_ENDED = "contracts:contract:ended"
    CONTRACT_EXPIRED = "contracts:contract:expired"
    CONTRACT_READ = "contracts:contract:read"
    CONTRACTS_LISTED = "contracts:contract:listed"
    OBJECTIVES_LINKED = "contracts:objective:linked"
    OBJECTIVES_READ = "contracts:objective:read"
    PDF_DOWNLOADED = "contracts:pdf:downloaded"
    VERSION_EDITED = "contracts:version:edited"
    VERSION_PROPOSED = "contracts:version:proposed"
    VERSION_REOPENED = "contracts:version:reopened"
    VERSION_SIGNED_ELSEWHERE = "contracts:version:signed_elsewhere"
    VERSION_SIGNED_BY_PERSON = "contracts:version:person_signed"
    VERSION_SIGNED_BY_REFERENT = "contracts:version:referent_signed"
    VERSION_SIGNED_ACCOMPANIED = "contracts:version:person_signed_accompanied"


class Event(StrEnum):
    """Timeline kinds written by this module (labels in `records.services.EVENT_LABELS`)."""

    AVENANT_DRAFTED = "contracts:avenant:drafted"
    AVENANT_WITHDRAWN = "contracts:avenant:withdrawn"
    CONTRACT_CANCELLED = "contracts:contract:cancelled"
    CONTRACT_CREATED = "contracts:contract:created"
    CONTRACT_ENDED = "contracts:contract:ended"
    CONTRACT_EXPIRED = "contracts:contract:expired"
    VERSION_EDITED = "contracts:version:edited"
    VERSION_PROPOSED = "contracts:version:proposed"
    VERSION_REOPENED = "contracts:version:reopened"
    VERSION_SIGNED = "contracts:version:signed"
    VERSION_SIGNED_ELSEWHERE = "contracts:version:signed_elsewhere"
    VERSION_SIGNED_BY_PERSON = "contracts:version:person_signed"
    VERSION_SIGNED_BY_REFERENT = "contracts:version:referent_signed"
    VERSION_SIGNED_ACCOMPANIED = "contracts:version:person_signed_accompanied"


class Notice(StrEnum):
    """Notification kinds (texts in `notifications.services._TEXTS`)."""

    PROPOSED = "contracts:version:proposed"
    SIGNED = "contracts:version:signed"


# -- input the services receive ---------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a version says: its dates, hours, commitments and linked plan objectives."""

    starts_on: date
    duration_months: int | None
    ends_on: date | None
    weekly_hours: int | None
    exemption: Exemption | None
    exemption_details: str | None
    person_commitments: str
    support_commitments: str
    objective_ids: tuple[uuid.UUID, ...] = ()
    objectives_consent: bool = False


# -- what the pages receive ---------------------------------------------------------------------


@dataclass(frozen=True)
class VersionView:
    id: uuid.UUID
    number: int
    status: VersionStatus
    starts_on: date
    ends_on: date
    weekly_hours: int | None
    exemption: Exemption | None
    exemption_details: str | None
    person_commitments: str
    support_commitments: str
    objectives: list[dict[str, str]]
    created_at: datetime
    proposed_at: datetime | None
    person_signed_at: datetime | None
    person_signature_mode: SignatureMode | None
    person_signature_recorded_by: str | None
    referent_signed_at: datetime | None
    referent_signed_by: str | None
    has_pdf: bool
    pdf_sha256: str | None
    version: int
    content_key: str  # what a signer sends back: the text he or she read

    @property
    def status_label(self) -> str:
        return VERSION_STATUS_LABELS[self.status]

    @property
    def mode_label(self) -> str | None:
        mode = self.person_signature_mode
        return None if mode is None else MODE_LABELS[mode]

    @property
    def exemption_label(self) -> str | None:
        return None if self.exemption is None else EXEMPTION_LABELS[self.exemption]

    @property
    def is_open(self) -> bool:
        return self.status in (VersionStatus.DRAFT, VersionStatus.PROPOSED)

    @property
    def is_avenant(self) -> bool:
        return self.number > 1


@dataclass(frozen=True)
class ContractView:
    id: uuid.UUID
    kind: ContractKind
    status: ContractStatus
    starts_on: date | None
    ends_on: date | None
    ended_on: date | None
    end_reason: str | None
    organisation_label: str
    created_at: datetime
    versions: list[VersionView]  # newest first
    today: date

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        # A first version proposed to the person: say so rather than « en préparation ».
        open_version = self.open_version
        if (
            self.status is ContractStatus.DRAFT
            and open_version is not None
            and open_version.status is VersionStatus.PROPOSED
        ):
            return PROPOSED_LABEL
        return STATUS_LABELS[self.status]

    @property
    def open_version(self) -> VersionView | None:
        return next((v for v in self.versions if v.is_open), None)

    @property
    def signed_version(self) -> VersionView | None:
        """The last signed version: the one in force while the contract is."""
        return next((v for v in self.versions if v.status is VersionStatus.SIGNED), None)

    @property
    def days_left(self) -> int | None:
        if self.status is not ContractStatus.IN_FORCE or self.ends_on is None:
            return None
        return (self.ends_on - self.today).days

    @property
    def ends_soon(self) -> bool:
        days = self.days_left
        return days is not None and 0 <= days <= EXPIRY_WARNING_DAYS

    @property
    def steps(self) -> frozenset[Step]:
        open_version = self.open_version
        return allowed_steps(self.status, open_version.status if open_version else None)


@dataclass(frozen=True)
class ObjectiveChoice:
    id: uuid.UUID
    label: str
    has_person_consent: bool


@dataclass(frozen=True)
class ContractsPage:
    access: RecordAccess
    person: Beneficiary
    contracts: list[ContractView]
    journey: Journey | None
    objectives: list[ObjectiveChoice]  # of the open journey's plan, for the new-contract form

    @property
    def is_own(self) -> bool:
        return self.access.decision.relation is Relation.OWN_RECORD

    @property
    def can_write(self) -> bool:
        return self.journey is not None and self.access.can(Section.CONTRACTS, Level.WRITE)


@dataclass(frozen=True)
class ContractPage:
    access: RecordAccess
    person: Beneficiary
    contract: ContractView
    objectives: list[ObjectiveChoice]  # for the edit form (only with plan read)

    @property
    def is_own(self) -> bool:
        return self.access.decision.relation is Relation.OWN_RECORD

    def shows(self, step: Step | str) -> bool:
        """Whether the viewer gets the button of `step`: the table allows it from the
        contract's state, the policy lets this viewer take it, and for a signature the
        party has not signed yet."""
        wanted = Step(step)
        if wanted not in self.contract.steps:
            return False
        version = self.contract.open_version
        if wanted is Step.SIGN_PERSON:
            return (
                version is not None
                and version.person_signed_at is None
                and self.access.can_action(Action.SIGN_OWN_CONTRACT)
            )
        if wanted not in PROFESSIONAL_STEPS or self.is_own:
            return False
        if not self.access.can(Section.CONTRACTS, Level.WRITE):
            return False
        if wanted is Step.SIGN_REFERENT:
            return version is not None and version.referent_signed_at is None
        if wanted is Step.SIGN_ACCOMPANIED:
            return version is not None and version.person_signed_at is None
        return True


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes


# -- helpers --------------------------------------------------------------------------------------


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
        section=Section.CONTRACTS,
        level=level,
        tag=tag,
        object_id=object_id,
    )


def _timeline(access: RecordAccess, contract: Contract, kind: Event, **details: Any) -> None:
    records.add_event(
        access,
        kind,
        contract.journey_id,
        {"contract_id": contract.id, "kind": contract.kind, **details},
    )


def _lock(access: RecordAccess, contract_id: uuid.UUID) -> tuple[Contract, list[ContractVersion]]:
    """The contract row, locked until the transaction ends (PostgreSQL; SQLite has one
    writer at a time), and its versions as they are now, newest first."""
    session = db.session()
    contract = session.scalar(
        select(Contract)
        .where(Contract.id == contract_id, Contract.beneficiary_id == access.beneficiary.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if contract is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    versions = list(
        session.scalars(
            select(ContractVersion)
            .where(ContractVersion.contract_id == contract.id)
            .order_by(ContractVersion.number.desc())
            .execution_options(populate_existing=True)
        )
    )
    return contract, versions


def _open_version(versions: Sequence[ContractVersion]) -> ContractVersion | None:
    return next(
        (v for v in versions if v.status in (VersionStatus.DRAFT, VersionStatus.PROPOSED)), None
    )


def _step(
    contract: Contract, versions: Sequence[ContractVersion], step: Step
) -> tuple[State, ContractVersion | None]:
    version = _open_version(versions)
    target = next_state(contract.status, version.status if version else None, step)
    return target, version


def _apply(contract: Contract, version: ContractVersion | None, target: State) -> None:
    contract.status = target[0]
    if version is not None and target[1] is not None:
        version.status = target[1]


def _check_version(version: ContractVersion | None, expected: int | None) -> ContractVersion:
    if version is None:  # pragma: no cover - the table refused the step first
        raise Conflict(RELOAD_MESSAGE, code="stale")
    if expected is not None and expected != version.version:
        raise Conflict(CHANGED_MESSAGE, code="stale")
    return version


def _ends_on(terms: Terms) -> date:
    """The last day of the contract: an explicit date, or the start plus 6, 12 or 24
    months (a contract of 6 months from 1 March ends on 31 August)."""
    if terms.ends_on is not None and terms.duration_months is not None:
        raise InvalidInput.on(
            "duration_months", "Choisissez une durée ou une date de fin, pas les deux."
        )
    if terms.ends_on is None and terms.duration_months is None:
        raise InvalidInput.on(
            "duration_months", "Choisissez une durée (6, 12 ou 24 mois) ou une date de fin."
        )
    if terms.duration_months is not None:
        if terms.duration_months not in DURATIONS:
            raise InvalidInput.on("duration_months", "La durée est de 6, 12 ou 24 mois.")
        return clock.add_months(terms.starts_on, terms.duration_months) - timedelta(days=1)
    assert terms.ends_on is not None  # noqa: S101 - both None was refused above
    if terms.ends_on <= terms.starts_on:
        raise InvalidInput.on("ends_on", "La date de fin doit suivre la date de début.")
    if terms.ends_on > clock.add_months(terms.starts_on, MAX_MONTHS):
        raise InvalidInput.on("ends_on", f"Un contrat dure au plus {MAX_MONTHS} mois.")
    return terms.ends_on


def _hours(kind: ContractKind, terms: Terms) -> tuple[int | None, str | None]:
    """The weekly hours of a contrat d'engagement (15 unless reduced, with a reason) and
    the stored reason; other kinds have none."""
    if kind is not ContractKind.ENGAGEMENT:
        if terms.weekly_hours is not None or terms.exemption is not None:
            raise InvalidInput.on(
                "weekly_hours",
                "Les heures d'activité hebdomadaires ne concernent que le contrat "
                "d'engagement : laissez ce champ vide.",
            )
        return None, None
    hours = DEFAULT_WEEKLY_HOURS if terms.weekly_hours is None else terms.weekly_hours
    if not 0 <= hours <= WEEKLY_HOURS_MAX:
        raise InvalidInput.on(
            "weekly_hours", f"Indiquez un nombre d'heures entre 0 et {WEEKLY_HOURS_MAX}."
        )
    if hours >= DEFAULT_WEEKLY_HOURS:
        if terms.exemption is not None:
            raise InvalidInput.on(
                "exemption",
                f"Un motif ne s'indique que pour moins de {DEFAULT_WEEKLY_HOURS} heures "
                "par semaine.",
            )
        return hours, None
    if terms.exemption is None:
        raise InvalidInput.on(
            "exemption",
            f"En dessous de {DEFAULT_WEEKLY_HOURS} heures par semaine, indiquez le motif : "
            "santé, handicap, parent isolé sans solution de garde, ou autre.",
        )
    details = (terms.exemption_details or "").strip()
    if terms.exemption is Exemption.OTHER and not details:
        raise InvalidInput.on("exemption_details", "Précisez le motif « autre ».")
    return hours, store_exemption(terms.exemption, details or None)


def store_exemption(reason: Exemption, details: str | None) -> str:
    """The stored form of an exemption: its code, then the details if any."""
    return reason.value if not details else f"{reason.value}: {details}"


def read_exemption(stored: str | None) -> tuple[Exemption | None, str | None]:
    if not stored:
        return None, None
    code, _, details = stored.partition(":")
    try:
        return Exemption(code), details.strip() or None
    except ValueError:  # written outside these services: shown as it is
        return Exemption.OTHER, stored


def _journey_objectives(journey_id: uuid.UUID, person_id: uuid.UUID) -> list[PlanObjective]:
    return list(
        db.session().scalars(
            select(PlanObjective)
            .join(PlanAxis, PlanAxis.id == PlanObjective.axis_id)
            .where(PlanObjective.beneficiary_id == person_id, PlanAxis.journey_id == journey_id)
            .order_by(PlanObjective.created_at, PlanObjective.id)
        )
    )


def _objective_choices(access: RecordAccess, journey: Journey | None) -> list[ObjectiveChoice]:
    """The objectives of the journey's plan, for a form: an audited read of the plan,
    only for who may read it (and write the contracts)."""
    if (
        journey is None
        or journey.closed_on is not None
        or not access.can(Section.CONTRACTS, Level.WRITE)
        or not access.can(Section.PLAN, Level.READ)
    ):
        return []
    gate.read_more(access, [(Section.PLAN, Tag.OBJECTIVES_READ)])
    return [
        ObjectiveChoice(o.id, o.label, o.has_person_consent)
        for o in _journey_objectives(journey.id, access.beneficiary.id)
    ]


def _link_objectives(
    access: RecordAccess, journey_id: uuid.UUID, terms: Terms, contract_id: uuid.UUID
) -> list[dict[str, str]]:
    """The objectives written into a version, as they read now; linking them records the
    person's consent on each (DOMAIN.md §3.6), a write of the plan audited as such."""
    if not terms.objective_ids:
        return []
    if not terms.objectives_consent:
        raise InvalidInput.on(
            "objectives_consent",
            "Les objectifs ne s'inscrivent au contrat qu'avec l'accord de la personne : "
            "cochez la case si elle est d'accord, ou ne cochez aucun objectif.",
        )
    wanted = list(dict.fromkeys(terms.objective_ids))
    by_id = {o.id: o for o in _journey_objectives(journey_id, access.beneficiary.id)}
    if any(objective_id not in by_id for objective_id in wanted):
        raise InvalidInput.on(
            "objective_ids", "Choisissez des objectifs du plan d'action du parcours en cours."
        )
    gate.open_record(
        actor=access.actor,
        beneficiary_id=access.beneficiary.id,
        section=Section.PLAN,
        level=Level.WRITE,
        tag=Tag.OBJECTIVES_LINKED,
        object_id=contract_id,
    )
    for objective_id in wanted:
        by_id[objective_id].has_person_consent = True
    return [{"id": str(i), "label": by_id[i].label} for i in wanted]


def _write_terms(
    access: RecordAccess,
    contract: Contract,
    version: ContractVersion,
    terms: Terms,
) -> None:
    ends_on = _ends_on(terms)
    hours, exemption = _hours(contract.kind, terms)
    version.objectives = _link_objectives(access, contract.journey_id, terms, contract.id)
    version.starts_on = terms.starts_on
    version.ends_on = ends_on
    version.weekly_hours = hours
    version.hours_exemption_reason = exemption
    version.person_commitments = terms.person_commitments
    version.support_commitments = terms.support_commitments


def _referent_account_id(journey: Journey) -> uuid.UUID | None:
    return next(
        (
            m.account_id
            for m in journey.group
            if m.role is GroupRole.REFERENT and m.ended_at is None
        ),
        None,
    )


def _aware(day: date) -> datetime:
    """Noon, Paris time, of a day entered by hand (a signature made outside Carnet)."""
    return datetime.combine(day, time(12), tzinfo=PARIS).astimezone(UTC)


def _notify(access: RecordAccess, recipient: uuid.UUID | None, kind: Notice, **ids: Any) -> None:
    if recipient is None or recipient == access.actor.account_id:
        return
    person = access.beneficiary
    notifications.notify(
        recipient_account_id=recipient,
        departement_id=person.departement_id,
        kind=kind,
        beneficiary_id=person.id,
        details={key: str(value) for key, value in ids.items()},
    )


# -- reading ----------------------------------------------------------------------------------


def _version_view(row: ContractVersion, names: Mapping[uuid.UUID, str]) -> VersionView:
    exemption, details = read_exemption(row.hours_exemption_reason)

    def name(account_id: uuid.UUID | None) -> str | None:
        return None if account_id is None else names.get(account_id, tenancy.UNNAMED_PROFESSIONAL)

    return VersionView(
        id=row.id,
        number=row.number,
        status=row.status,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        weekly_hours=row.weekly_hours,
        exemption=exemption,
        exemption_details=details,
        person_commitments=row.person_commitments,
        support_commitments=row.support_commitments,
        objectives=list(row.objectives or []),
        created_at=row.created_at,
        proposed_at=row.proposed_at,
        person_signed_at=row.person_signed_at,
        person_signature_mode=row.person_signature_mode,
        person_signature_recorded_by=name(row.person_signature_recorded_by_id),
        referent_signed_at=row.referent_signed_at,
        referent_signed_by=name(row.referent_signed_by_id),
        has_pdf=row.pdf_sha256 is not None,
        pdf_sha256=row.pdf_sha256,
        version=row.version,
        content_key=content_key(row),
    )


def _views(
    actor: Principal, contracts: Sequence[Contract], versions: Sequence[ContractVersion]
) -> list[ContractView]:
    names = tenancy.professional_names(
        account_id
        for v in versions
        for account_id in (v.referent_signed_by_id, v.person_signature_recorded_by_id)
    )
    organisations = tenancy.organisations_by_id(c.organisation_id for c in contracts)
    by_contract: dict[uuid.UUID, list[VersionView]] = {c.id: [] for c in contracts}
    for row in sorted(versions, key=lambda v: v.number, reverse=True):
        by_contract[row.contract_id].append(_version_view(row, names))
    today = clock.today()
    views = []
    for contract in contracts:
        organisation = organisations.get(contract.organisation_id)
        views.append(
            ContractView(
                id=contract.id,
                kind=contract.kind,
                status=contract.status,
                starts_on=contract.starts_on,
                ends_on=contract.ends_on,
                ended_on=contract.ended_on,
                end_reason=contract.end_reason,
                organisation_label=organisation.label_for(actor) if organisation else "",
                created_at=contract.created_at,
                versions=by_contract[contract.id],
                today=today,
            )
        )
    return views


_STATUS_ORDER = {
    ContractStatus.IN_FORCE: 0,
    ContractStatus.DRAFT: 1,
    ContractStatus.EXPIRED: 2,
    ContractStatus.ENDED: 2,
    ContractStatus.CANCELLED: 3,
}


def list_contracts(*, actor: Principal, beneficiary_id: uuid.UUID) -> ContractsPage:
    """Every contract of the person, in force first, each with its versions: two queries
    (three with the plan's objectives for the form)."""
    access = _open(actor=actor, beneficiary_id=beneficiary_id, tag=Tag.CONTRACTS_LISTED)
    person = access.beneficiary
    session = db.session()
    contracts = list(
        session.scalars(
            select(Contract)
            .where(Contract.beneficiary_id == person.id)
            .order_by(Contract.created_at.desc(), Contract.id)
        )
    )
    versions = (
        list(
            session.scalars(
                select(ContractVersion).where(ContractVersion.beneficiary_id == person.id)
            )
        )
        if contracts
        else []
    )
    views = sorted(_views(actor, contracts, versions), key=lambda c: _STATUS_ORDER[c.status])
    journey = person.current_journey
    return ContractsPage(
        access=access,
        person=person,
        contracts=views,
        journey=journey,
        objectives=_objective_choices(access, journey),
    )


def get_contract(
    *, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID
) -> ContractPage:
    access = _open(
        actor=actor, beneficiary_id=beneficiary_id, tag=Tag.CONTRACT_READ, object_id=contract_id
    )
    session = db.session()
    contract = session.scalar(
        select(Contract).where(
            Contract.id == contract_id, Contract.beneficiary_id == access.beneficiary.id
        )
    )
    if contract is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    versions = list(
        session.scalars(select(ContractVersion).where(ContractVersion.contract_id == contract.id))
    )
    view = _views(actor, [contract], versions)[0]
    journey = next((j for j in access.beneficiary.journeys if j.id == contract.journey_id), None)
    open_version = view.open_version
    objectives = (
        _objective_choices(access, journey)
        if open_version is not None and open_version.status is VersionStatus.DRAFT
        else []
    )
    return ContractPage(
        access=access, person=access.beneficiary, contract=view, objectives=objectives
    )


def download_pdf(
    *, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID, number: int
) -> Download:
    """The PDF of a signed version, for whoever may read the contracts (the person too):
    an audited read of its own, checked against the stored SHA-256."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.PDF_DOWNLOADED,
        object_id=contract_id,
    )
    person = access.beneficiary
    row = db.session().scalar(
        select(ContractVersion).where(
            ContractVersion.contract_id == contract_id,
            ContractVersion.beneficiary_id == person.id,
            ContractVersion.number == number,
        )
    )
    if row is None:
        raise NotFound(VERSION_NOT_FOUND_MESSAGE)
    if row.pdf_sealed is None or row.pdf_sha256 is None:
        raise NotFound(NO_PDF_MESSAGE)
    try:
        content = crypto.current().open_bytes(
            db.session(),
            beneficiary_id=person.id,
            table=VERSION_TABLE,
            column=PDF_COLUMN,
            row_id=row.id,
            sealed=row.pdf_sealed,
        )
    except crypto.KeyShredded:
        raise NotFound(NO_PDF_MESSAGE) from None
    except crypto.CryptoError as exc:
        log.error("contract pdf cannot be opened version=%s error=%s", row.id, type(exc).__name__)
        raise Unavailable(PDF_UNAVAILABLE) from None
    if hashlib.sha256(content).hexdigest() != row.pdf_sha256:
        log.error("contract pdf does not match its sha256 version=%s", row.id)
        raise Unavailable(PDF_UNAVAILABLE)
    contract = db.session().get(Contract, contract_id)
    kind = contract.kind.value if contract is not None else "contrat"
    return Download(filename=f"contrat-{kind}-version-{number}.pdf", content=content)


# -- writing: drafts --------------------------------------------------------------------------


def create_draft(
    *, actor: Principal, beneficiary_id: uuid.UUID, kind: ContractKind, terms: Terms
) -> uuid.UUID:
    """Start a contract of `kind` in the open journey: its first version, a draft."""
    contract_id = uuid.uuid4()
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.CONTRACT_CREATED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    person = access.beneficiary
    journey = person.current_journey
    if journey is None:
        raise Conflict(NO_JOURNEY_MESSAGE)
    organisation_id = actor.organisation_id
    if organisation_id is None:  # pragma: no cover - the policy gives write to staff only
        raise Conflict(NO_JOURNEY_MESSAGE)
    contract = Contract(
        id=contract_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey.id,
        kind=kind,
        status=ContractStatus.DRAFT,
        organisation_id=organisation_id,
        created_at=clock.now(),
        created_by_account_id=actor.account_id,
    )
    version = ContractVersion(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        contract_id=contract_id,
        number=1,
        status=VersionStatus.DRAFT,
        referent_account_id=_referent_account_id(journey),
        created_at=clock.now(),
        created_by_account_id=actor.account_id,
    )
    _write_terms(access, contract, version, terms)
    session = db.session()
    session.add(contract)
    session.flush()  # linked by foreign keys only: the contract first
    session.add(version)
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _timeline(access, contract, Event.CONTRACT_CREATED, version_id=version.id, number=1)
    return contract_id


def edit_draft(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    terms: Terms,
    version: int,
) -> None:
    """Save the draft version edited from the counter `version`."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.VERSION_EDITED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    target, open_version = _step(contract, versions, Step.EDIT)
    row = _check_version(open_version, version)
    _write_terms(access, contract, row, terms)
    _apply(contract, row, target)
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _timeline(access, contract, Event.VERSION_EDITED, version_id=row.id, number=row.number)


def propose(
    *, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID, version: int
) -> None:
    """Propose the draft to the person, who is told so if he or she has an account."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.VERSION_PROPOSED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    target, open_version = _step(contract, versions, Step.PROPOSE)
    row = _check_version(open_version, version)
    _apply(contract, row, target)
    row.proposed_at = clock.now()
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _timeline(access, contract, Event.VERSION_PROPOSED, version_id=row.id, number=row.number)
    _notify(access, access.beneficiary.account_id, Notice.PROPOSED, contract_id=contract.id)


def reopen(
    *, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID, version: int
) -> None:
    """Take a proposed version back to draft to change it; a signature already given is
    cleared, since it was given to the text as it was."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.VERSION_REOPENED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    target, open_version = _step(contract, versions, Step.REOPEN)
    row = _check_version(open_version, version)
    _apply(contract, row, target)
    row.proposed_at = None
    row.person_signed_at = None
    row.person_signature_mode = None
    row.person_signature_recorded_by_id = None
    row.referent_signed_at = None
    row.referent_signed_by_id = None
    row.referent_signed_organisation_id = None
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _timeline(access, contract, Event.VERSION_REOPENED, version_id=row.id, number=row.number)


def amend(*, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> int:
    """Draft an avenant: version n+1, copied from the last signed one. The contract stays
    in force on the signed version until the avenant is signed. Returns its number."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.AVENANT_DRAFTED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    target, _ = _step(contract, versions, Step.AMEND)
    signed = next(v for v in versions if v.status is VersionStatus.SIGNED)
    journey = db.session().get(Journey, contract.journey_id)
    number = versions[0].number + 1
    row = ContractVersion(
        id=uuid.uuid4(),
        departement_id=contract.departement_id,
        beneficiary_id=contract.beneficiary_id,
        contract_id=contract.id,
        number=number,
        status=target[1] or VersionStatus.DRAFT,
        starts_on=signed.starts_on,
        ends_on=signed.ends_on,
        weekly_hours=signed.weekly_hours,
        hours_exemption_reason=signed.hours_exemption_reason,
        person_commitments=signed.person_commitments,
        support_commitments=signed.support_commitments,
        objectives=[dict(o) for o in signed.objectives or []],
        referent_account_id=_referent_account_id(journey) if journey else None,
        created_at=clock.now(),
        created_by_account_id=actor.account_id,
    )
    db.session().add(row)
    contract.status = target[0]
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _timeline(access, contract, Event.AVENANT_DRAFTED, version_id=row.id, number=number)
    return number


def withdraw(*, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> None:
    """Give up the avenant being prepared; the contract stays in force as signed."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.AVENANT_WITHDRAWN,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    target, row = _step(contract, versions, Step.WITHDRAW)
    _apply(contract, row, target)
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _timeline(
        access,
        contract,
        Event.AVENANT_WITHDRAWN,
        version_id=row.id if row else None,
        number=row.number if row else None,
    )


def cancel(
    *, actor: Principal, beneficiary_id: uuid.UUID, contract_id: uuid.UUID, reason: str
) -> None:
    """Give up a contract that was never signed, with a reason."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.CONTRACT_CANCELLED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    _close(access, contract, versions, Step.CANCEL, reason=reason, on=clock.today())
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")


def end_early(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    reason: str,
    on: date | None = None,
) -> None:
    """End a contract in force before its term, with a reason (an avenant being prepared
    is withdrawn)."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.CONTRACT_ENDED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, versions = _lock(access, contract_id)
    ended_on = on or clock.today()
    if ended_on > clock.today():
        raise InvalidInput.on("ended_on", "La date de fin ne peut pas être dans le futur.")
    if contract.starts_on is not None and ended_on < contract.starts_on:
        raise InvalidInput.on(
            "ended_on", "La date de fin ne peut pas précéder le début du contrat."
        )
    _close(access, contract, versions, Step.END, reason=reason, on=ended_on)
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")


_CLOSING_EVENTS = {
    Step.CANCEL: Event.CONTRACT_CANCELLED,
    Step.END: Event.CONTRACT_ENDED,
    Step.EXPIRE: Event.CONTRACT_EXPIRED,
}


def _close(
    access: RecordAccess,
    contract: Contract,
    versions: Sequence[ContractVersion],
    step: Step,
    *,
    reason: str | None,
    on: date,
) -> None:
    target, row = _step(contract, versions, step)
    _apply(contract, row, target)
    if step is not Step.EXPIRE:
        contract.end_reason = reason
        contract.ended_on = on
    _timeline(
        access,
        contract,
        _CLOSING_EVENTS[step],
        withdrawn_version_id=row.id if row else None,
    )


# -- writing: signatures ------------------------------------------------------------------------


def _refuse_second_in_force(contract: Contract) -> None:
    """At most one contract of a kind in force: a first version is not signed while
    another contract of its kind is (the partial unique index is the backstop)."""
    if contract.status is ContractStatus.IN_FORCE:
        return
    other = db.session().scalar(
        select(Contract.id).where(
            Contract.beneficiary_id == contract.beneficiary_id,
            Contract.kind == contract.kind,
            Contract.status == ContractStatus.IN_FORCE,
            Contract.id != contract.id,
        )
    )
    if other is not None:
        raise Conflict(in_force_message(contract.kind), code="in_force")


def content_key(row: ContractVersion) -> str:
    """A fingerprint of what a version says, as it was proposed: a signer sends back the
    one of the text he or she read, and a text changed since (taken back, edited, proposed
    again) is not signed. The other party's signature does not change it."""
    said = {
        "id": str(row.id),
        "number": row.number,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "weekly_hours": row.weekly_hours,
        "exemption": row.hours_exemption_reason,
        "person": row.person_commitments,
        "support": row.support_commitments,
        "objectives": row.objectives or [],
        "proposed_at": row.proposed_at.isoformat() if row.proposed_at else None,
    }
    canonical = json.dumps(said, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _signature_step(
    access: RecordAccess,
    contract_id: uuid.UUID,
    step: Step,
    number: int,
    seen: str,
) -> tuple[Contract, ContractVersion]:
    contract, versions = _lock(access, contract_id)
    target, open_version = _step(contract, versions, step)
    if open_version is None or open_version.number != number:
        raise Conflict(CHANGED_MESSAGE, code="stale")
    row = _check_version(open_version, None)
    if content_key(row) != seen:
        raise Conflict(CHANGED_MESSAGE, code="stale")
    _refuse_second_in_force(contract)
    _apply(contract, row, target)
    return contract, row


def _complete_if_signed(access: RecordAccess, contract: Contract, row: ContractVersion) -> bool:
    """Once both parties signed: the version is signed, its PDF made and sealed, and the
    contract in force on its dates. Returns whether it happened."""
    if row.person_signed_at is None or row.referent_signed_at is None:
        db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
        return False
    target = next_state(contract.status, row.status, Step.COMPLETE)
    document = _render_pdf(access, contract, row)
    row.pdf_sealed = crypto.current().seal_bytes(
        db.session(),
        beneficiary_id=contract.beneficiary_id,
        departement_id=contract.departement_id,
        table=VERSION_TABLE,
        column=PDF_COLUMN,
        row_id=row.id,
        plaintext=document,
    )
    row.pdf_sha256 = hashlib.sha256(document).hexdigest()
    _enter_into_force(contract, row, target)
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _signed_event(access, contract, row, Event.VERSION_SIGNED)
    return True


def _enter_into_force(contract: Contract, row: ContractVersion, target: State) -> None:
    _apply(contract, row, target)
    contract.starts_on = row.starts_on
    contract.ends_on = row.ends_on


def _signed_event(
    access: RecordAccess, contract: Contract, row: ContractVersion, kind: Event
) -> None:
    _timeline(access, contract, kind, version_id=row.id, number=row.number)
    person = access.beneficiary
    for recipient in (row.referent_signed_by_id, row.person_signature_recorded_by_id):
        _notify(access, recipient, Notice.SIGNED, contract_id=contract.id)
    if row.person_signature_mode is not SignatureMode.ELSEWHERE:
        _notify(access, person.account_id, Notice.SIGNED, contract_id=contract.id)


def pdf_data(contract: Contract, row: ContractVersion, person: Beneficiary) -> pdf.ContractDocument:
    """What the PDF of a signed version shows: everything comes from the rows, so the same
    version always renders the same bytes."""
    names = tenancy.professional_names(
        [row.referent_signed_by_id, row.person_signature_recorded_by_id]
    )
    organisation = tenancy.get_organisation(
        row.referent_signed_organisation_id or contract.organisation_id
    )
    exemption, details = read_exemption(row.hours_exemption_reason)
    if row.person_signed_at is None or row.referent_signed_at is None:
        raise ValueError("a contract PDF is made from a version signed by both parties")
    return pdf.ContractDocument(
        contract_id=str(contract.id),
        version_id=str(row.id),
        departement_name=tenancy.departement_name(person.departement_id),
        kind_label=KIND_LABELS[contract.kind],
        number=row.number,
        person_name=f"{person.given_name} {person.family_name}",
        person_is_female=person.sex is Sex.FEMALE,
        person_birth_on=person.birth_on,
        person_reference=person.departement_ref or person.caf_number,
        organisation_name=organisation.name if organisation else "",
        referent_name=names.get(row.referent_signed_by_id, "") if row.referent_signed_by_id else "",
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        weekly_hours=row.weekly_hours,
        exemption_label=EXEMPTION_LABELS[exemption] if exemption else None,
        exemption_details=details,
        person_commitments=row.person_commitments,
        support_commitments=row.support_commitments,
        objectives=[o.get("label", "") for o in row.objectives or []],
        person_signed_at=row.person_signed_at,
        person_signature_mode=MODE_LABELS[row.person_signature_mode or SignatureMode.PORTAL],
        recorded_by_name=(
            names.get(row.person_signature_recorded_by_id)
            if row.person_signature_recorded_by_id
            else None
        ),
        referent_signed_at=row.referent_signed_at,
    )


def _render_pdf(access: RecordAccess, contract: Contract, row: ContractVersion) -> bytes:
    return pdf.render(pdf_data(contract, row, access.beneficiary))


def sign_as_referent(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    number: int,
    seen: str,
) -> bool:
    """The référent signs the proposed version; returns whether it is now signed by both."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.VERSION_SIGNED_BY_REFERENT,
        level=Level.WRITE,
        object_id=contract_id,
    )
    contract, row = _signature_step(access, contract_id, Step.SIGN_REFERENT, number, seen)
    if row.referent_signed_at is not None:
        raise Conflict(REFERENT_ALREADY_SIGNED, code="transition")
    row.referent_signed_at = clock.now()
    row.referent_signed_by_id = actor.account_id
    row.referent_signed_organisation_id = actor.organisation_id
    _timeline(access, contract, Event.VERSION_SIGNED_BY_REFERENT, version_id=row.id, number=number)
    return _complete_if_signed(access, contract, row)


def record_person_signature_accompanied(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    number: int,
    seen: str,
) -> bool:
    """« Mode accompagné »: the référent attests that the person, present, signs; the
    signature is recorded as such, with who recorded it."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.VERSION_SIGNED_ACCOMPANIED,
        level=Level.WRITE,
        object_id=contract_id,
    )
    return _person_signs(access, contract_id, number, seen, SignatureMode.ACCOMPANIED)


def sign_as_person(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    number: int,
    seen: str,
) -> bool:
    """The person signs his or her own contract in his or her own space."""
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.SIGN_OWN_CONTRACT,
        tag=Tag.VERSION_SIGNED_BY_PERSON,
        audit_action=AuditAction.UPDATE,
        object_id=contract_id,
    )
    return _person_signs(access, contract_id, number, seen, SignatureMode.PORTAL)


# The person's signature, by where it is given: the step it is, and its timeline event.
_PERSON_SIGNATURES: Mapping[SignatureMode, tuple[Step, Event]] = MappingProxyType(
    {
        SignatureMode.ACCOMPANIED: (Step.SIGN_ACCOMPANIED, Event.VERSION_SIGNED_ACCOMPANIED),
        SignatureMode.PORTAL: (Step.SIGN_PERSON, Event.VERSION_SIGNED_BY_PERSON),
    }
)


def _person_signs(
    access: RecordAccess, contract_id: uuid.UUID, number: int, seen: str, mode: SignatureMode
) -> bool:
    """The person's signature on the proposed version, given in his or her space or, in
    « mode accompagné », recorded by the professional of `access`."""
    step, event = _PERSON_SIGNATURES[mode]
    contract, row = _signature_step(access, contract_id, step, number, seen)
    if row.person_signed_at is not None:
        raise Conflict(PERSON_ALREADY_SIGNED, code="transition")
    row.person_signed_at = clock.now()
    row.person_signature_mode = mode
    if mode is SignatureMode.ACCOMPANIED:
        row.person_signature_recorded_by_id = access.actor.account_id
    _timeline(access, contract, event, version_id=row.id, number=number)
    return _complete_if_signed(access, contract, row)


def record_signed_elsewhere(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    person_signed_on: date,
    referent_signed_on: date,
) -> None:
    """A version signed on paper or in another tool (a PPAE at France Travail): both dates
    are entered by hand, the version is signed and the contract in force, without a PDF."""
    access = _open(
        actor=actor,
        beneficiary_id=beneficiary_id,
        tag=Tag.VERSION_SIGNED_ELSEWHERE,
        level=Level.WRITE,
        object_id=contract_id,
    )
    today = clock.today()
    for name, day in (
        ("person_signed_on", person_signed_on),
        ("referent_signed_on", referent_signed_on),
    ):
        if day > today:
            raise InvalidInput.on(name, "Une date de signature ne peut pas être dans le futur.")
    contract, versions = _lock(access, contract_id)
    target, row = _step(contract, versions, Step.RECORD_ELSEWHERE)
    row = _check_version(row, None)
    _refuse_second_in_force(contract)
    row.person_signed_at = _aware(person_signed_on)
    row.person_signature_mode = SignatureMode.ELSEWHERE
    row.person_signature_recorded_by_id = actor.account_id
    row.referent_signed_at = _aware(referent_signed_on)
    row.referent_signed_by_id = None
    row.referent_signed_organisation_id = None
    _enter_into_force(contract, row, target)
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    _signed_event(access, contract, row, Event.VERSION_SIGNED_ELSEWHERE)


# -- the journey's exit and the end dates -------------------------------------------------------


def end_for_exit(access: RecordAccess, journey_id: uuid.UUID, on: date) -> int:
    """The journey is closed (sortie de parcours, by the orientation services, which opened
    `access`): every contract in force ends on `on`, every contract never signed is given
    up, every avenant being prepared is withdrawn, each with its timeline event. Returns
    how many contracts changed."""
    session = db.session()
    ids = list(
        session.scalars(
            select(Contract.id)
            .where(
                Contract.beneficiary_id == access.beneficiary.id,
                Contract.journey_id == journey_id,
                Contract.status.in_([ContractStatus.IN_FORCE, ContractStatus.DRAFT]),
            )
            .order_by(Contract.created_at, Contract.id)
        )
    )
    changed = 0
    for contract_id in ids:
        contract, versions = _lock(access, contract_id)
        if contract.status is ContractStatus.IN_FORCE:
            ended_on = max(on, contract.starts_on) if contract.starts_on else on
            _close(access, contract, versions, Step.END, reason=EXIT_REASON, on=ended_on)
        elif contract.status is ContractStatus.DRAFT:
            _close(access, contract, versions, Step.CANCEL, reason=EXIT_REASON, on=on)
        else:  # changed by someone else since the list was read
            continue
        changed += 1
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    return changed


def _system_access(
    actor: Principal, person: Beneficiary, tag: Tag, object_id: uuid.UUID
) -> RecordAccess:
    """A system job's access to one record (no user, no policy decision to make): it is
    written to the access log with the purpose « system », like every other access."""
    audit.record_access(
        db.session(),
        actor=actor,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        object_id=object_id,
        section=permission(Section.CONTRACTS, Level.WRITE),
        action=AuditAction.UPDATE,
        tag=tag,
        purpose=Purpose.SYSTEM,
    )
    facts = gate.record_facts(db.session(), actor, person)
    decision = Decision(
        allowed=True,
        relation=Relation.SAME_DEPARTEMENT,
        level=Level.WRITE,
        rule="system:contracts:expire",
        reason="system",
    )
    return RecordAccess(actor, person, facts, decision)


def expire_due(today: date, *, departement_id: uuid.UUID) -> int:
    """Contracts in force whose end date has passed (`ends_on < today`) reach their term
    (échu), by the system, each audited and with its timeline event; an avenant still
    being prepared is withdrawn. Runs in the scope of `departement_id`; returns how many
    contracts expired."""
    actor = system_principal("cli:contracts:expire", departement_id)
    session = db.session()
    due = list(
        session.execute(
            select(Contract.id, Contract.beneficiary_id)
            .where(
                Contract.departement_id == departement_id,
                Contract.status == ContractStatus.IN_FORCE,
                Contract.ends_on < today,
            )
            .order_by(Contract.ends_on, Contract.id)
        )
    )
    expired = 0
    for contract_id, beneficiary_id in due:
        person = session.get(Beneficiary, beneficiary_id)
        if person is None:  # pragma: no cover - a foreign key holds it
            continue
        access = _system_access(actor, person, Tag.CONTRACT_EXPIRED, contract_id)
        contract, versions = _lock(access, contract_id)
        if contract.status is not ContractStatus.IN_FORCE or (
            contract.ends_on is None or contract.ends_on >= today
        ):
            continue  # changed since the list was read
        _close(access, contract, versions, Step.EXPIRE, reason=None, on=today)
        expired += 1
    db.flush_or_conflict(RELOAD_MESSAGE, code="stale")
    return expired
