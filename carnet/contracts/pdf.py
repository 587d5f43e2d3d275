"""The PDF of a signed contract version, rendered by WeasyPrint from `contracts/pdf.html`.

The same version always gives the same bytes: everything shown comes from the version's
rows (no « printed on » date), the document's dates (`dcterms.created`, `modified`) are
the instant of the second signature, the file identifier is the version's id, the font is
DejaVu Sans from the system (Debian's fonts-dejavu-core), and nothing is fetched: the
template has no external URL and the URL fetcher refuses any. The font subset embedded
in the file carries a « modified » timestamp that fontTools takes from the clock unless
SOURCE_DATE_EPOCH is set (the reproducible-builds convention it follows): rendering sets
it to the signature instant, under a lock, and puts the environment back. Its SHA-256 is stored with
the sealed file, so a copy can be checked against the record.

No Flask here: the template is rendered by a Jinja environment of its own, so a PDF can
be made in a job or a test as in a request.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
TEMPLATE = "contracts/pdf.html"
PARIS = ZoneInfo("Europe/Paris")
_EPOCH_VARIABLE = "SOURCE_DATE_EPOCH"
_RENDERING = threading.Lock()


@dataclass(frozen=True)
class ContractDocument:
    """Everything the PDF of one signed version shows."""

    contract_id: str
    version_id: str
    departement_name: str
    kind_label: str
    number: int
    person_name: str
    person_is_female: bool
    person_birth_on: date
    # The département's own number for the person, else the CAF or MSA number.
    person_reference: str | None
    organisation_name: str
    referent_name: str
    starts_on: date
    ends_on: date
    weekly_hours: int | None
    exemption_label: str | None
    exemption_details: str | None
    person_commitments: str
    support_commitments: str
    objectives: list[str]
    person_signed_at: datetime
    person_signature_mode: str
    recorded_by_name: str | None
    referent_signed_at: datetime

    @property
    def signed_at(self) -> datetime:
        """The instant the version was signed by both: the later signature."""
        return max(self.person_signed_at, self.referent_signed_at)


def _day(value: date) -> str:
    text = format_date(value, "d MMMM y", locale="fr_FR")
    return "1er" + text[1:] if value.day == 1 else text


def _instant(value: datetime) -> str:
    local = value.astimezone(PARIS)
    return f"{_day(local.date())} à {local.hour} h {local.minute:02d}"


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
_ENV.filters["day"] = _day
_ENV.filters["instant"] = _instant
_ENV.filters["w3c"] = _w3c


def html(document: ContractDocument) -> str:
    return _ENV.get_template(TEMPLATE).render(doc=document)


@contextmanager
def _source_date(instant: datetime) -> Iterator[None]:
    """SOURCE_DATE_EPOCH set to `instant` while a PDF is rendered, one PDF at a time."""
    with _RENDERING:
        previous = os.environ.get(_EPOCH_VARIABLE)
        os.environ[_EPOCH_VARIABLE] = str(int(instant.timestamp()))
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(_EPOCH_VARIABLE, None)
            else:
                os.environ[_EPOCH_VARIABLE] = previous


def render(document: ContractDocument) -> bytes:
    """The PDF bytes of a signed version: the same document, the same bytes."""
    # Imported on use: Pango is loaded only to make a PDF. Without Debian's
    # libharfbuzz-subset0, WeasyPrint 70 warns that a future version will need it and
    # subsets the font with fontTools instead, which works (see _source_date).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher

    # No protocol allowed, and a refusal stops the rendering: nothing comes from outside.
    fetcher = URLFetcher(allowed_protocols=(), fail_on_errors=True)
    page = HTML(string=html(document), base_url=None, url_fetcher=fetcher)
    with _source_date(document.signed_at):
        content: bytes = page.write_pdf(
            pdf_identifier=document.version_id.encode(), uncompressed_pdf=False
        )
    return content
