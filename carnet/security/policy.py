"""The one place that decides whether a principal may read or write a section of a record.

`decide()` answers with a reasoned Decision; `authorize()` raises; `can()` is for
rendering. The facts about the record (its département, the principal's active roles in
its follow-up group, the consents) are gathered by the record gate in one query and
passed as a `RecordFacts`; this module reads nothing and caches nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from carnet.errors import Denied, NotFound
from carnet.security import matrix
from carnet.security.permissions import (
    Action,
    GroupRole,
    Level,
    MembershipRole,
    Outcome,
    PrincipalRole,
    Relation,
    Section,
    permission,
)
from carnet.security.principal import Principal


@dataclass(frozen=True)
class RecordFacts:
    """What the policy needs to know about one record, relative to one principal."""

    beneficiary_id: uuid.UUID
    departement_id: uuid.UUID
    # The principal's roles in the record's active follow-up group (empty if not a member).
    group_roles: frozenset[GroupRole] = frozenset()
    # Organisations the person named in a health consent that is still in force.
    health_consent_organisation_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    relation: Relation
    level: Level
    rule: str  # the matrix row or condition that applied, for the audit and the tests
    reason: str  # a stable code: "matrix", "not_in_scope", "consent_missing", …

    @property
    def outcome(self) -> Outcome:
        return Outcome.ALLOWED if self.allowed else Outcome.DENIED


def relation_of(principal: Principal, facts: RecordFacts) -> Relation:
    # The person on his or her own record.
    if principal.is_beneficiary and principal.beneficiary_id == facts.beneficiary_id:
        return Relation.OWN_RECORD
    # Tenancy first: another département's record is out of scope whatever the role.
    if principal.departement_id != facts.departement_id:
        return Relation.OTHER_DEPARTEMENT
    # A professional with an active place in the follow-up group (a role held through a
    # membership: a beneficiary or platform principal is never a group member).
    if (
        facts.group_roles
        and principal.is_professional
        and principal.role not in _NON_MEMBERSHIP_ROLES
    ):
        return Relation.GROUP_MEMBER
    return Relation.SAME_DEPARTEMENT


def granted_level(principal: Principal, facts: RecordFacts, section: Section) -> tuple[Level, str]:
    """The highest level the principal holds on `section` of this record, and why."""
    relation = relation_of(principal, facts)
    if relation is Relation.OWN_RECORD:
        return matrix.OWN_RECORD[section], "own_record"
    if relation is Relation.OTHER_DEPARTEMENT:
        return Level.NONE, "other_departement"
    kind = principal.organisation_kind
    if kind is None or principal.role in _NON_MEMBERSHIP_ROLES:
        # Platform admins, system actors and beneficiaries on another record: no data,
        # even if such a principal somehow carried an organisation.
        return Level.NONE, f"no_organisation:{principal.role}"
    if relation is Relation.SAME_DEPARTEMENT:
        row = matrix.SAME_DEPARTEMENT.get(MembershipRole(principal.role))
        if row is None:
            return Level.NONE, f"not_in_group:{principal.role}"
        # The out-of-group remit follows the département's tightening of that role's row.
        level = _tightened(principal, str(principal.role), section, row[section])
        return level, f"same_departement:{principal.role}"
    best, rule = Level.NONE, "group:none"
    for group_role in sorted(facts.group_roles):
        level = matrix.group_level(kind, group_role, section)
        # A consent-gated cell opens for reading when the person named this organisation.
        if (
            section in matrix.CONSENT_GATED.get((kind, group_role), frozenset())
            and principal.organisation_id in facts.health_consent_organisation_ids
        ):
            level = Level.READ
        level = _tightened(principal, group_role, section, level)
        if level > best:
            best, rule = level, f"group:{kind}:{group_role}"
    return best, rule


_NON_MEMBERSHIP_ROLES = frozenset(
    {PrincipalRole.BENEFICIARY, PrincipalRole.PLATFORM_ADMIN, PrincipalRole.SYSTEM}
)


def _tightened(principal: Principal, group_role: str, section: Section, level: Level) -> Level:
    if principal.organisation_kind is None:
        return level
    override = principal.overrides.get((principal.organisation_kind, group_role, section))
    # Overrides are validated to only lower a level; `min` keeps it so even if one slipped in.
    return level if override is None else min(level, override)


def decide(principal: Principal, facts: RecordFacts, section: Section, needed: Level) -> Decision:
    relation = relation_of(principal, facts)
    level, rule = granted_level(principal, facts, section)
    allowed = level >= needed > Level.NONE
    if allowed:
        reason = "matrix"
    elif relation is Relation.OTHER_DEPARTEMENT:
        reason = "not_in_scope"
    elif section is Section.HEALTH and relation is Relation.GROUP_MEMBER:
        reason = "consent_missing"
    elif relation is Relation.SAME_DEPARTEMENT:
        reason = "not_in_group"
    else:
        reason = "matrix"
    return Decision(allowed=allowed, relation=relation, level=level, rule=rule, reason=reason)


class PolicyDenied(Denied):
    """A refusal that carries the decision, so the edge can audit it after rolling back."""

    def __init__(self, message: str, decision: Decision, facts: RecordFacts, section: str) -> None:
        super().__init__(message, code=decision.reason)
        self.decision = decision
        self.facts = facts
        self.section = section


class PolicyNotFound(NotFound):
    """Outside the principal's scope the answer is always "not found", and it is audited."""

    def __init__(self, decision: Decision, facts: RecordFacts, section: str) -> None:
        super().__init__("Ce carnet n'existe pas ou ne vous est pas accessible.")
        self.decision = decision
        self.facts = facts
        self.section = section


