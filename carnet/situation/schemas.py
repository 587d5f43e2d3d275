"""Input schemas of the situation and health pages: one per use case, French messages,
unknown fields refused, typed results (the services' dataclasses).

They never query the database nor read the current user: whether a theme or a situation
belongs to the département's referential, whether a save is stale or a status change
allowed, is the service's question. The `version` field carries the version of the row the
form was built from (optimistic locking); `based_on`, the number of the latest diagnostic
version the form was filled from.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from carnet.errors import InvalidInput
from carnet.records import schemas as records_schemas
from carnet.records.models import DigitalAutonomy
from carnet.records.schemas import REQUIRED, FormSchema
from carnet.referential.schemas import (
    LABEL_MIN,
    STALE_FORM,
    choice_field,
    details_field,
    label_field,
    plausible_date,
    version_field,
)
from carnet.situation.common import BarrierData, BarrierView, StatusChange
from carnet.situation.health import RqthChange
from carnet.situation.models import BarrierStatus, EducationLevel, RqthStatus
from carnet.situation.services import DiagnosticData, DiagnosticView

LABEL_MAX = 200
SUMMARY_MAX = 1000
LINE_MAX = 120
LINES_MAX = 12
NOTE_MIN = 3
NOTE_MAX = 5000
EARLIEST = dt.date(1950, 1, 1)
# The checkboxes of the referential's situations, and the free situation of each theme.
SITUATION_FIELD = "situation"
OTHER_PREFIX = "autre-"

__all__ = [
    "AccompaniedConsentInput",
    "BarrierInput",
    "BarrierUpdateInput",
    "ConsentDecision",
    "ConsentInput",
    "DiagnosticInput",
    "HealthBarrierInput",
    "HealthBarrierUpdateInput",
    "HealthNoteInput",
    "RqthInput",
    "StatusInput",
    "barrier_values",
    "diagnostic_data",
    "diagnostic_values",
    "parse",
]


def _optional_choice(values: list[str], message: str) -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.OneOf(values, error=message),
        error_messages={"invalid": message},
    )


def _theme_id() -> fields.UUID:
    message = "Choisissez un thème de la liste."
    return fields.UUID(
        required=True,
        error_messages={
            "required": "Choisissez le thème du frein.",
            "invalid_uuid": message,
            "invalid": message,
        },
    )


def _lines(text: str | None, field_name: str, what: str) -> tuple[str, ...]:
    """A textarea of short lines: one item per line, blank lines left out."""
    lines = tuple(line.strip() for line in (text or "").splitlines() if line.strip())
    if len(lines) > LINES_MAX:
        raise ValidationError(f"Indiquez au plus {LINES_MAX} {what}, une par ligne.", field_name)
    if any(len(line) > LINE_MAX for line in lines):
        raise ValidationError(
            f"Chaque ligne compte au plus {LINE_MAX} caractères : allez à la ligne entre "
            f"deux {what}.",
            field_name,
        )
    return tuple(dict.fromkeys(lines))


# -- the diagnostic -----------------------------------------------------------------------------


def diagnostic_data(form: Any) -> dict[str, Any]:
    """The submitted diagnostic form as the schema reads it: the ticked situations (a
    repeated field) as a list, the free situations (`autre-<theme id>`) as a mapping."""
    data: dict[str, Any] = {}
    others: dict[str, str] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key == SITUATION_FIELD:
            data["situations"] = form.getlist(key) if hasattr(form, "getlist") else form[key]
        elif key.startswith(OTHER_PREFIX):
            value = str(form.get(key) or "").strip()
            if value:
                others[key.removeprefix(OTHER_PREFIX)] = value
        else:
            data[key] = form.get(key)
    if others:
        data["others"] = others
    return data


_EDUCATION = "Choisissez un niveau de formation de la liste."
_DIGITAL = "Choisissez un niveau d'autonomie numérique de la liste."


class DiagnosticInput(FormSchema):
    education_level = _optional_choice([e.value for e in EducationLevel], _EDUCATION)
    digital_autonomy = _optional_choice([d.value for d in DigitalAutonomy], _DIGITAL)
    situations = fields.List(
        fields.UUID(error_messages={"invalid_uuid": STALE_FORM, "invalid": STALE_FORM}),
        load_default=list,
        error_messages={"invalid": STALE_FORM},
    )
    others = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=dict,
        error_messages={"invalid": STALE_FORM},
    )
    strengths = fields.String(load_default=None)
    skills = fields.String(load_default=None)
    summary = fields.String(
        load_default=None,
        validate=validate.Length(
            max=SUMMARY_MAX, error=f"La synthèse compte au plus {SUMMARY_MAX} caractères."
        ),
    )
    based_on = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=0, error=STALE_FORM),
        error_messages={"required": STALE_FORM, "invalid": STALE_FORM},
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        for theme_id, label in (data.get("others") or {}).items():
            name = f"{OTHER_PREFIX}{theme_id}"
            try:
                uuid.UUID(str(theme_id))
            except ValueError:
                errors[name] = [STALE_FORM]
                continue
            if not LABEL_MIN <= len(label) <= LABEL_MAX:
                errors[name] = [
                    f"Une situation compte entre {LABEL_MIN} et {LABEL_MAX} caractères."
                ]
        for name, what in (("strengths", "points d'appui"), ("skills", "compétences")):
            try:
                _lines(data.get(name), name, what)
            except ValidationError as exc:
                errors[name] = [str(m) for m in exc.messages]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> DiagnosticData:
        education = data.get("education_level")
        digital = data.get("digital_autonomy")
        return DiagnosticData(
            education_level=EducationLevel(education) if education else None,
            digital_autonomy=DigitalAutonomy(digital) if digital else None,
            entry_ids=tuple(data["situations"]),
            others=tuple(
                (uuid.UUID(str(theme_id)), label) for theme_id, label in data["others"].items()
            ),
            strengths=_lines(data.get("strengths"), "strengths", "points d'appui"),
            skills=_lines(data.get("skills"), "skills", "compétences"),
            summary=data.get("summary"),
            based_on=data["based_on"],
        )


def diagnostic_values(latest: DiagnosticView | None, form: Any = None) -> dict[str, Any]:
    """What the diagnostic form shows: the user's own input when the form comes back
    (an error, a refused stale save), else the latest version."""
    if form is not None:
        data = diagnostic_data(form)
        situations = data.get("situations", [])
        return {
            "education_level": data.get("education_level") or "",
            "digital_autonomy": data.get("digital_autonomy") or "",
            "situations": {str(s) for s in (situations if isinstance(situations, list) else [])},
            "others": data.get("others", {}),
            "strengths": data.get("strengths") or "",
            "skills": data.get("skills") or "",
            "summary": data.get("summary") or "",
        }
    if latest is None:
        return {
            "education_level": "",
            "digital_autonomy": "",
            "situations": set(),
            "others": {},
            "strengths": "",
            "skills": "",
            "summary": "",
        }
    return {
        "education_level": latest.education_level or "",
        "digital_autonomy": latest.digital_autonomy or "",
        "situations": {str(entry_id) for entry_id in latest.entry_ids},
        "others": {str(s.theme_id): s.label for s in latest.situations if s.is_free},
        "strengths": "\n".join(latest.strengths),
        "skills": "\n".join(latest.skills),
        "summary": latest.summary or "",
    }


# -- freins -------------------------------------------------------------------------------------


class BarrierInput(FormSchema):
    theme_id = _theme_id()
    label = label_field(LABEL_MAX)
    details = details_field()
    identified_on = plausible_date(EARLIEST, "Cette date n'est pas vraisemblable.")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BarrierData:
        return BarrierData(
            label=data["label"],
            details=data["details"],
            theme_id=data["theme_id"],
            identified_on=data["identified_on"],
        )


class BarrierUpdateInput(FormSchema):
    theme_id = _theme_id()
    label = label_field(LABEL_MAX)
    details = details_field()
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BarrierData:
        return BarrierData(
            label=data["label"],
            details=data["details"],
            theme_id=data["theme_id"],
            version=data["version"],
        )


class HealthBarrierInput(FormSchema):
    label = label_field(LABEL_MAX)
    details = details_field()
    identified_on = plausible_date(EARLIEST, "Cette date n'est pas vraisemblable.")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BarrierData:
        return BarrierData(
            label=data["label"], details=data["details"], identified_on=data["identified_on"]
        )


class HealthBarrierUpdateInput(FormSchema):
    label = label_field(LABEL_MAX)
    details = details_field()
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BarrierData:
        return BarrierData(label=data["label"], details=data["details"], version=data["version"])


_STATUS = "Choisissez le nouveau statut : en cours ou levé."


class StatusInput(FormSchema):
    status = choice_field([s.value for s in BarrierStatus], _STATUS)
    on = plausible_date(EARLIEST, "Cette date n'est pas vraisemblable.")
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> StatusChange:
        return StatusChange(BarrierStatus(data["status"]), data["on"], data["version"])


def barrier_values(barrier: BarrierView) -> dict[str, str]:
    """The edit form of a frein, filled from the stored version."""
    return {
        "theme_id": str(barrier.theme_id or ""),
        "label": barrier.label,
        "details": barrier.details or "",
        "version": str(barrier.version),
    }


# -- RQTH, notes and consents -------------------------------------------------------------------

_RQTH = "Choisissez la situation : aucune, demande en cours ou reconnue."


class RqthInput(FormSchema):
    status = choice_field([s.value for s in RqthStatus], _RQTH)
    requested_on = plausible_date(EARLIEST, "Cette date n'est pas vraisemblable.")
    valid_until = plausible_date(EARLIEST, "Cette date n'est pas vraisemblable.")
    version = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=0, error=STALE_FORM),
        error_messages={"required": STALE_FORM, "invalid": STALE_FORM},
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("status") == RqthStatus.RECOGNISED.value and not data.get("valid_until"):
            raise ValidationError(
                "Indiquez la date de fin de la reconnaissance, écrite sur la notification "
                "de la MDPH.",
                "valid_until",
            )
        requested, until = data.get("requested_on"), data.get("valid_until")
        if requested is not None and until is not None and until < requested:
            raise ValidationError(
                "La date de fin doit suivre la date de la demande.", "valid_until"
            )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> RqthChange:
        status = RqthStatus(data["status"])
        return RqthChange(
            status=status,
            requested_on=data["requested_on"] if status is not RqthStatus.NONE else None,
            valid_until=data["valid_until"] if status is RqthStatus.RECOGNISED else None,
            version=data["version"],
        )


class HealthNoteInput(FormSchema):
    body = fields.String(
        required=True,
        validate=validate.Length(
            min=NOTE_MIN,
            max=NOTE_MAX,
            error=f"La note doit compter entre {NOTE_MIN} et {NOTE_MAX} caractères.",
        ),
        error_messages={"required": REQUIRED, "invalid": "Ce texte n'est pas lisible."},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> str:
        return str(data["body"])


_DECISION = "Choisissez : donner ou retirer l'accord."
_ORGANISATION = "Choisissez une structure du groupe de suivi."
_IN_PERSON = (
    "Cochez la case pour confirmer que la personne est présente et a exprimé elle-même "
    "cette décision."
)


@dataclass(frozen=True)
class ConsentDecision:
    organisation_id: uuid.UUID
    grant: bool


class ConsentInput(FormSchema):
    """The person gives or withdraws his or her consent, from his or her own space."""

    organisation_id = fields.UUID(
        required=True,
        error_messages={
            "required": _ORGANISATION,
            "invalid_uuid": _ORGANISATION,
            "invalid": _ORGANISATION,
        },
    )
    decision = choice_field(["donner", "retirer"], _DECISION)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ConsentDecision:
        return ConsentDecision(data["organisation_id"], data["decision"] == "donner")


class AccompaniedConsentInput(ConsentInput):
    """A professional records the person's decision, made in front of him or her
    (« mode accompagné »): the box confirming it is required."""

    in_person = fields.Boolean(
        load_default=False,
        truthy={"1", "on", "oui"},
        falsy={"0", "off", "non"},
        error_messages={"invalid": _IN_PERSON},
    )

    @validates_schema
    def _present(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("in_person"):
            raise ValidationError(_IN_PERSON, "in_person")


def parse(schema: Schema, form: Mapping[str, Any]) -> Any:
    """Load a submitted form (see `carnet.records.schemas.parse`); a field whose error is
    nested (a list of situations) gets a message of its own."""
    try:
        return records_schemas.parse(schema, form)
    except InvalidInput as error:
        messages = {name: found or [STALE_FORM] for name, found in error.fields.items()}
        raise InvalidInput(error.message, fields=messages) from None
