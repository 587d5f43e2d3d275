"""ProConnect and FranceConnect logins against real provider processes on 127.0.0.1.

The strict provider (tests/oidc_providers.py) checks PKCE and nonces and can be made to
misbehave; oidc-provider-mock drives the happy paths.
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from freezegun import freeze_time
from sqlalchemy import func, select

from carnet import clock
from carnet.auth import oidc, services
from carnet.auth.models import Account, AccountKind, OidcIdentity
from carnet.security.permissions import MembershipRole
from tests.conftest import totp_code_for
from tests.factories import AccountFactory, MembershipFactory
from tests.oidc_providers import (
    PC_CLIENT,
    authorize,
    finish_login,
    log_in_with,
    start_login,
)

pytestmark = pytest.mark.slow

REFUSED = "La connexion n'a pas pu être vérifiée"


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _claims(account, **extra):
    """What the strict provider's login form says about the person (userinfo claims)."""
    return json.dumps(
        {
            "email": account.email,
            "email_verified": True,
            "given_name": account.given_name,
            "usual_name": account.family_name,
            **extra,
        }
    )


def _invited(db_session, role=MembershipRole.PROFESSIONAL):
    membership = MembershipFactory(role=role)
    return db_session.get(Account, membership.account_id), membership


def _logged_in(client):
    """Does the session act for someone? (the sessions page needs a principal)"""
    return client.get("/mon-compte/sessions").status_code == 200


def _identity_count(db_session, subject):
    return db_session.scalar(
        select(func.count(OidcIdentity.id)).where(OidcIdentity.subject == subject)
    )


# -- the authorization request ------------------------------------------------------------------


def test_authorization_request_has_long_state_nonce_and_pkce_s256(strict_client, strict_pc):
    url = start_login(strict_client, "proconnect")
    query = _query(url)
    assert url.startswith(f"{strict_pc.issuer}/authorize?")
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "https://carnet.test/connexion/proconnect/retour"
    assert query["client_id"] == PC_CLIENT[0]
    assert json.loads(query["claims"])["id_token"]["amr"] == {"essential": True}


def test_each_provider_has_its_own_callback(strict_client):
    pc = _query(start_login(strict_client, "proconnect"))
    fc = _query(start_login(strict_client, "franceconnect"))
    assert pc["redirect_uri"].endswith("/connexion/proconnect/retour")
    assert fc["redirect_uri"].endswith("/connexion/franceconnect/retour")
    assert pc["state"] != fc["state"]


def test_login_page_shows_both_provider_buttons(strict_client):
    body = _text(strict_client.get("/connexion"))
    assert "S'identifier avec ProConnect" in body
    assert "S'identifier avec FranceConnect" in body


def test_content_security_policy_allows_the_providers_as_form_targets(strict_client, strict_pc):
    csp = strict_client.get("/connexion").headers["Content-Security-Policy"]
    assert strict_pc.issuer in csp


# -- success with the strict provider --------------------------------------------------------------