def authorize(
    principal: Principal, facts: RecordFacts, section: Section, needed: Level
) -> Decision:
    decision = decide(principal, facts, section, needed)
    if decision.allowed:
        return decision
    if _out_of_scope(principal, decision):
        raise PolicyNotFound(decision, facts, permission(section, needed))
    raise PolicyDenied(_denial_message(decision), decision, facts, permission(section, needed))


def _out_of_scope(principal: Principal, decision: Decision) -> bool:
    # Another département's record, or for a person any record but his or her own: to them
    # it does not exist, so the answer cannot confirm that it does.
    if decision.relation is Relation.OTHER_DEPARTEMENT:
        return True
    return principal.is_beneficiary and decision.relation is not Relation.OWN_RECORD


def _denial_message(decision: Decision) -> str:
    if decision.reason == "not_in_group":
        return (
            "Vous ne faites pas partie du groupe de suivi de cette personne. "
            "Pour l'accompagner, rejoignez le groupe en indiquant le motif."
        )
    if decision.reason == "consent_missing":
        return "Le volet santé n'est ouvert qu'avec l'accord de la personne."
    return "Votre rôle ne permet pas d'accéder à cette partie du carnet."


def can(principal: Principal, facts: RecordFacts, section: Section, needed: Level) -> bool:
    return decide(principal, facts, section, needed).allowed


# -- actions that are not a section read or write -------------------------------------


def decide_action(principal: Principal, facts: RecordFacts, action: Action) -> Decision:
    relation = relation_of(principal, facts)
    if action is Action.VIEW_ACCESS_LOG:
        # The person sees who opened the record; so does a referent on the history section.
        allowed = relation is Relation.OWN_RECORD
        return Decision(
            allowed, relation, Level.READ if allowed else Level.NONE, "own_record", "matrix"
        )
    if action in (Action.SEARCH, Action.BREAK_GLASS):
        # Any professional of an accredited structure in the same département may find a
        # person by exact identifier and join the group with a written reason.
        allowed = (
            relation in (Relation.SAME_DEPARTEMENT, Relation.GROUP_MEMBER)
            and principal.is_professional
            and principal.role in _ACCOMPANYING_ROLES
        )
        reason = (
            "matrix"
            if allowed
            else ("not_in_scope" if relation is Relation.OTHER_DEPARTEMENT else "role")
        )
        return Decision(
            allowed, relation, Level.READ if allowed else Level.NONE, f"action:{action}", reason
        )
    if action is Action.SIGN_OWN_CONTRACT:
        # Only the person signs in his or her own space; in « mode accompagné » the référent
        # records the signature through the contracts section instead.
        allowed = relation is Relation.OWN_RECORD
        return _action_decision(allowed, relation, action, "own_record")
    if action in (Action.REQUEST_REORIENTATION, Action.CLOSE_JOURNEY):
        return _referent_action(principal, facts, relation, action)
    raise ValueError(f"unknown action {action!r}")  # pragma: no cover - enum is closed


def _referent_action(
    principal: Principal, facts: RecordFacts, relation: Relation, action: Action
) -> Decision:
    """The référent asks for a reorientation (DOMAIN.md §3.10) and records an exit (§3.11);
    whoever may write the orientation (the chargé d'orientation) may record an exit too."""
    is_referent = (
        relation is Relation.GROUP_MEMBER
        and GroupRole.REFERENT in facts.group_roles
        and granted_level(principal, facts, Section.ORIENTATION)[0] >= Level.READ
    )
    if is_referent:
        return _action_decision(True, relation, action, "group:referent")
    if action is Action.CLOSE_JOURNEY and can(principal, facts, Section.ORIENTATION, Level.WRITE):
        return _action_decision(True, relation, action, "orientation:write")
    return _action_decision(False, relation, action, "referent_only")


def _action_decision(allowed: bool, relation: Relation, action: Action, rule: str) -> Decision:
    if allowed:
        reason = "matrix"
    elif relation is Relation.OTHER_DEPARTEMENT:
        reason = "not_in_scope"
    else:
        reason = "role"
    level = Level.WRITE if allowed else Level.NONE
    return Decision(allowed, relation, level, f"action:{action}:{rule}", reason)


_ACCOMPANYING_ROLES = frozenset({PrincipalRole.PROFESSIONAL, PrincipalRole.ORIENTATION_OFFICER})


def authorize_action(principal: Principal, facts: RecordFacts, action: Action) -> Decision:
    decision = decide_action(principal, facts, action)
    if decision.allowed:
        return decision
    if _out_of_scope(principal, decision):
        raise PolicyNotFound(decision, facts, action.value)
    raise PolicyDenied(
        "Votre rôle ne permet pas cette action sur ce carnet.", decision, facts, action.value
    )


def can_action(principal: Principal, facts: RecordFacts, action: Action) -> bool:
    return decide_action(principal, facts, action).allowed


# -- département configuration (not personal data) ----------------------------------------


def can_configure_departement(principal: Principal) -> bool:
    """Whether the principal may edit the configuration of his or her département (the
    referential of themes, situations, objectives and actions)."""
    # Only a département admin, acting in a département.
    return (
        principal.role is PrincipalRole.DEPARTEMENT_ADMIN and principal.departement_id is not None
    )
