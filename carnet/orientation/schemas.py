"""Input schemas of the orientation pages: one per use case, French messages, unknown fields
refused. They return typed values and never query the database: whether a structure is
accredited, or a request still pending, is the service's question.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from marshmallow import fields, post_load, validate

from carnet.orientation.models import MOTIVE_MAX, OrientationType
from carnet.records.schemas import REQUIRED, FormSchema, parse

MOTIVE_MIN = 5
REASON_MAX = 500

__all__ = [
    "DecisionInput",
    "KeepInput",
    "KeepReason",
    "NewOrientation",
    "PreviousReferent",
    "QueueInput",
    "QueueQuery",
    "QueueStatus",
    "ReorientationAsk",
    "ReorientationInput",
    "parse",
]

_TYPE_MESSAGE = (
    "Choisissez le type d'orientation : sociale, socio-professionnelle ou professionnelle."
)
_ORGANISATION_MESSAGE = "Choisissez la structure qui accompagnera la personne."
_REFERENT_MESSAGE = "Choisissez un professionnel de la liste, ou aucun."
_PREVIOUS_MESSAGE = "Indiquez si l'ancien référent reste membre du groupe de suivi ou le quitte."
_STATUS_MESSAGE = "Choisissez un délai de la liste."
_PAGE_MESSAGE = "Le numéro de page n'est pas valide."


class PreviousReferent(StrEnum):
    """What becomes of the former référent when the accompaniment changes hands."""

    LEAVES = "quitte"
    STAYS_MEMBER = "reste_membre"


class QueueStatus(StrEnum):
    """The queue's filter: where each person stands against the clock."""

    IN_TIME = "dans_les_delais"
    TARGET_PASSED = "objectif_depasse"
    LIMIT_PASSED = "delai_legal_depasse"


def _text(minimum: int, maximum: int, what: str, *, required: bool = True) -> fields.String:
    extra: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.String(
        validate=validate.Length(
            min=minimum,
            max=maximum,
            error=f"{what} doit compter entre {minimum} et {maximum} caractères.",
        ),
        error_messages={"required": REQUIRED, "invalid": "Ce texte n'est pas lisible."},
        **extra,
    )


def _uuid(message: str, *, required: bool) -> fields.UUID:
    extra: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.UUID(
        error_messages={"required": message, "invalid_uuid": message, "invalid": message},
        **extra,
    )


def _choice(values: list[str], message: str, *, default: str | None = None) -> fields.String:
    extra: dict[str, Any] = {"required": True} if default is None else {"load_default": default}
    return fields.String(
        validate=validate.OneOf(values, error=message),
        error_messages={"required": message, "invalid": message},
        **extra,
    )


# -- the decision --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrientation:
    type: OrientationType
    organisation_id: uuid.UUID
    referent_membership_id: uuid.UUID | None
    motive: str
    previous_referent: PreviousReferent
    previous_referent_reason: str | None
    request_id: uuid.UUID | None = None


class DecisionInput(FormSchema):
    type = _choice([t.value for t in OrientationType], _TYPE_MESSAGE)
    organisation_id = _uuid(_ORGANISATION_MESSAGE, required=True)
    referent_membership_id = _uuid(_REFERENT_MESSAGE, required=False)
    motive = _text(MOTIVE_MIN, MOTIVE_MAX, "Le motif")
    previous_referent = _choice(
        [p.value for p in PreviousReferent], _PREVIOUS_MESSAGE, default=PreviousReferent.LEAVES
    )
    previous_referent_reason = _text(MOTIVE_MIN, REASON_MAX, "Le motif", required=False)
    request_id = _uuid("Cette demande de réorientation n'est pas reconnue.", required=False)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> NewOrientation:
        return NewOrientation(
            type=OrientationType(data["type"]),
            organisation_id=data["organisation_id"],
            referent_membership_id=data.get("referent_membership_id"),
            motive=data["motive"],
            previous_referent=PreviousReferent(data["previous_referent"]),
            previous_referent_reason=data.get("previous_referent_reason"),
            request_id=data.get("request_id"),
        )


# -- reorientation --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReorientationAsk:
    motive: str
    proposed_type: OrientationType


class ReorientationInput(FormSchema):
    motive = _text(MOTIVE_MIN, MOTIVE_MAX, "Le motif")
    proposed_type = _choice([t.value for t in OrientationType], _TYPE_MESSAGE)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ReorientationAsk:
        return ReorientationAsk(
            motive=data["motive"], proposed_type=OrientationType(data["proposed_type"])
        )


@dataclass(frozen=True)
class KeepReason:
    reason: str


class KeepInput(FormSchema):
    reason = _text(MOTIVE_MIN, MOTIVE_MAX, "Le motif")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> KeepReason:
        return KeepReason(reason=data["reason"])


# -- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueQuery:
    page: int = 1
    status: QueueStatus | None = None


class QueueInput(FormSchema):
    page = fields.Integer(
        load_default=1,
        strict=False,
        validate=validate.Range(min=1, max=100_000, error=_PAGE_MESSAGE),
        error_messages={"invalid": _PAGE_MESSAGE},
    )
    statut = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in QueueStatus], error=_STATUS_MESSAGE),
        error_messages={"invalid": _STATUS_MESSAGE},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> QueueQuery:
        status = data.get("statut")
        return QueueQuery(page=data["page"], status=QueueStatus(status) if status else None)
