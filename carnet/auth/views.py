"""Login pages: parse, call a service, put the few login facts in the session, render.

The session holds only `account_id`, `membership_id` (the active role), `auth_method`,
`mfa` and, after a provider login, `id_token` (for the provider's logout). Its id is
regenerated at every authentication step and the row deleted at logout.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,  # noqa: TID251 - carnet.auth owns the login facts
    url_for,
)
from itsdangerous import BadData, URLSafeTimedSerializer
from marshmallow import Schema, ValidationError
from werkzeug import Response

from carnet import clock
from carnet.auth import blueprint, oidc, services
from carnet.auth.models import Account
from carnet.auth.schemas import (
    ActivationCodeInput,
    DemoLoginInput,
    MagicLinkRequestInput,
    RoleChoiceInput,
    TotpInput,
)
from carnet.config import Settings
from carnet.errors import Denied, InvalidInput
from carnet.extensions import limiter
from carnet.security.sessions import ServerSession
from carnet.tenancy.models import Organisation
from carnet.web import current_principal, public, require_principal

__all__ = ["blueprint", "step_up_view"]

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# Per IP: generous, as a whole office may share one address; per e-mail address: strict.
LOGIN_IP_LIMIT = "30 per 10 minutes"
MAGIC_LINK_ADDRESS_LIMIT = "5 per 10 minutes"
ACTIVATION_IDENTITY_LIMIT = "5 per 10 minutes"
TOTP_ACCOUNT_LIMIT = "5 per minute"
PENDING_IDENTITY_SECONDS = 900
LOGOUT_STATE_SECONDS = 600


def step_up_view(view: F) -> F:
    """Reachable by a logged-in admin who has not yet shown a second factor."""
    view._carnet_step_up = True  # type: ignore[attr-defined]
    return view


def _settings() -> Settings:
    value: Settings = current_app.config["CARNET_SETTINGS"]
    return value


def _session() -> ServerSession:
    current = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(current, ServerSession)  # noqa: S101 - installed by app_setup
    return current


def _external(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured public address (never the request's Host)."""
    return _settings().base_url + url_for(endpoint, **values)


def _form(schema: Schema) -> tuple[dict[str, Any], dict[str, list[str]]]:
    data = {key: value for key, value in request.form.items() if key != "csrf_token"}
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        errors = {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in messages.items()
        }
        for name in list(errors):
            if name not in schema.fields:
                errors[name] = ["Ce champ n'est pas attendu."]
        return {}, errors


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _email_key() -> str:
    return "magic-link:" + _hashed(request.form.get("email", "").strip().lower())


def _account_key() -> str:
    return "totp:" + str(session.get("account_id", request.remote_addr))


def _pending_identity_key() -> str:
    pending = session.get("pending_identity") or {}
    return "activation:" + _hashed(f"{pending.get('issuer')}|{pending.get('subject')}")


def _refusal(
    message: str, status: int = 400, *, title: str = "Connexion impossible"
) -> tuple[str, int]:
    return render_template("auth/refused.html", title=title, message=message), status


def _log_in(
    account: Account,
    *,
    method: str,
    mfa: bool,
    id_token: str | None = None,
    membership_id: uuid.UUID | None = None,
) -> Response:
    """A new session id and the login facts; the pre-login contents (state, pending
    identity) are dropped."""
    current = _session()
    current.clear()
    current.regenerate()
    current["account_id"] = str(account.id)
    current["auth_method"] = method
    current["mfa"] = mfa
    if id_token:
        current["id_token"] = id_token
    if membership_id is not None:
        current["membership_id"] = str(membership_id)
    services.record_login(account, method=method)
    if membership_id is None and services.needs_role_choice(account):
        return redirect(url_for("auth.choose_role"))
    return redirect(url_for("home.index"))


# -- login page and magic links -----------------------------------------------------------------


def _login_page(status: int = 200, **context: Any) -> tuple[str, int]:
    settings = _settings()
    return render_template(
        "auth/login.html",
        proconnect=settings.proconnect is not None,
        franceconnect=settings.franceconnect is not None,
        is_demo=settings.is_demo,
        expired=request.args.get("expiree") == "1",
        logged_out=request.args.get("deconnecte") == "1",
        errors=context.pop("errors", {}),
        email=context.pop("email", ""),
        **context,
    ), status


