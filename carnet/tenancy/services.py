"""Read helpers on départements, organisations and the professionals who work in them.

Nothing here is a beneficiary's personal data: the organisations of a département and
their professionals are what any professional of that département chooses from when
inviting a colleague into a follow-up group. Each helper is limited to the actor's own
département or organisation; the platform's counts cross départements explicitly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from carnet import db

# Accounts are the identities behind memberships; only their display names are read here.
from carnet.auth.models import Account
from carnet.errors import InvalidInput
from carnet.security.permissions import MembershipRole, OrganisationKind
from carnet.security.principal import Principal
from carnet.tenancy.models import AccreditationStatus, Departement, Membership, Organisation

# Roles that accompany people and may therefore be invited into a follow-up group.
ACCOMPANYING_ROLES = (MembershipRole.PROFESSIONAL, MembershipRole.ORIENTATION_OFFICER)

# One label for every sensible structure, whatever its kind: a label per kind ("santé")
# would itself tell the reader what the hidden name reveals.
SENSIBLE_LABEL = "Structure partenaire (nom protégé)"


@dataclass(frozen=True)
class OrganisationSummary:
    id: uuid.UUID
    name: str
    kind: OrganisationKind
    is_sensible: bool
    accreditation_status: AccreditationStatus
    accreditation_decided_at: datetime | None
    territory_name: str | None

    def is_masked_for(self, viewer: Principal) -> bool:
        """Whether the structure is sensible and the viewer has no need to know its name.

        The person sees the names of the structures that follow him or her; a professional
        sees a sensible structure's name only from inside that structure.
        """
        return self.is_sensible and not (viewer.is_beneficiary or viewer.organisation_id == self.id)

    def label_for(self, viewer: Principal) -> str:
        """The name, or one neutral label where the name itself would reveal too much."""
        return SENSIBLE_LABEL if self.is_masked_for(viewer) else self.name


@dataclass(frozen=True)
class ProfessionalChoice:
    """A professional who may be invited into a follow-up group (one membership)."""

    membership_id: uuid.UUID
    account_id: uuid.UUID
    display_name: str
    job_title: str | None
    role: MembershipRole
    organisation: OrganisationSummary


@dataclass(frozen=True)
class StructureMember:
    membership_id: uuid.UUID
    account_id: uuid.UUID
    display_name: str
    email: str | None
    role: MembershipRole
    job_title: str | None
    since: datetime
    is_disabled: bool


@dataclass(frozen=True)
class DepartementSummary:
    id: uuid.UUID
    code: str
    name: str


def _summary(organisation: Organisation) -> OrganisationSummary:
    return OrganisationSummary(
        id=organisation.id,
        name=organisation.name,
        kind=OrganisationKind(organisation.kind),
        is_sensible=organisation.is_sensible,
        accreditation_status=AccreditationStatus(organisation.accreditation_status),
        accreditation_decided_at=organisation.accreditation_decided_at,
        territory_name=organisation.territory.name if organisation.territory else None,
    )


def list_departement_organisations(*, actor: Principal) -> list[OrganisationSummary]:
    """Every organisation of the actor's département, with its accreditation status."""
    if actor.departement_id is None:
        return []
    rows = db.session().scalars(
        select(Organisation)
        .where(Organisation.departement_id == actor.departement_id)
        .order_by(Organisation.name)
    )
    return [_summary(row) for row in rows]


def organisations_by_id(ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, OrganisationSummary]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session().scalars(select(Organisation).where(Organisation.id.in_(wanted)))
    return {row.id: _summary(row) for row in rows}


