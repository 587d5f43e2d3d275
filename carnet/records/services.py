"""The record's services: the only readers and writers of a person's identity, contact,
follow-up group and access log.

Each entry point opens the record through `carnet.records.gate` (scope, policy, audit row
in the caller's transaction) before it reads or writes anything, and never commits.
Writes add a timeline event and notify the référent and the person, in the same
transaction. Listings of several people (the orientation queue, and the portfolio and the
name search of `carnet.workspace`) are authorized by the policy and audited once per page
view (see `listing_audit`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, false, func, or_, select

from carnet import clock, db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound, Unavailable
from carnet.notifications import services as notifications
from carnet.records import gate
from carnet.records.gate import RecordAccess
from carnet.records.models import (
    Beneficiary,
    ContactChannel,
    GroupMembership,
    Journey,
    TimelineEvent,
)
from carnet.security import audit, crypto, policy, scoping
from carnet.security.audit import AccessEvent
from carnet.security.permissions import (
    Action,
    AuditAction,
    GroupRole,
    Level,
    MembershipRole,
    Outcome,
    PrincipalRole,
    Purpose,
    Section,
    permission,
)
from carnet.security.policy import RecordFacts
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

# Where the NIR lives; the sealing and the opening must name the same place (AAD).
NIR_TABLE = "beneficiaries"
NIR_COLUMN = "nir_sealed"
ACCESS_LOG_PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 50
SEARCH_LIMIT = 5
REASON_MAX = 500
NOBODY = uuid.UUID(int=0)

GROUP_CHANGED_MESSAGE = (
    "Le groupe de suivi vient d'être modifié par quelqu'un d'autre : rechargez la page."
)
LAST_REFERENT_MESSAGE = (
    "Le référent unique ne peut pas être retiré : une personne accompagnée a toujours un "
    "référent. Désignez d'abord son successeur avec « Changer de référent »."
)
NO_JOURNEY_MESSAGE = (
    "Cette personne n'a pas de parcours en cours : son groupe de suivi ne peut pas être modifié."
)
SELF_ADD_MESSAGE = (
    "Vous ne pouvez pas vous inviter vous-même dans un groupe de suivi, ni vous désigner "
    "référent. Pour accompagner cette personne, passez par « Rejoindre le groupe de suivi » "
    "en indiquant le motif de votre accès : cet accès exceptionnel (« bris de glace ») est "
    "signalé au référent et à la personne."
)


class Tag(StrEnum):
    """Audit tags of the records domain (`domain:subject:action`)."""

    ACCESS_LOG_READ = "records:access_log:read"
    BREAK_GLASS = "records:group:break_glass"
    CONTACT_READ = "records:contact:read"
    CONTACT_UPDATED = "records:contact:updated"
    GROUP_READ = "records:group:read"
    HISTORY_READ = "records:history:read"
    JOIN_FORM_READ = "records:join_form:read"
    MEMBER_ADDED = "records:group:member_added"
    MEMBER_ENDED = "records:group:member_ended"
    NIR_READ = "records:nir:read"
    PORTFOLIO_LISTED = "records:portfolio:listed"
    RECORD_READ = "records:record:read"
    REFERENT_CHANGED = "records:group:referent_changed"
    RIGHTS_READ = "records:rights:read"
    SEARCH_HIT = "records:search:hit"
    SEARCH_MISS = "records:search:miss"


class Event(StrEnum):
    """Timeline and notification kinds written by this module."""

    BREAK_GLASS = "records:group:break_glass"
    CONTACT_UPDATED = "records:contact:updated"
    MEMBER_ADDED = "records:group:member_added"
    MEMBER_ENDED = "records:group:member_ended"
    MEMBER_INVITED = "records:group:invited"
    MEMBER_REMOVED = "records:group:removed"
    REFERENT_ASSIGNED = "records:group:referent_assigned"
    REFERENT_CHANGED = "records:group:referent_changed"


# The sections of the record page after identity, in the order shown; each one rendered is
# one audited read, and one the viewer may not read is neither rendered nor audited.
RECORD_PAGE_SECTIONS: tuple[tuple[Section, Tag], ...] = (
    (Section.CONTACT, Tag.CONTACT_READ),
    (Section.RIGHTS, Tag.RIGHTS_READ),
    (Section.GROUP, Tag.GROUP_READ),
)


# -- what the pages receive ---------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    organisation_id: uuid.UUID
    organisation_label: str
    role: GroupRole
    started_at: datetime
    start_reason: str
    is_break_glass: bool
    ended_at: datetime | None
    end_reason: str | None
    journey_closed_on: date | None
    is_self: bool
    is_masked: bool  # of a sensible structure the viewer is not in: no name, no structure


@dataclass(frozen=True)
class RecordPage:
    access: RecordAccess
    person: Beneficiary
    journey: Journey | None
    members: list[MemberView]
    history: list[MemberView]
    has_nir: bool
    # The sections read for this page, each audited once: the template shows these only.
    sections: frozenset[Section] = frozenset({Section.IDENTITY})
    nir: str | None = None

    @property
    def referent(self) -> MemberView | None:
        return next((m for m in self.members if m.role is GroupRole.REFERENT), None)

    def shows(self, section: Section | str) -> bool:
        return Section(section) in self.sections


@dataclass(frozen=True)
class ProfessionalOption:
    """One professional in the invitation and référent lists."""

    membership_id: uuid.UUID
    display_name: str
    job_title: str | None  # left out for a sensible structure: a title may name it
    role: MembershipRole


@dataclass(frozen=True)
class ProfessionalGroup:
    """The professionals of one structure, under the label the viewer may read. Every
    sensible structure the viewer is not in shares one group under the neutral label."""

    label: str
    options: list[ProfessionalOption]


@dataclass(frozen=True)
class GroupPage:
    access: RecordAccess
    person: Beneficiary
    journey: Journey | None
    members: list[MemberView]
    history: list[MemberView]
    # Whom one may invite and whom one may make référent. A sensible structure's staff are
    # listed on every record alike, in or out of the group: leaving a masked member out
    # here would tell who he or she is, and that the person is followed there.
    choices: list[ProfessionalGroup] = field(default_factory=list)
    referent_choices: list[ProfessionalGroup] = field(default_factory=list)

    @property
    def referent(self) -> MemberView | None:
        return next((m for m in self.members if m.role is GroupRole.REFERENT), None)


@dataclass(frozen=True)
class JoinPage:
    access: RecordAccess
    is_member: bool
    has_journey: bool


@dataclass(frozen=True)
class SearchHit:
    beneficiary_id: uuid.UUID
    display_name: str
    birth_on: date
    city: str | None = None
    # The searcher's roles in the person's active group, and what the policy lets him or
    # her do from the hit: open the record, or join the group (« bris de glace »).
    group_roles: frozenset[GroupRole] = frozenset()
    may_read: bool = False
    may_join: bool = False


@dataclass(frozen=True)
class AccessLogEntry:
    occurred_at: datetime
    organisation_label: str
    actor_role: str
    section: str
    action: AuditAction
    tag: str
    is_break_glass: bool


@dataclass(frozen=True)
class AccessLogVisit:
    """Consecutive accesses of one professional in the same minute: one page view shows
    several sections, each logged, and the person reads them as one visit."""

    entries: list[AccessLogEntry]

    @property
    def first(self) -> AccessLogEntry:
        return self.entries[-1]  # the log runs newest first

    @property
    def is_break_glass(self) -> bool:
        return any(entry.is_break_glass for entry in self.entries)


@dataclass(frozen=True)
class AccessLogPage:
    access: RecordAccess
    visits: list[AccessLogVisit]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class DepartementCounts:
    departement: tenancy.DepartementSummary
    people: int
    open_journeys: int
    without_referent: int
    organisations: int


# -- the person acting on his or her own record ---------------------------------------


def own_record_id(actor: Principal) -> uuid.UUID:
    """The record of the person acting; the portal is only for people with a record."""
    if actor.beneficiary_id is None:
        raise NotFound("Cet espace est réservé aux personnes accompagnées.")
    return actor.beneficiary_id


# -- the follow-up group as shown -----------------------------------------------------------


def _member_views(actor: Principal, rows: list[GroupMembership]) -> list[MemberView]:
    names = tenancy.professional_names(row.account_id for row in rows)
    organisations = tenancy.organisations_by_id(row.organisation_id for row in rows)
    views = []
    for row in rows:
        organisation = organisations.get(row.organisation_id)
        # A sensible structure's staff are not named either, nor its reasons given: a name
        # or a reason would lead back to what the structure's name reveals.
        masked = organisation is None or organisation.is_masked_for(actor)
        views.append(
            MemberView(
                id=row.id,
                account_id=row.account_id,
                name="Professionnel·le" if masked else names.get(row.account_id, "—"),
                organisation_id=row.organisation_id,
                organisation_label=organisation.label_for(actor) if organisation else "Structure",
                role=GroupRole(row.role),
                started_at=row.started_at,
                start_reason="" if masked else row.start_reason,
                is_break_glass=row.is_break_glass,
                ended_at=row.ended_at,
                end_reason=None if masked else row.end_reason,
                journey_closed_on=row.journey.closed_on,
                is_self=row.account_id == actor.account_id,
                is_masked=masked,
            )
        )
    return views


_ROLE_ORDER = {GroupRole.REFERENT: 0, GroupRole.ORIENTATION_OFFICER: 1, GroupRole.MEMBER: 2}


def _group(access: RecordAccess) -> tuple[list[MemberView], list[MemberView]]:
    """Active members of the open journey, then everyone else (ended, or of past journeys)."""
    rows = list(
        db.session().scalars(
            select(GroupMembership)
            .where(GroupMembership.beneficiary_id == access.beneficiary.id)
            .order_by(GroupMembership.started_at, GroupMembership.id)
        )
    )
    views = _member_views(access.actor, rows)
    active = [v for v in views if v.ended_at is None and v.journey_closed_on is None]
    active.sort(key=lambda v: (_ROLE_ORDER[v.role], v.started_at))
    active_ids = {v.id for v in active}
    history = [v for v in views if v.id not in active_ids]
    history.sort(key=lambda v: v.ended_at or v.started_at, reverse=True)
    return active, history


# -- reading a record -----------------------------------------------------------------------


def get_record(*, actor: Principal, beneficiary_id: uuid.UUID) -> RecordPage:
    """The record page: identity, then contact, rights and group as the policy allows.

    One audit row per section shown, each through the policy; a section the viewer may not
    read is neither shown nor audited.
    """
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.IDENTITY, tag=Tag.RECORD_READ
    )
    reads = [(section, tag) for section, tag in RECORD_PAGE_SECTIONS if access.can(section)]
    gate.read_more(access, reads)
    sections = {Section.IDENTITY, *(section for section, _tag in reads)}
    members: list[MemberView] = []
    history: list[MemberView] = []
    if Section.GROUP in sections:
        members, history = _group(access)
    person = access.beneficiary
    return RecordPage(
        access=access,
        person=person,
        journey=person.current_journey,
        members=members,
        history=history,
        has_nir=person.nir_sealed is not None,
        sections=frozenset(sections),
    )


def seal_nir(person: Beneficiary, nir: str) -> None:
    """Store a NIR sealed under the person's data key, with its blind index for searches.

    For the services that create or update people (imports, demo); raises
    `crypto.InvalidNir` with a French message when the NIR is not valid.
    """
    field_crypto = crypto.current()
    normalised = crypto.normalise_nir(nir)
    if person.id is None:
        # The row id is part of what the ciphertext is bound to: it must exist first.
        person.id = uuid.uuid4()
    person.nir_sealed = field_crypto.seal(
        db.session(),
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table=NIR_TABLE,
        column=NIR_COLUMN,
        row_id=person.id,
        plaintext=normalised,
    )
    person.nir_bidx = field_crypto.blind_index(departement_id=person.departement_id, nir=normalised)


def open_sealed(
    beneficiary_id: uuid.UUID,
    *,
    table: str,
    column: str,
    row_id: uuid.UUID,
    sealed: bytes,
    what: str,
) -> str:
    """Decrypt one field of a record the caller has already opened through the gate.

    A destroyed key means the person was erased (not found); any other crypto failure is an
    incident: logged by ids only, and the page fails closed with a French message."""
    try:
        return crypto.current().open(
            db.session(),
            beneficiary_id=beneficiary_id,
            table=table,
            column=column,
            row_id=row_id,
            sealed=sealed,
        )
    except crypto.KeyShredded:
        raise NotFound("Les données de cette personne ont été effacées.") from None
    except crypto.CryptoError as exc:
        log.error(
            "sealed field cannot be opened table=%s row=%s error=%s",
            table,
            row_id,
            type(exc).__name__,
        )
        raise Unavailable(
            f"Impossible de déchiffrer {what} pour le moment. L'incident est signalé ; "
            "réessayez plus tard."
        ) from None


def reveal_nir(*, actor: Principal, beneficiary_id: uuid.UUID) -> str:
    """Open the NIR for someone allowed `nir:read`; a read audited on its own."""
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.NIR, tag=Tag.NIR_READ
    )
    person = access.beneficiary
    if person.nir_sealed is None:
        raise NotFound("Aucun NIR n'est enregistré pour cette personne.")
    nir = open_sealed(
        person.id,
        table=NIR_TABLE,
        column=NIR_COLUMN,
        row_id=person.id,
        sealed=person.nir_sealed,
        what="le NIR",
    )
    return _format_nir(nir)


def _format_nir(nir: str) -> str:
    """« 1 88 04 87 085 123 45 »: sex, year, month, place, commune, order, key."""
    parts = (nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:15])
    return " ".join(parts)


# -- the follow-up group --------------------------------------------------------------------


def get_group_page(*, actor: Principal, beneficiary_id: uuid.UUID) -> GroupPage:
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.GROUP, tag=Tag.GROUP_READ
    )
    members, history = _group(access)
    choices: list[ProfessionalGroup] = []
    referent_choices: list[ProfessionalGroup] = []
    if access.can(Section.GROUP, Level.WRITE):
        # Nobody adds himself or herself (that is « bris de glace », with a reason).
        professionals = [
            p
            for p in tenancy.list_invitable_professionals(actor=actor)
            if p.account_id != actor.account_id
        ]
        # Only members the page names are left out; masked members stay in both lists.
        named = [m for m in members if not m.is_masked]
        in_group = {m.account_id for m in named}
        referent = {m.account_id for m in named if m.role is GroupRole.REFERENT}
        choices = _professional_groups(
            actor, [p for p in professionals if p.account_id not in in_group]
        )
        referent_choices = _professional_groups(
            actor, [p for p in professionals if p.account_id not in referent]
        )
    person = access.beneficiary
    return GroupPage(
        access=access,
        person=person,
        journey=person.current_journey,
        members=members,
        history=history,
        choices=choices,
        referent_choices=referent_choices,
    )


def _professional_groups(
    actor: Principal, professionals: list[tenancy.ProfessionalChoice]
) -> list[ProfessionalGroup]:
    """Group the professionals by the label of their structure the actor may read.

    The sensible structures the actor is not in share one group under the neutral label,
    ordered by name alone (not by structure), with no job title: neither the label, nor
    the order, nor a title tells which structure a professional belongs to.
    """
    groups: dict[str, list[ProfessionalOption]] = {}
    for professional in professionals:
        organisation = professional.organisation
        masked = organisation.is_masked_for(actor)
        groups.setdefault(organisation.label_for(actor), []).append(
            ProfessionalOption(
                membership_id=professional.membership_id,
                display_name=professional.display_name,
                job_title=None if masked else professional.job_title,
                role=professional.role,
            )
        )
    if tenancy.SENSIBLE_LABEL in groups:
        groups[tenancy.SENSIBLE_LABEL].sort(
            key=lambda option: (option.display_name.casefold(), str(option.membership_id))
        )
    return [
        ProfessionalGroup(label, options)
        for label, options in sorted(groups.items(), key=lambda item: item[0].casefold())
    ]


# For the orientation decision's form: the same lists, under the same labels, as here.
professional_groups = _professional_groups


def _current_journey(access: RecordAccess) -> Journey:
    journey = access.beneficiary.current_journey
    if journey is None:
        raise Conflict(NO_JOURNEY_MESSAGE)
    return journey


def _active_memberships(journey: Journey) -> list[GroupMembership]:
    return list(
        db.session().scalars(
            select(GroupMembership).where(
                GroupMembership.journey_id == journey.id, GroupMembership.ended_at.is_(None)
            )
        )
    )


def _timeline(
    access: RecordAccess, journey: Journey | None, kind: Event, details: dict[str, Any]
) -> None:
    add_event(access, kind, journey.id if journey else None, details)


def add_event(
    access: RecordAccess, kind: str, journey_id: uuid.UUID | None, details: Mapping[str, Any]
) -> None:
    """The timeline event of a write, in its transaction, by the actor of `access`: every
    domain writes its events here. `details` holds ids and codes only, never free text."""
    person = access.beneficiary
    db.session().add(
        TimelineEvent(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey_id,
            kind=kind,
            occurred_at=clock.now(),
            actor_account_id=access.actor.account_id,
            actor_organisation_id=access.actor.organisation_id,
            details={key: _plain(value) for key, value in details.items()},
        )
    )


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _notify(
    access: RecordAccess,
    recipients: Iterable[tuple[uuid.UUID | None, str]],
    details: dict[str, Any],
    *,
    person_kind: str | None,
) -> None:
    """Notify each professional once (never the actor), and the person if he or she has an
    account and is not the actor."""
    person = access.beneficiary
    plain = {key: _plain(value) for key, value in details.items()}
    seen: set[uuid.UUID] = set()
    for account_id, kind in recipients:
        if account_id is None or account_id == access.actor.account_id or account_id in seen:
            continue
        seen.add(account_id)
        notifications.notify(
            recipient_account_id=account_id,
            departement_id=person.departement_id,
            kind=kind,
            beneficiary_id=person.id,
            details=plain,
        )
    if (
        person_kind is not None
        and person.account_id is not None
        and person.account_id != access.actor.account_id
    ):
        notifications.notify(
            recipient_account_id=person.account_id,
            departement_id=person.departement_id,
            kind=person_kind,
            beneficiary_id=person.id,
            details=plain,
        )


# The same notices for the other domains' writes on a record (the orientation decision).
notify = _notify


def _referents(memberships: Iterable[GroupMembership]) -> list[uuid.UUID]:
    return [
        m.account_id for m in memberships if m.role is GroupRole.REFERENT and m.ended_at is None
    ]


def _refuse_self(access: RecordAccess, professional: tenancy.ProfessionalChoice) -> None:
    """Nobody invites himself or herself, nor becomes référent by his or her own choice:
    a professional enters a group through an orientation, an invitation by someone else,
    or « bris de glace » with a written reason told to the référent and the person.

    Refused like a policy denial, so the edge logs the attempt and the page offers the
    way in where the policy allows it."""
    if access.actor.account_id is None or professional.account_id != access.actor.account_id:
        return
    decision = dataclasses.replace(
        access.decision, allowed=False, rule="records:no_self_add", reason="self_add"
    )
    raise policy.PolicyDenied(
        SELF_ADD_MESSAGE, decision, access.facts, permission(Section.GROUP, Level.WRITE)
    )


def _is_masked(actor: Principal, membership: GroupMembership) -> bool:
    organisation = tenancy.get_organisation(membership.organisation_id)
    return organisation is None or organisation.is_masked_for(actor)


def invite_member(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    membership_id: uuid.UUID,
    role: GroupRole,
    reason: str,
) -> GroupMembership:
    """Add a professional of an accredited structure of the département to the group."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.GROUP,
        level=Level.WRITE,
        tag=Tag.MEMBER_ADDED,
        object_id=new_id,
    )
    journey = _current_journey(access)
    professional = tenancy.get_invitable_professional(actor=actor, membership_id=membership_id)
    _refuse_self(access, professional)
    if (
        role is GroupRole.ORIENTATION_OFFICER
        and professional.role is not MembershipRole.ORIENTATION_OFFICER
    ):
        message = "Seul un chargé d'orientation peut tenir ce rôle dans le groupe de suivi."
        raise InvalidInput.on("role", message)
    active = _active_memberships(journey)
    if role is GroupRole.REFERENT and _referents(active):
        raise Conflict(
            "Cette personne a déjà un référent unique. Pour le remplacer, utilisez "
            "« Changer de référent »."
        )
    present = next((m for m in active if m.account_id == professional.account_id), None)
    if present is not None:
        if _is_masked(actor, present):
            # Already there for a sensible structure the actor may not know of: answer as
            # an invitation would, rather than confirm who the anonymous member is.
            log.info("invitation of a present member beneficiary=%s", access.beneficiary.id)
            return present
        raise Conflict(f"{professional.display_name} fait déjà partie du groupe de suivi.")
    membership = GroupMembership(
        id=new_id,
        departement_id=access.beneficiary.departement_id,
        journey_id=journey.id,
        beneficiary_id=access.beneficiary.id,
        account_id=professional.account_id,
        organisation_id=professional.organisation.id,
        role=role,
        started_at=clock.now(),
        start_reason=reason[:REASON_MAX],
        added_by_id=actor.account_id,
    )
    db.session().add(membership)
    db.flush_or_conflict(GROUP_CHANGED_MESSAGE)
    details = {
        "membership_id": new_id,
        "role": role,
        "organisation_id": professional.organisation.id,
    }
    _timeline(access, journey, Event.MEMBER_ADDED, details)
    invitee_kind = Event.REFERENT_ASSIGNED if role is GroupRole.REFERENT else Event.MEMBER_INVITED
    recipients = [(account_id, Event.MEMBER_ADDED) for account_id in _referents(active)]
    _notify(
        access,
        [(professional.account_id, invitee_kind), *recipients],
        details,
        person_kind=Event.MEMBER_ADDED,
    )
    return membership


