"""Real Chromium through the login paths: no CSP violation, usable at 320 px."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import arrange_professional

pytestmark = pytest.mark.e2e


def test_magic_link_login_and_logout_in_chromium_without_csp_violation(
    live_server_factory, page_factory
):
    server = live_server_factory()
    arrange_professional(server, email="lea.durand@e2e.carnet.fr")
    page, csp = page_factory()

    page.goto(f"{server.url}/connexion")
    page.get_by_label(re.compile("adresse e-mail", re.I)).fill("lea.durand@e2e.carnet.fr")
    page.get_by_role("button", name=re.compile("lien", re.I)).click()
    page.wait_for_load_state()
    link = re.search(
        r"https?://\S+/connexion/lien/\S+", server.newest_mail_body("lea.durand@e2e.carnet.fr")
    )
    assert link, "the mail holds the login link"
    page.goto(link.group(0).replace(server.url.replace("localhost", "127.0.0.1"), server.url))
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()
    page.wait_for_load_state()

    assert "/connexion" not in page.url, page.content()[:500]
    assert page.get_by_role("button", name=re.compile("déconnecter", re.I)).is_visible()

    page.get_by_role("button", name=re.compile("déconnecter", re.I)).click()
    page.wait_for_load_state()
    assert "/connexion" in page.url
    assert csp.violations == []


def test_login_page_fits_a_320_px_phone(live_server_factory, page_factory, tmp_path):
    server = live_server_factory()
    page, csp = page_factory(width=320, height=640)
    page.goto(f"{server.url}/connexion")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=str(tmp_path / "login-320.png"), full_page=True)
    assert overflow <= 0, "the login page scrolls sideways at 320 px"
    assert csp.violations == []
