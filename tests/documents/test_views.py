"""The document pages: who lists, uploads, downloads and deletes; what is refused (type,
size, emptiness, CSRF); how files are stored (sealed, gone with the person's key); what a
download carries; and what the logs keep."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from carnet import db
from carnet.documents import services
from carnet.documents.models import MAX_BYTES, Document, DocumentFormat, DocumentKind
from carnet.records.models import TimelineEvent
from carnet.security import crypto, scoping
from carnet.security.permissions import Outcome
from tests.documents.seed import JPEG, cv_pdf, document_of, scan_png
from tests.records.world import audit_rows, build_world, count, send, text, token

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


@pytest.fixture
def world(db_session):
    built = build_world()
    document_of(built)
    return built


def _url(world):
    return f"/personnes/{world.person.id}/documents"


def _download_url(world, document_id=None):
    return f"{_url(world)}/{document_id or document_of(world)}/telecharger"


def _delete_url(world, document_id=None):
    return f"{_url(world)}/{document_id or document_of(world)}/supprimer"


def _rows(world):
    with scoping.unscoped():
        db.session().expire_all()
        return list(
            db.session().scalars(
                select(Document)
                .where(Document.beneficiary_id == world.person.id)
                .order_by(Document.uploaded_at)
            )
        )


def _timeline(world):
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(TimelineEvent)
                .where(
                    TimelineEvent.beneficiary_id == world.person.id,
                    TimelineEvent.kind.like("documents:%"),
                )
                .order_by(TimelineEvent.occurred_at)
            )
        )


def _snapshot():
    return {"documents": count(Document), "timeline": count(TimelineEvent)}


def _upload(client, world, content, filename, *, kind="cv", mimetype="application/pdf", **extra):
    """POST the upload form like a browser (multipart, with the session's CSRF token)."""
    csrf = token(client, _url(world))
    response = send(
        client,
        _url(world),
        {"kind": kind, "fichier": (io.BytesIO(content), filename, mimetype), **extra},
        csrf=csrf,
    )
    # The test client spools a large body to a temporary file that it never closes.
    response.request.environ["wsgi.input"].close()
    return response


def _login_referent(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)


# -- reading -----------------------------------------------------------------------------------


def test_referent_lists_the_documents_and_the_read_is_logged(client, world, login_as):
    _login_referent(client, world, login_as)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Documents de Sofia Benali</h1>" in body
    assert "CV Sofia Benali.pdf" in body
    assert "CV de mars" in body
    assert "par Romane Référente, Service insertion du Département" in body
    assert hashlib.sha256(cv_pdf()).hexdigest() in body
    assert "Déposer un document" in body
    assert 'enctype="multipart/form-data"' in body
    assert "Supprimer" in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("documents:read", "documents:documents:read", Outcome.ALLOWED)
    ]


@pytest.mark.parametrize("who", ["ml_member", "health_member"])
def test_members_read_and_download_but_cannot_upload_or_delete(client, world, login_as, who):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    body = text(client.get(_url(world)))
    assert "CV Sofia Benali.pdf" in body
    assert "Télécharger" in body
    assert "Déposer un document" not in body
    assert "Supprimer" not in body
    assert client.get(_download_url(world)).data == cv_pdf()
    before = _snapshot()
    response = _upload(client, world, cv_pdf(), "cv.pdf")
    assert response.status_code == 403
    csrf = token(client, _url(world))
    refused = send(client, _delete_url(world), {"confirm": "1"}, csrf=csrf)
    assert refused.status_code == 403
    assert _snapshot() == before
    denied = audit_rows(
        beneficiary_id=world.person.id, actor_account_id=pro.id, section="documents:write"
    )
    assert [r.outcome for r in denied] == [Outcome.DENIED, Outcome.DENIED]


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        ("officer", 403, "Vous ne faites pas partie du groupe de suivi de cette personne."),
        ("outsider", 403, "Vous ne faites pas partie du groupe de suivi de cette personne."),
        ("structure_admin", 403, "Vous ne faites pas partie du groupe de suivi"),
        ("foreign", 404, "Ce carnet n'existe pas ou ne vous est pas accessible."),
    ],
)
def test_people_without_the_section_are_refused_and_the_refusal_is_logged(
    client, world, login_as, who, status, message
):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    for url in (_url(world), _download_url(world), _delete_url(world)):
        response = client.get(url)
        body = response.get_data().decode(errors="replace")
        assert response.status_code == status, url
        assert message in text(response)
        assert "Benali" not in body
        assert "%PDF" not in body
        assert "Content-Disposition" not in response.headers
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=pro.id)
    assert [(r.outcome, r.section) for r in rows] == [(Outcome.DENIED, "documents:read")] * 3