def end_membership(
    *, actor: Principal, beneficiary_id: uuid.UUID, membership_id: uuid.UUID, reason: str
) -> GroupMembership:
    """End a member's place in the group, with a reason; never the last référent."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.GROUP,
        level=Level.WRITE,
        tag=Tag.MEMBER_ENDED,
        object_id=membership_id,
    )
    journey = _current_journey(access)
    active = _active_memberships(journey)
    membership = next((m for m in active if m.id == membership_id), None)
    if membership is None:
        raise Conflict(
            "Ce membre ne fait plus partie du groupe de suivi : la page n'était plus à jour."
        )
    if membership.role is GroupRole.REFERENT and len(_referents(active)) <= 1:
        raise Conflict(LAST_REFERENT_MESSAGE)
    membership.ended_at = clock.now()
    membership.end_reason = reason[:REASON_MAX]
    db.flush_or_conflict(GROUP_CHANGED_MESSAGE)
    details = {
        "membership_id": membership.id,
        "role": membership.role,
        "organisation_id": membership.organisation_id,
    }
    _timeline(access, journey, Event.MEMBER_ENDED, details)
    recipients = [(account_id, Event.MEMBER_ENDED) for account_id in _referents(active)]
    _notify(
        access,
        [(membership.account_id, Event.MEMBER_REMOVED), *recipients],
        details,
        person_kind=Event.MEMBER_ENDED,
    )
    return membership


def _start_referent(
    access: RecordAccess,
    journey: Journey,
    active: list[GroupMembership],
    previous: GroupMembership | None,
    professional: tenancy.ProfessionalChoice,
    reason: str,
    *,
    new_id: uuid.UUID,
    previous_reason: str | None = None,
) -> GroupMembership:
    """End the référent's place (if any) and the newcomer's member place, then start the
    newcomer as référent: the one way a référent is replaced (`change_referent`, and an
    orientation decision through `regroup_after_orientation`). Timeline and notices are
    the caller's."""
    now = clock.now()
    if previous is not None:
        previous.ended_at = now
        previous.end_reason = (previous_reason or reason)[:REASON_MAX]
    # The new référent may already sit in the group as a member: that place ends too.
    for member in active:
        if member is not previous and member.account_id == professional.account_id:
            member.ended_at = now
            member.end_reason = f"Devient référent : {reason}"[:REASON_MAX]
    db.flush_or_conflict(GROUP_CHANGED_MESSAGE)
    membership = GroupMembership(
        id=new_id,
        departement_id=access.beneficiary.departement_id,
        journey_id=journey.id,
        beneficiary_id=access.beneficiary.id,
        account_id=professional.account_id,
        organisation_id=professional.organisation.id,
        role=GroupRole.REFERENT,
        started_at=now,
        start_reason=reason,
        added_by_id=access.actor.account_id,
    )
    db.session().add(membership)
    db.flush_or_conflict(
        "Un autre référent vient d'être désigné pour cette personne : rechargez la page."
    )
    return membership


