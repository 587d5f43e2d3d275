"""Demo documents: small but valid PDF and PNG files made here in code (no binary file in
the repository), stored for a few demo people exactly as uploads are (checked, sealed)."""

from __future__ import annotations

import random
import struct
import uuid
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from carnet.documents import services as documents_services
from carnet.documents.models import DocumentKind
from carnet.records.models import Beneficiary
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:  # the loader imports this module
    from carnet.demo.loader import Case

OTHERS = 12  # followed people who get documents, besides the showcase people
NOTICE = "Document de démonstration : aucune donnée réelle."


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsi (the standard fonts' encoding), parentheses escaped."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("cp1252", "replace") + b")"


def pdf_bytes(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF 1.4 with a title and lines of text in Helvetica, with a correct
    cross-reference table (readers open it without repairing it)."""
    ops = [b"BT", b"/F1 18 Tf", b"72 770 Td", _pdf_text(title) + b" Tj", b"/F1 11 Tf"]
    ops.append(b"0 -30 Td")
    for line in (*lines, "", NOTICE):
        ops += [_pdf_text(line) + b" Tj", b"0 -16 Td"]
    ops.append(b"ET")
    stream = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\n"
    out += b"startxref\n" + str(xref).encode() + b"\n%%EOF\n"
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes(width: int = 171, height: int = 108, *, seed: int = 0) -> bytes:
    """An RGB PNG that looks like the scan of a card: a pale background, a coloured band,
    a grey photo box and lines of « text »."""
    rng = random.Random(seed)
    band = (rng.randint(40, 90), rng.randint(80, 140), rng.randint(150, 210))
    # Two-pixel « lines of text », each of its own length, right of the photo.
    line_ends = {}
    for top in range(40, height - 14, 12):
        end = width - rng.randint(10, 50)
        line_ends[top] = line_ends[top + 1] = end
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(width):
            if y < 22:
                pixel = band
            elif 30 <= y < height - 12 and 10 <= x < 50:
                pixel = (150, 150, 150)
            elif 60 <= x < line_ends.get(y, 0):
                pixel = (70, 70, 80)
            else:
                pixel = (244, 242, 236)
            row += bytes(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            _chunk(b"IEND", b""),
        )
    )


def _files(
    person: Beneficiary, job: str, rng: random.Random
) -> list[tuple[DocumentKind, str, str | None, bytes]]:
    name = f"{person.given_name} {person.family_name}"
    city = person.city or "Limoges"
    every = [
        (
            DocumentKind.CV,
            f"CV {person.given_name} {person.family_name}.pdf",
            "CV mis à jour avec la conseillère",
            pdf_bytes(
                f"Curriculum vitae - {name}",
                [
                    f"Objectif : {job}",
                    "Expériences : missions d'intérim en logistique, saisons agricoles.",
                    "Formation : CAP, attestation SST (sauveteur secouriste du travail).",
                    "Atouts : ponctualité, travail en équipe, permis en cours.",
                ],
            ),
        ),
        (
            DocumentKind.PROOF_OF_ADDRESS,
            "facture_electricite.pdf",
            "Facture d'électricité de moins de trois mois",
            pdf_bytes(
                "Facture d'électricité",
                [f"Titulaire : {name}", f"Adresse : {person.address_line or ''} {city}"],
            ),
        ),
        (
            DocumentKind.IDENTITY,
            "scan carte identite recto.png",
            "Carte d'identité, recto",
            png_bytes(seed=rng.randint(0, 10_000)),
        ),
        (
            DocumentKind.CERTIFICATE,
            "attestation_formation_sst.pdf",
            None,
            pdf_bytes(
                "Attestation de formation",
                [f"{name} a suivi la formation Sauveteur secouriste du travail (14 heures)."],
            ),
        ),
    ]
    return rng.sample(every, k=rng.randint(1, 3))


def seed(
    departement_id: uuid.UUID,
    people: Sequence[tuple[Beneficiary, Case]],
    organisations: Mapping[str, Organisation],
    rng: random.Random,
) -> int:
    """A few documents for the showcase people and OTHERS others with a référent, deposited
    by the référent or by the person. Returns the number of documents stored."""
    followed = [
        (person, case)
        for person, case in people
        if case.referent is not None and case.referent_org is not None and case.shape == "open"
    ]
    chosen = [pair for pair in followed if pair[1].showcase]
    others = [pair for pair in followed if not pair[1].showcase]
    chosen += rng.sample(others, k=min(len(others), OTHERS))
    documents: list[documents_services.DemoDocument] = []
    for person, case in chosen:
        if case.referent is None or case.referent_org is None:  # pragma: no cover - filtered
            continue
        job = rng.choice(("agent de propreté", "préparateur de commandes", "aide à domicile"))
        for kind, filename, description, content in _files(person, job, rng):
            by_person = person.account_id is not None and rng.random() < 0.4
            documents.append(
                documents_services.DemoDocument(
                    beneficiary_id=person.id,
                    kind=kind,
                    filename=filename,
                    description=description,
                    content=content,
                    uploaded_by_account_id=(
                        person.account_id
                        if by_person and person.account_id is not None
                        else case.referent.account.id
                    ),
                    uploaded_by_organisation_id=(
                        None if by_person else organisations[case.referent_org].id
                    ),
                )
            )
    return documents_services.seed_demo_documents(
        departement_id=departement_id, documents=documents, rng=rng
    )
