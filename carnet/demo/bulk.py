"""Seed a synthetic département at scale, for benchmarks (`carnet seed`).

This is the one documented bypass of the services: rows are built in Python and written
in batches with SQLAlchemy Core `insert()` (executemany), or with COPY through psycopg on
PostgreSQL. Everything the services would add is added here too, the same way:

- each person gets a data key wrapped by the active KEK, a NIR sealed under it with the
  associated data `FieldCrypto.open` expects, and the NIR's blind index;
- journeys, one active referent per accompanied journey, timeline events;
- one audit row per person created, chained in Python in `seq` order from the genesis,
  so `audit.verify_chain` passes afterwards;
- the département's referential, and a full record for each person of one referent's
  portfolio (exactly `PORTFOLIO_SIZE` people, for `carnet bench`): a group member besides
  the referent, a plan d'action (`plan.services.seed_demo_plans`), past and upcoming
  appointments, and sealed notes of each visibility, with their timeline events.

It writes into a new département only (the chain starts at the genesis), in the
caller's transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, Connection, Table, insert, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.auth.models import Account, AccountKind
from carnet.db import Base
from carnet.demo import plans as demo_plans
from carnet.demo import referential as ref
from carnet.demo.people import PeopleGenerator, Person, weighted
from carnet.demo.stories import MEETING_NOTES, MEETING_TOPICS
from carnet.errors import Conflict, InvalidInput
from carnet.meetings import services as meetings_services
from carnet.meetings.models import (
    Appointment,
    AppointmentChannel,
    AppointmentKind,
    Attendance,
    Note,
)
from carnet.orientation.models import Orientation, OrientationType
from carnet.plan import services as plan_services
from carnet.records.models import (
    Beneficiary,
    GroupMembership,
    Journey,
    JourneyExitReason,
    RsaState,
    TimelineEvent,
)
from carnet.records.services import NIR_COLUMN, NIR_TABLE
from carnet.referential import services as referential_services
from carnet.security import audit, crypto
from carnet.security.crypto import DataKey
from carnet.security.permissions import (
    AuditAction,
    GroupRole,
    Level,
    MembershipRole,
    OrganisationKind,
    Outcome,
    Purpose,
    Section,
    permission,
)
from carnet.tenancy.models import (
    AccreditationStatus,
    Departement,
    Membership,
    Organisation,
    Territory,
)

BATCH_SIZE = 5_000
DEFAULT_CODE = "99"
CODE_RE = re.compile(r"[0-9]{2,3}|2[AB]")  # INSEE: 01-95, 2A, 2B, 971-976
SEED = 20_260_101
PEOPLE_PER_REFERENT = 80  # a referent follows 60 to 150 people
PEOPLE_PER_ORGANISATION = 400
# The first referent follows exactly this many people (the most DOMAIN.md §7 expects), each
# with a full record: what `carnet bench` times as the portfolio and the record page.
PORTFOLIO_SIZE = 150
CLI_LABEL = "cli:seed"
# About this share of the people wait for their first orientation (the orientation queue):
# an open journey and a right opened in the last `WAITING_DAYS` days, no orientation yet.
WAITING_SHARE = 0.03
WAITING_DAYS = 90
# The type of orientation each kind of structure accompanies (first the most frequent).
ORIENTATION_TYPES: dict[OrganisationKind, tuple[OrientationType, ...]] = {
    OrganisationKind.DEPARTEMENT: (OrientationType.SOCIAL, OrientationType.SOCIO_PROFESSIONAL),
    OrganisationKind.FRANCE_TRAVAIL: (OrientationType.PROFESSIONAL,),
    OrganisationKind.MISSION_LOCALE: (
        OrientationType.PROFESSIONAL,
        OrientationType.SOCIO_PROFESSIONAL,
    ),
    OrganisationKind.CAP_EMPLOI: (OrientationType.PROFESSIONAL,),
    OrganisationKind.CCAS: (OrientationType.SOCIAL,),
    OrganisationKind.PLIE: (OrientationType.SOCIO_PROFESSIONAL, OrientationType.PROFESSIONAL),
    OrganisationKind.SIAE: (OrientationType.SOCIO_PROFESSIONAL,),
    OrganisationKind.ASSOCIATION: (OrientationType.SOCIAL, OrientationType.SOCIO_PROFESSIONAL),
}
ORIENTATION_MOTIVES: dict[OrientationType, str] = {
    OrientationType.SOCIAL: "Situation de logement et de santé à stabiliser d'abord.",
    OrientationType.SOCIO_PROFESSIONAL: "Projet professionnel à construire, freins à lever.",
    OrientationType.PROFESSIONAL: "Disponible pour l'emploi, projet professionnel défini.",
}

# (kind, share of the structures); the accompanying kinds provide the referents.
ORGANISATION_MIX: tuple[tuple[OrganisationKind, int], ...] = (
    (OrganisationKind.DEPARTEMENT, 20),
    (OrganisationKind.FRANCE_TRAVAIL, 12),
    (OrganisationKind.MISSION_LOCALE, 5),
    (OrganisationKind.CAP_EMPLOI, 3),
    (OrganisationKind.CCAS, 12),
    (OrganisationKind.PLIE, 5),
    (OrganisationKind.SIAE, 15),
    (OrganisationKind.ASSOCIATION, 15),
    (OrganisationKind.ORGANISME_FORMATION, 8),
    (OrganisationKind.SANTE, 5),
)
NON_REFERENT_KINDS = (OrganisationKind.ORGANISME_FORMATION, OrganisationKind.SANTE)
KIND_LABELS: dict[OrganisationKind, str] = {
    OrganisationKind.DEPARTEMENT: "Service social départemental",
    OrganisationKind.FRANCE_TRAVAIL: "France Travail – agence",
    OrganisationKind.MISSION_LOCALE: "Mission locale",
    OrganisationKind.CAP_EMPLOI: "Cap emploi",
    OrganisationKind.CCAS: "CCAS",
    OrganisationKind.PLIE: "PLIE",
    OrganisationKind.SIAE: "Structure d'insertion par l'activité économique",
    OrganisationKind.ASSOCIATION: "Association d'insertion",
    OrganisationKind.ORGANISME_FORMATION: "Organisme de formation",
    OrganisationKind.SANTE: "Partenaire santé",
}


@dataclass
class TableFigures:
    rows: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class SeedReport:
    departement_id: uuid.UUID
    code: str
    beneficiaries: int
    method: str
    tables: dict[str, TableFigures] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    def add_phase(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds


@dataclass(frozen=True)
class Staff:
    """Who the generated journeys draw their referents from."""

    referents: list[tuple[uuid.UUID, uuid.UUID]]  # (account id, organisation id)
    orientation_officer: tuple[uuid.UUID, uuid.UUID]


def seed(
    db_session: Session, *, beneficiaries: int, code: str = DEFAULT_CODE, seed_value: int = SEED
) -> SeedReport:
    """Create a synthetic département with `beneficiaries` people; the caller commits."""
    code = code.strip().upper()
    if not CODE_RE.fullmatch(code):
        raise InvalidInput(f"Code de département invalide : {code!r} (exemples : 99, 2A, 974).")
    if db_session.scalar(select(Departement.id).where(Departement.code == code)) is not None:
        raise Conflict(f"Le département {code} existe déjà : choisissez un autre code.")
    started = perf_counter()
    seeder = _Seeder(db_session, code, beneficiaries, seed_value)
    seeder.run()
    seeder.report.total_seconds = perf_counter() - started
    return seeder.report


class _Writer:
    """Writes lists of row dicts: COPY on PostgreSQL, executemany elsewhere; times each table."""

    def __init__(self, connection: Connection, report: SeedReport) -> None:
        self.connection = connection
        self.report = report
        self.copy = connection.dialect.name == "postgresql"
        self.defaults: dict[str, dict[str, Any]] = {}

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        started = perf_counter()
        self._complete(table, rows)
        if self.copy:
            self._copy(table, rows)
        else:
            self.connection.execute(insert(table), rows)
        figures = self.report.tables.setdefault(table.name, TableFigures())
        figures.rows += len(rows)
        figures.seconds += perf_counter() - started

    def _complete(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Fill the columns a row leaves out with the model's Python default, as the ORM would."""
        missing = [c for c in table.columns if c.name not in rows[0] and c.default is not None]
        for column in missing:
            arg = getattr(column.default, "arg", None)
            for row in rows:
                # SQLAlchemy wraps a callable default to take the execution context.
                row[column.name] = arg(None) if callable(arg) else arg

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        from psycopg import sql

        columns = list(rows[0])
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        raw: Any = self.connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [json.dumps(row[c]) if c in json_columns else row[c] for c in columns]
                )