def change_referent(
    *, actor: Principal, beneficiary_id: uuid.UUID, membership_id: uuid.UUID, reason: str
) -> GroupMembership:
    """End the current référent (if any) and start the new one, in one transaction."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.GROUP,
        level=Level.WRITE,
        tag=Tag.REFERENT_CHANGED,
        object_id=new_id,
    )
    journey = _current_journey(access)
    professional = tenancy.get_invitable_professional(actor=actor, membership_id=membership_id)
    _refuse_self(access, professional)
    active = _active_memberships(journey)
    previous = next((m for m in active if m.role is GroupRole.REFERENT), None)
    if (
        previous is not None
        and previous.account_id == professional.account_id
        and previous.organisation_id == professional.organisation.id
    ):
        if _is_masked(actor, previous):
            # As for an invitation: a masked référent is not named by a refusal.
            log.info("designation of the present referent beneficiary=%s", access.beneficiary.id)
            return previous
        raise Conflict(f"{professional.display_name} est déjà le référent de cette personne.")
    reason = reason[:REASON_MAX]
    membership = _start_referent(
        access, journey, active, previous, professional, reason, new_id=new_id
    )
    details: dict[str, Any] = {
        "membership_id": new_id,
        "role": GroupRole.REFERENT,
        "organisation_id": professional.organisation.id,
    }
    if previous is not None:
        details["previous_membership_id"] = previous.id
    _timeline(access, journey, Event.REFERENT_CHANGED, details)
    recipients: list[tuple[uuid.UUID | None, Event]] = [
        (professional.account_id, Event.REFERENT_ASSIGNED)
    ]
    if previous is not None:
        recipients.append((previous.account_id, Event.REFERENT_CHANGED))
    _notify(
        access,
        recipients,
        details,
        person_kind=Event.REFERENT_CHANGED if previous is not None else Event.REFERENT_ASSIGNED,
    )
    return membership


@dataclass(frozen=True)
class Regrouping:
    """What an orientation decision changed in the follow-up group."""

    referent: GroupMembership | None  # the active référent afterwards
    is_new_referent: bool  # `referent` started with this decision
    previous: GroupMembership | None  # the former référent's place, ended by this decision
    previous_as_member: GroupMembership | None  # the former référent, kept as a member


def regroup_after_orientation(
    access: RecordAccess,
    *,
    membership_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    reason: str,
    previous_stays_member: bool,
    previous_reason: str,
) -> Regrouping:
    """The follow-up group after an orientation decision; the caller
    (`orientation.services.decide_orientation`) opened `access` for writing the orientation
    and checked that the actor may write the group too.

    A référent named becomes référent as with `change_referent`; the former one, unless it
    is the same person, leaves with `previous_reason` or stays as a member. None named: the
    person is oriented to a structure that will designate one; a référent of that same
    structure stays référent, one of another structure leaves or stays as a member.
    Writes the group's timeline events; the notices are the caller's."""
    journey = _current_journey(access)
    professional = None
    if membership_id is not None:
        professional = tenancy.get_invitable_professional(
            actor=access.actor, membership_id=membership_id
        )
        _refuse_self(access, professional)
    active = _active_memberships(journey)
    previous = next((m for m in active if m.role is GroupRole.REFERENT), None)
    if professional is None:
        if previous is None or previous.organisation_id == organisation_id:
            return Regrouping(previous, False, None, None)
    elif (
        previous is not None
        and previous.account_id == professional.account_id
        and previous.organisation_id == professional.organisation.id
    ):
        return Regrouping(previous, False, None, None)
    reason = reason[:REASON_MAX]
    previous_reason = previous_reason[:REASON_MAX]
    referent = None
    if professional is not None:
        referent = _start_referent(
            access,
            journey,
            active,
            previous,
            professional,
            reason,
            new_id=uuid.uuid4(),
            previous_reason=previous_reason,
        )
        details: dict[str, Any] = {
            "membership_id": referent.id,
            "role": GroupRole.REFERENT,
            "organisation_id": professional.organisation.id,
        }
        if previous is not None:
            details["previous_membership_id"] = previous.id
        _timeline(access, journey, Event.REFERENT_CHANGED, details)
    elif previous is not None:
        previous.ended_at = clock.now()
        previous.end_reason = previous_reason
        db.flush_or_conflict(GROUP_CHANGED_MESSAGE)
    if previous is not None and professional is None:
        _timeline(
            access,
            journey,
            Event.MEMBER_ENDED,
            {
                "membership_id": previous.id,
                "role": GroupRole.REFERENT,
                "organisation_id": previous.organisation_id,
            },
        )
    as_member = None
    if (
        previous is not None
        and previous_stays_member
        and (professional is None or professional.account_id != previous.account_id)
    ):
        as_member = GroupMembership(
            id=uuid.uuid4(),
            departement_id=access.beneficiary.departement_id,
            journey_id=journey.id,
            beneficiary_id=access.beneficiary.id,
            account_id=previous.account_id,
            organisation_id=previous.organisation_id,
            role=GroupRole.MEMBER,
            started_at=clock.now(),
            start_reason=f"Ancien référent, reste membre du groupe : {previous_reason}"[
                :REASON_MAX
            ],
            added_by_id=access.actor.account_id,
        )
        db.session().add(as_member)
        db.flush_or_conflict(GROUP_CHANGED_MESSAGE)
        _timeline(
            access,
            journey,
            Event.MEMBER_ADDED,
            {
                "membership_id": as_member.id,
                "role": GroupRole.MEMBER,
                "organisation_id": as_member.organisation_id,
            },
        )
    return Regrouping(referent, referent is not None, previous, as_member)


# -- « bris de glace » ------------------------------------------------------------------------


def get_join_page(*, actor: Principal, beneficiary_id: uuid.UUID) -> JoinPage:
    """The form to join a group with a written reason: only for those the policy allows."""
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.BREAK_GLASS,
        tag=Tag.JOIN_FORM_READ,
        audit_action=AuditAction.READ,
    )
    return JoinPage(
        access=access,
        is_member=bool(access.facts.group_roles),
        has_journey=access.beneficiary.current_journey is not None,
    )


def break_glass(*, actor: Principal, beneficiary_id: uuid.UUID, reason: str) -> GroupMembership:
    """Join the follow-up group outside an orientation or an invitation, with a reason.

    The audit row carries the purpose `break_glass`; the référent and the person are told.
    """
    new_id = uuid.uuid4()
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.BREAK_GLASS,
        tag=Tag.BREAK_GLASS,
        audit_action=AuditAction.CREATE,
        purpose=Purpose.BREAK_GLASS,
        object_id=new_id,
    )
    if actor.account_id is None or actor.organisation_id is None:  # pragma: no cover - policy
        raise Denied("Seul un professionnel peut rejoindre un groupe de suivi.")
    if access.facts.group_roles:
        raise Conflict("Vous faites déjà partie du groupe de suivi de cette personne.")
    journey = _current_journey(access)
    active = _active_memberships(journey)
    if any(m.account_id == actor.account_id for m in active):
        raise Conflict(
            "Vous faites déjà partie de ce groupe de suivi au titre d'une autre structure : "
            "changez de rôle pour y accéder."
        )
    membership = GroupMembership(
        id=new_id,
        departement_id=access.beneficiary.departement_id,
        journey_id=journey.id,
        beneficiary_id=access.beneficiary.id,
        account_id=actor.account_id,
        organisation_id=actor.organisation_id,
        role=GroupRole.MEMBER,
        started_at=clock.now(),
        start_reason=reason[:REASON_MAX],
        is_break_glass=True,
        added_by_id=actor.account_id,
    )
    db.session().add(membership)
    db.flush_or_conflict("Vous venez déjà de rejoindre ce groupe de suivi.")
    details = {
        "membership_id": new_id,
        "role": GroupRole.MEMBER,
        "organisation_id": actor.organisation_id,
    }
    _timeline(access, journey, Event.BREAK_GLASS, details)
    recipients = [(account_id, Event.BREAK_GLASS) for account_id in _referents(active)]
    _notify(access, recipients, details, person_kind=Event.BREAK_GLASS)
    log.info("break glass beneficiary=%s membership=%s", access.beneficiary.id, new_id)
    return membership


# -- finding a person by an exact identifier --------------------------------------------------


def can_search(actor: Principal) -> bool:
    """Whether the policy lets the actor find people by identifier (to start accompanying)."""
    if actor.departement_id is None:
        return False
    facts = RecordFacts(beneficiary_id=NOBODY, departement_id=actor.departement_id)
    return policy.can_action(actor, facts, Action.SEARCH)


def find_people(*, actor: Principal, kind: str, value: str) -> list[SearchHit]:
    """People of the actor's département holding exactly this identifier: `nir` (a valid,
    normalised NIR, found through its blind index) or `identifier` (a CAF or MSA number, a
    France Travail id or a département id, as typed).

    Each hit is an audited `record:search` read; a miss is audited too, so repeated
    guesses are visible in the log.
    """
    if not can_search(actor) or actor.departement_id is None:
        raise Denied("Votre rôle ne permet pas de rechercher une personne.")
    stmt = select(Beneficiary.id)
    if kind == "nir":
        bidx = crypto.current().blind_index(departement_id=actor.departement_id, nir=value)
        stmt = stmt.where(Beneficiary.nir_bidx == bidx)
    elif kind == "identifier":
        # CAF/MSA numbers and France Travail ids are stored compact and upper-case; a
        # département id as issued (« RSA87-000123 »).
        compact = re.sub(r"[\s.\-/]", "", value).upper()
        stmt = stmt.where(
            or_(
                Beneficiary.caf_number == compact,
                Beneficiary.france_travail_id == compact,
                Beneficiary.departement_ref.in_(sorted({value, value.upper()})),
            )
        )
    else:
        raise InvalidInput("Type d'identifiant inconnu.", fields={"kind": ["Type inconnu."]})
    ids = list(db.session().scalars(stmt.order_by(Beneficiary.id).limit(SEARCH_LIMIT)))
    hits = []
    for beneficiary_id in ids:
        access = gate.open_record_for_action(
            actor=actor,
            beneficiary_id=beneficiary_id,
            action=Action.SEARCH,
            tag=Tag.SEARCH_HIT,
            audit_action=AuditAction.READ,
        )
        person = access.beneficiary
        roles = access.facts.group_roles
        hits.append(
            SearchHit(
                person.id,
                person.display_name,
                person.birth_on,
                city=person.city,
                group_roles=roles,
                may_read=access.can(Section.IDENTITY),
                may_join=not roles and access.can_action(Action.BREAK_GLASS),
            )
        )
    if not hits:
        audit.record_access(
            db.session(),
            actor=actor,
            departement_id=actor.departement_id,
            section=Action.SEARCH.value,
            action=AuditAction.READ,
            tag=Tag.SEARCH_MISS,
        )
    return hits


# -- contact details --------------------------------------------------------------------------


def get_contact(*, actor: Principal, beneficiary_id: uuid.UUID) -> RecordAccess:
    return gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.CONTACT, tag=Tag.CONTACT_READ
    )


def update_contact(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    phone: str | None,
    email: str | None,
    preferred_channel: ContactChannel,
) -> list[str]:
    """Update phone, e-mail and preferred channel; returns the names of the changed fields."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.CONTACT,
        level=Level.WRITE,
        tag=Tag.CONTACT_UPDATED,
    )
    person = access.beneficiary
    wanted: dict[str, Any] = {
        "phone": phone,
        "email": email,
        "preferred_channel": preferred_channel,
    }
    changed = [name for name, value in wanted.items() if getattr(person, name) != value]
    for name in changed:
        setattr(person, name, wanted[name])
    if not changed:
        return []
    db.session().flush()
    journey = person.current_journey
    _timeline(access, journey, Event.CONTACT_UPDATED, {"fields": changed})
    referents = _referents(_active_memberships(journey)) if journey else []
    _notify(
        access,
        [(account_id, Event.CONTACT_UPDATED) for account_id in referents],
        {"fields": changed},
        person_kind=Event.CONTACT_UPDATED,
    )
    return changed


