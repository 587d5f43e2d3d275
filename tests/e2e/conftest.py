"""Browser tests: the app served by gunicorn in a subprocess, on its own committed
database, driven by Debian's Chromium through Playwright.

The browser fixtures refuse to run without /usr/bin/chromium (`make test` installs it):
a browser test that silently skips would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from carnet import db
from carnet.security import scoping
from tests.conftest import TEST_KEK

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium reaches for Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[Any], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="session")
def e2e_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of its own: the live server commits, unlike the rolled-back unit tests."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.sqlite3'}"
    parsed = make_url(database_url)
    name = f"{parsed.database}_e2e"
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
def e2e_engine(e2e_database_url: str) -> Iterator[Engine]:
    from alembic import command

    from carnet.cli import alembic_config

    command.upgrade(alembic_config(e2e_database_url), "head")
    engine = db.make_engine(e2e_database_url)
    yield engine
    engine.dispose()


@dataclass
class LiveServer:
    url: str
    mail_dir: Path
    engine: Engine
    env: dict[str, str] = field(repr=False)

    def arrange(self) -> Session:
        """A committed session on the live server's database, for arranging test data."""
        return Session(bind=self.engine, expire_on_commit=False)

    def newest_mail_body(self, to: str) -> str:
        from email import policy
        from email.parser import BytesParser

        for path in sorted(
            self.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True
        ):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if message["To"] == to:
                return str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        raise AssertionError(f"no mail to {to} in {self.mail_dir}")


def server_env(
    database_url: str, base_url: str, instance: Path, extra: dict[str, str]
) -> dict[str, str]:
    return {
        **os.environ,
        "CARNET_ENV": "test",
        "DATABASE_URL": database_url,
        "CARNET_SECRET_KEY": "e2e-secret-key-" + "s" * 32,
        "CARNET_BASE_URL": base_url,
        "CARNET_KEK": TEST_KEK,
        "CARNET_BLIND_INDEX_KEY": "e2e-blind-index-key-" + "b" * 32,
        "CARNET_AUDIT_KEY": "e2e-audit-key-" + "a" * 32,
        "CARNET_INSTANCE_DIR": str(instance),
        **extra,
    }


@pytest.fixture(scope="session")
def live_server_factory(
    e2e_database_url: str, e2e_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., LiveServer]]:
    processes: list[subprocess.Popen[Any]] = []

    def start(extra_env: dict[str, str] | None = None) -> LiveServer:
        port = free_port()
        # localhost, not 127.0.0.1: browsers treat it as a secure context, so the
        # production cookie (__Host-, Secure) is kept over plain http in these tests.
        base_url = f"http://localhost:{port}"
        instance = tmp_path_factory.mktemp("e2e-instance")
        env = server_env(e2e_database_url, base_url, instance, extra_env or {})
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "2",
                "--log-level",
                "warning",
                "carnet:create_app()",
            ],
            env=env,
        )
        processes.append(process)
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        return LiveServer(base_url, instance / "mail", e2e_engine, env)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make test` (it installs Debian's chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class CspWatch:
    violations: list[str] = field(default_factory=list)


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Callable[..., tuple[Any, CspWatch]]]:
    """New pages in fresh contexts; every CSP violation reported by Chromium is collected."""
    contexts: list[Any] = []

    def new_page(width: int = 1280, height: int = 900) -> tuple[Any, CspWatch]:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
        contexts.append(context)
        page = context.new_page()
        watch = CspWatch()
        page.on(
            "console",
            lambda message: (
                watch.violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page, watch

    yield new_page
    for context in contexts:
        context.close()


def arrange_professional(
    server: LiveServer, *, email: str, role: str = "professional"
) -> dict[str, uuid.UUID]:
    """A département, an accredited organisation and an invited professional, committed."""
    from carnet import clock
    from carnet.auth.models import Account, AccountKind
    from carnet.security.permissions import MembershipRole, OrganisationKind
    from carnet.tenancy.models import AccreditationStatus, Departement, Membership, Organisation

    with scoping.unscoped(), server.arrange() as session, session.begin():
        code = f"9{uuid.uuid4().int % 100:02d}"
        departement = Departement(code=code[:3], name=f"Département e2e {code}")
        session.add(departement)
        session.flush()
        organisation = Organisation(
            departement_id=departement.id,
            name="Service insertion e2e",
            kind=OrganisationKind.DEPARTEMENT,
            accreditation_status=AccreditationStatus.ACCREDITED,
            accreditation_decided_at=clock.now(),
        )
        account = Account(
            kind=AccountKind.PROFESSIONAL, email=email, given_name="Léa", family_name="Durand"
        )
        session.add_all([organisation, account])
        session.flush()
        membership = Membership(
            account_id=account.id,
            organisation_id=organisation.id,
            departement_id=departement.id,
            role=MembershipRole(role),
        )
        session.add(membership)
        session.flush()
        return {
            "departement_id": departement.id,
            "organisation_id": organisation.id,
            "account_id": account.id,
            "membership_id": membership.id,
        }
