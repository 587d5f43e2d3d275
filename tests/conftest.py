"""Test fixtures: a migrated database (PostgreSQL when DATABASE_URL points to one, else a
SQLite file), one rolled-back transaction per test, the app through `create_app`, a client
that keeps CSRF on, and `login_as` through the real magic-link login path."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from carnet import create_app, db
from carnet.config import Settings
from carnet.security import scoping

TEST_KEK = "ktest1:" + "A" * 43 + "="
TEST_KEK_OLD = "ktest0:" + "B" * 43 + "="
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _database_url(tmp_root: Path) -> str:
    import os

    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{tmp_root / 'carnet-test.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _fresh_postgres(url: str) -> str:
    """A database of our own beside the one DATABASE_URL names, dropped and recreated."""
    parsed = make_url(url)
    name = f"{parsed.database}_pytest"
    admin = db.make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory.mktemp("db"))
    return _fresh_postgres(url) if url.startswith("postgresql") else url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    from alembic import command

    from carnet.cli import alembic_config

    command.upgrade(alembic_config(database_url), "head")
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    instance = tmp_path_factory.mktemp("instance")
    return Settings.from_env(
        {
            "CARNET_ENV": "test",
            "DATABASE_URL": database_url,
            "CARNET_SECRET_KEY": "test-secret-key-" + "s" * 32,
            "CARNET_BASE_URL": "https://carnet.test",
            "CARNET_KEK": TEST_KEK,
            "CARNET_BLIND_INDEX_KEY": "test-blind-index-key-" + "b" * 32,
            "CARNET_AUDIT_KEY": "test-audit-key-" + "a" * 32,
            "CARNET_INSTANCE_DIR": str(instance),
        }
    )


@pytest.fixture(scope="session")
def app(settings: Settings, engine: Engine) -> Flask:
    db.bind(engine)
    return create_app(settings)


@pytest.fixture
def connection(engine: Engine, app: Flask) -> Iterator[Any]:
    """One outer transaction per test; the code's own commits become savepoints."""
    conn = engine.connect()
    outer = conn.begin()
    db.session.remove()
    db.session_factory.configure(bind=conn, join_transaction_mode="create_savepoint")
    yield conn
    db.session.remove()
    db.session_factory.configure(bind=engine)
    db.session_factory.kw.pop("join_transaction_mode", None)  # back to SQLAlchemy's default
    outer.rollback()
    conn.close()


@pytest.fixture
def db_session(connection: Any) -> Iterator[Any]:
    """The scoped session, unscoped by département so tests can arrange any data."""
    with scoping.unscoped():
        yield db.session()


@pytest.fixture
def mail_dir(settings: Settings) -> Path:
    settings.mail_dir.mkdir(parents=True, exist_ok=True)
    for old in settings.mail_dir.glob("*.eml"):
        old.unlink()
    return settings.mail_dir


class Client(FlaskClient):
    """A browser-like client over https that reads the CSRF token from the page's form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["wsgi.url_scheme"] = "https"
        self.environ_base["HTTP_HOST"] = "carnet.test"

    def csrf_from(self, url: str) -> str:
        page = self.get(url)
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, f"no CSRF token in the form of {url} (status {page.status_code})"
        self.form_page_url = page.request.url
        return match.group(1)

    def submit(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        form_page: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST like a browser: first GET the page holding the form, then send its token."""
        token = self.csrf_from(form_page or url)
        # Over https Flask-WTF also checks the Referer (WTF_CSRF_SSL_STRICT); a browser
        # sends the form page's address under our Referrer-Policy: same-origin.
        headers = {"Referer": self.form_page_url, **kwargs.pop("headers", {})}
        return self.post(url, data={**(data or {}), "csrf_token": token}, headers=headers, **kwargs)


