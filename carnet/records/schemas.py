"""Input schemas of the record pages: one per use case, French messages, unknown fields refused.

They return typed values and never query the database nor read the current user: whether
a professional exists, or a référent is already designated, is the service's question.
Messages are plain French strings: marshmallow 4 insists on `str` for some of them, so
lazy strings cannot be used throughout.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from carnet.errors import InvalidInput
from carnet.records.models import ContactChannel
from carnet.security.permissions import GroupRole

REQUIRED = "Ce champ est obligatoire."
REASON_MIN = 5
REASON_MAX = 500
BREAK_GLASS_REASON_MIN = 15

# The CSRF token travels with every form; Flask-WTF checks it, the schemas never see it.
_TRANSPORT_FIELDS = frozenset({"csrf_token"})


class FormSchema(Schema):
    """Base of the form schemas: unknown fields refused, strings trimmed, blanks are absent."""

    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012 - marshmallow reads this class attribute
        "unknown": "Ce champ n'est pas attendu dans ce formulaire.",
        "type": "Le formulaire envoyé n'est pas lisible.",
    }

    @pre_load
    def _trim(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    continue
            cleaned[key] = value
        return cleaned


def _text(*, minimum: int, maximum: int, what: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(
            min=minimum,
            max=maximum,
            error=f"{what} doit compter entre {minimum} et {maximum} caractères.",
        ),
        error_messages={"required": REQUIRED, "invalid": "Ce texte n'est pas lisible."},
    )


def _choice(values: list[str], message: Any) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(values, error=message),
        error_messages={"required": REQUIRED, "invalid": message},
    )


def _uuid(message: Any) -> fields.UUID:
    return fields.UUID(
        required=True,
        error_messages={"required": message, "invalid_uuid": message, "invalid": message},
    )


def parse(schema: Schema, form: Mapping[str, Any]) -> Any:
    """Load a submitted form; errors become one InvalidInput with French field messages."""
    data = {key: value for key, value in form.items() if key not in _TRANSPORT_FIELDS}
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput(
            "Le formulaire contient des erreurs : corrigez les champs signalés.",
            fields=_flatten(exc.messages),
        ) from exc


def _flatten(messages: Any) -> dict[str, list[str]]:
    if not isinstance(messages, Mapping):
        return {"_form": [str(m) for m in (messages if isinstance(messages, list) else [messages])]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        items = value if isinstance(value, list) else [value]
        flat[str(key)] = [str(item) for item in items if not isinstance(item, Mapping)]
    return flat


# -- follow-up group ------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteMember:
    membership_id: uuid.UUID  # the professional's membership in his or her organisation
    role: GroupRole
    reason: str


class InviteMemberInput(FormSchema):
    membership_id = _uuid("Choisissez le professionnel à inviter.")
    role = _choice(
        [role.value for role in GroupRole],
        "Choisissez le rôle dans le groupe : référent, membre ou chargé d'orientation.",
    )
    reason = _text(minimum=REASON_MIN, maximum=REASON_MAX, what="Le motif")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> InviteMember:
        return InviteMember(data["membership_id"], GroupRole(data["role"]), data["reason"])


@dataclass(frozen=True)
class EndMembership:
    membership_id: uuid.UUID  # the group membership to end
    reason: str


class EndMembershipInput(FormSchema):
    membership_id = _uuid("Ce membre du groupe n'est pas reconnu : rechargez la page.")
    reason = _text(minimum=REASON_MIN, maximum=REASON_MAX, what="Le motif de fin")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> EndMembership:
        return EndMembership(data["membership_id"], data["reason"])


@dataclass(frozen=True)
class ChangeReferent:
    membership_id: uuid.UUID  # the new référent's membership in his or her organisation
    reason: str


class ChangeReferentInput(FormSchema):
    membership_id = _uuid("Choisissez le nouveau référent.")
    reason = _text(minimum=REASON_MIN, maximum=REASON_MAX, what="Le motif du changement")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ChangeReferent:
        return ChangeReferent(data["membership_id"], data["reason"])


@dataclass(frozen=True)
class BreakGlass:
    reason: str


class BreakGlassInput(FormSchema):
    reason = _text(
        minimum=BREAK_GLASS_REASON_MIN, maximum=REASON_MAX, what="Le motif de votre accès"
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BreakGlass:
        return BreakGlass(data["reason"])


# The search box (identifiers and names) is `carnet.workspace.schemas.SearchInput`.


# -- contact details ------------------------------------------------------------------------


PHONE_FORMAT = "Saisissez un numéro à 10 chiffres commençant par 0, par exemple 06 12 34 56 78."
_PHONE_CHARS = re.compile(r"^\+?[0-9 .\-()]{6,25}$")


def normalise_phone(value: str) -> str:
    """« 06.12.34.56.78 » → « 06 12 34 56 78 »; « +33 6 12… » → « +33612… »."""
    if not _PHONE_CHARS.match(value):
        raise ValidationError("Ce numéro de téléphone n'est pas valide.")
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        if not 8 <= len(digits) <= 15:
            raise ValidationError("Ce numéro de téléphone n'est pas valide.")
        return "+" + digits
    if len(digits) != 10 or not digits.startswith("0") or digits[1] == "0":
        raise ValidationError(str(PHONE_FORMAT))
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


@dataclass(frozen=True)
class ContactUpdate:
    phone: str | None
    email: str | None
    preferred_channel: ContactChannel


class ContactInput(FormSchema):
    phone = fields.String(load_default=None, error_messages={"invalid": REQUIRED})
    email = fields.Email(
        load_default=None,
        validate=validate.Length(max=254, error="Cette adresse est trop longue."),
        error_messages={"invalid": "Cette adresse électronique n'est pas valide."},
    )
    preferred_channel = _choice(
        [channel.value for channel in ContactChannel],
        "Choisissez comment vous préférez être contacté·e.",
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("phone") is not None:
            try:
                normalise_phone(data["phone"])
            except ValidationError as exc:
                errors["phone"] = [str(m) for m in exc.messages]
        channel = data.get("preferred_channel")
        if channel == ContactChannel.EMAIL.value and not data.get("email"):
            errors.setdefault("email", []).append(
                "Indiquez une adresse électronique pour être contacté·e par courriel."
            )
        if channel in (ContactChannel.SMS.value, ContactChannel.PHONE.value) and not data.get(
            "phone"
        ):
            errors.setdefault("phone", []).append(
                "Indiquez un numéro de téléphone pour être contacté·e par SMS ou téléphone."
            )
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ContactUpdate:
        phone = normalise_phone(data["phone"]) if data.get("phone") else None
        email = str(data["email"]).lower() if data.get("email") else None
        return ContactUpdate(phone, email, ContactChannel(data["preferred_channel"]))


# -- pages ----------------------------------------------------------------------------------


class PageQuery(FormSchema):
    page = fields.Integer(
        load_default=1,
        strict=False,
        validate=validate.Range(min=1, max=100_000, error="Cette page n'existe pas."),
        error_messages={"invalid": "Cette page n'existe pas."},
    )


# -- the history's filters ------------------------------------------------------------------

HISTORY_DOMAINS = ("records", "plan", "meetings", "projects", "documents", "situation", "health")
_HISTORY_EARLIEST = date(1990, 1, 1)
_HISTORY_LATEST = date(2100, 12, 31)
_HISTORY_DATE = "Indiquez une date au format jj/mm/aaaa ou aaaa-mm-jj, entre 1990 et 2100."


@dataclass(frozen=True)
class HistoryFilter:
    since: date | None
    until: date | None
    domain: str | None  # one of HISTORY_DOMAINS
    page: int


def _history_date() -> fields.Date:
    return fields.Date(
        load_default=None,
        validate=validate.Range(min=_HISTORY_EARLIEST, max=_HISTORY_LATEST, error=_HISTORY_DATE),
        error_messages={"invalid": _HISTORY_DATE, "format": _HISTORY_DATE},
    )


class HistoryFilterInput(FormSchema):
    """The query string of the history page (`?du=…&au=…&domaine=…&page=…`)."""

    since = _history_date()
    until = _history_date()
    domain = fields.String(
        load_default=None,
        validate=validate.OneOf(
            list(HISTORY_DOMAINS),
            error="Choisissez un domaine de la liste.",
        ),
        error_messages={"invalid": "Choisissez un domaine de la liste."},
    )
    page = fields.Integer(
        load_default=1,
        strict=False,
        validate=validate.Range(min=1, max=100_000, error="Ce numéro de page n'existe pas."),
        error_messages={"invalid": "Ce numéro de page n'existe pas."},
    )

    @pre_load
    def _from_query(self, data: Any, **_: Any) -> Any:
        # The address speaks French, the fields English; dates may be written the French
        # way (31/12/2025) as well as the ISO one. Unknown names stay unknown (refused).
        if not isinstance(data, Mapping):
            return data
        renamed = {"du": "since", "au": "until", "domaine": "domain", "page": "page"}
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            name = renamed.get(key, key if key not in renamed.values() else f"{key}?")
            if name in ("since", "until") and isinstance(value, str):
                match = _FRENCH_DATE.match(value.strip())
                if match:
                    day, month, year = match.groups()
                    value = f"{year}-{int(month):02d}-{int(day):02d}"
            cleaned[name] = value
        return cleaned

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since > until:
            raise ValidationError(
                "La date de fin doit être postérieure ou égale à la date de début.", "until"
            )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> HistoryFilter:
        return HistoryFilter(data["since"], data["until"], data["domain"], data["page"])


_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
