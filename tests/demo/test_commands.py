"""`carnet demo`, `carnet seed` and `python -m carnet.demo`, through the real CLI."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from carnet.cli import main
from carnet.config import Settings
from carnet.demo.__main__ import demo_env, write_env
from carnet.records.models import Beneficiary, GroupMembership, Journey
from carnet.records.services import NIR_COLUMN, NIR_TABLE
from carnet.security import audit, crypto
from carnet.security.crypto import DataKey, KeyRing
from carnet.security.permissions import GroupRole
from carnet.tenancy.models import Departement


@pytest.fixture
def with_settings(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Run the CLI under a variant of the test settings (another environment, say)."""

    def use(settings: Settings, **changes: Any) -> Settings:
        variant = dataclasses.replace(
            settings, audit_checkpoint_dir=tmp_path / "checkpoints", **changes
        )
        monkeypatch.setitem(app.config, "CARNET_SETTINGS", variant)
        return variant

    return use


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def fake_run_simple(host: str, port: int, app: Any, **options: Any) -> None:
        calls.append((host, port, options))

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    return calls


def test_demo_command_refuses_outside_demo_mode(app: Flask, connection: Any, served: Any) -> None:
    result = app.test_cli_runner().invoke(main, ["demo", "--port", "5999"])
    assert result.exit_code == 2
    assert "CARNET_ENV=demo" in result.output
    assert served == []


def test_demo_command_loads_once_signs_the_log_and_serves_locally(
    app: Flask, db_session: Any, settings: Settings, with_settings: Any, served: Any
) -> None:
    demo_settings = with_settings(settings, environment="demo", base_url="http://127.0.0.1:5999")
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["demo", "--port", "5999"])
    assert first.exit_code == 0, first.output
    assert "Démo créée : 16 structures, 41 professionnels, 300 personnes" in first.output
    assert "http://127.0.0.1:5999/connexion/demo" in first.output
    assert "claire.moreau@demo.carnet.fr" in first.output
    assert served == [
        ("127.0.0.1", 5999, {"threaded": True, "use_reloader": False, "use_debugger": False})
    ]
    departement_id = db_session.scalar(select(Departement.id))
    checkpoint = demo_settings.audit_checkpoint_dir / f"{departement_id}.jsonl"
    assert checkpoint.exists()

    second = runner.invoke(main, ["demo", "--port", "5999"])
    assert second.exit_code == 0, second.output
    assert "déjà présentes" in second.output
    assert db_session.scalar(select(func.count()).select_from(Departement)) == 1
    assert db_session.scalar(select(func.count()).select_from(Beneficiary)) == 300


def test_seed_creates_a_departement_whose_chain_verifies(
    app: Flask, db_session: Any, settings: Settings, with_settings: Any
) -> None:
    with_settings(settings)
    result = app.test_cli_runner().invoke(
        main, ["seed", "--beneficiaries", "500", "--departement-code", "98"]
    )
    assert result.exit_code == 0, result.output
    assert "500 personnes" in result.output
    assert "beneficiaries" in result.output
    assert "lignes/s" in result.output
    assert "Journal des accès vérifié et signé : 500 lignes." in result.output

    departement = db_session.scalar(select(Departement).where(Departement.code == "98"))
    report = audit.verify_chain(db_session, departement.id)
    assert report.problem is None
    assert report.rows == 500
    people = db_session.scalars(
        select(Beneficiary).where(Beneficiary.departement_id == departement.id)
    ).all()
    assert len(people) == 500
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(DataKey)
            .where(DataKey.departement_id == departement.id)
        )
        == 500
    )
    _assert_one_referent_at_most(db_session, departement.id)
    _assert_nirs_open(db_session, people[::50])


def _assert_one_referent_at_most(db_session: Any, departement_id: Any) -> None:
    rows = db_session.execute(
        select(Journey.id, func.count(GroupMembership.id))
        .outerjoin(
            GroupMembership,
            (GroupMembership.journey_id == Journey.id)
            & (GroupMembership.role == GroupRole.REFERENT)
            & GroupMembership.ended_at.is_(None),
        )
        .where(Journey.departement_id == departement_id, Journey.closed_on.is_(None))
        .group_by(Journey.id)
    ).all()
    assert len(rows) == 500
    counts = Counter(count for _, count in rows)
    assert set(counts) <= {0, 1}
    assert counts[1] > 400


def _assert_nirs_open(db_session: Any, people: list[Beneficiary]) -> None:
    field_crypto = crypto.current()
    for person in people:
        nir = field_crypto.open(
            db_session,
            beneficiary_id=person.id,
            table=NIR_TABLE,
            column=NIR_COLUMN,
            row_id=person.id,
            sealed=person.nir_sealed,
        )
        index = field_crypto.blind_index(departement_id=person.departement_id, nir=nir)
        assert index == person.nir_bidx
        assert crypto.normalise_nir(nir) == nir


def test_seed_refuses_an_existing_code_and_production(
    app: Flask, db_session: Any, settings: Settings, with_settings: Any
) -> None:
    with_settings(settings)
    runner = app.test_cli_runner()
    assert (
        runner.invoke(main, ["seed", "--beneficiaries", "5", "--departement-code", "97"]).exit_code
        == 0
    )
    again = runner.invoke(main, ["seed", "--beneficiaries", "5", "--departement-code", "97"])
    assert again.exit_code == 1
    assert "Le département 97 existe déjà" in again.output
    bad = runner.invoke(main, ["seed", "--beneficiaries", "5", "--departement-code", "ZZ"])
    assert bad.exit_code == 1
    assert "Code de département invalide" in bad.output

    with_settings(settings, environment="production")
    refused = runner.invoke(main, ["seed", "--beneficiaries", "5", "--departement-code", "96"])
    assert refused.exit_code == 2
    assert "pas de personnes synthétiques en production" in refused.output
    assert db_session.scalar(select(Departement.id).where(Departement.code == "96")) is None


def test_demo_env_is_generated_once_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "demo.env"
    first = demo_env(path, port=5000)
    write_env(path, first)
    assert path.stat().st_mode & 0o777 == 0o600
    again = demo_env(path, port=8123)
    for name in ("CARNET_SECRET_KEY", "CARNET_KEK", "CARNET_BLIND_INDEX_KEY", "CARNET_AUDIT_KEY"):
        assert again[name] == first[name]
    assert again["CARNET_BASE_URL"] == "http://127.0.0.1:8123"
    assert again["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'demo.sqlite3'}"
    assert KeyRing.parse(again["CARNET_KEK"]).active_id == "demo1"
    settings = Settings.from_env(again)
    assert settings.is_demo
    assert settings.uses_plain_http_locally
    assert settings.mail_dir == tmp_path / "instance" / "mail"
