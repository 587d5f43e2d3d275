"""A referent's day in the life, in Chromium, at desk (1280 px) and on a 320 px phone.

The referent logs in with a magic link, finds the person with the name search of the home
page, opens the record, adds an objective (with its theme) and an action to the plan
d'action, records yesterday's appointment, the person's attendance and a note, then reads
it all in the history. Only the world is arranged in the database (département,
structure, referent, the people followed, the referential); everything else goes through
the forms, as a user would. Each main step leaves a full-page screenshot in
`test-results/screenshots/day-in-the-life/`; at 320 px no page may scroll sideways.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from carnet import clock, db
from carnet.security import scoping
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results/screenshots/day-in-the-life"
PARIS = ZoneInfo("Europe/Paris")

PERSON = "Sofia Benali"
OBJECTIVE = "Accéder à un logement stable"
ACTION = "Déposer une demande de logement social"
NOTE = "Dossier de logement social complété ensemble ; pièces à apporter : avis d'imposition."


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int

    @property
    def is_phone(self) -> bool:
        return self.width <= 320


DESKTOP = Viewport("desktop", 1280, 800)
PHONE = Viewport("320", 320, 640)


@dataclass(frozen=True)
class Day:
    """What one pass arranged: the referent's address and the person's id."""

    email: str
    beneficiary_id: uuid.UUID


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


@contextmanager
def services_on(server: LiveServer) -> Iterator[None]:
    """Run domain services (which use the scoped session) on the live server's database, in
    one committed transaction, then give the scoped session back its previous binding."""
    previous = db.session_factory.kw.get("bind")
    db.session.remove()
    db.session_factory.configure(bind=server.engine)
    try:
        with scoping.unscoped(), db.unit_of_work():
            yield
    finally:
        db.session.remove()
        db.session_factory.configure(bind=previous)


def arrange_day(server: LiveServer, viewport: Viewport) -> Day:
    """A département with the default referential, its insertion service, a referent and
    the three people he or she follows; Sofia Benali is the one the day is about."""
    from carnet.auth.models import Account, AccountKind
    from carnet.records.models import Beneficiary, GroupMembership, Journey, Sex
    from carnet.referential import services as referential
    from carnet.security.permissions import GroupRole, MembershipRole, OrganisationKind
    from carnet.tenancy.models import AccreditationStatus, Departement, Membership, Organisation

    email = f"romane.{viewport.name}.{uuid.uuid4().hex[:8]}@e2e.carnet.fr"
    with scoping.unscoped(), server.arrange() as session, session.begin():
        taken = set(session.scalars(select(Departement.code)))
        code = next(f"J{n:02d}" for n in range(100) if f"J{n:02d}" not in taken)
        departement = Departement(code=code, name=f"Haute-Vienne ({viewport.name})")
        session.add(departement)
        session.flush()
        organisation = Organisation(
            departement_id=departement.id,
            name="Service insertion du Département",
            kind=OrganisationKind.DEPARTEMENT,
            accreditation_status=AccreditationStatus.ACCREDITED,
            accreditation_decided_at=clock.now(),
        )
        referent = Account(
            kind=AccountKind.PROFESSIONAL, email=email, given_name="Romane", family_name="Lefèvre"
        )
        session.add_all([organisation, referent])
        session.flush()
        session.add(
            Membership(
                account_id=referent.id,
                organisation_id=organisation.id,
                departement_id=departement.id,
                role=MembershipRole.PROFESSIONAL,
            )
        )
        people = [
            ("Sofia", "Benali", Sex.FEMALE, dt.date(1988, 4, 12), "1234567"),
            ("Karim", "Haddad", Sex.MALE, dt.date(1979, 11, 3), "2345678"),
            ("Lucie", "Martin", Sex.FEMALE, dt.date(1995, 6, 21), "3456789"),
        ]
        ids = []
        for given, family, sex, born, caf in people:
            person = Beneficiary(
                departement_id=departement.id,
                given_name=given,
                family_name=family,
                sex=sex,
                birth_on=born,
                caf_number=caf,
                city="Limoges",
                postal_code="87000",
                right_opened_on=dt.date(2026, 1, 2),
                is_synthetic=True,
            )
            session.add(person)
            session.flush()
            journey = Journey(
                departement_id=departement.id,
                beneficiary_id=person.id,
                opened_on=dt.date(2026, 1, 5),
            )
            session.add(journey)
            session.flush()
            session.add(
                GroupMembership(
                    departement_id=departement.id,
                    journey_id=journey.id,
                    beneficiary_id=person.id,
                    account_id=referent.id,
                    organisation_id=organisation.id,
                    role=GroupRole.REFERENT,
                    start_reason="Orientation sociale décidée en janvier",
                )
            )
            ids.append(person.id)
        departement_id = departement.id
    with services_on(server):
        referential.seed_referential(departement_id)
    return Day(email=email, beneficiary_id=ids[0])


# The elements that reach past the viewport's right edge, innermost first, for the message.
WIDEST_ELEMENTS = """(limit) => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > limit + 1)
  .slice(-3)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className}: `
    + `${Math.round(e.getBoundingClientRect().right)} px`)"""


class Camera:
    """Full-page screenshots with explicit names; at 320 px, a check that nothing scrolls
    sideways on every page shot."""

    def __init__(self, page: Page, viewport: Viewport, directory: Path = SCREENSHOTS) -> None:
        self.page = page
        self.viewport = viewport
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def shoot(self, step: str) -> None:
        # Measured once the stylesheet is applied: a page laid out before its CSS arrives
        # (the « load » event) is wider than the one people see.
        self.page.wait_for_load_state("load")
        width = self.page.evaluate("document.scrollingElement.scrollWidth")
        self.page.screenshot(
            path=str(self.directory / f"{step}-{self.viewport.name}.png"), full_page=True
        )
        if self.viewport.is_phone:
            assert width <= self.viewport.width + 1, (
                f"{step}: the page scrolls sideways, {width} px wide at {self.viewport.width} px; "
                f"widest: {self.page.evaluate(WIDEST_ELEMENTS, self.viewport.width)}"
            )


def success(page: Page, message: str) -> None:
    expect(page.locator(".notice-success")).to_have_text(message)


def _tab(page: Page, name: str) -> Locator:
    """A section of the record, from the tab bar every record page carries."""
    tabs = page.get_by_role("navigation", name="Parties du carnet")
    return tabs.get_by_role("link", name=name, exact=True)


def log_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/connexion")
    page.get_by_label("Votre adresse e-mail").fill(email)
    page.get_by_role("button", name="Recevoir le lien").click()
    expect(page.get_by_role("heading", name="Consultez votre messagerie")).to_be_visible()
    link = re.search(r"https?://\S+/connexion/lien/\S+", server.newest_mail_body(email))
    assert link, "the mail holds the login link"
    page.goto(link.group(0).replace(server.url.replace("localhost", "127.0.0.1"), server.url))
    expect(page.get_by_role("heading", name="Confirmer la connexion")).to_be_visible()
    page.get_by_role("button", name="Me connecter").click()
    expect(page).to_have_url(f"{server.url}/")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=lambda v: v.name)
def test_a_referent_plans_meets_and_reads_the_history(
    server: LiveServer, page_factory: Any, viewport: Viewport
) -> None:
    day = arrange_day(server, viewport)
    page, csp = page_factory(width=viewport.width, height=viewport.height)
    camera = Camera(page, viewport)

    # -- log in and land on the home page -------------------------------------------------
    log_in(page, server, day.email)
    expect(page.get_by_role("heading", name="Accueil", level=1)).to_be_visible()
    expect(page.get_by_text("Service insertion du Département").first).to_be_visible()
    followed = page.get_by_role("region", name="Mes accompagnements")
    for name in ("Sofia Benali", "Karim Haddad", "Lucie Martin"):
        expect(followed.get_by_role("link", name=name)).to_be_visible()
    camera.shoot("01-home")

    # -- find the person by name and open the record ---------------------------------------
    finder = page.get_by_role("region", name="Retrouver une personne")
    finder.get_by_label("Nom, prénom ou identifiant").fill("benali")
    finder.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(f"{server.url}/recherche")
    expect(page.get_by_role("heading", name="Retrouver une personne", level=1)).to_be_visible()
    results = page.get_by_role("region", name="Résultats")
    expect(results.get_by_text("1 personne trouvée")).to_be_visible()
    expect(results.get_by_role("listitem")).to_have_count(1)
    expect(results.get_by_role("listitem")).to_contain_text("né·e le 12 avril 1988")
    camera.shoot("02-search")
    results.get_by_role("link", name=PERSON).click()
    expect(page).to_have_url(f"{server.url}/personnes/{day.beneficiary_id}")
    expect(page.get_by_role("heading", name=f"Carnet de {PERSON}", level=1)).to_be_visible()
    identity = page.get_by_role("region", name="Identité")
    expect(identity).to_contain_text("Benali")
    expect(identity).to_contain_text("12 avril 1988")
    expect(page.get_by_role("region", name="Groupe de suivi", exact=True)).to_contain_text(
        "Romane Lefèvre"
    )
    camera.shoot("03-record")

    # -- the plan d'action: an objective under a theme --------------------------------------
    _tab(page, "Plan d'action").click()
    expect(page.get_by_role("heading", name=f"Plan d'action de {PERSON}")).to_be_visible()
    expect(
        page.get_by_text("Aucun objectif n'est encore inscrit au plan d'action.")
    ).to_be_visible()
    camera.shoot("04-plan-empty")

    new_objective = page.get_by_role("region", name="Ajouter un objectif")
    new_objective.get_by_label("Thème (axe du plan)").select_option(label="Logement")
    new_objective.get_by_label("Objectif", exact=True).fill(OBJECTIVE)
    new_objective.get_by_label("Échéance").fill("2027-03-31")
    new_objective.get_by_label("Précisions").fill("Un logement proche de l'école des enfants.")
    new_objective.get_by_label("La personne est d'accord avec cet objectif").check()
    new_objective.get_by_role("button", name="Ajouter l'objectif").click()

    success(page, "L'objectif est ajouté au plan d'action.")
    axis = page.get_by_role("region", name=re.compile(r"^Logement"))
    expect(axis.get_by_role("heading", level=2)).to_have_text("Logement Visée sociale")
    card = axis.get_by_role("article", name=OBJECTIVE)
    expect(card).to_contain_text("Objectif : En cours")
    expect(card).to_contain_text("Échéance : 31 mars 2027")
    expect(card).to_contain_text("Accord de la personne recueilli")
    expect(card).to_contain_text("Aucune action pour cet objectif.")
    camera.shoot("05-plan-objective")

    # -- … and an action under it ------------------------------------------------------------
    card.locator("summary").click()
    card.get_by_label("Action", exact=True).fill(ACTION)
    card.get_by_label("Statut").select_option(label="En cours")
    card.get_by_label("Échéance").fill("2027-01-15")
    card.get_by_label("Origine").select_option(label="La personne")
    card.get_by_label("Précisions").fill("Avec l'aide de la conseillère logement.")
    camera.shoot("06-plan-action-form")
    card.get_by_role("button", name="Ajouter l'action").click()

    success(page, "L'action est ajoutée au plan d'action.")
    action = page.get_by_role("article", name=OBJECTIVE).get_by_role("listitem")
    expect(action).to_have_count(1)
    expect(action).to_contain_text(ACTION)
    expect(action).to_contain_text("En cours")
    expect(action).to_contain_text("Échéance : 15 janvier 2027")
    expect(action).to_contain_text("Proposée par la personne")
    camera.shoot("07-plan-action")

    # -- the appointment of yesterday, its attendance and a note -----------------------------
    _tab(page, "Rendez-vous").click()
    expect(page.get_by_role("heading", name=f"Rendez-vous de {PERSON}")).to_be_visible()
    expect(page.get_by_text("Aucun rendez-vous prévu.")).to_be_visible()
    expect(page.get_by_text("Aucun rendez-vous passé.")).to_be_visible()
    camera.shoot("08-appointments-empty")

    yesterday = dt.datetime.now(PARIS).date() - dt.timedelta(days=1)
    new_appointment = page.get_by_role("region", name="Prévoir un rendez-vous")
    new_appointment.get_by_label("Individuel").check()
    new_appointment.get_by_label("Date", exact=True).fill(yesterday.isoformat())
    new_appointment.get_by_label("Heure").fill("14:30")
    new_appointment.get_by_label("Sur place").check()
    new_appointment.get_by_label("Lieu").fill("Maison du Département, 11 rue François Chénieux")
    new_appointment.get_by_label("Sujets à aborder").fill("Demande de logement social")
    new_appointment.get_by_role("button", name="Enregistrer le rendez-vous").click()

    success(page, "Le rendez-vous est enregistré.")
    on = format_date(yesterday, "d MMMM y", locale="fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rendez-vous du {on} à 14h30")
    details = page.get_by_role("region", name="Le rendez-vous", exact=True)
    expect(details).to_contain_text("Individuel")
    expect(details).to_contain_text("Maison du Département, 11 rue François Chénieux")
    expect(details).to_contain_text("Romane Lefèvre, Service insertion du Département")
    expect(details).to_contain_text("À noter")
    camera.shoot("09-appointment")

    presence = page.get_by_role("region", name="Noter la présence")
    presence.get_by_label("Présente ou présent").check()
    presence.get_by_role("button", name="Enregistrer la présence").click()
    success(page, "La présence est enregistrée.")
    expect(page.get_by_role("region", name="Le rendez-vous", exact=True)).to_contain_text(
        "Présent·e"
    )
    expect(page.get_by_role("heading", name="Corriger la présence")).to_be_visible()

    notes = page.get_by_role("region", name="Notes de ce rendez-vous")
    expect(notes).to_contain_text("Aucune note pour l'instant.")
    notes.get_by_label("Note", exact=True).fill(NOTE)
    notes.get_by_label("Le groupe de suivi et la personne").check()
    notes.get_by_role("button", name="Enregistrer la note").click()
    success(page, "La note est enregistrée.")
    note = page.get_by_role("region", name="Notes de ce rendez-vous").get_by_role("listitem")
    expect(note).to_have_count(1)
    expect(note).to_contain_text(NOTE)
    expect(note).to_contain_text("Romane Lefèvre, Service insertion du Département")
    expect(note).to_contain_text("Partagée avec la personne")
    camera.shoot("10-appointment-attendance-note")

    _tab(page, "Rendez-vous").click()
    past = page.get_by_role("region", name="Passés")
    expect(past.get_by_role("listitem")).to_have_count(1)
    expect(past).to_contain_text("Présent·e")
    expect(past).to_contain_text("Rendez-vous individuel")
    camera.shoot("11-appointments")

    # -- the history tells the day, in French -----------------------------------------------
    _tab(page, "Historique").click()
    expect(
        page.get_by_role("heading", name=f"Historique du carnet de {PERSON}", level=1)
    ).to_be_visible()
    expect(page.get_by_text("6 événements")).to_be_visible()
    entries = page.locator("ol.access-log > li")
    expect(entries).to_have_count(6)
    for label, domain in [
        ("Axe ajouté au plan d'action", "Plan d'action"),
        ("Objectif ajouté au plan d'action", "Plan d'action"),
        ("Action ajoutée au plan d'action", "Plan d'action"),
        ("Rendez-vous planifié", "Rendez-vous"),
        ("Présence au rendez-vous enregistrée", "Rendez-vous"),
        ("Note ajoutée", "Rendez-vous"),
    ]:
        entry = entries.filter(has=page.locator(".access-what", has_text=label))
        expect(entry).to_have_count(1)
        expect(entry.locator(".badge")).to_have_text(domain)
        expect(entry.locator(".access-who")).to_have_text("Service insertion du Département")
    # Newest first: the note closes the day.
    expect(entries.first.locator(".access-what")).to_contain_text("Note ajoutée")
    camera.shoot("12-history")

    page.get_by_label("Domaine").select_option(label="Rendez-vous")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_text("3 événements")).to_be_visible()
    expect(entries).to_have_count(3)
    camera.shoot("13-history-filtered")

    assert csp.violations == []
