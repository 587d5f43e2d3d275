"""The steps of the app factory, in the order `create_app` calls them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import get_translations
from werkzeug.middleware.proxy_fix import ProxyFix

from carnet import db, web
from carnet.config import Settings
from carnet.extensions import babel, csrf, limiter
from carnet.security import crypto, sessions

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CarnetFlask(Flask):
    """Each request is one unit of work: commit once after the view, or roll back."""

    def dispatch_request(self) -> Any:
        with db.unit_of_work():
            return super().dispatch_request()

    def do_teardown_request(self, exc: BaseException | None = None) -> None:
        super().do_teardown_request(exc)
        db.session.remove()


def init_config(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        CARNET_SETTINGS=settings,
        TESTING=settings.environment == "test",
        # The CSRF token lives as long as the session: a note written over an hour still saves.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=not settings.uses_plain_http_locally,
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "carnet" / "translations"),
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        PREFERRED_URL_SCHEME="https" if not settings.uses_plain_http_locally else "http",
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_STRATEGY="moving-window",
    )


def init_proxies(app: Flask, settings: Settings) -> None:
    """Behind a TLS proxy, read the client address and scheme from the trusted hops only:
    rate limits then count per client, and the CSRF Referer check sees https."""
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]


def init_database(app: Flask, settings: Settings) -> None:
    if db.session_factory.kw.get("bind") is None:
        db.bind(db.make_engine(settings.database_url))


def init_security(app: Flask, settings: Settings) -> None:
    ring = crypto.KeyRing.parse(settings.kek)
    crypto.install(crypto.FieldCrypto(ring, _key_bytes(settings.blind_index_key)))
    sessions.install(
        app,
        secure=not settings.uses_plain_http_locally,
        idle_minutes=settings.session_idle_minutes,
        absolute_hours=settings.session_absolute_hours,
    )
    web.init_app(app, settings)


def _key_bytes(secret: str) -> bytes:
    # Secrets are given as text; a digest gives the fixed-length key material HKDF expects.
    return hashlib.sha256(secret.encode()).digest()


def audit_key(settings: Settings) -> bytes:
    return _key_bytes(settings.audit_key)


def init_extensions(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr")
    _use_french_plurals(app)
    _use_french_first_of_month(app)
    limiter.init_app(app)


def _use_french_plurals(app: Flask) -> None:
    """The source strings are French and no catalogue is compiled, so Babel's fallback
    would choose the plural with the English rule (n != 1) and print « 0 actions ».
    French takes the singular for 0 and 1. Jinja's new-style wrapper still formats
    and escapes the variables."""

    def ngettext(singular: str, plural: str, num: int) -> str:
        return str(get_translations().ungettext(singular, plural, 1 if abs(num) < 2 else 2))

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: get_translations().ugettext(s),
        ngettext=ngettext,
        newstyle=True,
    )


# « 1 octobre » is read « premier octobre » but written « 1er octobre ».
_FIRST_OF_MONTH = re.compile(
    r"\b1 (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)\b"
)


def _use_french_first_of_month(app: Flask) -> None:
    def ordinal(formatter: Callable[..., str]) -> Callable[..., str]:
        def formatted(*args: Any, **kwargs: Any) -> str:
            return _FIRST_OF_MONTH.sub(r"1er \1", formatter(*args, **kwargs))

        return formatted

    for name in ("dateformat", "datetimeformat"):
        app.jinja_env.filters[name] = ordinal(app.jinja_env.filters[name])


def init_blueprints(app: Flask) -> None:
    from carnet.auth import oidc
    from carnet.auth.views import blueprint as auth_bp
    from carnet.contracts.views import blueprint as contracts_bp
    from carnet.documents.views import blueprint as documents_bp
    from carnet.health import blueprint as health_bp
    from carnet.home.views import blueprint as home_bp
    from carnet.meetings.views import blueprint as meetings_bp
    from carnet.orientation.exit_views import blueprint as exits_bp
    from carnet.orientation.rule_views import blueprint as orientation_rules_bp
    from carnet.orientation.views import blueprint as orientation_bp
    from carnet.plan.views import blueprint as plan_bp
    from carnet.portal.views import blueprint as portal_bp
    from carnet.projects.views import blueprint as projects_bp
    from carnet.records.views import blueprint as records_bp
    from carnet.referential.views import blueprint as referential_bp
    from carnet.situation.views import blueprint as situation_bp
    from carnet.workspace.views import blueprint as workspace_bp

    oidc.init_app(app, app.config["CARNET_SETTINGS"])
    app.register_blueprint(workspace_bp)
    for blueprint in (health_bp, auth_bp, home_bp, records_bp, portal_bp, meetings_bp):
        app.register_blueprint(blueprint)
    for blueprint in (plan_bp, referential_bp, projects_bp, documents_bp, situation_bp):
        app.register_blueprint(blueprint)
    for blueprint in (orientation_bp, orientation_rules_bp, exits_bp, contracts_bp):
        app.register_blueprint(blueprint)
