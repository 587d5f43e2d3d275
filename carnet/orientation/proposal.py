"""The explainable orientation proposal (DOMAIN.md §3.4): employability × freins sociaux.

`propose_for(access)` gathers what the actor may read of the record (the latest diagnostic
version, the open freins périphériques by theme, the professional projects, the number of
dependants), each section read audited through `gate.read_more`, and evaluates the
département's current rule set (`carnet.orientation.rules.evaluate`, pure). What the actor
may not read is listed in `missing`, never guessed. The health compartment is never read
(health data, GDPR art. 9): a health frein never weighs in a proposal.

The proposal never decides: an orientation officer confirms or chooses another type. The
orientation stores `Proposal.as_json()`, which names the rule-set version that produced
it, so later changes of the rules never change a past proposal; `describe(stored)` reads
it back for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from carnet import db
from carnet.orientation.models import OrientationType
from carnet.projects.models import ProfessionalProject, ProjectStatus
from carnet.records import gate
from carnet.records.gate import RecordAccess
from carnet.records.models import DigitalAutonomy
from carnet.referential import services as referential
from carnet.referential.models import OarsaCategory
from carnet.security.permissions import Level, Section
from carnet.situation.models import Barrier, BarrierStatus, Diagnostic, EducationLevel

EMPLOYABILITY = "employability"
BARRIERS = "barriers"

TYPE_LABELS: dict[OrientationType, str] = {
    OrientationType.SOCIAL: "sociale",
    OrientationType.SOCIO_PROFESSIONAL: "socio-professionnelle",
    OrientationType.PROFESSIONAL: "professionnelle",
}


class Tag(StrEnum):
    """Audit tag of the reads made to compute a proposal (one row per section read)."""

    PROPOSAL_COMPUTED = "orientation:proposal:computed"


@dataclass(frozen=True)
class Factor:
    """One thing found in the record and what it weighed on one axis."""

    code: str  # stable code, e.g. "barrier:logement", "education:bac", "project:rome"
    label: str  # French, what was found: « Frein identifié : Logement »
    axis: str  # EMPLOYABILITY or BARRIERS
    points: int  # what it weighed (0 when shown as not counted)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "axis": self.axis, "points": self.points}


@dataclass(frozen=True)
class Proposal:
    proposed_type: OrientationType
    rule_set_version: int  # 0 = Carnet's built-in default rules, never saved
    employability_score: int
    barrier_score: int
    factors: list[Factor]  # every factor that weighed, in display order
    missing: list[str]  # French: what was not known (« aucun diagnostic enregistré »)
    explanation: str  # one French sentence: why this type (scores vs thresholds)

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.proposed_type]

    def factors_on(self, axis: str) -> list[Factor]:
        return [f for f in self.factors if f.axis == axis]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON (str, int, list, dict) for `Orientation.proposal`."""
        return {
            "proposed_type": self.proposed_type.value,
            "rule_set_version": self.rule_set_version,
            "employability_score": self.employability_score,
            "barrier_score": self.barrier_score,
            "factors": [f.as_json() for f in self.factors],
            "missing": list(self.missing),
            "explanation": self.explanation,
        }