@blueprint.get("/connexion")
@public
def login() -> Any:
    if current_principal() is not None:
        return redirect(url_for("home.index"))
    return _login_page()


@blueprint.post("/connexion/lien")
@public
@limiter.limit(LOGIN_IP_LIMIT)
@limiter.limit(MAGIC_LINK_ADDRESS_LIMIT, key_func=_email_key)
def request_link() -> Any:
    data, errors = _form(MagicLinkRequestInput())
    if errors:
        return _login_page(422, errors=errors, email=request.form.get("email", "")[:254])
    services.request_magic_link(
        settings=_settings(),
        email=data["email"],
        link_for=lambda token: _external("auth.magic_link", token=token),
    )
    return render_template("auth/link_sent.html")


@blueprint.get("/connexion/lien/<token>")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def magic_link(token: str) -> Any:
    if not services.magic_link_is_valid(token):
        return _refusal(services.UNKNOWN_LINK_MESSAGE, title="Lien expiré ou déjà utilisé")
    return render_template("auth/link_confirm.html", token=token)


@blueprint.post("/connexion/lien/<token>")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def magic_link_confirm(token: str) -> Any:
    try:
        account = services.consume_magic_link(token)
    except InvalidInput as exc:
        return _refusal(exc.message, title="Lien expiré ou déjà utilisé")
    except Denied as exc:
        return _refusal(exc.message, 403)
    return _log_in(account, method="magic_link", mfa=False)


# -- OpenID Connect -----------------------------------------------------------------------------


def _start(name: str) -> Any:
    if oidc.configured(name) is None:
        abort(404)
    try:
        # `?reauth=1` (from the step-up page) asks the provider for a fresh login, so the
        # person can show a second factor there rather than reuse a 12-hour SSO session.
        url = oidc.authorization_url(
            name, _external(f"auth.{name}_callback"), force_login=request.args.get("reauth") == "1"
        )
    except oidc.OidcError as exc:
        return _refusal(exc.message, 503)
    return redirect(url)


@blueprint.get("/connexion/proconnect")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def proconnect() -> Any:
    return _start("proconnect")


@blueprint.get("/connexion/franceconnect")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def franceconnect() -> Any:
    return _start("franceconnect")


def _identity(login: oidc.VerifiedLogin, issuer: str) -> services.ProviderIdentity:
    claims = login.claims
    family = claims.get("usual_name") or claims.get("family_name") or ""
    return services.ProviderIdentity(
        provider=login.provider,
        issuer=issuer,
        subject=str(claims["sub"]),
        email=str(claims["email"]) if claims.get("email") else None,
        email_verified=claims.get("email_verified") is True,
        given_name=str(claims.get("given_name") or "")[:120],
        family_name=str(family)[:120],
        has_mfa=services.provider_proves_mfa(claims),
    )


def _callback(name: str) -> Any:
    provider = oidc.configured(name)
    if provider is None:
        abort(404)
    try:
        login_result = oidc.finish(name, request.args.to_dict())
    except oidc.OidcError as exc:
        log.info("oidc login refused provider=%s reason=%s", name, exc.reason)
        return _refusal(exc.message)
    identity = _identity(login_result, provider.issuer)
    mfa = identity.has_mfa
    try:
        if name == "proconnect":
            professional = services.resolve_professional(identity)
            account: Account | None = professional.account
            mfa = professional.has_mfa
        else:
            account = services.resolve_beneficiary(identity)
    except Denied as exc:
        return _refusal(exc.message, 403)
    if account is None:
        return _await_activation(identity, login_result.id_token)
    return _log_in(account, method=name, mfa=mfa, id_token=login_result.id_token)


@blueprint.get("/connexion/proconnect/retour")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def proconnect_callback() -> Any:
    return _callback("proconnect")


@blueprint.get("/connexion/franceconnect/retour")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def franceconnect_callback() -> Any:
    return _callback("franceconnect")


# -- activation code (a FranceConnect identity not yet linked to a record) ----------------------


def _await_activation(identity: services.ProviderIdentity, id_token: str) -> Response:
    current = _session()
    current.clear()
    current.regenerate()
    current["pending_identity"] = {
        "provider": identity.provider,
        "issuer": identity.issuer,
        "subject": identity.subject,
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "has_mfa": identity.has_mfa,
        "id_token": id_token,
        "until": clock.now().timestamp() + PENDING_IDENTITY_SECONDS,
    }
    return redirect(url_for("auth.activation"))


