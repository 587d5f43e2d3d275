"""Input schemas of the exit, re-entry and retention-check forms: French messages, unknown
fields refused, typed values out.

They check each field alone. Whether the fields agree (employment and its kind, dates
within the journey) is a rule of the transition, and lives in `carnet.orientation.exits`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, post_load, validate

from carnet.orientation.exits import ReentryReason
from carnet.orientation.models import EmploymentKind
from carnet.records.models import JourneyExitReason
from carnet.records.schemas import FormSchema, parse
from carnet.referential.schemas import DATE_MESSAGE, choice_field, version_field

__all__ = [
    "ExitData",
    "ExitInput",
    "FollowUpData",
    "FollowUpInput",
    "ReentryData",
    "ReentryInput",
    "parse",
]

_REASON = (
    "Choisissez le motif de sortie : emploi, formation, déménagement, fin de droit, décès "
    "ou autre motif."
)
_KIND = (
    "Choisissez le type d'emploi : CDI, CDD de 6 mois ou plus, CDD de moins de 6 mois, "
    "intérim ou création d'entreprise."
)
_REENTRY = "Choisissez la raison du retour dans la liste."
_STILL_EMPLOYED = "Indiquez si la personne est toujours en emploi : oui ou non."


def _date(required_message: str) -> fields.Date:
    return fields.Date(
        required=True,
        validate=validate.Range(
            min=dt.date(2000, 1, 1), max=dt.date(2100, 12, 31), error=DATE_MESSAGE
        ),
        error_messages={"required": required_message, "invalid": DATE_MESSAGE},
    )


@dataclass(frozen=True)
class ExitData:
    reason: JourneyExitReason
    employment_kind: EmploymentKind | None
    exited_on: dt.date


class ExitInput(FormSchema):
    reason = choice_field([r.value for r in JourneyExitReason], _REASON)
    employment_kind = fields.String(
        load_default=None,
        validate=validate.OneOf([k.value for k in EmploymentKind], error=_KIND),
        error_messages={"invalid": _KIND},
    )
    exited_on = _date("Indiquez la date de sortie.")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ExitData:
        kind = data["employment_kind"]
        return ExitData(
            reason=JourneyExitReason(data["reason"]),
            employment_kind=EmploymentKind(kind) if kind is not None else None,
            exited_on=data["exited_on"],
        )


@dataclass(frozen=True)
class ReentryData:
    reason: ReentryReason


class ReentryInput(FormSchema):
    reason = choice_field([r.value for r in ReentryReason], _REENTRY)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ReentryData:
        return ReentryData(reason=ReentryReason(data["reason"]))


@dataclass(frozen=True)
class FollowUpData:
    still_employed: bool
    checked_on: dt.date
    version: int


class FollowUpInput(FormSchema):
    still_employed = fields.String(
        required=True,
        validate=validate.OneOf(["oui", "non"], error=_STILL_EMPLOYED),
        error_messages={"required": _STILL_EMPLOYED, "invalid": _STILL_EMPLOYED},
    )
    checked_on = _date("Indiquez la date du point de suivi.")
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> FollowUpData:
        return FollowUpData(
            still_employed=data["still_employed"] == "oui",
            checked_on=data["checked_on"],
            version=data["version"],
        )
