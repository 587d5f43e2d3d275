"""The declarative access matrix (DOMAIN.md §5): data, not code.

One row per (organisation kind, role in the follow-up group); one cell per section:
`W` write, `R` read, `-` none, `c` read only with the person's consent for that
organisation (the health compartment). Départements may lower a cell, never raise it.
The accreditation page is rendered from these same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from carnet.security.permissions import (
    GroupRole,
    Level,
    MembershipRole,
    OrganisationKind,
    Section,
)
from carnet.security.principal import OverrideKey

COLUMNS: tuple[Section, ...] = (
    Section.IDENTITY,
    Section.NIR,
    Section.CONTACT,
    Section.RIGHTS,
    Section.SITUATION,
    Section.HEALTH,
    Section.PROJECTS,
    Section.ORIENTATION,
    Section.CONTRACTS,
    Section.PLAN,
    Section.PRESCRIPTIONS,
    Section.APPOINTMENTS,
    Section.NOTES,
    Section.DOCUMENTS,
    Section.TEAM_REVIEWS,
    Section.HISTORY,
    Section.GROUP,
)

K = OrganisationKind
G = GroupRole

# fmt: off
#                                     ide nir con rig sit hea pro ori ctr pla pre app not doc tea his grp
_GROUP_ROWS: dict[tuple[OrganisationKind, GroupRole], str] = {
    (K.DEPARTEMENT, G.REFERENT):           "W   R   W   W   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.DEPARTEMENT, G.MEMBER):             "R   R   R   R   R   c   R   R   R   W   W   W   W   R   -   R   R",
    (K.DEPARTEMENT, G.ORIENTATION_OFFICER): "R   R   R   R   R   -   R   W   R   R   R   R   -   -   R   R   W",
    (K.FRANCE_TRAVAIL, G.REFERENT):        "W   R   W   R   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.FRANCE_TRAVAIL, G.MEMBER):          "R   R   R   R   R   c   R   R   R   W   W   W   W   R   -   R   R",
    (K.FRANCE_TRAVAIL, G.ORIENTATION_OFFICER): "R   R   R   R   R   -   R   W   R   R   R   R   -   -   R   R   W",
    (K.MISSION_LOCALE, G.REFERENT):        "W   -   W   R   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.MISSION_LOCALE, G.MEMBER):          "R   -   R   -   R   c   R   R   R   W   W   W   W   R   -   R   R",
    (K.CAP_EMPLOI, G.REFERENT):            "W   -   W   R   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.CAP_EMPLOI, G.MEMBER):              "R   -   R   -   R   c   R   R   R   W   W   W   W   R   -   R   R",
    (K.CCAS, G.REFERENT):                  "W   -   W   R   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.CCAS, G.MEMBER):                    "R   -   R   R   R   c   R   R   R   W   W   W   W   R   -   R   R",
    (K.PLIE, G.REFERENT):                  "W   -   W   R   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.PLIE, G.MEMBER):                    "R   -   R   -   R   c   R   R   R   W   W   W   W   R   -   R   R",
    (K.ASSOCIATION, G.REFERENT):           "W   -   W   R   W   c   W   R   W   W   W   W   W   W   W   R   W",
    (K.ASSOCIATION, G.MEMBER):             "R   -   R   -   R   c   R   -   R   W   W   W   W   R   -   R   R",
    (K.SIAE, G.MEMBER):                    "R   -   R   -   R   c   R   -   R   W   W   W   W   R   -   R   R",
    (K.ORGANISME_FORMATION, G.MEMBER):     "R   -   R   -   -   c   R   -   -   R   W   W   W   R   -   R   R",
    (K.SANTE, G.MEMBER):                   "R   -   R   -   R   W   -   -   -   R   R   W   W   R   -   R   R",
}

# The person's own record: everything about him or herself (others' private notes are
# filtered by the notes service); the contact details are the person's to update.
_OWN_RECORD = "R   R   W   R   W   R   W   R   R   W   W   R   W   W   R   R   R"

# Outside the group, in the same département, only the orientation officer has a remit:
# he or she orients people nobody follows yet. Everyone else reaches a record by joining.
_SAME_DEPARTEMENT: dict[MembershipRole, str] = {
    MembershipRole.ORIENTATION_OFFICER: "R   -   R   R   R   -   R   W   R   -   -   -   -   -   -   R   W",
}
# fmt: on

_CELL = {"W": Level.WRITE, "R": Level.READ, "-": Level.NONE, "c": Level.NONE}


def _parse(row: str) -> dict[Section, Level]:
    cells = row.split()
    if len(cells) != len(COLUMNS):
        raise ValueError(f"matrix row has {len(cells)} cells, expected {len(COLUMNS)}")
    return {section: _CELL[cell] for section, cell in zip(COLUMNS, cells, strict=True)}


def _consent_sections(row: str) -> frozenset[Section]:
    return frozenset(s for s, c in zip(COLUMNS, row.split(), strict=True) if c == "c")


GROUP_DEFAULTS: Mapping[tuple[OrganisationKind, GroupRole], Mapping[Section, Level]] = (
    MappingProxyType({key: MappingProxyType(_parse(row)) for key, row in _GROUP_ROWS.items()})
)
CONSENT_GATED: Mapping[tuple[OrganisationKind, GroupRole], frozenset[Section]] = MappingProxyType(
    {key: _consent_sections(row) for key, row in _GROUP_ROWS.items()}
)
OWN_RECORD: Mapping[Section, Level] = MappingProxyType(_parse(_OWN_RECORD))
SAME_DEPARTEMENT: Mapping[MembershipRole, Mapping[Section, Level]] = MappingProxyType(
    {role: MappingProxyType(_parse(row)) for role, row in _SAME_DEPARTEMENT.items()}
)


class OverrideRefused(ValueError):
    """An override would loosen the default: départements may only tighten."""


def group_level(kind: OrganisationKind, group_role: GroupRole, section: Section) -> Level:
    row = GROUP_DEFAULTS.get((kind, group_role))
    return Level.NONE if row is None else row[section]


def validate_overrides(overrides: Iterable[tuple[OverrideKey, Level]]) -> dict[OverrideKey, Level]:
    """Return the overrides as a mapping, refusing any that raises a default level."""
    checked: dict[OverrideKey, Level] = {}
    for (kind, group_role, section), level in overrides:
        default = group_level(kind, GroupRole(group_role), section)
        if level > default:
            raise OverrideRefused(
                f"{kind}/{group_role}/{section}: {level.name} dépasse le défaut {default.name}"
            )
        checked[(kind, group_role, section)] = level
    return checked


def rows_for_display() -> list[tuple[OrganisationKind, GroupRole, list[str]]]:
    """The matrix as the accreditation page shows it: one labelled row per cell string."""
    return [(kind, role, row.split()) for (kind, role), row in _GROUP_ROWS.items()]