# -- « Qui a consulté mon carnet » --------------------------------------------------------------


def list_access_log(*, actor: Principal, beneficiary_id: uuid.UUID, page: int = 1) -> AccessLogPage:
    """Who opened or changed the record: date, organisation, role, action; newest first.

    Shows allowed accesses by others (the person's own visits are left out); organisations,
    never staff names. Reading it is itself audited.
    """
    access = gate.open_record_for_action(
        actor=actor,
        beneficiary_id=beneficiary_id,
        action=Action.VIEW_ACCESS_LOG,
        tag=Tag.ACCESS_LOG_READ,
        audit_action=AuditAction.READ,
    )
    conditions = (
        AccessEvent.beneficiary_id == access.beneficiary.id,
        AccessEvent.outcome == Outcome.ALLOWED,
        AccessEvent.actor_role != PrincipalRole.BENEFICIARY.value,
    )
    total = int(db.session().scalar(select(func.count(AccessEvent.id)).where(*conditions)) or 0)
    pages = max(1, math.ceil(total / ACCESS_LOG_PAGE_SIZE))
    page = max(1, page)
    rows = list(
        db.session().scalars(
            select(AccessEvent)
            .where(*conditions)
            .order_by(AccessEvent.occurred_at.desc(), AccessEvent.seq.desc())
            .offset((page - 1) * ACCESS_LOG_PAGE_SIZE)
            .limit(ACCESS_LOG_PAGE_SIZE)
        )
    )
    organisations = tenancy.organisations_by_id(row.actor_organisation_id for row in rows)
    visits: list[AccessLogVisit] = []
    previous: AccessEvent | None = None
    for row in rows:
        organisation = (
            organisations.get(row.actor_organisation_id) if row.actor_organisation_id else None
        )
        if organisation is not None:
            label = organisation.label_for(actor)
        elif row.actor_role == PrincipalRole.SYSTEM.value:
            label = "Traitement automatique"
        else:
            label = "Administration de la plateforme"
        entry = AccessLogEntry(
            occurred_at=row.occurred_at,
            organisation_label=label,
            actor_role=row.actor_role,
            section=row.section,
            action=AuditAction(row.action),
            tag=row.tag,
            is_break_glass=row.purpose == Purpose.BREAK_GLASS,
        )
        if previous is not None and _same_visit(previous, row):
            visits[-1].entries.append(entry)
        else:
            visits.append(AccessLogVisit([entry]))
        previous = row
    return AccessLogPage(access=access, visits=visits, page=page, pages=pages, total=total)


