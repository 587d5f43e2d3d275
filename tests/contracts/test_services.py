"""The contracts' life cycle through the services: every allowed and refused transition,
the rules of a version's terms, the objectives' consent, one contract in force per kind,
the signed PDF, immutability, the journey's exit and the end dates."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from carnet import clock, db
from carnet.contracts import pdf, services
from carnet.contracts.models import (
    Contract,
    ContractKind,
    ContractStatus,
    ContractVersion,
    SignatureMode,
    SignedVersionChanged,
    VersionStatus,
)
from carnet.contracts.services import REFUSALS, TRANSITIONS, Exemption, Step
from carnet.errors import Conflict, InvalidInput, NotFound
from carnet.notifications.models import Notification
from carnet.plan.models import PlanObjective
from carnet.records import gate
from carnet.records.models import Beneficiary, TimelineEvent
from carnet.security import scoping
from carnet.security.audit import AccessEvent
from carnet.security.permissions import Purpose, Section
from tests.contracts.seed import (
    PERSON_COMMITMENTS,
    contract_of,
    member,
    person,
    referent,
    signed_contract,
    terms,
)
from tests.records.world import build_world

C, V = ContractStatus, VersionStatus


@pytest.fixture
def world(db_session):
    return build_world()


def _draft(world, kind=ContractKind.CER, **changes):
    with scoping.scoped_to(world.departement_id):
        return services.create_draft(
            actor=referent(world), beneficiary_id=world.person.id, kind=kind, terms=terms(**changes)
        )


def _rows(contract_id):
    contract = db.session().get(Contract, contract_id)
    db.session().refresh(contract)
    versions = list(
        db.session().scalars(
            select(ContractVersion)
            .where(ContractVersion.contract_id == contract_id)
            .order_by(ContractVersion.number)
        )
    )
    for version in versions:
        db.session().refresh(version)
    return contract, versions


def _version(contract_id, number=None):
    _, versions = _rows(contract_id)
    return versions[-1] if number is None else versions[number - 1]


def _seen(contract_id):
    """The fingerprint of the open version's text, as a signer's page sends it back."""
    return services.content_key(_version(contract_id))


def _call(world, function, actor=None, **kwargs):
    with scoping.scoped_to(world.departement_id):
        return function(actor=actor or referent(world), beneficiary_id=world.person.id, **kwargs)


def _events(contract_id):
    return [
        row.kind
        for row in db.session().scalars(
            select(TimelineEvent).order_by(TimelineEvent.occurred_at, TimelineEvent.id)
        )
        if row.details.get("contract_id") == str(contract_id)
    ]


# -- the table itself ----------------------------------------------------------------------


EXPECTED_ALLOWED = {
    # a contract never signed
    (C.DRAFT, V.DRAFT, Step.EDIT): (C.DRAFT, V.DRAFT),
    (C.DRAFT, V.DRAFT, Step.PROPOSE): (C.DRAFT, V.PROPOSED),
    (C.DRAFT, V.DRAFT, Step.RECORD_ELSEWHERE): (C.IN_FORCE, V.SIGNED),
    (C.DRAFT, V.DRAFT, Step.CANCEL): (C.CANCELLED, V.WITHDRAWN),
    (C.DRAFT, V.PROPOSED, Step.REOPEN): (C.DRAFT, V.DRAFT),
    (C.DRAFT, V.PROPOSED, Step.SIGN_REFERENT): (C.DRAFT, V.PROPOSED),
    (C.DRAFT, V.PROPOSED, Step.SIGN_ACCOMPANIED): (C.DRAFT, V.PROPOSED),
    (C.DRAFT, V.PROPOSED, Step.SIGN_PERSON): (C.DRAFT, V.PROPOSED),
    (C.DRAFT, V.PROPOSED, Step.COMPLETE): (C.IN_FORCE, V.SIGNED),
    (C.DRAFT, V.PROPOSED, Step.RECORD_ELSEWHERE): (C.IN_FORCE, V.SIGNED),
    (C.DRAFT, V.PROPOSED, Step.CANCEL): (C.CANCELLED, V.WITHDRAWN),
    # a contract in force, with or without an avenant being prepared
    (C.IN_FORCE, None, Step.AMEND): (C.IN_FORCE, V.DRAFT),
    (C.IN_FORCE, None, Step.END): (C.ENDED, None),
    (C.IN_FORCE, None, Step.EXPIRE): (C.EXPIRED, None),
    (C.IN_FORCE, V.DRAFT, Step.EDIT): (C.IN_FORCE, V.DRAFT),
    (C.IN_FORCE, V.DRAFT, Step.PROPOSE): (C.IN_FORCE, V.PROPOSED),
    (C.IN_FORCE, V.DRAFT, Step.RECORD_ELSEWHERE): (C.IN_FORCE, V.SIGNED),
    (C.IN_FORCE, V.DRAFT, Step.WITHDRAW): (C.IN_FORCE, V.WITHDRAWN),
    (C.IN_FORCE, V.DRAFT, Step.END): (C.ENDED, V.WITHDRAWN),
    (C.IN_FORCE, V.DRAFT, Step.EXPIRE): (C.EXPIRED, V.WITHDRAWN),
    (C.IN_FORCE, V.PROPOSED, Step.REOPEN): (C.IN_FORCE, V.DRAFT),
    (C.IN_FORCE, V.PROPOSED, Step.SIGN_REFERENT): (C.IN_FORCE, V.PROPOSED),
    (C.IN_FORCE, V.PROPOSED, Step.SIGN_ACCOMPANIED): (C.IN_FORCE, V.PROPOSED),
    (C.IN_FORCE, V.PROPOSED, Step.SIGN_PERSON): (C.IN_FORCE, V.PROPOSED),
    (C.IN_FORCE, V.PROPOSED, Step.COMPLETE): (C.IN_FORCE, V.SIGNED),
    (C.IN_FORCE, V.PROPOSED, Step.RECORD_ELSEWHERE): (C.IN_FORCE, V.SIGNED),
    (C.IN_FORCE, V.PROPOSED, Step.WITHDRAW): (C.IN_FORCE, V.WITHDRAWN),
    (C.IN_FORCE, V.PROPOSED, Step.END): (C.ENDED, V.WITHDRAWN),
    (C.IN_FORCE, V.PROPOSED, Step.EXPIRE): (C.EXPIRED, V.WITHDRAWN),
}


def test_the_table_allows_exactly_the_life_cycle():
    assert dict(TRANSITIONS) == EXPECTED_ALLOWED


@pytest.mark.parametrize(
    ("status", "open_status", "step"),
    [
        key
        for key in itertools.product(ContractStatus, [None, V.DRAFT, V.PROPOSED], Step)
        if key not in EXPECTED_ALLOWED
    ],
)
def test_every_other_transition_is_refused_in_french(status, open_status, step):
    with pytest.raises(Conflict) as refused:
        services.next_state(status, open_status, step)
    assert refused.value.message == REFUSALS[step]
    assert refused.value.code == "transition"


def test_pages_are_offered_only_the_allowed_steps():
    assert services.allowed_steps(C.IN_FORCE, None) == {Step.AMEND, Step.END, Step.EXPIRE}
    assert services.allowed_steps(C.ENDED, None) == frozenset()
    assert Step.COMPLETE not in services.allowed_steps(C.DRAFT, V.PROPOSED)


# -- the life cycle through the services ---------------------------------------------------


def test_a_contract_is_drafted_proposed_signed_by_both_and_in_force(world):
    contract_id = _draft(world)
    contract, (version,) = _rows(contract_id)
    assert (contract.status, version.status, version.number) == (C.DRAFT, V.DRAFT, 1)
    assert contract.starts_on is None  # not in force yet
    _call(
        world,
        services.edit_draft,
        contract_id=contract_id,
        terms=terms(person_commitments="Je prépare mon CV avec la conseillère."),
        version=version.version,
    )
    _call(world, services.propose, contract_id=contract_id, version=_version(contract_id).version)
    version = _version(contract_id)
    assert version.status is V.PROPOSED
    assert version.proposed_at is not None
    # The person, who has an account, is told; never named in the text.
    notice = db.session().scalar(
        select(Notification).where(Notification.kind == "contracts:version:proposed")
    )
    assert notice.recipient_account_id == world.person_account.id
    complete = _call(
        world, services.sign_as_referent, contract_id=contract_id, number=1, seen=_seen(contract_id)
    )
    assert complete is False
    version = _version(contract_id)
    assert version.referent_signed_by_id == world.referent.id
    assert version.pdf_sha256 is None
    complete = _call(
        world,
        services.sign_as_person,
        actor=person(world),
        contract_id=contract_id,
        number=1,
        seen=_seen(contract_id),
    )
    assert complete is True
    contract, (version,) = _rows(contract_id)
    assert (contract.status, version.status) == (C.IN_FORCE, V.SIGNED)
    assert version.person_signature_mode is SignatureMode.PORTAL
    assert (contract.starts_on, contract.ends_on) == (version.starts_on, version.ends_on)
    assert version.pdf_sealed is not None
    assert len(version.pdf_sha256) == 64
    assert _events(contract_id) == [
        "contracts:contract:created",
        "contracts:version:edited",
        "contracts:version:proposed",
        "contracts:version:referent_signed",
        "contracts:version:person_signed",
        "contracts:version:signed",
    ]
    # The référent is told that the person signed (the actor, the person, is not).
    signed = (
        db.session()
        .scalars(select(Notification).where(Notification.kind == "contracts:version:signed"))
        .all()
    )
    assert [n.recipient_account_id for n in signed] == [world.referent.id]


def test_mode_accompagne_is_recorded_with_who_recorded_it(world):
    contract_id = contract_of(world)
    version = _version(contract_id)
    assert version.person_signature_mode is SignatureMode.ACCOMPANIED
    assert version.person_signature_recorded_by_id == world.referent.id
    audit = db.session().scalar(
        select(AccessEvent).where(AccessEvent.tag == "contracts:version:person_signed_accompanied")
    )
    assert (audit.section, audit.actor_account_id) == ("contracts:write", world.referent.id)


def test_an_amendment_is_a_new_version_and_the_signed_one_stays_in_force(world):
    contract_id = contract_of(world)
    first = _version(contract_id, 1)
    first_hash, first_ends = first.pdf_sha256, first.ends_on
    number = _call(world, services.amend, contract_id=contract_id)
    assert number == 2
    contract, (v1, v2) = _rows(contract_id)
    assert (v2.status, v2.person_commitments) == (V.DRAFT, PERSON_COMMITMENTS)
    assert contract.status is C.IN_FORCE
    assert contract.ends_on == first_ends
    new_end = first_ends + dt.timedelta(days=90)
    _call(
        world,
        services.edit_draft,
        contract_id=contract_id,
        terms=terms(starts_on=v1.starts_on, duration_months=None, ends_on=new_end),
        version=v2.version,
    )
    _call(world, services.propose, contract_id=contract_id, version=_version(contract_id).version)
    _call(
        world,
        services.sign_as_person,
        actor=person(world),
        contract_id=contract_id,
        number=2,
        seen=_seen(contract_id),
    )
    # In force on version 1 until both signed the avenant.
    assert _rows(contract_id)[0].ends_on == first_ends
    _call(
        world,
        services.sign_as_referent,
        contract_id=contract_id,
        number=2,
        seen=_seen(contract_id),
    )
    contract, (v1, v2) = _rows(contract_id)
    assert (v1.status, v2.status) == (V.SIGNED, V.SIGNED)
    assert v1.pdf_sha256 == first_hash  # the first signed version is untouched
    assert v2.pdf_sha256 != first_hash
    assert contract.ends_on == new_end


def test_an_avenant_is_withdrawn_and_the_contract_stays_in_force(world):
    contract_id = contract_of(world)
    _call(world, services.amend, contract_id=contract_id)
    with pytest.raises(Conflict, match="Un avenant ne se prépare que"):
        _call(world, services.amend, contract_id=contract_id)
    _call(world, services.withdraw, contract_id=contract_id)
    contract, (_, v2) = _rows(contract_id)
    assert (contract.status, v2.status) == (C.IN_FORCE, V.WITHDRAWN)
    with pytest.raises(Conflict, match="Il n'y a pas d'avenant en préparation"):
        _call(world, services.withdraw, contract_id=contract_id)
    # A new avenant gets the next number.
    assert _call(world, services.amend, contract_id=contract_id) == 3


def test_a_proposed_version_taken_back_loses_its_signatures(world):
    contract_id = _draft(world)
    _call(world, services.propose, contract_id=contract_id, version=1)
    _call(
        world, services.sign_as_referent, contract_id=contract_id, number=1, seen=_seen(contract_id)
    )
    _call(world, services.reopen, contract_id=contract_id, version=3)
    version = _version(contract_id)
    assert version.status is V.DRAFT
    assert version.referent_signed_at is None
    assert version.proposed_at is None


def test_refused_steps_say_why_in_french(world):
    draft_id = _draft(world)
    with pytest.raises(Conflict, match="n'est pas proposée à la signature"):
        _call(
            world, services.sign_as_referent, contract_id=draft_id, number=1, seen=_seen(draft_id)
        )
    with pytest.raises(Conflict, match="Seul un contrat en vigueur peut être terminé"):
        _call(world, services.end_early, contract_id=draft_id, reason="Déménagement")
    with pytest.raises(Conflict, match="Un avenant ne se prépare que"):
        _call(world, services.amend, contract_id=draft_id)
    with pytest.raises(Conflict, match="Il n'y a pas d'avenant en préparation"):
        _call(world, services.withdraw, contract_id=draft_id)
    with pytest.raises(Conflict, match="Seule une version proposée"):
        _call(world, services.reopen, contract_id=draft_id, version=1)
    _call(world, services.propose, contract_id=draft_id, version=1)
    with pytest.raises(Conflict, match="Seul un brouillon peut être proposé"):
        _call(world, services.propose, contract_id=draft_id, version=2)
    with pytest.raises(Conflict, match="Seul un brouillon se modifie"):
        _call(world, services.edit_draft, contract_id=draft_id, terms=terms(), version=2)
    _call(world, services.sign_as_referent, contract_id=draft_id, number=1, seen=_seen(draft_id))
    with pytest.raises(Conflict, match="Le référent a déjà signé"):
        _call(
            world, services.sign_as_referent, contract_id=draft_id, number=1, seen=_seen(draft_id)
        )
    in_force = contract_of(world)
    with pytest.raises(Conflict, match="Seul un contrat jamais signé peut être abandonné"):
        _call(world, services.cancel, contract_id=in_force, reason="Erreur de saisie")
    with pytest.raises(Conflict, match="Ce contrat n'attend pas votre signature"):
        _call(
            world,
            services.sign_as_person,
            actor=person(world),
            contract_id=in_force,
            number=1,
            seen="x",
        )


def test_a_stale_form_changes_nothing(world):
    contract_id = _draft(world)
    changed = terms(support_commitments="Un rendez-vous tous les quinze jours.")
    _call(world, services.edit_draft, contract_id=contract_id, terms=changed, version=1)
    with pytest.raises(Conflict, match="Cette version a changé depuis que la page a été ouverte"):
        _call(
            world,
            services.edit_draft,
            contract_id=contract_id,
            terms=terms(person_commitments="Autre texte, écrit sur une page ancienne."),
            version=1,
        )
    assert _version(contract_id).person_commitments == PERSON_COMMITMENTS


def test_a_draft_is_cancelled_and_an_in_force_contract_ended_each_with_its_reason(world):
    draft_id = _draft(world, kind=ContractKind.PACEA)
    _call(world, services.cancel, contract_id=draft_id, reason="La personne a trouvé un emploi")
    contract, (version,) = _rows(draft_id)
    assert (contract.status, version.status) == (C.CANCELLED, V.WITHDRAWN)
    assert contract.end_reason == "La personne a trouvé un emploi"
    in_force = contract_of(world)
    with pytest.raises(InvalidInput) as invalid:
        _call(
            world,
            services.end_early,
            contract_id=in_force,
            reason="Déménagement",
            on=clock.today() + dt.timedelta(days=3),
        )
    assert invalid.value.fields == {"ended_on": ["La date de fin ne peut pas être dans le futur."]}
    _call(world, services.end_early, contract_id=in_force, reason="Déménagement")
    contract, _ = _rows(in_force)
    assert (contract.status, contract.ended_on) == (C.ENDED, clock.today())
    assert _events(in_force)[-1] == "contracts:contract:ended"


def test_a_contract_signed_elsewhere_is_in_force_without_a_pdf(world):
    contract_id = _draft(world, kind=ContractKind.PPAE)
    with pytest.raises(InvalidInput):
        _call(
            world,
            services.record_signed_elsewhere,
            contract_id=contract_id,
            person_signed_on=clock.today() + dt.timedelta(days=1),
            referent_signed_on=clock.today(),
        )
    _call(
        world,
        services.record_signed_elsewhere,
        contract_id=contract_id,
        person_signed_on=clock.today() - dt.timedelta(days=2),
        referent_signed_on=clock.today() - dt.timedelta(days=2),
    )
    contract, (version,) = _rows(contract_id)
    assert (contract.status, version.status) == (C.IN_FORCE, V.SIGNED)
    assert version.person_signature_mode is SignatureMode.ELSEWHERE
    assert (version.pdf_sealed, version.pdf_sha256) == (None, None)
    with scoping.scoped_to(world.departement_id), pytest.raises(NotFound, match="pas de PDF"):
        services.download_pdf(
            actor=referent(world), beneficiary_id=world.person.id, contract_id=contract_id, number=1
        )


# -- the terms of a version --------------------------------------------------------------------


def test_durations_give_the_last_day_and_dates_are_checked(world):
    contract_id = _draft(world, starts_on=dt.date(2026, 3, 1), duration_months=6)
    assert _version(contract_id).ends_on == dt.date(2026, 8, 31)
    cases = [
        ({"duration_months": 6, "ends_on": dt.date(2026, 9, 1)}, "duration_months"),
        ({"duration_months": None}, "duration_months"),
        ({"duration_months": 7}, "duration_months"),
        ({"duration_months": None, "ends_on": dt.date(2026, 2, 1)}, "ends_on"),
        ({"duration_months": None, "ends_on": dt.date(2030, 1, 1)}, "ends_on"),
    ]
    before = db.session().scalars(select(Contract.id)).all()
    for changes, field_name in cases:
        with pytest.raises(InvalidInput) as invalid:
            _draft(world, starts_on=dt.date(2026, 3, 1), **changes)
        assert field_name in invalid.value.fields
    assert db.session().scalars(select(Contract.id)).all() == before


def test_a_contrat_d_engagement_has_15_hours_unless_a_reason_is_given(world):
    default_id = _draft(world, kind=ContractKind.ENGAGEMENT)
    assert _version(default_id).weekly_hours == 15
    refused = [
        ({"weekly_hours": 10}, "exemption", "En dessous de 15 heures par semaine"),
        ({"weekly_hours": 10, "exemption": Exemption.OTHER}, "exemption_details", "Précisez"),
        ({"weekly_hours": 36}, "weekly_hours", "entre 0 et 35"),
        ({"weekly_hours": 20, "exemption": Exemption.HEALTH}, "exemption", "moins de 15 heures"),
    ]
    for changes, field_name, message in refused:
        with pytest.raises(InvalidInput) as invalid:
            _draft(world, kind=ContractKind.ENGAGEMENT, **changes)
        assert message in invalid.value.fields[field_name][0]
    reduced_id = _draft(
        world,
        kind=ContractKind.ENGAGEMENT,
        weekly_hours=8,
        exemption=Exemption.LONE_PARENT,
        exemption_details="Pas de place en crèche avant septembre",
    )
    reduced = _version(reduced_id)
    assert reduced.weekly_hours == 8
    assert services.read_exemption(reduced.hours_exemption_reason) == (
        Exemption.LONE_PARENT,
        "Pas de place en crèche avant septembre",
    )
    with pytest.raises(InvalidInput) as invalid:
        _draft(world, kind=ContractKind.CER, weekly_hours=15)
    assert "ne concernent que le contrat d'engagement" in invalid.value.fields["weekly_hours"][0]
    assert _version(_draft(world, kind=ContractKind.CEJ)).weekly_hours is None


def test_objectives_are_linked_only_with_the_persons_consent(world):
    objective = db.session().get(PlanObjective, world.objective_id)
    assert objective.has_person_consent is False
    with pytest.raises(InvalidInput) as invalid:
        _draft(world, objective_ids=(world.objective_id,), objectives_consent=False)
    assert "accord de la personne" in invalid.value.fields["objectives_consent"][0]
    db.session().refresh(objective)
    assert objective.has_person_consent is False
    contract_id = _draft(world, objective_ids=(world.objective_id,), objectives_consent=True)
    db.session().refresh(objective)
    assert objective.has_person_consent is True
    assert _version(contract_id).objectives == [
        {"id": str(world.objective_id), "label": "Accéder à un logement stable"}
    ]
    # The consent written to the plan is an audited write of the plan section.
    audit = db.session().scalar(
        select(AccessEvent).where(AccessEvent.tag == "contracts:objective:linked")
    )
    assert audit.section == "plan:write"
    other = db.session().get(PlanObjective, world.objective_id)
    other_id = other.axis_id  # an id that is not an objective of this plan
    with pytest.raises(InvalidInput) as invalid:
        _draft(world, objective_ids=(other_id,), objectives_consent=True)
    assert "objective_ids" in invalid.value.fields


def test_no_contract_is_drafted_once_the_journey_is_closed(world):
    from carnet.security.policy import PolicyDenied

    world.journey.closed_on = clock.today()
    world.journey.exit_reason = "emploi"
    db.session().flush()
    # The group of a closed journey gives no right to write any more.
    with pytest.raises(PolicyDenied):
        _draft(world)


# -- one in force per kind -----------------------------------------------------------------


def test_a_second_contract_of_a_kind_is_not_signed_while_one_is_in_force(world):
    contract_of(world)  # a CER in force
    second = _draft(world, kind=ContractKind.CER)
    _call(world, services.propose, contract_id=second, version=1)
    with pytest.raises(Conflict) as refused:
        _call(world, services.sign_as_referent, contract_id=second, number=1, seen=_seen(second))
    assert refused.value.message == (
        "Un autre contrat « Contrat d'engagement réciproque (CER) » est déjà en vigueur pour "
        "cette personne : terminez-le avant de faire signer celui-ci."
    )
    with pytest.raises(Conflict, match="est déjà en vigueur"):
        _call(
            world,
            services.record_signed_elsewhere,
            contract_id=second,
            person_signed_on=clock.today(),
            referent_signed_on=clock.today(),
        )
    # Another kind may be in force at the same time.
    ppae = signed_contract(world, kind=ContractKind.PPAE)
    assert _rows(ppae)[0].status is C.IN_FORCE


def test_the_partial_unique_index_backs_the_rule(world):
    first = contract_of(world)
    second = signed_contract(world, kind=ContractKind.PPAE)
    with pytest.raises(IntegrityError), db.session().begin_nested():
        db.session().execute(
            update(Contract).where(Contract.id == second).values(kind=ContractKind.CER)
        )
    assert _rows(first)[0].status is C.IN_FORCE


# -- the PDF and immutability --------------------------------------------------------------


def _render_again(contract_id):
    """The signed version's PDF rendered anew from its rows (read directly: a test)."""
    session = db.session()
    contract = session.get(Contract, contract_id)
    row = session.scalars(
        select(ContractVersion).where(
            ContractVersion.contract_id == contract_id, ContractVersion.number == 1
        )
    ).one()
    person = session.get(Beneficiary, contract.beneficiary_id)
    return pdf.render(services.pdf_data(contract, row, person))


