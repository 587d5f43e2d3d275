"""The professional project pages: who reads and writes them, what the logs keep, the job
picker without JavaScript, what a stale save does, and what malformed input gets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carnet import db
from carnet.projects import services
from carnet.projects.models import (
    ContractSought,
    DeclaredBy,
    ProfessionalProject,
    ProjectStatus,
    WorkingTime,
)
from carnet.records.models import TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import Outcome
from tests.projects.seed import project_of
from tests.records.world import audit_rows, build_world, count, send, text, token


@pytest.fixture
def world(db_session):
    built = build_world()
    project_of(built)
    return built


def _url(world):
    return f"/personnes/{world.person.id}/projets"


def _project_url(world):
    return f"{_url(world)}/{project_of(world)}"


def _project(project_id):
    with scoping.unscoped():
        db.session().expire_all()
        return db.session().get(ProfessionalProject, project_id)


def _timeline(world):
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(TimelineEvent)
                .where(
                    TimelineEvent.beneficiary_id == world.person.id,
                    TimelineEvent.kind.like("projects:%"),
                )
                .order_by(TimelineEvent.occurred_at)
            )
        )


def _snapshot():
    return {"projects": count(ProfessionalProject), "timeline": count(TimelineEvent)}


def _version_in(body):
    match = re.search(r'name="version" value="(\d+)"', body)
    assert match, "no version field in the form"
    return match.group(1)


NEW_PROJECT = {
    "rome_code": "N4105",
    "contract": "cdi",
    "working_time": "temps_plein",
    "mobility_radius_km": "30",
    "has_driving_licence": "1",
    "has_vehicle": "1",
    "status": "valide",
}


# -- reading -----------------------------------------------------------------------------------


def test_referent_reads_the_projects_and_the_read_is_logged(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Projets professionnels de Sofia Benali</h1>" in body
    assert "Nettoyage de locaux" in body
    assert "(ROME K2204)" in body
    assert "Services à la personne et à la collectivité" in body
    assert "Jusqu'à 15 km · Transports en commun" in body
    assert "Déclaré par un professionnel" in body
    assert "écrit par Romane Référente, Service insertion du Département" in body
    assert "Ajouter un projet professionnel" in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("projects:read", "projects:projects:read", Outcome.ALLOWED)
    ]


def test_a_member_reads_the_projects_without_the_forms(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "Nettoyage de locaux" in body
    assert "Ajouter un projet professionnel" not in body
    assert "Voir le projet" in body
    page = client.get(_project_url(world))
    assert page.status_code == 200
    assert 'name="version"' not in text(page)
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.ml_member.id)
    assert [(r.tag, r.object_id, r.outcome) for r in rows] == [
        ("projects:projects:read", None, Outcome.ALLOWED),
        ("projects:project:read", project_of(world), Outcome.ALLOWED),
    ]


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        ("health_member", 403, "Votre rôle ne permet pas d'accéder à cette partie du carnet."),
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
    for url in (_url(world), _project_url(world)):
        response = client.get(url)
        body = text(response)
        assert response.status_code == status, url
        assert message in body
        assert "Benali" not in body
        assert "Nettoyage de locaux" not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=pro.id)
    assert [(r.outcome, r.section) for r in rows] == [(Outcome.DENIED, "projects:read")] * 2


def test_another_person_gets_not_found(client, world, login_as):
    login_as(client, world.other_person_account)
    response = client.get(_url(world))
    assert response.status_code == 404
    assert "Nettoyage de locaux" not in text(response)
    rows = audit_rows(
        beneficiary_id=world.person.id, actor_account_id=world.other_person_account.id
    )
    assert [r.outcome for r in rows] == [Outcome.DENIED]


def test_the_record_page_links_to_projects_only_for_those_who_may_read_them(
    client, world, login_as, make_client
):
    link = f'href="/personnes/{world.person.id}/projets"'
    login_as(client, world.referent.account, world.referent.membership)
    assert link in text(client.get(f"/personnes/{world.person.id}"))
    health = make_client()
    login_as(health, world.health_member.account, world.health_member.membership)
    assert link not in text(health.get(f"/personnes/{world.person.id}"))


# -- the job picker, without JavaScript ---------------------------------------------------------


def test_the_job_list_is_grouped_by_rome_domain(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_url(world)))
    assert '<optgroup label="Services à la personne et à la collectivité">' in body
    assert '<optgroup label="Transport et logistique">' in body
    assert '<option value="K2204">Nettoyage de locaux (K2204)</option>' in body
    assert (
        '<option value="N4105">Conduite et livraison par tournées sur courte distance (N4105)'
        in body
    )


def test_the_filter_form_narrows_the_job_list(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    # Usual job titles find their code, accents and case aside.
    body = text(client.get(f"{_url(world)}?metier=agent de proprete"))
    assert 'value="K2204"' in body
    assert 'value="F1703"' not in body
    body = text(client.get(f"{_url(world)}?metier=Cariste"))
    assert 'value="N1101"' in body
    assert "1 métier de la liste correspond à « Cariste »" in body
    body = text(client.get(f"{_url(world)}?metier=NETTOYAGE"))
    assert 'value="K2204"' in body
    assert 'value="K2303"' in body  # Nettoyage des espaces urbains
    assert 'value="F1703"' not in body
    assert "Revoir toute la liste" in body
    body = text(client.get(f"{_url(world)}?metier=electricite batiment"))
    assert 'value="F1602"' in body
    body = text(client.get(f"{_url(world)}?metier=astronaute"))
    assert "Aucun métier de la liste ne correspond à « astronaute »" in body
    assert "<optgroup" not in body


def test_the_edit_form_keeps_the_saved_job_when_the_filter_leaves_it_out(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(f"{_project_url(world)}?metier=cuisine"))
    assert '<optgroup label="Métier enregistré">' in body
    assert '<option value="K2204" selected>' in body
    assert 'value="G1602"' in body


# -- writing -----------------------------------------------------------------------------------


def test_referent_adds_a_project_from_the_rome_list(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    before = _snapshot()
    response = client.submit(_url(world), NEW_PROJECT)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Le projet professionnel est enregistré." in page
    assert "Conduite et livraison par tournées sur courte distance" in page
    with scoping.unscoped():
        project = db.session().scalar(
            select(ProfessionalProject).where(ProfessionalProject.rome_code == "N4105")
        )
    assert project.job_label == "Conduite et livraison par tournées sur courte distance"
    assert project.contract is ContractSought.CDI
    assert project.working_time is WorkingTime.FULL_TIME
    assert project.mobility_radius_km == 30
    assert (project.has_driving_licence, project.has_vehicle) == (True, True)
    assert (project.has_two_wheeler, project.uses_public_transport) == (False, False)
    assert project.status is ProjectStatus.VALIDATED
    assert project.declared_by is DeclaredBy.PROFESSIONAL
    assert project.author_account_id == world.referent.id
    assert project.author_organisation_id == world.departement_org.id
    assert project.version == 1
    assert _snapshot() == {"projects": before["projects"] + 1, "timeline": before["timeline"] + 1}
    event = _timeline(world)[-1]
    assert event.kind == "projects:project:created"
    assert event.details == {"project_id": str(project.id), "status": "valide"}
    assert event.journey_id == world.journey.id
    rows = audit_rows(beneficiary_id=world.person.id, tag="projects:project:created")
    assert [(r.section, r.object_id, r.outcome) for r in rows] == [
        ("projects:write", project.id, Outcome.ALLOWED)
    ]


def test_the_person_declares_a_project_in_his_or_her_own_words(client, world, login_as):
    login_as(client, world.person_account)
    response = client.submit(
        _url(world),
        {
            "free_label": "Ouvrir un salon de thé",
            "contract": "creation_entreprise",
            "working_time": "indifferent",
            # The form cannot say who declares: the actor does.
        },
    )
    assert response.status_code == 302
    with scoping.unscoped():
        project = db.session().scalar(
            select(ProfessionalProject).where(
                ProfessionalProject.job_label == "Ouvrir un salon de thé"
            )
        )
    assert project.rome_code is None
    assert project.declared_by is DeclaredBy.PERSON
    assert project.author_organisation_id is None
    assert project.status is ProjectStatus.CONSIDERING
    assert project.mobility_radius_km is None
    means = (project.has_driving_licence, project.has_vehicle, project.has_two_wheeler)
    assert means == (False, False, False)
    body = text(client.get(_url(world)))
    assert 'Ouvrir un salon de thé <span class="meta">(hors liste ROME)</span>' in body
    # Declared by the person: said once, not « … · écrit par la personne ».
    assert "Déclaré par la personne le " in body
    assert "écrit par la personne" not in body.lower()
    assert "Distance non précisée · Aucun moyen de déplacement indiqué" in body


def test_who_declared_cannot_be_forged_by_the_form(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _url(world))
    response = send(client, _url(world), {**NEW_PROJECT, "declared_by": "personne"}, csrf=csrf)
    assert response.status_code == 422
    assert "Ce champ n'est pas attendu dans ce formulaire." in text(response)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"contract": "cdi", "working_time": "indifferent"},
            "Choisissez le métier visé dans la liste ou, s'il n'y est pas, écrivez-le",
        ),
        (
            {**NEW_PROJECT, "free_label": "Livreur"},
            "Choisissez un métier dans la liste ou écrivez-en un autre, pas les deux",
        ),
        ({**NEW_PROJECT, "rome_code": "Z1234"}, "Choisissez un métier de la liste."),
        ({**NEW_PROJECT, "rome_code": "A9999"}, "Ce métier n'est pas dans la liste"),
        ({**NEW_PROJECT, "contract": "stage"}, "Choisissez le contrat recherché"),
        ({**NEW_PROJECT, "working_time": "nuit"}, "Choisissez le temps de travail"),
        ({**NEW_PROJECT, "mobility_radius_km": "500"}, "entre 0 et 300"),
        ({**NEW_PROJECT, "mobility_radius_km": "loin"}, "entre 0 et 300"),
        ({**NEW_PROJECT, "status": "peut-etre"}, "Choisissez le statut"),
        ({"free_label": "ab", "contract": "cdi", "working_time": "indifferent"}, "entre 3 et 200"),
    ],
)
def test_malformed_projects_are_refused_in_french_and_nothing_is_written(
    client, world, login_as, data, message
):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _url(world))
    before = _snapshot()
    response = send(client, _url(world), data, csrf=csrf)
    body = text(response)
    assert response.status_code == 422
    assert message in body
    assert "Le formulaire contient des erreurs" in body
    assert _snapshot() == before
    # The page shown again is a read; no write was claimed in the access log.
    assert audit_rows(beneficiary_id=world.person.id, section="projects:write") == []


def test_a_member_cannot_add_a_project_and_the_refusal_is_logged(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    csrf = token(client, _url(world))
    before = _snapshot()
    response = send(client, _url(world), NEW_PROJECT, csrf=csrf)
    assert response.status_code == 403
    assert _snapshot() == before
    rows = audit_rows(beneficiary_id=world.person.id, section="projects:write")
    assert [(r.actor_account_id, r.outcome) for r in rows] == [(world.ml_member.id, Outcome.DENIED)]


def test_referent_edits_a_project(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_project_url(world)))
    response = client.submit(
        _project_url(world),
        {
            "rome_code": "K2204",
            "contract": "interim",
            "working_time": "temps_partiel",
            "mobility_radius_km": "0",
            "has_two_wheeler": "1",
            "status": "abandonne",
            "version": _version_in(body),
        },
    )
    assert response.status_code == 302
    project = _project(project_of(world))
    assert project.contract is ContractSought.TEMPORARY
    assert project.status is ProjectStatus.ABANDONED
    assert project.mobility_radius_km == 0
    assert (project.has_two_wheeler, project.uses_public_transport) == (True, False)
    assert project.version == 2
    event = _timeline(world)[-1]
    assert event.kind == "projects:project:updated"
    assert event.details == {"project_id": str(project.id), "status": "abandonne"}
    page = text(client.get(_url(world)))
    assert "Sur sa commune seulement · Deux-roues (vélo, scooter, moto)" in page
    assert "Abandonné" in page


def test_saving_an_unchanged_project_writes_nothing(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(_project_url(world)))
    before = _snapshot()
    response = client.submit(
        _project_url(world),
        {
            "rome_code": "K2204",
            "contract": "cdi",
            "working_time": "temps_partiel",
            "mobility_radius_km": "15",
            "uses_public_transport": "1",
            "status": "en_reflexion",
            "version": _version_in(body),
        },
    )
    assert response.status_code == 302
    assert "Rien n'a changé" in text(client.get(response.headers["Location"]))
    assert _snapshot() == before
    assert _project(project_of(world)).version == 1


def test_a_stale_edit_is_refused_shows_what_changed_and_keeps_the_input(
    client, world, login_as, make_client
):
    login_as(client, world.referent.account, world.referent.membership)
    stale_version = _version_in(text(client.get(_project_url(world))))
    # A colleague saves first, from another browser.
    other = make_client()
    login_as(other, world.person_account)
    saved = other.submit(
        _project_url(world),
        {
            "rome_code": "K2204",
            "contract": "cdd",
            "working_time": "temps_plein",
            "mobility_radius_km": "25",
            "status": "valide",
            "version": stale_version,
        },
    )
    assert saved.status_code == 302
    before = _snapshot()
    csrf = token(client, _url(world))
    response = send(
        client,
        _project_url(world),
        {
            "free_label": "Agente d'entretien dans un hôpital",
            "contract": "cdi",
            "working_time": "temps_partiel",
            "mobility_radius_km": "12",
            "status": "en_reflexion",
            "version": stale_version,
        },
        csrf=csrf,
    )
    body = text(response)
    assert response.status_code == 409
    assert "Quelqu'un d'autre a modifié ce projet" in body
    assert "votre saisie est conservée dans le formulaire" in body
    # The saved version and the typed one, side by side.
    assert "Version enregistrée" in body
    assert "CDD" in body
    assert "Jusqu'à 25 km" in body
    assert "Jusqu'à 12 km" in body
    # The input is kept in the form, which now carries the current version.
    assert 'value="Agente d\'entretien dans un hôpital"' in body
    assert 'value="12"' in body
    assert _version_in(body) == "2"
    # Nothing was written over the colleague's save.
    project = _project(project_of(world))
    assert project.contract is ContractSought.CDD
    assert project.job_label == "Nettoyage de locaux"
    assert project.version == 2
    assert _snapshot() == before
    rows = audit_rows(
        beneficiary_id=world.person.id,
        actor_account_id=world.referent.id,
        tag="projects:project:updated",
    )
    assert rows == []


def test_a_stale_form_without_version_is_refused(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _url(world))
    response = send(client, _project_url(world), {**NEW_PROJECT}, csrf=csrf)
    assert response.status_code == 422
    assert "Le formulaire est incomplet : rechargez la page." in text(response)


def test_an_unknown_project_is_not_found(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(f"{_url(world)}/{world.objective_id}")
    assert response.status_code == 404
    assert "Ce projet professionnel n'existe pas dans ce carnet." in text(response)


def test_the_history_shows_project_events_in_french(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    client.submit(_url(world), NEW_PROJECT)
    body = text(client.get(f"/personnes/{world.person.id}/historique?domaine=projects"))
    assert "Projet professionnel ajouté" in body
    assert "Projets professionnels" in body


# -- the ROME list -------------------------------------------------------------------------------


def test_the_rome_list_holds_real_codes_grouped_by_domain():
    jobs = services.rome_jobs()
    assert len(jobs) >= 150
    assert jobs["K2204"].label == "Nettoyage de locaux"
    assert jobs["N4105"].label == "Conduite et livraison par tournées sur courte distance"
    assert jobs["J1501"].label == "Soins d'hygiène, de confort du patient"
    assert jobs["K1303"].label == "Assistance auprès d'enfants"
    assert all(re.fullmatch(r"[A-N][0-9]{4}", code) for code in jobs)
    domains = services.rome_domains()
    assert [d.letter for d in domains] == sorted(d.letter for d in domains)
    assert sum(len(d.jobs) for d in domains) == len(jobs)
    # The fields people on the RSA most often aim at are all there.
    assert {"A", "D", "F", "G", "H", "J", "K", "M", "N"} <= {d.letter for d in domains}
