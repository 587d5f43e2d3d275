"""Settings read from environment variables, validated once at start-up.

A missing or malformed variable stops the application with a message that names it;
there is no fallback secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ENVIRONMENTS = ("production", "demo", "test")


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the variable and the fix."""


@dataclass(frozen=True)
class OidcProvider:
    """One OpenID Connect provider (ProConnect or FranceConnect)."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    signing_alg: str
    # Some providers refuse unknown parameters: PKCE is sent only when they accept it.
    use_pkce: bool


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    secret_key: str
    base_url: str
    kek: str = field(repr=False)
    blind_index_key: str = field(repr=False)
    audit_key: str = field(repr=False)
    audit_checkpoint_dir: Path
    mail_dir: Path
    smtp_url: str | None = field(default=None, repr=False)
    redis_url: str | None = None
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto headers are trusted.
    trusted_proxies: int = 0
    proconnect: OidcProvider | None = None
    franceconnect: OidcProvider | None = None
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12

    @property
    def is_demo(self) -> bool:
        return self.environment == "demo"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_plain_http_locally(self) -> bool:
        """Only the demo, on http://127.0.0.1, may drop the __Host- prefix and Secure."""
        parts = urlsplit(self.base_url)
        return (
            self.is_demo and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        environment = reader.choice("CARNET_ENV", ENVIRONMENTS, default="production")
        instance = Path(reader.optional("CARNET_INSTANCE_DIR") or "instance")
        settings = cls(
            environment=environment,
            database_url=reader.database_url(),
            secret_key=reader.secret("CARNET_SECRET_KEY"),
            base_url=reader.url("CARNET_BASE_URL"),
            kek=reader.kek(),
            blind_index_key=reader.secret("CARNET_BLIND_INDEX_KEY"),
            audit_key=reader.secret("CARNET_AUDIT_KEY"),
            audit_checkpoint_dir=Path(
                reader.optional("CARNET_AUDIT_CHECKPOINT_DIR") or instance / "audit-checkpoints"
            ),
            mail_dir=Path(reader.optional("CARNET_MAIL_DIR") or instance / "mail"),
            smtp_url=reader.optional("CARNET_SMTP_URL"),
            redis_url=reader.optional("REDIS_URL"),
            trusted_proxies=reader.count("CARNET_TRUSTED_PROXIES"),
            proconnect=reader.provider("PROCONNECT", "proconnect", use_pkce=True),
            franceconnect=reader.provider("FRANCECONNECT", "franceconnect", use_pkce=False),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.is_production and urlsplit(self.base_url).scheme != "https":
            raise SettingsError(
                "CARNET_BASE_URL doit commencer par https:// en production "
                f"(reçu : {self.base_url!r})."
            )
        if len({self.secret_key, self.blind_index_key, self.audit_key}) != 3:
            raise SettingsError(
                "CARNET_SECRET_KEY, CARNET_BLIND_INDEX_KEY et CARNET_AUDIT_KEY doivent être "
                "trois secrets distincts."
            )
        # The key ring is parsed here so a malformed one stops start-up with its name,
        # not later with a traceback (imported late: config sits below the security core).
        from carnet.security.crypto import KeyRing, KeyRingError

        try:
            KeyRing.parse(self.kek)
        except KeyRingError as exc:
            raise SettingsError(f"CARNET_KEK (ou CARNET_KEK_FILE) : {exc}.") from exc


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def required(self, name: str, hint: str) -> str:
        value = self.optional(name)
        if value is None:
            raise SettingsError(f"La variable d'environnement {name} est absente : {hint}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.optional(name) or default
        if value not in allowed:
            raise SettingsError(
                f"{name}={value!r} n'est pas reconnu ; valeurs : {', '.join(allowed)}."
            )
        return value

    def count(self, name: str) -> int:
        value = self.optional(name) or "0"
        if not value.isdigit() or int(value) > 5:
            raise SettingsError(
                f"{name}={value!r} : un nombre de mandataires entre 0 et 5 est attendu."
            )
        return int(value)

    def secret(self, name: str) -> str:
        value = self.required(
            name, "générez-la avec `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
        if len(value) < 32:
            raise SettingsError(f"{name} est trop court : au moins 32 caractères aléatoires.")
        return value

    def url(self, name: str) -> str:
        value = self.required(
            name, "l'adresse publique du site, par exemple https://carnet.exemple.fr."
        )
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(f"{name}={value!r} n'est pas une adresse http(s) complète.")
        return value.rstrip("/")

    def database_url(self) -> str:
        value = self.required(
            "DATABASE_URL",
            "par exemple postgresql+psycopg://carnet@127.0.0.1:5432/carnet "
            "ou sqlite:///instance/carnet.sqlite3.",
        )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("postgresql+psycopg://", "sqlite:///")):
            raise SettingsError(
                "DATABASE_URL doit désigner PostgreSQL (postgresql://…) ou un fichier SQLite "
                f"(sqlite:///…) ; reçu le schéma {value.split(':', 1)[0]!r}."
            )
        return value

    def kek(self) -> str:
        inline = self.optional("CARNET_KEK")
        path = self.optional("CARNET_KEK_FILE")
        if inline and path:
            raise SettingsError("Définissez CARNET_KEK ou CARNET_KEK_FILE, pas les deux.")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"CARNET_KEK_FILE={path!r} est illisible : {exc.strerror}."
                ) from exc
        if inline:
            return inline
        raise SettingsError(
            "La clé de chiffrement des clés est absente : définissez CARNET_KEK "
            "(« id:clé-base64 », la première est active) ou CARNET_KEK_FILE ; "
            "`carnet keys generate` en produit une."
        )

    def provider(self, prefix: str, name: str, *, use_pkce: bool) -> OidcProvider | None:
        names = [f"CARNET_{prefix}_{suffix}" for suffix in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET")]
        values = [self.optional(n) for n in names]
        if not any(values):
            return None
        missing = [n for n, v in zip(names, values, strict=True) if v is None]
        if missing:
            raise SettingsError(
                f"Configuration {name} incomplète : {', '.join(missing)} manquant(s)."
            )
        issuer, client_id, client_secret = (v or "" for v in values)
        alg = self.choice(f"CARNET_{prefix}_SIGNING_ALG", ("RS256", "ES256"), default="RS256")
        pkce_flag = self.choice(
            f"CARNET_{prefix}_PKCE", ("on", "off"), default="on" if use_pkce else "off"
        )
        return OidcProvider(
            name=name,
            issuer=issuer.rstrip("/"),
            client_id=client_id,
            client_secret=client_secret,
            signing_alg=alg,
            use_pkce=pkce_flag == "on",
        )