def describe(stored: dict[str, Any]) -> Proposal:
    """A proposal stored by `as_json`, to show again as it was; ValueError if unreadable."""
    try:
        return Proposal(
            proposed_type=OrientationType(stored["proposed_type"]),
            rule_set_version=int(stored["rule_set_version"]),
            employability_score=int(stored["employability_score"]),
            barrier_score=int(stored["barrier_score"]),
            factors=[
                Factor(
                    code=str(f["code"]),
                    label=str(f["label"]),
                    axis=str(f["axis"]),
                    points=int(f["points"]),
                )
                for f in stored.get("factors", [])
            ],
            missing=[str(m) for m in stored.get("missing", [])],
            explanation=str(stored.get("explanation", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"unreadable stored proposal: {error}") from None


# -- what the evaluation receives (built from the record, or by hand in tests) ---------------


@dataclass(frozen=True)
class OpenBarriers:
    """The open freins périphériques (identifié or en cours) of one referential theme."""

    theme_code: str
    theme_label: str
    count: int


@dataclass(frozen=True)
class ProposalInputs:
    """What was read of the record. A `*_known` flag is False when the actor may not read
    that section: its data is then missing, never guessed."""

    situation_known: bool = True
    has_diagnostic: bool = False
    education_level: EducationLevel | None = None
    digital_autonomy: DigitalAutonomy | None = None
    has_strengths: bool = False
    has_skills: bool = False
    open_barriers: tuple[OpenBarriers, ...] = ()
    projects_known: bool = True
    has_rome_project: bool = False  # a project (not abandoned) with a ROME code
    has_other_project: bool = False  # a project (not abandoned) in the person's own words
    rights_known: bool = True
    dependants: int | None = None


# -- reading the record -------------------------------------------------------------------


def _situation(access: RecordAccess) -> dict[str, Any]:
    person = access.beneficiary
    session = db.session()
    latest = session.scalar(
        select(Diagnostic)
        .where(Diagnostic.beneficiary_id == person.id)
        .order_by(Diagnostic.number.desc())
        .limit(1)
    )
    barriers = list(
        session.scalars(
            select(Barrier).where(
                Barrier.beneficiary_id == person.id, Barrier.status != BarrierStatus.LIFTED
            )
        )
    )
    themes = referential.themes_by_id(person.departement_id, {b.theme_id for b in barriers})
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    for barrier in barriers:
        theme = themes.get(barrier.theme_id)
        if theme is not None and theme.oarsa_category is OarsaCategory.SANTE:
            continue  # a theme moved to health since: health never weighs (art. 9)
        code = theme.code if theme else f"theme-{barrier.theme_id}"
        counts[code] = counts.get(code, 0) + 1
        labels[code] = theme.label if theme else "Thème retiré du référentiel"
    open_barriers = tuple(
        OpenBarriers(code, labels[code], counts[code])
        for code in sorted(counts, key=lambda c: (labels[c], c))
    )
    if latest is None:
        return {"has_diagnostic": False, "open_barriers": open_barriers}
    return {
        "has_diagnostic": True,
        "education_level": EducationLevel(latest.education_level)
        if latest.education_level
        else None,
        "digital_autonomy": DigitalAutonomy(latest.digital_autonomy)
        if latest.digital_autonomy
        else None,
        "has_strengths": bool(latest.strengths),
        "has_skills": bool(latest.skills),
        "open_barriers": open_barriers,
    }


def _projects(access: RecordAccess) -> dict[str, Any]:
    rows = list(
        db.session().scalars(
            select(ProfessionalProject).where(
                ProfessionalProject.beneficiary_id == access.beneficiary.id,
                ProfessionalProject.status != ProjectStatus.ABANDONED,
            )
        )
    )
    return {
        "has_rome_project": any(row.rome_code for row in rows),
        "has_other_project": any(not row.rome_code for row in rows),
    }


def read_inputs(access: RecordAccess) -> ProposalInputs:
    """What the actor may read of the record, each section read audited once."""
    readable = [
        section
        for section in (Section.SITUATION, Section.PROJECTS, Section.RIGHTS)
        if access.can(section, Level.READ)
    ]
    if readable:
        gate.read_more(access, [(section, Tag.PROPOSAL_COMPUTED) for section in readable])
    values: dict[str, Any] = {
        "situation_known": Section.SITUATION in readable,
        "projects_known": Section.PROJECTS in readable,
        "rights_known": Section.RIGHTS in readable,
    }
    if Section.SITUATION in readable:
        values.update(_situation(access))
    if Section.PROJECTS in readable:
        values.update(_projects(access))
    if Section.RIGHTS in readable:
        values["dependants"] = int(access.beneficiary.dependants or 0)
    return ProposalInputs(**values)


def propose_for(access: RecordAccess) -> Proposal:
    """Compute from what the actor may read of the record (latest diagnostic version,
    open barriers (not levé) by theme, projects, rights: dependants), each read audited
    through gate.read_more(access, [(Section.SITUATION, tag), ...]) only for the sections
    access.can(...) allows; what the actor may not read is listed in `missing`, never
    guessed. Never reads the health compartment (health data: art. 9)."""
    # Imported here: the rules and their services build `Proposal`s from this module.
    from carnet.orientation import rule_services, rules

    current = rule_services.current_rules(access.beneficiary.departement_id)
    return rules.evaluate(read_inputs(access), current.rules, version=current.version)


__all__ = [
    "BARRIERS",
    "EMPLOYABILITY",
    "TYPE_LABELS",
    "Factor",
    "OpenBarriers",
    "Proposal",
    "ProposalInputs",
    "Tag",
    "describe",
    "propose_for",
    "read_inputs",
]