def test_the_pdf_is_made_at_signature_its_hash_stored_and_stable(world):
    contract_id = contract_of(world)
    version = _version(contract_id)
    with scoping.scoped_to(world.departement_id):
        sent = services.download_pdf(
            actor=referent(world), beneficiary_id=world.person.id, contract_id=contract_id, number=1
        )
        again = _render_again(contract_id)
    assert sent.content.startswith(b"%PDF-")
    assert hashlib.sha256(sent.content).hexdigest() == version.pdf_sha256
    assert hashlib.sha256(again).hexdigest() == version.pdf_sha256
    assert sent.filename == "contrat-cer-version-1.pdf"
    # The stored file is sealed, not the PDF in clear.
    assert not version.pdf_sealed.startswith(b"%PDF")
    assert b"Benali" not in version.pdf_sealed


def test_the_orm_refuses_to_change_a_signed_version(world):
    version = _version(contract_of(world))
    version.person_commitments = "Changé après la signature"
    with pytest.raises(SignedVersionChanged), db.session().begin_nested():
        db.session().flush()


def test_postgresql_refuses_a_raw_update_of_a_signed_version(world):
    if not db.is_postgresql():
        pytest.skip("the trigger exists on PostgreSQL only")
    version = _version(contract_of(world))
    with pytest.raises(DBAPIError, match="immutable"), db.session().begin_nested():
        db.session().execute(
            text("UPDATE contract_versions SET person_commitments = 'x' WHERE id = :id"),
            {"id": version.id},
        )


