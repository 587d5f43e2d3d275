"""Security headers on every response, error pages included; CSRF on every unsafe method,
with a French refusal page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Blueprint, Flask

from carnet import create_app
from carnet.config import Settings
from carnet.web import public
from tests.conftest import Client
from tests.factories import AccountFactory, MembershipFactory


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_security_headers(response: Any, *, personal: bool = True) -> None:
    headers = response.headers
    directives = {}
    for directive in headers["Content-Security-Policy"].split(";"):
        name, _, value = directive.strip().partition(" ")
        directives[name] = value
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no CDN
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"].startswith("'self'")
    hsts = headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))  # type: ignore[union-attr]
    assert max_age >= 31536000
    assert "includeSubDomains" in hsts
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    if personal:  # anything but a static file may hold personal data
        assert headers["Cache-Control"] == "no-store"


def test_the_health_check_carries_the_headers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_security_headers(response)


def test_a_missing_page_is_a_french_404_with_the_headers(client: Client) -> None:
    response = client.get("/cette-page-n-existe-pas")
    assert response.status_code == 404
    page = text(response)
    assert "Page introuvable" in page
    assert "Cette page n'existe pas ou n'existe plus." in page
    assert '<html lang="fr">' in page
    assert_security_headers(response)


def test_a_missing_static_file_is_a_404_with_the_headers(client: Client) -> None:
    response = client.get("/static/css/absent.css")
    assert response.status_code == 404
    assert_security_headers(response, personal=False)


def test_a_wrong_method_is_a_french_405_with_the_headers(client: Client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "Cette action n'est pas possible sur cette page." in text(response)
    assert_security_headers(response)


def test_the_api_answers_errors_as_json_problems_with_the_headers(client: Client) -> None:
    response = client.get("/api/rien-ici")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "https://carnet.example/errors/http_404",
        "title": "Cette page n'existe pas ou n'existe plus.",
        "status": 404,
        "code": "http_404",
    }
    assert_security_headers(response)


def test_a_post_without_csrf_token_is_a_french_400(client: Client) -> None:
    response = client.post("/connexion/lien", data={"email": "camille@exemple.fr"})
    assert response.status_code == 400
    page = text(response)
    assert "Formulaire refusé" in page
    assert "Le formulaire a expiré ou a été envoyé depuis une autre page." in page
    assert_security_headers(response)


def test_a_post_with_a_forged_token_is_refused(client: Client) -> None:
    client.get("/connexion")
    response = client.post(
        "/connexion/lien",
        data={"email": "camille@exemple.fr", "csrf_token": "IjAwMDAi.forged.token"},
        headers={"Referer": "https://localhost/connexion"},
    )
    assert response.status_code == 400
    assert "Formulaire refusé" in text(response)


def test_a_post_from_another_site_is_refused(client: Client) -> None:
    token = client.csrf_from("/connexion")
    response = client.post(
        "/connexion/lien",
        data={"email": "camille@exemple.fr", "csrf_token": token},
        headers={"Referer": "https://ailleurs.example/piege"},
    )
    assert response.status_code == 400


@pytest.fixture
def logged_in(client: Client, db_session: Any, login_as: Callable[..., Any]) -> Client:
    account = AccountFactory()
    MembershipFactory(account_id=account.id)
    db_session.flush()
    login_as(client, account)
    return client


def test_error_pages_of_a_logged_in_person_carry_the_headers(logged_in: Client) -> None:
    missing = logged_in.get("/personnes/introuvable/rien")
    assert missing.status_code == 404
    assert_security_headers(missing)
    forged = logged_in.post("/deconnexion")
    assert forged.status_code == 400
    assert "Formulaire refusé" in text(forged)
    assert_security_headers(forged)
    page = logged_in.get("/mon-compte/sessions")
    assert page.status_code == 200
    assert_security_headers(page)


def test_an_unexpected_error_is_a_french_500_with_the_headers(
    settings: Settings, connection: Any
) -> None:
    failing = Blueprint("failing", __name__)

    @failing.get("/essai-panne")
    @public
    def broken() -> str:
        raise RuntimeError("panne simulée")

    app: Flask = create_app(settings)
    app.register_blueprint(failing)
    app.test_client_class = Client
    response = app.test_client().get("/essai-panne")
    assert response.status_code == 500
    page = text(response)
    assert "Erreur inattendue" in page
    assert "panne simulée" not in page
    assert_security_headers(response)
