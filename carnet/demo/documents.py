"""Demo documents: small but valid PDF and PNG files made here in code (no binary file in
the repository), stored exactly as uploads are (checked, sealed).

Each person with a full record has two or three documents fitting the story (an
attestation d'hébergement, a tax notice, a CV…), one in three of the lighter records one.
The référent deposits them at a meeting, or the person from his or her space one evening;
the handout a référent's last note points to (« dans vos documents ») is deposited at that
meeting.
"""

from __future__ import annotations

import random
import struct
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache

from sqlalchemy import select

from carnet import db
from carnet.demo.journal import Journal, Tier, local, paris_day
from carnet.documents import services as documents_services
from carnet.documents.models import Document, DocumentKind
from carnet.records.models import Beneficiary, TimelineEvent

SEED = 8_123
LIGHT_SHARE = 0.35
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


@cache
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


@dataclass(frozen=True)
class Paper:
    """A document as the person or the référent would upload it."""

    kind: DocumentKind
    filename: str
    description: str | None
    content: bytes


def _name(person: Beneficiary) -> str:
    return f"{person.given_name} {person.family_name}"


def _cv(person: Beneficiary, job: str) -> Paper:
    return Paper(
        DocumentKind.CV,
        f"CV {_name(person)}.pdf",
        "CV mis à jour avec le référent",
        pdf_bytes(
            f"Curriculum vitae - {_name(person)}",
            [
                f"Objectif : {job}",
                "Expériences : missions d'intérim en logistique, saisons agricoles.",
                "Formation : CAP, attestation SST (sauveteur secouriste du travail).",
                "Atouts : ponctualité, travail en équipe.",
            ],
        ),
    )


def _address(person: Beneficiary) -> Paper:
    return Paper(
        DocumentKind.PROOF_OF_ADDRESS,
        "facture_electricite.pdf",
        "Facture d'électricité de moins de trois mois",
        pdf_bytes(
            "Facture d'électricité",
            [
                f"Titulaire : {_name(person)}",
                f"Adresse : {person.address_line or ''} {person.city}",
            ],
        ),
    )


def _hosting(person: Beneficiary) -> Paper:
    return Paper(
        DocumentKind.PROOF_OF_ADDRESS,
        "attestation_hebergement.pdf",
        "Attestation d'hébergement signée par le proche qui héberge",
        pdf_bytes(
            "Attestation d'hébergement",
            [
                f"J'atteste héberger {_name(person)} à mon domicile de {person.city}.",
                "Pièce jointe : copie de ma pièce d'identité et de ma quittance de loyer.",
            ],
        ),
    )


def _tax(person: Beneficiary) -> Paper:
    return Paper(
        DocumentKind.TAX_NOTICE,
        "avis_imposition.pdf",
        "Dernier avis d'imposition (non imposable)",
        pdf_bytes(
            "Avis d'impôt sur les revenus",
            [f"Déclarant : {_name(person)}", "Revenu fiscal de référence : voir l'original."],
        ),
    )


def _identity(person: Beneficiary) -> Paper:
    return Paper(
        DocumentKind.IDENTITY,
        "scan carte identite recto.png",
        "Carte d'identité, recto",
        png_bytes(seed=person.id.int % 8),
    )


def _sst(person: Beneficiary) -> Paper:
    return Paper(
        DocumentKind.CERTIFICATE,
        "attestation_formation_sst.pdf",
        None,
        pdf_bytes(
            "Attestation de formation",
            [f"{_name(person)} a suivi la formation Sauveteur secouriste du travail (14 heures)."],
        ),
    )


def _diploma(person: Beneficiary) -> Paper:
    return Paper(
        DocumentKind.DIPLOMA,
        "diplome_traduction.pdf",
        "Diplôme obtenu à l'étranger, avec sa traduction",
        pdf_bytes(
            "Traduction certifiée conforme",
            [f"Diplôme de comptabilité délivré à {_name(person)}.", "Durée des études : 2 ans."],
        ),
    )


def _handout(title: str, filename: str, lines: Sequence[str]) -> Callable[[Beneficiary], Paper]:
    def paper(person: Beneficiary) -> Paper:
        return Paper(DocumentKind.OTHER, filename, title, pdf_bytes(title, [*lines]))

    return paper


def _job_cv(job: str) -> Callable[[Beneficiary], Paper]:
    def paper(person: Beneficiary) -> Paper:
        return _cv(person, job)

    return paper


