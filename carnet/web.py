"""The edge: principal loading, deny-by-default, errors, security headers.

Every endpoint needs a logged-in principal unless marked `@public`. Roles are read from
the database on each request; the session only says which account and which of its
memberships is active.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,  # noqa: TID251 - the edge hands the raw session to carnet.auth.principals
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from carnet import db
from carnet.auth import principals
from carnet.config import Settings
from carnet.errors import CarnetError, InvalidInput
from carnet.security import audit, scoping
from carnet.security.permissions import AuditAction, Outcome
from carnet.security.policy import PolicyDenied, PolicyNotFound
from carnet.security.principal import Principal

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view reachable without login (login pages, health check, static)."""
    view._carnet_public = True  # type: ignore[attr-defined]
    return view


def current_principal() -> Principal | None:
    principal: Principal | None = g.get("principal")
    return principal


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:  # pragma: no cover - the guard below refuses such requests first
        raise CarnetError("Connexion requise.")
    return principal


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask, settings: Settings) -> None:
    app.before_request(_load_principal)
    app.teardown_request(_leave_request_scope)
    app.after_request(_security_headers(settings))
    app.register_error_handler(PolicyDenied, _policy_refusal)
    app.register_error_handler(PolicyNotFound, _policy_refusal)
    app.register_error_handler(CarnetError, _carnet_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.context_processor(_template_globals)


def _load_principal() -> Any:
    g.principal = None
    # No département until the principal is known; restored when the request ends, so a
    # request's scope never leaks into whatever runs next on the same thread.
    g.scope_token = scoping.set_request_scope(None)
    view_function = _view_function(request.endpoint)
    principal = principals.from_session(session)
    if principal is not None:
        g.principal = principal
        scoping.set_request_scope(principal.departement_id)
    if request.endpoint == "static" or getattr(view_function, "_carnet_public", False):
        return None
    if request.routing_exception is not None:
        # No such page or method: nothing to protect, the 404/405 page follows (it holds
        # no data), rather than a detour through the login page.
        return None
    if principal is None:
        return _login_required()
    step_up = principals.pending_step_up(principal, session)
    if step_up is not None and not getattr(view_function, "_carnet_step_up", False):
        return redirect(url_for(step_up))
    return None


def _leave_request_scope(_exc: BaseException | None) -> None:
    token = g.pop("scope_token", None)
    if token is not None:
        scoping.reset_request_scope(token)


def _view_function(endpoint: str | None) -> Any:
    from flask import current_app

    return current_app.view_functions.get(endpoint or "")


def _login_required() -> Response:
    if is_api_request():
        return _problem(401, "unauthenticated", "Authentification requise.")
    expired = session.pop("expired", False)
    target = url_for("auth.login", expiree=1) if expired else url_for("auth.login")
    return redirect(target)  # type: ignore[return-value]


# -- errors --------------------------------------------------------------------------------


def _problem(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {
        "type": f"https://carnet.example/errors/{code}",
        "title": message,
        "status": status,
        "code": code,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _carnet_error(error: CarnetError) -> Any:
    if is_api_request():
        extra = {"fields": error.fields} if isinstance(error, InvalidInput) else {}
        return _problem(error.status, error.code, error.message, **extra)
    titles = {
        403: "Accès refusé",
        404: "Page introuvable",
        409: "Conflit",
        422: "Saisie à corriger",
        503: "Service momentanément indisponible",
    }
    return _error_page(error.status, titles.get(error.status, "Erreur"), error.message)


def _policy_refusal(error: PolicyDenied | PolicyNotFound) -> Any:
    """The refused request rolled back; its denial is recorded in a transaction of its own."""
    principal = current_principal()
    if principal is not None and principal.departement_id is not None:
        with db.unit_of_work() as db_session:
            audit.record_access(
                db_session,
                actor=principal,
                departement_id=principal.departement_id,
                beneficiary_id=error.facts.beneficiary_id,
                section=error.section,
                action=AuditAction.READ if request.method == "GET" else AuditAction.UPDATE,
                tag=f"policy:{error.decision.reason}",
                outcome=Outcome.DENIED,
            )
    g.denied = error
    return _carnet_error(error)


def _csrf_error(error: CSRFError) -> Any:
    message = (
        "Le formulaire a expiré ou a été envoyé depuis une autre page. "
        "Rechargez la page et envoyez-le à nouveau."
    )
    if is_api_request():
        return _problem(400, "csrf", message)
    return _error_page(400, "Formulaire refusé", message)


_HTTP_MESSAGES = {
    400: ("Requête incorrecte", "La demande n'a pas pu être comprise."),
    404: ("Page introuvable", "Cette page n'existe pas ou n'existe plus."),
    405: ("Action impossible", "Cette action n'est pas possible sur cette page."),
    413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée."),
    429: (
        "Trop de tentatives",
        "Trop de tentatives en peu de temps. Patientez quelques minutes puis réessayez.",
    ),
}


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    title, message = _HTTP_MESSAGES.get(status, ("Erreur", "Une erreur est survenue."))
    if is_api_request():
        return _problem(status, f"http_{status}", message)
    return _error_page(status, title, message)


def _unexpected_error(error: Exception) -> Any:
    log.error("unexpected error on %s %s", request.method, request.url_rule, exc_info=error)
    message = "Une erreur inattendue est survenue. Rien n'a été enregistré ; réessayez."
    if is_api_request():
        return _problem(500, "internal", message)
    return _error_page(500, "Erreur inattendue", message)


# -- headers ---------------------------------------------------------------------------------


def _security_headers(settings: Settings) -> Callable[[Response], Response]:
    providers = [p.issuer for p in (settings.proconnect, settings.franceconnect) if p]
    # Chromium applies form-action to the redirects that follow a form POST, so the
    # providers' origins must be allowed or the login buttons would silently fail.
    form_targets = " ".join(["'self'", *sorted({_origin(url) for url in providers})])
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action {form_targets}",
        ]
    )

    def add_headers(response: Response) -> Response:
        # A view that sets its own policy keeps it: only file downloads do, with a stricter
        # sandboxing one (documents.views); every page gets this one.
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if current_principal() is not None or request.endpoint != "static":
            # Pages of logged-in people hold personal data: never stored by a browser or proxy.
            response.headers["Cache-Control"] = "no-store"
        return response

    return add_headers


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _template_globals() -> dict[str, Any]:
    return {"principal": current_principal(), "new_id": uuid.uuid4}
