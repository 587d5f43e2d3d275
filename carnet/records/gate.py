"""The only way to reach a beneficiary's record: scope, gather the facts, authorize, audit.

Services call `open_record` (or `open_record_for_action`) before they read or write
anything of a person; the returned `RecordAccess` carries the beneficiary, the facts the
policy used and its decision, so templates can ask `access.can(section)` without ever
testing a role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import db
from carnet.records.models import Beneficiary, Consent, ConsentScope, GroupMembership, Journey
from carnet.security import audit, policy
from carnet.security.permissions import (
    Action,
    AuditAction,
    GroupRole,
    Level,
    Purpose,
    Section,
    permission,
)
from carnet.security.policy import Decision, RecordFacts
from carnet.security.principal import Principal

UNKNOWN_DEPARTEMENT = uuid.UUID(int=0)


@dataclass(frozen=True)
class RecordAccess:
    actor: Principal
    beneficiary: Beneficiary
    facts: RecordFacts
    decision: Decision

    def can(self, section: Section | str, level: Level | str = Level.READ) -> bool:
        needed = level if isinstance(level, Level) else Level[level.upper()]
        return policy.can(self.actor, self.facts, Section(section), needed)

    def can_action(self, action: Action) -> bool:
        return policy.can_action(self.actor, self.facts, action)


def record_facts(db_session: Session, actor: Principal, beneficiary: Beneficiary) -> RecordFacts:
    group_roles: frozenset[GroupRole] = frozenset()
    if actor.account_id is not None and actor.organisation_id is not None:
        group_roles = frozenset(
            db_session.scalars(
                select(GroupMembership.role)
                .join(Journey, Journey.id == GroupMembership.journey_id)
                .where(
                    GroupMembership.beneficiary_id == beneficiary.id,
                    GroupMembership.account_id == actor.account_id,
                    GroupMembership.organisation_id == actor.organisation_id,
                    GroupMembership.ended_at.is_(None),
                    Journey.closed_on.is_(None),
                )
            )
        )
    consents = frozenset(
        db_session.scalars(
            select(Consent.organisation_id).where(
                Consent.beneficiary_id == beneficiary.id,
                Consent.scope == ConsentScope.HEALTH,
                Consent.withdrawn_at.is_(None),
            )
        )
    )
    return RecordFacts(
        beneficiary_id=beneficiary.id,
        departement_id=beneficiary.departement_id,
        group_roles=group_roles,
        health_consent_organisation_ids=consents,
    )


def _load(
    db_session: Session, actor: Principal, beneficiary_id: uuid.UUID, what: str
) -> tuple[Beneficiary, RecordFacts]:
    # The scoping hook limits this SELECT to the actor's département: another
    # département's person is simply not found. An actor outside any département
    # (platform admin) has no record in scope at all.
    beneficiary = None
    if actor.departement_id is not None:
        beneficiary = db_session.scalar(select(Beneficiary).where(Beneficiary.id == beneficiary_id))
    if beneficiary is None:
        facts = RecordFacts(beneficiary_id=beneficiary_id, departement_id=UNKNOWN_DEPARTEMENT)
        decision = policy.decide(actor, facts, Section.IDENTITY, Level.READ)
        raise policy.PolicyNotFound(decision, facts, what)
    return beneficiary, record_facts(db_session, actor, beneficiary)


def open_record(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    section: Section,
    level: Level = Level.READ,
    tag: str,
    object_id: uuid.UUID | None = None,
    purpose: Purpose = Purpose.NORMAL,
) -> RecordAccess:
    """Authorize `section:level` on the record and write the audit row, in the caller's
    transaction. Raises PolicyNotFound / PolicyDenied (audited by the edge) otherwise."""
    db_session = db.session()
    beneficiary, facts = _load(db_session, actor, beneficiary_id, permission(section, level))
    decision = policy.authorize(actor, facts, section, level)
    audit.record_access(
        db_session,
        actor=actor,
        departement_id=beneficiary.departement_id,
        beneficiary_id=beneficiary.id,
        object_id=object_id,
        section=permission(section, level),
        action=AuditAction.READ if level is Level.READ else AuditAction.UPDATE,
        tag=tag,
        purpose=purpose,
    )
    return RecordAccess(actor, beneficiary, facts, decision)


def read_more(
    access: RecordAccess,
    reads: Iterable[tuple[Section, str]],
    *,
    purpose: Purpose = Purpose.NORMAL,
) -> None:
    """Authorize reading more sections of a record already opened with `open_record` and
    write one audit row per section, in one append, without loading the beneficiary again.

    For pages that show several sections: each section shown is one audited read. Raises
    PolicyDenied / PolicyNotFound like `open_record` (and writes nothing then); callers
    ask `access.can(section)` first and leave out what the viewer may not read."""
    wanted = list(reads)
    for section, _tag in wanted:
        policy.authorize(access.actor, access.facts, section, Level.READ)
    audit.record_reads(
        db.session(),
        actor=access.actor,
        departement_id=access.beneficiary.departement_id,
        beneficiary_id=access.beneficiary.id,
        reads=[audit.Read(permission(section, Level.READ), tag) for section, tag in wanted],
        purpose=purpose,
    )


def open_record_for_action(
    *,
    actor: Principal,
    beneficiary_id: uuid.UUID,
    action: Action,
    tag: str,
    audit_action: AuditAction,
    purpose: Purpose = Purpose.NORMAL,
    object_id: uuid.UUID | None = None,
) -> RecordAccess:
    db_session = db.session()
    beneficiary, facts = _load(db_session, actor, beneficiary_id, action.value)
    decision = policy.authorize_action(actor, facts, action)
    audit.record_access(
        db_session,
        actor=actor,
        departement_id=beneficiary.departement_id,
        beneficiary_id=beneficiary.id,
        object_id=object_id,
        section=action.value,
        action=audit_action,
        tag=tag,
        purpose=purpose,
    )
    return RecordAccess(actor, beneficiary, facts, decision)


__all__ = ["RecordAccess", "open_record", "open_record_for_action", "read_more", "record_facts"]
