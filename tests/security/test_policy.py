"""The policy, cell by cell, against an expected table typed here independently of
`carnet/security/matrix.py` (transposed: one line per section, one column per
organisation kind), plus the rules of DOMAIN.md §5 stated one by one."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carnet.security import matrix, policy
from carnet.security.permissions import (
    Action,
    GroupRole,
    Level,
    OrganisationKind,
    PrincipalRole,
    Relation,
    Section,
)
from carnet.security.policy import PolicyDenied, PolicyNotFound, RecordFacts
from carnet.security.principal import OverrideKey, Principal

K = OrganisationKind
DEP_A = uuid.UUID(int=0xA)
DEP_B = uuid.UUID(int=0xB)
MY_ORG = uuid.UUID(int=0x0A6)
OTHER_ORG = uuid.UUID(int=0x0A7)
OWN_PERSON = uuid.UUID(int=0x1)
OTHER_PERSON = uuid.UUID(int=0x2)

# -- the expected table ---------------------------------------------------------------------
# W write, R read, - nothing, c read only when the person named this organisation in a
# health consent. Columns in this order:
KIND_COLUMNS = (
    K.DEPARTEMENT,
    K.FRANCE_TRAVAIL,
    K.MISSION_LOCALE,
    K.CAP_EMPLOI,
    K.CCAS,
    K.PLIE,
    K.ASSOCIATION,
    K.SIAE,
    K.ORGANISME_FORMATION,
    K.SANTE,
)

# The référent unique sits in a structure people are oriented to; SIAE, training bodies
# and health partners never hold it, so a "referent" there gets nothing.
# NIR: Département and France Travail only. Rights (allowances): the Département writes.
EXPECTED_REFERENT = {
    #                        dep ft  ml  cap ccas plie asso siae of  sante
    Section.IDENTITY:      " W   W   W   W   W    W    W    -    -   -",
    Section.NIR:           " R   R   -   -   -    -    -    -    -   -",
    Section.CONTACT:       " W   W   W   W   W    W    W    -    -   -",
    Section.RIGHTS:        " W   R   R   R   R    R    R    -    -   -",
    Section.SITUATION:     " W   W   W   W   W    W    W    -    -   -",
    Section.HEALTH:        " c   c   c   c   c    c    c    -    -   -",
    Section.PROJECTS:      " W   W   W   W   W    W    W    -    -   -",
    Section.ORIENTATION:   " R   R   R   R   R    R    R    -    -   -",
    Section.CONTRACTS:     " W   W   W   W   W    W    W    -    -   -",
    Section.PLAN:          " W   W   W   W   W    W    W    -    -   -",
    Section.PRESCRIPTIONS: " W   W   W   W   W    W    W    -    -   -",
    Section.APPOINTMENTS:  " W   W   W   W   W    W    W    -    -   -",
    Section.NOTES:         " W   W   W   W   W    W    W    -    -   -",
    Section.DOCUMENTS:     " W   W   W   W   W    W    W    -    -   -",
    Section.TEAM_REVIEWS:  " W   W   W   W   W    W    W    -    -   -",
    Section.HISTORY:       " R   R   R   R   R    R    R    -    -   -",
    Section.GROUP:         " W   W   W   W   W    W    W    -    -   -",
}  # fmt: skip

# Members read within their remit and write the shared work (plan, prescriptions,
# appointments, notes). Health: health partners write it, others need the consent.
# Rights: only allowance-paying or social bodies (Département, France Travail, CCAS).
EXPECTED_MEMBER = {
    #                        dep ft  ml  cap ccas plie asso siae of  sante
    Section.IDENTITY:      " R   R   R   R   R    R    R    R    R   R",
    Section.NIR:           " R   R   -   -   -    -    -    -    -   -",
    Section.CONTACT:       " R   R   R   R   R    R    R    R    R   R",
    Section.RIGHTS:        " R   R   -   -   R    -    -    -    -   -",
    Section.SITUATION:     " R   R   R   R   R    R    R    R    -   R",
    Section.HEALTH:        " c   c   c   c   c    c    c    c    c   W",
    Section.PROJECTS:      " R   R   R   R   R    R    R    R    R   -",
    Section.ORIENTATION:   " R   R   R   R   R    R    -    -    -   -",
    Section.CONTRACTS:     " R   R   R   R   R    R    R    R    -   -",
    Section.PLAN:          " W   W   W   W   W    W    W    W    R   R",
    Section.PRESCRIPTIONS: " W   W   W   W   W    W    W    W    W   R",
    Section.APPOINTMENTS:  " W   W   W   W   W    W    W    W    W   W",
    Section.NOTES:         " W   W   W   W   W    W    W    W    W   W",
    Section.DOCUMENTS:     " R   R   R   R   R    R    R    R    R   R",
    Section.TEAM_REVIEWS:  " -   -   -   -   -    -    -    -    -   -",
    Section.HISTORY:       " R   R   R   R   R    R    R    R    R   R",
    Section.GROUP:         " R   R   R   R   R    R    R    R    R   R",
}  # fmt: skip

# Orientation officers in a group: only the Département's and France Travail's; they
# decide the orientation and the group, read the rest, never health or notes.
EXPECTED_ORIENTATION_OFFICER = {
    #                        dep ft  ml  cap ccas plie asso siae of  sante
    Section.IDENTITY:      " R   R   -   -   -    -    -    -    -   -",
    Section.NIR:           " R   R   -   -   -    -    -    -    -   -",
    Section.CONTACT:       " R   R   -   -   -    -    -    -    -   -",
    Section.RIGHTS:        " R   R   -   -   -    -    -    -    -   -",
    Section.SITUATION:     " R   R   -   -   -    -    -    -    -   -",
    Section.HEALTH:        " -   -   -   -   -    -    -    -    -   -",
    Section.PROJECTS:      " R   R   -   -   -    -    -    -    -   -",
    Section.ORIENTATION:   " W   W   -   -   -    -    -    -    -   -",
    Section.CONTRACTS:     " R   R   -   -   -    -    -    -    -   -",
    Section.PLAN:          " R   R   -   -   -    -    -    -    -   -",
    Section.PRESCRIPTIONS: " R   R   -   -   -    -    -    -    -   -",
    Section.APPOINTMENTS:  " R   R   -   -   -    -    -    -    -   -",
    Section.NOTES:         " -   -   -   -   -    -    -    -    -   -",
    Section.DOCUMENTS:     " -   -   -   -   -    -    -    -    -   -",
    Section.TEAM_REVIEWS:  " R   R   -   -   -    -    -    -    -   -",
    Section.HISTORY:       " R   R   -   -   -    -    -    -    -   -",
    Section.GROUP:         " W   W   -   -   -    -    -    -    -   -",
}  # fmt: skip

# A chargé d'orientation outside the group (any structure) orients people nobody
# follows yet: identity without NIR, situation, orientation; no follow-up content.
EXPECTED_OFFICER_OUTSIDE_GROUP = {
    Section.IDENTITY: "R", Section.NIR: "-", Section.CONTACT: "R", Section.RIGHTS: "R",
    Section.SITUATION: "R", Section.HEALTH: "-", Section.PROJECTS: "R",
    Section.ORIENTATION: "W", Section.CONTRACTS: "R", Section.PLAN: "-",
    Section.PRESCRIPTIONS: "-", Section.APPOINTMENTS: "-", Section.NOTES: "-",
    Section.DOCUMENTS: "-", Section.TEAM_REVIEWS: "-", Section.HISTORY: "R",
    Section.GROUP: "W",
}  # fmt: skip

# The person reads everything about him or herself and writes what is his or hers to
# tell: contact details, self-diagnostic, projects, plan, self-prescription, notes,
# documents. Contracts are signed, not edited; orientation and reviews are decided.
EXPECTED_OWN_RECORD = {
    Section.IDENTITY: "R", Section.NIR: "R", Section.CONTACT: "W", Section.RIGHTS: "R",
    Section.SITUATION: "W", Section.HEALTH: "R", Section.PROJECTS: "W",
    Section.ORIENTATION: "R", Section.CONTRACTS: "R", Section.PLAN: "W",
    Section.PRESCRIPTIONS: "W", Section.APPOINTMENTS: "R", Section.NOTES: "W",
    Section.DOCUMENTS: "W", Section.TEAM_REVIEWS: "R", Section.HISTORY: "R",
    Section.GROUP: "R",
}  # fmt: skip

GROUP_TABLES = {
    GroupRole.REFERENT: EXPECTED_REFERENT,
    GroupRole.MEMBER: EXPECTED_MEMBER,
    GroupRole.ORIENTATION_OFFICER: EXPECTED_ORIENTATION_OFFICER,
}
LETTER = {"W": Level.WRITE, "R": Level.READ, "-": Level.NONE}

ORGANISATION_ROLES = (
    PrincipalRole.DEPARTEMENT_ADMIN,
    PrincipalRole.ORIENTATION_OFFICER,
    PrincipalRole.PROFESSIONAL,
    PrincipalRole.STRUCTURE_ADMIN,
    PrincipalRole.TEAM_MEMBER,
)
NO_ORGANISATION_ROLES = (
    PrincipalRole.BENEFICIARY,
    PrincipalRole.PLATFORM_ADMIN,
    PrincipalRole.SYSTEM,
)
CONSENTS = ("none", "mine", "other")


def test_every_role_is_covered() -> None:
    assert set(ORGANISATION_ROLES) | set(NO_ORGANISATION_ROLES) == set(PrincipalRole)
    for table in (*GROUP_TABLES.values(), EXPECTED_OWN_RECORD, EXPECTED_OFFICER_OUTSIDE_GROUP):
        assert set(table) == set(Section)


def _group_cell(group_role: GroupRole, kind: OrganisationKind, section: Section) -> str:
    return GROUP_TABLES[group_role][section].split()[KIND_COLUMNS.index(kind)]


def expected_levels(
    role: PrincipalRole,
    kind: OrganisationKind | None,
    group_role: GroupRole | None,
    relation: Relation,
    consent: str,
) -> dict[Section, Level]:
    """What DOMAIN.md §5 grants, read from the tables above."""
    nothing = dict.fromkeys(Section, Level.NONE)
    if relation is Relation.OTHER_DEPARTEMENT:
        return nothing
    if role is PrincipalRole.BENEFICIARY:
        if relation is Relation.OWN_RECORD:
            return {s: LETTER[c] for s, c in EXPECTED_OWN_RECORD.items()}
        return nothing
    if role in NO_ORGANISATION_ROLES or kind is None:
        return nothing
    if group_role is None:
        if role is PrincipalRole.ORIENTATION_OFFICER:
            return {s: LETTER[c] for s, c in EXPECTED_OFFICER_OUTSIDE_GROUP.items()}
        return nothing
    levels = {}
    for section in Section:
        cell = _group_cell(group_role, kind, section)
        if cell == "c":
            levels[section] = Level.READ if consent == "mine" else Level.NONE
        else:
            levels[section] = LETTER[cell]
    return levels


def make_principal(
    role: PrincipalRole,
    kind: OrganisationKind | None,
    relation: Relation,
    overrides: dict[OverrideKey, Level] | None = None,
) -> Principal:
    if role is PrincipalRole.PLATFORM_ADMIN:
        return Principal(role=role, auth_method="test", account_id=uuid.uuid4())
    if role is PrincipalRole.SYSTEM:
        return Principal(role=role, auth_method="system", departement_id=DEP_A, label="cli:test")
    if role is PrincipalRole.BENEFICIARY:
        return Principal(
            role=role,
            auth_method="test",
            account_id=uuid.uuid4(),
            departement_id=DEP_A,
            beneficiary_id=OWN_PERSON,
        )
    return Principal(
        role=role,
        auth_method="test",
        account_id=uuid.uuid4(),
        departement_id=DEP_A,
        organisation_id=MY_ORG,
        organisation_kind=kind,
        membership_id=uuid.uuid4(),
        # A professional who somehow carried the record's person id gains nothing by it.
        beneficiary_id=OWN_PERSON if relation is Relation.OWN_RECORD else None,
        overrides=overrides or {},
    )


def make_facts(relation: Relation, group_role: GroupRole | None, consent: str) -> RecordFacts:
    return RecordFacts(
        beneficiary_id=OWN_PERSON if relation is Relation.OWN_RECORD else OTHER_PERSON,
        departement_id=DEP_B if relation is Relation.OTHER_DEPARTEMENT else DEP_A,
        group_roles=frozenset() if group_role is None else frozenset({group_role}),
        health_consent_organisation_ids=frozenset(
            {"none": set(), "mine": {MY_ORG}, "other": {OTHER_ORG}}[consent]
        ),
    )


def situations() -> Iterator[
    tuple[PrincipalRole, OrganisationKind | None, GroupRole | None, Relation]
]:
    """Every role × kind (for roles held in a structure) × group role × relation that can
    be stated: "group member" needs a group role, "same département" means not in it."""
    group_roles: list[GroupRole | None] = [None, *GroupRole]
    for role in PrincipalRole:
        kinds: list[OrganisationKind | None] = (
            list(OrganisationKind) if role in ORGANISATION_ROLES else [None]
        )
        for kind, group_role, relation in itertools.product(kinds, group_roles, Relation):
            if relation is Relation.GROUP_MEMBER and group_role is None:
                continue
            if relation is Relation.SAME_DEPARTEMENT and group_role is not None:
                continue
            yield role, kind, group_role, relation


SITUATIONS = list(situations())


def _id(situation: tuple[object, ...]) -> str:
    return "-".join("none" if part is None else str(part) for part in situation)


@pytest.mark.parametrize("situation", SITUATIONS, ids=[_id(s) for s in SITUATIONS])
def test_policy_grants_exactly_the_expected_level(
    situation: tuple[PrincipalRole, OrganisationKind | None, GroupRole | None, Relation],
) -> None:
    role, kind, group_role, relation = situation
    principal = make_principal(role, kind, relation)
    for consent in CONSENTS:
        facts = make_facts(relation, group_role, consent)
        granted = {s: policy.granted_level(principal, facts, s)[0] for s in Section}
        assert granted == expected_levels(role, kind, group_role, relation, consent), consent
        for section in Section:
            for needed in (Level.READ, Level.WRITE):
                assert policy.can(principal, facts, section, needed) == (granted[section] >= needed)
            assert not policy.can(principal, facts, section, Level.NONE)


def test_the_situation_grid_is_exhaustive() -> None:
    # 5 structure roles × 10 kinds × 12 stated situations + 3 other roles × 12.
    assert len(SITUATIONS) == 5 * 10 * 12 + 3 * 12


# -- the rules of DOMAIN.md §5, each on its own ---------------------------------------------


def _all_grants() -> Iterator[tuple[tuple[object, ...], str, Section, Level]]:
    for role, kind, group_role, relation in SITUATIONS:
        principal = make_principal(role, kind, relation)
        for consent in CONSENTS:
            facts = make_facts(relation, group_role, consent)
            for section in Section:
                level = policy.granted_level(principal, facts, section)[0]
                yield (role, kind, group_role, relation), consent, section, level


def test_nir_is_readable_only_by_departement_and_france_travail_group_members() -> None:
    for (role, kind, group_role, relation), _consent, section, level in _all_grants():
        if section is not Section.NIR or level is Level.NONE:
            continue
        own = role is PrincipalRole.BENEFICIARY and relation is Relation.OWN_RECORD
        in_group = group_role is not None and kind in (K.DEPARTEMENT, K.FRANCE_TRAVAIL)
        assert own or in_group, (role, kind, group_role, relation)
        assert level is Level.READ  # nobody edits a NIR by hand


def test_health_opens_only_to_health_partners_and_consented_organisations() -> None:
    for (role, kind, group_role, relation), consent, section, level in _all_grants():
        if section is not Section.HEALTH or level is Level.NONE:
            continue
        own = role is PrincipalRole.BENEFICIARY and relation is Relation.OWN_RECORD
        health_partner = kind is K.SANTE and group_role is GroupRole.MEMBER
        consented = consent == "mine" and group_role in (GroupRole.MEMBER, GroupRole.REFERENT)
        assert own or health_partner or consented, (role, kind, group_role, relation, consent)


def test_nothing_is_granted_across_departements() -> None:
    for (_role, _kind, _group, relation), _consent, _section, level in _all_grants():
        if relation is Relation.OTHER_DEPARTEMENT:
            assert level is Level.NONE


def test_platform_admins_and_system_actors_see_no_personal_data() -> None:
    for (role, _kind, _group, _relation), _consent, _section, level in _all_grants():
        if role in (PrincipalRole.PLATFORM_ADMIN, PrincipalRole.SYSTEM):
            assert level is Level.NONE


def test_a_beneficiary_reads_the_whole_own_record_and_writes_contact() -> None:
    principal = make_principal(PrincipalRole.BENEFICIARY, None, Relation.OWN_RECORD)
    facts = make_facts(Relation.OWN_RECORD, None, "none")
    assert all(policy.can(principal, facts, s, Level.READ) for s in Section)
    assert policy.can(principal, facts, Section.CONTACT, Level.WRITE)
    assert not policy.can(principal, facts, Section.NIR, Level.WRITE)
    assert not policy.can(principal, facts, Section.CONTRACTS, Level.WRITE)


def test_a_professional_outside_the_group_sees_nothing_but_an_orientation_officer_orients() -> None:
    facts = make_facts(Relation.SAME_DEPARTEMENT, None, "mine")
    for role in ORGANISATION_ROLES:
        principal = make_principal(role, K.DEPARTEMENT, Relation.SAME_DEPARTEMENT)
        readable = {s for s in Section if policy.can(principal, facts, s, Level.READ)}
        if role is PrincipalRole.ORIENTATION_OFFICER:
            assert Section.NIR not in readable
            assert Section.HEALTH not in readable
            assert policy.can(principal, facts, Section.ORIENTATION, Level.WRITE)
        else:
            assert readable == set()


def test_roles_without_a_structure_gain_nothing_from_a_stray_organisation() -> None:
    facts = make_facts(Relation.GROUP_MEMBER, GroupRole.REFERENT, "mine")
    for role in NO_ORGANISATION_ROLES:
        principal = Principal(
            role=role,
            auth_method="test",
            account_id=uuid.uuid4(),
            departement_id=DEP_A,
            organisation_id=MY_ORG,
            organisation_kind=K.DEPARTEMENT,
            beneficiary_id=OWN_PERSON if role is PrincipalRole.BENEFICIARY else None,
        )
        assert all(policy.granted_level(principal, facts, s)[0] is Level.NONE for s in Section)


# -- authorize: 404 out of scope, 403 inside ------------------------------------------------


@pytest.mark.parametrize("role", list(PrincipalRole))
@pytest.mark.parametrize("needed", [Level.READ, Level.WRITE])
def test_authorize_answers_not_found_across_departements(
    role: PrincipalRole, needed: Level
) -> None:
    kind = K.DEPARTEMENT if role in ORGANISATION_ROLES else None
    principal = make_principal(role, kind, Relation.OTHER_DEPARTEMENT)
    facts = make_facts(Relation.OTHER_DEPARTEMENT, GroupRole.REFERENT, "mine")
    for section in Section:
        with pytest.raises(PolicyNotFound) as refusal:
            policy.authorize(principal, facts, section, needed)
        assert refusal.value.status == 404
        assert refusal.value.message == "Ce carnet n'existe pas ou ne vous est pas accessible."
        assert refusal.value.decision.reason == "not_in_scope"


def test_authorize_answers_not_found_to_a_beneficiary_on_someone_elses_record() -> None:
    principal = make_principal(PrincipalRole.BENEFICIARY, None, Relation.SAME_DEPARTEMENT)
    facts = make_facts(Relation.SAME_DEPARTEMENT, None, "none")
    for section in Section:
        with pytest.raises(PolicyNotFound):
            policy.authorize(principal, facts, section, Level.READ)


def test_authorize_denies_inside_the_departement_with_a_french_reason() -> None:
    outsider = make_principal(PrincipalRole.PROFESSIONAL, K.CCAS, Relation.SAME_DEPARTEMENT)
    with pytest.raises(PolicyDenied) as refusal:
        policy.authorize(
            outsider, make_facts(Relation.SAME_DEPARTEMENT, None, "none"), Section.PLAN, Level.READ
        )
    assert refusal.value.status == 403
    assert refusal.value.decision.reason == "not_in_group"
    assert "groupe de suivi" in refusal.value.message
    assert refusal.value.section == "plan:read"

    member = make_principal(PrincipalRole.PROFESSIONAL, K.CCAS, Relation.GROUP_MEMBER)
    facts = make_facts(Relation.GROUP_MEMBER, GroupRole.MEMBER, "other")
    with pytest.raises(PolicyDenied) as refusal:
        policy.authorize(member, facts, Section.HEALTH, Level.READ)
    assert refusal.value.decision.reason == "consent_missing"
    assert refusal.value.message == "Le volet santé n'est ouvert qu'avec l'accord de la personne."

    with pytest.raises(PolicyDenied) as refusal:
        policy.authorize(member, facts, Section.DOCUMENTS, Level.WRITE)
    assert refusal.value.decision.reason == "matrix"
    assert refusal.value.message == "Votre rôle ne permet pas d'accéder à cette partie du carnet."


def test_authorize_returns_the_rule_that_allowed() -> None:
    referent = make_principal(PrincipalRole.PROFESSIONAL, K.FRANCE_TRAVAIL, Relation.GROUP_MEMBER)
    facts = make_facts(Relation.GROUP_MEMBER, GroupRole.REFERENT, "none")
    decision = policy.authorize(referent, facts, Section.PLAN, Level.WRITE)
    assert decision.allowed
    assert decision.relation is Relation.GROUP_MEMBER
    assert decision.rule == "group:france_travail:referent"
    assert decision.level is Level.WRITE


def test_the_best_of_several_group_roles_applies() -> None:
    principal = make_principal(PrincipalRole.PROFESSIONAL, K.DEPARTEMENT, Relation.GROUP_MEMBER)
    facts = RecordFacts(
        beneficiary_id=OTHER_PERSON,
        departement_id=DEP_A,
        group_roles=frozenset({GroupRole.MEMBER, GroupRole.ORIENTATION_OFFICER}),
    )
    assert policy.granted_level(principal, facts, Section.ORIENTATION)[0] is Level.WRITE
    assert policy.granted_level(principal, facts, Section.NOTES)[0] is Level.WRITE


# -- actions --------------------------------------------------------------------------------


def test_only_the_person_sees_the_access_log() -> None:
    for role, kind, group_role, relation in SITUATIONS:
        principal = make_principal(role, kind, relation)
        facts = make_facts(relation, group_role, "mine")
        own = role is PrincipalRole.BENEFICIARY and relation is Relation.OWN_RECORD
        assert policy.can_action(principal, facts, Action.VIEW_ACCESS_LOG) == own


@pytest.mark.parametrize("action", [Action.SEARCH, Action.BREAK_GLASS])
def test_search_and_break_glass_belong_to_accompanying_professionals(action: Action) -> None:
    for role, kind, group_role, relation in SITUATIONS:
        principal = make_principal(role, kind, relation)
        facts = make_facts(relation, group_role, "none")
        allowed = (
            role in (PrincipalRole.PROFESSIONAL, PrincipalRole.ORIENTATION_OFFICER)
            and relation is not Relation.OTHER_DEPARTEMENT
        )
        assert policy.can_action(principal, facts, action) == allowed, (role, relation)
        if allowed:
            continue
        # A platform admin belongs to no département: every record is outside it.
        out_of_scope = (
            relation is Relation.OTHER_DEPARTEMENT
            or role is PrincipalRole.PLATFORM_ADMIN
            or (role is PrincipalRole.BENEFICIARY and relation is not Relation.OWN_RECORD)
        )
        expected = PolicyNotFound if out_of_scope else PolicyDenied
        with pytest.raises(expected):
            policy.authorize_action(principal, facts, action)


# -- département overrides may only tighten -------------------------------------------------

OVERRIDES = st.lists(
    st.tuples(
        st.tuples(
            st.sampled_from(OrganisationKind), st.sampled_from(GroupRole), st.sampled_from(Section)
        ),
        st.sampled_from(Level),
    ),
    max_size=12,
)


def _default(kind: OrganisationKind, group_role: GroupRole, section: Section) -> Level:
    if kind not in KIND_COLUMNS:  # pragma: no cover - every kind has a column
        return Level.NONE
    cell = _group_cell(group_role, kind, section)
    return Level.NONE if cell == "c" else LETTER[cell]


@settings(max_examples=300, deadline=None, database=None)
@given(overrides=OVERRIDES)
def test_overrides_are_refused_or_only_lower_levels(
    overrides: list[tuple[OverrideKey, Level]],
) -> None:
    loosening = any(level > _default(*key) for key, level in overrides)
    try:
        checked = matrix.validate_overrides(overrides)
    except matrix.OverrideRefused:
        assert loosening
        return
    assert not loosening
    for kind, group_role, consent in itertools.product(OrganisationKind, GroupRole, CONSENTS):
        tightened = make_principal(PrincipalRole.PROFESSIONAL, kind, Relation.GROUP_MEMBER, checked)
        plain = make_principal(PrincipalRole.PROFESSIONAL, kind, Relation.GROUP_MEMBER)
        facts = make_facts(Relation.GROUP_MEMBER, group_role, consent)
        for section in Section:
            effective = policy.granted_level(tightened, facts, section)[0]
            assert effective <= policy.granted_level(plain, facts, section)[0]
            if (kind, group_role, section) in checked:
                assert effective <= checked[(kind, group_role, section)]


@settings(max_examples=100, deadline=None, database=None)
@given(overrides=OVERRIDES)
def test_even_an_unchecked_override_cannot_raise_a_level(
    overrides: list[tuple[OverrideKey, Level]],
) -> None:
    # Defence in depth: the policy takes the minimum even if a loosening row slipped in.
    raw = dict(overrides)
    for kind, group_role in itertools.product(OrganisationKind, GroupRole):
        tightened = make_principal(PrincipalRole.PROFESSIONAL, kind, Relation.GROUP_MEMBER, raw)
        plain = make_principal(PrincipalRole.PROFESSIONAL, kind, Relation.GROUP_MEMBER)
        facts = make_facts(Relation.GROUP_MEMBER, group_role, "mine")
        for section in Section:
            assert (
                policy.granted_level(tightened, facts, section)[0]
                <= policy.granted_level(plain, facts, section)[0]
            )


def test_an_override_that_loosens_is_refused_in_french() -> None:
    with pytest.raises(matrix.OverrideRefused, match="dépasse le défaut"):
        matrix.validate_overrides([((K.CCAS, GroupRole.MEMBER, Section.NIR), Level.READ)])


def test_an_override_lowers_one_cell_only() -> None:
    key = (K.DEPARTEMENT, GroupRole.MEMBER, Section.NOTES)
    checked = matrix.validate_overrides([(key, Level.READ)])
    principal = make_principal(
        PrincipalRole.PROFESSIONAL, K.DEPARTEMENT, Relation.GROUP_MEMBER, checked
    )
    facts = make_facts(Relation.GROUP_MEMBER, GroupRole.MEMBER, "none")
    assert policy.granted_level(principal, facts, Section.NOTES)[0] is Level.READ
    assert policy.granted_level(principal, facts, Section.PLAN)[0] is Level.WRITE
    # The referent row of the same structure is untouched.
    facts = make_facts(Relation.GROUP_MEMBER, GroupRole.REFERENT, "none")
    assert policy.granted_level(principal, facts, Section.NOTES)[0] is Level.WRITE
