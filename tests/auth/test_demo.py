"""The demo picker exists only in demo mode."""

from __future__ import annotations

import html

import pytest

from carnet import create_app
from carnet.auth.models import Account, AccountKind
from carnet.config import Settings
from carnet.security.permissions import MembershipRole
from tests.conftest import Client
from tests.factories import AccountFactory, MembershipFactory
from tests.oidc_providers import settings_env


def _text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture(scope="module")
def demo_app(app, settings):
    return create_app(Settings.from_env(settings_env(settings, CARNET_ENV="demo")))


@pytest.fixture
def demo_client(demo_app, connection):
    demo_app.test_client_class = Client
    return demo_app.test_client()


def test_demo_picker_is_not_found_outside_demo_mode(client, db_session):
    account = AccountFactory()
    assert client.get("/connexion/demo").status_code == 404
    response = client.submit(
        "/connexion/demo", {"account_id": str(account.id)}, form_page="/connexion"
    )
    assert response.status_code == 404
    assert "/connexion/demo" not in _text(client.get("/connexion"))


def test_demo_picker_lists_accounts_by_role_and_logs_in_an_admin(demo_client, db_session):
    admin_membership = MembershipFactory(role=MembershipRole.DEPARTEMENT_ADMIN)
    admin = db_session.get(Account, admin_membership.account_id)
    MembershipFactory(role=MembershipRole.PROFESSIONAL)
    AccountFactory(kind=AccountKind.PLATFORM_ADMIN, given_name="Alex", family_name="Plateforme")
    assert "choisir un compte de démonstration" in _text(demo_client.get("/connexion"))
    page = _text(demo_client.get("/connexion/demo"))
    assert "Administration du département" in page
    assert "Professionnel·le (référent, conseiller)" in page
    assert "Administration de la plateforme" in page
    assert "Alex Plateforme" in page
    assert "double authentification" in page
    response = demo_client.submit(
        "/connexion/demo",
        {"account_id": str(admin.id), "membership_id": str(admin_membership.id)},
        form_page="/connexion/demo",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Demo admins are treated as having shown a second factor.
    sessions_page = demo_client.get("/mon-compte/sessions")
    assert sessions_page.status_code == 200
    assert "démonstration" in _text(sessions_page)


def test_demo_login_refuses_a_malformed_choice(demo_client):
    response = demo_client.submit(
        "/connexion/demo", {"account_id": "pas-un-id"}, form_page="/connexion"
    )
    assert response.status_code == 422
    assert "Choisissez un compte de démonstration" in _text(response)
