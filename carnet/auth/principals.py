"""Build the acting Principal from the session, fresh from the database on every request.

The session holds only the account id, the chosen membership (the active role), how the
person authenticated and whether a second factor was shown. Everything that grants
rights (memberships, their organisation's accreditation, the account's state, the
département's policy overrides) is read here each time, so ending a membership or
disabling an account takes effect on the next request.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any

from sqlalchemy import select

from carnet import db
from carnet.auth.models import Account, AccountKind
from carnet.records.models import Beneficiary
from carnet.security import matrix, scoping
from carnet.security.permissions import (
    Level,
    MembershipRole,
    OrganisationKind,
    PrincipalRole,
    Section,
)
from carnet.security.principal import OverrideKey, Principal
from carnet.tenancy.models import Membership, PolicyOverride

# Roles that need a second factor (from the provider's acr/amr, else TOTP in the app).
MFA_ROLES = frozenset({PrincipalRole.DEPARTEMENT_ADMIN, PrincipalRole.PLATFORM_ADMIN})


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def from_session(session: MutableMapping[str, Any]) -> Principal | None:
    account_id = _uuid(session.get("account_id"))
    if account_id is None:
        return None
    db_session = db.session()
    account = db_session.get(Account, account_id)
    if account is None or account.is_disabled:
        session.clear()
        return None
    auth_method = str(session.get("auth_method", ""))
    has_mfa = bool(session.get("mfa"))
    if account.kind is AccountKind.PLATFORM_ADMIN:
        return Principal(
            role=PrincipalRole.PLATFORM_ADMIN,
            auth_method=auth_method,
            account_id=account.id,
            has_mfa=has_mfa,
        )
    if account.kind is AccountKind.BENEFICIARY:
        return _beneficiary_principal(account, auth_method, has_mfa)
    membership = active_membership(account.id, _uuid(session.get("membership_id")))
    if membership is None:
        return None
    session["membership_id"] = str(membership.id)
    return Principal(
        role=PrincipalRole(membership.role),
        auth_method=auth_method,
        account_id=account.id,
        departement_id=membership.departement_id,
        organisation_id=membership.organisation_id,
        organisation_kind=OrganisationKind(membership.organisation.kind),
        membership_id=membership.id,
        has_mfa=has_mfa,
        overrides=_overrides(membership.departement_id),
    )


def _beneficiary_principal(account: Account, auth_method: str, has_mfa: bool) -> Principal | None:
    # Login precedes any scope: the person's own record is found by account, across départements.
    with scoping.unscoped():
        beneficiary = db.session().scalar(
            select(Beneficiary).where(Beneficiary.account_id == account.id)
        )
    if beneficiary is None:
        return None
    return Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method=auth_method,
        account_id=account.id,
        departement_id=beneficiary.departement_id,
        beneficiary_id=beneficiary.id,
        has_mfa=has_mfa,
    )


def usable_memberships(account_id: uuid.UUID) -> list[Membership]:
    """The roles an account may switch between: active, in an accredited organisation."""
    from carnet.tenancy.models import AccreditationStatus, Organisation

    return list(
        db.session().scalars(
            select(Membership)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(
                Membership.account_id == account_id,
                Membership.ended_at.is_(None),
                Organisation.accreditation_status == AccreditationStatus.ACCREDITED,
            )
            .order_by(Organisation.name, Membership.role)
        )
    )


def active_membership(account_id: uuid.UUID, wanted: uuid.UUID | None) -> Membership | None:
    memberships = usable_memberships(account_id)
    for membership in memberships:
        if membership.id == wanted:
            return membership
    return memberships[0] if memberships and wanted is None else None


def _overrides(departement_id: uuid.UUID) -> dict[OverrideKey, Level]:
    rows = db.session().scalars(
        select(PolicyOverride).where(PolicyOverride.departement_id == departement_id)
    )
    return matrix.validate_overrides(
        ((OrganisationKind(r.organisation_kind), r.group_role, Section(r.section)), Level(r.level))
        for r in rows
    )


def pending_step_up(principal: Principal, session: MutableMapping[str, Any]) -> str | None:
    """The endpoint an admin must pass before anything else, or None."""
    if principal.role in MFA_ROLES and not principal.has_mfa:
        return "auth.totp"
    return None


__all__ = [
    "MFA_ROLES",
    "MembershipRole",
    "active_membership",
    "from_session",
    "pending_step_up",
    "usable_memberships",
]
