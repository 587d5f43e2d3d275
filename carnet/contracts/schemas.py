"""Input schemas of the contract pages: one per use case, French messages, unknown fields
refused. They return typed values and never query the database: whether an objective
belongs to the journey's plan, or a transition is allowed, is the service's question.

`version` carries the counter of the version row the page showed: a signature or an edit
made on a text that changed since is refused (the person signs what he or she read).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from carnet.contracts.models import REASON_MAX, TEXT_MAX, ContractKind
from carnet.contracts.services import DURATIONS, WEEKLY_HOURS_MAX, Exemption, Terms
from carnet.records.schemas import FormSchema, parse
from carnet.referential.schemas import DATE_MESSAGE, checkbox_field, version_field

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
REQUIRED = "Ce champ est obligatoire."

__all__ = [
    "AccompaniedSignatureInput",
    "CancelInput",
    "ContractInput",
    "EditInput",
    "ElsewhereInput",
    "EmptyInput",
    "EndInput",
    "OwnSignatureInput",
    "SignatureInput",
    "TermsInput",
    "VersionInput",
    "parse",
]

_KIND = "Choisissez le type de contrat dans la liste."
_EXEMPTION = "Choisissez le motif : santé, handicap, parent isolé sans solution de garde, ou autre."
_DURATION = "Choisissez une durée de 6, 12 ou 24 mois."
_HOURS = f"Indiquez un nombre entier d'heures, entre 0 et {WEEKLY_HOURS_MAX}."
_OBJECTIVE = "Choisissez des objectifs de la liste."


def _date(*, required: bool = False, message: str = REQUIRED) -> fields.Date:
    plausible = validate.Range(
        min=EARLIEST, max=LATEST, error="Cette date n'est pas vraisemblable."
    )
    messages: dict[str, Any] = {
        "required": message,
        "invalid": DATE_MESSAGE,
        "format": DATE_MESSAGE,
    }
    if required:
        return fields.Date(required=True, validate=plausible, error_messages=messages)
    return fields.Date(load_default=None, validate=plausible, error_messages=messages)


def _text(maximum: int, what: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(
            min=3, max=maximum, error=f"{what} doit compter entre 3 et {maximum} caractères."
        ),
        error_messages={"required": REQUIRED, "invalid": "Ce texte n'est pas lisible."},
    )


def _confirmation(message: str) -> fields.Boolean:
    return fields.Boolean(
        required=True,
        truthy={"1", "on", "true", "oui"},
        falsy=set(),
        error_messages={"required": message, "invalid": message},
    )


def _ids(values: Any) -> tuple[uuid.UUID, ...]:
    try:
        return tuple(uuid.UUID(str(value)) for value in values)
    except ValueError:
        raise ValidationError(_OBJECTIVE, field_name="objective_ids") from None


class TermsInput(FormSchema):
    """The content of a version: dates, hours, commitments, objectives of the plan."""

    starts_on = _date(required=True, message="Indiquez la date de début du contrat.")
    duration_months = fields.Integer(
        load_default=None,
        strict=False,
        validate=validate.OneOf(DURATIONS, error=_DURATION),
        error_messages={"invalid": _DURATION},
    )
    ends_on = _date()
    weekly_hours = fields.Integer(
        load_default=None,
        strict=False,
        validate=validate.Range(min=0, max=WEEKLY_HOURS_MAX, error=_HOURS),
        error_messages={"invalid": _HOURS},
    )
    exemption = fields.String(
        load_default=None,
        validate=validate.OneOf([e.value for e in Exemption], error=_EXEMPTION),
        error_messages={"invalid": _EXEMPTION},
    )
    exemption_details = fields.String(
        load_default=None,
        validate=validate.Length(
            max=REASON_MAX - 20, error=f"Le motif compte au plus {REASON_MAX - 20} caractères."
        ),
        error_messages={"invalid": "Ce texte n'est pas lisible."},
    )
    person_commitments = _text(TEXT_MAX, "Les engagements de la personne")
    support_commitments = _text(TEXT_MAX, "Les engagements de la structure")
    # Strings here, checked as ids below: an error on one item of a list would otherwise
    # not reach the form as a message.
    objective_ids = fields.List(
        fields.String(error_messages={"invalid": _OBJECTIVE}),
        load_default=list,
        validate=validate.Length(max=50, error="Choisissez au plus 50 objectifs."),
        error_messages={"invalid": _OBJECTIVE},
    )
    objectives_consent = checkbox_field()

    def _terms(self, data: dict[str, Any]) -> Terms:
        exemption = data.get("exemption")
        return Terms(
            starts_on=data["starts_on"],
            duration_months=data.get("duration_months"),
            ends_on=data.get("ends_on"),
            weekly_hours=data.get("weekly_hours"),
            exemption=Exemption(exemption) if exemption else None,
            exemption_details=data.get("exemption_details"),
            person_commitments=data["person_commitments"],
            support_commitments=data["support_commitments"],
            objective_ids=_ids(data.get("objective_ids") or ()),
            objectives_consent=bool(data.get("objectives_consent")),
        )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        return self._terms(data)


@dataclass(frozen=True)
class NewContract:
    kind: ContractKind
    terms: Terms


class ContractInput(TermsInput):
    kind = fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in ContractKind], error=_KIND),
        error_messages={"required": _KIND, "invalid": _KIND},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        return NewContract(kind=ContractKind(data["kind"]), terms=self._terms(data))


@dataclass(frozen=True)
class EditedTerms:
    terms: Terms
    version: int


class EditInput(TermsInput):
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        return EditedTerms(terms=self._terms(data), version=data["version"])


class VersionInput(FormSchema):
    """A step on the open version as the page showed it (propose, take back)."""

    version = version_field()


@dataclass(frozen=True)
class Signature:
    number: int
    seen: str  # the fingerprint of the text the signer read (`services.content_key`)


_NUMBER = "Cette version n'est plus la même : rechargez la page."


class SignatureInput(FormSchema):
    """The référent's signature."""

    number = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, error=_NUMBER),
        error_messages={"required": _NUMBER, "invalid": _NUMBER},
    )
    content = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64, error=_NUMBER),
        error_messages={"required": _NUMBER, "invalid": _NUMBER},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Signature:
        return Signature(number=data["number"], seen=data["content"])