def test_professional_logs_in_and_claims_the_invitation(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    response = log_in_with(
        strict_client, strict_pc, "proconnect", "pc-agent-1", claims=_claims(account), amr="pwd"
    )
    assert response.status_code == 302, _text(response)
    assert response.headers["Location"] == "/"
    identity = db_session.scalar(select(OidcIdentity).where(OidcIdentity.account_id == account.id))
    assert (identity.issuer, identity.subject) == (strict_pc.issuer, "pc-agent-1")
    assert _logged_in(strict_client)


def test_admin_with_password_only_must_pass_the_totp_step_up(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session, MembershipRole.DEPARTEMENT_ADMIN)
    response = log_in_with(
        strict_client, strict_pc, "proconnect", "pc-admin-1", claims=_claims(account), amr="pwd"
    )
    assert response.status_code == 302
    home = strict_client.get("/")
    assert home.headers["Location"] == "/connexion/verification"


@pytest.mark.parametrize(
    ("acr", "amr"), [("eidas1", "mfa"), ("eidas1", "pwd totp"), ("eidas1-mfa", "pwd")]
)
def test_admin_with_provider_mfa_has_no_step_up_once_the_identity_is_linked(
    strict_client, strict_pc, db_session, acr, amr
):
    account, _ = _invited(db_session, MembershipRole.DEPARTEMENT_ADMIN)
    subject = f"pc-admin-{acr}-{amr}"
    db_session.add(
        OidcIdentity(
            account_id=account.id, provider="proconnect", issuer=strict_pc.issuer, subject=subject
        )
    )
    db_session.flush()
    log_in_with(
        strict_client, strict_pc, "proconnect", subject, claims=_claims(account), acr=acr, amr=amr
    )
    assert _logged_in(strict_client)


def test_admin_claiming_the_invitation_steps_up_in_the_app_once(
    strict_client, strict_pc, db_session
):
    """The claim rests on an e-mail address: the provider's MFA is not trusted for it."""
    account, _ = _invited(db_session, MembershipRole.DEPARTEMENT_ADMIN)
    first = log_in_with(
        strict_client, strict_pc, "proconnect", "pc-claim-mfa", claims=_claims(account), amr="mfa"
    )
    assert first.status_code == 302, _text(first)
    assert strict_client.get("/").headers["Location"] == "/connexion/verification"
    again = strict_client.application.test_client()
    log_in_with(again, strict_pc, "proconnect", "pc-claim-mfa", claims=_claims(account), amr="mfa")
    assert _logged_in(again)


def test_professional_with_a_confirmed_totp_claiming_is_not_trusted_with_provider_mfa(
    db_session,
):
    account, _ = _invited(db_session)
    totp_code_for(account.id)  # a confirmed credential: a former or future admin
    identity = services.ProviderIdentity(
        provider="proconnect",
        issuer="https://pc.example",
        subject="pc-totp-holder",
        email=account.email,
        email_verified=True,
        given_name="",
        family_name="",
        has_mfa=True,
    )
    first = services.resolve_professional(identity)
    assert (first.account.id, first.has_mfa) == (account.id, False)
    second = services.resolve_professional(identity)
    assert (second.account.id, second.has_mfa) == (account.id, True)


def test_platform_admin_account_is_never_claimed_by_e_mail(strict_client, strict_pc, db_session):
    admin = AccountFactory(kind=AccountKind.PLATFORM_ADMIN, email="ops@plateforme.example")
    response = log_in_with(
        strict_client, strict_pc, "proconnect", "pc-ops", claims=_claims(admin), amr="mfa"
    )
    assert response.status_code == 403
    assert "Nous ne trouvons pas de compte Carnet de bord pour cette identité" in _text(response)
    assert _identity_count(db_session, "pc-ops") == 0
    assert not _logged_in(strict_client)


# -- refusals ------------------------------------------------------------------------------------


def test_tampered_state_is_refused_in_french(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    answer = authorize(
        start_login(strict_client, "proconnect"), "pc-tamper", claims=_claims(account)
    )
    answer["state"] = answer["state"][:-4] + "AAAA"
    response = finish_login(strict_client, "proconnect", answer)
    assert response.status_code == 400
    assert "Cette réponse de connexion n'est pas reconnue" in _text(response)
    assert not _logged_in(strict_client)
    assert _identity_count(db_session, "pc-tamper") == 0


def test_reused_state_is_refused(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    answer = authorize(
        start_login(strict_client, "proconnect"), "pc-reuse", claims=_claims(account)
    )
    assert finish_login(strict_client, "proconnect", answer).status_code == 302
    again = finish_login(strict_client, "proconnect", answer)
    assert again.status_code == 400
    assert "Cette réponse de connexion n'est pas reconnue" in _text(again)


def test_replayed_code_is_refused(strict_client, strict_pc, make_client, db_session):
    account, _ = _invited(db_session)
    first = authorize(
        start_login(strict_client, "proconnect"), "pc-replay", claims=_claims(account)
    )
    assert finish_login(strict_client, "proconnect", first).status_code == 302
    # Same browser, a fresh flow, but the old code slipped in with the new state.
    second = authorize(
        start_login(strict_client, "proconnect"), "pc-replay", claims=_claims(account)
    )
    replay = finish_login(strict_client, "proconnect", {**second, "code": first["code"]})
    assert replay.status_code == 400
    assert REFUSED in _text(replay)


def test_code_without_its_pkce_verifier_is_refused(strict_client, strict_pc, db_session):
    """A code issued to one browser and redeemed from another has the wrong verifier."""
    account, _ = _invited(db_session)
    victim = authorize(start_login(strict_client, "proconnect"), "pc-pkce", claims=_claims(account))
    attacker = strict_client.application.test_client()
    own = _query(start_login(attacker, "proconnect"))
    response = finish_login(attacker, "proconnect", {"code": victim["code"], "state": own["state"]})
    assert response.status_code == 400
    assert REFUSED in _text(response)
    assert _identity_count(db_session, "pc-pkce") == 0


def test_nonce_mismatch_is_refused_and_creates_nothing(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    strict_pc.control(nonce="n" * 43)
    response = log_in_with(
        strict_client, strict_pc, "proconnect", "pc-nonce", claims=_claims(account)
    )
    assert response.status_code == 400
    assert REFUSED in _text(response)
    assert _identity_count(db_session, "pc-nonce") == 0
    assert not _logged_in(strict_client)


def test_franceconnect_answer_brought_to_the_proconnect_callback_is_refused(
    strict_client, strict_fc, db_session
):
    account, _ = _invited(db_session)
    answer = authorize(
        start_login(strict_client, "franceconnect"), "fc-mixup", claims=_claims(account)
    )
    response = finish_login(strict_client, "proconnect", answer)
    assert response.status_code == 400
    assert "Cette réponse de connexion n'est pas reconnue" in _text(response)
    assert _identity_count(db_session, "fc-mixup") == 0


@pytest.mark.parametrize(
    "tweak",
    [
        {"alg": "HS256"},
        {"alg": "none"},
        {"expired": True},
        {"aud": "another-client"},
        {"iss": "https://pirate.example"},
    ],
)
def test_bad_id_tokens_are_refused(strict_client, strict_pc, db_session, tweak):
    account, _ = _invited(db_session)
    strict_pc.control(**tweak)
    response = log_in_with(
        strict_client, strict_pc, "proconnect", "pc-bad-token", claims=_claims(account)
    )
    assert response.status_code == 400
    assert REFUSED in _text(response)
    assert _identity_count(db_session, "pc-bad-token") == 0
    assert not _logged_in(strict_client)


def test_unknown_professional_gets_a_french_page_and_no_account(
    strict_client, strict_pc, db_session
):
    accounts_before = db_session.scalar(select(func.count(Account.id)))
    response = log_in_with(
        strict_client,
        strict_pc,
        "proconnect",
        "pc-stranger",
        claims=json.dumps({"email": "inconnu@exemple.fr", "email_verified": True}),
    )
    assert response.status_code == 403
    body = _text(response)
    assert "Nous ne trouvons pas de compte Carnet de bord pour cette identité" in body
    assert "administrateur de votre structure" in body
    assert db_session.scalar(select(func.count(Account.id))) == accounts_before
    assert _identity_count(db_session, "pc-stranger") == 0


def test_unverified_email_does_not_claim_an_invitation(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    response = log_in_with(
        strict_client,
        strict_pc,
        "proconnect",
        "pc-unverified",
        claims=_claims(account, email_verified=False),
    )
    assert response.status_code == 403
    assert _identity_count(db_session, "pc-unverified") == 0


def test_claimed_invitation_is_not_taken_over_by_another_identity(
    strict_client, strict_pc, make_client, db_session
):
    account, _ = _invited(db_session)
    log_in_with(strict_client, strict_pc, "proconnect", "pc-owner", claims=_claims(account))
    other = strict_client.application.test_client()
    response = log_in_with(other, strict_pc, "proconnect", "pc-intruder", claims=_claims(account))
    assert response.status_code == 403
    subjects = db_session.scalars(
        select(OidcIdentity.subject).where(OidcIdentity.account_id == account.id)
    ).all()
    assert subjects == ["pc-owner"]


def test_state_older_than_ten_minutes_is_refused_in_french(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    with freeze_time(clock.now()) as frozen:
        answer = authorize(
            start_login(strict_client, "proconnect"), "pc-slow", claims=_claims(account)
        )
        frozen.tick(oidc.STATE_LIFETIME_SECONDS + 1)
        response = finish_login(strict_client, "proconnect", answer)
    assert response.status_code == 400
    assert "Cette demande de connexion a expiré" in _text(response)
    assert "10 minutes" in _text(response)
    assert _identity_count(db_session, "pc-slow") == 0
    assert not _logged_in(strict_client)


def test_provider_refusal_is_a_french_page(strict_client):
    url = start_login(strict_client, "proconnect")
    state = _query(url)["state"]
    response = strict_client.get(
        "/connexion/proconnect/retour", query_string={"error": "access_denied", "state": state}
    )
    assert response.status_code == 400
    assert "a été annulée ou refusée" in _text(response)


def test_callback_without_anything_is_a_french_page(strict_client):
    response = strict_client.get("/connexion/franceconnect/retour")
    assert response.status_code == 400
    assert "Recommencez depuis la page de connexion" in _text(response)


def test_unknown_franceconnect_identity_is_asked_for_an_activation_code(
    strict_client, strict_fc, db_session
):
    accounts_before = db_session.scalar(select(func.count(Account.id)))
    response = log_in_with(
        strict_client,
        strict_fc,
        "franceconnect",
        "fc-newcomer",
        claims=json.dumps({"given_name": "Sofia", "family_name": "B"}),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion/activation"
    page = strict_client.get("/connexion/activation")
    assert "Saisissez votre code d'activation" in _text(page)
    assert "votre référent" in _text(page)
    assert db_session.scalar(select(func.count(Account.id))) == accounts_before
    assert not _logged_in(strict_client)


# -- logout ---------------------------------------------------------------------------------------


def test_logout_ends_the_provider_session_too(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session)
    log_in_with(strict_client, strict_pc, "proconnect", "pc-logout", claims=_claims(account))
    response = strict_client.submit("/deconnexion", {}, form_page="/mon-compte/sessions")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{strict_pc.issuer}/end_session?")
    query = _query(location)
    assert query["post_logout_redirect_uri"] == "https://carnet.test/deconnexion/retour"
    assert len(query["state"]) >= 32
    assert query["id_token_hint"].count(".") == 2
    assert "__Host-carnet=;" in response.headers["Set-Cookie"]
    back = requests.get(location, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    returned = strict_client.get(
        urlsplit(back.headers["Location"]).path, query_string=_query(back.headers["Location"])
    )
    assert returned.status_code == 200
    assert "Votre session Carnet de bord et votre session ProConnect sont fermées." in _text(
        returned
    )
    assert not _logged_in(strict_client)
    forged = strict_client.get("/deconnexion/retour", query_string={"state": "x" * 43})
    assert forged.status_code == 400
    assert "Ce retour de déconnexion n'est pas reconnu" in _text(forged)


# -- happy paths with oidc-provider-mock ----------------------------------------------------------


def test_mock_professional_claims_the_invitation_then_only_the_identity_counts(
    mock_client, mock_pc, db_session
):
    account, _ = _invited(db_session)
    mock_pc.set_user(
        "mock-agent",
        {"email": account.email, "email_verified": True, "given_name": account.given_name},
    )
    response = log_in_with(mock_client, mock_pc, "proconnect", "mock-agent")
    assert response.status_code == 302, _text(response)
    assert _logged_in(mock_client)
    identity = db_session.scalar(select(OidcIdentity).where(OidcIdentity.account_id == account.id))
    assert identity.issuer == mock_pc.issuer
    # Later, the provider reports another address: the identity still finds the account.
    mock_pc.set_user("mock-agent", {"email": "nouvelle@exemple.fr", "email_verified": True})
    again = mock_client.application.test_client()
    assert log_in_with(again, mock_pc, "proconnect", "mock-agent").status_code == 302
    assert _logged_in(again)


def test_same_email_from_the_other_provider_is_another_identity(
    mock_client, mock_pc, mock_fc, db_session
):
    account, _ = _invited(db_session)
    AccountFactory()  # someone else, to make sure nothing is picked at random
    mock_fc.set_user("mock-same-mail", {"email": account.email, "email_verified": True})
    response = log_in_with(mock_client, mock_fc, "franceconnect", "mock-same-mail")
    # FranceConnect never claims a professional's invitation: it asks for an activation code.
    assert response.headers["Location"] == "/connexion/activation"
    assert _identity_count(db_session, "mock-same-mail") == 0


def test_step_up_page_offers_a_fresh_proconnect_login(strict_client, strict_pc, db_session):
    account, _ = _invited(db_session, MembershipRole.DEPARTEMENT_ADMIN)
    log_in_with(strict_client, strict_pc, "proconnect", "pc-reauth", claims=_claims(account))
    page = _text(strict_client.get("/connexion/verification"))
    assert "se reconnecter avec ProConnect" in page
    url = start_login(strict_client, "proconnect", reauth="1")
    assert _query(url)["prompt"] == "login"
    assert "prompt" not in _query(start_login(strict_client, "proconnect"))