# -- the journey's exit and the end dates ----------------------------------------------------


def test_end_for_exit_ends_cancels_and_withdraws(world):
    in_force = contract_of(world)
    _call(world, services.amend, contract_id=in_force)
    draft = _draft(world, kind=ContractKind.PACEA)
    with scoping.scoped_to(world.departement_id):
        access = gate.open_record(
            actor=referent(world),
            beneficiary_id=world.person.id,
            section=Section.ORIENTATION,
            tag="test:exit",
        )
        changed = services.end_for_exit(access, world.journey.id, clock.today())
    assert changed == 2
    contract, (_, avenant) = _rows(in_force)
    assert (contract.status, contract.end_reason, contract.ended_on) == (
        C.ENDED,
        "Sortie de parcours",
        clock.today(),
    )
    assert avenant.status is V.WITHDRAWN
    cancelled, (version,) = _rows(draft)
    assert (cancelled.status, cancelled.end_reason, version.status) == (
        C.CANCELLED,
        "Sortie de parcours",
        V.WITHDRAWN,
    )
    assert _events(in_force)[-1] == "contracts:contract:ended"
    assert _events(draft)[-1] == "contracts:contract:cancelled"


def test_expire_due_closes_contracts_past_their_end_by_the_system(world):
    due = signed_contract(
        world, starts_on=clock.today() - dt.timedelta(days=200), duration_months=6
    )
    current = signed_contract(world, kind=ContractKind.PPAE)
    with scoping.scoped_to(world.departement_id):
        assert services.expire_due(clock.today(), departement_id=world.departement_id) == 1
        assert services.expire_due(clock.today(), departement_id=world.departement_id) == 0
    assert _rows(due)[0].status is C.EXPIRED
    assert _rows(current)[0].status is C.IN_FORCE
    event = db.session().scalar(
        select(TimelineEvent).where(TimelineEvent.kind == "contracts:contract:expired")
    )
    assert event.actor_account_id is None
    audit = db.session().scalar(
        select(AccessEvent).where(AccessEvent.tag == "contracts:contract:expired")
    )
    assert (audit.actor_role, audit.purpose, audit.object_id) == ("system", Purpose.SYSTEM, due)