def test_another_person_gets_not_found(client, world, login_as):
    login_as(client, world.other_person_account)
    for url in (_url(world), _download_url(world)):
        response = client.get(url)
        assert response.status_code == 404
        assert b"%PDF" not in response.data
    rows = audit_rows(
        beneficiary_id=world.person.id, actor_account_id=world.other_person_account.id
    )
    assert [r.outcome for r in rows] == [Outcome.DENIED, Outcome.DENIED]


def test_the_record_page_links_to_documents_only_for_those_who_may_read_them(
    client, world, login_as, make_client
):
    link = f'href="/personnes/{world.person.id}/documents"'
    _login_referent(client, world, login_as)
    assert link in text(client.get(f"/personnes/{world.person.id}"))
    officer = make_client()
    login_as(officer, world.officer.account, world.officer.membership)
    assert link not in text(officer.get(f"/personnes/{world.person.id}"))


# -- downloading -------------------------------------------------------------------------------


def test_a_download_is_an_attachment_with_protective_headers_and_is_logged(client, world, login_as):
    _login_referent(client, world, login_as)
    response = client.get(_download_url(world))
    assert response.status_code == 200
    assert response.data == cv_pdf()
    headers = response.headers
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"CV Sofia Benali.pdf\"; filename*=UTF-8''CV%20Sofia%20Benali.pdf"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    csp = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
    assert csp[0] == "sandbox"
    assert "default-src 'none'" in csp
    assert "script-src 'none'" in csp
    assert len(headers.getlist("Content-Security-Policy")) == 1
    assert "inline" not in headers["Content-Disposition"]
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.object_id, r.outcome) for r in rows] == [
        ("documents:read", "documents:document:downloaded", document_of(world), Outcome.ALLOWED)
    ]
    # A read is not an event of the journey: the access log keeps it, the timeline does not.
    assert [e.kind for e in _timeline(world)] == []


def test_the_person_downloads_his_or_her_own_documents(client, world, login_as):
    login_as(client, world.person_account)
    response = client.get(_download_url(world))
    assert response.status_code == 200
    assert response.data == cv_pdf()


def test_an_unknown_document_is_not_found(client, world, login_as):
    _login_referent(client, world, login_as)
    response = client.get(_download_url(world, world.objective_id))
    assert response.status_code == 404
    assert "Ce document n'existe pas, ou plus, dans ce carnet." in text(response)


# -- uploading ---------------------------------------------------------------------------------


