"""The referential: seeded per département, edited by the département admin only, with
versions that refuse a stale save."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from carnet import db
from carnet.referential import services
from carnet.referential.models import Aim, EntryKind, OarsaCategory, Theme, ThemeEntry
from carnet.security import policy, scoping
from carnet.security.permissions import Outcome, PrincipalRole
from carnet.security.principal import Principal
from tests.records.world import audit_rows, build_world, count, send, text, token

DOMAIN_THEMES = (
    "Logement",
    "Emploi",
    "Formation",
    "Difficultés administratives",
    "Difficultés financières",
    "Mobilité",
    "Santé",
    "Contraintes familiales (garde d'enfants)",
    "Maîtrise de la langue",
    "Numérique",
    "Choisir un métier",
    "Se former",
    "Préparer sa candidature",
    "Trouver un emploi",
    "Créer une entreprise",
    "S'ouvrir à l'international",
)


@pytest.fixture
def world(db_session):
    return build_world()


def _theme(theme_id):
    with scoping.unscoped():
        db.session().expire_all()
        return db.session().get(Theme, theme_id)


def _entry(entry_id):
    with scoping.unscoped():
        db.session().expire_all()
        return db.session().get(ThemeEntry, entry_id)


def _version_for(body, action):
    form = body[body.index(f'action="{action}"') :]
    return re.search(r'name="version" value="(\d+)"', form).group(1)


# -- seeding -------------------------------------------------------------------------------------


def test_seeding_gives_every_theme_its_lists_and_mapping_once(world):
    with scoping.unscoped():
        added = services.seed_referential(world.other_departement_id)
        again = services.seed_referential(world.other_departement_id)
        themes = services.list_themes(world.other_departement_id)
        total = db.session().scalar(
            select(func.count())
            .select_from(Theme)
            .where(Theme.departement_id == world.other_departement_id)
        )
    assert added == len(themes) == total
    assert again == 0
    labels = {theme.label for theme in themes}
    assert set(DOMAIN_THEMES) <= labels
    for theme in themes:
        assert theme.of_kind(EntryKind.SITUATION), theme.label
        assert theme.of_kind(EntryKind.OBJECTIVE), theme.label
        assert theme.of_kind(EntryKind.ACTION), theme.label
    by_label = {theme.label: theme for theme in themes}
    assert by_label["Logement"].aim is Aim.SOCIAL
    assert by_label["Logement"].oarsa_category is OarsaCategory.LOGEMENT
    assert by_label["Emploi"].aim is Aim.PROFESSIONAL
    assert by_label["Créer une entreprise"].oarsa_category is OarsaCategory.CREATION_ENTREPRISE
    assert by_label["Trouver un emploi"].is_france_travail


def test_seeding_keeps_what_a_departement_already_has(world):
    # World's département already has its own « Logement » theme (code « logement »).
    with scoping.unscoped():
        services.seed_referential(world.departement_id)
        rows = list(
            db.session().scalars(
                select(Theme).where(
                    Theme.departement_id == world.departement_id, Theme.code == "logement"
                )
            )
        )
    assert [row.id for row in rows] == [world.theme_id]


@pytest.mark.parametrize("role", list(PrincipalRole))
def test_only_a_departement_admin_of_a_departement_may_configure(role):
    in_departement = Principal(role=role, auth_method="demo", departement_id=uuid.uuid4())
    assert policy.can_configure_departement(in_departement) is (
        role is PrincipalRole.DEPARTEMENT_ADMIN
    )
    assert not policy.can_configure_departement(Principal(role=role, auth_method="demo"))


# -- the admin's page -----------------------------------------------------------------------------


def test_departement_admin_edits_a_theme_and_the_edit_is_logged(client, world, login_as):
    login_as(client, world.departement_admin.account, world.departement_admin.membership)
    index = client.get("/referentiel")
    assert index.status_code == 200
    assert "Référentiel du plan d'action" in text(index)
    assert "Logement" in text(index)
    url = f"/referentiel/themes/{world.theme_id}"
    version = _version_for(text(client.get(url)), url)
    response = client.submit(
        url,
        {
            "label": "Logement et hébergement",
            "aim": "sociale",
            "oarsa_category": "logement",
            "is_active": "1",
            "version": version,
        },
    )
    assert response.status_code == 302
    assert "Le thème est enregistré." in text(client.get(response.headers["Location"]))
    theme = _theme(world.theme_id)
    assert theme.label == "Logement et hébergement"
    assert theme.version == 2
    rows = audit_rows(actor_account_id=world.departement_admin.id, tag="referential:theme:updated")
    assert [(r.section, r.object_id, r.outcome, r.beneficiary_id) for r in rows] == [
        ("referential:write", world.theme_id, Outcome.ALLOWED, None)
    ]


def test_departement_admin_adds_a_theme_and_a_line(client, world, login_as):
    login_as(client, world.departement_admin.account, world.departement_admin.membership)
    response = client.submit(
        "/referentiel/themes",
        {
            "label": "Accès à la culture",
            "aim": "sociale",
            "oarsa_category": "lien_social",
            "is_active": "1",
        },
        form_page="/referentiel",
    )
    assert response.status_code == 302
    theme_url = response.headers["Location"]
    response = client.submit(
        f"{theme_url}/lignes",
        {"kind": "action", "label": "Visiter le musée avec un médiateur"},
        form_page=theme_url,
    )
    assert response.status_code == 302
    page = text(client.get(theme_url))
    assert "La ligne est ajoutée au thème." in page
    assert 'value="Visiter le musée avec un médiateur"' in page


@pytest.mark.parametrize("who", ["referent", "structure_admin", "officer"])
def test_other_roles_cannot_see_or_edit_the_referential(client, world, login_as, who):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    refused = "Seule l'administration du département peut modifier le référentiel"
    response = client.get("/referentiel")
    assert response.status_code == 403
    assert refused in text(response)
    csrf = token(client)
    response = send(
        client,
        f"/referentiel/themes/{world.theme_id}",
        {"label": "Détourné", "aim": "sociale", "oarsa_category": "logement", "version": "1"},
        csrf=csrf,
    )
    assert response.status_code == 403
    assert refused in text(response)
    assert _theme(world.theme_id).label == "Logement"
    assert not audit_rows(tag="referential:theme:updated")


def test_a_stale_line_save_is_refused_and_keeps_the_admins_text(make_client, world, login_as):
    first, second = make_client(), make_client()
    for client in (first, second):
        login_as(client, world.departement_admin.account, world.departement_admin.membership)
    theme_url = f"/referentiel/themes/{world.theme_id}"
    entry_url = f"{theme_url}/lignes/{world.entry_id}"
    version = _version_for(text(first.get(theme_url)), entry_url)
    assert _version_for(text(second.get(theme_url)), entry_url) == version
    saved = first.submit(
        entry_url,
        {"label": "Demander un logement social", "is_active": "1", "version": version},
        form_page=theme_url,
    )
    assert saved.status_code == 302
    stale = second.submit(
        entry_url,
        {"label": "Remplir la demande unique de logement", "version": version},
        form_page=theme_url,
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "a été modifié par quelqu'un d'autre" in body
    assert "Version enregistrée : « Demander un logement social », proposée." in body
    assert 'value="Remplir la demande unique de logement"' in body
    entry = _entry(world.entry_id)
    assert entry.label == "Demander un logement social"
    assert entry.is_active
    assert entry.version == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"aim": "sociale", "oarsa_category": "logement"}, "Ce champ est obligatoire."),
        (
            {"label": "Culture", "aim": "autre", "oarsa_category": "logement"},
            "Choisissez la visée",
        ),
        ({"label": "Culture", "aim": "sociale", "oarsa_category": "x"}, "catégorie statistique"),
        (
            {"label": "Logement", "aim": "sociale", "oarsa_category": "logement"},
            "Un thème porte déjà ce nom dans votre département.",
        ),
        (
            {"label": "Culture", "aim": "sociale", "oarsa_category": "logement", "code": "x"},
            "Ce champ n'est pas attendu dans ce formulaire.",
        ),
    ],
)
def test_malformed_theme_gets_a_french_422_and_no_row(client, world, login_as, data, message):
    login_as(client, world.departement_admin.account, world.departement_admin.membership)
    csrf = token(client, "/referentiel")
    before = count(Theme)
    response = send(client, "/referentiel/themes", data, csrf=csrf)
    assert response.status_code == 422
    assert message in text(response)
    assert count(Theme) == before


def test_the_plan_offers_the_referentials_active_themes(client, world, login_as):
    with scoping.unscoped():
        services.seed_referential(world.departement_id)
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(f"/personnes/{world.person.id}/plan"))
    assert '<optgroup label="Visée professionnelle">' in body
    assert "Créer une entreprise" in body
    assert '<option value="Obtenir le permis de conduire">' in body
