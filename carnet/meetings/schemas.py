"""Input schemas of the appointment and note forms: one per use case, French messages,
unknown fields refused, typed results. They never query the database nor read the
current user; whether a save is stale is the service's question.

Dates and times are typed in French local time (Europe/Paris) and stored as aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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

from carnet import clock
from carnet.errors import InvalidInput
from carnet.meetings.models import AppointmentChannel, AppointmentKind, Attendance, NoteVisibility
from carnet.meetings.services import AppointmentDetails, AppointmentView

LOCAL_TZ = ZoneInfo("Europe/Paris")
REQUIRED = "Ce champ est obligatoire."
FORM_ERRORS = "Le formulaire contient des erreurs : corrigez les champs signalés."
PLACE_MAX = 200
TOPICS_MAX = 2000
NOTE_MAX = 5000
REASON_MIN = 5
REASON_MAX = 500
# How far from today an appointment may be planned (typing errors such as 2062).
PAST_LIMIT = timedelta(days=366)
FUTURE_LIMIT = timedelta(days=2 * 366)

_TRANSPORT_FIELDS = frozenset({"csrf_token"})


class FormSchema(Schema):
    """Unknown fields refused, strings trimmed, blank fields treated as absent."""

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


def parse(schema: Schema, form: Mapping[str, Any]) -> Any:
    """Load a submitted form; errors become one InvalidInput with French field messages."""
    data = {key: value for key, value in form.items() if key not in _TRANSPORT_FIELDS}
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages
        flat: dict[str, list[str]] = {}
        if isinstance(messages, Mapping):
            for key, value in messages.items():
                items = value if isinstance(value, list) else [value]
                flat[str(key)] = [str(item) for item in items if not isinstance(item, Mapping)]
        else:
            flat["_form"] = [
                str(m) for m in (messages if isinstance(messages, list) else [messages])
            ]
        raise InvalidInput(FORM_ERRORS, fields=flat) from exc


def _choice(values: list[str], message: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(values, error=message),
        error_messages={"required": message, "invalid": message},
    )


def _text(*, maximum: int, what: str, minimum: int = 1, required: bool = True) -> fields.String:
    extra: dict[str, Any] = {} if required else {"load_default": None}
    return fields.String(
        required=required,
        **extra,
        validate=validate.Length(
            min=minimum,
            max=maximum,
            error=f"{what} doit compter entre {minimum} et {maximum} caractères.",
        ),
        error_messages={"required": REQUIRED, "invalid": "Ce texte n'est pas lisible."},
    )


def _version() -> fields.Integer:
    message = "Le formulaire est incomplet : rechargez la page."
    return fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=2_000_000_000, error=message),
        error_messages={"required": message, "invalid": message},
    )


# -- appointments ---------------------------------------------------------------------------


KIND_MESSAGE = "Choisissez le type de rendez-vous : individuel, collectif ou tripartite."
CHANNEL_MESSAGE = "Choisissez où se tient le rendez-vous : sur place, par téléphone ou en visio."


class AppointmentInput(FormSchema):
    kind = _choice([k.value for k in AppointmentKind], KIND_MESSAGE)
    date = fields.Date(
        required=True,
        error_messages={
            "required": "Indiquez la date du rendez-vous.",
            "invalid": "Saisissez une date valide, par exemple 14/03/2027.",
        },
    )
    time = fields.Time(
        required=True,
        error_messages={
            "required": "Indiquez l'heure du rendez-vous.",
            "invalid": "Saisissez une heure valide, par exemple 14:30.",
        },
    )
    channel = _choice([c.value for c in AppointmentChannel], CHANNEL_MESSAGE)
    place = _text(maximum=PLACE_MAX, what="Le lieu", required=False)
    topics = _text(maximum=TOPICS_MAX, what="Les sujets à aborder", required=False)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("channel") == AppointmentChannel.IN_PERSON.value and not data.get("place"):
            errors["place"] = ["Indiquez le lieu du rendez-vous (adresse ou nom de la salle)."]
        day = data.get("date")
        if isinstance(day, date):
            today = clock.today()
            if not today - PAST_LIMIT <= day <= today + FUTURE_LIMIT:
                errors["date"] = [
                    "Choisissez une date entre il y a un an et dans deux ans au plus."
                ]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> AppointmentDetails:
        return AppointmentDetails(
            kind=AppointmentKind(data["kind"]),
            starts_at=local_to_utc(data["date"], data["time"]),
            channel=AppointmentChannel(data["channel"]),
            place=data.get("place") if data["channel"] == AppointmentChannel.IN_PERSON else None,
            topics=data.get("topics"),
        )


@dataclass(frozen=True)
class AppointmentEdit:
    version: int
    details: AppointmentDetails


class AppointmentEditInput(AppointmentInput):
    version = _version()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> AppointmentEdit:
        version = data.pop("version")
        return AppointmentEdit(version, super()._make(data))


@dataclass(frozen=True)
class AttendanceChange:
    version: int
    attendance: Attendance


class AttendanceInput(FormSchema):
    attendance = _choice(
        [a.value for a in Attendance], "Indiquez si la personne était présente, absente ou excusée."
    )
    version = _version()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> AttendanceChange:
        return AttendanceChange(data["version"], Attendance(data["attendance"]))


@dataclass(frozen=True)
class Cancellation:
    version: int
    reason: str


class CancellationInput(FormSchema):
    reason = _text(minimum=REASON_MIN, maximum=REASON_MAX, what="Le motif d'annulation")
    version = _version()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Cancellation:
        return Cancellation(data["version"], data["reason"])


# -- notes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewNote:
    body: str
    visibility: NoteVisibility


class NoteInput(FormSchema):
    body = _text(maximum=NOTE_MAX, what="La note")
    visibility = _choice(
        [v.value for v in NoteVisibility],
        "Choisissez qui pourra lire la note : vous seul·e, le groupe de suivi, ou aussi "
        "la personne.",
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> NewNote:
        return NewNote(data["body"], NoteVisibility(data["visibility"]))


# -- between the stored instants and the form -----------------------------------------------------


def local_to_utc(day: date, at: time) -> datetime:
    """A date and time typed in France, as an aware UTC instant."""
    return datetime.combine(day, at.replace(second=0, microsecond=0), tzinfo=LOCAL_TZ).astimezone(
        UTC
    )


def appointment_form_values(view: AppointmentView) -> dict[str, str]:
    """The edit form filled with what is stored (also used to show what changed)."""
    local = view.starts_at.astimezone(LOCAL_TZ)
    return {
        "kind": view.kind.value,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "channel": view.channel.value,
        "place": view.place or "",
        "topics": view.topics or "",
        "version": str(view.version),
    }
