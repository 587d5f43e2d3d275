"""The demo's contracts, one engagement per person with a full record, after the orientation.

The kind follows the structure of the orientation: a PPAE for France Travail and Cap
emploi, a CEJ for the mission locale (both signed in the partner's own tool, so recorded
« hors Carnet », without a PDF), a CER for the others, signed in « mode accompagné » with
its PDF made and sealed as the contracts service does. A contract runs 6 or 12 months from
a few weeks after the orientation; one that reached its end was renewed, the earlier one
« échu » (signed on paper, before the platform). An orientation of less than six weeks
has a contrat d'engagement being prepared: proposed to the person, not signed yet. Two of
the plan's objectives are written into each contract, with the person's consent.

Showcase people: Nathalie Petit's CER ends within a month (her référente's portfolio
shows the alert); Samia Belkacem has a contrat d'engagement proposed, to sign with her
référent in « mode accompagné ».
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.contracts import pdf
from carnet.contracts import services as contracts
from carnet.contracts.models import (
    DEFAULT_WEEKLY_HOURS,
    Contract,
    ContractKind,
    ContractStatus,
    ContractVersion,
    SignatureMode,
    VersionStatus,
)
from carnet.contracts.services import Event
from carnet.demo.journal import Tier
from carnet.orientation.models import Orientation
from carnet.plan.models import PlanAxis, PlanObjective
from carnet.records.models import Beneficiary, Journey, TimelineEvent
from carnet.security import crypto
from carnet.security.permissions import OrganisationKind
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:  # the loader imports this module
    from carnet.demo.loader import Case

SEED = 9_137
RECENT_DAYS = 42  # an orientation younger than this has its contract in preparation
ALERT_DAYS = 18  # Nathalie's CER ends this many days from today
MAX_RENEWALS = 3

PERSON_COMMITMENTS: dict[ContractKind, str] = {
    ContractKind.CER: (
        "Me rendre aux rendez-vous fixés avec ma référente ou prévenir si je ne peux pas "
        "venir ; mener les démarches inscrites au plan d'action ; signaler tout changement "
        "de situation."
    ),
    ContractKind.ENGAGEMENT: (
        "Consacrer au moins quinze heures par semaine aux activités prévues au plan "
        "d'action (ateliers, démarches, formation, immersion) ; venir aux rendez-vous."
    ),
    ContractKind.PPAE: (
        "Rechercher activement un emploi dans les métiers de mon projet, répondre aux "
        "propositions et me rendre aux entretiens."
    ),
    ContractKind.CEJ: (
        "Suivre le programme d'activités du contrat d'engagement jeune et les entretiens "
        "avec mon conseiller."
    ),
}
SUPPORT_COMMITMENTS: dict[ContractKind, str] = {
    ContractKind.CER: (
        "Un rendez-vous au moins toutes les six semaines ; un appui pour chaque démarche du "
        "plan ; la mise en relation avec les partenaires utiles (logement, santé, mobilité)."
    ),
    ContractKind.ENGAGEMENT: (
        "Un plan d'action construit ensemble et revu à chaque rendez-vous ; l'accès aux "
        "ateliers et aux offres du territoire ; une réponse à chaque question sous huit jours."
    ),
    ContractKind.PPAE: (
        "Des offres d'emploi ciblées, un atelier de préparation aux entretiens, le "
        "financement d'une formation si le projet le demande."
    ),
    ContractKind.CEJ: (
        "Un conseiller unique, un programme de quinze à vingt heures par semaine, "
        "l'allocation prévue par le contrat d'engagement jeune."
    ),
}


def write(db: Session, people: Sequence[tuple[Beneficiary, Case]], *, today: date) -> int:
    """Write the contracts of the people with a full record; returns how many."""
    return _Builder(db, people, today).build()


class _Builder:
    def __init__(self, db: Session, people: Sequence[tuple[Beneficiary, Case]], today: date):
        self.db = db
        self.people = [(p, c) for p, c in people if c.tier is Tier.FULL]
        self.today = today
        self.rng = random.Random(SEED)
        self.events: list[TimelineEvent] = []
        self.count = 0

    def build(self) -> int:
        ids = [person.id for person, _ in self.people]
        periods = {
            o.journey_id: o
            for o in self.db.scalars(
                select(Orientation).where(
                    Orientation.beneficiary_id.in_(ids), Orientation.ends_on.is_(None)
                )
            )
        }
        kinds = {o.id: o.kind for o in self.db.scalars(select(Organisation))}
        objectives: dict[uuid.UUID, list[PlanObjective]] = {}
        for objective, journey_id in self.db.execute(
            select(PlanObjective, PlanAxis.journey_id)
            .join(PlanAxis, PlanAxis.id == PlanObjective.axis_id)
            .where(PlanObjective.beneficiary_id.in_(ids))
            .order_by(PlanObjective.created_at)
        ):
            objectives.setdefault(journey_id, []).append(objective)
        for person, case in self.people:
            journey = person.current_journey
            period = periods.get(journey.id) if journey is not None else None
            if journey is None or period is None or period.referent_account_id is None:
                continue
            kind = _kind(kinds[period.organisation_id])
            self._contracts(person, case, journey, period, kind, objectives.get(journey.id, []))
        self.db.add_all(self.events)
        self.db.flush()
        return self.count

    def _contracts(
        self,
        person: Beneficiary,
        case: Case,
        journey: Journey,
        period: Orientation,
        kind: ContractKind,
        objectives: list[PlanObjective],
    ) -> None:
        if case.showcase == "samia" or (self.today - period.starts_on).days < RECENT_DAYS:
            self._proposed(person, journey, period, objectives)
            return
        start = period.starts_on + timedelta(days=self.rng.randint(14, 30))
        for _ in range(MAX_RENEWALS):
            months = 12 if self.rng.random() < 0.6 else 6
            ends_on = clock.add_months(start, months) - timedelta(days=1)
            if case.showcase == "nathalie":
                ends_on = self.today + timedelta(days=ALERT_DAYS)
                start = min(start, clock.add_months(ends_on, -6))
            if ends_on >= self.today:
                break
            self._signed(person, journey, period, kind, start, ends_on, [], earlier=True)
            start = ends_on + timedelta(days=1)
        else:
            return
        self._signed(person, journey, period, kind, start, ends_on, objectives[:2], earlier=False)

    # -- one contract ---------------------------------------------------------------------
    def _contract(
        self, person: Beneficiary, journey: Journey, period: Orientation, kind: ContractKind
    ) -> Contract:
        contract = Contract(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id,
            kind=kind,
            status=ContractStatus.DRAFT,
            organisation_id=period.organisation_id,
            created_by_account_id=period.referent_account_id,
        )
        self.count += 1
        return contract

    def _version(
        self,
        contract: Contract,
        period: Orientation,
        starts_on: date,
        ends_on: date,
        objectives: list[PlanObjective],
        created_at: datetime,
    ) -> ContractVersion:
        for objective in objectives:
            objective.has_person_consent = True
        hours = DEFAULT_WEEKLY_HOURS if contract.kind is ContractKind.ENGAGEMENT else None
        return ContractVersion(
            id=uuid.uuid4(),
            departement_id=contract.departement_id,
            beneficiary_id=contract.beneficiary_id,
            contract_id=contract.id,
            number=1,
            status=VersionStatus.DRAFT,
            starts_on=starts_on,
            ends_on=ends_on,
            weekly_hours=hours,
            person_commitments=PERSON_COMMITMENTS[contract.kind],
            support_commitments=SUPPORT_COMMITMENTS[contract.kind],
            objectives=[{"id": str(o.id), "label": o.label} for o in objectives],
            referent_account_id=period.referent_account_id,
            created_at=created_at,
            created_by_account_id=period.referent_account_id,
        )

    def _proposed(
        self,
        person: Beneficiary,
        journey: Journey,
        period: Orientation,
        objectives: list[PlanObjective],
    ) -> None:
        """A contrat d'engagement drafted at the first meeting, proposed, not signed yet."""
        contract = self._contract(person, journey, period, ContractKind.ENGAGEMENT)
        drafted = _at(max(period.starts_on, self.today - timedelta(days=6)))
        starts_on = self.today + timedelta(days=self.rng.randint(3, 10))
        version = self._version(
            contract,
            period,
            starts_on,
            clock.add_months(starts_on, 6) - timedelta(days=1),
            objectives[:2],
            drafted,
        )
        version.status = VersionStatus.PROPOSED
        version.proposed_at = drafted + timedelta(minutes=40)
        contract.created_at = drafted
        self._write(contract, version)
        self._event(contract, period, Event.CONTRACT_CREATED, drafted, version)
        self._event(contract, period, Event.VERSION_PROPOSED, version.proposed_at, version)

    def _signed(
        self,
        person: Beneficiary,
        journey: Journey,
        period: Orientation,
        kind: ContractKind,
        starts_on: date,
        ends_on: date,
        objectives: list[PlanObjective],
        *,
        earlier: bool,
    ) -> None:
        """A signed contract: in force, or échu when it ended before today."""
        contract = self._contract(person, journey, period, kind)
        drafted = _at(starts_on - timedelta(days=self.rng.randint(3, 10)))
        signed = drafted + timedelta(days=self.rng.randint(1, 3))
        version = self._version(contract, period, starts_on, ends_on, objectives, drafted)
        contract.created_at = drafted
        version.proposed_at = drafted + timedelta(minutes=30)
        version.person_signed_at = signed
        version.referent_signed_at = signed + timedelta(minutes=2)
        elsewhere = earlier or kind in (ContractKind.PPAE, ContractKind.CEJ)
        version.person_signature_recorded_by_id = period.referent_account_id
        if elsewhere:
            # Signed on paper before Carnet, or in the partner's own tool.
            version.person_signature_mode = SignatureMode.ELSEWHERE
        else:
            version.person_signature_mode = SignatureMode.ACCOMPANIED
            version.referent_signed_by_id = period.referent_account_id
            version.referent_signed_organisation_id = period.organisation_id
        contract.starts_on, contract.ends_on = starts_on, ends_on
        contract.status = ContractStatus.EXPIRED if earlier else ContractStatus.IN_FORCE
        self._write(contract, version)
        if not elsewhere:
            document = pdf.render(contracts.pdf_data(contract, version, person))
            version.pdf_sealed = crypto.current().seal_bytes(
                self.db,
                beneficiary_id=person.id,
                departement_id=person.departement_id,
                table=contracts.VERSION_TABLE,
                column=contracts.PDF_COLUMN,
                row_id=version.id,
                plaintext=document,
            )
            version.pdf_sha256 = hashlib.sha256(document).hexdigest()
        # Signed last: a signed version never changes after this flush.
        version.status = VersionStatus.SIGNED
        self.db.flush()
        self._event(contract, period, Event.CONTRACT_CREATED, drafted, version)
        if elsewhere:
            self._event(contract, period, Event.VERSION_SIGNED_ELSEWHERE, signed, version)
        else:
            self._event(contract, period, Event.VERSION_PROPOSED, version.proposed_at, version)
            self._event(contract, period, Event.VERSION_SIGNED_ACCOMPANIED, signed, version)
            self._event(contract, period, Event.VERSION_SIGNED, signed, version)
        if earlier:
            expired = _at(ends_on + timedelta(days=1))
            self._event(contract, period, Event.CONTRACT_EXPIRED, expired, version, system=True)

    def _write(self, contract: Contract, version: ContractVersion) -> None:
        self.db.add(contract)
        self.db.flush()  # linked by foreign keys only: the contract first
        self.db.add(version)
        self.db.flush()

    def _event(
        self,
        contract: Contract,
        period: Orientation,
        kind: Event,
        at: datetime | None,
        version: ContractVersion,
        *,
        system: bool = False,
    ) -> None:
        details: dict[str, Any] = {
            "contract_id": str(contract.id),
            "kind": contract.kind.value,
            "version_id": str(version.id),
            "number": version.number,
        }
        self.events.append(
            TimelineEvent(
                departement_id=contract.departement_id,
                beneficiary_id=contract.beneficiary_id,
                journey_id=contract.journey_id,
                kind=kind.value,
                occurred_at=min(at or clock.now(), clock.now()),
                actor_account_id=None if system else period.referent_account_id,
                actor_organisation_id=None if system else period.organisation_id,
                details=details,
            )
        )


def _kind(organisation: OrganisationKind) -> ContractKind:
    if organisation in (OrganisationKind.FRANCE_TRAVAIL, OrganisationKind.CAP_EMPLOI):
        return ContractKind.PPAE
    if organisation is OrganisationKind.MISSION_LOCALE:
        return ContractKind.CEJ
    return ContractKind.CER


def _at(day: date) -> datetime:
    return min(datetime.combine(day, time(10, 30), tzinfo=UTC), clock.now())
