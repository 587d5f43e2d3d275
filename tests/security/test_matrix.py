"""The matrix as data: complete, read-only, and the same rows the accreditation page shows."""

from __future__ import annotations

import pytest

from carnet.security import matrix
from carnet.security.permissions import (
    GroupRole,
    Level,
    MembershipRole,
    OrganisationKind,
    Section,
)


def test_every_section_has_exactly_one_column() -> None:
    assert sorted(matrix.COLUMNS) == sorted(Section)
    assert len(set(matrix.COLUMNS)) == len(matrix.COLUMNS)


def test_every_organisation_kind_has_a_member_row() -> None:
    kinds_with_members = {kind for kind, role in matrix.GROUP_DEFAULTS if role is GroupRole.MEMBER}
    assert kinds_with_members == set(OrganisationKind)


def test_consent_gates_the_health_compartment_and_nothing_else() -> None:
    for key, sections in matrix.CONSENT_GATED.items():
        assert sections <= {Section.HEALTH}, key
        if sections:
            assert matrix.GROUP_DEFAULTS[key][Section.HEALTH] is Level.NONE


def test_the_display_rows_are_the_rows_the_policy_reads() -> None:
    letters = {Level.WRITE: {"W"}, Level.READ: {"R"}, Level.NONE: {"-", "c"}}
    rows = matrix.rows_for_display()
    assert {(kind, role) for kind, role, _ in rows} == set(matrix.GROUP_DEFAULTS)
    for kind, role, cells in rows:
        assert len(cells) == len(matrix.COLUMNS)
        for section, cell in zip(matrix.COLUMNS, cells, strict=True):
            assert cell in letters[matrix.GROUP_DEFAULTS[(kind, role)][section]]


def test_the_defaults_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        matrix.GROUP_DEFAULTS[(OrganisationKind.SANTE, GroupRole.REFERENT)] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        matrix.OWN_RECORD[Section.NIR] = Level.WRITE  # type: ignore[index]
    with pytest.raises(TypeError):
        matrix.SAME_DEPARTEMENT[MembershipRole.ORIENTATION_OFFICER][Section.NIR] = Level.READ  # type: ignore[index]


def test_a_missing_row_means_nothing() -> None:
    for section in Section:
        assert matrix.group_level(OrganisationKind.SANTE, GroupRole.REFERENT, section) is Level.NONE


def test_an_override_for_an_unknown_group_role_is_refused() -> None:
    with pytest.raises(ValueError, match="chef"):
        matrix.validate_overrides([((OrganisationKind.CCAS, "chef", Section.PLAN), Level.NONE)])