def test_the_expire_command_prints_counts_in_french(app, world):
    signed_contract(world, starts_on=clock.today() - dt.timedelta(days=400), duration_months=12)
    from carnet.cli import main as carnet_cli

    result = app.test_cli_runner().invoke(carnet_cli, ["contracts", "expire"])
    assert result.exit_code == 0, result.output
    assert f"Département {world.departement_id} : 1 contrat(s) arrivé(s) à échéance." in (
        result.output
    )
    assert "Total : 1 contrat(s)" in result.output


# -- who may do what -----------------------------------------------------------------------


def test_a_group_member_reads_but_does_not_write_nor_sign(world):
    from carnet.security.policy import PolicyDenied

    contract_id = contract_of(world)
    with scoping.scoped_to(world.departement_id):
        page = services.list_contracts(actor=member(world), beneficiary_id=world.person.id)
        assert [c.id for c in page.contracts] == [contract_id]
        assert not page.can_write
        with pytest.raises(PolicyDenied):
            services.amend(
                actor=member(world), beneficiary_id=world.person.id, contract_id=contract_id
            )
        with pytest.raises(PolicyDenied):
            services.create_draft(
                actor=member(world),
                beneficiary_id=world.person.id,
                kind=ContractKind.CER,
                terms=terms(),
            )