def professional_names(account_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of professionals (group members, authors), by account id."""
    wanted = {i for i in account_ids if i is not None}
    if not wanted:
        return {}
    rows = db.session().execute(
        select(Account.id, Account.given_name, Account.family_name).where(Account.id.in_(wanted))
    )
    return {row.id: f"{row.given_name} {row.family_name}" for row in rows}


# Who wrote a row, as said mid-sentence (« écrit par … », « Déposé par … »): a template
# that starts a sentence or a cell with one of these capitalises its first letter.
PERSON_AUTHOR = "la personne"
IMPORT_AUTHOR = "reprise de données"
UNNAMED_PROFESSIONAL = "Professionnel·le"


class AuthorLabels:
    """Who wrote rows of a person's record: the person, a data import (no account), or a
    professional with his or her structure; a sensible structure's staff stay unnamed, as
    in the follow-up group.

    Built once for all the (account, organisation) pairs of a page: the names and the
    structures are read in one query each, whatever the number of rows.
    """

    def __init__(
        self,
        actor: Principal,
        person_account_id: uuid.UUID | None,
        pairs: Iterable[tuple[uuid.UUID | None, uuid.UUID | None]],
    ) -> None:
        items = list(pairs)
        self._actor = actor
        self._person_account_id = person_account_id
        self._names = professional_names(account_id for account_id, _ in items)
        self._organisations = organisations_by_id(organisation_id for _, organisation_id in items)

    def label(self, account_id: uuid.UUID | None, organisation_id: uuid.UUID | None) -> str:
        if account_id is None:
            return IMPORT_AUTHOR
        if account_id == self._person_account_id:
            return PERSON_AUTHOR
        name = self._names.get(account_id, UNNAMED_PROFESSIONAL)
        organisation = (
            self._organisations.get(organisation_id) if organisation_id is not None else None
        )
        if organisation is None:
            return name
        if organisation.is_masked_for(self._actor):
            return f"{UNNAMED_PROFESSIONAL}, {organisation.label_for(self._actor)}"
        return f"{name}, {organisation.label_for(self._actor)}"


def _invitable_query(departement_id: uuid.UUID) -> Select[Membership, Account]:
    return (
        select(Membership, Account)
        .join(Account, Account.id == Membership.account_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.departement_id == departement_id,
            Membership.ended_at.is_(None),
            Membership.role.in_(ACCOMPANYING_ROLES),
            Organisation.departement_id == departement_id,
            Organisation.accreditation_status == AccreditationStatus.ACCREDITED,
            Account.is_disabled.is_(False),
        )
    )


def _choice(membership: Membership, account: Account) -> ProfessionalChoice:
    return ProfessionalChoice(
        membership_id=membership.id,
        account_id=account.id,
        display_name=account.display_name,
        job_title=membership.job_title,
        role=MembershipRole(membership.role),
        organisation=_summary(membership.organisation),
    )


def list_invitable_professionals(*, actor: Principal) -> list[ProfessionalChoice]:
    """Professionals of accredited organisations of the actor's département."""
    if actor.departement_id is None:
        return []
    rows = db.session().execute(
        _invitable_query(actor.departement_id).order_by(
            Organisation.name, Account.family_name, Account.given_name
        )
    )
    return [_choice(membership, account) for membership, account in rows]


def get_invitable_professional(*, actor: Principal, membership_id: uuid.UUID) -> ProfessionalChoice:
    """One invitable professional; a stale or foreign choice is a field error, not a 404."""
    row = None
    if actor.departement_id is not None:
        row = (
            db.session()
            .execute(_invitable_query(actor.departement_id).where(Membership.id == membership_id))
            .first()
        )
    if row is None:
        message = (
            "Ce professionnel n'est pas disponible : il a quitté sa structure ou celle-ci "
            "n'est pas habilitée dans le département."
        )
        raise InvalidInput.on("membership_id", message)
    return _choice(*row)


def list_structure_members(*, actor: Principal) -> list[StructureMember]:
    """The people who hold a role in the actor's own organisation, current roles first."""
    if actor.organisation_id is None:
        return []
    rows = db.session().execute(
        select(Membership, Account)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.organisation_id == actor.organisation_id, Membership.ended_at.is_(None))
        .order_by(Account.family_name, Account.given_name, Membership.role)
    )
    return [
        StructureMember(
            membership_id=membership.id,
            account_id=account.id,
            display_name=account.display_name,
            email=account.email,
            role=MembershipRole(membership.role),
            job_title=membership.job_title,
            since=membership.created_at,
            is_disabled=account.is_disabled,
        )
        for membership, account in rows
    ]


def get_organisation(organisation_id: uuid.UUID | None) -> OrganisationSummary | None:
    if organisation_id is None:
        return None
    row = db.session().get(Organisation, organisation_id)
    return None if row is None else _summary(row)


def departement_name(departement_id: uuid.UUID) -> str:
    row = db.session().get(Departement, departement_id)
    return "" if row is None else row.name


def list_departements() -> list[DepartementSummary]:
    rows = db.session().scalars(select(Departement).order_by(Departement.code))
    return [DepartementSummary(id=row.id, code=row.code, name=row.name) for row in rows]


def count_organisations_by_departement() -> dict[uuid.UUID, int]:
    rows = db.session().execute(
        select(Organisation.departement_id, func.count(Organisation.id)).group_by(
            Organisation.departement_id
        )
    )
    return {departement_id: int(count) for departement_id, count in rows}
