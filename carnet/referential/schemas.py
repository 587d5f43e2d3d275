"""Input schemas of the referential pages: French messages, unknown fields refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, post_load, validate

from carnet.records.schemas import REQUIRED, FormSchema
from carnet.referential.models import Aim, EntryKind, OarsaCategory
from carnet.referential.services import EntryChange, ThemeChange

LABEL_MIN = 3
THEME_LABEL_MAX = 120
ENTRY_LABEL_MAX = 200
STALE_FORM = "Le formulaire est incomplet : rechargez la page."


def label_field(maximum: int) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(
            min=LABEL_MIN,
            max=maximum,
            error=f"Le libellé doit compter entre {LABEL_MIN} et {maximum} caractères.",
        ),
        error_messages={"required": REQUIRED, "invalid": "Ce texte n'est pas lisible."},
    )


DETAILS_MAX = 1000
LATEST = dt.date(2100, 12, 31)
DATE_MESSAGE = "Saisissez une date valide, par exemple 15/09/2026."


def details_field() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.Length(
            max=DETAILS_MAX, error=f"Les précisions comptent au plus {DETAILS_MAX} caractères."
        ),
        error_messages={"invalid": "Ce texte n'est pas lisible."},
    )


def plausible_date(earliest: dt.date, error: str) -> fields.Date:
    """An optional date between `earliest` and 2100, with French messages."""
    return fields.Date(
        load_default=None,
        validate=validate.Range(min=earliest, max=LATEST, error=error),
        error_messages={"invalid": DATE_MESSAGE, "format": DATE_MESSAGE},
    )


def choice_field(values: list[str], message: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(values, error=message),
        error_messages={"required": REQUIRED, "invalid": message},
    )


def checkbox_field() -> fields.Boolean:
    return fields.Boolean(
        load_default=False,
        truthy={"1", "on", "true", "oui"},
        falsy={"0", "off", "false", "non"},
        error_messages={"invalid": "Cette case n'est pas lisible."},
    )


def version_field() -> fields.Integer:
    return fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, error=STALE_FORM),
        error_messages={"required": STALE_FORM, "invalid": STALE_FORM},
    )


_AIM_MESSAGE = "Choisissez la visée : sociale ou professionnelle."
_OARSA = "Choisissez la catégorie statistique (OARSA) de ce thème."


class ThemeInput(FormSchema):
    label = label_field(THEME_LABEL_MAX)
    aim = choice_field([a.value for a in Aim], _AIM_MESSAGE)
    oarsa_category = choice_field([c.value for c in OarsaCategory], _OARSA)
    is_active = checkbox_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ThemeChange:
        return ThemeChange(
            label=data["label"],
            aim=Aim(data["aim"]),
            oarsa_category=OarsaCategory(data["oarsa_category"]),
            is_active=data["is_active"],
        )


class ThemeUpdateInput(ThemeInput):
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ThemeChange:
        return ThemeChange(
            label=data["label"],
            aim=Aim(data["aim"]),
            oarsa_category=OarsaCategory(data["oarsa_category"]),
            is_active=data["is_active"],
            version=data["version"],
        )


class EntryInput(FormSchema):
    kind = choice_field(
        [k.value for k in EntryKind],
        "Choisissez le type de ligne : situation, objectif ou action.",
    )
    label = label_field(ENTRY_LABEL_MAX)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> EntryChange:
        return EntryChange(label=data["label"], kind=EntryKind(data["kind"]))


class EntryUpdateInput(FormSchema):
    label = label_field(ENTRY_LABEL_MAX)
    is_active = checkbox_field()
    version = version_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> EntryChange:
        return EntryChange(
            label=data["label"], is_active=data["is_active"], version=data["version"]
        )
