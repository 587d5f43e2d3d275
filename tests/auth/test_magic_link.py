"""E-mail login links: uniform answers, confirmation page, single use, 10 minutes."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import logging
import threading
from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from carnet import clock
from carnet.auth.models import Account, MagicLink
from carnet.notifications import mail
from carnet.security.permissions import MembershipRole
from tests.conftest import magic_link_token, newest_mail
from tests.factories import MembershipFactory


def _text(response):
    return html.unescape(response.get_data(as_text=True))


SENT = "Si un compte correspond à cette adresse, un lien de connexion vient d"


def _request(client, email):
    return client.submit("/connexion/lien", {"email": email}, form_page="/connexion")


def _professional(db_session):
    membership = MembershipFactory(role=MembershipRole.PROFESSIONAL)
    account = db_session.get(Account, membership.account_id)
    return account, membership


def test_login_page_offers_the_e_mail_link(client):
    page = client.get("/connexion")
    body = _text(page)
    assert page.status_code == 200
    assert "Recevoir un lien de connexion par e-mail" in body
    # No provider configured in the default test settings: no provider button.
    assert "ProConnect" not in body
    assert "/connexion/demo" not in body


def test_expired_session_is_announced_on_the_login_page(client):
    body = _text(client.get("/connexion?expiree=1"))
    assert "Votre session a expiré" in body


def test_known_and_unknown_addresses_get_the_same_answer(client, db_session, mail_dir):
    account, _ = _professional(db_session)
    known = _request(client, account.email)
    unknown = _request(client, "personne@inconnu.fr")
    assert known.status_code == unknown.status_code == 200
    assert SENT in _text(known)
    assert known.get_data() == unknown.get_data()
    assert len(list(mail_dir.glob("*.eml"))) == 1
    assert str(newest_mail(mail_dir)["To"]) == account.email


def test_invalid_address_is_refused_in_french(client):
    response = _request(client, "pas-une-adresse")
    assert response.status_code == 422
    assert "Saisissez une adresse e-mail valide." in _text(response)


def test_unknown_field_is_refused(client):
    response = client.submit(
        "/connexion/lien", {"email": "a@b.fr", "account_id": "x"}, form_page="/connexion"
    )
    assert response.status_code == 422
    assert "Ce champ n'est pas attendu." in _text(response)


def test_link_is_stored_hashed_and_lasts_ten_minutes(client, db_session, mail_dir):
    account, _ = _professional(db_session)
    _request(client, account.email)
    token = magic_link_token(mail_dir, account.email)
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    link = db_session.scalar(select(MagicLink).where(MagicLink.account_id == account.id))
    assert link.token_hash == hashlib.sha256(token.encode()).digest()
    assert link.expires_at - link.created_at == timedelta(minutes=10)


def test_scanner_gets_do_not_consume_and_the_click_logs_in(client, db_session, mail_dir):
    account, _ = _professional(db_session)
    _request(client, account.email)
    token = magic_link_token(mail_dir, account.email)
    for _ in range(2):  # a mail scanner opens the link, twice
        page = client.get(f"/connexion/lien/{token}")
        assert page.status_code == 200
        assert "Confirmer la connexion" in _text(page)
    response = client.submit(f"/connexion/lien/{token}", {})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    db_session.expire_all()
    assert db_session.get(Account, account.id).last_login_at is not None


def test_link_serves_once(client, make_client, db_session, mail_dir):
    account, _ = _professional(db_session)
    _request(client, account.email)
    token = magic_link_token(mail_dir, account.email)
    assert client.submit(f"/connexion/lien/{token}", {}).status_code == 302
    other = make_client()
    again = other.get(f"/connexion/lien/{token}")
    assert again.status_code == 400
    assert "Lien expiré ou déjà utilisé" in _text(again)
    replay = other.submit(f"/connexion/lien/{token}", {}, form_page="/connexion")
    assert replay.status_code == 400, _text(replay)
    assert "il a déjà servi ou a expiré" in _text(replay)


def test_link_expires_after_ten_minutes(client, db_session, mail_dir):
    account, _ = _professional(db_session)
    start = clock.now()
    with freeze_time(start) as frozen:
        _request(client, account.email)
        token = magic_link_token(mail_dir, account.email)
        frozen.tick(timedelta(minutes=11))
        page = client.get(f"/connexion/lien/{token}")
        assert page.status_code == 400
        assert "valable 10 minutes" in _text(page)


def test_token_is_in_no_log(client, db_session, mail_dir, caplog):
    caplog.set_level(logging.DEBUG)
    account, _ = _professional(db_session)
    _request(client, account.email)
    token = magic_link_token(mail_dir, account.email)
    client.get(f"/connexion/lien/{token}")
    client.submit(f"/connexion/lien/{token}", {})
    assert caplog.records, "the login should have logged something"
    for record in caplog.records:
        text = record.getMessage()
        assert token not in text
        assert account.email not in text


def test_disabled_account_gets_no_link(client, db_session, mail_dir):
    account, _ = _professional(db_session)
    account.is_disabled = True
    db_session.flush()
    assert SENT in _text(_request(client, account.email))
    assert list(mail_dir.glob("*.eml")) == []


def test_address_is_rate_limited_with_a_french_page(client, db_session, mail_dir):
    account, _ = _professional(db_session)
    for _ in range(5):
        assert _request(client, account.email).status_code == 200
    refused = _request(client, account.email)
    assert refused.status_code == 429
    assert "Trop de tentatives" in _text(refused)


def test_login_as_fixture_logs_in(client, db_session, login_as):
    account, membership = _professional(db_session)
    response = login_as(client, account, membership)
    assert response.status_code == 302
    page = client.get("/mon-compte/sessions")
    assert page.status_code == 200
    assert "Mes sessions" in _text(page)


def test_smtp_delivery_does_not_hold_up_the_answer(app, client, db_session, settings, monkeypatch):
    """The answer must not wait on SMTP, or its timing would tell a known address."""
    account, _ = _professional(db_session)
    monkeypatch.setitem(
        app.config,
        "CARNET_SETTINGS",
        dataclasses.replace(settings, smtp_url="smtp://127.0.0.1:2525?tls=off"),
    )
    release, delivered, sent = threading.Event(), threading.Event(), []

    def slow_smtp(url, message):
        release.wait(timeout=3)  # a slow relay; bounded so a synchronous send cannot hang
        sent.append(str(message["To"]))
        delivered.set()

    monkeypatch.setattr(mail, "_send_smtp", slow_smtp)
    response = _request(client, account.email)
    assert response.status_code == 200
    assert SENT in _text(response)
    assert not delivered.is_set(), "the request waited for the SMTP delivery"
    release.set()
    assert delivered.wait(timeout=5)
    assert sent == [account.email]
