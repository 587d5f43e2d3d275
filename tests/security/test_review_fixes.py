"""Defects found in review: a département's tightening reaches the orientation officer's
out-of-group remit, and behind a trusted proxy the client address and scheme are read
from the forwarded headers (rate limits per client, CSRF Referer check over https)."""

from __future__ import annotations

import uuid

from carnet.config import Settings
from carnet.security import policy
from carnet.security.permissions import Level, OrganisationKind, PrincipalRole, Section
from carnet.security.policy import RecordFacts
from carnet.security.principal import Principal


def _officer(overrides: dict) -> Principal:
    departement_id = uuid.UUID(int=1)
    return Principal(
        role=PrincipalRole.ORIENTATION_OFFICER,
        auth_method="test",
        account_id=uuid.uuid4(),
        departement_id=departement_id,
        organisation_id=uuid.uuid4(),
        organisation_kind=OrganisationKind.DEPARTEMENT,
        membership_id=uuid.uuid4(),
        overrides=overrides,
    )


def test_a_departement_tightening_reaches_the_orientation_officer_outside_the_group() -> None:
    facts = RecordFacts(beneficiary_id=uuid.uuid4(), departement_id=uuid.UUID(int=1))
    key = (OrganisationKind.DEPARTEMENT, "orientation_officer", Section.SITUATION)

    assert policy.can(_officer({}), facts, Section.SITUATION, Level.READ)
    assert not policy.can(_officer({key: Level.NONE}), facts, Section.SITUATION, Level.READ)


def test_forwarded_client_address_and_scheme_are_trusted_only_when_configured(settings) -> None:
    from dataclasses import replace

    from flask import request

    from carnet import create_app

    seen: dict[str, object] = {}
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    for proxies in (0, 1):
        app = create_app(replace(settings, trusted_proxies=proxies))
        client = app.test_client()

        @app.get("/_probe")
        def probe(proxies: int = proxies) -> str:
            seen[proxies] = (request.remote_addr, request.scheme)
            return ""

        probe._carnet_public = True  # type: ignore[attr-defined]
        # The proxy itself speaks plain http to the app, from its own address.
        client.get(
            "/_probe",
            headers=headers,
            base_url="http://carnet.test",
            environ_base={"REMOTE_ADDR": "10.0.0.2", "wsgi.url_scheme": "http"},
        )

    assert seen[0] == ("10.0.0.2", "http")
    assert seen[1] == ("203.0.113.7", "https")


def test_a_wrong_proxy_count_stops_start_up_with_a_french_message(settings) -> None:
    import pytest

    from carnet.config import SettingsError

    env = {
        "CARNET_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "CARNET_SECRET_KEY": settings.secret_key,
        "CARNET_BASE_URL": settings.base_url,
        "CARNET_KEK": settings.kek,
        "CARNET_BLIND_INDEX_KEY": settings.blind_index_key,
        "CARNET_AUDIT_KEY": settings.audit_key,
        "CARNET_TRUSTED_PROXIES": "beaucoup",
    }
    with pytest.raises(SettingsError, match="CARNET_TRUSTED_PROXIES"):
        Settings.from_env(env)
