"""Input schemas of the plan pages: one per use case, French messages, unknown fields refused.

They return typed values and never query the database: whether a theme belongs to the
département, or an objective to the person, is the service's question. The `version`
field carries the version of the row the form was built from (optimistic locking).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, post_load, validate

from carnet.plan.models import ActionOrigin, ActionStatus, ObjectiveStatus
from carnet.records.schemas import FormSchema, parse
from carnet.referential.schemas import (
    checkbox_field,
    choice_field,
    details_field,
    label_field,
    plausible_date,
    version_field,
)

LABEL_MAX = 200
EARLIEST = dt.date(2000, 1, 1)

__all__ = [
    "ActionChange",
    "ActionInput",
    "ActionUpdateInput",
    "NewObjective",
    "ObjectiveChange",
    "ObjectiveInput",
    "ObjectiveUpdateInput",
    "parse",
]


_OBJECTIVE_STATUS = "Choisissez le statut : en cours, atteint ou abandonné."
_ACTION_STATUS = (
    "Choisissez le statut : prévue, en cours, réalisée, abandonnée, annulée ou en attente."
)
_ORIGIN = "Choisissez l'origine : référent, partenaire, la personne ou une prescription."


# -- objectives ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewObjective:
    theme_id: uuid.UUID
    label: str
    details: str | None
    due_on: dt.date | None
    has_person_consent: bool


@dataclass(frozen=True)
class ObjectiveChange:
    label: str
    details: str | None
    due_on: dt.date | None
    has_person_consent: bool
    status: ObjectiveStatus
    version: int


class ObjectiveInput(FormSchema):
    theme_id = fields.UUID(
        required=True,
        error_messages={
            "required": "Choisissez le thème de l'objectif.",
            "invalid_uuid": "Choisissez un thème de la liste.",
            "invalid": "Choisissez un thème de la liste.",
        },
    )
    label = label_field(LABEL_MAX)
    details = details_field()
    due_on = plausible_date(EARLIEST, "Cette échéance n'est pas vraisemblable.")
    has_person_consent = checkbox_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> NewObjective:
        return NewObjective(
            theme_id=data["theme_id"],
            label=data["label"],
            details=data["details"],
            due_on=data["due_on"],
            has_person_consent=data["has_person_consent"],
        )


class ObjectiveUpdateInput(FormSchema):
    label = label_field(LABEL_MAX)
    details = details_field()
    due_on = plausible_date(EARLIEST, "Cette échéance n'est pas vraisemblable.")
    has_person_consent = checkbox_field()
    status = choice_field([s.value for s in ObjectiveStatus], _OBJECTIVE_STATUS)
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ObjectiveChange:
        return ObjectiveChange(
            label=data["label"],
            details=data["details"],
            due_on=data["due_on"],
            has_person_consent=data["has_person_consent"],
            status=ObjectiveStatus(data["status"]),
            version=data["version"],
        )


# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionChange:
    label: str
    details: str | None
    due_on: dt.date | None
    origin: ActionOrigin
    status: ActionStatus
    version: int | None = None


class ActionInput(FormSchema):
    label = label_field(LABEL_MAX)
    details = details_field()
    due_on = plausible_date(EARLIEST, "Cette échéance n'est pas vraisemblable.")
    origin = choice_field([o.value for o in ActionOrigin], _ORIGIN)
    status = fields.String(
        load_default=ActionStatus.PLANNED.value,
        validate=validate.OneOf([s.value for s in ActionStatus], error=_ACTION_STATUS),
        error_messages={"invalid": _ACTION_STATUS},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ActionChange:
        return ActionChange(
            label=data["label"],
            details=data["details"],
            due_on=data["due_on"],
            origin=ActionOrigin(data["origin"]),
            status=ActionStatus(data["status"]),
            version=data.get("version"),
        )


class ActionUpdateInput(ActionInput):
    status = choice_field([s.value for s in ActionStatus], _ACTION_STATUS)
    version = version_field()
