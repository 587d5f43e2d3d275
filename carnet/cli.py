"""The `carnet` command: thin wrappers over services, each in one unit of work."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy import select

from carnet import bench as benchmark
from carnet import db
from carnet.app_setup import PROJECT_ROOT, audit_key
from carnet.config import Settings, SettingsError
from carnet.security import audit, crypto, scoping


def _create_app() -> Flask:
    from carnet import create_app

    try:
        return create_app()
    except SettingsError as exc:
        click.echo(f"Configuration invalide : {exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Carnet de bord partagé : administration."""


def settings() -> Settings:
    from flask import current_app

    value: Settings = current_app.config["CARNET_SETTINGS"]
    return value


# -- database ------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Schéma de la base de données."""


def alembic_config(database_url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Applique les migrations jusqu'à REVISION (head par défaut)."""
    from alembic import command

    command.upgrade(alembic_config(settings().database_url), revision)
    click.echo(f"Base à jour ({revision}).")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revient à REVISION (par exemple base)."""
    from alembic import command

    command.downgrade(alembic_config(settings().database_url), revision)
    click.echo(f"Base ramenée à {revision}.")


# -- audit -----------------------------------------------------------------------------------


@main.group("audit")
def audit_group() -> None:
    """Journal des accès."""


def _checkpoints() -> audit.CheckpointStore:
    return audit.CheckpointStore(settings().audit_checkpoint_dir, audit_key(settings()))


def _departement_ids() -> list:  # type: ignore[type-arg]
    from carnet.tenancy.models import Departement

    return list(db.session().scalars(select(Departement.id).order_by(Departement.code)))


@audit_group.command("verify")
def audit_verify() -> None:
    """Vérifie la chaîne de chaque département et ses points de contrôle signés."""
    store = _checkpoints()
    failed = False
    with scoping.unscoped(), db.unit_of_work() as db_session:
        for departement_id in _departement_ids():
            try:
                checkpoints = store.read(departement_id)
            except audit.CheckpointForged as exc:
                click.echo(f"ÉCHEC : point de contrôle falsifié : {exc}")
                failed = True
                continue
            report = audit.verify_chain(db_session, departement_id, checkpoints)
            if report.problem is None:
                click.echo(
                    f"OK  département {departement_id} : {report.rows} lignes, "
                    f"{len(checkpoints)} point(s) de contrôle"
                )
            else:
                click.echo(f"ÉCHEC : {report.problem}")
                failed = True
    sys.exit(1 if failed else 0)


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Signe la tête de chaque chaîne intacte dans le dossier des points de contrôle."""
    store = _checkpoints()
    with scoping.unscoped(), db.unit_of_work() as db_session:
        for departement_id in _departement_ids():
            try:
                checkpoints = store.read(departement_id)
            except audit.CheckpointForged as exc:
                click.echo(f"ÉCHEC, aucun point posé : point de contrôle falsifié : {exc}")
                sys.exit(1)
            report = audit.verify_chain(db_session, departement_id, checkpoints)
            if report.problem is not None:
                click.echo(f"ÉCHEC, aucun point posé : {report.problem}")
                sys.exit(1)
            checkpoint = store.write(report)
            if checkpoint is not None:
                click.echo(
                    f"OK  point de contrôle posé : département {departement_id}, "
                    f"ligne {checkpoint.seq}"
                )


# -- keys ------------------------------------------------------------------------------------


@main.group("keys")
def keys_group() -> None:
    """Clés de chiffrement."""


@keys_group.command("generate")
@click.option("--id", "key_id", required=True, help="Identifiant de la nouvelle clé, ex. k2026a")
def keys_generate(key_id: str) -> None:
    """Affiche une nouvelle entrée « id:clé » à placer en tête de CARNET_KEK."""
    click.echo(crypto.KeyRing.generate_entry(key_id))


@keys_group.command("rotate")
@click.option("--dry-run", is_flag=True, help="Compte sans rien modifier.")
def keys_rotate(dry_run: bool) -> None:
    """Ré-enveloppe chaque clé de données sous la KEK active du trousseau."""
    from carnet.auth import services as auth_services

    field_crypto = crypto.current()
    with scoping.unscoped(), db.unit_of_work() as db_session:
        count = field_crypto.rotate(db_session)
        secrets_count = auth_services.reseal_totp_secrets(db_session)
        if dry_run:
            db_session.rollback()
    verb = "seraient ré-enveloppées" if dry_run else "ré-enveloppées"
    click.echo(
        f"{count} clé(s) de données et {secrets_count} secret(s) TOTP {verb} "
        f"sous la clé {field_crypto.ring.active_id}."
    )


# -- sessions --------------------------------------------------------------------------------


@main.group("sessions")
def sessions_group() -> None:
    """Sessions de connexion."""


@sessions_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Compte sans rien supprimer.")
def sessions_purge(dry_run: bool) -> None:
    """Supprime les sessions inactives depuis trop longtemps ou trop anciennes (cron)."""
    from datetime import timedelta

    from carnet.security import sessions

    with db.unit_of_work() as db_session:
        count = sessions.purge_expired_sessions(
            db_session,
            idle=timedelta(minutes=settings().session_idle_minutes),
            absolute=timedelta(hours=settings().session_absolute_hours),
        )
        if dry_run:
            db_session.rollback()
    verb = "seraient supprimées" if dry_run else "supprimée(s)"
    click.echo(f"{count} session(s) expirée(s) {verb}.")


# -- contracts -------------------------------------------------------------------------------


@main.group("contracts")
def contracts_group() -> None:
    """Contrats d'engagement."""


@contracts_group.command("expire")
def contracts_expire() -> None:
    """Passe « arrivés à échéance » les contrats en vigueur dont la date de fin est passée."""
    from carnet import clock
    from carnet.contracts import services as contracts

    today = clock.today()
    with scoping.unscoped(), db.unit_of_work():
        departement_ids = _departement_ids()
    total = 0
    for departement_id in departement_ids:
        with scoping.scoped_to(departement_id), db.unit_of_work():
            count = contracts.expire_due(today, departement_id=departement_id)
        total += count
        click.echo(f"Département {departement_id} : {count} contrat(s) arrivé(s) à échéance.")
    click.echo(f"Total : {total} contrat(s) arrivé(s) à échéance.")


# -- demo and seeding ------------------------------------------------------------------------


@main.command("demo")
@click.option("--port", default=5000, show_default=True, help="Port local du site.")
@click.option("--reset", is_flag=True, help="Efface la base de démonstration et la recrée.")
def demo(port: int, reset: bool) -> None:
    """Prépare la base de démonstration et sert le site sur 127.0.0.1 (CARNET_ENV=demo)."""
    from flask import current_app

    from carnet.demo import run

    if not settings().is_demo:
        click.echo(
            "Refusé : `carnet demo` ne fonctionne qu'avec CARNET_ENV=demo (lancez `make demo`).",
            err=True,
        )
        sys.exit(2)
    run.prepare(settings(), reset=reset, alembic_config=alembic_config, echo=click.echo)
    run.print_accounts(settings(), port, click.echo)
    run.serve(current_app._get_current_object(), port)  # type: ignore[attr-defined]


@main.command("seed")
@click.option(
    "--beneficiaries",
    "count",
    type=click.IntRange(1, 5_000_000),
    required=True,
    help="Nombre de personnes à créer.",
)
@click.option(
    "--departement-code",
    default="99",
    show_default=True,
    help="Code du nouveau département synthétique.",
)
def seed(count: int, departement_code: str) -> None:
    """Crée en masse un département synthétique, pour les mesures de performance."""
    from carnet.demo import bulk, run
    from carnet.errors import CarnetError

    if settings().is_production:
        click.echo("Refusé : pas de personnes synthétiques en production.", err=True)
        sys.exit(2)
    try:
        with scoping.unscoped(), db.unit_of_work() as db_session:
            report = bulk.seed(db_session, beneficiaries=count, code=departement_code)
    except CarnetError as exc:
        click.echo(f"Refusé : {exc.message}", err=True)
        sys.exit(1)
    run.print_seed_report(report, click.echo)
    sys.exit(0 if run.write_checkpoints(settings(), click.echo) else 1)


@main.command("bench", help=benchmark.HELP)
@click.option(
    "--beneficiaries",
    "count",
    type=click.IntRange(200, 5_000_000),
    default=benchmark.DEFAULT_BENEFICIARIES,
    show_default=True,
    help="Nombre de personnes du département mesuré.",
)
@click.option(
    "--samples",
    type=click.IntRange(2, 100_000),
    default=benchmark.DEFAULT_SAMPLES,
    show_default=True,
    help="Mesures par opération.",
)
@click.option(
    "--warmup",
    type=click.IntRange(0, 10_000),
    default=benchmark.DEFAULT_WARMUP,
    show_default=True,
    help="Tours de chauffe, non comptés.",
)
@click.option(
    "--departement-code",
    default="99",
    show_default=True,
    help="Code du département synthétique, créé s'il n'existe pas.",
)
def bench(count: int, samples: int, warmup: int, departement_code: str) -> None:
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sys.exit(
        benchmark.main(
            app,
            settings(),
            beneficiaries=count,
            samples=samples,
            warmup=warmup,
            code=departement_code,
            echo=click.echo,
        )
    )


__all__ = ["main"]