def _pending_identity() -> tuple[services.ProviderIdentity, str] | None:
    pending = session.get("pending_identity")
    if not isinstance(pending, dict) or pending.get("until", 0) < clock.now().timestamp():
        return None
    identity = services.ProviderIdentity(
        provider=pending["provider"],
        issuer=pending["issuer"],
        subject=pending["subject"],
        email=None,
        email_verified=False,
        given_name=pending["given_name"],
        family_name=pending["family_name"],
        has_mfa=bool(pending["has_mfa"]),
    )
    return identity, str(pending["id_token"])


@blueprint.get("/connexion/activation")
@public
def activation() -> Any:
    if _pending_identity() is None:
        return _refusal(_NO_PENDING, title="Connexion à refaire")
    return render_template("auth/activation.html", errors={})


_NO_PENDING = (
    "Pour saisir votre code d'activation, connectez-vous d'abord avec FranceConnect depuis "
    "la page de connexion (la demande expire au bout de 15 minutes)."
)


@blueprint.post("/connexion/activation")
@public
@limiter.limit(LOGIN_IP_LIMIT)
@limiter.limit(ACTIVATION_IDENTITY_LIMIT, key_func=_pending_identity_key)
def activation_submit() -> Any:
    pending = _pending_identity()
    if pending is None:
        return _refusal(_NO_PENDING, title="Connexion à refaire")
    identity, id_token = pending
    data, errors = _form(ActivationCodeInput())
    if errors:
        return render_template("auth/activation.html", errors=errors), 422
    result = services.redeem_activation_code(identity, data["code"], settings=_settings())
    if result.account is None:
        # Returned, not raised: the failure count on the code must be committed.
        return render_template(
            "auth/activation.html", errors={"code": [result.error or services.BAD_CODE_MESSAGE]}
        ), 422
    return _log_in(
        result.account, method=identity.provider, mfa=identity.has_mfa, id_token=id_token
    )


# -- second factor -------------------------------------------------------------------------------


def _step_up_account() -> Account | None:
    """The account that still owes a second factor, or None when nothing is owed."""
    principal = require_principal()
    if not services.role_requires_mfa(principal.role) or principal.has_mfa:
        return None
    assert principal.account_id is not None  # noqa: S101 - MFA roles are accounts
    return services.get_account(principal.account_id)


@blueprint.route("/connexion/verification", methods=["GET", "POST"])
@step_up_view
@limiter.limit(TOTP_ACCOUNT_LIMIT, key_func=_account_key, methods=["POST"])
def totp() -> Any:
    """Ask for the code. Reading this page writes nothing: a secret is created only by
    the explicit POST of `totp_enrol`."""
    account = _step_up_account()
    if account is None:
        return redirect(url_for("home.index"))
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data, errors = _form(TotpInput())
        if not errors:
            problem = services.verify_totp(account.id, data["code"])
            if problem is None:
                current = _session()
                current.regenerate()
                current["mfa"] = True
                return redirect(url_for("home.index"))
            errors = {"code": [problem]}
        status = 422
    confirmed = services.has_confirmed_totp(account.id)
    return render_template(
        "auth/totp.html",
        confirmed=confirmed,
        enrolment=None if confirmed else services.pending_totp_enrolment(account),
        errors=errors,
        proconnect=_settings().proconnect is not None,
    ), status


@blueprint.post("/connexion/verification/configurer")
@step_up_view
def totp_enrol() -> Any:
    """« Configurer l'application d'authentification »: create the secret, then show it."""
    account = _step_up_account()
    if account is None:
        return redirect(url_for("home.index"))
    if not services.has_confirmed_totp(account.id):
        services.start_totp_enrolment(account)
    return redirect(url_for("auth.totp"))


# -- roles, sessions, logout ---------------------------------------------------------------------


