"""Server-side sessions through the login: cookie, rotation, timeouts, logout, revocation,
roles read fresh on every request."""

from __future__ import annotations

import hashlib
import html
import os
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from carnet import clock, db
from carnet.auth import services
from carnet.auth.models import Account
from carnet.cli import main
from carnet.errors import Denied
from carnet.security import sessions
from carnet.security.permissions import MembershipRole, PrincipalRole
from carnet.security.principal import Principal, system_principal
from carnet.security.sessions import ServerSessionRecord
from carnet.tenancy.models import Membership
from tests.conftest import magic_link_token
from tests.factories import MembershipFactory, OrganisationFactory

COOKIE = "__Host-carnet"


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _professional(db_session):
    membership = MembershipFactory(role=MembershipRole.PROFESSIONAL)
    return db_session.get(Account, membership.account_id), membership


def _cookie(client):
    cookie = client.get_cookie(COOKIE, domain="localhost")
    return cookie.value if cookie else None


def _acts(client):
    return client.get("/mon-compte/sessions").status_code == 200


def _with_cookie(make_client, value):
    other = make_client()
    other.set_cookie(COOKIE, value, domain="localhost", secure=True, httponly=True)
    return other


def test_login_cookie_is_host_prefixed_secure_httponly_lax_without_domain(
    client, db_session, mail_dir
):
    account, _ = _professional(db_session)
    client.submit("/connexion/lien", {"email": account.email}, form_page="/connexion")
    token = magic_link_token(mail_dir, account.email)
    response = client.submit(f"/connexion/lien/{token}", {})
    header = response.headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in header.split(";")]
    assert header.startswith(f"{COOKIE}=")
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert not any(part.startswith("domain=") for part in attributes)
    assert len(_cookie(client)) >= 43  # token_urlsafe(32): 256 bits


def test_session_id_changes_at_login_and_the_old_one_is_dead(
    client, make_client, db_session, mail_dir
):
    account, _ = _professional(db_session)
    client.submit("/connexion/lien", {"email": account.email}, form_page="/connexion")
    before = _cookie(client)
    assert before, "the login form's CSRF token opens a pre-login session"
    token = magic_link_token(mail_dir, account.email)
    client.submit(f"/connexion/lien/{token}", {})
    after = _cookie(client)
    assert after
    assert after != before
    assert _acts(client)
    planted = _with_cookie(make_client, before)
    response = planted.get("/mon-compte/sessions")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_idle_timeout_after_thirty_minutes(client, db_session, login_as):
    account, membership = _professional(db_session)
    with freeze_time(clock.now()) as frozen:
        login_as(client, account, membership)
        frozen.tick(timedelta(minutes=29))
        assert _acts(client)
        frozen.tick(timedelta(minutes=31))
        response = client.get("/mon-compte/sessions")
        assert response.status_code == 302
        assert response.headers["Location"] == "/connexion?expiree=1"
        assert "Votre session a expiré" in _text(client.get("/connexion?expiree=1"))


def test_absolute_timeout_after_twelve_hours_of_activity(client, db_session, login_as):
    account, membership = _professional(db_session)
    with freeze_time(clock.now()) as frozen:
        login_as(client, account, membership)
        for _ in range(35):  # 11 h 40 of steady activity
            frozen.tick(timedelta(minutes=20))
            assert _acts(client)
        frozen.tick(timedelta(minutes=21))  # 12 h 01 after the login
        response = client.get("/mon-compte/sessions")
        assert response.headers["Location"] == "/connexion?expiree=1"


def test_logout_deletes_the_server_record_and_the_old_cookie_is_dead(
    client, make_client, db_session, login_as
):
    account, membership = _professional(db_session)
    login_as(client, account, membership)
    old = _cookie(client)
    response = client.submit("/deconnexion", {}, form_page="/mon-compte/sessions")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion?deconnecte=1"
    assert "Vous êtes déconnecté·e." in _text(client.get("/connexion?deconnecte=1"))
    assert (
        db_session.scalar(select(func.count()).where(ServerSessionRecord.account_id == account.id))
        == 0
    )
    replay = _with_cookie(make_client, old).get("/mon-compte/sessions")
    assert replay.status_code == 302
    assert replay.headers["Location"] == "/connexion"


def test_my_sessions_lists_them_and_ends_the_others(client, make_client, db_session, login_as):
    account, membership = _professional(db_session)
    other = make_client()
    login_as(other, account, membership)
    login_as(client, account, membership)
    page = _text(client.get("/mon-compte/sessions"))
    assert page.count("lien par e-mail") == 2
    assert "celle-ci" in page
    response = client.submit(
        "/mon-compte/sessions/deconnecter-les-autres", {}, form_page="/mon-compte/sessions"
    )
    assert response.status_code == 302
    assert "1 autre(s) session(s) déconnectée(s)." in _text(
        client.get(response.headers["Location"])
    )
    assert _acts(client)
    assert not _acts(other)


