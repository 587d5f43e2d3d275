"""`carnet bench` through the real CLI, on a tiny département of the test database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from carnet.bench import OPERATIONS, with_typo
from carnet.cli import main
from carnet.config import Settings

FIGURES = r"\s+(\d+\.\d)\s+(\d+\.\d)\s+(\d+\.\d)\s+(\d+\.\d)x\s+"
LINES = {
    "baseline": re.compile(rf"^référence \(mes sessions\){FIGURES}—\s+—$", re.M),
    "record": re.compile(rf"^carnet complet{FIGURES}p95 ≤ 3x\s+(atteint|NON ATTEINT)$", re.M),
    "portfolio": re.compile(
        rf"^portefeuille \(150 pers\.\){FIGURES}p95 ≤ 3x\s+(atteint|NON ATTEINT)$", re.M
    ),
    "search": re.compile(rf"^recherche par nom{FIGURES}p95 < 50 ms\s+(atteint|NON ATTEINT)$", re.M),
    "queue": re.compile(
        rf"^file d'orientation \(\d+ pers\.\){FIGURES}p95 ≤ 3x\s+(atteint|NON ATTEINT)$", re.M
    ),
}


@pytest.fixture
def bench_settings(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    """The test settings with the signed checkpoints of the seeded chain kept apart."""
    variant = dataclasses.replace(settings, audit_checkpoint_dir=tmp_path / "checkpoints")
    monkeypatch.setitem(app.config, "CARNET_SETTINGS", variant)
    return variant


def _bench(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(main, ["bench", "--departement-code", "95", *args])


def test_bench_seeds_then_reuses_and_prints_every_operation(
    app: Flask, connection: Any, bench_settings: Settings
) -> None:
    if connection.dialect.name != "postgresql":
        pytest.skip("carnet bench mesure sur PostgreSQL uniquement")
    first = _bench(app, "--beneficiaries", "300", "--samples", "5", "--warmup", "1")
    assert first.exit_code == 0, first.output
    output = first.output
    assert "Département 95 absent : création de 300 personnes (carnet seed)." in output
    assert "Journal des accès vérifié et signé" in output
    assert "150 personnes suivies" in output
    assert "Attention : le plus grand portefeuille" not in output
    assert "Statistiques du planificateur mises à jour (ANALYZE" in output
    assert "5 mesures par opération après 1 tour(s) de chauffe." in output
    for key, line in LINES.items():
        match = line.search(output)
        assert match, f"no line for {key} in:\n{output}"
        p50, p95, p99 = float(match.group(1)), float(match.group(2)), float(match.group(3))
        assert 0 < p50 <= p95 <= p99
    assert "non mesurée" not in output
    assert "Attention : la recherche" not in output  # the misspelt name is found

    again = _bench(app, "--beneficiaries", "300", "--samples", "2", "--warmup", "0")
    assert again.exit_code == 0, again.output
    assert "Département 95 réutilisé : 300 personnes déjà en base, rien n'est créé." in again.output
    assert "création" not in again.output
    for line in LINES.values():
        assert line.search(again.output), again.output

    other_size = _bench(app, "--beneficiaries", "400", "--samples", "2")
    assert other_size.exit_code == 1
    assert "le département 95 existe déjà avec 300 personnes, pas 400" in other_size.output


def test_bench_refuses_sqlite_with_a_clear_message(
    app: Flask, connection: Any, bench_settings: Settings
) -> None:
    if connection.dialect.name != "sqlite":
        pytest.skip("the refusal is for engines other than PostgreSQL")
    result = _bench(app, "--beneficiaries", "300")
    assert result.exit_code == 2
    assert "`carnet bench` mesure sur PostgreSQL uniquement" in result.output


def test_bench_refuses_production(
    app: Flask, connection: Any, bench_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = dataclasses.replace(bench_settings, environment="production")
    monkeypatch.setitem(app.config, "CARNET_SETTINGS", production)
    result = _bench(app, "--beneficiaries", "300")
    assert result.exit_code == 2
    assert "pas de mesure en production" in result.output


def test_help_names_each_operation(app: Flask) -> None:
    result = app.test_cli_runner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0
    for operation in OPERATIONS:
        assert operation.label in result.output
    assert "GET /personnes/<id>" in result.output


def test_the_search_term_carries_one_small_typo() -> None:
    assert with_typo("Moreau") == "Moreeau"
    assert with_typo("Benali") == "Benaali"


def test_seed_gives_one_referent_a_portfolio_of_full_records(db_session: Any) -> None:
    from sqlalchemy import func, select

    from carnet.demo import bulk
    from carnet.meetings import services as meetings_services
    from carnet.meetings.models import Appointment, Note
    from carnet.plan.models import PlanAction, PlanObjective
    from carnet.records.models import GroupMembership, Journey
    from carnet.security import audit, crypto
    from carnet.security.permissions import GroupRole

    report = bulk.seed(db_session, beneficiaries=300, code="94")
    followed = db_session.execute(
        select(GroupMembership.account_id, func.count())
        .join(Journey, Journey.id == GroupMembership.journey_id)
        .where(
            GroupMembership.departement_id == report.departement_id,
            GroupMembership.role == GroupRole.REFERENT,
            GroupMembership.ended_at.is_(None),
            Journey.closed_on.is_(None),
        )
        .group_by(GroupMembership.account_id)
        .order_by(func.count().desc())
    ).all()
    referent_id, size = followed[0]
    assert size == bulk.PORTFOLIO_SIZE
    assert followed[1][1] < size
    people = set(
        db_session.scalars(
            select(GroupMembership.beneficiary_id).where(
                GroupMembership.account_id == referent_id,
                GroupMembership.role == GroupRole.REFERENT,
            )
        )
    )

    def per_person(model: Any) -> dict[Any, int]:
        rows = db_session.execute(
            select(model.beneficiary_id, func.count())
            .where(model.departement_id == report.departement_id)
            .group_by(model.beneficiary_id)
        ).all()
        return dict(rows)

    for model, least in ((PlanObjective, 1), (PlanAction, 1), (Appointment, 3), (Note, 3)):
        counts = per_person(model)
        assert set(counts) == people, model
        assert min(counts.values()) >= least, model
    # Each person of the portfolio has a member of another structure besides the referent.
    groups = per_person(GroupMembership)
    assert all(groups[person] >= 2 for person in people)
    note = db_session.scalars(
        select(Note).where(Note.departement_id == report.departement_id)
    ).first()
    body = crypto.current().open(
        db_session,
        beneficiary_id=note.beneficiary_id,
        table=meetings_services.NOTE_TABLE,
        column=meetings_services.NOTE_COLUMN,
        row_id=note.id,
        sealed=note.body_sealed,
    )
    assert body
    assert audit.verify_chain(db_session, report.departement_id).problem is None


def test_seed_orients_the_followed_and_leaves_a_recent_queue(db_session: Any) -> None:
    from sqlalchemy import func, select

    from carnet import clock
    from carnet.demo import bulk
    from carnet.orientation.models import Orientation, OrientationType
    from carnet.records.models import Beneficiary, GroupMembership, Journey
    from carnet.security.permissions import GroupRole, OrganisationKind
    from carnet.tenancy.models import Organisation

    report = bulk.seed(db_session, beneficiaries=600, code="93")
    dep = report.departement_id
    open_journeys = select(Journey.id).where(
        Journey.departement_id == dep, Journey.closed_on.is_(None)
    )
    oriented = set(
        db_session.scalars(
            select(Orientation.journey_id).where(
                Orientation.departement_id == dep, Orientation.ends_on.is_(None)
            )
        )
    )
    with_referent = set(
        db_session.scalars(
            select(GroupMembership.journey_id).where(
                GroupMembership.departement_id == dep,
                GroupMembership.role == GroupRole.REFERENT,
                GroupMembership.ended_at.is_(None),
            )
        )
    )
    assert with_referent <= oriented  # everyone with a référent has an open orientation
    waiting = set(db_session.scalars(open_journeys)) - oriented
    share = len(waiting) / len(set(db_session.scalars(open_journeys)))
    assert 0.005 < share < 0.08, share
    rights = db_session.scalars(
        select(Beneficiary.right_opened_on)
        .join(Journey, Journey.beneficiary_id == Beneficiary.id)
        .where(Journey.id.in_(waiting))
    ).all()
    assert min(rights) >= clock.today() - dt.timedelta(days=bulk.WAITING_DAYS)
    # France Travail accompanies professional orientations only.
    types = db_session.scalars(
        select(func.distinct(Orientation.type))
        .join(Organisation, Organisation.id == Orientation.organisation_id)
        .where(
            Orientation.departement_id == dep,
            Organisation.kind == OrganisationKind.FRANCE_TRAVAIL,
        )
    ).all()
    assert set(types) == {OrientationType.PROFESSIONAL}
