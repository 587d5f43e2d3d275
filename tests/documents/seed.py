"""Sofia's document, added to the seeded world on demand (the route walker and the document
tests share it), and small files of every kind to upload."""

from __future__ import annotations

import uuid

from carnet import db
from carnet.demo.documents import pdf_bytes, png_bytes
from carnet.documents import services
from carnet.documents.models import DocumentKind
from carnet.records.models import Beneficiary
from carnet.security import scoping
from tests.records.world import World

CV_TEXT = "Curriculum vitae - Sofia Benali"
# The smallest file a JPEG decoder recognises as one: SOI, an APP0 (JFIF) header, EOI.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)


def cv_pdf() -> bytes:
    return pdf_bytes(CV_TEXT, ["Objectif : agente de propreté", "Permis B"])


def scan_png() -> bytes:
    return png_bytes(seed=7)


def document_of(world: World) -> uuid.UUID:
    """The id of Sofia's CV (a PDF deposited by her référent); stored, sealed, on first use
    and remembered on the world."""
    known = world.__dict__.get("document_id")
    if known is not None:
        return uuid.UUID(str(known))
    with scoping.unscoped():
        person = db.session().get(Beneficiary, world.person.id)
        assert person is not None
        upload = services.Upload(DocumentKind.CV, "CV de mars", "CV Sofia Benali.pdf", cv_pdf())
        document_id = uuid.uuid4()
        db.session().add(
            services._new_row(
                person=person,
                document_id=document_id,
                upload=upload,
                checked=services.check_file(upload),
                uploaded_by_account_id=world.referent.id,
                uploaded_by_organisation_id=world.departement_org.id,
            )
        )
        db.session().flush()
    world.__dict__["document_id"] = document_id
    return document_id