class AccompaniedSignatureInput(SignatureInput):
    """« Mode accompagné »: the référent attests that the person is there and signs."""

    person_present = _confirmation(
        "Cochez la case pour attester que la personne est présente et signe ce contrat."
    )


class OwnSignatureInput(SignatureInput):
    """The person signs in his or her space, after ticking the confirmation."""

    confirmed = _confirmation(
        "Cochez la case pour confirmer que vous avez lu le contrat et que vous le signez."
    )


@dataclass(frozen=True)
class SignedElsewhere:
    person_signed_on: dt.date
    referent_signed_on: dt.date


class ElsewhereInput(FormSchema):
    person_signed_on = _date(required=True, message="Indiquez la date de signature de la personne.")
    referent_signed_on = _date(
        required=True, message="Indiquez la date de signature de la structure."
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> SignedElsewhere:
        return SignedElsewhere(data["person_signed_on"], data["referent_signed_on"])


_REASON = f"Indiquez le motif, en {REASON_MAX} caractères au plus."


def _reason() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=3, max=REASON_MAX, error=_REASON),
        error_messages={"required": "Indiquez le motif.", "invalid": _REASON},
    )


class CancelInput(FormSchema):
    reason = _reason()


@dataclass(frozen=True)
class Ending:
    reason: str
    ended_on: dt.date | None


class EndInput(FormSchema):
    reason = _reason()
    ended_on = _date()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Ending:
        return Ending(reason=data["reason"], ended_on=data.get("ended_on"))


class EmptyInput(FormSchema):
    """A button alone (amend, withdraw): only the CSRF token travels."""