def test_referent_uploads_a_pdf_stored_sealed_with_its_fingerprint(client, world, login_as):
    _login_referent(client, world, login_as)
    content = cv_pdf().replace(b"Sofia", b"Sofie")
    before = _snapshot()
    response = _upload(
        client, world, content, "Attestation CAF.pdf", kind="attestation", description="De mai"
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Le document est enregistré, chiffré, dans le carnet." in page
    assert "Attestation CAF.pdf" in page
    assert "De mai" in page
    assert _snapshot() == {"documents": before["documents"] + 1, "timeline": before["timeline"] + 1}
    row = _rows(world)[-1]
    with scoping.unscoped():
        sealed = db.session().scalar(select(Document.content_sealed).where(Document.id == row.id))
    assert row.kind is DocumentKind.CERTIFICATE
    assert row.file_format is DocumentFormat.PDF
    assert row.size_bytes == len(content)
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    # What the database holds is ciphertext: neither the file nor its name nor its words.
    assert sealed != content
    assert content[:200] not in sealed
    assert b"%PDF" not in sealed
    assert b"Attestation CAF" not in row.filename_sealed
    assert row.description_sealed is not None
    assert b"De mai" not in row.description_sealed
    event = _timeline(world)[-1]
    assert event.kind == "documents:document:added"
    assert event.details == {"document_id": str(row.id), "kind": "attestation"}
    rows = audit_rows(beneficiary_id=world.person.id, tag="documents:document:created")
    assert [(r.section, r.object_id, r.outcome) for r in rows] == [
        ("documents:write", row.id, Outcome.ALLOWED)
    ]
    assert client.get(_download_url(world, row.id)).data == content


@pytest.mark.parametrize(
    ("content", "sent_as", "sent_type", "stored_as", "media_type"),
    [
        (scan_png(), "carte.png", "image/png", "carte.png", "image/png"),
        (JPEG, "photo.jpeg", "image/jpeg", "photo.jpg", "image/jpeg"),
        # The type comes from the content: the name's extension and the browser's word lie.
        (scan_png(), "carte.pdf", "application/pdf", "carte.png", "image/png"),
        (cv_pdf(), "cv.html", "text/html", "cv.pdf", "application/pdf"),
        (JPEG, "IMG_2041", "application/octet-stream", "IMG_2041.jpg", "image/jpeg"),
    ],
)
def test_the_type_is_detected_from_the_content_and_the_extension_follows(
    client, world, login_as, content, sent_as, sent_type, stored_as, media_type
):
    _login_referent(client, world, login_as)
    response = _upload(client, world, content, sent_as, kind="piece_identite", mimetype=sent_type)
    assert response.status_code == 302
    row = _rows(world)[-1]
    download = client.get(_download_url(world, row.id))
    assert download.headers["Content-Type"] == media_type
    assert f'filename="{stored_as}"' in download.headers["Content-Disposition"]
    assert download.data == content


@pytest.mark.parametrize(
    ("content", "filename", "mimetype", "message"),
    [
        (HTML, "cv.pdf", "application/pdf", services.WRONG_TYPE_MESSAGE),
        (EXE, "setup.exe", "application/x-msdownload", services.WRONG_TYPE_MESSAGE),
        (EXE, "facture.pdf", "application/pdf", services.WRONG_TYPE_MESSAGE),
        (b"GIF89a\x01\x00\x01\x00", "image.gif", "image/gif", services.WRONG_TYPE_MESSAGE),
        (b"PK\x03\x04" + b"\x00" * 40, "cv.docx", "application/octet-stream", "PDF, JPEG ou PNG"),
        (b"", "vide.pdf", "application/pdf", services.EMPTY_MESSAGE),
        (b"%PDF-1.4\n" + b"0" * MAX_BYTES, "gros.pdf", "application/pdf", "5 Mo"),
    ],
)
def test_unaccepted_files_are_refused_in_french_and_nothing_is_written(
    client, world, login_as, content, filename, mimetype, message
):
    _login_referent(client, world, login_as)
    before = _snapshot()
    response = _upload(client, world, content, filename, mimetype=mimetype)
    body = text(response)
    assert response.status_code == 422
    assert message in body
    assert "Le formulaire contient des erreurs" in body
    assert 'aria-invalid="true"' in body
    assert _snapshot() == before
    # The page shown again is a read; no write was claimed in the access log.
    assert audit_rows(beneficiary_id=world.person.id, section="documents:write") == []


def test_the_accepted_types_are_named_when_a_type_is_refused(client, world, login_as):
    _login_referent(client, world, login_as)
    body = text(_upload(client, world, HTML, "page.html", mimetype="text/html"))
    assert "Formats acceptés : PDF, JPEG ou PNG" in body


def test_a_form_without_a_file_or_a_kind_is_refused(client, world, login_as):
    _login_referent(client, world, login_as)
    csrf = token(client, _url(world))
    no_file = send(client, _url(world), {"kind": "cv"}, csrf=csrf)
    assert no_file.status_code == 422
    assert services.NO_FILE_MESSAGE in text(no_file)
    no_kind = _upload(client, world, cv_pdf(), "cv.pdf", kind="")
    assert no_kind.status_code == 422
    assert "Ce champ est obligatoire." in text(no_kind)
    bad_kind = _upload(client, world, cv_pdf(), "cv.pdf", kind="passeport_diplomatique")
    assert bad_kind.status_code == 422
    assert "Choisissez le type de document" in text(bad_kind)
    too_long = _upload(client, world, cv_pdf(), "cv.pdf", description="x" * 201)
    assert too_long.status_code == 422
    assert "La description compte au plus 200 caractères." in text(too_long)


def test_a_body_above_the_request_limit_gets_the_page_with_a_french_message(
    client, world, login_as, app
):
    _login_referent(client, world, login_as)
    before = _snapshot()
    huge = b"%PDF-1.4\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = _upload(client, world, huge, "scan.pdf")
    body = text(response)
    assert response.status_code == 413
    assert "Le fichier dépasse la taille maximale de 5 Mo." in body
    assert "Déposer un document" in body
    assert "Traceback" not in body
    assert _snapshot() == before
    assert audit_rows(beneficiary_id=world.person.id, section="documents:write") == []


def test_an_upload_without_the_csrf_token_is_refused(client, world, login_as):
    _login_referent(client, world, login_as)
    client.get(_url(world))
    before = _snapshot()
    response = client.post(
        _url(world),
        data={"kind": "cv", "fichier": (io.BytesIO(cv_pdf()), "cv.pdf", "application/pdf")},
        headers={"Referer": f"https://carnet.test{_url(world)}"},
    )
    assert response.status_code == 400
    assert "Formulaire refusé" in text(response)
    forged = client.post(
        _url(world),
        data={
            "kind": "cv",
            "csrf_token": "forged",
            "fichier": (io.BytesIO(cv_pdf()), "cv.pdf", "application/pdf"),
        },
        headers={"Referer": f"https://carnet.test{_url(world)}"},
    )
    assert forged.status_code == 400
    assert _snapshot() == before
    # With the form's token, the same upload goes through.
    accepted = client.submit(
        _url(world),
        {"kind": "cv", "fichier": (io.BytesIO(cv_pdf()), "cv.pdf", "application/pdf")},
    )
    assert accepted.status_code == 302


# -- file names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\System32\\evil.exe", "evil.pdf"),
        ("/var/www/cv.pdf", "cv.pdf"),
        ("CV\r\nSet-Cookie: session=x.pdf", "CVSet-Cookie_ session=x.pdf"),
        ("rapport\x00.exe.pdf", "rapport.exe.pdf"),
        ("facture\u202egpj.pdf", "facturegpj.pdf"),  # a right-to-left override, removed
        ("Récépissé été 2026 – 日本.PDF", "Récépissé été 2026 – 日本.pdf"),
        ("Re\u0301ce\u0301pisse\u0301.pdf", "Récépissé.pdf"),  # decomposed accents, composed
        ('a<b>c:"d"|e?f*.pdf', "a_b_c__d__e_f.pdf"),
        (".htaccess", "cv.pdf"),
        ("...", "cv.pdf"),
        ("", "cv.pdf"),
        (None, "cv.pdf"),
        ("  espaces   multiples  .pdf", "espaces multiples.pdf"),
        ("x" * 300 + ".pdf", "x" * services.STEM_MAX + ".pdf"),
    ],
)
def test_file_names_are_cleaned(raw, expected):
    assert services.clean_filename(raw, DocumentFormat.PDF, DocumentKind.CV) == expected


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("Récépissé été.pdf", "Recepisse ete.pdf"),
        ("日本語.png", "document.png"),
        ("Dossier CAF – mai.jpg", "Dossier CAF mai.jpg"),
    ],
)
def test_the_ascii_fallback_name_keeps_what_it_can(name, fallback):
    assert services.ascii_filename(name) == fallback


