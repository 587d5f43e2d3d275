"""The demo département has the promised shape, its NIRs open and its access log verifies."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from carnet import clock
from carnet.app_setup import PROJECT_ROOT
from carnet.auth.models import Account, AccountKind
from carnet.contracts.models import (
    Contract,
    ContractKind,
    ContractStatus,
    ContractVersion,
    SignatureMode,
    VersionStatus,
)
from carnet.demo.loader import BENEFICIARIES, DemoSummary, load_demo, showcase_accounts
from carnet.demo.run import accounts_markdown
from carnet.orientation.models import POSITIVE_EMPLOYMENT, JobFollowUp, JourneyExit, Orientation
from carnet.records.models import (
    Beneficiary,
    Consent,
    GroupMembership,
    Journey,
    RsaState,
    TimelineEvent,
)
from carnet.records.services import NIR_COLUMN, NIR_TABLE
from carnet.security import audit, crypto
from carnet.security.permissions import GroupRole, OrganisationKind
from carnet.tenancy.models import (
    AccreditationStatus,
    Departement,
    Membership,
    Organisation,
    Territory,
)


@pytest.fixture
def demo(db_session: Any) -> DemoSummary:
    return load_demo(db_session)


def test_demo_has_one_departement_three_territories_and_every_kind_of_structure(
    db_session: Any, demo: DemoSummary
) -> None:
    departement = db_session.scalars(select(Departement)).one()
    assert departement.name == "Haute-Vienne (démo)"
    assert db_session.scalar(select(func.count()).select_from(Territory)) == 3
    organisations = db_session.scalars(select(Organisation)).all()
    assert len(organisations) >= 12
    assert {o.kind for o in organisations} == set(OrganisationKind)
    assert any(o.is_sensible and o.kind is OrganisationKind.SANTE for o in organisations)
    pending = [o for o in organisations if o.accreditation_status is AccreditationStatus.PENDING]
    assert len(pending) == 1
    assert all(o.accreditation_decided_at for o in organisations if o not in pending)


def test_demo_professionals_hold_one_or_several_roles(db_session: Any, demo: DemoSummary) -> None:
    professionals = db_session.scalars(
        select(Account).where(Account.kind == AccountKind.PROFESSIONAL)
    ).all()
    assert 35 <= len(professionals) <= 45
    assert all(a.email and a.email.endswith("@demo.carnet.fr") for a in professionals)
    memberships = db_session.scalars(select(Membership)).all()
    per_account = Counter(m.account_id for m in memberships)
    assert sum(1 for count in per_account.values() if count > 1) >= 5
    organisations_per_account = {
        account: {m.organisation_id for m in memberships if m.account_id == account}
        for account in per_account
    }
    assert any(len(orgs) > 1 for orgs in organisations_per_account.values())
    assert {m.role for m in memberships} == {
        "professional",
        "orientation_officer",
        "structure_admin",
        "departement_admin",
        "team_member",
    }
    admins = db_session.scalars(
        select(Account).where(Account.kind == AccountKind.PLATFORM_ADMIN)
    ).all()
    assert len(admins) == 1


def test_demo_people_are_synthetic_and_in_varied_situations(
    db_session: Any, demo: DemoSummary
) -> None:
    people = db_session.scalars(select(Beneficiary)).all()
    assert len(people) == BENEFICIARIES == demo.beneficiaries
    assert all(p.is_synthetic for p in people)
    assert {p.rsa_state for p in people} == set(RsaState)
    assert {p.household_role for p in people} == {"demandeur", "conjoint"}
    ages = [(p.created_at.date() - p.birth_on).days // 365 for p in people]
    assert min(ages) >= 16
    assert len({p.departement_ref for p in people}) == len(people)
    assert sum(1 for p in people if p.france_travail_id) > 50
    accounts = [p for p in people if p.account_id is not None]
    assert len(accounts) == 10


def test_each_open_journey_has_at_most_one_active_referent(
    db_session: Any, demo: DemoSummary
) -> None:
    journeys = db_session.scalars(select(Journey)).all()
    open_journeys = [j for j in journeys if j.closed_on is None]
    referents = {
        j.id: [m for m in j.group if m.role is GroupRole.REFERENT and m.ended_at is None]
        for j in open_journeys
    }
    assert all(len(active) <= 1 for active in referents.values())
    waiting = [j for j, active in referents.items() if not active]
    assert 5 <= len(waiting) <= 40
    closed = [j for j in journeys if j.closed_on is not None]
    assert closed
    assert all(j.exit_reason for j in closed)
    assert all(m.ended_at for j in closed for m in j.group)
    ended = db_session.scalars(
        select(GroupMembership).where(GroupMembership.ended_at.is_not(None))
    ).all()
    assert all(m.end_reason and m.ended_at >= m.started_at for m in ended)
    # Some people came back: an exit, then a new journey on the same record.
    per_person = Counter(j.beneficiary_id for j in journeys)
    assert any(count > 1 for count in per_person.values())


def test_referent_comes_from_a_structure_that_accompanies(
    db_session: Any, demo: DemoSummary
) -> None:
    kinds = dict(db_session.execute(select(Organisation.id, Organisation.kind)).all())
    referents = db_session.scalars(
        select(GroupMembership).where(
            GroupMembership.role == GroupRole.REFERENT, GroupMembership.ended_at.is_(None)
        )
    ).all()
    assert {kinds[m.organisation_id] for m in referents} <= {
        OrganisationKind.DEPARTEMENT,
        OrganisationKind.FRANCE_TRAVAIL,
        OrganisationKind.MISSION_LOCALE,
        OrganisationKind.CAP_EMPLOI,
        OrganisationKind.CCAS,
        OrganisationKind.PLIE,
        OrganisationKind.SIAE,
        OrganisationKind.ASSOCIATION,
    }


def test_health_consents_name_a_structure_of_the_group_that_needs_one(
    db_session: Any, demo: DemoSummary
) -> None:
    kinds = dict(db_session.execute(select(Organisation.id, Organisation.kind)).all())
    consents = db_session.scalars(select(Consent)).all()
    assert consents
    for consent in consents:
        # The référent's structure the person opened the compartment to
        # (carnet/demo/situation.py); a health structure reads it by its mission, no consent.
        assert kinds[consent.organisation_id] != OrganisationKind.SANTE
        members = db_session.scalars(
            select(GroupMembership.organisation_id).where(
                GroupMembership.beneficiary_id == consent.beneficiary_id,
                GroupMembership.started_at <= consent.granted_at,
            )
        ).all()
        assert consent.organisation_id in members


def test_demo_nirs_open_and_their_blind_index_finds_the_person(
    db_session: Any, demo: DemoSummary
) -> None:
    field_crypto = crypto.current()
    people = db_session.scalars(select(Beneficiary).order_by(Beneficiary.departement_ref)).all()
    assert all(p.nir_sealed and p.nir_bidx for p in people)
    for person in people[::25]:
        nir = field_crypto.open(
            db_session,
            beneficiary_id=person.id,
            table=NIR_TABLE,
            column=NIR_COLUMN,
            row_id=person.id,
            sealed=person.nir_sealed,
        )
        assert crypto.normalise_nir(nir) == nir
        assert nir[0] == ("1" if person.sex == "M" else "2")
        assert nir[1:5] == person.birth_on.strftime("%y%m")
        index = field_crypto.blind_index(departement_id=person.departement_id, nir=nir)
        found = db_session.scalars(select(Beneficiary.id).where(Beneficiary.nir_bidx == index))
        assert list(found) == [person.id]


def test_demo_access_log_has_one_row_per_person_and_verifies(
    db_session: Any, demo: DemoSummary
) -> None:
    report = audit.verify_chain(db_session, demo.departement_id)
    assert report.problem is None
    assert report.rows == BENEFICIARIES
    events = db_session.scalars(select(audit.AccessEvent)).all()
    assert {(e.tag, e.actor_label, e.actor_role) for e in events} == {
        ("records:beneficiary:created", "cli:demo", "system")
    }
    assert {e.beneficiary_id for e in events} == set(db_session.scalars(select(Beneficiary.id)))


def test_timeline_tells_what_the_loader_did(db_session: Any, demo: DemoSummary) -> None:
    kinds = Counter(db_session.scalars(select(TimelineEvent.kind)))
    assert kinds["records:beneficiary:created"] == BENEFICIARIES
    assert kinds["records:journey:opened"] == demo.journeys
    handovers = kinds["records:group:referent_changed"]
    assert handovers > 0
    assert kinds["records:group:member_added"] + handovers == db_session.scalar(
        select(func.count()).select_from(GroupMembership)
    )
    assert kinds["records:journey:closed"] > 0
    # Consents given by the person, or recorded in a meeting (carnet/demo/situation.py).
    given = kinds["records:consent:granted"] + kinds["records:consent:granted_accompanied"]
    assert given == db_session.scalar(select(func.count()).select_from(Consent))


def test_every_listed_demo_account_exists(db_session: Any, demo: DemoSummary) -> None:
    emails = set(db_session.scalars(select(Account.email)))
    listed = showcase_accounts()
    assert len(listed) >= 15
    assert {email for _, email, _, _ in listed} <= emails


def test_the_readme_lists_the_demo_accounts_as_they_are() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert accounts_markdown() in readme


def test_a_demo_referent_opens_a_record_and_its_nir_in_the_site(
    db_session: Any, demo: DemoSummary, client: Any, make_client: Any, login_as: Any
) -> None:
    julien = db_session.scalar(
        select(Account).where(Account.email == "julien.marchand@demo.carnet.fr")
    )
    samia = db_session.scalars(
        select(Beneficiary).where(
            Beneficiary.given_name == "Samia", Beneficiary.family_name == "Belkacem"
        )
    ).one()
    assert login_as(client, julien).status_code == 302
    record = client.get(f"/personnes/{samia.id}")
    assert record.status_code == 200
    assert "Samia Belkacem" in record.get_data(as_text=True)
    shown = client.submit(f"/personnes/{samia.id}/nir", {}, form_page=f"/personnes/{samia.id}")
    assert shown.status_code == 200
    nir = crypto.current().open(
        db_session,
        beneficiary_id=samia.id,
        table=NIR_TABLE,
        column=NIR_COLUMN,
        row_id=samia.id,
        sealed=samia.nir_sealed,
    )
    revealed = re.search(r'id="nir-value">([^<]+)<', shown.get_data(as_text=True))
    assert revealed is not None
    assert "".join(revealed.group(1).split()) == nir

    nathalie = db_session.scalar(
        select(Account).where(Account.email == "nathalie.petit@demo.carnet.fr")
    )
    assert login_as(make_client(), nathalie).status_code == 302


def test_showcase_people_are_as_the_accounts_table_says(db_session: Any, demo: DemoSummary) -> None:
    def person(given_name: str, family_name: str) -> Beneficiary:
        return db_session.scalars(
            select(Beneficiary).where(
                Beneficiary.given_name == given_name, Beneficiary.family_name == family_name
            )
        ).one()

    def active(journey: Journey, role: GroupRole) -> list[GroupMembership]:
        return [m for m in journey.group if m.role is role and m.ended_at is None]

    samia = person("Samia", "Belkacem")
    earlier, current = sorted(samia.journeys, key=lambda j: j.opened_on)
    assert earlier.exit_reason == "emploi"
    assert current.closed_on is None
    julien = db_session.scalar(
        select(Account.id).where(Account.email == "julien.marchand@demo.carnet.fr")
    )
    assert [m.account_id for m in active(current, GroupRole.REFERENT)] == [julien]

    gerard = person("Gérard", "Lemoine")
    assert gerard.current_journey is not None
    assert active(gerard.current_journey, GroupRole.REFERENT) == []

    nathalie = person("Nathalie", "Petit")
    csapa = db_session.scalar(select(Organisation).where(Organisation.is_sensible.is_(True)))
    consents = db_session.scalars(select(Consent).where(Consent.beneficiary_id == nathalie.id))
    # The CSAPA is in her group (a health structure: no consent needed); she opened her
    # health compartment to her référente's structure from her own space.
    assert csapa.id in {
        m.organisation_id for m in active(nathalie.current_journey, GroupRole.MEMBER)
    }
    [referente] = active(nathalie.current_journey, GroupRole.REFERENT)
    [consent] = consents
    assert consent.organisation_id == referente.organisation_id
    assert consent.recorded_by_id == nathalie.account_id
    assert consent.withdrawn_at is None


def test_every_referent_came_through_an_orientation_and_exits_are_detailed(
    db_session: Any, demo: DemoSummary
) -> None:
    journeys = db_session.scalars(select(Journey)).all()
    periods = db_session.scalars(select(Orientation)).all()
    open_periods = Counter(p.journey_id for p in periods if p.ends_on is None)
    for journey in journeys:
        has_referent = any(
            m.role is GroupRole.REFERENT and m.ended_at is None for m in journey.group
        )
        if journey.closed_on is None and has_referent:
            assert open_periods[journey.id] == 1
            assert journey.first_oriented_on is not None
        if journey.closed_on is not None:
            assert open_periods[journey.id] == 0
    assert all(p.ends_on is None or p.ends_on >= p.starts_on for p in periods)
    exits = {e.journey_id: e for e in db_session.scalars(select(JourneyExit))}
    closed = [j for j in journeys if j.closed_on is not None]
    assert closed
    assert all(exits[j.id].reason == j.exit_reason for j in closed)
    to_employment = [e for e in exits.values() if e.employment_kind is not None]
    follow_ups = Counter(f.exit_id for f in db_session.scalars(select(JobFollowUp)))
    assert to_employment
    assert all(follow_ups[e.id] == 2 for e in to_employment)
    assert all(e.is_positive == (e.employment_kind in POSITIVE_EMPLOYMENT) for e in exits.values())


def test_showcase_contracts_and_the_queue(db_session: Any, demo: DemoSummary) -> None:
    def person(given_name: str, family_name: str) -> Beneficiary:
        return db_session.scalars(
            select(Beneficiary).where(
                Beneficiary.given_name == given_name, Beneficiary.family_name == family_name
            )
        ).one()

    nathalie = person("Nathalie", "Petit")
    samia = person("Samia", "Belkacem")
    gerard = person("Gérard", "Lemoine")
    [cer] = db_session.scalars(
        select(Contract).where(
            Contract.beneficiary_id == nathalie.id, Contract.status == ContractStatus.IN_FORCE
        )
    ).all()
    assert cer.kind is ContractKind.CER
    assert 0 < (cer.ends_on - clock.today()).days <= 30  # her référente's portfolio alert
    [signed] = db_session.scalars(
        select(ContractVersion).where(ContractVersion.contract_id == cer.id)
    ).all()
    assert signed.person_signature_mode is SignatureMode.ACCOMPANIED
    document = crypto.current().open_bytes(
        db_session,
        beneficiary_id=nathalie.id,
        table="contract_versions",
        column="pdf_sealed",
        row_id=signed.id,
        sealed=signed.pdf_sealed,
    )
    assert document.startswith(b"%PDF-")
    assert hashlib.sha256(document).hexdigest() == signed.pdf_sha256
    [proposed] = db_session.scalars(
        select(ContractVersion).where(ContractVersion.beneficiary_id == samia.id)
    ).all()
    assert proposed.status is VersionStatus.PROPOSED
    assert proposed.weekly_hours == 15
    # Gérard's right opened lately and nobody oriented him: he waits in the queue.
    assert gerard.current_journey.first_oriented_on is None
    assert not db_session.scalars(
        select(Orientation).where(Orientation.beneficiary_id == gerard.id)
    ).all()