def _same_visit(newer: AccessEvent, older: AccessEvent) -> bool:
    return (
        newer.actor_account_id == older.actor_account_id
        and newer.actor_organisation_id == older.actor_organisation_id
        and newer.actor_role == older.actor_role
        and newer.occurred_at.replace(second=0, microsecond=0)
        == older.occurred_at.replace(second=0, microsecond=0)
    )


# -- the history: the generated timeline of the record ------------------------------------------

# The French label of every timeline kind written today (records, plan and meetings services,
# the demo loaders). A kind missing here is shown as a neutral « Événement ».
EVENT_LABELS: dict[str, str] = {
    "records:beneficiary:created": "Carnet créé",
    "records:journey:opened": "Parcours ouvert",
    "records:journey:closed": "Parcours clos",
    "records:consent:granted": "Consentement donné",
    Event.CONTACT_UPDATED: "Coordonnées mises à jour",
    Event.MEMBER_ADDED: "Professionnel ajouté au groupe de suivi",
    Event.MEMBER_INVITED: "Professionnel invité dans le groupe de suivi",
    Event.MEMBER_ENDED: "Professionnel retiré du groupe de suivi",
    Event.MEMBER_REMOVED: "Professionnel retiré du groupe de suivi",
    Event.REFERENT_ASSIGNED: "Référent désigné",
    Event.REFERENT_CHANGED: "Changement de référent",
    Event.BREAK_GLASS: "Accès exceptionnel (bris de glace) au groupe de suivi",
    "plan:axis:created": "Axe ajouté au plan d'action",
    "plan:objective:created": "Objectif ajouté au plan d'action",
    "plan:objective:updated": "Objectif modifié",
    "plan:action:created": "Action ajoutée au plan d'action",
    "plan:action:updated": "Action modifiée",
    "meetings:appointment:created": "Rendez-vous planifié",
    "meetings:appointment:updated": "Rendez-vous modifié",
    "meetings:appointment:cancelled": "Rendez-vous annulé",
    "meetings:attendance:recorded": "Présence au rendez-vous enregistrée",
    "meetings:note:added": "Note ajoutée",
    "projects:project:created": "Projet professionnel ajouté",
    "projects:project:updated": "Projet professionnel modifié",
    "documents:document:added": "Document déposé",
    "documents:document:deleted": "Document supprimé",
    "records:consent:withdrawn": "Consentement retiré",
    "records:consent:granted_accompanied": "Consentement donné en rendez-vous (mode accompagné)",
    "records:consent:withdrawn_accompanied": "Consentement retiré en rendez-vous (mode accompagné)",
    "situation:diagnostic:recorded": "Diagnostic mis à jour (nouvelle version)",
    "situation:barrier:added": "Frein périphérique identifié",
    "situation:barrier:updated": "Frein périphérique modifié",
    "situation:barrier:started": "Frein périphérique en cours de traitement",
    "situation:barrier:lifted": "Frein périphérique levé",
    "health:barrier:added": "Frein lié à la santé identifié",
    "health:barrier:updated": "Frein lié à la santé modifié",
    "health:barrier:started": "Frein lié à la santé en cours de traitement",
    "health:barrier:lifted": "Frein lié à la santé levé",
    "health:rqth:updated": "Situation RQTH mise à jour",
    "health:note:added": "Note du volet santé ajoutée",
    "contracts:contract:created": "Contrat en préparation",
    "contracts:version:edited": "Projet de contrat modifié",
    "contracts:version:proposed": "Contrat proposé à la signature de la personne",
    "contracts:version:reopened": "Contrat repris en brouillon avant signature",
    "contracts:version:referent_signed": "Contrat signé par le référent",
    "contracts:version:person_signed": "Contrat signé par la personne dans son espace",
    "contracts:version:person_signed_accompanied": (
        "Signature de la personne enregistrée en rendez-vous (mode accompagné)"
    ),
    "contracts:version:signed": "Contrat signé par les deux parties, en vigueur",
    "contracts:version:signed_elsewhere": "Contrat signé hors du carnet, enregistré",
    "contracts:avenant:drafted": "Avenant au contrat en préparation",
    "contracts:avenant:withdrawn": "Avenant retiré avant signature",
    "contracts:contract:cancelled": "Contrat abandonné avant signature",
    "contracts:contract:ended": "Contrat terminé avant son échéance",
    "contracts:contract:expired": "Contrat arrivé à échéance",
    "orientation:period:decided": "Orientation décidée",
    "orientation:request:created": "Réorientation demandée",
    "orientation:request:accepted": "Demande de réorientation acceptée",
    "orientation:request:kept": "Demande de réorientation : accompagnement maintenu",
    "orientation:request:moot": "Demande de réorientation sans objet : parcours clos",
    "orientation:follow_up:recorded": "Point de suivi de l'emploi enregistré",
}
UNKNOWN_EVENT_LABEL = "Événement"
DOMAIN_LABELS: dict[str, str] = {
    "records": "Carnet",
    "plan": "Plan d'action",
    "meetings": "Rendez-vous",
    "projects": "Projets professionnels",
    "documents": "Documents",
    "situation": "Situation",
    "health": "Volet santé",
    "contracts": "Contrats",
    "orientation": "Orientation",
}
# The health compartment's events are health data: only those who may read it see them.
HEALTH_KIND_PREFIX = "health:"
# A note private to its author is in the timeline of everyone's record, but only its author
# may see that it exists (the meetings service writes `NoteVisibility.PRIVATE.value`).
NOTE_ADDED_KIND = "meetings:note:added"
PRIVATE_NOTE_VISIBILITY = "privee"
HISTORY_TZ = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class HistoryEntry:
    occurred_at: datetime
    kind: str
    label: str
    domain_label: str
    organisation_label: str


