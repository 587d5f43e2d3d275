"""The plan d'action pages: who reads and writes it, what the logs keep, what a stale save
does, and what malformed input gets."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from carnet import db
from carnet.plan.models import ActionStatus, ObjectiveStatus, PlanAction, PlanAxis, PlanObjective
from carnet.records.models import TimelineEvent
from carnet.referential.models import Aim, OarsaCategory, Theme
from carnet.security import scoping
from carnet.security.permissions import Outcome
from tests.records.world import audit_rows, build_world, count, send, text, token


@pytest.fixture
def world(db_session):
    return build_world()


def _plan_url(world):
    return f"/personnes/{world.person.id}/plan"


def _objective_url(world, objective_id=None):
    return f"{_plan_url(world)}/objectifs/{objective_id or world.objective_id}"


def _action_url(world):
    return f"{_plan_url(world)}/actions/{world.action_id}"


def _objective(objective_id):
    with scoping.unscoped():
        db.session().expire_all()
        return db.session().get(PlanObjective, objective_id)


def _action(action_id):
    with scoping.unscoped():
        db.session().expire_all()
        return db.session().get(PlanAction, action_id)


def _snapshot():
    return {
        "axes": count(PlanAxis),
        "objectives": count(PlanObjective),
        "actions": count(PlanAction),
        "timeline": count(TimelineEvent),
    }


def _version_in(body):
    match = re.search(r'name="version" value="(\d+)"', body)
    assert match, "no version field in the form"
    return match.group(1)


# -- reading -----------------------------------------------------------------------------------


def test_referent_reads_the_plan_and_the_read_is_logged(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(_plan_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Plan d'action de Sofia Benali</h1>" in body
    assert "Logement" in body
    assert "Visée sociale" in body
    assert "Accéder à un logement stable" in body
    assert "Déposer une demande de logement social" in body
    assert "Ajouté par Romane Référente, Service insertion du Département" in body
    assert "Ajouter un objectif" in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("plan:read", "plan:plan:read", Outcome.ALLOWED)
    ]


def test_health_member_reads_the_plan_without_the_forms(client, world, login_as):
    login_as(client, world.health_member.account, world.health_member.membership)
    response = client.get(_plan_url(world))
    body = text(response)
    assert response.status_code == 200
    assert "Accéder à un logement stable" in body
    assert "Ajouter un objectif" not in body
    assert "Ajouter une action" not in body
    assert "Voir l'objectif" in body


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        ("outsider", 403, "Vous ne faites pas partie du groupe de suivi de cette personne."),
        ("structure_admin", 403, "Vous ne faites pas partie du groupe de suivi"),
        ("foreign", 404, "Ce carnet n'existe pas ou ne vous est pas accessible."),
    ],
)
def test_people_outside_the_group_are_refused_and_the_refusal_is_logged(
    client, world, login_as, who, status, message
):
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    for url in (_plan_url(world), _objective_url(world), _action_url(world)):
        response = client.get(url)
        body = text(response)
        assert response.status_code == status, url
        assert message in body
        assert "Benali" not in body
        assert "logement stable" not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=pro.id)
    assert [(r.outcome, r.section) for r in rows] == [(Outcome.DENIED, "plan:read")] * 3


def test_another_person_gets_not_found(client, world, login_as):
    login_as(client, world.other_person_account)
    response = client.get(_plan_url(world))
    assert response.status_code == 404
    assert "logement stable" not in text(response)


def test_the_person_reads_his_or_her_own_plan(client, world, login_as):
    login_as(client, world.person_account)
    response = client.get(_plan_url(world))
    assert response.status_code == 200
    assert "Accéder à un logement stable" in text(response)


# -- writing -----------------------------------------------------------------------------------


def test_referent_adds_an_objective_under_a_new_axis_then_an_action(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    with scoping.unscoped():
        emploi = Theme(
            departement_id=world.departement_id,
            code="emploi",
            label="Emploi",
            aim=Aim.PROFESSIONAL,
            oarsa_category=OarsaCategory.RECHERCHE_EMPLOI,
            position=2,
        )
        db.session().add(emploi)
        db.session().flush()
    before = _snapshot()
    response = client.submit(
        f"{_plan_url(world)}/objectifs",
        {
            "theme_id": str(emploi.id),
            "label": "Retrouver un emploi durable",
            "due_on": "2026-12-15",
            "has_person_consent": "1",
        },
        form_page=_plan_url(world),
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "L'objectif est ajouté au plan d'action." in page
    assert "Retrouver un emploi durable" in page
    assert "Visée professionnelle" in page
    assert "Accord de la personne recueilli" in page
    with scoping.unscoped():
        objective = db.session().scalar(
            select(PlanObjective).where(PlanObjective.label == "Retrouver un emploi durable")
        )
    assert objective.status is ObjectiveStatus.IN_PROGRESS
    assert objective.author_account_id == world.referent.id
    assert objective.version == 1
    after = _snapshot()
    assert after["axes"] == before["axes"] + 1
    assert after["objectives"] == before["objectives"] + 1
    kinds = [e.kind for e in _timeline(world) if e.details.get("objective_id") == str(objective.id)]
    assert kinds == ["plan:objective:created"]
    assert "plan:axis:created" in [e.kind for e in _timeline(world)]
    rows = audit_rows(beneficiary_id=world.person.id, tag="plan:objective:created")
    assert [(r.section, r.object_id, r.outcome) for r in rows] == [
        ("plan:write", objective.id, Outcome.ALLOWED)
    ]

    response = client.submit(
        f"{_objective_url(world, objective.id)}/actions",
        {
            "label": "Participer à un job dating",
            "status": "prevue",
            "origin": "partenaire",
            "due_on": "2026-10-01",
        },
        form_page=_objective_url(world, objective.id),
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Participer à un job dating" in page
    assert "Proposée par un partenaire" in page
    assert "plan:action:created" in [e.kind for e in _timeline(world)]


def _timeline(world):
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(TimelineEvent).where(
                    TimelineEvent.beneficiary_id == world.person.id,
                    TimelineEvent.kind.like("plan:%"),
                )
            )
        )


def test_the_person_adds_an_action_to_his_or_her_plan(client, world, login_as):
    login_as(client, world.person_account)
    response = client.submit(
        f"{_objective_url(world)}/actions",
        {"label": "Appeler le bailleur social", "origin": "personne"},
        form_page=_plan_url(world),
    )
    assert response.status_code == 302
    with scoping.unscoped():
        action = db.session().scalar(
            select(PlanAction).where(PlanAction.label == "Appeler le bailleur social")
        )
    assert action.status is ActionStatus.PLANNED
    assert "Ajoutée par la personne" in text(client.get(_plan_url(world)))
    # At the start of a cell, the label takes a capital.
    page = text(client.get(f"{_plan_url(world)}/actions/{action.id}"))
    assert "<dd>La personne, " in page


def test_health_member_cannot_write_and_the_refusal_is_logged(client, world, login_as):
    login_as(client, world.health_member.account, world.health_member.membership)
    csrf = token(client, _plan_url(world))
    before = _snapshot()
    response = send(
        client,
        f"{_objective_url(world)}/actions",
        {"label": "Une action", "origin": "partenaire"},
        csrf=csrf,
    )
    assert response.status_code == 403
    assert "Votre rôle ne permet pas d'accéder à cette partie du carnet." in text(response)
    assert _snapshot() == before
    rows = audit_rows(
        beneficiary_id=world.person.id,
        actor_account_id=world.health_member.id,
        section="plan:write",
    )
    assert [r.outcome for r in rows] == [Outcome.DENIED]


def test_referent_updates_an_action_status(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    page = text(client.get(_action_url(world)))
    response = client.submit(
        _action_url(world),
        {
            "label": "Déposer une demande de logement social",
            "status": "realisee",
            "origin": "referent",
            "version": _version_in(page),
        },
    )
    assert response.status_code == 302
    action = _action(world.action_id)
    assert action.status is ActionStatus.DONE
    assert action.version == 2
    assert "plan:action:updated" in [e.kind for e in _timeline(world)]


# -- two tabs: the second save is refused, nothing is lost -------------------------------------


def test_a_stale_objective_save_is_refused_and_keeps_the_users_text(make_client, world, login_as):
    first, second = make_client(), make_client()
    login_as(first, world.referent.account, world.referent.membership)
    login_as(second, world.ml_member.account, world.ml_member.membership)
    first_version = _version_in(text(first.get(_objective_url(world))))
    second_version = _version_in(text(second.get(_objective_url(world))))
    assert first_version == second_version == "1"

    saved = first.submit(
        _objective_url(world),
        {
            "label": "Accéder à un logement stable à Limoges",
            "status": "en_cours",
            "version": first_version,
        },
    )
    assert saved.status_code == 302
    timeline_before = _snapshot()["timeline"]

    stale = second.submit(
        _objective_url(world),
        {
            "label": "Trouver un logement près du travail",
            "details": "La personne préfère le quartier des Coutures.",
            "status": "atteint",
            "version": second_version,
        },
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cet élément pendant que vous le modifiiez" in body
    assert "votre saisie est conservée" in body
    # The current values are shown, and the user's own text is back in the form.
    assert "Accéder à un logement stable à Limoges" in body
    assert 'value="Trouver un logement près du travail"' in body
    assert "La personne préfère le quartier des Coutures.</textarea>" in body
    assert '<option value="atteint" selected>' in body
    # The form now carries the current version, so a deliberate resubmit can succeed.
    assert _version_in(body) == "2"
    objective = _objective(world.objective_id)
    assert objective.label == "Accéder à un logement stable à Limoges"
    assert objective.status is ObjectiveStatus.IN_PROGRESS
    assert objective.details is None
    assert objective.version == 2
    assert _snapshot()["timeline"] == timeline_before
    # The refused save left no write in the log; the page shown after it is a logged read.
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.ml_member.id)
    assert [(r.tag, r.outcome) for r in rows][-1] == ("plan:objective:read", Outcome.ALLOWED)
    assert "plan:objective:updated" not in [r.tag for r in rows]

    resubmitted = second.submit(
        _objective_url(world),
        {"label": "Trouver un logement près du travail", "status": "atteint", "version": "2"},
        form_page=_objective_url(world),
    )
    assert resubmitted.status_code == 302
    assert _objective(world.objective_id).label == "Trouver un logement près du travail"


def test_a_stale_action_save_is_refused_and_keeps_the_users_text(make_client, world, login_as):
    first, second = make_client(), make_client()
    login_as(first, world.referent.account, world.referent.membership)
    login_as(second, world.referent.account, world.referent.membership)
    version = _version_in(text(first.get(_action_url(world))))
    assert _version_in(text(second.get(_action_url(world)))) == version
    data = {"label": "Déposer une demande de logement social", "origin": "referent"}
    assert (
        first.submit(
            _action_url(world), {**data, "status": "en_cours", "version": version}
        ).status_code
        == 302
    )
    stale = second.submit(
        _action_url(world),
        {
            **data,
            "status": "annulee",
            "details": "Dossier déjà déposé en mars.",
            "version": version,
        },
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cet élément" in body
    assert "Dossier déjà déposé en mars.</textarea>" in body
    action = _action(world.action_id)
    assert action.status is ActionStatus.IN_PROGRESS
    assert action.details is None
    assert action.version == 2


# -- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label": "Un objectif"}, "Choisissez le thème de l'objectif."),
        ({"theme_id": "pas-un-uuid", "label": "Un objectif"}, "Choisissez un thème de la liste."),
        ({"theme_id": "THEME"}, "Ce champ est obligatoire."),
        ({"theme_id": "THEME", "label": "ab"}, "Le libellé doit compter entre 3 et 200"),
        ({"theme_id": "THEME", "label": "x" * 201}, "Le libellé doit compter entre 3 et 200"),
        (
            {"theme_id": "THEME", "label": "Un objectif", "due_on": "31/02/2026"},
            "Saisissez une date valide",
        ),
        (
            {"theme_id": "THEME", "label": "Un objectif", "due_on": "1850-01-01"},
            "Cette échéance n'est pas vraisemblable.",
        ),
        (
            {"theme_id": "THEME", "label": "Un objectif", "status": "atteint"},
            "Ce champ n'est pas attendu dans ce formulaire.",
        ),
        (
            {"theme_id": str(uuid.UUID(int=7)), "label": "Un objectif"},
            "Choisissez un thème du référentiel de votre département.",
        ),
    ],
)
def test_malformed_objective_gets_a_french_422_and_no_row(client, world, login_as, data, message):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _plan_url(world))
    before = _snapshot()
    payload = {k: (str(world.theme_id) if v == "THEME" else v) for k, v in data.items()}
    response = send(client, f"{_plan_url(world)}/objectifs", payload, csrf=csrf)
    body = text(response)
    assert response.status_code == 422
    assert "Le formulaire contient des erreurs" in body
    assert message in body
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("objective", {"label": "Accéder", "status": "en_cours"}, "rechargez la page"),
        (
            "objective",
            {"label": "Accéder", "status": "fini", "version": "1"},
            "Choisissez le statut",
        ),
        ("objective", {"label": "Accéder", "status": "en_cours", "version": "x"}, "rechargez"),
        (
            "action",
            {"label": "Action", "origin": "moi", "status": "prevue", "version": "1"},
            "Choisissez l'origine",
        ),
        (
            "action",
            {"label": "Action", "origin": "referent", "version": "1"},
            "Ce champ est obligatoire.",
        ),
        ("add_action", {"label": "Action"}, "Ce champ est obligatoire."),
        (
            "add_action",
            {"label": "Action", "origin": "referent", "status": "finie"},
            "Choisissez le statut",
        ),
    ],
)
def test_malformed_edits_get_a_french_422_and_change_nothing(
    client, world, login_as, url, data, message
):
    login_as(client, world.referent.account, world.referent.membership)
    target = {
        "objective": _objective_url(world),
        "action": _action_url(world),
        "add_action": f"{_objective_url(world)}/actions",
    }[url]
    csrf = token(client, _plan_url(world))
    before = _snapshot()
    response = send(client, target, data, csrf=csrf)
    assert response.status_code == 422
    assert message in text(response)
    assert _snapshot() == before
    assert _objective(world.objective_id).version == 1
    assert _action(world.action_id).version == 1


def test_an_objective_of_another_person_is_not_found(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(f"/personnes/{world.person.id}/plan/objectifs/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "Cet objectif n'existe pas dans ce plan d'action." in text(response)
