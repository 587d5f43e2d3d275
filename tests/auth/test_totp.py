"""Second factor for département and platform admins: TOTP step-up in the app."""

from __future__ import annotations

import html
import re

import pyotp
from freezegun import freeze_time
from sqlalchemy import select

from carnet import clock
from carnet.auth import services
from carnet.auth.models import Account, AccountKind, TotpCredential
from carnet.security import crypto
from carnet.security.permissions import MembershipRole
from tests.conftest import magic_link_token, totp_code_for
from tests.factories import AccountFactory, MembershipFactory

STEP_UP = "/connexion/verification"


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _magic_login(client, account, mail_dir):
    client.submit("/connexion/lien", {"email": account.email}, form_page="/connexion")
    token = magic_link_token(mail_dir, account.email)
    return client.submit(f"/connexion/lien/{token}", {})


def _departement_admin(db_session):
    membership = MembershipFactory(role=MembershipRole.DEPARTEMENT_ADMIN)
    return db_session.get(Account, membership.account_id), membership


def test_admin_is_sent_to_the_step_up_before_anything(client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    _magic_login(client, account, mail_dir)
    home = client.get("/")
    assert home.status_code == 302
    assert home.headers["Location"] == "/connexion/verification"
    sessions_page = client.get("/mon-compte/sessions")
    assert sessions_page.headers["Location"] == "/connexion/verification"


def test_the_step_up_page_writes_nothing_until_asked(client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    _magic_login(client, account, mail_dir)
    for _ in range(2):
        page = client.get("/connexion/verification")
        assert page.status_code == 200
        assert "Configurer l'application d'authentification" in _text(page)
        assert "otpauth://" not in _text(page)
    assert services.get_totp_credential(account.id) is None


def test_enrolment_shows_the_secret_and_a_valid_code_completes_it(client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    _magic_login(client, account, mail_dir)
    started = client.submit("/connexion/verification/configurer", {}, form_page=STEP_UP)
    assert started.status_code == 302
    assert started.headers["Location"] == STEP_UP
    page = client.get(STEP_UP)
    body = _text(page)
    assert page.status_code == 200
    assert "Enregistrer une application d'authentification" in body
    uri = re.search(r"otpauth://totp/[^<\s]+", body).group(0)
    secret = pyotp.parse_uri(uri).secret
    # Asking again keeps the same secret until it is confirmed.
    client.submit("/connexion/verification/configurer", {}, form_page=STEP_UP)
    assert secret in _text(client.get(STEP_UP))
    assert secret in body  # for manual entry
    credential = db_session.scalar(
        select(TotpCredential).where(TotpCredential.account_id == account.id)
    )
    assert secret.encode() not in credential.secret_sealed
    response = client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/mon-compte/sessions").status_code == 200


def test_a_code_is_accepted_once(client, make_client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    code = totp_code_for(account.id)
    _magic_login(client, account, mail_dir)
    assert client.submit("/connexion/verification", {"code": code}).status_code == 302
    other = make_client()
    _magic_login(other, account, mail_dir)
    replay = other.submit("/connexion/verification", {"code": code})
    assert replay.status_code == 422
    assert "Ce code a déjà servi" in _text(replay)
    assert other.get("/mon-compte/sessions").status_code == 302


def test_wrong_code_is_refused_in_french(client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    totp_code_for(account.id)
    _magic_login(client, account, mail_dir)
    refused = client.submit("/connexion/verification", {"code": "000000"})
    if refused.status_code == 302:  # one chance in a million that 000000 is the code
        return
    assert refused.status_code == 422
    assert "Code incorrect" in _text(refused)
    short = client.submit("/connexion/verification", {"code": "12"})
    assert "Saisissez les 6 chiffres" in _text(short)


def test_code_from_three_steps_ago_is_refused(client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    totp_code_for(account.id)
    credential = services.get_totp_credential(account.id)
    secret = (
        crypto.current()
        .open_secret(credential.secret_sealed, purpose=services.totp_purpose(account.id))
        .decode()
    )
    with freeze_time(clock.now()) as frozen:
        old_code = pyotp.TOTP(secret).now()
        _magic_login(client, account, mail_dir)
        frozen.tick(95)
        refused = client.submit("/connexion/verification", {"code": old_code})
        assert refused.status_code == 422


def test_attempts_are_limited_per_account(client, db_session, mail_dir):
    account, _ = _departement_admin(db_session)
    totp_code_for(account.id)
    _magic_login(client, account, mail_dir)
    statuses = [
        client.submit("/connexion/verification", {"code": "abcdef"}).status_code for _ in range(6)
    ]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


def test_professional_has_no_step_up(client, db_session, login_as):
    membership = MembershipFactory(role=MembershipRole.PROFESSIONAL)
    account = db_session.get(Account, membership.account_id)
    login_as(client, account)
    assert client.get("/connexion/verification").headers["Location"] == "/"


def test_platform_admin_logs_in_with_login_as(client, db_session, login_as):
    account = AccountFactory(kind=AccountKind.PLATFORM_ADMIN)
    login_as(client, account)
    assert client.get("/mon-compte/sessions").status_code == 200


def test_reseal_moves_secrets_to_the_active_key(db_session):
    account = AccountFactory(kind=AccountKind.PLATFORM_ADMIN)
    totp_code_for(account.id)
    before = services.get_totp_credential(account.id).secret_sealed
    assert services.reseal_totp_secrets(db_session) >= 1
    after = services.get_totp_credential(account.id).secret_sealed
    assert after != before
    purpose = services.totp_purpose(account.id)
    opened = crypto.current().open_secret(after, purpose=purpose)
    assert opened == crypto.current().open_secret(before, purpose=purpose)


def test_a_secret_copied_to_another_account_does_not_open(client, db_session, mail_dir):
    owner = AccountFactory(kind=AccountKind.PLATFORM_ADMIN)
    code = totp_code_for(owner.id)
    copied = services.get_totp_credential(owner.id).secret_sealed
    account, _ = _departement_admin(db_session)
    db_session.add(
        TotpCredential(account_id=account.id, secret_sealed=copied, confirmed_at=clock.now())
    )
    db_session.flush()
    _magic_login(client, account, mail_dir)
    refused = client.submit(STEP_UP, {"code": code})
    assert refused.status_code == 422
    assert "ne peut pas être vérifiée" in _text(refused)
    assert client.get("/mon-compte/sessions").headers["Location"] == STEP_UP
