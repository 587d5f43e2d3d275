"""The contract pages: the record's tab, a contract's page and its forms, the signed PDF,
and the person's own space (read, sign with the confirmation, download). Bad input gets
French messages and a 422, a refused step a 409, never a 500 nor a half-written row."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.contracts.models import Contract, ContractStatus, ContractVersion, VersionStatus
from carnet.records.models import TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import Outcome
from carnet.workspace import services as workspace
from tests.contracts.seed import contract_of, member, referent, signed_contract
from tests.records.world import audit_rows, build_world, count, send, text, token


@pytest.fixture
def world(db_session):
    return build_world()


def _list_url(world):
    return f"/personnes/{world.person.id}/contrats"


def _contract_url(world, contract_id):
    return f"{_list_url(world)}/{contract_id}"


def _rows(contract_id):
    contract_id = uuid.UUID(str(contract_id))
    with scoping.unscoped():
        session = db.session()
        contract = session.scalar(
            select(Contract)
            .where(Contract.id == contract_id)
            .execution_options(populate_existing=True)
        )
        versions = list(
            session.scalars(
                select(ContractVersion)
                .where(ContractVersion.contract_id == contract_id)
                .order_by(ContractVersion.number)
                .execution_options(populate_existing=True)
            )
        )
    return contract, versions


def _hidden(body, name):
    match = re.search(rf'name="{name}" value="([^"]+)"', body)
    assert match, name
    return match.group(1)


def _new_contract_form(**changes):
    form = {
        "kind": "contrat_engagement",
        "starts_on": clock.today().isoformat(),
        "duration_months": "6",
        "weekly_hours": "",
        "person_commitments": "Je participe à deux ateliers par semaine.",
        "support_commitments": "Un rendez-vous tous les quinze jours avec la référente.",
    }
    form.update(changes)
    return form


def test_the_referent_drafts_proposes_and_signs_from_the_pages(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    page = client.get(_list_url(world))
    assert page.status_code == 200
    body = text(page)
    assert "Contrats de Sofia Benali" in body
    assert "Aucun contrat n'est encore enregistré." in body
    assert "Préparer un contrat" in body
    assert "Accéder à un logement stable" in body  # the plan's objective, to link
    csrf = token(client, _list_url(world))
    response = send(
        client,
        _list_url(world),
        _new_contract_form(objective_ids=str(world.objective_id), objectives_consent="1"),
        csrf=csrf,
    )
    assert response.status_code == 302
    contract_id = re.search(r"/contrats/([0-9a-f-]{36})", response.headers["Location"]).group(1)
    contract, (version,) = _rows(contract_id)
    assert (contract.status, version.weekly_hours) == (ContractStatus.DRAFT, 15)
    assert version.objectives[0]["label"] == "Accéder à un logement stable"
    body = text(client.get(_contract_url(world, contract_id)))
    assert "Proposer à la signature de la personne" in body
    assert "Signer en tant que référent" not in body  # not proposed yet
    response = send(
        client,
        f"{_contract_url(world, contract_id)}/proposer",
        {"version": _hidden(body, "version")},
        csrf=csrf,
    )
    assert response.status_code == 302
    body = text(client.get(_contract_url(world, contract_id)))
    assert "Signer en tant que référent" in body
    assert "Proposer à la signature" not in body
    assert "Proposé à la signature" in body  # the contract's status, not « en préparation »
    send(
        client,
        f"{_contract_url(world, contract_id)}/signer",
        {"number": "1", "content": _hidden(body, "content")},
        csrf=csrf,
    )
    body = text(client.get(_contract_url(world, contract_id)))
    # The person is present: « mode accompagné », attested by a checkbox.
    refused = send(
        client,
        f"{_contract_url(world, contract_id)}/signature-accompagnee",
        {"number": "1", "content": _hidden(body, "content")},
        csrf=csrf,
    )
    assert refused.status_code == 422
    assert "attester que la personne est présente" in text(refused)
    assert _rows(contract_id)[1][0].person_signed_at is None
    response = send(
        client,
        f"{_contract_url(world, contract_id)}/signature-accompagnee",
        {"number": "1", "content": _hidden(body, "content"), "person_present": "1"},
        csrf=csrf,
    )
    assert response.status_code == 302
    contract, (version,) = _rows(contract_id)
    assert (contract.status, version.status) == (ContractStatus.IN_FORCE, VersionStatus.SIGNED)
    body = text(client.get(_contract_url(world, contract_id)))
    assert "en rendez-vous, en mode accompagné" in body
    assert "Préparer un avenant" in body
    assert version.pdf_sha256 in body


def test_bad_input_gets_french_messages_and_writes_nothing(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _list_url(world))
    before = (count(Contract), count(ContractVersion), count(TimelineEvent))
    cases = [
        ({"kind": "inconnu"}, "Choisissez le type de contrat dans la liste."),
        ({"starts_on": "31/02/2026"}, "Saisissez une date valide"),
        ({"duration_months": "7"}, "Choisissez une durée de 6, 12 ou 24 mois."),
        ({"weekly_hours": "10"}, "En dessous de 15 heures par semaine"),
        ({"weekly_hours": "dix"}, "Indiquez un nombre entier d'heures"),
        ({"person_commitments": ""}, "Ce champ est obligatoire."),
        (
            {"objective_ids": str(world.objective_id)},
            "Les objectifs ne s'inscrivent au contrat qu'avec l'accord de la personne",
        ),
        ({"objective_ids": "pas-un-id", "objectives_consent": "1"}, "Choisissez des objectifs"),
        ({"surprise": "1"}, "Ce champ n'est pas attendu"),
    ]
    for changes, message in cases:
        response = send(client, _list_url(world), _new_contract_form(**changes), csrf=csrf)
        assert response.status_code == 422, changes
        assert message in text(response), changes
    assert (count(Contract), count(ContractVersion), count(TimelineEvent)) == before


def test_a_refused_step_is_a_409_with_the_reason(client, world, login_as):
    contract_id = contract_of(world)
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _contract_url(world, contract_id))
    response = send(
        client, f"{_contract_url(world, contract_id)}/abandonner", {"reason": "Erreur"}, csrf=csrf
    )
    assert response.status_code == 409
    assert "Seul un contrat jamais signé peut être abandonné" in text(response)
    for path, data in [
        ("modifier", {}),
        ("proposer", {"version": "x"}),
        ("signer", {"number": "1"}),
        ("terminer", {"reason": "", "ended_on": "hier"}),
        ("signe-hors-carnet", {"person_signed_on": "2026-13-01"}),
        ("avenant", {"en_trop": "1"}),
    ]:
        response = send(client, f"{_contract_url(world, contract_id)}/{path}", data, csrf=csrf)
        assert response.status_code in (409, 422), path
    assert _rows(contract_id)[0].status is ContractStatus.IN_FORCE


def test_the_pdf_is_an_attachment_with_the_sandbox_csp_and_an_audited_read(client, world, login_as):
    contract_id = contract_of(world)
    _, (version,) = _rows(contract_id)
    login_as(client, world.ml_member.account, world.ml_member.membership)
    response = client.get(f"{_contract_url(world, contract_id)}/versions/1.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    assert hashlib.sha256(response.data).hexdigest() == version.pdf_sha256
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"].startswith("sandbox;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    rows = audit_rows(actor_account_id=world.ml_member.id, tag="contracts:pdf:downloaded")
    assert [(r.section, r.outcome, r.object_id) for r in rows] == [
        ("contracts:read", Outcome.ALLOWED, version.contract_id)
    ]
    assert client.get(f"{_contract_url(world, contract_id)}/versions/7.pdf").status_code == 404


def test_a_member_reads_without_buttons_and_an_outsider_is_refused(
    client, make_client, world, login_as
):
    contract_id = contract_of(world)
    login_as(client, world.ml_member.account, world.ml_member.membership)
    body = text(client.get(_contract_url(world, contract_id)))
    assert "Contrat d'engagement réciproque (CER)" in body
    assert "Préparer un avenant" not in body
    assert "Terminer le contrat" not in body
    assert "Préparer un contrat" not in text(client.get(_list_url(world)))
    csrf = token(client, _list_url(world))
    response = send(client, f"{_contract_url(world, contract_id)}/avenant", {}, csrf=csrf)
    assert response.status_code == 403
    foreign = make_client()
    login_as(foreign, world.foreign.account, world.foreign.membership)
    assert foreign.get(_contract_url(world, contract_id)).status_code == 404
    assert foreign.get(f"{_contract_url(world, contract_id)}/versions/1.pdf").status_code == 404


def test_the_person_reads_and_signs_in_his_or_her_space(client, make_client, world, login_as):
    actor = referent(world)
    from carnet.contracts import services

    with scoping.scoped_to(world.departement_id):
        contract_id = services.create_draft(
            actor=actor,
            beneficiary_id=world.person.id,
            kind="cer",
            terms=services.Terms(
                starts_on=clock.today(),
                duration_months=12,
                ends_on=None,
                weekly_hours=None,
                exemption=None,
                exemption_details=None,
                person_commitments="Je cherche un logement avec l'aide du CCAS.",
                support_commitments="La référente m'accompagne aux rendez-vous.",
            ),
        )
        services.propose(
            actor=actor, beneficiary_id=world.person.id, contract_id=contract_id, version=1
        )
    login_as(client, world.person_account)
    assert "Mes contrats" in text(client.get("/mon-carnet"))
    listing = text(client.get("/mon-carnet/contrats"))
    assert "Un contrat vous est proposé" in listing
    body = text(client.get(f"/mon-carnet/contrats/{contract_id}"))
    assert "Je cherche un logement avec l'aide du CCAS." in body
    assert "Je signe" in body
    csrf = token(client, f"/mon-carnet/contrats/{contract_id}")
    form = {"number": "1", "content": _hidden(body, "content")}
    refused = send(client, f"/mon-carnet/contrats/{contract_id}/signer", form, csrf=csrf)
    assert refused.status_code == 422
    assert "Cochez la case pour confirmer" in text(refused)
    signed = send(
        client,
        f"/mon-carnet/contrats/{contract_id}/signer",
        {**form, "confirmed": "1"},
        csrf=csrf,
    )
    assert signed.status_code == 302
    _, (version,) = _rows(contract_id)
    assert version.person_signature_mode == "espace_personnel"
    assert version.status is VersionStatus.PROPOSED  # the référent signs next
    again = send(
        client,
        f"/mon-carnet/contrats/{contract_id}/signer",
        {**form, "confirmed": "1"},
        csrf=csrf,
    )
    assert again.status_code == 409
    assert "Ce contrat n'attend pas votre signature" in text(again) or "déjà enregistrée" in text(
        again
    )
    # Another person reaches nothing of it.
    other = make_client()
    login_as(other, world.other_person_account)
    assert other.get(f"/mon-carnet/contrats/{contract_id}").status_code == 404
    # A professional has no « mon carnet ».
    pro = make_client()
    login_as(pro, world.referent.account, world.referent.membership)
    assert pro.get("/mon-carnet/contrats").status_code == 404


def test_the_person_downloads_his_or_her_signed_contract(client, world, login_as):
    contract_id = contract_of(world)
    login_as(client, world.person_account)
    body = text(client.get(f"/mon-carnet/contrats/{contract_id}"))
    assert "Télécharger mon contrat (PDF)" in body
    response = client.get(f"/mon-carnet/contrats/{contract_id}/versions/1.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")


# -- the alert « contrat arrivant à échéance » ----------------------------------------------


def test_a_contract_ending_within_30_days_is_an_alert_in_portfolio_and_synthesis(
    client, world, login_as
):
    signed_contract(
        world,
        starts_on=clock.today() - dt.timedelta(days=160),
        duration_months=None,
        ends_on=clock.today() + dt.timedelta(days=20),
    )
    with scoping.scoped_to(world.departement_id):
        portfolio = workspace.get_portfolio(actor=referent(world))
        sofia = next(p for p in portfolio.people if p.beneficiary_id == world.person.id)
        assert sofia.contract_ends_on == clock.today() + dt.timedelta(days=20)
        assert portfolio.summary.contracts_ending == 1
        # The mission locale member reads the contracts too: the alert is his as well.
        theirs = workspace.get_portfolio(actor=member(world))
        assert theirs.summary.contracts_ending == 1
    login_as(client, world.referent.account, world.referent.membership)
    assert "1 contrat arrivant à échéance" in text(client.get("/accompagnements"))
    record = text(client.get(f"/personnes/{world.person.id}"))
    ends = clock.today() + dt.timedelta(days=20)
    assert "Le contrat en vigueur se termine le" in record
    assert f"{ends.day}" in record.split("Le contrat en vigueur se termine le", 1)[1][:20]
    assert "Contrat : fin le" in text(client.get("/accompagnements"))
    listing = text(client.get(_list_url(world)))
    assert "Arrive à échéance dans moins de 30 jours" in listing
    assert "20 jours restants" in listing


def test_a_contract_ending_later_is_no_alert(world):
    signed_contract(world)  # six months from a month ago
    with scoping.scoped_to(world.departement_id):
        portfolio = workspace.get_portfolio(actor=referent(world))
    assert portfolio.summary.contracts_ending == 0


def test_every_timeline_kind_has_a_french_label():
    from carnet.contracts.services import Event
    from carnet.records.services import DOMAIN_LABELS, EVENT_LABELS

    assert {e.value for e in Event} <= set(EVENT_LABELS)
    assert DOMAIN_LABELS["contracts"] == "Contrats"
