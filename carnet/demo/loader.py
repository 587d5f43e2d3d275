"""Build the demo département through the ORM, in the caller's unit of work.

One département, three territories, sixteen structures of every kind, about forty
professionals (some with several roles), a platform administrator and 300 synthetic
people with journeys, follow-up groups and their timelines. Every person followed by a
showcase professional has a full record, a third of the others a lighter one
(`journal.py` decides who and dates each journey; `stories.py` tells it; `situation.py`,
`plans.py`, `meetings.py`, `projects.py`, `documents.py` and `notices.py` write it).
Every person created leaves one audit row by the system actor `cli:demo`. The caller
opens the unit of work and the unscoped block (`carnet demo` does).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from carnet import clock
from carnet.auth.models import Account, AccountKind
from carnet.auth.services import ROLE_LABELS
from carnet.demo import contracts as demo_contracts
from carnet.demo import documents as demo_documents
from carnet.demo import journal as demo_journal
from carnet.demo import meetings as demo_meetings
from carnet.demo import notices as demo_notices
from carnet.demo import orientations as demo_orientations
from carnet.demo import plans as demo_plans
from carnet.demo import projects as demo_projects
from carnet.demo import referential as ref
from carnet.demo import situation as demo_situation
from carnet.demo import stories
from carnet.demo.people import PeopleGenerator, Person, email_local_part, weighted
from carnet.records import services as records_services
from carnet.records.models import (
    Beneficiary,
    ContactChannel,
    DigitalAutonomy,
    GroupMembership,
    Journey,
    JourneyExitReason,
    RsaState,
    Sex,
    TimelineEvent,
)
from carnet.referential import services as referential_services
from carnet.security import audit
from carnet.security.permissions import (
    AuditAction,
    GroupRole,
    Level,
    MembershipRole,
    PrincipalRole,
    Purpose,
    Section,
    permission,
)
from carnet.security.principal import Principal, system_principal
from carnet.tenancy.models import (
    AccreditationStatus,
    Departement,
    Membership,
    Organisation,
    Territory,
)

BENEFICIARIES = 300
COUPLE_SHARE = 0.12  # generated applicants whose spouse is also in the file
# A member from these is the group's health partner (a health structure reads the health
# compartment by its mission: no consent needed).
HEALTH_ORGANISATIONS = ("csapa", "cpam")
FEMININE_TITLES = ("e", "rice", "euse")
EPICENE_TITLES = ("Responsable", "Secrétaire", "Membre")


@dataclass(frozen=True)
class DemoSummary:
    departement_id: uuid.UUID
    organisations: int
    professionals: int
    beneficiaries: int
    journeys: int
    beneficiary_accounts: int


@dataclass
class Professional:
    account: Account
    roles: dict[str, list[MembershipRole]] = field(default_factory=dict)
    key: str = ""  # `ref.SHOWCASE_PROFESSIONALS` key, or « proN »


@dataclass
class Case:
    """What happens to one person: the generated identity and the plan of the journey."""

    person: Person
    situation: ref.SituationSpec
    shape: str
    referent: Professional | None = None
    referent_org: str | None = None
    members: list[tuple[Professional, str]] = field(default_factory=list)
    health_partner: str | None = None  # organisation key of the group's health structure
    showcase: str | None = None
    exit_reason: JourneyExitReason | None = None
    # Set by `journal.assign`: how full the record is, what needs attention, its story.
    tier: demo_journal.Tier | None = None
    attention: demo_journal.Attention | None = None
    story: stories.Story | None = None


def load_demo(
    db_session: Session, *, today: date | None = None, seed: int = ref.DEMO_SEED
) -> DemoSummary:
    """Create the whole demo; the caller commits (and runs this under `scoping.unscoped()`)."""
    return _Builder(db_session, today or clock.today(), seed).build()


class _Builder:
    def __init__(self, db_session: Session, today: date, seed: int) -> None:
        self.db = db_session
        self.today = today
        self.now = clock.now()
        self.rng = random.Random(seed)
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.people = PeopleGenerator(seed, ref.communes(), today=today)
        self.actor: Principal = system_principal("cli:demo")
        self.emails: set[str] = set()
        self.organisations: dict[str, Organisation] = {}
        self.professionals: dict[str, Professional] = {}
        self.referents_by_org: dict[str, list[Professional]] = {}
        self.departement_ref = 0
        self.journeys = 0
        self.beneficiaries: list[tuple[Beneficiary, Case]] = []
        self.invited: set[str] = set()  # showcase partners invited into a group lately
        self.events: list[TimelineEvent] = []

    # -- the whole build ---------------------------------------------------------------
    def build(self) -> DemoSummary:
        departement = self._departement()
        self.actor = system_principal("cli:demo", departement.id)
        territories = self._territories(departement)
        self._organisations(departement, territories)
        self._professionals(departement)
        self._platform_admin()
        self._accredit()
        self.db.flush()
        cases = self._cases()
        demo_journal.assign(
            cases,
            self.rng,
            followers=[self.professionals[key] for key in demo_journal.FOLLOWERS],
            referents_by_org=self.referents_by_org,
        )
        self._create_beneficiaries(departement, cases)
        accounts = self._beneficiary_accounts()
        self.db.flush()
        self._records(departement)
        return DemoSummary(
            departement_id=departement.id,
            organisations=len(self.organisations),
            professionals=len(self.professionals),
            beneficiaries=len(self.beneficiaries),
            journeys=self.journeys,
            beneficiary_accounts=accounts,
        )

    def _records(self, departement: Departement) -> None:
        """The département's referential, then the records: each person's journey dated
        from the group, and every section written along it."""
        referential_services.seed_referential(departement.id)
        journals = demo_journal.build(
            self.db,
            self.beneficiaries,
            self.organisations,
            {p.account.id: p for p in self.professionals.values()},
            today=self.today,
            now=self.now,
        )
        demo_meetings.write(self.db, journals, now=self.now)
        demo_plans.write(departement.id, journals, today=self.today)
        demo_situation.load_situations(
            self.db, self.beneficiaries, journals, today=self.today, now=self.now
        )
        demo_projects.seed(
            departement.id, self.beneficiaries, self.organisations, journals, now=self.now
        )
        demo_documents.seed(departement.id, journals, now=self.now)
        demo_notices.write(journals, now=self.now)
        sophie = self.professionals["sophie"]
        demo_orientations.write(
            self.db,
            self.beneficiaries,
            self.organisations,
            demo_orientations.Officer(sophie.account.id, self.organisations["insertion"].id),
            today=self.today,
        )
        demo_contracts.write(self.db, self.beneficiaries, today=self.today)
        self.db.flush()

    # -- structures and professionals ------------------------------------------------------
    def _departement(self) -> Departement:
        departement = Departement(
            id=uuid.uuid4(), code=ref.DEPARTEMENT_CODE, name=ref.DEPARTEMENT_NAME
        )
        self.db.add(departement)
        return departement

    def _territories(self, departement: Departement) -> dict[str, Territory]:
        territories = {
            key: Territory(id=uuid.uuid4(), departement_id=departement.id, name=name)
            for key, name in ref.TERRITORIES.items()
        }
        self.db.add_all(territories.values())
        return territories

    def _organisations(self, departement: Departement, territories: dict[str, Territory]) -> None:
        for spec in ref.ORGANISATIONS:
            organisation = Organisation(
                id=uuid.uuid4(),
                departement_id=departement.id,
                territory_id=territories[spec.territory].id if spec.territory else None,
                name=spec.name,
                kind=spec.kind,
                siret=self._siret(),
                is_sensible=spec.is_sensible,
                accreditation_status=AccreditationStatus.PENDING,
                created_at=self.now - timedelta(days=self.rng.randint(400, 700)),
            )
            self.organisations[spec.key] = organisation
            self.db.add(organisation)

    def _siret(self) -> str:
        # Nine SIREN digits and a five-digit establishment number; not a real company.
        return "".join(str(self.rng.randint(0, 9)) for _ in range(14))

    def _accredit(self) -> None:
        """Every structure accredited by the département's director, except the pending one."""
        decided_by = self.professionals["isabelle"].account.id
        for spec in ref.ORGANISATIONS:
            if spec.is_pending:
                continue
            organisation = self.organisations[spec.key]
            organisation.accreditation_status = AccreditationStatus.ACCREDITED
            organisation.accreditation_decided_at = organisation.created_at + timedelta(days=30)
            organisation.accreditation_decided_by_id = decided_by

    def _professionals(self, departement: Departement) -> None:
        for spec in ref.SHOWCASE_PROFESSIONALS:
            self._professional(departement, spec.key, spec.roles, spec.given_name, spec.family_name)
        for number, roles in enumerate(ref.OTHER_PROFESSIONALS, start=1):
            given = self._given_name_for([title for _, _, title in roles])
            self._professional(departement, f"pro{number}", roles, given, self.fake.last_name())

    def _given_name_for(self, job_titles: list[str]) -> str:
        """A first name that agrees with the job titles (the first one that is not epicene
        tells: « Assistante » a woman, « Assistant » a man)."""
        for title in job_titles:
            first_word = title.split()[0]
            if first_word in EPICENE_TITLES:
                continue
            if first_word.endswith(FEMININE_TITLES):
                return self.fake.first_name_female()
            return self.fake.first_name_male()
        return self.fake.first_name()

    def _professional(
        self,
        departement: Departement,
        key: str,
        roles: tuple[tuple[str, MembershipRole, str], ...],
        given: str | None,
        family: str | None,
    ) -> None:
        account = self._account(
            AccountKind.PROFESSIONAL,
            given or self.fake.first_name(),
            family or self.fake.last_name(),
        )
        professional = Professional(account, key=key)
        for org_key, role, job_title in roles:
            organisation = self.organisations[org_key]
            self.db.add(
                Membership(
                    account_id=account.id,
                    organisation_id=organisation.id,
                    departement_id=departement.id,
                    role=role,
                    job_title=job_title,
                    created_at=organisation.created_at + timedelta(days=self.rng.randint(31, 200)),
                )
            )
            professional.roles.setdefault(org_key, []).append(role)
            if role is MembershipRole.PROFESSIONAL:
                self.referents_by_org.setdefault(org_key, []).append(professional)
        self.professionals[key] = professional

    def _platform_admin(self) -> None:
        self._account(AccountKind.PLATFORM_ADMIN, *ref.PLATFORM_ADMIN)

    def _account(
        self, kind: AccountKind, given: str, family: str, email: str | None = None
    ) -> Account:
        email = email or self._unique_email(email_local_part(given, family))
        account = Account(
            id=uuid.uuid4(),
            kind=kind,
            email=email,
            given_name=given,
            family_name=family,
            created_at=self.now - timedelta(days=60),
        )
        self.db.add(account)
        return account

    def _unique_email(self, local: str) -> str:
        candidate, number = f"{local}@{ref.EMAIL_DOMAIN}", 1
        while candidate in self.emails:
            number += 1
            candidate = f"{local}{number}@{ref.EMAIL_DOMAIN}"
        self.emails.add(candidate)
        return candidate

    # -- who the people are and what happens to them -----------------------------------
    def _cases(self) -> list[Case]:
        cases = [self._showcase_case(spec) for spec in ref.SHOWCASE_BENEFICIARIES]
        # The showcase names stay unique, so the accounts table points to one person.
        taken = {(spec.given_name, spec.family_name) for spec in ref.SHOWCASE_BENEFICIARIES}
        while len(cases) < BENEFICIARIES:
            household = [self._generated_case()]
            if len(cases) + 1 < BENEFICIARIES and self.rng.random() < COUPLE_SHARE:
                household.append(self._partner_case(household[0]))
            names = {(c.person.given_name, c.person.family_name) for c in household}
            if not names & taken:
                cases.extend(household)
        return cases

    def _showcase_case(self, spec: ref.ShowcaseBeneficiary) -> Case:
        commune = next(c for c in ref.communes() if c.name == spec.commune)
        person = self.people.person(
            min_age=spec.age, max_age=spec.age, commune=commune, sex=Sex(spec.sex)
        )
        person.given_name, person.family_name = spec.given_name, spec.family_name
        person.email = self._unique_email(email_local_part(spec.given_name, spec.family_name))
        # They have an account: people who use the site themselves.
        person.digital_autonomy = DigitalAutonomy.AUTONOMOUS
        person.preferred_channel = ContactChannel.EMAIL
        situation = next(s for s in ref.SITUATIONS if s.key == spec.situation)
        case = Case(
            person,
            situation,
            spec.shape,
            health_partner=spec.health_partner,
            showcase=spec.key,
            exit_reason=spec.exit_reason,
            story=stories.BY_KEY[spec.story] if spec.story else None,
        )
        if spec.referent is not None:
            case.referent = self.professionals[spec.referent]
            case.referent_org = next(iter(case.referent.roles))
        for key in spec.members:
            member = self.professionals[key]
            case.members.append((member, next(iter(member.roles))))
        return case

    def _generated_case(self) -> Case:
        situation = weighted(self.rng, tuple((s, s.weight) for s in ref.SITUATIONS))
        person = self.people.person(min_age=situation.min_age, max_age=situation.max_age)
        case = Case(person, situation, weighted(self.rng, ref.JOURNEY_SHAPES))
        self._plan_group(case)
        return case

    def _partner_case(self, case: Case) -> Case:
        partner = self.people.partner_of(case.person)
        # The same accompaniment as the applicant when the partner's age allows it.
        fitting = [s for s in ref.SITUATIONS if partner_age_fits(self.people, partner, s)]
        situation = case.situation if case.situation in fitting else fitting[0]
        twin = Case(partner, situation, case.shape if case.shape != "reopened" else "open")
        self._plan_group(twin)
        return twin

    def _plan_group(self, case: Case) -> None:
        if case.shape == "to_orient":
            return
        organisations = case.situation.referent_organisations
        choices = organisations.get(case.person.territory) or organisations["*"]
        case.referent_org = self.rng.choice(choices)
        colleagues = self.referents_by_org[case.referent_org]
        # The showcase référents follow a little more people than their colleagues.
        weights = [2 if p.key in demo_journal.FOLLOWERS else 1 for p in colleagues]
        case.referent = self.rng.choices(colleagues, weights)[0]
        taken = {case.referent.account.id}
        for org_key in case.situation.member_organisations:
            is_health = org_key in HEALTH_ORGANISATIONS
            if org_key == case.referent_org or self.rng.random() >= 0.25:
                continue
            member = self.rng.choice(self.referents_by_org[org_key])
            if member.account.id in taken or (is_health and case.health_partner):
                continue
            taken.add(member.account.id)
            case.members.append((member, org_key))
            if is_health:
                case.health_partner = org_key

    # -- writing one person --------------------------------------------------------------
    def _create_beneficiaries(self, departement: Departement, cases: list[Case]) -> None:
        """Written table by table (a few batched INSERTs), not person by person."""
        plans = [
            (
                case,
                demo_journal.fit_dates(case, self._journey_dates(case.shape), self.today, self.rng),
            )
            for case in cases
        ]
        for case, dates in plans:
            beneficiary = self._beneficiary(departement, case, dates)
            self.beneficiaries.append((beneficiary, case))
        self.db.add_all(b for b, _ in self.beneficiaries)
        self.db.flush()
        with self.db.no_autoflush:
            for (beneficiary, case), (_, dates) in zip(self.beneficiaries, plans, strict=True):
                self._seal_nir(beneficiary, case.person.nir)
                created = beneficiary.created_at
                self._event(beneficiary, None, "records:beneficiary:created", created)
                self._journeys(beneficiary, case, dates)
        self.db.flush()
        # Events point to journeys without an ORM relationship: written once those exist.
        self.db.add_all(self.events)
        self.db.flush()
        self._audit_creations(departement)

    def _audit_creations(self, departement: Departement) -> None:
        """One row per person created, as the records service would write it."""
        for beneficiary, _ in self.beneficiaries:
            audit.record_access(
                self.db,
                actor=self.actor,
                departement_id=departement.id,
                beneficiary_id=beneficiary.id,
                object_id=beneficiary.id,
                section=permission(Section.IDENTITY, Level.WRITE),
                action=AuditAction.CREATE,
                tag="records:beneficiary:created",
                purpose=Purpose.SYSTEM,
            )

    def _journey_dates(self, shape: str) -> list[tuple[date, date | None]]:
        """(opened, closed) per journey, oldest first; the right opened just before the last."""
        rng, today = self.rng, self.today
        if shape == "to_orient":
            return [(today - timedelta(days=rng.randint(2, 40)), None)]
        if shape == "open":
            return [(today - timedelta(days=rng.randint(45, 3 * 365)), None)]
        first = today - timedelta(days=rng.randint(600, 3 * 365))
        closed = first + timedelta(days=rng.randint(150, 400))
        if shape == "closed":
            return [(first, closed)]
        reopened = closed + timedelta(days=rng.randint(60, 180))
        return [(first, closed), (min(reopened, today - timedelta(days=30)), None)]

    def _beneficiary(
        self, departement: Departement, case: Case, dates: list[tuple[date, date | None]]
    ) -> Beneficiary:
        person, rng = case.person, self.rng
        self.departement_ref += 1
        rsa_state, suspension = self._rights(case.shape)
        professional_track = case.situation.key in ("professionnelle", "socio_professionnelle")
        return Beneficiary(
            id=uuid.uuid4(),
            departement_id=departement.id,
            given_name=person.given_name,
            family_name=person.family_name,
            birth_name=person.birth_name,
            search_name=person.search_name,
            sex=person.sex,
            birth_on=person.birth_on,
            birth_place=person.birth_place,
            caf_number=person.caf_number,
            is_msa=person.is_msa,
            france_travail_id=self.people.france_travail_id()
            if professional_track or rng.random() < 0.2
            else None,
            departement_ref=f"RSA{ref.DEPARTEMENT_CODE}-{self.departement_ref:06d}",
            address_line=person.address_line,
            postal_code=person.postal_code,
            city=person.city,
            phone=person.phone,
            email=person.email,
            preferred_channel=person.preferred_channel,
            digital_autonomy=person.digital_autonomy,
            rsa_state=rsa_state,
            suspension_reason=suspension,
            is_subject_to_duties=rng.random() < 0.94,
            household_role=person.household_role,
            right_opened_on=dates[-1][0] - timedelta(days=rng.randint(0, 10)),
            other_allowances=person.other_allowances,
            dependants=person.dependants,
            is_synthetic=True,
            created_at=self._at(dates[0][0]),
        )

    def _rights(self, shape: str) -> tuple[RsaState, str | None]:
        if shape == "closed":
            return RsaState.CLOSED, None
        if shape == "to_orient" and self.rng.random() < 0.3:
            return RsaState.PENDING, None
        if self.rng.random() < 0.07:
            return RsaState.SUSPENDED, self.rng.choice(ref.SUSPENSION_REASONS)
        return RsaState.OPEN, None

    def _seal_nir(self, beneficiary: Beneficiary, nir: str) -> None:
        records_services.seal_nir(beneficiary, nir)

    def _journeys(
        self, beneficiary: Beneficiary, case: Case, dates: list[tuple[date, date | None]]
    ) -> None:
        for opened_on, closed_on in dates:
            journey = Journey(
                id=uuid.uuid4(),
                departement_id=beneficiary.departement_id,
                beneficiary_id=beneficiary.id,
                opened_on=opened_on,
                # The record exists before its first journey opens.
                created_at=max(self._at(opened_on), beneficiary.created_at + timedelta(minutes=2)),
            )
            self.db.add(journey)
            self.journeys += 1
            self._event(beneficiary, journey, "records:journey:opened", journey.created_at)
            if closed_on is not None:
                self._closed_journey(beneficiary, journey, case, closed_on)
            elif case.referent is not None and case.referent_org is not None:
                self._group(beneficiary, journey, case, case.referent, case.referent_org)

    def _closed_journey(
        self, beneficiary: Beneficiary, journey: Journey, case: Case, closed_on: date
    ) -> None:
        """A past journey: its referent (someone else than today's) left when it closed."""
        organisations = case.situation.referent_organisations
        org_key = self.rng.choice(organisations.get(case.person.territory) or organisations["*"])
        referent = self.rng.choice(self.referents_by_org[org_key])
        started = self._working(
            self._at(journey.opened_on + timedelta(days=self.rng.randint(10, 40)))
        )
        ended = self._at(closed_on)
        self._membership(
            beneficiary,
            journey,
            referent,
            org_key,
            GroupRole.REFERENT,
            started,
            ended=(ended, ref.JOURNEY_END_REASON),
        )
        journey.closed_on = closed_on
        journey.exit_reason = case.exit_reason or weighted(self.rng, ref.EXIT_REASONS)
        self._event(
            beneficiary,
            journey,
            "records:journey:closed",
            ended,
            details={"exit_reason": str(journey.exit_reason)},
        )

    def _group(
        self,
        beneficiary: Beneficiary,
        journey: Journey,
        case: Case,
        referent: Professional,
        referent_org: str,
    ) -> None:
        start = self._working(
            self._at(min(self.today, journey.opened_on + timedelta(days=self.rng.randint(7, 35))))
        )
        first_start, previous = start, None
        if case.attention is demo_journal.Attention.NEW:
            start, previous = self._reoriented(beneficiary, journey, case, start)
        elif (
            case.showcase is None
            and case.tier is not demo_journal.Tier.FULL
            and self.rng.random() < 0.15
        ):
            start, previous = self._former_referent(
                beneficiary, journey, referent, referent_org, start
            )
        self._membership(
            beneficiary,
            journey,
            referent,
            referent_org,
            GroupRole.REFERENT,
            start,
            previous=previous,
        )
        # Members joined under the référent of the time.
        former = None
        if previous is not None:
            former = (self._professional_of(previous.account_id), start)
        for member, org_key in case.members:
            self._member(beneficiary, journey, case, member, org_key, first_start, former)

    def _professional_of(self, account_id: uuid.UUID) -> Professional:
        return next(p for p in self.professionals.values() if p.account.id == account_id)

    def _former_referent(
        self,
        beneficiary: Beneficiary,
        journey: Journey,
        referent: Professional,
        referent_org: str,
        start: datetime,
    ) -> tuple[datetime, GroupMembership | None]:
        """A colleague who handed over: when today's referent took over, and from whom."""
        candidates = [p for p in self.referents_by_org[referent_org] if p is not referent]
        if not candidates or start.date() >= self.today - timedelta(days=30):
            return start, None
        handover = self._working(
            start + timedelta(days=self.rng.randint(20, (self.today - start.date()).days - 5))
        )
        previous = self._membership(
            beneficiary,
            journey,
            self.rng.choice(candidates),
            referent_org,
            GroupRole.REFERENT,
            start,
            ended=(handover, self.rng.choice(ref.END_REASONS_REFERENT)),
            end_event=False,  # the change of referent tells it
        )
        return handover, previous

    def _reoriented(
        self, beneficiary: Beneficiary, journey: Journey, case: Case, start: datetime
    ) -> tuple[datetime, GroupMembership | None]:
        """A « nouvelle orientation »: another structure (or a colleague) followed the
        person until a few weeks ago; today's référent has not met him or her yet."""
        organisations = case.situation.referent_organisations
        choices = organisations.get(case.person.territory) or organisations["*"]
        busy = [case.referent, *(member for member, _ in case.members)]
        candidates = [
            (key, p)
            for key in dict.fromkeys([k for k in choices if k != case.referent_org] or choices)
            for p in self.referents_by_org[key]
            if all(p is not b for b in busy)
        ]
        if not candidates:
            return start, None
        org_key, former = self.rng.choice(candidates)
        handover = self._working(self._at(self.today - timedelta(days=self.rng.randint(12, 45))))
        reason = ref.END_REASONS_REFERENT[1 if org_key == case.referent_org else 2]
        previous = self._membership(
            beneficiary,
            journey,
            former,
            org_key,
            GroupRole.REFERENT,
            start,
            ended=(handover, reason),
            end_event=False,  # the change of referent tells it
        )
        return handover, previous

    def _member(
        self,
        beneficiary: Beneficiary,
        journey: Journey,
        case: Case,
        member: Professional,
        org_key: str,
        after: datetime,
        former: tuple[Professional, datetime] | None = None,
    ) -> None:
        """A partner joins the group, invited by the référent of the time (`former`: the
        previous référent and when he or she handed over)."""
        latest = max(after, self._at(self.today - timedelta(days=1)))
        start = min(after + timedelta(days=self.rng.randint(5, 90)), latest)
        if member.key in demo_journal.FOLLOWERS and (
            member.key not in self.invited or self.rng.random() < 0.25
        ):
            # Invited lately: « nouveau » in the partner's portfolio, a notification.
            self.invited.add(member.key)
            start = max(after, self._at(self.today - timedelta(days=self.rng.randint(3, 40))))
        start = max(after, self._working(start))
        is_health = org_key == case.health_partner
        ended = None
        if (
            not is_health
            and case.showcase is None
            and self.rng.random() < 0.2
            and start.date() < self.today - timedelta(days=20)
        ):
            end = start + timedelta(days=self.rng.randint(10, (self.today - start.date()).days))
            ended = (min(end, self.now), self.rng.choice(ref.END_REASONS_MEMBER))
        self._membership(
            beneficiary,
            journey,
            member,
            org_key,
            GroupRole.MEMBER,
            start,
            ended=ended,
            reason=ref.START_REASONS["health" if is_health else "member"],
            added_by=former[0] if former is not None and start < former[1] else case.referent,
        )

    def _membership(
        self,
        beneficiary: Beneficiary,
        journey: Journey,
        professional: Professional,
        org_key: str,
        role: GroupRole,
        started: datetime,
        *,
        ended: tuple[datetime, str] | None = None,
        reason: str | None = None,
        added_by: Professional | None = None,
        previous: GroupMembership | None = None,
        end_event: bool = True,
    ) -> GroupMembership:
        """A place in the group, and its timeline as `records.services` would write it."""
        organisation = self.organisations[org_key]
        added_by = added_by or self.professionals["sophie"]  # the orientation officer
        membership = GroupMembership(
            id=uuid.uuid4(),
            departement_id=beneficiary.departement_id,
            journey_id=journey.id,
            beneficiary_id=beneficiary.id,
            account_id=professional.account.id,
            organisation_id=organisation.id,
            role=role,
            started_at=started,
            start_reason=reason
            or (previous.end_reason if previous else None)
            or ref.START_REASONS["referent"],
            ended_at=ended[0] if ended else None,
            end_reason=ended[1] if ended else None,
            added_by_id=added_by.account.id,
        )
        self.db.add(membership)
        details = {
            "membership_id": str(membership.id),
            "role": str(role),
            "organisation_id": str(organisation.id),
        }
        kind = "records:group:member_added"
        if previous is not None:
            kind = "records:group:referent_changed"
            details["previous_membership_id"] = str(previous.id)
        self._event(beneficiary, journey, kind, started, actor=added_by, details=details)
        if ended and end_event:
            self._event(
                beneficiary, journey, "records:group:member_ended", ended[0], details=details
            )
        return membership

    def _event(
        self,
        beneficiary: Beneficiary,
        journey: Journey | None,
        kind: str,
        at: datetime,
        *,
        actor: Professional | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        actor_org = None
        if actor is not None:
            actor_org = self.organisations[next(iter(actor.roles))].id
        self.events.append(
            TimelineEvent(
                departement_id=beneficiary.departement_id,
                beneficiary_id=beneficiary.id,
                journey_id=journey.id if journey else None,
                kind=kind,
                occurred_at=at,
                actor_account_id=actor.account.id if actor else None,
                actor_organisation_id=actor_org,
                details=details or {},
            )
        )

    def _at(self, day: date) -> datetime:
        """A working-hours instant on `day`, never in the future."""
        moment = datetime.combine(
            day, time(self.rng.randint(7, 15), self.rng.randint(0, 59)), tzinfo=UTC
        )
        return min(moment, self.now)

    def _working(self, moment: datetime) -> datetime:
        """`moment`, moved to the next working day when it falls on a weekend or a public
        holiday (to the one before if that would be in the future): professionals act on
        working days."""
        day = moment.date()
        shifted = datetime.combine(demo_journal.weekday(day), moment.timetz())
        if shifted > self.now:
            shifted = datetime.combine(demo_journal.weekday(day, forward=False), moment.timetz())
        return shifted

    # -- accounts for a few people -----------------------------------------------------
    def _beneficiary_accounts(self) -> int:
        chosen = [b for b, case in self.beneficiaries if case.showcase]
        others = [
            b
            for b, case in self.beneficiaries
            if case.showcase is None
            and case.referent is not None
            and case.shape == "open"
            and b.email
            and b.email not in self.emails
        ]
        unique = list({b.email: b for b in others}.values())
        chosen += self.rng.sample(unique, ref.OTHER_BENEFICIARY_ACCOUNTS)
        for beneficiary in chosen:
            email = beneficiary.email or ""
            self.emails.add(email)
            account = self._account(
                AccountKind.BENEFICIARY,
                beneficiary.given_name,
                beneficiary.family_name,
                email=email,
            )
            beneficiary.account_id = account.id
        return len(chosen)


def partner_age_fits(
    people: PeopleGenerator, partner: Person, situation: ref.SituationSpec
) -> bool:
    age = people.age_on(partner.birth_on)
    return situation.min_age <= age <= situation.max_age


def showcase_accounts() -> list[tuple[str, str, str, str]]:
    """(roles, e-mail, organisation, what to look at) for the README's table of demo accounts."""
    names = {spec.key: spec.name for spec in ref.ORGANISATIONS}
    rows = []
    for spec in ref.SHOWCASE_PROFESSIONALS:
        labels = (ROLE_LABELS[PrincipalRole(role)] for _, role, _ in spec.roles)
        roles = " + ".join(dict.fromkeys(labels))
        organisations = ", ".join(dict.fromkeys(names[org] for org, _, _ in spec.roles))
        email = (
            f"{email_local_part(spec.given_name or '', spec.family_name or '')}@{ref.EMAIL_DOMAIN}"
        )
        rows.append((roles, email, organisations, spec.showcase))
    admin_email = f"{email_local_part(*ref.PLATFORM_ADMIN)}@{ref.EMAIL_DOMAIN}"
    rows.append(
        (
            ROLE_LABELS[PrincipalRole.PLATFORM_ADMIN],
            admin_email,
            "Plateforme",
            "Exploitation : départements, comptes ; aucune donnée personnelle par défaut.",
        )
    )
    for person in ref.SHOWCASE_BENEFICIARIES:
        email = f"{email_local_part(person.given_name, person.family_name)}@{ref.EMAIL_DOMAIN}"
        rows.append(
            (ROLE_LABELS[PrincipalRole.BENEFICIARY], email, person.commune, person.showcase)
        )
    return rows