def test_the_person_signs_only_his_or_her_own_contract(world):
    from carnet.security.permissions import PrincipalRole
    from carnet.security.policy import PolicyDenied, PolicyNotFound
    from carnet.security.principal import Principal

    contract_id = _draft(world)
    _call(world, services.propose, contract_id=contract_id, version=1)
    other = Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=world.other_person_account.id,
        departement_id=world.departement_id,
        beneficiary_id=world.other_person.id,
    )
    with scoping.scoped_to(world.departement_id):
        with pytest.raises(PolicyNotFound):
            services.sign_as_person(
                actor=other,
                beneficiary_id=world.person.id,
                contract_id=contract_id,
                number=1,
                seen=_seen(contract_id),
            )
        # The référent does not sign in the person's place: « mode accompagné » is the way.
        with pytest.raises(PolicyDenied):
            services.sign_as_person(
                actor=referent(world),
                beneficiary_id=world.person.id,
                contract_id=contract_id,
                number=1,
                seen=_seen(contract_id),
            )
        # Nor does the person sign as the référent.
        with pytest.raises(PolicyDenied):
            services.sign_as_referent(
                actor=person(world),
                beneficiary_id=world.person.id,
                contract_id=contract_id,
                number=1,
                seen=_seen(contract_id),
            )
    assert _version(contract_id).person_signed_at is None