# What the référent hands out at the last meeting, as the story's last note to the person says.
HANDOUTS: dict[str, Callable[[Beneficiary], Paper]] = {
    "mobilite": _handout(
        "Horaires de votre ligne de bus",
        "horaires_ligne_bus.pdf",
        [
            "Départs en semaine : 6 h 50, 7 h 40, 12 h 15, 17 h 30.",
            "Abonnement solidaire : 5 euros.",
        ],
    ),
    "langue": _handout(
        "Atelier sociolinguistique : adresse et horaires",
        "atelier_francais.pdf",
        ["Lundi et jeudi, de 9 h à 11 h 30, au centre social.", "Apporter un cahier et un stylo."],
    ),
    "emploi": _job_cv("cariste, préparateur de commandes"),
    "jeune": _handout(
        "Entreprises qui prennent des apprentis en cuisine",
        "entreprises_apprentissage_cuisine.pdf",
        ["Restaurants et cuisines centrales de l'agglomération.", "Contact : la mission locale."],
    ),
    "administratif": _handout(
        "Pièces à réunir pour la préfecture",
        "pieces_prefecture.pdf",
        ["Passeport, justificatif de domicile, trois photos.", "Attestation de droits CAF."],
    ),
    "isolement": _handout(
        "Sorties du centre social ce trimestre",
        "programme_sorties_centre_social.pdf",
        ["Musée, marché de producteurs, randonnée.", "Inscription à l'accueil du centre."],
    ),
    "handicap": _handout(
        "Bilan de compétences : adresse et horaires",
        "bilan_competences_convocation.pdf",
        ["Première séance lundi à 9 h 30.", "Durée : six séances de trois heures."],
    ),
}
# Documents that fit each story, besides the handout; any story: the generic ones.
FITTING: dict[str, tuple[Callable[[Beneficiary], Paper], ...]] = {
    "hebergement": (_hosting, _tax, _identity),
    "impayes": (_tax, _address, _identity),
    "mobilite": (_job_cv("préparateur de commandes"), _address),
    "garde": (_address, _tax, _job_cv("aide-soignant·e")),
    "langue": (_diploma, _identity, _address),
    "numerique": (_job_cv("agent d'entretien"), _identity),
    "reprise": (_sst, _address),
    "emploi": (_sst, _address, _identity),
    "formation": (_job_cv("assistant·e de vie aux familles"), _sst, _identity),
    "jeune": (_job_cv("apprenti·e en cuisine"), _identity),
    "creation": (_address, _tax, _identity),
    "administratif": (_identity, _address),
    "isolement": (_address, _identity),
    "handicap": (_job_cv("agent d'accueil"), _identity),
}
GENERIC = (_address, _identity, _sst)


def seed(departement_id: uuid.UUID, journals: Sequence[Journal], *, now: datetime) -> int:
    """Documents for the people with a full record and a third of the lighter ones,
    deposited at a meeting by the référent or one evening by the person. Returns the
    number of documents stored."""
    rng = random.Random(SEED)
    documents: list[documents_services.DemoDocument] = []
    moments: dict[tuple[uuid.UUID, DocumentKind], datetime] = {}
    for journal in journals:
        held = journal.held_by_referents()
        if not held or (journal.tier is Tier.LIGHT and rng.random() >= LIGHT_SHARE):
            continue
        person, story = journal.beneficiary, journal.story.key
        papers: list[tuple[Paper, datetime, tuple[uuid.UUID, uuid.UUID | None]]] = []
        handout = HANDOUTS.get(story)
        if journal.tier is Tier.FULL and handout is not None:
            last = held[-1]
            papers.append((handout(person), last.ends + timedelta(minutes=8), last.holder.author))
        fitting = list(FITTING.get(story, GENERIC))
        count = rng.randint(1, 2) if journal.tier is Tier.FULL else 1
        for make in rng.sample(fitting, k=min(count, len(fitting))):
            paper = make(person)
            if any(p.kind is paper.kind for p, _, _ in papers):
                continue
            first_day = paris_day(held[0].at)
            if person.account_id is not None and rng.random() < 0.4:
                # From the person's space (opened these last weeks), one evening.
                earliest = max(first_day, (now - timedelta(days=50)).date())
                day = earliest + timedelta(
                    days=rng.randint(0, max(0, (now.date() - earliest).days - 1))
                )
                at = min(local(day, time(20, rng.randint(0, 59))), now)
                papers.append((paper, at, (person.account_id, None)))
            else:
                visit = rng.choice(held)
                papers.append(
                    (paper, visit.ends + timedelta(minutes=rng.randint(2, 15)), visit.holder.author)
                )
        for paper, at, (account_id, organisation_id) in papers:
            moments[person.id, paper.kind] = at
            documents.append(
                documents_services.DemoDocument(
                    beneficiary_id=person.id,
                    kind=paper.kind,
                    filename=paper.filename,
                    description=paper.description,
                    content=paper.content,
                    uploaded_by_account_id=account_id,
                    uploaded_by_organisation_id=organisation_id,
                )
            )
    stored = documents_services.seed_demo_documents(
        departement_id=departement_id, documents=documents, rng=rng
    )
    _redate(moments)
    return stored


def _redate(moments: dict[tuple[uuid.UUID, DocumentKind], datetime]) -> None:
    """Give each stored document, and its timeline event, the moment it was deposited
    (the documents service dates demo files at random)."""
    session = db.session()
    people = {person_id for person_id, _ in moments}
    when: dict[str, datetime] = {}
    for row in session.scalars(select(Document).where(Document.beneficiary_id.in_(people))):
        at = moments.get((row.beneficiary_id, DocumentKind(row.kind)))
        if at is not None:
            row.uploaded_at = at
            when[str(row.id)] = at
    for event in session.scalars(
        select(TimelineEvent).where(
            TimelineEvent.beneficiary_id.in_(people),
            TimelineEvent.kind == documents_services.Event.DOCUMENT_ADDED,
        )
    ):
        at = when.get(str(event.details.get("document_id")))
        if at is not None:
            event.occurred_at = at
    session.flush()
