"""Carnet: the shared insertion journey record."""

from __future__ import annotations

from flask import Flask

from carnet.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application: ordered init calls, nothing else."""
    from carnet import app_setup

    settings = settings or Settings.from_env()
    app = app_setup.CarnetFlask(
        __name__,
        template_folder=str(app_setup.PROJECT_ROOT / "templates"),
        static_folder=str(app_setup.PROJECT_ROOT / "static"),
    )
    app_setup.init_config(app, settings)
    app_setup.init_proxies(app, settings)
    app_setup.init_database(app, settings)
    app_setup.init_security(app, settings)
    app_setup.init_extensions(app, settings)
    app_setup.init_blueprints(app)
    return app
