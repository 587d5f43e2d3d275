"""Inputs of the workspace pages: the search box and the portfolio's filters.

They return typed values, with French messages, and never query the database: whether a
territory belongs to the département is the service's question.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema
from stdnum.fr import nir as stdnum_nir

from carnet.records.models import search_key
from carnet.records.schemas import FormSchema, parse
from carnet.security import crypto
from carnet.security.permissions import GroupRole

__all__ = [
    "PortfolioFilterInput",
    "PortfolioFilters",
    "SearchInput",
    "SearchKind",
    "SearchQuery",
    "Sort",
    "Status",
    "parse",
]

QUERY_MIN = 2
QUERY_MAX = 100
MAX_TOKENS = 6
SHORT_QUERY = (
    f"Saisissez au moins {QUERY_MIN} caractères : un nom, un prénom, ou un identifiant "
    "(NIR, numéro CAF ou MSA, identifiant France Travail ou départemental)."
)
BAD_IDENTIFIER = (
    "Cet identifiant n'est pas lisible : saisissez-le tel quel, en chiffres et en lettres, "
    "40 caractères au plus."
)
# What may be an identifier: letters and digits, with spaces, dots, dashes or slashes.
_IDENTIFIER_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z .\-/]{0,39}$")
# A NIR, with or without its 2-digit key (Corsica writes 2A / 2B at the département place).
_NIR_RE = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{6}(?:[0-9]{2})?$")
_SEPARATORS_RE = re.compile(r"[\s.\-/]")
_NOT_WORD_RE = re.compile(r"[^a-z0-9]+")


class SearchKind(StrEnum):
    """What the search box holds, as `classify` reads it."""

    IDENTIFIER = "identifier"  # CAF / MSA number, France Travail id, département id
    NAME = "name"
    NIR = "nir"


@dataclass(frozen=True)
class SearchQuery:
    """A search, checked and normalised."""

    kind: SearchKind
    # NIR: the 15 normalised characters; identifier: as typed, trimmed; name: the words
    # of the query in `search_name`'s form (lower-case, accent-free).
    value: str
    tokens: tuple[str, ...] = ()

    @property
    def is_identifier(self) -> bool:
        return self.kind is not SearchKind.NAME


def _nir_or_none(compact: str) -> str | None:
    """The NIR the text holds, with its key computed when only 13 characters were typed;
    None when the text is not shaped like a NIR. Raises InvalidNir when it is shaped like
    one but does not check out."""
    if not _NIR_RE.match(compact):
        return None
    if len(compact) == 13:
        compact += stdnum_nir.calc_check_digits(compact)
    return crypto.normalise_nir(compact)


def classify(text: str) -> SearchQuery:
    """What the search box holds: an identifier (it has a digit; names have none) or names.

    Raises ValidationError with a French message for a query too short or unreadable."""
    text = " ".join(text.split())
    if len(text) < QUERY_MIN:
        raise ValidationError(SHORT_QUERY)
    if any(c.isdigit() for c in text):
        if not _IDENTIFIER_RE.match(text):
            raise ValidationError(BAD_IDENTIFIER)
        compact = _SEPARATORS_RE.sub("", text).upper()
        try:
            nir = _nir_or_none(compact)
        except crypto.InvalidNir as exc:
            raise ValidationError(str(exc)) from exc
        if nir is not None:
            return SearchQuery(SearchKind.NIR, nir)
        return SearchQuery(SearchKind.IDENTIFIER, text)
    words = _NOT_WORD_RE.sub(" ", search_key(text)).split()
    if sum(len(word) for word in words) < QUERY_MIN:
        raise ValidationError(SHORT_QUERY)
    # Longest words first: they select best; the rest would only narrow further.
    tokens = sorted(dict.fromkeys(words), key=lambda w: (-len(w), w))[:MAX_TOKENS]
    return SearchQuery(SearchKind.NAME, " ".join(words), tuple(tokens))


class SearchInput(FormSchema):
    """The search box: `q`, by GET (`/recherche?q=…`) or by the page's POST form."""

    q = fields.String(
        required=True,
        validate=validate.Length(
            max=QUERY_MAX, error=f"La recherche compte au plus {QUERY_MAX} caractères."
        ),
        error_messages={"required": SHORT_QUERY, "invalid": SHORT_QUERY},
    )

    @validates_schema
    def _readable(self, data: dict[str, Any], **_: Any) -> None:
        if "q" in data and len(data["q"]) <= QUERY_MAX:
            try:
                classify(data["q"])
            except ValidationError as exc:
                raise ValidationError(exc.messages, field_name="q") from exc

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> SearchQuery:
        return classify(str(data["q"]))