@dataclass(frozen=True)
class HistoryPage:
    access: RecordAccess
    person: Beneficiary
    is_own: bool  # the person reading his or her own history
    entries: list[HistoryEntry]
    page: int
    pages: int
    total: int


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, UNKNOWN_EVENT_LABEL)


def _day_start(day: date) -> datetime:
    """Midnight of a French calendar day, as the instant the database compares with."""
    return datetime.combine(day, time.min, tzinfo=HISTORY_TZ)


def _history_conditions(
    access: RecordAccess, since: date | None, until: date | None, domain: str | None
) -> list[ColumnElement[bool]]:
    actor = access.actor
    visibility = func.coalesce(TimelineEvent.details["visibility"].as_string(), "")
    conditions: list[ColumnElement[bool]] = [
        TimelineEvent.beneficiary_id == access.beneficiary.id,
        # Another member's private note: neither shown nor counted.
        or_(
            TimelineEvent.kind != NOTE_ADDED_KIND,
            visibility != PRIVATE_NOTE_VISIBILITY,
            TimelineEvent.actor_account_id == actor.account_id
            if actor.account_id is not None
            else false(),
        ),
    ]
    if not access.can(Section.HEALTH):
        conditions.append(~TimelineEvent.kind.startswith(HEALTH_KIND_PREFIX, autoescape=True))
    if since is not None:
        conditions.append(TimelineEvent.occurred_at >= _day_start(since))
    if until is not None:
        conditions.append(TimelineEvent.occurred_at < _day_start(until + timedelta(days=1)))
    if domain is not None:
        conditions.append(TimelineEvent.kind.startswith(f"{domain}:", autoescape=True))
    return conditions