@blueprint.route("/connexion/role", methods=["GET", "POST"])
@step_up_view
def choose_role() -> Any:
    principal = require_principal()
    assert principal.account_id is not None  # noqa: S101 - a logged-in person has an account
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data, errors = _form(RoleChoiceInput())
        if not errors:
            try:
                membership = services.choose_membership(principal.account_id, data["membership_id"])
            except InvalidInput as exc:
                errors = {"membership_id": [exc.message]}
            else:
                session["membership_id"] = str(membership.id)
                return redirect(url_for("home.index"))
        status = 422
    memberships = services.list_usable_memberships(principal.account_id)
    return render_template(
        "auth/choose_role.html",
        memberships=memberships,
        labels=services.ROLE_LABELS,
        current_id=principal.membership_id,
        errors=errors,
    ), status


@blueprint.get("/mon-compte/sessions")
def account_sessions() -> Any:
    principal = require_principal()
    assert principal.account_id is not None  # noqa: S101 - a logged-in person has an account
    rows = services.list_sessions(principal.account_id, _session().session_id)
    return render_template("auth/sessions.html", rows=rows)


@blueprint.post("/mon-compte/sessions/deconnecter-les-autres")
def revoke_other_sessions() -> Any:
    principal = require_principal()
    current_id = _session().session_id
    assert principal.account_id is not None  # noqa: S101 - a logged-in person has an account
    assert current_id is not None  # noqa: S101 - a logged-in request has a session id
    ended = services.revoke_other_sessions(principal.account_id, current_id)
    from flask import flash

    flash(f"{ended} autre(s) session(s) déconnectée(s).", "success")
    return redirect(url_for("auth.account_sessions"))


def _logout_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="carnet-logout-state")


@blueprint.post("/deconnexion")
@public
def logout() -> Any:
    current = _session()
    method = str(current.get("auth_method", ""))
    id_token = current.get("id_token")
    if current.get("account_id"):
        log.info("logout account=%s", current.get("account_id"))
    current.revoke()
    if isinstance(id_token, str) and method in oidc.PROVIDERS:
        state = _logout_signer().dumps({"provider": method, "n": secrets.token_urlsafe(16)})
        url = oidc.logout_url(
            method,
            id_token=id_token,
            state=state,
            post_logout_redirect_uri=_external("auth.logged_out"),
        )
        if url:
            return redirect(url)
    return redirect(url_for("auth.login", deconnecte=1))


@blueprint.get("/deconnexion/retour")
@public
def logged_out() -> Any:
    try:
        data = _logout_signer().loads(request.args.get("state", ""), max_age=LOGOUT_STATE_SECONDS)
    except BadData:
        return _refusal(
            "Ce retour de déconnexion n'est pas reconnu. Votre session Carnet de bord est "
            "fermée ; fermez votre navigateur si vous êtes sur un poste partagé.",
            title="Déconnexion",
        )
    provider = (
        oidc.PROVIDER_LABELS.get(str(data.get("provider")), "") if isinstance(data, dict) else ""
    )
    return render_template("auth/logged_out.html", provider=provider)


# -- demo ------------------------------------------------------------------------------------------


@blueprint.get("/connexion/demo")
@public
def demo() -> Any:
    if not _settings().is_demo:
        abort(404)
    return render_template("auth/demo.html", groups=services.list_demo_choices())


@blueprint.post("/connexion/demo")
@public
@limiter.limit(LOGIN_IP_LIMIT)
def demo_login() -> Any:
    if not _settings().is_demo:
        abort(404)
    data, errors = _form(DemoLoginInput())
    if errors:
        return _refusal("Choisissez un compte de démonstration dans la liste.", 422)
    try:
        account = services.demo_account(data["account_id"], data.get("membership_id"))
    except (Denied, InvalidInput) as exc:
        return _refusal(exc.message, 403)
    # Demo admins count as having shown a second factor, so the demo stays walkable.
    return _log_in(account, method="demo", mfa=True, membership_id=data.get("membership_id"))


# -- header ----------------------------------------------------------------------------------------


@blueprint.app_context_processor
def _nav_context() -> dict[str, Any]:
    principal = current_principal()
    if principal is None or principal.account_id is None:
        return {"nav": None}
    from carnet import db

    account = db.session().get(Account, principal.account_id)
    organisation = (
        db.session().get(Organisation, principal.organisation_id)
        if principal.organisation_id
        else None
    )
    return {
        "nav": {
            "name": account.display_name if account else "",
            "role": services.ROLE_LABELS.get(principal.role, ""),
            "organisation": organisation.name if organisation else "",
            "can_switch": principal.is_professional
            and len(services.list_usable_memberships(principal.account_id)) > 1,
        }
    }
