"""OpenID Connect with ProConnect (professionals) and FranceConnect (beneficiaries).

authlib's Flask client builds the authorization request and redeems the code; the ID
token is verified here, with the algorithm pinned in the settings (the provider's own
list of algorithms is not trusted), and `iss`, `aud`/`azp`, `exp`, `iat`, `nonce` and
`at_hash` checked. `state` and `nonce` are 43-character `secrets.token_urlsafe(32)`
values (authlib's defaults are shorter); PKCE S256 is sent where the provider accepts
it. The `state` is kept in the browser's server-side session under a key that names the
provider, so a response brought to the other provider's callback finds no state; it
serves once and for `STATE_LIFETIME_SECONDS` (authlib records an expiry but does not
enforce it, so the time it was issued is saved with it and checked at the callback).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, session  # noqa: TID251 - authlib keeps its state there
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from carnet import clock
from carnet.config import OidcProvider, Settings

log = logging.getLogger(__name__)

PROVIDERS = ("proconnect", "franceconnect")
PROVIDER_LABELS = {"proconnect": "ProConnect", "franceconnect": "FranceConnect"}
SCOPES = {
    "proconnect": "openid email given_name usual_name uid siret",
    "franceconnect": "openid given_name family_name email",
}
# ProConnect sends amr only when asked for it as an essential claim.
CLAIMS_REQUEST = {
    "proconnect": {"id_token": {"amr": {"essential": True}, "acr": {"essential": False}}},
}
CLOCK_LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10
STATE_LIFETIME_SECONDS = 600


class OidcError(Exception):
    """The login through a provider failed; `message` is French and safe to show."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class VerifiedLogin:
    provider: str
    claims: dict[str, Any]
    id_token: str


def init_app(app: Flask, settings: Settings) -> None:
    oauth = OAuth(app)
    for provider in (settings.proconnect, settings.franceconnect):
        if provider is None:
            continue
        client_kwargs: dict[str, Any] = {
            "scope": SCOPES[provider.name],
            "timeout": HTTP_TIMEOUT_SECONDS,
        }
        if provider.use_pkce:
            client_kwargs["code_challenge_method"] = "S256"
        oauth.register(
            name=provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )
    app.extensions["carnet_oauth"] = oauth


def configured(name: str) -> OidcProvider | None:
    settings: Settings = current_app.config["CARNET_SETTINGS"]
    provider = getattr(settings, name, None) if name in PROVIDERS else None
    return provider if isinstance(provider, OidcProvider) else None


def _client(name: str) -> Any:
    if configured(name) is None:
        raise OidcError("Ce moyen de connexion n'est pas disponible.", "not_configured")
    return current_app.extensions["carnet_oauth"].create_client(name)


def _unavailable(name: str) -> OidcError:
    return OidcError(
        f"{PROVIDER_LABELS[name]} ne répond pas pour le moment. Réessayez dans quelques "
        "minutes ou utilisez la connexion par lien envoyé par e-mail.",
        "provider_unreachable",
    )


def _metadata(client: Any, name: str) -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        log.warning("oidc discovery failed provider=%s error=%s", name, type(exc).__name__)
        raise _unavailable(name) from exc
    return metadata


def authorization_url(name: str, redirect_uri: str, *, force_login: bool = False) -> str:
    """The provider's authorization URL; its state, nonce and verifier are kept in the session."""
    client = _client(name)
    provider = configured(name)
    assert provider is not None  # noqa: S101 - _client refused an unconfigured provider
    metadata = _metadata(client, name)
    if metadata.get("issuer", "").rstrip("/") != provider.issuer:
        log.warning("oidc discovery issuer mismatch provider=%s", name)
        raise _unavailable(name)
    params: dict[str, Any] = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
    }
    if provider.use_pkce:
        params["code_verifier"] = secrets.token_urlsafe(64)
    if name in CLAIMS_REQUEST:
        params["claims"] = json.dumps(CLAIMS_REQUEST[name], separators=(",", ":"))
    if force_login:
        params["prompt"] = "login"
    try:
        result = client.create_authorization_url(redirect_uri, **params)
    except (AuthlibBaseError, RuntimeError) as exc:
        raise _unavailable(name) from exc
    client.save_authorize_data(
        redirect_uri=redirect_uri, issued_at=clock.now().timestamp(), **result
    )
    return str(result["url"])


def finish(name: str, args: dict[str, str]) -> VerifiedLogin:
    """Verify the provider's answer at the callback and return the verified claims."""
    client = _client(name)
    provider = configured(name)
    assert provider is not None  # noqa: S101 - _client refused an unconfigured provider
    if args.get("error"):
        log.info("oidc error returned provider=%s error=%s", name, args.get("error", "")[:40])
        _pop_state(client, args.get("state"))
        raise OidcError(
            f"La connexion avec {PROVIDER_LABELS[name]} a été annulée ou refusée. "
            "Vous pouvez réessayer.",
            "provider_error",
        )
    state_data = _pop_state(client, args.get("state"))
    if state_data is None:
        raise OidcError(
            "Cette réponse de connexion n'est pas reconnue : elle a déjà servi, a expiré ou "
            "ne vient pas de ce navigateur. Recommencez depuis la page de connexion.",
            "state_mismatch",
        )
    issued_at = state_data.get("issued_at")
    if (
        not isinstance(issued_at, int | float)
        or clock.now().timestamp() - issued_at > STATE_LIFETIME_SECONDS
    ):
        log.info("oidc state expired provider=%s", name)
        raise OidcError(
            "Cette demande de connexion a expiré : elle est valable 10 minutes. Recommencez "
            "depuis la page de connexion.",
            "state_expired",
        )
    if "iss" in args and args["iss"].rstrip("/") != provider.issuer:
        # RFC 9207: the answer names its issuer; another provider's answer is refused.
        raise OidcError(_REFUSED, "iss_parameter_mismatch")
    code = args.get("code")
    if not code:
        raise OidcError(_REFUSED, "code_missing")
    params: dict[str, Any] = {"code": code}
    if state_data.get("code_verifier"):
        params["code_verifier"] = state_data["code_verifier"]
    try:
        token = client.fetch_access_token(redirect_uri=state_data["redirect_uri"], **params)
    except AuthlibBaseError as exc:
        log.info(
            "oidc token request refused provider=%s error=%s",
            name,
            getattr(exc, "error", type(exc).__name__),
        )
        raise OidcError(_REFUSED, "token_refused") from exc
    except (requests.RequestException, ValueError) as exc:
        raise _unavailable(name) from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError(_REFUSED, "id_token_missing")
    metadata = _metadata(client, name)
    claims = verify_id_token(
        client,
        provider,
        id_token,
        nonce=str(state_data.get("nonce", "")),
        access_token=token.get("access_token"),
    )
    claims = {**_userinfo(client, provider, metadata, token, claims), **claims}
    return VerifiedLogin(provider=name, claims=claims, id_token=id_token)