class _Seeder:
    def __init__(self, db_session: Session, code: str, count: int, seed_value: int) -> None:
        self.db = db_session
        self.code = code
        self.count = count
        self.today = clock.today()
        self.now = clock.now()
        self.rng = random.Random(seed_value)
        self.people = PeopleGenerator(seed_value, ref.communes(), today=self.today)
        self.field_crypto = crypto.current()
        self.departement_id = uuid.uuid4()
        connection = db_session.connection()
        self.report = SeedReport(
            self.departement_id,
            code,
            count,
            "COPY" if connection.dialect.name == "postgresql" else "executemany",
        )
        self.writer = _Writer(connection, self.report)
        self.territories: dict[str, uuid.UUID] = {}
        self.audit_seq = 0
        self.audit_head = audit.GENESIS
        self.departement_ref = 0
        # (person, open journey, referent's start) of the first referent's portfolio.
        self.portfolio: list[tuple[uuid.UUID, uuid.UUID, datetime]] = []
        self.organisation_kinds: dict[uuid.UUID, OrganisationKind] = {}

    def run(self) -> None:
        self._structures()
        staff = self._staff()
        remaining = self.count
        while remaining > 0:
            size = min(BATCH_SIZE, remaining)
            self._batch(staff, size)
            remaining -= size
        self._portfolio_records(staff)

    # -- the département, its structures and its staff --------------------------------
    def _structures(self) -> None:
        self.writer.write(
            _table(Departement),
            [
                {
                    "id": self.departement_id,
                    "code": self.code,
                    "name": f"Département synthétique {self.code}",
                }
            ],
        )
        self.territories = {key: uuid.uuid4() for key in ref.TERRITORIES}
        territory_rows: list[dict[str, Any]] = [
            {"id": self.territories[key], "departement_id": self.departement_id, "name": name}
            for key, name in ref.TERRITORIES.items()
        ]
        self.writer.write(_table(Territory), territory_rows)

    def _staff(self) -> Staff:
        organisations = self._organisations()
        accounts: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        referents: list[tuple[uuid.UUID, uuid.UUID]] = []
        eligible = [o for o in organisations if o["kind"] not in NON_REFERENT_KINDS]
        for number in range(max(40, self.count // PEOPLE_PER_REFERENT)):
            organisation = eligible[number % len(eligible)]
            account_id = self._professional(
                accounts, memberships, organisation, number, MembershipRole.PROFESSIONAL
            )
            referents.append((account_id, organisation["id"]))
        departement_org = next(
            o for o in organisations if o["kind"] == OrganisationKind.DEPARTEMENT
        )
        officer = self._professional(
            accounts,
            memberships,
            departement_org,
            len(accounts),
            MembershipRole.ORIENTATION_OFFICER,
        )
        self._professional(
            accounts, memberships, departement_org, len(accounts), MembershipRole.DEPARTEMENT_ADMIN
        )
        self.writer.write(_table(Account), accounts)
        self.writer.write(_table(Membership), memberships)
        return Staff(referents, (officer, departement_org["id"]))

    def _organisations(self) -> list[dict[str, Any]]:
        rows = []
        decided = self.now - timedelta(days=365)
        territory_ids = list(self.territories.values())
        for number in range(max(12, self.count // PEOPLE_PER_ORGANISATION)):
            # The first structures cover every kind once; the rest follow the mix.
            kind = (
                ORGANISATION_MIX[number][0]
                if number < len(ORGANISATION_MIX)
                else weighted(self.rng, ORGANISATION_MIX)
            )
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "departement_id": self.departement_id,
                    "territory_id": territory_ids[number % len(territory_ids)],
                    "name": f"{KIND_LABELS[kind]} n° {number + 1}",
                    "kind": kind.value,
                    "siret": f"{self.rng.randrange(10**13, 10**14)}",
                    "is_sensible": False,
                    "accreditation_status": AccreditationStatus.ACCREDITED.value,
                    "accreditation_decided_at": decided,
                    "created_at": decided,
                }
            )
        self.writer.write(_table(Organisation), rows)
        self.organisation_kinds = {
            uuid.UUID(str(row["id"])): OrganisationKind(str(row["kind"])) for row in rows
        }
        return rows

    def _professional(
        self,
        accounts: list[dict[str, Any]],
        memberships: list[dict[str, Any]],
        organisation: dict[str, Any],
        number: int,
        role: MembershipRole,
    ) -> uuid.UUID:
        account_id = uuid.uuid4()
        person = self.people.person()
        accounts.append(
            {
                "id": account_id,
                "kind": AccountKind.PROFESSIONAL.value,
                "email": f"agent{number + 1:05d}.d{self.code.lower()}@seed.{ref.EMAIL_DOMAIN}",
                "given_name": person.given_name,
                "family_name": person.family_name,
                "is_disabled": False,
                "created_at": self.now,
            }
        )
        memberships.append(
            {
                "id": uuid.uuid4(),
                "account_id": account_id,
                "organisation_id": organisation["id"],
                "departement_id": self.departement_id,
                "role": role.value,
                "job_title": "Référent de parcours",
                "created_at": self.now,
                "ended_at": None,
            }
        )
        return account_id

    # -- people, by batches ---------------------------------------------------------
    def _batch(self, staff: Staff, size: int) -> None:
        started = perf_counter()
        rows = _BatchRows()
        for _ in range(size):
            self._person(rows, staff)
        self.report.add_phase(
            "génération des lignes", perf_counter() - started - rows.sealing - rows.chaining
        )
        self.report.add_phase("scellement des NIR (clé, AES-GCM, index)", rows.sealing)
        self.report.add_phase("chaînage du journal d'accès", rows.chaining)
        for table, batch in rows.in_write_order():
            self.writer.write(table, batch)

    def _person(self, rows: _BatchRows, staff: Staff) -> None:
        person = self.people.person()
        beneficiary_id = uuid.uuid4()
        waiting = self.rng.random() < WAITING_SHARE
        if waiting:
            journeys: list[tuple[date, date | None]] = [
                (self.today - timedelta(days=self.rng.randint(0, WAITING_DAYS)), None)
            ]
        else:
            journeys = self._journey_dates()
        rows.beneficiaries.append(self._beneficiary_row(beneficiary_id, person, journeys))
        self._seal(rows, beneficiary_id, person.nir)
        for opened_on, closed_on in journeys:
            self._journey(rows, staff, beneficiary_id, opened_on, closed_on, waiting=waiting)
        self._audit(rows, beneficiary_id)

    def _journey_dates(self) -> list[tuple[date, date | None]]:
        rng, today = self.rng, self.today
        opened = today - timedelta(days=rng.randint(2, 3 * 365))
        if rng.random() >= 0.12 or opened > today - timedelta(days=400):
            return [(opened, None)]
        closed = opened + timedelta(days=rng.randint(120, 300))
        return [(opened, closed), (min(closed + timedelta(days=rng.randint(30, 90)), today), None)]

    def _beneficiary_row(
        self, beneficiary_id: uuid.UUID, person: Person, journeys: list[tuple[date, date | None]]
    ) -> dict[str, Any]:
        self.departement_ref += 1
        return {
            "id": beneficiary_id,
            "departement_id": self.departement_id,
            "account_id": None,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "birth_name": person.birth_name,
            "search_name": person.search_name,
            "sex": person.sex.value,
            "birth_on": person.birth_on,
            "birth_place": person.birth_place,
            "caf_number": person.caf_number,
            "is_msa": person.is_msa,
            "france_travail_id": self.people.france_travail_id()
            if self.rng.random() < 0.5
            else None,
            "departement_ref": f"RSA{self.code}-{self.departement_ref:07d}",
            "address_line": person.address_line,
            "postal_code": person.postal_code,
            "city": person.city,
            "phone": person.phone,
            "email": person.email,
            "preferred_channel": person.preferred_channel.value,
            "digital_autonomy": person.digital_autonomy.value,
            "rsa_state": RsaState.OPEN.value,
            "is_subject_to_duties": True,
            "household_role": person.household_role.value,
            "right_opened_on": journeys[-1][0],
            "suspension_reason": None,
            "other_allowances": person.other_allowances,
            "dependants": person.dependants,
            "is_synthetic": True,
            "created_at": self._at(journeys[0][0]),
            "updated_at": self.now,
            # Filled by `_seal`.
            "nir_sealed": None,
            "nir_bidx": None,
        }

    def _seal(self, rows: _BatchRows, beneficiary_id: uuid.UUID, nir: str) -> None:
        """What `FieldCrypto.seal` does, without a session round trip per person."""
        started = perf_counter()
        data_key = AESGCM.generate_key(bit_length=256)
        kek_id, wrapped = self.field_crypto.ring.wrap(data_key)
        nonce = os.urandom(crypto.NONCE_BYTES)
        aad = crypto.associated_data(
            table=NIR_TABLE, column=NIR_COLUMN, row_id=beneficiary_id, beneficiary_id=beneficiary_id
        )
        row = rows.beneficiaries[-1]
        row["nir_sealed"] = (
            crypto.FORMAT_VERSION + nonce + AESGCM(data_key).encrypt(nonce, nir.encode(), aad)
        )
        row["nir_bidx"] = self.field_crypto.blind_index(departement_id=self.departement_id, nir=nir)
        rows.data_keys.append(
            {
                "beneficiary_id": beneficiary_id,
                "departement_id": self.departement_id,
                "kek_id": kek_id,
                "wrapped_key": wrapped,
                "created_at": self.now,
                "rotated_at": None,
                "shredded_at": None,
            }
        )
        rows.sealing += perf_counter() - started

    def _journey(
        self,
        rows: _BatchRows,
        staff: Staff,
        beneficiary_id: uuid.UUID,
        opened_on: date,
        closed_on: date | None,
        *,
        waiting: bool = False,
    ) -> None:
        journey_id = uuid.uuid4()
        exit_reason = weighted(self.rng, ref.EXIT_REASONS) if closed_on else None
        rows.journeys.append(
            {
                "id": journey_id,
                "departement_id": self.departement_id,
                "beneficiary_id": beneficiary_id,
                "opened_on": opened_on,
                "closed_on": closed_on,
                "exit_reason": exit_reason.value if exit_reason else None,
                "first_oriented_on": None,  # set by `_orientation`
                "created_at": self._at(opened_on),
            }
        )
        self._event(rows, beneficiary_id, journey_id, "records:journey:opened", self._at(opened_on))
        if waiting:
            return  # in the orientation queue: no orientation, no referent
        # About one open journey in ten is oriented to a structure that has not designated
        # its referent yet.
        if closed_on is None and self.rng.random() < 0.1:
            organisation_id = self.rng.choice(staff.referents[1:])[1]
            decided = min(opened_on + timedelta(days=self.rng.randint(3, 30)), self.today)
            self._orientation(
                rows, staff, beneficiary_id, journey_id, organisation_id, None, decided, None
            )
            return
        self._referent(rows, staff, beneficiary_id, journey_id, opened_on, closed_on, exit_reason)

    def _referent(
        self,
        rows: _BatchRows,
        staff: Staff,
        beneficiary_id: uuid.UUID,
        journey_id: uuid.UUID,
        opened_on: date,
        closed_on: date | None,
        exit_reason: JourneyExitReason | None,
    ) -> None:
        started = self._at(min(opened_on + timedelta(days=self.rng.randint(3, 30)), self.today))
        if closed_on is None and len(self.portfolio) < PORTFOLIO_SIZE:
            account_id, organisation_id = staff.referents[0]
            self.portfolio.append((beneficiary_id, journey_id, started))
            self._member(rows, staff, beneficiary_id, journey_id, started)
        else:
            account_id, organisation_id = self.rng.choice(staff.referents[1:])
        ended = self._at(closed_on) if closed_on else None
        if ended is not None and ended < started:
            ended = started
        self._orientation(
            rows,
            staff,
            beneficiary_id,
            journey_id,
            organisation_id,
            account_id,
            started.date(),
            ended.date() if ended is not None else None,
        )
        membership_id = uuid.uuid4()
        rows.memberships.append(
            {
                "id": membership_id,
                "departement_id": self.departement_id,
                "journey_id": journey_id,
                "beneficiary_id": beneficiary_id,
                "account_id": account_id,
                "organisation_id": organisation_id,
                "role": GroupRole.REFERENT.value,
                "started_at": started,
                "start_reason": ref.START_REASONS["referent"],
                "is_break_glass": False,
                "ended_at": ended,
                "end_reason": ref.JOURNEY_END_REASON if ended else None,
                "added_by_id": staff.orientation_officer[0],
            }
        )
        details = {
            "membership_id": str(membership_id),
            "role": GroupRole.REFERENT.value,
            "organisation_id": str(organisation_id),
        }
        self._event(
            rows,
            beneficiary_id,
            journey_id,
            "records:group:member_added",
            started,
            actor=staff.orientation_officer,
            details=details,
        )
        if ended is not None and exit_reason is not None:
            self._event(
                rows,
                beneficiary_id,
                journey_id,
                "records:group:member_ended",
                ended,
                details=details,
            )
            self._event(
                rows,
                beneficiary_id,
                journey_id,
                "records:journey:closed",
                ended,
                details={"exit_reason": exit_reason.value},
            )

    def _orientation(
        self,
        rows: _BatchRows,
        staff: Staff,
        beneficiary_id: uuid.UUID,
        journey_id: uuid.UUID,
        organisation_id: uuid.UUID,
        referent_account_id: uuid.UUID | None,
        starts_on: date,
        ends_on: date | None,
    ) -> None:
        """The orientation period the officer decided: to the referent's structure, of a
        type that structure accompanies; it ends with the journey."""
        kind = self.organisation_kinds[organisation_id]
        types = ORIENTATION_TYPES.get(kind, (OrientationType.SOCIO_PROFESSIONAL,))
        orientation_type = types[0] if self.rng.random() < 0.75 else self.rng.choice(types)
        decided_at = self._at(starts_on)
        orientation_id = uuid.uuid4()
        # Core inserts skip the ORM hook that derives it: the journey is the last appended.
        journey = rows.journeys[-1]
        if journey["id"] != journey_id:
            raise RuntimeError("an orientation is written right after its journey")
        journey["first_oriented_on"] = starts_on
        rows.orientations.append(
            {
                "id": orientation_id,
                "departement_id": self.departement_id,
                "beneficiary_id": beneficiary_id,
                "journey_id": journey_id,
                "type": orientation_type.value,
                "organisation_id": organisation_id,
                "referent_account_id": referent_account_id,
                "motive": ORIENTATION_MOTIVES[orientation_type],
                "starts_on": starts_on,
                "ends_on": max(ends_on, starts_on) if ends_on is not None else None,
                "decided_at": decided_at,
                "decided_by_account_id": staff.orientation_officer[0],
                "decided_by_organisation_id": staff.orientation_officer[1],
                "proposal": None,
            }
        )
        self._event(
            rows,
            beneficiary_id,
            journey_id,
            "orientation:period:decided",
            decided_at,
            actor=staff.orientation_officer,
            details={
                "orientation_id": str(orientation_id),
                "type": orientation_type.value,
                "organisation_id": str(organisation_id),
            },
        )

    def _member(
        self,
        rows: _BatchRows,
        staff: Staff,
        beneficiary_id: uuid.UUID,
        journey_id: uuid.UUID,
        referent_started: datetime,
    ) -> None:
        """A professional of another structure, invited by the referent a few weeks later."""
        others = [pro for pro in staff.referents if pro[1] != staff.referents[0][1]]
        account_id, organisation_id = self.rng.choice(others)
        started = min(referent_started + timedelta(days=self.rng.randint(7, 60)), self.now)
        membership_id = uuid.uuid4()
        rows.memberships.append(
            {
                "id": membership_id,
                "departement_id": self.departement_id,
                "journey_id": journey_id,
                "beneficiary_id": beneficiary_id,
                "account_id": account_id,
                "organisation_id": organisation_id,
                "role": GroupRole.MEMBER.value,
                "started_at": started,
                "start_reason": ref.START_REASONS["member"],
                "is_break_glass": False,
                "ended_at": None,
                "end_reason": None,
                "added_by_id": staff.referents[0][0],
            }
        )
        details = {
            "membership_id": str(membership_id),
            "role": GroupRole.MEMBER.value,
            "organisation_id": str(organisation_id),
        }
        self._event(
            rows,
            beneficiary_id,
            journey_id,
            "records:group:member_added",
            started,
            actor=staff.referents[0],
            details=details,
        )

    # -- the full records of one referent's portfolio ----------------------------------
    def _portfolio_records(self, staff: Staff) -> None:
        """The referential, then a plan, appointments and notes for each person the first
        referent follows: what the services would have written over months of follow-up."""
        started = perf_counter()
        referential_services.seed_referential(self.departement_id)
        referent = staff.referents[0]
        plan_services.seed_demo_plans(
            departement_id=self.departement_id,
            plans=demo_plans.sketch(self.portfolio, referent, self.rng, now=self.now),
        )
        self.db.flush()
        rows = _BatchRows()
        for beneficiary_id, journey_id, since in self.portfolio:
            self._meetings(rows, referent, beneficiary_id, journey_id, since)
        self.report.add_phase("dossiers complets du portefeuille", perf_counter() - started)
        for table, batch in rows.in_write_order():
            self.writer.write(table, batch)

    def _meetings(
        self,
        rows: _BatchRows,
        referent: tuple[uuid.UUID, uuid.UUID],
        beneficiary_id: uuid.UUID,
        journey_id: uuid.UUID,
        since: datetime,
    ) -> None:
        """Two past appointments (attendance recorded), one upcoming, and one note of each
        visibility about the first, as `meetings.services` would write them."""
        account_id, organisation_id = referent
        span = max(2, (self.today - since.date()).days)
        offsets = [
            (-self.rng.randint(span // 2 + 1, span), Attendance.PRESENT),
            (-self.rng.randint(1, span // 2), self.rng.choice(list(Attendance))),
            (self.rng.randint(3, 30), None),
        ]
        first: dict[str, Any] | None = None
        for offset, attendance in offsets:
            starts_at = datetime.combine(
                self.today + timedelta(days=offset),
                time(self.rng.choice((8, 9, 13, 14)), self.rng.choice((0, 30))),
                tzinfo=UTC,
            )
            remote = self.rng.random() < 0.3
            recorded_at = (
                min(starts_at + timedelta(hours=2), self.now) if attendance is not None else None
            )
            appointment: dict[str, Any] = {
                "id": uuid.uuid4(),
                "departement_id": self.departement_id,
                "beneficiary_id": beneficiary_id,
                "journey_id": journey_id,
                "kind": AppointmentKind.INDIVIDUAL.value,
                "starts_at": starts_at,
                "channel": (
                    AppointmentChannel.PHONE if remote else AppointmentChannel.IN_PERSON
                ).value,
                "place": None if remote else "Accueil de la structure",
                "organisation_id": organisation_id,
                "professional_account_id": account_id,
                "topics": self.rng.choice(MEETING_TOPICS),
                "attendance": attendance.value if attendance is not None else None,
                "attendance_recorded_at": recorded_at,
                "attendance_recorded_by_id": account_id if attendance is not None else None,
                "is_cancelled": False,
                "cancellation_reason": None,
                "cancelled_at": None,
                "created_at": min(starts_at - timedelta(days=7), self.now),
                "created_by_id": account_id,
                "updated_at": recorded_at or min(starts_at - timedelta(days=7), self.now),
                "version": 1,
            }
            rows.appointments.append(appointment)
            details = {"appointment_id": str(appointment["id"])}
            self._event(
                rows,
                beneficiary_id,
                journey_id,
                meetings_services.Event.APPOINTMENT_CREATED.value,
                appointment["created_at"],
                actor=referent,
                details=details,
            )
            if recorded_at is not None:
                self._event(
                    rows,
                    beneficiary_id,
                    journey_id,
                    meetings_services.Event.ATTENDANCE_RECORDED.value,
                    recorded_at,
                    actor=referent,
                    details=details,
                )
            first = first or appointment
        assert first is not None  # noqa: S101 - three appointments were just made
        for visibility, body in MEETING_NOTES.items():
            note_id = uuid.uuid4()
            rows.notes.append(
                {
                    "id": note_id,
                    "departement_id": self.departement_id,
                    "beneficiary_id": beneficiary_id,
                    "appointment_id": first["id"],
                    "author_account_id": account_id,
                    "author_organisation_id": organisation_id,
                    "visibility": visibility.value,
                    "body_sealed": self.field_crypto.seal(
                        self.db,
                        beneficiary_id=beneficiary_id,
                        departement_id=self.departement_id,
                        table=meetings_services.NOTE_TABLE,
                        column=meetings_services.NOTE_COLUMN,
                        row_id=note_id,
                        plaintext=body,
                    ),
                    "created_at": first["attendance_recorded_at"],
                }
            )
            self._event(
                rows,
                beneficiary_id,
                journey_id,
                meetings_services.Event.NOTE_ADDED.value,
                first["attendance_recorded_at"],
                actor=referent,
                details={
                    "note_id": str(note_id),
                    "visibility": visibility.value,
                    "appointment_id": str(first["id"]),
                },
            )

    def _audit(self, rows: _BatchRows, beneficiary_id: uuid.UUID) -> None:
        """The row `audit.record_access` would write, chained onto the previous one."""
        started = perf_counter()
        self.audit_seq += 1
        event = audit.AccessEvent(
            id=uuid.uuid4(),
            departement_id=self.departement_id,
            seq=self.audit_seq,
            occurred_at=clock.now(),
            actor_account_id=None,
            actor_organisation_id=None,
            actor_membership_id=None,
            actor_role="system",
            actor_label=CLI_LABEL,
            auth_method="system",
            beneficiary_id=beneficiary_id,
            object_id=beneficiary_id,
            section=permission(Section.IDENTITY, Level.WRITE),
            action=AuditAction.CREATE,
            purpose=Purpose.SYSTEM,
            outcome=Outcome.ALLOWED,
            tag="records:beneficiary:created",
            prev_hash=self.audit_head,
        )
        event.hash = event.compute_hash()
        self.audit_head = event.hash
        rows.access_events.append(_audit_row(event))
        rows.chaining += perf_counter() - started

    def _event(
        self,
        rows: _BatchRows,
        beneficiary_id: uuid.UUID,
        journey_id: uuid.UUID,
        kind: str,
        at: datetime,
        *,
        actor: tuple[uuid.UUID, uuid.UUID] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        rows.events.append(
            {
                "id": uuid.uuid4(),
                "departement_id": self.departement_id,
                "beneficiary_id": beneficiary_id,
                "journey_id": journey_id,
                "kind": kind,
                "occurred_at": at,
                "actor_account_id": actor[0] if actor else None,
                "actor_organisation_id": actor[1] if actor else None,
                "details": details or {},
            }
        )

    def _at(self, day: date) -> datetime:
        moment = datetime.combine(
            day, time(self.rng.randint(7, 15), self.rng.randint(0, 59)), tzinfo=UTC
        )
        return min(moment, self.now)


AUDIT_COLUMNS = (
    "id",
    "departement_id",
    "seq",
    "occurred_at",
    "actor_account_id",
    "actor_organisation_id",
    "actor_membership_id",
    "actor_role",
    "actor_label",
    "auth_method",
    "beneficiary_id",
    "object_id",
    "section",
    "tag",
    "prev_hash",
    "hash",
)


def _audit_row(event: audit.AccessEvent) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in AUDIT_COLUMNS}
    row.update(action=event.action.value, purpose=event.purpose.value, outcome=event.outcome.value)
    return row


@dataclass
class _BatchRows:
    beneficiaries: list[dict[str, Any]] = field(default_factory=list)
    data_keys: list[dict[str, Any]] = field(default_factory=list)
    journeys: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    orientations: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    access_events: list[dict[str, Any]] = field(default_factory=list)
    sealing: float = 0.0
    chaining: float = 0.0

    def in_write_order(self) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
        yield _table(Beneficiary), self.beneficiaries
        yield _table(DataKey), self.data_keys
        yield _table(Journey), self.journeys
        yield _table(GroupMembership), self.memberships
        yield _table(Orientation), self.orientations
        yield _table(Appointment), self.appointments
        yield _table(Note), self.notes
        yield _table(TimelineEvent), self.events
        yield _table(audit.AccessEvent), self.access_events


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[str(model.__tablename__)]