def test_the_default_name_follows_the_kind_and_the_extension_the_format():
    clean = services.clean_filename
    assert clean("", DocumentFormat.PNG, DocumentKind.IDENTITY) == "piece-identite.png"
    assert clean("/", DocumentFormat.JPEG, DocumentKind.TAX_NOTICE) == "avis-imposition.jpg"


def test_hostile_names_never_reach_the_download_headers(client, world, login_as):
    _login_referent(client, world, login_as)
    # A browser sends a name's CR, LF and quotes percent-encoded (HTML's multipart rules);
    # other control characters arrive as they are.
    response = _upload(
        client, world, cv_pdf(), "../../secret%0D%0AX-Injected: 1\x07\x1b\t%22q%22.pdf"
    )
    assert response.status_code == 302
    row = _rows(world)[-1]
    download = client.get(_download_url(world, row.id))
    disposition = download.headers["Content-Disposition"]
    assert "X-Injected" not in download.headers
    assert not any(c in disposition for c in "\r\n\x07\x1b\t")
    assert "../" not in disposition
    assert disposition == (
        'attachment; filename="secret_0D_0AX-Injected_ 1_q.pdf"; '
        "filename*=UTF-8''secret_0D_0AX-Injected_%201_q.pdf"
    )


def test_a_file_sent_as_a_plain_field_is_refused(client, world, login_as):
    """A body whose file part lost its name (a broken client) is not taken for a file."""
    _login_referent(client, world, login_as)
    csrf = token(client, _url(world))
    before = _snapshot()
    response = send(client, _url(world), {"kind": "cv", "fichier": "%PDF-1.4 bonjour"}, csrf=csrf)
    assert response.status_code == 422
    assert _snapshot() == before


