"""OpenID Connect providers for the login tests, run as real processes on 127.0.0.1.

Two kinds:
- the permissive `oidc-provider-mock` package (`python -m oidc_provider_mock`), for the
  happy paths;
- a strict provider written here on authlib's server components, started with
  `python tests/oidc_providers.py --port N --client-id ID --client-secret S`:
  authorization code grant, PKCE S256 required, nonce required and echoed, ES256 (or
  RS256) signatures with a key generated at start-up, signed userinfo like ProConnect's,
  an end-session endpoint. The "browser" picks the subject and how it authenticated
  (`acr`, `amr`) on the login form. A control endpoint (`POST /_control`) makes the next
  tokens misbehave: signed with HS256 or `none`, expired, for another audience or issuer,
  with another nonce.

The helpers at the top (`ProviderProcess`, `authorize`) are what the tests import.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

PYTHON = sys.executable
STARTUP_SECONDS = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProviderProcess:
    """A provider subprocess on 127.0.0.1; `issuer` answers once discovery works."""

    def __init__(self, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        # The provider's log goes to a file: a pipe nobody reads would fill up and block it.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [PYTHON, *args],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env={**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1", **(env or {})},
        )
        self._wait_until_ready()

    @classmethod
    def mock(cls, users: list[dict[str, Any]]) -> ProviderProcess:
        port = free_port()
        args = ["-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
        for user in users:
            args += ["--user-claims", json.dumps(user)]
        return cls(args, port, env={"PYTHONWARNINGS": "ignore"})

    @classmethod
    def strict(
        cls,
        *,
        client_id: str,
        client_secret: str,
        alg: str = "ES256",
        require_pkce: bool = True,
        redirect_prefix: str = "https://carnet.test/connexion/",
    ) -> ProviderProcess:
        port = free_port()
        args = [
            str(Path(__file__).resolve()),
            "--port",
            str(port),
            "--client-id",
            client_id,
            "--client-secret",
            client_secret,
            "--alg",
            alg,
            "--redirect-prefix",
            redirect_prefix,
        ]
        if not require_pkce:
            args.append("--pkce-optional")
        return cls(args, port)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"provider exited early: {self.output()[-2000:]}")
            try:
                response = requests.get(
                    f"{self.issuer}/.well-known/openid-configuration", timeout=1
                )
                if response.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("provider did not answer its discovery document in time")

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """oidc-provider-mock only: the claims of `sub` for the next logins."""
        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        response.raise_for_status()

    def control(self, **settings: Any) -> None:
        """Strict provider only: change how the next tokens are made (`reset=True` first)."""
        response = requests.post(f"{self.issuer}/_control", json=settings, timeout=5)
        response.raise_for_status()

    def last_authorization_request(self) -> dict[str, str]:
        response = requests.get(f"{self.issuer}/_control", timeout=5)
        response.raise_for_status()
        return dict(response.json()["last_authorization_request"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def authorize(authorization_url: str, sub: str, **form: str) -> dict[str, str]:
    """Play the browser at the provider: open the authorization URL, submit its login
    form as `sub`, and return the query of the redirect back to the app."""
    with requests.Session() as browser:
        page = browser.get(authorization_url, allow_redirects=False, timeout=5)
        page.raise_for_status()
        answer = browser.post(
            authorization_url, data={"sub": sub, **form}, allow_redirects=False, timeout=5
        )
    location = answer.headers.get("Location")
    if answer.status_code not in (302, 303) or not location:
        raise AssertionError(f"provider refused: {answer.status_code} {answer.text[:300]}")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    query["_location"] = location
    return query


# -- pytest fixtures (imported by the test modules that need providers) ---------------------------

PC_CLIENT = ("carnet-proconnect", "pc-secret-" + "p" * 32)
FC_CLIENT = ("carnet-franceconnect", "fc-secret-" + "f" * 32)


def settings_env(settings: Any, **extra: str) -> dict[str, str]:
    """The test settings as environment variables, plus `extra` (provider variables)."""
    return {
        "CARNET_ENV": settings.environment,
        "DATABASE_URL": settings.database_url,
        "CARNET_SECRET_KEY": settings.secret_key,
        "CARNET_BASE_URL": settings.base_url,
        "CARNET_KEK": settings.kek,
        "CARNET_BLIND_INDEX_KEY": settings.blind_index_key,
        "CARNET_AUDIT_KEY": settings.audit_key,
        "CARNET_MAIL_DIR": str(settings.mail_dir),
        "CARNET_AUDIT_CHECKPOINT_DIR": str(settings.audit_checkpoint_dir),
        **extra,
    }


def provider_env(
    prefix: str, provider: ProviderProcess, client: tuple[str, str], alg: str, pkce: bool
) -> dict[str, str]:
    return {
        f"CARNET_{prefix}_ISSUER": provider.issuer,
        f"CARNET_{prefix}_CLIENT_ID": client[0],
        f"CARNET_{prefix}_CLIENT_SECRET": client[1],
        f"CARNET_{prefix}_SIGNING_ALG": alg,
        f"CARNET_{prefix}_PKCE": "on" if pkce else "off",
    }


@pytest.fixture(scope="module")
def strict_pc() -> Iterator[ProviderProcess]:
    provider = ProviderProcess.strict(
        client_id=PC_CLIENT[0], client_secret=PC_CLIENT[1], alg="RS256"
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def strict_fc() -> Iterator[ProviderProcess]:
    provider = ProviderProcess.strict(
        client_id=FC_CLIENT[0], client_secret=FC_CLIENT[1], alg="ES256"
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def strict_app(
    app: Any, settings: Any, strict_pc: ProviderProcess, strict_fc: ProviderProcess
) -> Any:
    """An app whose ProConnect and FranceConnect are two strict providers (PKCE on both)."""
    from carnet import create_app
    from carnet.config import Settings

    env = settings_env(
        settings,
        **provider_env("PROCONNECT", strict_pc, PC_CLIENT, "RS256", pkce=True),
        **provider_env("FRANCECONNECT", strict_fc, FC_CLIENT, "ES256", pkce=True),
    )
    return create_app(Settings.from_env(env))


@pytest.fixture(scope="module")
def mock_pc() -> Iterator[ProviderProcess]:
    provider = ProviderProcess.mock([])
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def mock_fc() -> Iterator[ProviderProcess]:
    provider = ProviderProcess.mock([])
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def mock_app(app: Any, settings: Any, mock_pc: ProviderProcess, mock_fc: ProviderProcess) -> Any:
    """An app on two oidc-provider-mock processes (RS256; FranceConnect without PKCE)."""
    from carnet import create_app
    from carnet.config import Settings

    env = settings_env(
        settings,
        **provider_env("PROCONNECT", mock_pc, PC_CLIENT, "RS256", pkce=True),
        **provider_env("FRANCECONNECT", mock_fc, FC_CLIENT, "RS256", pkce=False),
    )
    return create_app(Settings.from_env(env))


def _client_for(app: Any) -> Any:
    from tests.conftest import Client

    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def strict_client(
    strict_app: Any, connection: Any, strict_pc: ProviderProcess, strict_fc: ProviderProcess
) -> Any:
    strict_pc.control(reset=True)
    strict_fc.control(reset=True)
    return _client_for(strict_app)


@pytest.fixture
def mock_client(mock_app: Any, connection: Any) -> Any:
    return _client_for(mock_app)


def start_login(client: Any, name: str, **query: str) -> str:
    """Click the provider's button; return the authorization URL the app redirects to."""
    response = client.get(f"/connexion/{name}", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return str(response.headers["Location"])


def finish_login(client: Any, name: str, answer: dict[str, str]) -> Any:
    """Bring the provider's answer back to the app's callback."""
    query = {k: v for k, v in answer.items() if not k.startswith("_")}
    return client.get(f"/connexion/{name}/retour", query_string=query)


def log_in_with(client: Any, provider: ProviderProcess, name: str, sub: str, **form: str) -> Any:
    answer = authorize(start_login(client, name), sub, **form)
    return finish_login(client, name, answer)


# -- the strict provider (runs in its own process) -----------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class _Tweaks:
    alg: str | None = None  # "HS256" (keyed with the client secret) or "none"
    expired: bool = False
    aud: str | None = None
    iss: str | None = None
    nonce: str | None = None


@dataclass
class _State:
    tweaks: _Tweaks = field(default_factory=_Tweaks)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_request: dict[str, str] = field(default_factory=dict)


def build_strict_app(
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    alg: str,
    require_pkce: bool,
    redirect_prefix: str = "https://carnet.test/connexion/",
) -> Any:
    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.rfc6749 import ClientMixin, grants
    from authlib.oauth2.rfc6749.errors import InvalidRequestError
    from authlib.oauth2.rfc7636 import CodeChallenge
    from flask import Flask, jsonify, redirect, request
    from joserfc import jwt
    from joserfc.jwk import ECKey, RSAKey

    key = ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
    kid = secrets.token_hex(8)
    public_jwk = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": alg}
    state = _State()

    class Client(ClientMixin):
        def get_client_id(self) -> str:
            return client_id

        def get_default_redirect_uri(self) -> str | None:
            return None

        def get_allowed_scope(self, scope: str) -> str:
            return scope

        def check_redirect_uri(self, redirect_uri: str) -> bool:
            return redirect_uri.startswith(redirect_prefix)

        def check_client_secret(self, secret: str) -> bool:
            return hmac.compare_digest(secret, client_secret)

        def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
            return method in ("client_secret_basic", "client_secret_post")

        def check_response_type(self, response_type: str) -> bool:
            return response_type == "code"

        def check_grant_type(self, grant_type: str) -> bool:
            return grant_type == "authorization_code"

    class Code:
        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data
            self.code_challenge = data.get("code_challenge")
            self.code_challenge_method = data.get("code_challenge_method")

        def get_redirect_uri(self) -> str:
            return str(self.data["redirect_uri"])

        def get_scope(self) -> str:
            return str(self.data["scope"])

    class StrictCodeChallenge(CodeChallenge):
        """PKCE for confidential clients too, and S256 only."""

        def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
            data = grant.request.payload.data
            if require_pkce and (
                not data.get("code_challenge") or data.get("code_challenge_method") != "S256"
            ):
                raise InvalidRequestError("PKCE S256 is required")
            super().validate_code_challenge(grant, redirect_uri)

        def validate_code_verifier(self, grant: Any, result: Any) -> None:
            if require_pkce and not grant.request.form.get("code_verifier"):
                raise InvalidRequestError("Missing 'code_verifier'")
            super().validate_code_verifier(grant, result)

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
            "client_secret_basic",
            "client_secret_post",
        ]

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            state.codes[code] = {
                "client_id": client_id,
                "redirect_uri": req.payload.redirect_uri,
                "scope": req.payload.scope,
                "nonce": data.get("nonce"),
                "code_challenge": data.get("code_challenge"),
                "code_challenge_method": data.get("code_challenge_method"),
                "user": req.user,
                "auth_time": int(time.time()),
            }

        def query_authorization_code(self, code: str, client: Any) -> Code | None:
            data = state.codes.get(code)
            return Code(data) if data else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            for code, data in list(state.codes.items()):
                if data is authorization_code.data:
                    del state.codes[code]

        def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
            return dict(authorization_code.data["user"]) | {
                "_nonce": authorization_code.data["nonce"],
                "_auth_time": authorization_code.data["auth_time"],
            }

    def sign(claims: dict[str, Any]) -> str:
        tweaks = state.tweaks
        if tweaks.alg == "none":
            header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            return f"{header}.{_b64(json.dumps(claims).encode())}."
        if tweaks.alg == "HS256":
            signing_input = (
                _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
                + "."
                + _b64(json.dumps(claims).encode())
            )
            mac = hmac.new(client_secret.encode(), signing_input.encode(), hashlib.sha256)
            return f"{signing_input}.{_b64(mac.digest())}"
        return jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key, algorithms=[alg])

    def add_id_token(grant: Any, result: Any) -> None:
        _, token, _ = result
        user = grant.request.user
        tweaks = state.tweaks
        now = int(time.time())
        access_token = token["access_token"]
        at_hash = _b64(hashlib.sha256(access_token.encode()).digest()[:16])
        claims = {
            "iss": tweaks.iss or issuer,
            "sub": user["sub"],
            "aud": tweaks.aud or client_id,
            "iat": now - (7200 if tweaks.expired else 0),
            "exp": now - 3600 if tweaks.expired else now + 60,
            "auth_time": user["_auth_time"],
            "nonce": tweaks.nonce or user["_nonce"],
            "at_hash": at_hash,
            "acr": user.get("acr") or "eidas1",
            "amr": user.get("amr") or ["pwd"],
        }
        token["id_token"] = sign(claims)
        state.tokens[access_token] = {k: v for k, v in user.items() if not k.startswith("_")}

    def require_nonce(grant: Any, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("nonce"):
            raise InvalidRequestError("nonce is required")

    class WithIdToken:
        def __call__(self, grant: Any) -> None:
            grant.register_hook("after_create_token_response", add_id_token)
            grant.register_hook("after_validate_authorization_request_payload", require_nonce)

    app = Flask("strict_provider")
    server = AuthorizationServer(
        app,
        query_client=lambda cid: Client() if cid == client_id else None,
        save_token=lambda token, req: None,
    )
    server.register_grant(CodeGrant, [StrictCodeChallenge(required=True), WithIdToken()])

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "jwks_uri": f"{issuer}/jwks",
                "end_session_endpoint": f"{issuer}/end_session",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                # Advertised on purpose: the app must pin its own algorithm, not trust this list.
                "id_token_signing_alg_values_supported": [alg, "HS256", "none"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify({"keys": [public_jwk]})

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize_endpoint() -> Any:
        state.last_request = request.args.to_dict()
        if request.method == "GET":
            grant = server.get_consent_grant(end_user=None)
            return (
                "<form method=post><label>sub <input name=sub></label>"
                "<input name=acr><input name=amr><button>Se connecter</button></form>"
                f"<p>{grant.client.get_client_id()}</p>"
            )
        sub = request.form["sub"]
        user: dict[str, Any] = json.loads(request.form.get("claims") or "{}") | {"sub": sub}
        if request.form.get("acr"):
            user["acr"] = request.form["acr"]
        if request.form.get("amr"):
            user["amr"] = request.form["amr"].split()
        return server.create_authorization_response(grant_user=user)

    @app.post("/token")
    def token_endpoint() -> Any:
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo() -> Any:
        auth = request.headers.get("Authorization", "")
        user = state.tokens.get(auth.removeprefix("Bearer "))
        if user is None:
            return jsonify({"error": "invalid_token"}), 401
        claims = {k: v for k, v in user.items() if k not in ("acr", "amr")}
        claims |= {"iss": issuer, "aud": client_id}
        return sign(claims), 200, {"Content-Type": "application/jwt"}

    @app.get("/end_session")
    def end_session() -> Any:
        hint = request.args.get("id_token_hint", "")
        try:
            jwt.decode(hint, key, algorithms=[alg])
        except Exception:
            return "id_token_hint invalide", 400
        target = request.args.get("post_logout_redirect_uri", "")
        return redirect(f"{target}?state={request.args.get('state', '')}")

    @app.route("/_control", methods=["GET", "POST"])
    def control() -> Any:
        if request.method == "GET":
            return jsonify({"last_authorization_request": state.last_request})
        body = request.get_json() or {}
        if body.pop("reset", False):
            state.tweaks = _Tweaks()
        for name, value in body.items():
            setattr(state.tweaks, name, value)
        return jsonify({"ok": True})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Strict OpenID Connect provider for tests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--alg", choices=("ES256", "RS256"), default="ES256")
    parser.add_argument("--pkce-optional", action="store_true")
    parser.add_argument("--redirect-prefix", default="https://carnet.test/connexion/")
    args = parser.parse_args()
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = build_strict_app(
        issuer=f"http://127.0.0.1:{args.port}",
        client_id=args.client_id,
        client_secret=args.client_secret,
        alg=args.alg,
        require_pkce=not args.pkce_optional,
        redirect_prefix=args.redirect_prefix,
    )
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
