"""The département admin's page of orientation proposal rules, through HTTP: the form holds
every weight, threshold and cell of the grid in French, a save makes a new version kept in
the history, bad rules come back with French messages, and only the admin may save."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import render_template_string
from sqlalchemy import select

from carnet import db
from carnet.orientation.models import OrientationRuleSet
from carnet.orientation.proposal import OpenBarriers, ProposalInputs, describe
from carnet.orientation.rules import DEFAULT_RULES, evaluate
from carnet.security import scoping
from carnet.security.permissions import Outcome
from carnet.situation.models import EducationLevel
from tests.records.world import audit_rows, build_world, send, text, token

URL = "/administration/orientation/regles"


@pytest.fixture
def world(db_session: Any) -> Any:
    return build_world()


class _Form(HTMLParser):
    """The fields of the rules form as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and found.get("action") == URL:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and found.get("name") and found["name"] != "csrf_token":
            self.values[found["name"]] = found.get("value", "")
        elif tag == "select":
            self._select = found["name"]
        elif tag == "option" and self._select and "selected" in found:
            self.values[self._select] = found["value"]
        elif tag == "textarea":
            self._textarea = found["name"]
            self.values[self._textarea] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _form_of(page: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(page)
    return parser.values


def _rows(world: Any) -> list[OrientationRuleSet]:
    with scoping.unscoped():
        db.session().expire_all()
        return list(
            db.session().scalars(
                select(OrientationRuleSet)
                .where(OrientationRuleSet.departement_id == world.departement_id)
                .order_by(OrientationRuleSet.version)
            )
        )


def _admin(client: Any, world: Any, login_as: Any) -> None:
    login_as(client, world.departement_admin.account, world.departement_admin.membership)


def test_the_admin_reads_the_rules_in_french_from_the_home_page(client, world, login_as):
    _admin(client, world, login_as)
    home = text(client.get("/"))
    assert f'href="{URL}"' in home
    assert "Règles de proposition d'orientation" in home
    page = text(client.get(URL))
    assert "Règles de proposition d'orientation" in page
    assert "les règles proposées par Carnet s'appliquent (version 0)" in page
    assert "Grille employabilité × freins sociaux" in page
    assert "De nombreux freins" in page
    assert "Employabilité forte" in page
    assert "La proposition ne décide jamais seule" in page
    assert "Niveau de formation : Baccalauréat (niveau 4)" in page
    assert "Frein à lever : Logement" in page  # the département's own theme
    assert "Motif de la modification" in page
    form = _form_of(page)
    assert form["barriers.themes.logement"] == "3"
    assert form["thresholds.employability_high"] == "6"
    assert form["grid.many.low"] == "sociale"
    assert form["based_on"] == "0"


def test_the_admin_saves_a_new_version_kept_in_the_history(client, world, login_as):
    _admin(client, world, login_as)
    form = _form_of(text(client.get(URL)))
    form.update(
        {
            "barriers.themes.logement": "5",
            "grid.some.medium": "professionnelle",
            "change_note": "Le logement pèse davantage, décision du comité de mars",
        }
    )
    response = client.submit(URL, form)
    assert response.status_code == 302
    page = text(client.get(URL))
    assert "Les règles sont enregistrées (version 1)." in page
    assert "Version 1, enregistrée le" in page
    assert "Dominique Admin" in page
    assert "Le logement pèse davantage, décision du comité de mars" in page
    rows = _rows(world)
    assert [(r.version, r.rules["barriers"]["themes"]) for r in rows] == [(1, {"logement": 5})]
    assert rows[0].rules["grid"]["some"]["medium"] == "professionnelle"
    events = audit_rows(tag="orientation:rule_set:saved")
    assert [(e.actor_account_id, e.object_id, e.outcome) for e in events] == [
        (world.departement_admin.id, rows[0].id, Outcome.ALLOWED)
    ]
    # The next form is built on version 1; the old version stays readable.
    assert _form_of(page)["based_on"] == "1"
    old = text(client.get(f"{URL}/0"))
    assert "Règles de proposition d'orientation, version 0" in old
    assert "Frein à lever : Logement</th><td>3 points" in old
    saved = text(client.get(f"{URL}/1"))
    assert "Frein à lever : Logement</th><td>5 points" in saved
    assert client.get(f"{URL}/2").status_code == 404


def test_bad_rules_come_back_with_french_messages_and_nothing_saved(client, world, login_as):
    _admin(client, world, login_as)
    form = _form_of(text(client.get(URL)))
    form.update(
        {
            "employability.strengths": "-1",
            "thresholds.barriers_some": "5",
            "thresholds.barriers_many": "4",
            "grid.few.low": "inconnue",
            "change_note": "",
        }
    )
    response = client.submit(URL, form)
    assert response.status_code == 422
    page = text(response)
    assert "Saisissez un nombre entier de points, de 0 à 20." in page
    assert "Ce seuil doit être plus grand que le seuil précédent (5 points)." in page
    assert "Choisissez une orientation : sociale, socio-professionnelle ou professionnelle." in page
    assert "Ce champ est obligatoire." in page
    # What the admin typed is kept.
    assert _form_of(page)["employability.strengths"] == "-1"
    assert _rows(world) == []


def test_a_theme_outside_the_referential_is_refused(client, world, login_as):
    _admin(client, world, login_as)
    form = _form_of(text(client.get(URL)))
    form.update({"barriers.themes.jardin": "2", "change_note": "Un thème de plus"})
    response = client.submit(URL, form)
    assert response.status_code == 422
    assert "Ce thème n'existe pas dans le référentiel de votre département." in text(response)
    assert _rows(world) == []


def test_a_save_on_a_stale_form_is_refused_and_keeps_the_admins_entries(
    make_client, world, login_as
):
    first, second = make_client(), make_client()
    for client in (first, second):
        _admin(client, world, login_as)
    stale_form = _form_of(text(second.get(URL)))
    form = _form_of(text(first.get(URL)))
    form["change_note"] = "Premières règles du département"
    assert first.submit(URL, form).status_code == 302
    stale_form.update({"barriers.themes.logement": "7", "change_note": "Mon changement"})
    response = second.submit(URL, stale_form)
    assert response.status_code == 409
    page = text(response)
    assert "Une nouvelle version des règles a été enregistrée pendant votre saisie" in page
    kept = _form_of(page)
    assert kept["barriers.themes.logement"] == "7"
    assert kept["based_on"] == "1"
    assert [r.version for r in _rows(world)] == [1]


@pytest.mark.parametrize("who", ["referent", "officer", "structure_admin"])
def test_other_roles_cannot_change_the_rules(client, world, login_as, who):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    refused = "Seule l'administration du département peut modifier les règles"
    response = client.get(URL)
    assert response.status_code == 403
    assert refused in text(response)
    response = send(
        client,
        URL,
        {"barriers.themes.logement": "9", "change_note": "Détournement", "based_on": "0"},
        csrf=token(client),
    )
    assert response.status_code == 403
    assert refused in text(response)
    assert _rows(world) == []
    # A professional of the département may still read a version (the orientation page
    # names the version that proposed a type).
    version = client.get(f"{URL}/0")
    assert version.status_code == 200
    assert "Comment la proposition est calculée" in text(version)


def test_a_proposal_is_shown_with_every_factor_and_the_version_of_its_rules(app):
    proposal = evaluate(
        ProposalInputs(
            has_diagnostic=True,
            education_level=EducationLevel.CAP_BEP,
            open_barriers=(OpenBarriers("logement", "Logement", 1),),
        ),
        DEFAULT_RULES,
        version=3,
    )
    template = (
        '{% import "orientation/_labels.html" as o %}{{ o.proposal_details(p, "Proposition") }}'
    )
    with app.test_request_context():
        shown = html.unescape(render_template_string(template, p=describe(proposal.as_json())))
    assert "Proposition : orientation socio-professionnelle" in shown
    assert proposal.explanation in shown
    assert "Employabilité : 1 point" in shown
    assert "Freins sociaux : 3 points" in shown
    assert "règles version 3" in shown
    assert "(freins, +3)" in shown
    assert "Non connu :" in shown
    assert "aucun projet professionnel enregistré" in shown
