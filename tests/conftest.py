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
    admin = db.make_engine(parsed.set(database="postgres").render_as_string(hide_password=False),
                           isolation_level="AUTOCOMMIT")
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
    db.session_factory.configure(bind=engine, join_transaction_mode="conservative_savepoint")
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
        return match.group(1)

    def submit(self, url: str, data: dict[str, Any] | None = None, *, form_page: str | None = None,
               **kwargs: Any) -> Any:
        """POST like a browser: first GET the page holding the form, then send its token."""
        token = self.csrf_from(form_page or url)
        return self.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


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
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
            raise RuntimeError(f"outbound connection refused in tests: {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
