"""The orientation proposal rules: their document, Carnet's defaults and their evaluation.

A rule set gives points on two axes and a grid that turns the two scores into a type:

- **employability** (employabilité): the education level, the digital autonomy noted in
  the latest diagnostic, a professional project (with a job of the ROME list, or in the
  person's own words), the strengths and the skills recorded;
- **barriers** (freins sociaux): each referential theme with at least one open frein
  périphérique (identifié or en cours) counts once, whatever the number of freins in it;
  a theme the rule set does not list counts `other_theme` points; a household with
  dependants counts `dependants` points.

Each score is cut into three levels by two thresholds (« à partir de »), and the 3 × 3 grid
(barrier level × employability level) names the proposed type. Health freins never count:
they belong to the health compartment, which the proposal never reads.

The document is stored as JSON, one version per save (`OrientationRuleSet.rules`), and is
checked by `RulesSchema` (French messages, unknown keys refused). `evaluate` is pure: no
database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from carnet.errors import InvalidInput
from carnet.orientation.models import OrientationType
from carnet.orientation.proposal import (
    BARRIERS,
    EMPLOYABILITY,
    TYPE_LABELS,
    Factor,
    Proposal,
    ProposalInputs,
)
from carnet.records.models import DigitalAutonomy
from carnet.situation.models import EducationLevel

FORMAT = 1
POINTS_MAX = 20
THRESHOLD_MAX = 200
THEME_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


class EmployabilityLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class BarrierLevel(StrEnum):
    FEW = "few"
    SOME = "some"
    MANY = "many"


EMPLOYABILITY_LEVELS = tuple(EmployabilityLevel)
BARRIER_LEVELS = tuple(BarrierLevel)

# The French words of the page and of the explanation.
EMPLOYABILITY_LEVEL_LABELS = {
    EmployabilityLevel.LOW: "faible",
    EmployabilityLevel.MEDIUM: "moyenne",
    EmployabilityLevel.HIGH: "forte",
}
BARRIER_LEVEL_LABELS = {
    BarrierLevel.FEW: "peu de freins",
    BarrierLevel.SOME: "quelques freins",
    BarrierLevel.MANY: "de nombreux freins",
}
EDUCATION_LABELS = {
    EducationLevel.NONE: "Aucun diplôme (infra niveau 3)",
    EducationLevel.CAP_BEP: "CAP, BEP (niveau 3)",
    EducationLevel.BAC: "Baccalauréat (niveau 4)",
    EducationLevel.BAC_2: "Bac + 2 : BTS, DUT… (niveau 5)",
    EducationLevel.LICENCE: "Licence, bac + 3 (niveau 6)",
    EducationLevel.MASTER: "Master et plus (niveaux 7 et 8)",
}
DIGITAL_LABELS = {
    DigitalAutonomy.AUTONOMOUS: "Autonome",
    DigitalAutonomy.NEEDS_HELP: "A besoin d'aide",
    DigitalAutonomy.NO_ACCESS: "Pas d'accès au numérique",
}


@dataclass(frozen=True)
class RuleSet:
    """One rule set, typed (see the module docstring for what each weight means)."""

    education: Mapping[EducationLevel, int]
    digital_autonomy: Mapping[DigitalAutonomy, int]
    rome_project: int
    other_project: int
    strengths: int
    skills: int
    barrier_themes: Mapping[str, int]  # referential theme code → points
    other_theme: int
    dependants: int
    employability_medium: int  # employability is « moyenne » from this score
    employability_high: int  # … and « forte » from this one
    barriers_some: int  # « quelques freins » from this score
    barriers_many: int  # « de nombreux freins » from this one
    grid: Mapping[tuple[BarrierLevel, EmployabilityLevel], OrientationType]

    def theme_points(self, code: str) -> int:
        return self.barrier_themes.get(code, self.other_theme)

    def employability_level(self, score: int) -> EmployabilityLevel:
        if score >= self.employability_high:
            return EmployabilityLevel.HIGH
        if score >= self.employability_medium:
            return EmployabilityLevel.MEDIUM
        return EmployabilityLevel.LOW

    def barrier_level(self, score: int) -> BarrierLevel:
        if score >= self.barriers_many:
            return BarrierLevel.MANY
        if score >= self.barriers_some:
            return BarrierLevel.SOME
        return BarrierLevel.FEW

    def employability_range(self, level: EmployabilityLevel | str) -> str:
        index = EMPLOYABILITY_LEVELS.index(EmployabilityLevel(level))
        return _range(index, self.employability_medium, self.employability_high)

    def barrier_range(self, level: BarrierLevel | str) -> str:
        index = BARRIER_LEVELS.index(BarrierLevel(level))
        return _range(index, self.barriers_some, self.barriers_many)

    def cell(self, barriers: BarrierLevel | str, employability: EmployabilityLevel | str) -> str:
        """The type of one cell of the grid (its value), for the page."""
        return self.grid[(BarrierLevel(barriers), EmployabilityLevel(employability))].value


def _range(index: int, low: int, high: int) -> str:
    """Level 0, 1 or 2 of a score cut at `low` and `high`: « moins de 3 points »,
    « de 3 à 5 points », « 6 points ou plus »."""
    if index == 0:
        return f"moins de {points(low)}"
    if index == 1:
        return f"de {low} à {points(high - 1)}" if high - 1 > low else points(low)
    return f"{points(high)} ou plus"


def points(value: int) -> str:
    """« 0 point », « 1 point », « 3 points »."""
    return f"{value} point" if abs(value) <= 1 else f"{value} points"


_SP = OrientationType.SOCIO_PROFESSIONAL
_PRO = OrientationType.PROFESSIONAL
_SOC = OrientationType.SOCIAL

# Carnet's own rules (version 0): used until the département saves its first version.
DEFAULT_RULES = RuleSet(
    education={
        EducationLevel.NONE: 0,
        EducationLevel.CAP_BEP: 1,
        EducationLevel.BAC: 2,
        EducationLevel.BAC_2: 3,
        EducationLevel.LICENCE: 3,
        EducationLevel.MASTER: 3,
    },
    digital_autonomy={
        DigitalAutonomy.AUTONOMOUS: 2,
        DigitalAutonomy.NEEDS_HELP: 1,
        DigitalAutonomy.NO_ACCESS: 0,
    },
    rome_project=3,
    other_project=1,
    strengths=1,
    skills=1,
    barrier_themes={
        "logement": 3,
        "difficultes_financieres": 2,
        "mobilite": 2,
        "contraintes_familiales": 2,
        "maitrise_langue": 2,
        "difficultes_administratives": 1,
        "numerique": 1,
        "vie_sociale": 1,
    },
    other_theme=1,
    dependants=1,
    employability_medium=3,
    employability_high=6,
    barriers_some=2,
    barriers_many=5,
    grid={
        (BarrierLevel.FEW, EmployabilityLevel.LOW): _SP,
        (BarrierLevel.FEW, EmployabilityLevel.MEDIUM): _PRO,
        (BarrierLevel.FEW, EmployabilityLevel.HIGH): _PRO,
        (BarrierLevel.SOME, EmployabilityLevel.LOW): _SP,
        (BarrierLevel.SOME, EmployabilityLevel.MEDIUM): _SP,
        (BarrierLevel.SOME, EmployabilityLevel.HIGH): _PRO,
        (BarrierLevel.MANY, EmployabilityLevel.LOW): _SOC,
        (BarrierLevel.MANY, EmployabilityLevel.MEDIUM): _SOC,
        (BarrierLevel.MANY, EmployabilityLevel.HIGH): _SP,
    },
)


# -- the document (JSON) and its schema ------------------------------------------------------

REQUIRED = "Ce champ est obligatoire."
UNKNOWN = "Ce champ n'est pas attendu dans les règles."
POINTS_MESSAGE = f"Saisissez un nombre entier de points, de 0 à {POINTS_MAX}."
THRESHOLD_MESSAGE = f"Saisissez un nombre entier de points, de 1 à {THRESHOLD_MAX}."
TYPE_MESSAGE = "Choisissez une orientation : sociale, socio-professionnelle ou professionnelle."
THEME_CODE_MESSAGE = "Ce code de thème n'est pas valide."
ORDER_MESSAGE = "Ce seuil doit être plus grand que le seuil précédent ({low})."


def _points() -> fields.Integer:
    return fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=POINTS_MAX, error=POINTS_MESSAGE),
        error_messages={"required": REQUIRED, "invalid": POINTS_MESSAGE, "null": REQUIRED},
    )


def _threshold() -> fields.Integer:
    return fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=THRESHOLD_MAX, error=THRESHOLD_MESSAGE),
        error_messages={"required": REQUIRED, "invalid": THRESHOLD_MESSAGE, "null": REQUIRED},
    )


def _type() -> fields.String:
    values = [t.value for t in OrientationType]
    return fields.String(
        required=True,
        validate=validate.OneOf(values, error=TYPE_MESSAGE),
        error_messages={"required": REQUIRED, "invalid": TYPE_MESSAGE, "null": REQUIRED},
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012 - marshmallow reads this class attribute
        "unknown": UNKNOWN,
        "type": "Cette partie des règles n'est pas lisible.",
    }


def _nested(schema: type[Schema]) -> fields.Nested:
    return fields.Nested(schema, required=True, error_messages={"required": REQUIRED})


EducationSchema = _Strict.from_dict({level.value: _points() for level in EducationLevel})
DigitalSchema = _Strict.from_dict({value.value: _points() for value in DigitalAutonomy})
GridRowSchema = _Strict.from_dict({level.value: _type() for level in EmployabilityLevel})
GridSchema = _Strict.from_dict({level.value: _nested(GridRowSchema) for level in BarrierLevel})


class EmployabilitySchema(_Strict):
    education = _nested(EducationSchema)
    digital_autonomy = _nested(DigitalSchema)
    rome_project = _points()
    other_project = _points()
    strengths = _points()
    skills = _points()


class BarriersSchema(_Strict):
    themes = fields.Dict(
        keys=fields.String(validate=validate.Regexp(THEME_CODE, error=THEME_CODE_MESSAGE)),
        values=_points(),
        required=True,
        error_messages={"required": REQUIRED, "invalid": "La liste des thèmes n'est pas lisible."},
    )
    other_theme = _points()
    dependants = _points()


class ThresholdsSchema(_Strict):
    employability_medium = _threshold()
    employability_high = _threshold()
    barriers_some = _threshold()
    barriers_many = _threshold()

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        for low, high in (
            ("employability_medium", "employability_high"),
            ("barriers_some", "barriers_many"),
        ):
            if low in data and high in data and data[high] <= data[low]:
                errors[high] = [ORDER_MESSAGE.format(low=points(data[low]))]
        if errors:
            raise ValidationError(errors)


class RulesSchema(_Strict):
    """The rule-set document, checked strictly."""

    format = fields.Integer(
        load_default=FORMAT,
        validate=validate.Equal(FORMAT, error="Ce format de règles n'est pas connu."),
    )
    employability = _nested(EmployabilitySchema)
    barriers = _nested(BarriersSchema)
    thresholds = _nested(ThresholdsSchema)
    grid = _nested(GridSchema)


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as dotted field names (the form's input names)."""
    if isinstance(messages, list):
        return {prefix or "_form": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key in {"key", "value"} and prefix:
            name = prefix  # an error on one entry of a mapping (a theme code or its points)
        elif key == "_schema":
            name = prefix or "_form"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        for field_name, items in _flatten(value, name).items():
            flat.setdefault(field_name, []).extend(items)
    return flat


def load_document(document: Mapping[str, Any]) -> RuleSet:
    """A rule set from its document; InvalidInput with French messages per dotted field."""
    try:
        data = RulesSchema().load(document)
    except ValidationError as error:
        raise InvalidInput(
            "Les règles contiennent des erreurs : corrigez les champs signalés.",
            fields=_flatten(error.messages),
        ) from None
    employability, barriers = data["employability"], data["barriers"]
    thresholds = data["thresholds"]
    return RuleSet(
        education={level: employability["education"][level.value] for level in EducationLevel},
        digital_autonomy={
            value: employability["digital_autonomy"][value.value] for value in DigitalAutonomy
        },
        rome_project=employability["rome_project"],
        other_project=employability["other_project"],
        strengths=employability["strengths"],
        skills=employability["skills"],
        barrier_themes=dict(barriers["themes"]),
        other_theme=barriers["other_theme"],
        dependants=barriers["dependants"],
        employability_medium=thresholds["employability_medium"],
        employability_high=thresholds["employability_high"],
        barriers_some=thresholds["barriers_some"],
        barriers_many=thresholds["barriers_many"],
        grid={
            (b, e): OrientationType(data["grid"][b.value][e.value])
            for b in BarrierLevel
            for e in EmployabilityLevel
        },
    )


def to_document(rules: RuleSet) -> dict[str, Any]:
    """The JSON document of a rule set (what is stored)."""
    return {
        "format": FORMAT,
        "employability": {
            "education": {level.value: rules.education[level] for level in EducationLevel},
            "digital_autonomy": {
                value.value: rules.digital_autonomy[value] for value in DigitalAutonomy
            },
            "rome_project": rules.rome_project,
            "other_project": rules.other_project,
            "strengths": rules.strengths,
            "skills": rules.skills,
        },
        "barriers": {
            "themes": dict(rules.barrier_themes),
            "other_theme": rules.other_theme,
            "dependants": rules.dependants,
        },
        "thresholds": {
            "employability_medium": rules.employability_medium,
            "employability_high": rules.employability_high,
            "barriers_some": rules.barriers_some,
            "barriers_many": rules.barriers_many,
        },
        "grid": {
            b.value: {e.value: rules.grid[(b, e)].value for e in EmployabilityLevel}
            for b in BarrierLevel
        },
    }


# -- the form: one input per weight, named by its dotted path in the document ---------------


def form_values(rules: RuleSet, theme_codes: Iterable[str] = ()) -> dict[str, str]:
    """The form's values for a rule set: dotted path → text. A theme of `theme_codes` the
    rules do not list shows the points it weighs now (those of a theme not listed)."""
    flat: dict[str, str] = {
        f"barriers.themes.{code}": str(rules.theme_points(code)) for code in theme_codes
    }

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, Mapping):
                walk(value, name)
            else:
                flat[name] = str(value)

    document = to_document(rules)
    document.pop("format")
    walk(document, "")
    return flat


