"""Settings fail fast, in French, naming the variable; the `carnet` command says so
without a traceback and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from carnet.config import Settings, SettingsError
from tests.conftest import TEST_KEK, TEST_KEK_OLD

CARNET = Path(sys.executable).with_name("carnet")


def valid_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    env = {
        "CARNET_ENV": "production",
        "DATABASE_URL": "postgresql://carnet@127.0.0.1:5432/carnet",
        "CARNET_SECRET_KEY": "s" * 40,
        "CARNET_BASE_URL": "https://carnet.exemple.fr/",
        "CARNET_KEK": TEST_KEK,
        "CARNET_BLIND_INDEX_KEY": "b" * 40,
        "CARNET_AUDIT_KEY": "a" * 40,
        "CARNET_INSTANCE_DIR": str(tmp_path),
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    return str(error.value)


def test_a_complete_environment_gives_typed_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(valid_env(tmp_path))
    assert settings.is_production
    assert settings.database_url == "postgresql+psycopg://carnet@127.0.0.1:5432/carnet"
    assert settings.base_url == "https://carnet.exemple.fr"
    assert settings.audit_checkpoint_dir == tmp_path / "audit-checkpoints"
    assert settings.mail_dir == tmp_path / "mail"
    assert settings.proconnect is None
    assert settings.redis_url is None
    assert (settings.session_idle_minutes, settings.session_absolute_hours) == (30, 12)
    assert not settings.uses_plain_http_locally


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings.from_env(valid_env(tmp_path))
    with pytest.raises(AttributeError):
        settings.secret_key = "autre"  # type: ignore[misc]


def test_secrets_stay_out_of_the_repr(tmp_path: Path) -> None:
    shown = repr(Settings.from_env(valid_env(tmp_path, CARNET_SMTP_URL="smtp://u:motdepasse@h")))
    for secret in (TEST_KEK, "b" * 40, "a" * 40, "motdepasse"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("DATABASE_URL", "La variable d'environnement DATABASE_URL est absente"),
        ("CARNET_SECRET_KEY", "La variable d'environnement CARNET_SECRET_KEY est absente"),
        ("CARNET_BASE_URL", "La variable d'environnement CARNET_BASE_URL est absente"),
        (
            "CARNET_BLIND_INDEX_KEY",
            "La variable d'environnement CARNET_BLIND_INDEX_KEY est absente",
        ),
        ("CARNET_AUDIT_KEY", "La variable d'environnement CARNET_AUDIT_KEY est absente"),
        ("CARNET_KEK", "La clé de chiffrement des clés est absente : définissez CARNET_KEK"),
    ],
)
def test_a_missing_variable_is_named(tmp_path: Path, variable: str, expected: str) -> None:
    assert refusal(valid_env(tmp_path, **{variable: None})).startswith(expected)
    # An empty value counts as missing.
    assert refusal(valid_env(tmp_path, **{variable: "  "})).startswith(expected)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CARNET_SECRET_KEY": "court"}, "CARNET_SECRET_KEY est trop court : au moins 32"),
        ({"CARNET_AUDIT_KEY": "x" * 31}, "CARNET_AUDIT_KEY est trop court"),
        (
            {"DATABASE_URL": "mysql://carnet@h/carnet"},
            "DATABASE_URL doit désigner PostgreSQL (postgresql://…) ou un fichier SQLite "
            "(sqlite:///…) ; reçu le schéma 'mysql'.",
        ),
        ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL doit désigner PostgreSQL"),
        (
            {"CARNET_BASE_URL": "http://carnet.exemple.fr"},
            "CARNET_BASE_URL doit commencer par https:// en production",
        ),
        ({"CARNET_BASE_URL": "carnet.exemple.fr"}, "n'est pas une adresse http(s) complète"),
        ({"CARNET_ENV": "staging"}, "CARNET_ENV='staging' n'est pas reconnu"),
        ({"CARNET_AUDIT_KEY": "s" * 40}, "doivent être trois secrets distincts"),
        ({"CARNET_BLIND_INDEX_KEY": "a" * 40}, "doivent être trois secrets distincts"),
        ({"CARNET_KEK": "k1:pas-du-base64"}, "CARNET_KEK (ou CARNET_KEK_FILE) : clé 'k1'"),
        ({"CARNET_KEK": "sans-deux-points"}, "CARNET_KEK (ou CARNET_KEK_FILE) : trousseau"),
        ({"CARNET_KEK_FILE": "/nulle/part/kek"}, "Définissez CARNET_KEK ou CARNET_KEK_FILE"),
        (
            {"CARNET_PROCONNECT_ISSUER": "https://proconnect.exemple"},
            "Configuration proconnect incomplète : CARNET_PROCONNECT_CLIENT_ID",
        ),
    ],
)
def test_a_wrong_value_is_named(tmp_path: Path, changes: dict[str, str], expected: str) -> None:
    assert expected in refusal(valid_env(tmp_path, **changes))


def test_an_unreadable_kek_file_is_named(tmp_path: Path) -> None:
    message = refusal(valid_env(tmp_path, CARNET_KEK=None, CARNET_KEK_FILE="/nulle/part/kek"))
    assert message.startswith("CARNET_KEK_FILE='/nulle/part/kek' est illisible")


def test_the_kek_may_come_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "kek"
    key_file.write_text(f"{TEST_KEK},{TEST_KEK_OLD}\n", encoding="utf-8")
    settings = Settings.from_env(
        valid_env(tmp_path, CARNET_KEK=None, CARNET_KEK_FILE=str(key_file))
    )
    assert settings.kek == f"{TEST_KEK},{TEST_KEK_OLD}"


def test_the_demo_alone_may_run_on_plain_local_http(tmp_path: Path) -> None:
    demo = Settings.from_env(
        valid_env(tmp_path, CARNET_ENV="demo", CARNET_BASE_URL="http://127.0.0.1:5000")
    )
    assert demo.uses_plain_http_locally
    test = Settings.from_env(
        valid_env(tmp_path, CARNET_ENV="test", CARNET_BASE_URL="http://127.0.0.1:5000")
    )
    assert not test.uses_plain_http_locally


def test_a_provider_is_read_whole(tmp_path: Path) -> None:
    settings = Settings.from_env(
        valid_env(
            tmp_path,
            CARNET_FRANCECONNECT_ISSUER="https://fc.exemple/api/v2/",
            CARNET_FRANCECONNECT_CLIENT_ID="client",
            CARNET_FRANCECONNECT_CLIENT_SECRET="secret",
            CARNET_FRANCECONNECT_SIGNING_ALG="ES256",
        )
    )
    assert settings.franceconnect is not None
    assert settings.franceconnect.issuer == "https://fc.exemple/api/v2"
    assert settings.franceconnect.signing_alg == "ES256"
    assert not settings.franceconnect.use_pkce
    assert "CARNET_FRANCECONNECT_SIGNING_ALG='HS256' n'est pas reconnu" in refusal(
        valid_env(
            tmp_path,
            CARNET_FRANCECONNECT_ISSUER="https://fc.exemple",
            CARNET_FRANCECONNECT_CLIENT_ID="client",
            CARNET_FRANCECONNECT_CLIENT_SECRET="secret",
            CARNET_FRANCECONNECT_SIGNING_ALG="HS256",
        )
    )


def run_carnet(env: dict[str, str], *args: str) -> Any:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "")}
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CARNET), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("args", [("audit", "verify"), ("db", "upgrade")])
def test_the_command_names_a_missing_variable_and_exits_2(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = run_carnet(valid_env(tmp_path, DATABASE_URL=None), *args)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "Configuration invalide : La variable d'environnement DATABASE_URL est absente"
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_the_command_names_a_malformed_key_ring_and_exits_2(tmp_path: Path) -> None:
    result = run_carnet(valid_env(tmp_path, CARNET_KEK="k1:court"), "audit", "verify")
    assert result.returncode == 2
    assert "CARNET_KEK (ou CARNET_KEK_FILE)" in result.stderr
    assert "Traceback" not in result.stderr
