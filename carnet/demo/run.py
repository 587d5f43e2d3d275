"""What `carnet demo` and `carnet seed` do, behind their thin CLI wrappers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from carnet import db
from carnet.app_setup import audit_key
from carnet.config import Settings
from carnet.demo import bulk
from carnet.demo.loader import DemoSummary, load_demo, showcase_accounts
from carnet.security import audit, scoping
from carnet.tenancy.models import Departement

Echo = Callable[[str], None]
DEMO_LOGIN_PATH = "/connexion/demo"


def prepare(
    settings: Settings, *, reset: bool, alembic_config: Callable[[str], Any], echo: Echo
) -> None:
    """Migrate, (re)load the demo if needed, sign a checkpoint of the audit chain."""
    if reset:
        _drop(settings, alembic_config, echo)
    _migrate(settings, alembic_config, "head")
    with scoping.unscoped(), db.unit_of_work() as db_session:
        if db_session.scalar(select(Departement.id).limit(1)) is None:
            echo("Création des données de démonstration…")
            _report_load(load_demo(db_session), echo)
        else:
            echo("Données de démonstration déjà présentes (--reset pour repartir de zéro).")
    write_checkpoints(settings, echo)


def _report_load(summary: DemoSummary, echo: Echo) -> None:
    echo(
        f"Démo créée : {summary.organisations} structures, {summary.professionals} "
        f"professionnels, {summary.beneficiaries} personnes, {summary.journeys} parcours, "
        f"{summary.beneficiary_accounts} comptes de personnes accompagnées."
    )


def _migrate(settings: Settings, alembic_config: Callable[[str], Any], revision: str) -> None:
    """Upgrade (or, towards "base", downgrade) through the application's own connection:
    on SQLite a second connection would wait for the writer lock this one may hold."""
    from alembic import command

    config = alembic_config(settings.database_url)
    with db.unit_of_work() as db_session:
        config.attributes["connection"] = db_session.connection()
        if revision == "base":
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


def _drop(settings: Settings, alembic_config: Callable[[str], Any], echo: Echo) -> None:
    """Forget the demo: its checkpoint files, then the SQLite file or every table."""
    with scoping.unscoped(), db.unit_of_work() as db_session:
        try:
            ids = list(db_session.scalars(select(Departement.id)))
        except SQLAlchemyError:  # no schema yet: nothing to forget
            db_session.rollback()
            ids = []
    for departement_id in ids:
        _checkpoint_path(settings, departement_id).unlink(missing_ok=True)
    db.session.remove()
    if settings.database_url.startswith("sqlite"):
        engine = db.session_factory.kw.get("bind")
        if engine is not None:
            engine.dispose()
        path = Path(make_url(settings.database_url).database or "")
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    else:
        _migrate(settings, alembic_config, "base")
    echo("Base de démonstration effacée.")


def _checkpoint_path(settings: Settings, departement_id: uuid.UUID) -> Path:
    return settings.audit_checkpoint_dir / f"{departement_id}.jsonl"


def write_checkpoints(settings: Settings, echo: Echo) -> bool:
    """Verify each département's chain and sign its head; False if one is broken."""
    store = audit.CheckpointStore(settings.audit_checkpoint_dir, audit_key(settings))
    intact = True
    with scoping.unscoped(), db.unit_of_work() as db_session:
        for departement_id in db_session.scalars(select(Departement.id).order_by(Departement.code)):
            report = audit.verify_chain(db_session, departement_id, store.read(departement_id))
            if report.problem is not None:
                echo(f"ÉCHEC de la vérification du journal : {report.problem}")
                intact = False
                continue
            checkpoint = store.write(report)
            if checkpoint is not None:
                echo(f"Journal des accès vérifié et signé : {report.rows} lignes.")
    return intact


def print_accounts(settings: Settings, port: int, echo: Echo) -> None:
    base = f"http://127.0.0.1:{port}"
    if settings.base_url != base:
        echo(
            f"Attention : CARNET_BASE_URL vaut {settings.base_url}, les liens des courriels "
            f"n'ouvriront pas {base}."
        )
    echo("")
    echo(f"Carnet de démonstration : {base}/")
    echo(f"Choisir un compte : {base}{DEMO_LOGIN_PATH}")
    echo(f"Ou par lien de connexion : les courriels arrivent dans {settings.mail_dir}/")
    echo("")
    for roles, email, organisation, _ in showcase_accounts():
        echo(f"  {email:<36} {roles} — {organisation}")
    echo("")


def serve(app: Flask, port: int) -> None:
    from werkzeug.serving import run_simple

    db.session.remove()
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False, use_debugger=False)


def accounts_markdown() -> str:
    """The README's table of demo accounts."""
    lines = ["| Rôle | E-mail | Structure | À regarder |", "|---|---|---|---|"]
    for roles, email, organisation, what in showcase_accounts():
        lines.append(f"| {roles} | `{email}` | {organisation} | {what} |")
    return "\n".join(lines) + "\n"


# -- seeding -------------------------------------------------------------------------------


def print_seed_report(report: bulk.SeedReport, echo: Echo) -> None:
    echo(
        f"Département {report.code} ({report.departement_id}) : {report.beneficiaries} "
        f"personnes en {report.total_seconds:.1f} s, écriture par {report.method}."
    )
    echo(f"  {'table':<20} {'lignes':>10} {'secondes':>9} {'lignes/s':>10}")
    for name, figures in report.tables.items():
        echo(
            f"  {name:<20} {figures.rows:>10} {figures.seconds:>9.2f} "
            f"{figures.rows_per_second:>10.0f}"
        )
    written = sum(f.seconds for f in report.tables.values())
    rows = sum(f.rows for f in report.tables.values())
    rate = rows / written if written else 0.0
    echo(f"  {'total écrit':<20} {rows:>10} {written:>9.2f} {rate:>10.0f}")
    for phase, seconds in report.phases.items():
        echo(f"  {phase} : {seconds:.2f} s")
