"""Service-level behaviours: the person deposits and takes back documents through the
service (the portal's pages will call it), files are checked before the record is opened,
and the timeline's labels cover every kind written."""

from __future__ import annotations

import pytest

from carnet import db
from carnet.documents import services
from carnet.documents.models import Document, DocumentFormat, DocumentKind
from carnet.errors import Denied, InvalidInput
from carnet.projects import services as projects_services
from carnet.records import schemas as records_schemas
from carnet.records import services as records_services
from carnet.security import scoping
from carnet.security.audit import AccessEvent
from carnet.security.permissions import Outcome, PrincipalRole
from carnet.security.policy import PolicyDenied
from carnet.security.principal import Principal
from tests.documents.seed import JPEG, cv_pdf, document_of, scan_png
from tests.records.world import audit_rows, build_world, count


@pytest.fixture
def world(db_session):
    built = build_world()
    document_of(built)
    return built


def _person(world):
    return Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=world.person_account.id,
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
    )


def _member(world):
    membership = world.ml_member.membership
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.ml_member.id,
        departement_id=world.departement_id,
        organisation_id=world.mission_locale.id,
        organisation_kind=world.mission_locale.kind,
        membership_id=membership.id,
    )


def test_the_person_uploads_downloads_and_deletes_through_the_service(world):
    person = _person(world)
    with scoping.scoped_to(world.departement_id):
        document_id = services.add_document(
            actor=person,
            beneficiary_id=world.person.id,
            upload=services.Upload(
                DocumentKind.PROOF_OF_ADDRESS, "Quittance d'avril", "quittance.PNG", scan_png()
            ),
        )
        page = services.list_documents(actor=person, beneficiary_id=world.person.id)
        mine = next(d for d in page.documents if d.id == document_id)
        assert mine.filename == "quittance.png"
        assert mine.file_format is DocumentFormat.PNG
        assert mine.uploader_label == "la personne"
        assert mine.may_delete
        theirs = next(d for d in page.documents if d.id == document_of(world))
        assert not theirs.may_delete
        download = services.download_document(
            actor=person, beneficiary_id=world.person.id, document_id=document_id
        )
        assert (download.content, download.media_type) == (scan_png(), "image/png")
        with pytest.raises(Denied, match="Seuls la personne qui a déposé ce document"):
            services.delete_document(
                actor=person, beneficiary_id=world.person.id, document_id=document_of(world)
            )
        services.delete_document(
            actor=person, beneficiary_id=world.person.id, document_id=document_id
        )
    with scoping.unscoped():
        assert db.session().get(Document, document_id) is None
    tags = [
        (r.tag, r.outcome)
        for r in audit_rows(
            beneficiary_id=world.person.id, actor_account_id=world.person_account.id
        )
    ]
    assert ("documents:document:created", Outcome.ALLOWED) in tags
    assert ("documents:document:downloaded", Outcome.ALLOWED) in tags
    assert ("documents:document:deleted", Outcome.ALLOWED) in tags


def test_a_member_without_the_write_level_cannot_upload_through_the_service(world):
    with scoping.scoped_to(world.departement_id), pytest.raises(PolicyDenied):
        services.add_document(
            actor=_member(world),
            beneficiary_id=world.person.id,
            upload=services.Upload(DocumentKind.CV, None, "cv.jpg", JPEG),
        )
    assert count(Document) == 1


def test_a_refused_file_is_refused_before_the_record_is_opened(world):
    before = count(AccessEvent)
    with scoping.scoped_to(world.departement_id), pytest.raises(InvalidInput) as refused:
        services.add_document(
            actor=_person(world),
            beneficiary_id=world.person.id,
            upload=services.Upload(DocumentKind.CV, None, "cv.pdf", b"<html></html>"),
        )
    assert refused.value.fields == {"fichier": [services.WRONG_TYPE_MESSAGE]}
    assert count(AccessEvent) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (cv_pdf(), DocumentFormat.PDF),
        (scan_png(), DocumentFormat.PNG),
        (JPEG, DocumentFormat.JPEG),
        (b"%PDF", None),  # too short to be the PDF header
        (b" %PDF-1.7", None),
        (b"\x89PNG", None),
        (b"\xff\xd8", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"MZ", None),
        (b"", None),
    ],
)
def test_formats_are_told_by_their_first_bytes(content, expected):
    assert services.detect_format(content) is expected


def test_every_timeline_kind_written_has_a_french_label_and_a_domain():
    written = {*services.Event, *projects_services.Event}
    assert written <= set(records_services.EVENT_LABELS)
    assert {"projects", "documents"} <= set(records_services.DOMAIN_LABELS)
    assert {"projects", "documents"} <= set(records_schemas.HISTORY_DOMAINS)
