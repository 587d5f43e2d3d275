"""Who is acting: built fresh from the database on every request, never cached in the session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from carnet.security.permissions import Level, OrganisationKind, PrincipalRole, Section

# (organisation kind, group role, section) -> tightened level, from the département's settings.
OverrideKey = tuple[OrganisationKind, str, Section]


@dataclass(frozen=True)
class Principal:
    role: PrincipalRole
    auth_method: str  # proconnect | franceconnect | magic_link | demo | system
    account_id: uuid.UUID | None = None
    departement_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    organisation_kind: OrganisationKind | None = None
    membership_id: uuid.UUID | None = None
    beneficiary_id: uuid.UUID | None = None
    has_mfa: bool = False
    label: str = ""
    overrides: dict[OverrideKey, Level] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_professional(self) -> bool:
        return self.organisation_id is not None

    @property
    def is_beneficiary(self) -> bool:
        return self.role is PrincipalRole.BENEFICIARY

    @property
    def is_system(self) -> bool:
        return self.role is PrincipalRole.SYSTEM


def system_principal(label: str, departement_id: uuid.UUID | None = None) -> Principal:
    """The actor of CLI commands and jobs (`cli:purge`, `job:import`); audited as such."""
    return Principal(
        role=PrincipalRole.SYSTEM,
        auth_method="system",
        departement_id=departement_id,
        label=label,
    )