def test_disabling_an_account_ends_all_its_sessions(client, make_client, db_session, login_as):
    account, membership = _professional(db_session)
    other = make_client()
    login_as(client, account, membership)
    login_as(other, account, membership)
    ended = services.disable_account(actor=system_principal("cli:test"), account_id=account.id)
    assert ended == 2
    db.session().commit()  # as the CLI's unit of work would
    assert not _acts(client)
    assert not _acts(other)


def test_ending_a_membership_takes_effect_on_the_next_request(client, db_session, login_as):
    account, membership = _professional(db_session)
    login_as(client, account, membership)
    assert _acts(client)
    ended = db.session().get(Membership, membership.id)
    ended.ended_at = clock.now()
    db.session().commit()  # as the ending request's unit of work would
    response = client.get("/mon-compte/sessions")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion"


def test_several_roles_go_through_the_role_picker(client, db_session, mail_dir):
    first = MembershipFactory(role=MembershipRole.PROFESSIONAL)
    account = db_session.get(Account, first.account_id)
    second = MembershipFactory(
        account_id=account.id,
        role=MembershipRole.ORIENTATION_OFFICER,
        organisation=OrganisationFactory(name="Maison du département Nord"),
    )
    client.submit("/connexion/lien", {"email": account.email}, form_page="/connexion")
    token = magic_link_token(mail_dir, account.email)
    response = client.submit(f"/connexion/lien/{token}", {})
    assert response.headers["Location"] == "/connexion/role"
    picker = _text(client.get("/connexion/role"))
    assert "Avec quel rôle voulez-vous agir ?" in picker
    assert "Maison du département Nord" in picker
    chosen = client.submit("/connexion/role", {"membership_id": str(second.id)})
    assert chosen.status_code == 302
    nav = _text(client.get("/mon-compte/sessions"))
    assert "Chargé·e d'orientation" in nav
    assert "Changer de rôle" in nav
    # A role the account does not hold is refused.
    stranger = MembershipFactory()
    refused = client.submit("/connexion/role", {"membership_id": str(stranger.id)})
    assert refused.status_code == 422
    assert "Ce rôle n'est pas, ou plus, disponible" in _text(refused)


def test_only_a_platform_admin_may_disable_an_account(db_session):
    account, _ = _professional(db_session)
    actor = Principal(
        role=PrincipalRole.PROFESSIONAL, auth_method="magic_link", account_id=account.id
    )
    with pytest.raises(Denied, match="administrateur de la plateforme"):
        services.disable_account(actor=actor, account_id=account.id)


def _session_row(db_session, *, created_ago, seen_ago):
    now = clock.now()
    row = ServerSessionRecord(
        id_hash=os.urandom(32),
        data={"csrf_token": "x"},
        created_at=now - created_ago,
        last_seen_at=now - seen_ago,
    )
    db_session.add(row)
    db_session.flush()
    return row.id_hash


def _expired_and_live_rows(db_session):
    live = _session_row(db_session, created_ago=timedelta(hours=2), seen_ago=timedelta(minutes=5))
    idle = _session_row(db_session, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=31))
    old = _session_row(db_session, created_ago=timedelta(hours=13), seen_ago=timedelta(minutes=1))
    return live, [idle, old]


def _remaining(db_session, hashes):
    db_session.expire_all()
    return [h for h in hashes if db_session.get(ServerSessionRecord, h) is not None]


def test_purge_deletes_idle_and_too_old_sessions_only(db_session):
    live, expired = _expired_and_live_rows(db_session)
    before = db_session.scalar(select(func.count()).select_from(ServerSessionRecord))
    purged = sessions.purge_expired_sessions(db_session)
    assert purged >= 2
    assert db_session.scalar(select(func.count()).select_from(ServerSessionRecord)) == (
        before - purged
    )
    assert _remaining(db_session, [live, *expired]) == [live]


def test_anonymous_visits_leave_rows_that_the_cli_purges(app, client, db_session):
    with freeze_time(clock.now() - timedelta(minutes=45)):
        client.get("/connexion")  # the login form's CSRF token opens a pre-login session
    visit = _cookie(client)
    assert visit
    visit_hash = hashlib.sha256(visit.encode()).digest()
    live, expired = _expired_and_live_rows(db_session)
    db_session.commit()  # as the requests that opened them would
    runner = app.test_cli_runner()
    dry = runner.invoke(main, ["sessions", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "seraient supprimées" in dry.output
    assert _remaining(db_session, [visit_hash, *expired]) == [visit_hash, *expired]
    result = runner.invoke(main, ["sessions", "purge"])
    assert result.exit_code == 0, result.output
    assert "session(s) expirée(s) supprimée(s)" in result.output
    assert _remaining(db_session, [visit_hash, live, *expired]) == [live]
