"""Input schemas of the document pages: French messages, unknown fields refused.

The file itself is not a form field: the view hands its bytes to the service, which checks
its size and its type from its content (the browser's word is never trusted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from carnet.documents.models import DocumentKind
from carnet.documents.services import DESCRIPTION_MAX
from carnet.records.schemas import FormSchema, parse
from carnet.referential.schemas import checkbox_field, choice_field

__all__ = ["DeleteInput", "DocumentFields", "DocumentInput", "parse"]

_KIND = (
    "Choisissez le type de document : pièce d'identité, justificatif de domicile, CV, "
    "attestation, diplôme ou certificat, avis d'imposition, ou autre."
)
CONFIRM_MESSAGE = (
    "Cochez la case pour confirmer : la suppression est définitive, le fichier ne pourra "
    "pas être récupéré."
)


@dataclass(frozen=True)
class DocumentFields:
    kind: DocumentKind
    description: str | None


class DocumentInput(FormSchema):
    kind = choice_field([k.value for k in DocumentKind], _KIND)
    description = fields.String(
        load_default=None,
        validate=validate.Length(
            max=DESCRIPTION_MAX,
            error=f"La description compte au plus {DESCRIPTION_MAX} caractères.",
        ),
        error_messages={"invalid": "Ce texte n'est pas lisible."},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> DocumentFields:
        return DocumentFields(kind=DocumentKind(data["kind"]), description=data["description"])


class DeleteInput(FormSchema):
    confirm = checkbox_field()

    @validates_schema
    def _confirmed(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("confirm"):
            raise ValidationError(CONFIRM_MESSAGE, field_name="confirm")
