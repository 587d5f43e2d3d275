"""The situation pages through HTTP: who reads and writes the diagnostic and the freins,
what the access log and the timeline keep, dated versions, stale saves, status changes
and malformed input."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from carnet import clock, db
from carnet.records.models import TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import Outcome
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
)
from tests.records.world import audit_rows, build_world, count, send, text, token
from tests.situation.world import SITUATION_LABEL, situation_ids


@pytest.fixture
def world(db_session: Any) -> Any:
    world = build_world()
    situation_ids(world)
    return world


def _url(world: Any, suffix: str = "") -> str:
    return f"/personnes/{world.person.id}/situation{suffix}"


def _barrier_url(world: Any, suffix: str = "") -> str:
    return _url(world, f"/freins/{situation_ids(world).barrier_id}{suffix}")


def _barrier(barrier_id: uuid.UUID) -> Barrier:
    with scoping.unscoped():
        db.session().expire_all()
        row = db.session().get(Barrier, barrier_id)
        assert row is not None
        return row


def _diagnostics(world: Any) -> list[Diagnostic]:
    with scoping.unscoped():
        db.session().expire_all()
        return list(
            db.session().scalars(
                select(Diagnostic)
                .where(Diagnostic.beneficiary_id == world.person.id)
                .order_by(Diagnostic.number)
            )
        )


def _kinds(world: Any, prefix: str = "situation:") -> list[str]:
    with scoping.unscoped():
        return [
            e.kind
            for e in db.session().scalars(
                select(TimelineEvent)
                .where(
                    TimelineEvent.beneficiary_id == world.person.id,
                    TimelineEvent.kind.startswith(prefix),
                )
                .order_by(TimelineEvent.occurred_at)
            )
        ]


def _snapshot() -> dict[str, int]:
    return {
        "diagnostics": count(Diagnostic),
        "situations": count(DiagnosticSituation),
        "barriers": count(Barrier),
        "timeline": count(TimelineEvent),
    }


def _version_in(body: str, name: str = "version") -> str:
    match = re.search(rf'name="{name}" value="(\d+)"', body)
    assert match, f"no {name} field in the form"
    return match.group(1)


def _login(client: Any, login_as: Any, world: Any, who: str) -> uuid.UUID:
    if who == "person":
        login_as(client, world.person_account)
        return world.person_account.id
    if who == "other_person":
        login_as(client, world.other_person_account)
        return world.other_person_account.id
    pro = getattr(world, who)
    login_as(client, pro.account, pro.membership)
    return pro.id


# -- reading, per role ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "writes"),
    [
        ("referent", 200, True),
        ("ml_member", 200, False),  # mission locale member: reads the situation
        ("health_member", 200, False),  # health structure: reads it too
        ("officer", 200, False),  # chargé d'orientation of the département, outside the group
        ("person", 200, True),  # the person, on his or her own record
    ],
)
def test_the_situation_page_is_read_by_those_the_matrix_allows(
    client, world, login_as, who, status, writes
):
    actor_id = _login(client, login_as, world, who)
    response = client.get(_url(world))
    body = text(response)
    assert response.status_code == status
    assert "Version 1 du" in body
    assert SITUATION_LABEL in body
    assert "Vente en boulangerie" in body
    assert "Romane Référente, Service insertion du Département" in body
    assert ("Noter un frein" in body) is writes
    assert ("Mettre à jour le diagnostic" in body) is writes
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=actor_id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("situation:read", "situation:situation:read", Outcome.ALLOWED)
    ]


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        ("outsider", 403, "Vous ne faites pas partie du groupe de suivi de cette personne."),
        ("structure_admin", 403, "Vous ne faites pas partie du groupe de suivi"),
        ("departement_admin", 403, "Vous ne faites pas partie du groupe de suivi"),
        ("foreign", 404, "Ce carnet n'existe pas ou ne vous est pas accessible."),
        ("other_person", 404, "Ce carnet n'existe pas ou ne vous est pas accessible."),
    ],
)
def test_the_situation_is_refused_to_others_and_the_refusal_is_logged(
    client, world, login_as, who, status, message
):
    actor_id = _login(client, login_as, world, who)
    ids = situation_ids(world)
    urls = [
        _url(world),
        _url(world, "/diagnostic"),
        _url(world, f"/diagnostics/{ids.diagnostic_id}"),
        _barrier_url(world),
    ]
    for url in urls:
        response = client.get(url)
        body = text(response)
        assert response.status_code == status, url
        assert message in body
        assert "Benali" not in body
        assert SITUATION_LABEL not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=actor_id)
    assert [(r.outcome, r.section) for r in rows] == [(Outcome.DENIED, "situation:read")] * 4


def test_a_member_who_only_reads_cannot_write_and_the_refusal_is_logged(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    csrf = token(client, _url(world))
    before = _snapshot()
    response = send(
        client,
        _url(world, "/freins"),
        {"theme_id": str(world.theme_id), "label": "Logement trop petit"},
        csrf=csrf,
    )
    assert response.status_code == 403
    assert "Votre rôle ne permet pas d'accéder à cette partie du carnet." in text(response)
    assert _snapshot() == before
    rows = audit_rows(
        beneficiary_id=world.person.id,
        actor_account_id=world.ml_member.id,
        section="situation:write",
    )
    assert [r.outcome for r in rows] == [Outcome.DENIED]


# -- the diagnostic: dated versions ----------------------------------------------------------------


def _diagnostic_form(world: Any, **extra: Any) -> dict[str, Any]:
    ids = situation_ids(world)
    return {
        "based_on": "1",
        "education_level": "bac",
        "digital_autonomy": "needs_help",
        "situation": [str(ids.situation_entry_id), str(ids.other_entry_id)],
        f"autre-{world.theme_id}": "Logement partagé avec trois enfants",
        "strengths": "Très entourée par sa sœur\nPermis B",
        "skills": "Vente en boulangerie\nCaisse",
        "summary": "Une dette de loyer est apparue ; la recherche d'emploi attend.",
        **extra,
    }


def test_recording_the_diagnostic_writes_a_new_dated_version(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    form = text(client.get(_url(world, "/diagnostic")))
    assert _version_in(form, "based_on") == "1"
    assert "Le formulaire reprend la version 1" in form
    # The latest version fills the form.
    assert f'value="{situation_ids(world).situation_entry_id}" checked' in form
    response = client.submit(_url(world, "/diagnostic"), _diagnostic_form(world))
    assert response.status_code == 302
    versions = _diagnostics(world)
    assert [v.number for v in versions] == [1, 2]
    latest = versions[-1]
    assert latest.declared_by is Declarant.PROFESSIONAL
    assert latest.author_account_id == world.referent.id
    assert latest.author_organisation_id == world.departement_org.id
    assert latest.strengths == ["Très entourée par sa sœur", "Permis B"]
    assert latest.skills == ["Vente en boulangerie", "Caisse"]
    with scoping.unscoped():
        labels = list(
            db.session().scalars(
                select(DiagnosticSituation.label)
                .where(DiagnosticSituation.diagnostic_id == latest.id)
                .order_by(DiagnosticSituation.position)
            )
        )
    assert labels == [
        SITUATION_LABEL,
        "Impayés de loyer ou menace d'expulsion",
        "Logement partagé avec trois enfants",
    ]
    # The earlier version is untouched.
    assert versions[0].education_level.value == "cap_bep"
    page = text(client.get(response.headers["Location"]))
    assert "Le diagnostic est enregistré" in page
    assert "Diagnostic, version 2 du" in page
    assert "Niveau de formation : CAP, BEP (niveau 3) → Baccalauréat (niveau 4)" in page
    assert "Situation ajoutée (Logement) : Impayés de loyer ou menace d'expulsion" in page
    assert "Situation ajoutée (Logement) : Logement partagé avec trois enfants" in page
    assert "Point d'appui ajouté : Permis B" in page
    assert "La synthèse a été réécrite." in page
    assert _kinds(world) == ["situation:diagnostic:recorded"]
    rows = audit_rows(beneficiary_id=world.person.id, tag="situation:diagnostic:recorded")
    assert [(r.section, r.object_id, r.outcome) for r in rows] == [
        ("situation:write", latest.id, Outcome.ALLOWED)
    ]


def test_versions_are_listed_newest_first_and_earlier_ones_open(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    for based_on, level in (("1", "bac"), ("2", "licence")):
        form = _diagnostic_form(world, based_on=based_on, education_level=level)
        assert client.submit(_url(world, "/diagnostic"), form).status_code == 302
    body = text(client.get(_url(world)))
    found = re.findall(r"Version (\d) du", body)
    # The latest shown first, then the dated list from the newest.
    assert found == ["3", "3", "2", "1"]
    assert "Licence, bac + 3 (niveau 6)" in body
    first = _diagnostics(world)[0]
    page = text(client.get(_url(world, f"/diagnostics/{first.id}")))
    assert "Diagnostic, version 1 du" in page
    assert "C'est le premier diagnostic enregistré dans ce carnet." in page
    assert "CAP, BEP (niveau 3)" in page
    rows = audit_rows(beneficiary_id=world.person.id, tag="situation:diagnostic:read")
    assert [(r.object_id, r.outcome) for r in rows][-1] == (first.id, Outcome.ALLOWED)


def test_a_diagnostic_built_on_an_old_version_is_refused_and_the_input_kept(
    make_client, world, login_as
):
    first, second = make_client(), make_client()
    login_as(first, world.referent.account, world.referent.membership)
    # The person may write his or her own situation too.
    login_as(second, world.person_account)
    assert _version_in(text(first.get(_url(world, "/diagnostic"))), "based_on") == "1"
    assert _version_in(text(second.get(_url(world, "/diagnostic"))), "based_on") == "1"
    assert first.submit(_url(world, "/diagnostic"), _diagnostic_form(world)).status_code == 302
    before = _snapshot()
    stale = second.submit(
        _url(world, "/diagnostic"),
        _diagnostic_form(world, summary="Je veux d'abord passer mon permis.", education_level=""),
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Une nouvelle version du diagnostic a été enregistrée pendant votre saisie" in body
    assert "Niveau de formation : CAP, BEP (niveau 3) → Baccalauréat (niveau 4)" in body
    assert "Je veux d'abord passer mon permis.</textarea>" in body
    assert _version_in(body, "based_on") == "2"
    assert _snapshot() == before
    again = second.submit(
        _url(world, "/diagnostic"),
        _diagnostic_form(world, based_on="2", summary="Je veux d'abord passer mon permis."),
        form_page=_url(world, "/diagnostic"),
    )
    assert again.status_code == 302
    latest = _diagnostics(world)[-1]
    assert latest.number == 3
    assert latest.declared_by is Declarant.PERSON
    assert latest.author_account_id == world.person_account.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"situation": [str(uuid.UUID(int=5))]}, "ne fait plus partie du référentiel"),
        ({"situation": ["pas-un-id"]}, "rechargez la page"),
        ({"education_level": "doctorat"}, "Choisissez un niveau de formation de la liste."),
        ({"strengths": "x" * 121}, "Chaque ligne compte au plus 120 caractères"),
        ({"skills": "\n".join(f"c{i}" for i in range(13))}, "Indiquez au plus 12 compétences"),
        ({"autre-pas-un-id": "Quelque chose"}, "rechargez la page"),
        ({"summary": "x" * 1001}, "La synthèse compte au plus 1000 caractères."),
        ({"based_on": ""}, "rechargez la page"),
        ({"pirate": "1"}, "Ce champ n'est pas attendu dans ce formulaire."),
    ],
)
def test_a_malformed_diagnostic_gets_a_french_422_and_no_row(
    client, world, login_as, change, message
):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _url(world, "/diagnostic"))
    before = _snapshot()
    response = send(
        client, _url(world, "/diagnostic"), _diagnostic_form(world, **change), csrf=csrf
    )
    body = text(response)
    assert response.status_code == 422
    assert "Le formulaire contient des erreurs" in body
    assert message in body
    assert _snapshot() == before


def test_a_health_situation_cannot_be_ticked_in_the_diagnostic(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    form = text(client.get(_url(world, "/diagnostic")))
    assert "Problème de santé qui limite l'activité" not in form
    csrf = token(client, _url(world, "/diagnostic"))
    health_entry = str(situation_ids(world).health_entry_id)
    response = send(
        client,
        _url(world, "/diagnostic"),
        _diagnostic_form(world, situation=[health_entry]),
        csrf=csrf,
    )
    assert response.status_code == 422
    assert len(_diagnostics(world)) == 1


# -- freins périphériques --------------------------------------------------------------------------


def test_referent_notes_a_frein_from_the_referential(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    before = _snapshot()
    response = client.submit(
        _url(world, "/freins"),
        {
            "theme_id": str(world.theme_id),
            "label": "Impayés de loyer ou menace d'expulsion",
            "details": "Deux mois de retard, le bailleur a écrit.",
        },
        form_page=_url(world),
    )
    assert response.status_code == 302
    assert _snapshot()["barriers"] == before["barriers"] + 1
    with scoping.unscoped():
        row = db.session().scalar(
            select(Barrier).where(Barrier.label == "Impayés de loyer ou menace d'expulsion")
        )
    assert row.entry_id == situation_ids(world).other_entry_id
    assert row.status is BarrierStatus.IDENTIFIED
    assert row.declared_by is Declarant.PROFESSIONAL
    assert row.version == 1
    page = text(client.get(response.headers["Location"]))
    assert "Le frein est noté" in page
    assert "Deux mois de retard, le bailleur a écrit." in page
    assert _kinds(world) == ["situation:barrier:added"]
    rows = audit_rows(beneficiary_id=world.person.id, tag="situation:barrier:added")
    assert [(r.section, r.object_id) for r in rows] == [("situation:write", row.id)]


def test_what_the_person_declared_is_said_once(make_client, world, login_as):
    """« déclaré par la personne » is not followed by « par la personne »; where the author
    starts a cell, it is capitalised."""
    person = make_client()
    login_as(person, world.person_account)
    response = person.submit(
        _url(world, "/freins"),
        {"theme_id": str(world.theme_id), "label": "Plus de chauffage depuis un mois"},
        form_page=_url(world),
    )
    assert response.status_code == 302
    assert person.submit(_url(world, "/diagnostic"), _diagnostic_form(world)).status_code == 302
    with scoping.unscoped():
        barrier = db.session().scalar(
            select(Barrier).where(Barrier.label == "Plus de chauffage depuis un mois")
        )
    diagnostic = _diagnostics(world)[-1]
    assert (barrier.declared_by, diagnostic.declared_by) == (Declarant.PERSON, Declarant.PERSON)
    referent = make_client()
    login_as(referent, world.referent.account, world.referent.membership)
    page = text(referent.get(_url(world)))
    assert "déclaré par la personne · par" not in page
    assert "Déclaré par la personne · noté par" not in page
    assert "Déclaré par la personne · la personne" not in page
    assert "Déclaré par la personne" in page
    # A frein the référent noted still names him or her.
    assert "Déclaré par un professionnel · noté par Romane Référente" in page
    page = text(referent.get(_url(world, f"/freins/{barrier.id}")))
    assert "<dd>La personne, " in page
    page = text(referent.get(_url(world, f"/diagnostics/{diagnostic.id}")))
    assert "Déclaré par la personne · enregistré à " in page
    assert "enregistré par la personne" not in page


def test_a_free_frein_has_no_referential_entry(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.submit(
        _url(world, "/freins"),
        {
            "theme_id": str(world.theme_id),
            "label": "Voisinage très bruyant",
            "identified_on": "2026-01-10",
        },
        form_page=_url(world),
    )
    assert response.status_code == 302
    with scoping.unscoped():
        row = db.session().scalar(select(Barrier).where(Barrier.label == "Voisinage très bruyant"))
    assert row.entry_id is None
    assert str(row.identified_on) == "2026-01-10"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label": "Un frein"}, "Choisissez le thème du frein."),
        ({"theme_id": "THEME", "label": "ab"}, "Le libellé doit compter entre 3 et 200"),
        ({"theme_id": "pas-un-id", "label": "Un frein"}, "Choisissez un thème de la liste."),
        (
            {"theme_id": str(uuid.UUID(int=3)), "label": "Un frein"},
            "Choisissez un thème du référentiel de votre département.",
        ),
        ({"theme_id": "HEALTH", "label": "Un frein"}, "se notent dans le volet santé"),
        (
            {"theme_id": "THEME", "label": "Un frein", "identified_on": "2999-01-01"},
            "Cette date n'est pas vraisemblable.",
        ),
        (
            {"theme_id": "THEME", "label": "Un frein", "identified_on": "2099-01-01"},
            "Cette date est dans le futur",
        ),
        ({"theme_id": "THEME", "label": "Un frein", "status": "leve"}, "n'est pas attendu"),
    ],
)
def test_a_malformed_frein_gets_a_french_422_and_no_row(client, world, login_as, data, message):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client, _url(world))
    before = _snapshot()
    replace = {"THEME": str(world.theme_id), "HEALTH": str(situation_ids(world).health_theme_id)}
    payload = {key: replace.get(value, value) for key, value in data.items()}
    response = send(client, _url(world, "/freins"), payload, csrf=csrf)
    body = text(response)
    assert response.status_code == 422
    assert message in body
    assert _snapshot() == before
    # A refused form writes no write row in the access log; the page shown is a read.
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.referent.id)
    assert "situation:barrier:added" not in [r.tag for r in rows]


def test_a_frein_moves_forward_with_the_date_of_each_status(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    barrier_id = situation_ids(world).barrier_id
    page = text(client.get(_barrier_url(world)))
    started_on = clock.today() - dt.timedelta(days=3)
    started = client.submit(
        _barrier_url(world, "/statut"),
        {"status": "en_cours", "on": started_on.isoformat(), "version": _version_in(page)},
        form_page=_barrier_url(world),
    )
    assert started.status_code == 302
    row = _barrier(barrier_id)
    assert row.status is BarrierStatus.IN_PROGRESS
    assert row.in_progress_on == started_on
    page = text(client.get(_barrier_url(world)))
    lifted = client.submit(
        _barrier_url(world, "/statut"),
        {"status": "leve", "version": _version_in(page)},
        form_page=_barrier_url(world),
    )
    assert lifted.status_code == 302
    row = _barrier(barrier_id)
    assert row.status is BarrierStatus.LIFTED
    assert row.lifted_on is not None
    assert row.version == 3
    body = text(client.get(_barrier_url(world)))
    assert "en cours depuis le " in body
    assert "Ce frein est levé : son statut ne change plus." in body
    assert _kinds(world) == ["situation:barrier:started", "situation:barrier:lifted"]
    listing = text(client.get(_url(world)))
    assert re.search(r"Levés <span class=\"badge\">1</span>", listing)


@pytest.mark.parametrize(
    ("setup", "data", "message"),
    [
        ([], {"status": "identifie"}, "Ce frein a déjà ce statut"),
        (["en_cours"], {"status": "identifie"}, "Un frein en cours ne revient pas"),
        (["leve"], {"status": "en_cours"}, "Ce frein est levé : son statut ne change plus."),
        ([], {"status": "en_cours", "on": "2020-01-01"}, "Cette date précède celle du statut"),
        ([], {"status": "en_cours", "on": "2099-01-01"}, "Cette date est dans le futur"),
        ([], {"status": "fini"}, "Choisissez le nouveau statut"),
        ([], {"status": "leve", "version": "x"}, "rechargez la page"),
    ],
)
def test_an_invalid_status_change_is_refused_in_french(
    client, world, login_as, setup, data, message
):
    login_as(client, world.referent.account, world.referent.membership)
    barrier_id = situation_ids(world).barrier_id
    for status in setup:
        version = _version_in(text(client.get(_barrier_url(world))))
        client.submit(_barrier_url(world, "/statut"), {"status": status, "version": version})
    stored = _barrier(barrier_id)
    status_before, version_before = stored.status, stored.version
    csrf = token(client, _barrier_url(world))
    timeline = _snapshot()["timeline"]
    response = send(
        client, _barrier_url(world, "/statut"), {"version": str(version_before), **data}, csrf=csrf
    )
    body = text(response)
    assert response.status_code == 422
    assert message in body
    row = _barrier(barrier_id)
    assert (row.status, row.version) == (status_before, version_before)
    assert _snapshot()["timeline"] == timeline


# -- two people editing the same frein: the second save is refused, nothing is lost -------------


def test_a_stale_frein_save_is_refused_and_keeps_the_users_text(make_client, world, login_as):
    first, second = make_client(), make_client()
    login_as(first, world.referent.account, world.referent.membership)
    login_as(second, world.person_account)
    first_version = _version_in(text(first.get(_barrier_url(world))))
    second_version = _version_in(text(second.get(_barrier_url(world))))
    assert first_version == second_version == "1"
    saved = first.submit(
        _barrier_url(world),
        {
            "theme_id": str(world.theme_id),
            "label": SITUATION_LABEL,
            "details": "Chez sa sœur jusqu'à l'été.",
            "version": first_version,
        },
    )
    assert saved.status_code == 302
    before = _snapshot()
    stale = second.submit(
        _barrier_url(world),
        {
            "theme_id": str(world.theme_id),
            "label": "Hébergée chez ma sœur, à Panazol",
            "details": "Je dois partir en septembre.",
            "version": second_version,
        },
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cet élément pendant que vous le modifiiez" in body
    # What changed is shown beside the user's input, which stays in the form.
    assert "Chez sa sœur jusqu'à l'été." in body
    assert 'value="Hébergée chez ma sœur, à Panazol"' in body
    assert "Je dois partir en septembre.</textarea>" in body
    assert _version_in(body) == "2"
    row = _barrier(situation_ids(world).barrier_id)
    assert row.details == "Chez sa sœur jusqu'à l'été."
    assert row.version == 2
    assert _snapshot() == before
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.person_account.id)
    assert "situation:barrier:updated" not in [r.tag for r in rows]
    assert [(r.tag, r.outcome) for r in rows][-1] == ("situation:barrier:read", Outcome.ALLOWED)
    again = second.submit(
        _barrier_url(world),
        {
            "theme_id": str(world.theme_id),
            "label": "Hébergée chez ma sœur, à Panazol",
            "details": "Chez sa sœur jusqu'à l'été. Je dois partir en septembre.",
            "version": "2",
        },
        form_page=_barrier_url(world),
    )
    assert again.status_code == 302
    row = _barrier(situation_ids(world).barrier_id)
    assert row.label == "Hébergée chez ma sœur, à Panazol"
    assert row.entry_id is None  # no longer the referential's wording
    assert row.version == 3


def test_a_status_change_on_a_stale_copy_is_refused(make_client, world, login_as):
    first, second = make_client(), make_client()
    login_as(first, world.referent.account, world.referent.membership)
    login_as(second, world.referent.account, world.referent.membership)
    version = _version_in(text(second.get(_barrier_url(world))))
    edit = {"theme_id": str(world.theme_id), "label": SITUATION_LABEL, "details": "Précision"}
    assert first.submit(_barrier_url(world), {**edit, "version": version}).status_code == 302
    stale = second.submit(
        _barrier_url(world, "/statut"),
        {"status": "leve", "on": "", "version": version},
        form_page=_barrier_url(world),
    )
    body = text(stale)
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cet élément" in body
    assert 'value="leve" checked' in body
    assert _barrier(situation_ids(world).barrier_id).status is BarrierStatus.IDENTIFIED


def test_a_frein_of_another_record_is_not_found(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = client.get(_url(world, f"/freins/{uuid.uuid4()}"))
    assert response.status_code == 404
    assert "Ce frein n'existe pas dans ce carnet." in text(response)
    response = client.get(_url(world, f"/diagnostics/{uuid.uuid4()}"))
    assert response.status_code == 404
    assert "Cette version du diagnostic n'existe pas dans ce carnet." in text(response)


def test_the_record_page_links_to_the_situation(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    body = text(client.get(f"/personnes/{world.person.id}"))
    assert f'href="/personnes/{world.person.id}/situation"' in body