def _open_history(actor: Principal, beneficiary_id: uuid.UUID) -> RecordAccess:
    return gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HISTORY,
        level=Level.READ,
        tag=Tag.HISTORY_READ,
    )


def get_history_form(*, actor: Principal, beneficiary_id: uuid.UUID) -> HistoryPage:
    """The history page without any event, after the same checks and audit row as the
    list: a filter typed wrong is answered with the form alone."""
    access = _open_history(actor, beneficiary_id)
    person = access.beneficiary
    return HistoryPage(
        access=access,
        person=person,
        is_own=actor.beneficiary_id == person.id,
        entries=[],
        page=1,
        pages=1,
        total=0,
    )


def list_history(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    since: date | None = None,
    until: date | None = None,
    domain: str | None = None,
    page: int = 1,
) -> HistoryPage:
    """The record's timeline, newest first, 50 events a page; filtered by French calendar
    days (both included) and by domain (the kind's prefix). Organisations, never staff
    names; a sensible structure under its neutral label. Reading it is audited."""
    access = _open_history(actor, beneficiary_id)
    conditions = _history_conditions(access, since, until, domain)
    session = db.session()
    total = int(session.scalar(select(func.count(TimelineEvent.id)).where(*conditions)) or 0)
    pages = max(1, math.ceil(total / HISTORY_PAGE_SIZE))
    page = max(1, page)
    rows = list(
        session.scalars(
            select(TimelineEvent)
            .where(*conditions)
            .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
            .offset((page - 1) * HISTORY_PAGE_SIZE)
            .limit(HISTORY_PAGE_SIZE)
        )
    )
    organisations = tenancy.organisations_by_id(row.actor_organisation_id for row in rows)
    entries = []
    for row in rows:
        organisation = (
            organisations.get(row.actor_organisation_id) if row.actor_organisation_id else None
        )
        entries.append(
            HistoryEntry(
                occurred_at=row.occurred_at,
                kind=row.kind,
                label=event_label(row.kind),
                domain_label=DOMAIN_LABELS.get(row.kind.split(":", 1)[0], UNKNOWN_EVENT_LABEL),
                organisation_label=(
                    organisation.label_for(actor) if organisation else "Structure non renseignée"
                ),
            )
        )
    person = access.beneficiary
    return HistoryPage(
        access=access,
        person=person,
        is_own=actor.beneficiary_id == person.id,
        entries=entries,
        page=page,
        pages=pages,
        total=total,
    )


