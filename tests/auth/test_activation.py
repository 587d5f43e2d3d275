"""Activation codes: a referent issues one, the person links a FranceConnect identity with it."""

from __future__ import annotations

import hashlib
import html
import json
import math
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from carnet import clock, db
from carnet.auth import services
from carnet.auth.models import Account, AccountKind, ActivationCode, OidcIdentity
from carnet.errors import Denied
from carnet.notifications.models import Notification
from carnet.records.models import Beneficiary
from carnet.security.audit import AccessEvent
from carnet.security.permissions import AuditAction, GroupRole, OrganisationKind, PrincipalRole
from carnet.security.policy import PolicyDenied, PolicyNotFound
from carnet.security.principal import Principal
from tests.conftest import newest_mail
from tests.factories import (
    AccountFactory,
    GroupMembershipFactory,
    JourneyFactory,
    MembershipFactory,
)
from tests.oidc_providers import log_in_with

pytestmark = pytest.mark.slow


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _referent_and_person(db_session):
    membership = MembershipFactory()
    journey = JourneyFactory(
        departement_id=membership.departement_id,
        beneficiary__departement_id=membership.departement_id,
    )
    GroupMembershipFactory(
        journey=journey,
        account_id=membership.account_id,
        organisation_id=membership.organisation_id,
        role=GroupRole.REFERENT,
    )
    referent = Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=membership.account_id,
        departement_id=membership.departement_id,
        organisation_id=membership.organisation_id,
        organisation_kind=OrganisationKind.DEPARTEMENT,
        membership_id=membership.id,
    )
    return referent, db_session.get(Beneficiary, journey.beneficiary_id)


def _issue(referent, beneficiary):
    issued = services.issue_activation_code(actor=referent, beneficiary_id=beneficiary.id)
    db.session().commit()  # as the referent's request would
    return issued


def _franceconnect(client, provider, sub):
    claims = json.dumps({"given_name": "Sofia", "family_name": "Benali"})
    response = log_in_with(client, provider, "franceconnect", sub, claims=claims)
    assert response.headers["Location"] == "/connexion/activation", _text(response)


def _enter(client, code):
    return client.submit("/connexion/activation", {"code": code})


def test_code_is_long_enough_stored_hashed_and_audited(db_session):
    referent, person = _referent_and_person(db_session)
    issued = _issue(referent, person)
    raw = issued.code.replace("-", "")
    assert len(raw) == 16
    assert math.log2(len(services.CODE_ALPHABET)) * (len(raw) - services.SELECTOR_LENGTH) >= 50
    row = db.session().scalar(
        select(ActivationCode).where(ActivationCode.beneficiary_id == person.id)
    )
    assert row.code_hash == hashlib.sha256(raw.encode()).digest()
    assert raw not in repr(row.__dict__)
    assert row.expires_at > clock.now() + timedelta(days=29)
    tags = (
        db.session()
        .scalars(select(AccessEvent.tag).where(AccessEvent.beneficiary_id == person.id))
        .all()
    )
    assert "auth:activation_code:issued" in tags


def test_only_someone_who_may_write_the_contact_section_issues_a_code(db_session):
    _, person = _referent_and_person(db_session)
    outsider_membership = MembershipFactory(departement_id=person.departement_id)
    outsider = Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=outsider_membership.account_id,
        departement_id=person.departement_id,
        organisation_id=outsider_membership.organisation_id,
        organisation_kind=OrganisationKind.DEPARTEMENT,
        membership_id=outsider_membership.id,
    )
    with pytest.raises((PolicyDenied, PolicyNotFound)):
        services.issue_activation_code(actor=outsider, beneficiary_id=person.id)


def test_person_links_franceconnect_with_the_code(strict_client, strict_fc, db_session):
    referent, person = _referent_and_person(db_session)
    issued = _issue(referent, person)
    _franceconnect(strict_client, strict_fc, "fc-person-1")
    response = _enter(strict_client, issued.code.lower().replace("-", " "))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    linked = db.session().get(Beneficiary, person.id)
    account = db.session().get(Account, linked.account_id)
    assert account.kind is AccountKind.BENEFICIARY
    identity = db.session().scalar(
        select(OidcIdentity).where(OidcIdentity.subject == "fc-person-1")
    )
    assert identity.account_id == account.id
    assert identity.issuer == strict_fc.issuer
    # Next time FranceConnect alone is enough.
    again = strict_client.application.test_client()
    response = log_in_with(again, strict_fc, "franceconnect", "fc-person-1")
    assert response.headers["Location"] == "/"


def test_code_serves_once(strict_client, strict_fc, db_session):
    referent, person = _referent_and_person(db_session)
    issued = _issue(referent, person)
    _franceconnect(strict_client, strict_fc, "fc-once-1")
    assert _enter(strict_client, issued.code).status_code == 302
    other = strict_client.application.test_client()
    _franceconnect(other, strict_fc, "fc-once-2")
    refused = _enter(other, issued.code)
    assert refused.status_code == 422
    assert "Ce code d'activation n'est pas reconnu, a déjà servi ou a expiré" in _text(refused)
    assert (
        db.session().scalar(
            select(func.count(OidcIdentity.id)).where(OidcIdentity.subject == "fc-once-2")
        )
        == 0
    )