@pytest.fixture
def client(app: Flask, connection: Any) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def make_client(app: Flask, connection: Any) -> Callable[[], Client]:
    def factory() -> Client:
        app.test_client_class = Client
        return app.test_client()  # type: ignore[return-value]

    return factory


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to 127.0.0.1 (providers started by the tests, PostgreSQL, Redis) only."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not host.startswith("/")
        ):
            raise RuntimeError(f"outbound connection refused in tests: {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# -- login (appended by the auth package) ----------------------------------------------------------

MAGIC_LINK_RE = re.compile(r"/connexion/lien/([A-Za-z0-9_\-]{43})")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Each test starts with empty rate-limit counters (the memory storage outlives tests)."""
    from carnet.extensions import limiter

    if getattr(limiter, "_storage", None) is not None:
        limiter.reset()


def newest_mail(mail_dir: Path, to: str | None = None) -> Any:
    """The newest .eml written in the mail folder (to `to`, when given), parsed."""
    from email import policy
    from email.parser import BytesParser

    for path in sorted(mail_dir.glob("*.eml"), reverse=True):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if to is None or str(message["To"]).lower() == to.lower():
            return message
    raise AssertionError(f"no mail{' to ' + to if to else ''} in {mail_dir}")


def magic_link_token(mail_dir: Path, to: str) -> str:
    body = newest_mail(mail_dir, to).get_body(preferencelist=("plain",)).get_content()
    match = MAGIC_LINK_RE.search(body)
    assert match, "no login link in the mail"
    return match.group(1)


def totp_code_for(account_id: uuid.UUID) -> str:
    """A valid TOTP code not yet used for this account, enrolling a credential if needed."""
    import pyotp
    from sqlalchemy import select

    from carnet import clock
    from carnet.auth.models import TotpCredential
    from carnet.auth.services import totp_purpose
    from carnet.security import crypto

    db_session = db.session()
    field_crypto = crypto.current()
    credential = db_session.scalar(
        select(TotpCredential).where(TotpCredential.account_id == account_id)
    )
    if credential is None:
        secret = pyotp.random_base32()
        credential = TotpCredential(
            account_id=account_id,
            secret_sealed=field_crypto.seal_secret(
                secret.encode(), purpose=totp_purpose(account_id)
            ),
            confirmed_at=clock.now(),
        )
        db_session.add(credential)
    else:
        secret = field_crypto.open_secret(
            credential.secret_sealed, purpose=totp_purpose(account_id)
        ).decode()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(clock.now())
    if credential.last_used_step is not None and credential.last_used_step >= step:
        step += 1
        if credential.last_used_step >= step:
            credential.last_used_step = None
            step -= 1
    db_session.flush()
    return totp.generate_otp(step)


@pytest.fixture
def login_as(mail_dir: Path) -> Callable[..., Any]:
    """Log `client` in as `account` through the real magic-link path.

    `login_as(client, account, membership=None)`: requests a link for `account.email`,
    reads the token from the newest mail, GETs the confirmation page, POSTs it, switches
    to `membership` when given, and completes the TOTP step-up for admin roles. Returns
    the response of the last step. The account needs an e-mail and a usable role.
    """

    def log_in(client: Client, account: Any, membership: Any = None) -> Any:
        assert account.email, "login_as needs an account with an e-mail"
        sent = client.submit("/connexion/lien", {"email": account.email}, form_page="/connexion")
        assert sent.status_code == 200, sent.get_data(as_text=True)[:500]
        token = magic_link_token(mail_dir, account.email)
        url = f"/connexion/lien/{token}"
        response = client.submit(url, {})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if membership is not None:
            response = client.submit("/connexion/role", {"membership_id": str(membership.id)})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        step_up = client.get("/connexion/verification")
        if step_up.status_code == 200:
            response = client.submit("/connexion/verification", {"code": totp_code_for(account.id)})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return log_in


# -- encrypted columns never filter or sort (appended by the security tests) -------------------

_PREDICATE_CLAUSES = ("WHERE", "ORDER BY", "GROUP BY", "HAVING", "ON", "USING")
_CLAUSE_KEYWORD = re.compile(
    r"\b(SELECT|FROM|WHERE|ORDER\s+BY|GROUP\s+BY|HAVING|ON|USING|JOIN|LIMIT|OFFSET|SET|VALUES"
    r"|RETURNING|UNION|INTERSECT|EXCEPT|INSERT|UPDATE|DELETE|INTO|FOR)\b",
    re.IGNORECASE,
)


def sealed_in_predicates(statement: str) -> list[str]:
    """The WHERE / ORDER BY / GROUP BY / HAVING / ON clauses of `statement` that name a
    `*_sealed` column: ciphertext must never be compared or sorted."""
    parts = _CLAUSE_KEYWORD.split(statement)
    hits = []
    # split() with one group alternates text and keyword: [text, kw, text, kw, text…]
    for keyword, clause in zip(parts[1::2], parts[2::2], strict=True):
        if " ".join(keyword.upper().split()) in _PREDICATE_CLAUSES and "_sealed" in clause:
            hits.append(f"{keyword.upper()} {clause.strip()}")
    return hits


SEALED_PREDICATES: list[str] = []


def _watch_sealed_predicates(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if "_sealed" in statement and sealed_in_predicates(statement):
        SEALED_PREDICATES.append(statement)


@pytest.fixture(scope="session", autouse=True)
def _watch_sql_of_every_engine() -> Iterator[None]:
    from sqlalchemy import event

    event.listen(Engine, "before_cursor_execute", _watch_sealed_predicates)
    yield
    event.remove(Engine, "before_cursor_execute", _watch_sealed_predicates)


@pytest.fixture(autouse=True)
def _no_sealed_column_in_predicates(_watch_sql_of_every_engine: None) -> Iterator[list[str]]:
    """Every SQL statement of every test is watched; one that filters, joins, groups or
    sorts on a `*_sealed` column fails the test that emitted it."""
    SEALED_PREDICATES.clear()
    yield SEALED_PREDICATES
    offending, SEALED_PREDICATES[:] = list(SEALED_PREDICATES), []
    assert not offending, f"encrypted column in a SQL predicate: {offending}"


@pytest.fixture(autouse=True)
def _cli_leaves_no_flag_behind() -> Iterator[None]:
    """Flask's CLI group sets FLASK_RUN_FROM_CLI=true in os.environ when a test invokes a
    `carnet` command; left there, it makes every later `app.run()` return at once (the
    test identity providers then exit before serving)."""
    import os

    yield
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
