"""From the orientation queue to a signed contract, in Chromium, at desk and on a 320 px phone.

The chargée d'orientation finds the person in the queue (with the one-month target and
the six-week limit counted in days), reads the proposal and orients her to the
Département's social service with a référent; the référent drafts a CER, proposes it,
signs it, and records the person's signature in « mode accompagné »; the signed PDF
downloads and its SHA-256 is the one the page shows. Only the world is arranged in the
database; every step goes through the forms. Screenshots go to
`test-results/screenshots/orientation-to-contract/`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carnet import clock
from carnet.security import scoping
from tests.e2e.conftest import LiveServer
from tests.e2e.test_day_in_the_life import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    Camera,
    Viewport,
    log_in,
    services_on,
    success,
)

pytestmark = pytest.mark.e2e

SHOTS = SCREENSHOTS.parent / "orientation-to-contract"
PERSON = "Sofia Benali"
WAITING_DAYS = 36  # past the one-month target, within the six-week limit
MOTIVE = "Logement à stabiliser avant toute recherche d'emploi ; accord de la personne."
COMMITMENTS = "Venir aux rendez-vous et déposer la demande de logement social."
SUPPORT = "Un rendez-vous par mois et l'appui pour le dossier de logement."


@dataclass(frozen=True)
class World:
    officer_email: str
    referent_email: str
    beneficiary_id: uuid.UUID


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


def arrange(server: LiveServer, viewport: Viewport) -> World:
    """A département with its insertion service (the chargée d'orientation) and its social
    service (the référent), and Sofia, whose RSA right opened 36 days ago: in the queue."""
    from carnet.auth.models import Account, AccountKind
    from carnet.records.models import Beneficiary, Journey, Sex
    from carnet.referential import services as referential
    from carnet.security.permissions import MembershipRole, OrganisationKind
    from carnet.tenancy.models import AccreditationStatus, Departement, Membership, Organisation

    suffix = f"{viewport.name}.{uuid.uuid4().hex[:8]}"
    officer_email = f"ines.{suffix}@e2e.carnet.fr"
    referent_email = f"romane.{suffix}@e2e.carnet.fr"
    today = clock.today()
    with scoping.unscoped(), server.arrange() as session, session.begin():
        taken = set(session.scalars(select(Departement.code)))
        code = next(f"K{n:02d}" for n in range(100) if f"K{n:02d}" not in taken)
        departement = Departement(code=code, name=f"Haute-Vienne ({viewport.name})")
        session.add(departement)
        session.flush()
        organisations = {}
        for key, name, kind in (
            ("insertion", "Direction de l'insertion", OrganisationKind.DEPARTEMENT),
            ("social", "Maison du Département de Limoges", OrganisationKind.DEPARTEMENT),
        ):
            organisations[key] = Organisation(
                departement_id=departement.id,
                name=name,
                kind=kind,
                accreditation_status=AccreditationStatus.ACCREDITED,
                accreditation_decided_at=clock.now(),
            )
        session.add_all(organisations.values())
        session.flush()
        for email, given, family, key, role in (
            (officer_email, "Inès", "Roux", "insertion", MembershipRole.ORIENTATION_OFFICER),
            (referent_email, "Romane", "Lefèvre", "social", MembershipRole.PROFESSIONAL),
        ):
            account = Account(
                kind=AccountKind.PROFESSIONAL, email=email, given_name=given, family_name=family
            )
            session.add(account)
            session.flush()
            session.add(
                Membership(
                    account_id=account.id,
                    organisation_id=organisations[key].id,
                    departement_id=departement.id,
                    role=role,
                )
            )
        person = Beneficiary(
            departement_id=departement.id,
            given_name="Sofia",
            family_name="Benali",
            sex=Sex.FEMALE,
            birth_on=dt.date(1988, 4, 12),
            caf_number="1234567",
            city="Limoges",
            postal_code="87000",
            right_opened_on=today - dt.timedelta(days=WAITING_DAYS),
            is_synthetic=True,
        )
        session.add(person)
        session.flush()
        session.add(
            Journey(
                departement_id=departement.id,
                beneficiary_id=person.id,
                opened_on=today - dt.timedelta(days=WAITING_DAYS - 2),
            )
        )
        departement_id, beneficiary_id = departement.id, person.id
    with services_on(server):
        referential.seed_referential(departement_id)
    return World(officer_email, referent_email, beneficiary_id)


def orient(page: Page, server: LiveServer, world: World, camera: Camera) -> None:
    log_in(page, server, world.officer_email)
    page.goto(f"{server.url}/orientation/file-d-attente")
    waiting = page.get_by_role("listitem").filter(has_text=PERSON)
    expect(waiting).to_contain_text(f"{WAITING_DAYS} jours")
    expect(waiting).to_contain_text("Objectif d'un mois")
    expect(waiting).to_contain_text("délai légal")
    camera.shoot("01-queue")
    waiting.get_by_role("link", name=PERSON).click()
    expect(page.get_by_role("heading", name=f"Orientation de {PERSON}", level=1)).to_be_visible()
    decision = page.locator("#decision")
    expect(decision).to_contain_text("Proposition")
    decision.get_by_label("Sociale", exact=True).check()
    decision.get_by_label("Structure qui accompagne").select_option(
        label="Maison du Département de Limoges"
    )
    decision.get_by_label("Référent unique (facultatif)").select_option(label="Romane Lefèvre")
    decision.get_by_label("Motif de l'orientation").fill(MOTIVE)
    camera.shoot("02-decision")
    decision.get_by_role("button", name="Enregistrer l'orientation").click()
    success(
        page,
        "L'orientation est enregistrée ; les référents concernés et la personne en sont informés.",
    )
    current = page.get_by_role("region", name="Orientation en cours")
    expect(current).to_contain_text("Maison du Département de Limoges")
    expect(current).to_contain_text("Romane Lefèvre")
    camera.shoot("03-oriented")
    page.goto(f"{server.url}/orientation/file-d-attente")
    expect(page.get_by_role("link", name=PERSON)).to_have_count(0)


def draft_and_sign(page: Page, server: LiveServer, world: World, camera: Camera) -> Path:
    log_in(page, server, world.referent_email)
    page.goto(f"{server.url}/personnes/{world.beneficiary_id}")
    tabs = page.get_by_role("navigation", name="Parties du carnet")
    tabs.get_by_role("link", name="Contrats", exact=True).click()
    expect(page.get_by_role("heading", name=f"Contrats de {PERSON}", level=1)).to_be_visible()
    draft = page.locator("form").filter(
        has=page.get_by_role("button", name="Enregistrer le brouillon")
    )
    draft.get_by_label("Type de contrat").select_option(
        label="Contrat d'engagement réciproque (CER)"
    )
    draft.get_by_label("Date de début").fill(clock.today().isoformat())
    draft.get_by_label("Durée").select_option(label="6 mois")
    draft.get_by_label("Engagements de la personne").fill(COMMITMENTS)
    draft.get_by_label("Engagements de la structure qui accompagne").fill(SUPPORT)
    camera.shoot("04-draft")
    draft.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(
        page.get_by_role("heading", name="Contrat d'engagement réciproque (CER)", level=1)
    ).to_be_visible()
    page.get_by_role("button", name="Proposer à la signature de la personne").click()
    page.get_by_role("button", name="Signer en tant que référent").click()
    success(page, "La signature est enregistrée. Le contrat attend l'autre signature.")
    page.get_by_label(
        "J'atteste que la personne est présente, qu'elle a relu ce contrat et qu'elle le signe"
    ).check()
    camera.shoot("05-accompanied-signature")
    page.get_by_role("button", name="Enregistrer la signature de la personne").click()
    success(
        page, "Le contrat est signé par les deux parties : il est en vigueur, et son PDF est prêt."
    )
    versions = page.get_by_role("region", name="Versions")
    expect(versions).to_contain_text("accompagné")
    camera.shoot("06-in-force")
    shown = versions.locator(".fingerprint").first.inner_text()
    with page.expect_download() as download_info:
        versions.get_by_role("link", name="Télécharger le PDF signé").first.click()
    download = download_info.value
    target = SHOTS / f"contract-{camera.viewport.name}.pdf"
    download.save_as(target)
    content = target.read_bytes()
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == shown.strip()
    return target


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=lambda v: v.name)
def test_officer_orients_then_referent_and_person_sign_the_contract(
    server: LiveServer, page_factory: Any, viewport: Viewport
) -> None:
    world = arrange(server, viewport)
    SHOTS.mkdir(parents=True, exist_ok=True)
    officer_page, officer_csp = page_factory(width=viewport.width, height=viewport.height)
    orient(officer_page, server, world, Camera(officer_page, viewport, SHOTS))
    referent_page, referent_csp = page_factory(width=viewport.width, height=viewport.height)
    pdf = draft_and_sign(referent_page, server, world, Camera(referent_page, viewport, SHOTS))
    assert pdf.stat().st_size > 1000
    assert officer_csp.violations == []
    assert referent_csp.violations == []