def test_code_expires(strict_client, strict_fc, db_session):
    referent, person = _referent_and_person(db_session)
    with freeze_time(clock.now() - timedelta(days=31)):
        issued = _issue(referent, person)
    _franceconnect(strict_client, strict_fc, "fc-late")
    refused = _enter(strict_client, issued.code)
    assert refused.status_code == 422
    assert "a expiré" in _text(refused)
    assert db.session().get(Beneficiary, person.id).account_id is None


def test_code_dies_after_five_failures(strict_client, strict_fc, db_session):
    referent, person = _referent_and_person(db_session)
    issued = _issue(referent, person)
    selector = issued.code[:4]
    wrong = f"{selector}-0000-0000-0000"
    assert wrong != issued.code
    attackers = [strict_client.application.test_client() for _ in range(2)]
    for number, attacker in enumerate(attackers):
        _franceconnect(attacker, strict_fc, f"fc-guess-{number}")
    for attempt in range(5):
        assert _enter(attackers[attempt % 2], wrong).status_code == 422
    row = db.session().scalar(
        select(ActivationCode).where(ActivationCode.beneficiary_id == person.id)
    )
    assert row.failed_attempts == 5
    _franceconnect(strict_client, strict_fc, "fc-owner-late")
    refused = _enter(strict_client, issued.code)
    assert refused.status_code == 422
    assert db.session().get(Beneficiary, person.id).account_id is None


def test_attempts_are_limited_per_identity(strict_client, strict_fc, db_session):
    _franceconnect(strict_client, strict_fc, "fc-hammer")
    statuses = [_enter(strict_client, "ABCD-EFGH-JKMN-PQRS").status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_a_new_code_replaces_the_previous_one(db_session):
    referent, person = _referent_and_person(db_session)
    first = _issue(referent, person)
    second = _issue(referent, person)
    assert first.code != second.code
    live = db.session().scalar(
        select(func.count(ActivationCode.id)).where(
            ActivationCode.beneficiary_id == person.id, ActivationCode.expires_at > clock.now()
        )
    )
    assert live == 1


def test_activation_page_without_franceconnect_explains_what_to_do(client):
    response = client.get("/connexion/activation")
    assert response.status_code == 400
    assert "connectez-vous d'abord avec FranceConnect" in _text(response)


def test_beneficiary_with_an_email_can_use_the_magic_link(client, db_session, login_as):
    _, person = _referent_and_person(db_session)
    account = AccountFactory(kind=AccountKind.BENEFICIARY, email="sofia@exemple.fr")
    person.account_id = account.id
    db_session.flush()
    login_as(client, account)
    assert client.get("/mon-compte/sessions").status_code == 200


def test_mock_franceconnect_without_pkce_links_with_the_code(mock_client, mock_fc, db_session):
    referent, person = _referent_and_person(db_session)
    issued = _issue(referent, person)
    mock_fc.set_user("mock-person", {"given_name": "Sofia", "family_name": "Benali"})
    url = mock_client.get("/connexion/franceconnect").headers["Location"]
    assert "code_challenge" not in url  # FranceConnect's default: PKCE off
    response = log_in_with(mock_client, mock_fc, "franceconnect", "mock-person")
    assert response.headers["Location"] == "/connexion/activation"
    assert _enter(mock_client, issued.code).headers["Location"] == "/"
    assert db.session().get(Beneficiary, person.id).account_id is not None
    assert mock_client.get("/mon-compte/sessions").status_code == 200


# -- a code never re-links an account, and its use is audited and announced ----------------------

ALREADY_LINKED = "déjà relié à une identité FranceConnect"


def _linked_account(db_session, person, issuer, subject, email=None):
    """The person's account, already linked to a FranceConnect identity."""
    account = AccountFactory(kind=AccountKind.BENEFICIARY, email=email)
    person.account_id = account.id
    db_session.add(
        OidcIdentity(
            account_id=account.id, provider="franceconnect", issuer=issuer, subject=subject
        )
    )
    db_session.flush()
    return account


def _live_code(person, raw="K7M2ABCDEFGH2345"):
    """A live code for the person, as one issued before the account was linked would be."""
    db.session().add(
        ActivationCode(
            beneficiary_id=person.id,
            departement_id=person.departement_id,
            selector=raw[: services.SELECTOR_LENGTH],
            code_hash=hashlib.sha256(raw.encode()).digest(),
            created_at=clock.now(),
            expires_at=clock.now() + timedelta(days=30),
        )
    )
    db.session().commit()
    return raw


def test_a_code_cannot_take_over_an_account_already_linked(strict_client, strict_fc, db_session):
    _, person = _referent_and_person(db_session)
    account = _linked_account(db_session, person, strict_fc.issuer, "fc-owner")
    code = _live_code(person)
    _franceconnect(strict_client, strict_fc, "fc-thief")
    refused = _enter(strict_client, code)
    assert refused.status_code == 422
    assert ALREADY_LINKED in _text(refused)
    assert "votre référent" in _text(refused)
    subjects = (
        db.session()
        .scalars(select(OidcIdentity.subject).where(OidcIdentity.account_id == account.id))
        .all()
    )
    assert subjects == ["fc-owner"]
    assert strict_client.get("/mon-compte/sessions").status_code == 302
    # The refused code is spent: it cannot be tried again.
    row = db.session().scalar(
        select(ActivationCode).where(ActivationCode.beneficiary_id == person.id)
    )
    assert row.used_at is not None


def test_no_code_is_issued_for_a_person_already_linked(client, db_session, login_as):
    referent, person = _referent_and_person(db_session)
    _linked_account(db_session, person, "https://fc.example", "fc-owner-2")
    login_as(client, db_session.get(Account, referent.account_id))
    url = f"/personnes/{person.id}/code-d-activation"
    response = client.submit(url, {}, form_page=f"/personnes/{person.id}")
    assert response.status_code == 409
    body = _text(response)
    assert "déjà relié une identité FranceConnect" in body
    assert "ne peut pas relier un autre compte" in body
    assert (
        db.session().scalar(
            select(func.count(ActivationCode.id)).where(ActivationCode.beneficiary_id == person.id)
        )
        == 0
    )


def test_the_person_cannot_issue_a_code_for_him_or_herself(db_session):
    _, person = _referent_and_person(db_session)
    account = AccountFactory(kind=AccountKind.BENEFICIARY, email="moi@exemple.fr")
    person.account_id = account.id
    db_session.flush()
    myself = Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=account.id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
    )
    with pytest.raises(Denied, match="professionnel"):
        services.issue_activation_code(actor=myself, beneficiary_id=person.id)
    assert (
        db.session().scalar(
            select(func.count(ActivationCode.id)).where(ActivationCode.beneficiary_id == person.id)
        )
        == 0
    )