def test_a_unicode_name_is_sent_as_rfc_5987_with_an_ascii_fallback(client, world, login_as):
    _login_referent(client, world, login_as)
    _upload(client, world, cv_pdf(), "Récépissé été.pdf")
    row = _rows(world)[-1]
    download = client.get(_download_url(world, row.id))
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="Recepisse ete.pdf"; '
        "filename*=UTF-8''R%C3%A9c%C3%A9piss%C3%A9%20%C3%A9t%C3%A9.pdf"
    )
    assert "Récépissé été.pdf" in text(client.get(_url(world)))


# -- encryption at rest ------------------------------------------------------------------------


def test_documents_are_unreadable_once_the_persons_key_is_destroyed(client, world, login_as):
    _login_referent(client, world, login_as)
    with scoping.unscoped(), db.unit_of_work() as session:
        crypto.current().shred(session, beneficiary_id=world.person.id)
    response = client.get(_download_url(world))
    assert response.status_code == 404
    assert b"%PDF" not in response.data
    assert (
        "Ce document ne peut plus être ouvert : les données de cette personne ont été "
        "effacées (leur clé de chiffrement a été détruite)." in text(response)
    )
    page = text(client.get(_url(world)))
    assert "Nom illisible (données effacées)" in page
    assert "CV Sofia Benali.pdf" not in page
    assert "Ce document ne peut plus être ouvert" in page
    # The ciphertext is still there, and opens under no key.
    row = _rows(world)[0]
    with scoping.unscoped(), pytest.raises(crypto.KeyShredded):
        services._open_bytes(world.person, row.id, services.CONTENT_COLUMN, _sealed_content(row.id))


def _sealed_content(document_id):
    with scoping.unscoped():
        return db.session().scalar(
            select(Document.content_sealed).where(Document.id == document_id)
        )


