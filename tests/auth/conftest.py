"""Provider processes and apps wired to them, for the login tests (see tests/oidc_providers.py)."""

from tests.oidc_providers import (  # noqa: F401 - fixtures offered to tests/auth
    mock_app,
    mock_client,
    mock_fc,
    mock_pc,
    strict_app,
    strict_client,
    strict_fc,
    strict_pc,
)