# -- homes: lists of people -----------------------------------------------------------------------


def listing_audit(
    actor: Principal, tag: str, section: str = permission(Section.IDENTITY, Level.READ)
) -> None:
    """One row per listed page view: the list shows only the names of people the actor may
    read (checked one by one), and logging each person on every home view would bury
    their « Qui a consulté mon carnet » under visits that opened nothing. Used by every
    listing of several people (the orientation queue, the portfolio, the name search)."""
    if actor.departement_id is None:  # pragma: no cover - callers return early
        return
    audit.record_access(
        db.session(),
        actor=actor,
        departement_id=actor.departement_id,
        section=section,
        action=AuditAction.READ,
        tag=tag,
    )


def count_by_departement() -> list[DepartementCounts]:
    """Counts per département for the platform's operators: no person, no name."""
    open_journey = Journey.closed_on.is_(None)
    has_referent = exists().where(
        GroupMembership.journey_id == Journey.id,
        GroupMembership.role == GroupRole.REFERENT,
        GroupMembership.ended_at.is_(None),
    )
    session = db.session()
    # Aggregates across départements, by design: the one reviewed unscoped read here.
    with scoping.unscoped():
        people = dict(
            session.execute(
                select(Beneficiary.departement_id, func.count(Beneficiary.id)).group_by(
                    Beneficiary.departement_id
                )
            ).all()
        )
        journeys = dict(
            session.execute(
                select(Journey.departement_id, func.count(Journey.id))
                .where(open_journey)
                .group_by(Journey.departement_id)
            ).all()
        )
        orphans = dict(
            session.execute(
                select(Journey.departement_id, func.count(Journey.id))
                .where(open_journey, ~has_referent)
                .group_by(Journey.departement_id)
            ).all()
        )
    organisations = tenancy.count_organisations_by_departement()
    return [
        DepartementCounts(
            departement=departement,
            people=int(people.get(departement.id, 0)),
            open_journeys=int(journeys.get(departement.id, 0)),
            without_referent=int(orphans.get(departement.id, 0)),
            organisations=organisations.get(departement.id, 0),
        )
        for departement in tenancy.list_departements()
    ]