def test_an_altered_file_is_not_sent(client, world, login_as):
    _login_referent(client, world, login_as)
    with scoping.unscoped(), db.unit_of_work() as session:
        row = session.get(Document, document_of(world))
        sealed = bytearray(_sealed_content(row.id))
        sealed[-1] ^= 0x01
        row.content_sealed = bytes(sealed)
    response = client.get(_download_url(world))
    assert response.status_code == 503
    assert "Impossible de déchiffrer ce document pour le moment." in text(response)
    assert b"%PDF" not in response.data


def test_a_file_copied_onto_another_row_does_not_open(client, world, login_as):
    _login_referent(client, world, login_as)
    _upload(client, world, scan_png(), "carte.png", kind="piece_identite")
    first, second = _rows(world)
    with scoping.unscoped(), db.unit_of_work() as session:
        copied = session.get(Document, second.id)
        copied.content_sealed = _sealed_content(first.id)
    response = client.get(_download_url(world, second.id))
    assert response.status_code == 503


# -- deleting ----------------------------------------------------------------------------------


def test_referent_deletes_a_document_for_good_after_confirming(client, world, login_as):
    _login_referent(client, world, login_as)
    page = text(client.get(_delete_url(world)))
    assert "La suppression est définitive." in page
    assert "ne pourra pas être récupéré" in page
    csrf = token(client, _url(world))
    unconfirmed = send(client, _delete_url(world), {}, csrf=csrf)
    assert unconfirmed.status_code == 422
    assert "Cochez la case pour confirmer" in text(unconfirmed)
    assert len(_rows(world)) == 1
    response = send(client, _delete_url(world), {"confirm": "1"}, csrf=csrf)
    assert response.status_code == 302
    assert "Le document est supprimé définitivement." in text(client.get(_url(world)))
    assert _rows(world) == []
    assert count(Document) == 0
    event = _timeline(world)[-1]
    assert event.kind == "documents:document:deleted"
    # The trace names the kind of document, nothing of its name or content.
    assert event.details == {"document_id": str(document_of(world)), "kind": "cv"}
    rows = audit_rows(beneficiary_id=world.person.id, tag="documents:document:deleted")
    assert [(r.section, r.object_id, r.outcome) for r in rows] == [
        ("documents:write", document_of(world), Outcome.ALLOWED)
    ]
    gone = client.get(_download_url(world))
    assert gone.status_code == 404
    history = text(client.get(f"/personnes/{world.person.id}/historique?domaine=documents"))
    assert "Document supprimé" in history


def test_the_person_may_delete_his_or_her_own_upload_but_not_the_referents(client, world, login_as):
    login_as(client, world.person_account)
    assert "Supprimer" not in text(client.get(_url(world)))
    page = text(client.get(_delete_url(world)))
    assert "Seuls la personne qui a déposé ce document et le référent peuvent le supprimer." in page
    csrf = token(client, _url(world))
    refused = send(client, _delete_url(world), {"confirm": "1"}, csrf=csrf)
    assert refused.status_code == 403
    assert len(_rows(world)) == 1
    _upload(client, world, scan_png(), "ma carte vitale.png", kind="autre", mimetype="image/png")
    mine = _rows(world)[-1]
    assert mine.uploaded_by_account_id == world.person_account.id
    assert mine.uploaded_by_organisation_id is None
    assert "par la personne" in text(client.get(_url(world)))
    response = send(client, _delete_url(world, mine.id), {"confirm": "1"}, csrf=csrf)
    assert response.status_code == 302
    assert [r.id for r in _rows(world)] == [document_of(world)]


def test_the_history_shows_document_events_in_french(client, world, login_as):
    _login_referent(client, world, login_as)
    _upload(client, world, scan_png(), "carte.png", kind="piece_identite")
    body = text(client.get(f"/personnes/{world.person.id}/historique?domaine=documents"))
    assert "Document déposé" in body
    assert "carte.png" not in body
