"""The ProConnect and FranceConnect redirect chains in a real Chromium, against the strict
test provider: login and logout go through without a single CSP violation (form-action
applies to the redirects that follow the logout form's POST)."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterator

import pytest

from carnet.auth.models import Account, AccountKind, OidcIdentity
from carnet.records.models import Beneficiary, Sex
from carnet.security import scoping
from tests.e2e.conftest import arrange_professional
from tests.oidc_providers import FC_CLIENT, PC_CLIENT, ProviderProcess, provider_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[ProviderProcess, ProviderProcess]]:
    # The live server's port is chosen later: any local callback is accepted.
    local = "http://localhost:"
    proconnect = ProviderProcess.strict(
        client_id=PC_CLIENT[0], client_secret=PC_CLIENT[1], alg="RS256", redirect_prefix=local
    )
    franceconnect = ProviderProcess.strict(
        client_id=FC_CLIENT[0],
        client_secret=FC_CLIENT[1],
        alg="ES256",
        require_pkce=False,
        redirect_prefix=local,
    )
    yield proconnect, franceconnect
    proconnect.stop()
    franceconnect.stop()


@pytest.fixture(scope="module")
def server(live_server_factory, providers):
    proconnect, franceconnect = providers
    return live_server_factory(
        {
            **provider_env("PROCONNECT", proconnect, PC_CLIENT, "RS256", pkce=True),
            **provider_env("FRANCECONNECT", franceconnect, FC_CLIENT, "ES256", pkce=False),
        }
    )


def link_identity(server, account_id: uuid.UUID, provider: ProviderProcess, sub: str) -> None:
    with scoping.unscoped(), server.arrange() as session, session.begin():
        session.add(
            OidcIdentity(
                account_id=account_id,
                provider="proconnect" if "pc" in sub else "franceconnect",
                issuer=provider.issuer,
                subject=sub,
            )
        )


def sign_in_at_provider(page, sub: str) -> None:
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def test_proconnect_login_and_logout_chain_has_no_csp_violation(server, providers, page_factory):
    proconnect, _ = providers
    ids = arrange_professional(server, email=f"agent.{uuid.uuid4().hex[:8]}@e2e.carnet.fr")
    sub = f"pc-{uuid.uuid4().hex}"
    link_identity(server, ids["account_id"], proconnect, sub)
    page, csp = page_factory()

    page.goto(f"{server.url}/connexion")
    page.get_by_role("link", name=re.compile("ProConnect")).click()
    page.wait_for_load_state()
    assert page.url.startswith(proconnect.issuer), "the button leads to the provider"
    request = proconnect.last_authorization_request()
    assert len(request["state"]) >= 32
    assert len(request["nonce"]) >= 32
    assert request["code_challenge_method"] == "S256"

    sign_in_at_provider(page, sub)
    assert page.url.startswith(server.url), page.url
    assert "/connexion" not in page.url, page.url
    logout = page.get_by_role("button", name=re.compile("déconnecter", re.I))
    assert logout.is_visible()

    logout.click()
    page.wait_for_load_state()
    # Back from the provider's end-session endpoint, on our own French page.
    assert page.url.startswith(f"{server.url}/deconnexion/retour"), page.url
    assert "déconnecté" in page.content().lower()
    assert csp.violations == []


def test_franceconnect_login_of_a_linked_person_has_no_csp_violation(
    server, providers, page_factory
):
    _, franceconnect = providers
    ids = arrange_professional(server, email=f"ref.{uuid.uuid4().hex[:8]}@e2e.carnet.fr")
    sub = f"fc-{uuid.uuid4().hex}"
    with scoping.unscoped(), server.arrange() as session, session.begin():
        account = Account(kind=AccountKind.BENEFICIARY, given_name="Nadia", family_name="Keller")
        session.add(account)
        session.flush()
        session.add(
            Beneficiary(
                departement_id=ids["departement_id"],
                account_id=account.id,
                given_name="Nadia",
                family_name="Keller",
                search_name="keller nadia",
                sex=Sex.FEMALE,
                birth_on=datetime.date(1990, 2, 3),
                is_synthetic=True,
            )
        )
        account_id = account.id
    link_identity(server, account_id, franceconnect, sub)
    page, csp = page_factory(width=320, height=640)

    page.goto(f"{server.url}/connexion")
    page.get_by_role("link", name=re.compile("FranceConnect")).click()
    page.wait_for_load_state()
    sign_in_at_provider(page, sub)

    assert page.url.startswith(server.url), page.url
    assert "/connexion" not in page.url, page.url
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the person's home scrolls sideways at 320 px"
    page.get_by_role("button", name=re.compile("déconnecter", re.I)).click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}/deconnexion/retour"), page.url
    assert csp.violations == []