# -- the portfolio's filters ----------------------------------------------------------------


class Status(StrEnum):
    """Which people of the portfolio to list (`?statut=`)."""

    ALL = "tous"
    NEW = "nouveaux"
    TO_HANDLE = "a_traiter"


class Sort(StrEnum):
    """The portfolio's order (`?tri=`)."""

    ALERTS = "alertes"
    LAST_CONTACT = "dernier_contact"
    NAME = "nom"
    NEXT_APPOINTMENT = "prochain_rdv"


@dataclass(frozen=True)
class PortfolioFilters:
    """The portfolio's filters, sort and page, checked."""

    role: GroupRole | None = None
    territory_id: uuid.UUID | None = None
    status: Status = Status.ALL
    sort: Sort = Sort.ALERTS
    page: int = 1

    def query_args(self) -> dict[str, str]:
        """The filters as the address carries them (the pager keeps them)."""
        args = {"statut": self.status.value, "tri": self.sort.value}
        if self.role is not None:
            args["role"] = self.role.value
        if self.territory_id is not None:
            args["territoire"] = str(self.territory_id)
        return args


# The address speaks French; the fields are English.
_QUERY_NAMES = {"role": "role", "territoire": "territory_id", "statut": "status", "tri": "sort"}


def _choice(values: list[str], message: str, default: str | None) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.OneOf(values, error=message),
        error_messages={"invalid": message},
    )


class PortfolioFilterInput(FormSchema):
    """The query string of `/accompagnements` (`?role=…&territoire=…&statut=…&tri=…`)."""

    role = _choice(
        [role.value for role in GroupRole],
        "Choisissez un rôle : référent, membre ou chargé d'orientation.",
        None,
    )
    territory_id = fields.UUID(
        load_default=None,
        error_messages={"invalid_uuid": "Ce territoire n'est pas reconnu."},
    )
    status = _choice(
        [status.value for status in Status],
        "Choisissez : à traiter, tous ou nouveaux.",
        Status.ALL.value,
    )
    sort = _choice(
        [sort.value for sort in Sort],
        "Choisissez un tri : nom, dernier contact, prochain rendez-vous ou alertes.",
        Sort.ALERTS.value,
    )
    page = fields.Integer(
        load_default=1,
        strict=False,
        validate=validate.Range(min=1, max=100_000, error="Ce numéro de page n'existe pas."),
        error_messages={"invalid": "Ce numéro de page n'existe pas."},
    )

    @pre_load
    def _from_query(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # Unknown names stay unknown (refused); English names are not accepted either.
        return {
            _QUERY_NAMES.get(key, key if key in ("page",) else f"{key}?"): value
            for key, value in data.items()
        }

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> PortfolioFilters:
        role = data.get("role")
        return PortfolioFilters(
            role=GroupRole(role) if role else None,
            territory_id=data.get("territory_id"),
            status=Status(data["status"]),
            sort=Sort(data["sort"]),
            page=int(data["page"]),
        )


# French field names for the errors shown beside the filters.
FILTER_FIELDS = {"role": "role", "territory_id": "territoire", "status": "statut", "sort": "tri"}