def test_redemption_is_audited_and_announced_to_the_person(
    strict_client, strict_fc, db_session, mail_dir
):
    referent, person = _referent_and_person(db_session)
    # The person already logs in with e-mail links; FranceConnect is not linked yet.
    account = AccountFactory(kind=AccountKind.BENEFICIARY, email="sofia.benali@exemple.fr")
    person.account_id = account.id
    db_session.flush()
    issued = _issue(referent, person)
    _franceconnect(strict_client, strict_fc, "fc-announced")
    assert _enter(strict_client, issued.code).headers["Location"] == "/"
    event = db.session().scalar(
        select(AccessEvent).where(AccessEvent.tag == "auth:activation_code:redeemed")
    )
    assert event.beneficiary_id == person.id
    assert event.actor_account_id == account.id
    assert (event.section, event.action) == ("identity:link", AuditAction.CREATE)
    notification = db.session().scalar(
        select(Notification).where(Notification.recipient_account_id == account.id)
    )
    assert notification.kind == "auth:activation_code:redeemed"
    page = _text(strict_client.get("/"))
    assert "Une identité FranceConnect a été reliée à votre carnet" in page
    message = newest_mail(mail_dir, "sofia.benali@exemple.fr")
    assert "FranceConnect" in str(message["Subject"])
    assert "prévenez votre référent" in message.get_body(("plain",)).get_content()


def test_two_concurrent_redemptions_cannot_both_succeed(strict_client, strict_fc, db_session):
    """Another request spends the code between this one's lookup and its write."""
    referent, person = _referent_and_person(db_session)
    issued = _issue(referent, person)
    _franceconnect(strict_client, strict_fc, "fc-second")

    def spent_meanwhile(state):
        if not (state.is_select and state.bind_mapper is not None):
            return None
        if state.bind_mapper.class_ is not ActivationCode:
            return None
        frozen = state.invoke_statement().freeze()
        state.session.connection().execute(
            update(ActivationCode.__table__)
            .where(ActivationCode.__table__.c.beneficiary_id == person.id)
            .values(used_at=clock.now())
        )
        return frozen()

    event.listen(Session, "do_orm_execute", spent_meanwhile)
    try:
        refused = _enter(strict_client, issued.code)
    finally:
        event.remove(Session, "do_orm_execute", spent_meanwhile)
    assert refused.status_code == 422
    assert "Ce code d'activation n'est pas reconnu, a déjà servi" in _text(refused)
    assert db.session().get(Beneficiary, person.id).account_id is None
    assert (
        db.session().scalar(
            select(func.count(OidcIdentity.id)).where(OidcIdentity.subject == "fc-second")
        )
        == 0
    )