_REFUSED = (
    "La connexion n'a pas pu être vérifiée : la réponse du fournisseur d'identité est "
    "invalide. Recommencez depuis la page de connexion."
)


def _pop_state(client: Any, state: str | None) -> dict[str, Any] | None:
    """The data saved with this state, removed so it serves once."""
    if not state or len(state) > 200:
        return None
    data = client.framework.get_state_data(session, state)
    client.framework.clear_state_data(session, state)
    return data if isinstance(data, dict) else None


def _key_set(client: Any, *, force: bool = False) -> KeySet:
    return KeySet.import_key_set(client.fetch_jwk_set(force=force))


def _decode(client: Any, provider: OidcProvider, token: str) -> dict[str, Any]:
    """Check the signature with the pinned algorithm only (never HS256, never `none`)."""
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise OidcError(_REFUSED, "jwt_malformed") from exc
    if header.get("alg") != provider.signing_alg:
        log.warning(
            "oidc token refused: unexpected alg provider=%s alg=%s",
            provider.name,
            str(header.get("alg"))[:10],
        )
        raise OidcError(_REFUSED, "alg_mismatch")
    try:
        try:
            decoded = jwt.decode(token, _key_set(client), algorithms=[provider.signing_alg])
        except JoseError:
            # The provider may have rotated its keys since they were fetched.
            decoded = jwt.decode(
                token, _key_set(client, force=True), algorithms=[provider.signing_alg]
            )
    except (JoseError, ValueError) as exc:
        log.warning("oidc token refused: bad signature provider=%s", provider.name)
        raise OidcError(_REFUSED, "bad_signature") from exc
    except requests.RequestException as exc:
        raise _unavailable(provider.name) from exc
    return dict(decoded.claims)


def verify_id_token(
    client: Any, provider: OidcProvider, id_token: str, *, nonce: str, access_token: str | None
) -> dict[str, Any]:
    claims = _decode(client, provider, id_token)
    now = time.time()
    failures = []
    if claims.get("iss") != provider.issuer:
        failures.append("iss")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences:
        failures.append("aud")
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        failures.append("azp")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] + CLOCK_LEEWAY_SECONDS < now:
        failures.append("exp")
    if not isinstance(claims.get("iat"), int | float) or claims["iat"] - CLOCK_LEEWAY_SECONDS > now:
        failures.append("iat")
    if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        failures.append("nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        failures.append("sub")
    if access_token and "at_hash" in claims and claims["at_hash"] != _at_hash(access_token):
        failures.append("at_hash")
    if failures:
        log.warning(
            "oidc id token refused provider=%s claims=%s", provider.name, ",".join(failures)
        )
        raise OidcError(_REFUSED, "claims_" + "_".join(failures))
    return claims


def _at_hash(access_token: str) -> str:
    # RS256 and ES256 (the only algorithms allowed) both hash with SHA-256.
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _userinfo(
    client: Any,
    provider: OidcProvider,
    metadata: dict[str, Any],
    token: dict[str, Any],
    id_claims: dict[str, Any],
) -> dict[str, Any]:
    """The userinfo claims (signed JWT or JSON); the ID token's claims take precedence."""
    endpoint = metadata.get("userinfo_endpoint")
    if not endpoint or not token.get("access_token"):
        return {}
    try:
        response = requests.get(
            endpoint,
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        raise _unavailable(provider.name) from exc
    if response.headers.get("Content-Type", "").startswith("application/jwt"):
        info = _decode(client, provider, response.text.strip())
        if info.get("iss", provider.issuer) != provider.issuer or (
            "aud" in info
            and provider.client_id
            not in (info["aud"] if isinstance(info["aud"], list) else [info["aud"]])
        ):
            raise OidcError(_REFUSED, "userinfo_claims")
    else:
        try:
            info = response.json()
        except ValueError as exc:
            raise OidcError(_REFUSED, "userinfo_malformed") from exc
    if not isinstance(info, dict) or info.get("sub") != id_claims["sub"]:
        raise OidcError(_REFUSED, "userinfo_subject")
    return info


def logout_url(
    name: str, *, id_token: str, post_logout_redirect_uri: str, state: str
) -> str | None:
    """The provider's end-session URL, or None when it has none (or is unreachable)."""
    if configured(name) is None:
        return None
    client = _client(name)
    try:
        metadata = _metadata(client, name)
    except OidcError:
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    result = client.create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri, id_token_hint=id_token, state=state
    )
    return str(result["url"])