def document_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The document of a submitted form (dotted names nested again; values still text, the
    schema checks them). Names outside the document are kept, so the schema refuses them."""
    document: dict[str, Any] = {}
    for name, value in form.items():
        node = document
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise InvalidInput(
                    "Le formulaire envoyé n'est pas lisible.", fields={name: [UNKNOWN]}
                )
            node = child
        if isinstance(node.get(leaf), dict):
            raise InvalidInput("Le formulaire envoyé n'est pas lisible.", fields={name: [UNKNOWN]})
        node[leaf] = value.strip() if isinstance(value, str) else value
    # Every section is expected, even when the form left a theme list empty.
    document.setdefault("barriers", {}).setdefault("themes", {})
    return document


CHANGE_NOTE_MIN = 5
CHANGE_NOTE_MAX = 500
STALE_FORM = "Le formulaire est incomplet : rechargez la page."


@dataclass(frozen=True)
class RulesForm:
    rules: RuleSet
    change_note: str
    based_on: int | None  # the version shown when the form was built


def parse_form(form: Mapping[str, str]) -> RulesForm:
    """The département admin's submitted form: every weight, threshold and cell of the
    grid (dotted names), the motive of the change and the version it was built on. All
    errors come back together, as one InvalidInput with French messages per field."""
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    errors: dict[str, list[str]] = {}
    note = " ".join(str(values.pop("change_note", "")).split())
    if not CHANGE_NOTE_MIN <= len(note) <= CHANGE_NOTE_MAX:
        errors["change_note"] = [
            REQUIRED
            if not note
            else f"Le motif de la modification doit compter entre {CHANGE_NOTE_MIN} et "
            f"{CHANGE_NOTE_MAX} caractères."
        ]
    based_on_text = str(values.pop("based_on", "")).strip()
    based_on = int(based_on_text) if based_on_text.isdigit() else None
    if based_on is None:
        errors["based_on"] = [STALE_FORM]
    rules: RuleSet | None = None
    try:
        rules = load_document(document_from_form(values))
    except InvalidInput as error:
        errors.update(error.fields)
    if errors or rules is None:
        raise InvalidInput(
            "Le formulaire contient des erreurs : corrigez les champs signalés.", fields=errors
        )
    return RulesForm(rules=rules, change_note=note, based_on=based_on)


# -- evaluation (pure) ---------------------------------------------------------------------

NOT_READABLE = "vos droits sur ce carnet ne permettent pas de lire {what}"


def _employability_factors(
    inputs: ProposalInputs, rules: RuleSet, missing: list[str]
) -> list[Factor]:
    factors: list[Factor] = []
    if not inputs.situation_known:
        missing.append(
            "le diagnostic et les freins : "
            + NOT_READABLE.format(what="la situation de la personne")
        )
    elif not inputs.has_diagnostic:
        missing.append("aucun diagnostic enregistré (niveau de formation, autonomie numérique)")
    else:
        if inputs.education_level is None:
            missing.append("le niveau de formation n'est pas renseigné dans le diagnostic")
        else:
            level = inputs.education_level
            factors.append(
                Factor(
                    f"education:{level.value}",
                    f"Niveau de formation : {EDUCATION_LABELS[level]}",
                    EMPLOYABILITY,
                    rules.education[level],
                )
            )
        if inputs.digital_autonomy is None:
            missing.append("l'autonomie numérique n'est pas renseignée dans le diagnostic")
        else:
            autonomy = inputs.digital_autonomy
            factors.append(
                Factor(
                    f"digital:{autonomy.value}",
                    f"Autonomie numérique : {DIGITAL_LABELS[autonomy]}",
                    EMPLOYABILITY,
                    rules.digital_autonomy[autonomy],
                )
            )
        if inputs.has_strengths:
            factors.append(
                Factor(
                    "strengths", "Atouts notés dans le diagnostic", EMPLOYABILITY, rules.strengths
                )
            )
        if inputs.has_skills:
            factors.append(
                Factor(
                    "skills", "Compétences notées dans le diagnostic", EMPLOYABILITY, rules.skills
                )
            )
    if not inputs.projects_known:
        missing.append(
            "les projets professionnels : " + NOT_READABLE.format(what="les projets professionnels")
        )
    elif inputs.has_rome_project:
        factors.append(
            Factor(
                "project:rome",
                "Projet professionnel visant un métier du répertoire ROME",
                EMPLOYABILITY,
                rules.rome_project,
            )
        )
    elif inputs.has_other_project:
        factors.append(
            Factor(
                "project:other",
                "Projet professionnel décrit avec ses propres mots",
                EMPLOYABILITY,
                rules.other_project,
            )
        )
    else:
        missing.append("aucun projet professionnel enregistré")
    return factors


def _barrier_factors(inputs: ProposalInputs, rules: RuleSet, missing: list[str]) -> list[Factor]:
    factors: list[Factor] = []
    if inputs.situation_known:
        for found in inputs.open_barriers:
            label = f"Frein à lever : {found.theme_label}"
            if found.count > 1:
                label += f" ({found.count} freins, le thème compte une fois)"
            if found.theme_code not in rules.barrier_themes:
                label += " (thème non listé dans les règles)"
            factors.append(
                Factor(
                    f"barrier:{found.theme_code}",
                    label,
                    BARRIERS,
                    rules.theme_points(found.theme_code),
                )
            )
    if not inputs.rights_known:
        missing.append(
            "la composition du foyer : " + NOT_READABLE.format(what="les droits et le foyer")
        )
    elif inputs.dependants:
        count = inputs.dependants
        factors.append(
            Factor(
                "rights:dependants",
                f"Personne{'s' if count > 1 else ''} à charge dans le foyer : {count}",
                BARRIERS,
                rules.dependants,
            )
        )
    return factors


def explain(rules: RuleSet, employability: int, barriers: int) -> tuple[OrientationType, str]:
    """The type of the grid's cell for these scores, and the sentence that says why."""
    e_level = rules.employability_level(employability)
    b_level = rules.barrier_level(barriers)
    proposed = rules.grid[(b_level, e_level)]
    sentence = (
        f"Employabilité {EMPLOYABILITY_LEVEL_LABELS[e_level]} ({points(employability)}, "
        f"{rules.employability_range(e_level)}) et {BARRIER_LEVEL_LABELS[b_level]} "
        f"({points(barriers)}, {rules.barrier_range(b_level)}) : "
        f"la grille propose une orientation {TYPE_LABELS[proposed]}."
    )
    return proposed, sentence


def evaluate(inputs: ProposalInputs, rules: RuleSet, *, version: int = 0) -> Proposal:
    """The proposal for these inputs under these rules (pure: no database, no clock)."""
    missing: list[str] = []
    factors = _employability_factors(inputs, rules, missing)
    factors += _barrier_factors(inputs, rules, missing)
    employability = sum(f.points for f in factors if f.axis == EMPLOYABILITY)
    barriers = sum(f.points for f in factors if f.axis == BARRIERS)
    proposed, sentence = explain(rules, employability, barriers)
    return Proposal(
        proposed_type=proposed,
        rule_set_version=version,
        employability_score=employability,
        barrier_score=barriers,
        factors=factors,
        missing=missing,
        explanation=sentence,
    )
