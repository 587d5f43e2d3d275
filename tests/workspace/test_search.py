"""« Retrouver une personne »: one box, by name or by exact identifier, as the policy allows."""

from __future__ import annotations

import pytest

from carnet.security import policy
from carnet.security.permissions import Action, Outcome
from carnet.security.policy import Decision
from tests.factories import BeneficiaryFactory
from tests.records.world import (
    SOFIA_CAF,
    SOFIA_NIR,
    SOFIA_NIR_COMPACT,
    audit_rows,
    build_world,
    send,
    snapshot,
    text,
    token,
)

SEARCH = "/recherche"


@pytest.fixture
def world(db_session):
    world = build_world()
    dep = world.departement_id
    BeneficiaryFactory(departement_id=dep, given_name="Marie", family_name="Lefèvre", city="Aixe")
    BeneficiaryFactory(departement_id=dep, given_name="Jean", family_name="Dupont")
    BeneficiaryFactory(departement_id=dep, given_name="Paul", family_name="Martin")
    BeneficiaryFactory(
        departement_id=dep,
        given_name="Jean-Pierre",
        family_name="N'Diaye",
        birth_name="Le Gall",
        france_travail_id="4567890B",
    )
    # The same name elsewhere: never found from département A.
    BeneficiaryFactory(
        departement_id=world.other_departement_id, given_name="Marc", family_name="Lefèvre"
    )
    return world


def _results(body: str) -> str:
    return body.split('id="resultats"', 1)[1] if 'id="resultats"' in body else ""


def _search(client, q, csrf=None):
    return send(client, SEARCH, {"q": q}, csrf=csrf)


def _is_postgresql(connection) -> bool:
    return connection.dialect.name == "postgresql"


# -- the box -----------------------------------------------------------------------------


def test_professional_home_offers_the_one_search_box(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    home = text(client.get("/"))
    assert "Retrouver une personne" in home
    assert 'action="/recherche"' in home
    assert 'method="post"' in home
    assert 'name="q"' in home
    page = client.get(SEARCH)
    assert page.status_code == 200
    assert "Nom, prénom ou identifiant" in text(page)
    assert client.get("/personnes/retrouver").status_code == 404  # one search page


@pytest.mark.parametrize("q", ["a", " ", "é", "-'"])
def test_a_too_short_query_gets_a_french_message(client, world, login_as, q):
    login_as(client, world.referent.account, world.referent.membership)
    before = len(audit_rows())
    response = client.get(SEARCH, query_string={"q": q})
    assert response.status_code == 422
    assert "Saisissez au moins 2 caractères" in text(response)
    assert len(audit_rows()) == before  # nothing searched, nothing logged


# -- by name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["lefevre", "LEFEVRE", "Lefèvre", "lefèvre marie", "MARIE lefevre"])
def test_names_are_found_whatever_the_accents_and_the_case(client, world, login_as, q):
    login_as(client, world.officer.account, world.officer.membership)
    response = client.get(SEARCH, query_string={"q": q})
    body = _results(text(response))
    assert response.status_code == 200
    assert "Marie Lefèvre" in body
    assert "Marc" not in body  # the other département's Lefèvre


def test_hyphens_apostrophes_and_birth_names_are_searchable(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    for q in ("jean pierre", "n diaye", "N’Diaye", "le gall", "N’Diaye Jean-Pierre"):
        body = _results(text(client.get(SEARCH, query_string={"q": q})))
        assert "Jean-Pierre N'Diaye" in body, q


def test_a_beginning_of_name_is_enough(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    body = _results(text(client.get(SEARCH, query_string={"q": "Mart"})))
    assert "Paul Martin" in body


def test_small_typos_are_forgiven_on_postgresql(client, world, login_as, connection):
    if not _is_postgresql(connection):
        pytest.skip("typo tolerance needs pg_trgm: SQLite matches words as typed only")
    login_as(client, world.officer.account, world.officer.membership)
    for q, name in (
        ("Dupond", "Jean Dupont"),
        ("lefebvre", "Marie Lefèvre"),
        ("Mrtin", "Paul Martin"),
        ("Benalli", "Sofia Benali"),
    ):
        body = _results(text(client.get(SEARCH, query_string={"q": q})))
        assert name in body, q
    body = _results(text(client.get(SEARCH, query_string={"q": "Dupond"})))
    assert "Lefèvre" not in body
    assert "Martin" not in body


def test_the_closest_names_come_first_on_postgresql(client, world, login_as, connection):
    if not _is_postgresql(connection):
        pytest.skip("ranking by similarity needs pg_trgm")
    BeneficiaryFactory(departement_id=world.departement_id, given_name="Luc", family_name="Dupond")
    login_as(client, world.officer.account, world.officer.membership)
    body = _results(text(client.get(SEARCH, query_string={"q": "dupond"})))
    assert body.index("Luc Dupond") < body.index("Jean Dupont")


def test_a_name_finds_only_the_people_i_accompany(client, make_client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    mine = _results(text(client.get(SEARCH, query_string={"q": "benali"})))
    assert f'href="/personnes/{world.person.id}"' in mine
    assert "né·e le 12 avril 1988" in mine
    assert "Référent unique" in mine
    assert "/rejoindre" not in mine
    assert "Aucune des personnes que vous accompagnez" in text(
        client.get(SEARCH, query_string={"q": "lefevre"})
    )

    # DOMAIN §5: outside the group, a name never reveals that someone is followed.
    outsider = make_client()
    login_as(outsider, world.outsider.account, world.outsider.membership)
    body = text(outsider.get(SEARCH, query_string={"q": "benali"}))
    assert "Sofia Benali" not in _results(body)
    assert "cherchez-la par un identifiant exact" in body


def test_an_identifier_shows_others_only_what_starting_needs(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    theirs = _results(text(_search(client, SOFIA_CAF)))
    assert "Sofia Benali" in theirs
    assert "1988" in theirs
    assert "12 avril" not in theirs
    assert "Limoges" in theirs  # the commune
    assert f'href="/personnes/{world.person.id}"' not in theirs
    assert f'href="/personnes/{world.person.id}/rejoindre"' in theirs
    assert "sofia@exemple.fr" not in theirs
    assert "06 11 22 33 44" not in theirs


def test_no_way_in_is_offered_where_the_policy_refuses_it(client, world, login_as, monkeypatch):
    real = policy.decide_action

    def no_break_glass(principal, facts, action):
        decision = real(principal, facts, action)
        if action is Action.BREAK_GLASS:
            return Decision(False, decision.relation, decision.level, "test", "role")
        return decision

    monkeypatch.setattr(policy, "decide_action", no_break_glass)
    login_as(client, world.outsider.account, world.outsider.membership)
    body = _results(text(_search(client, SOFIA_CAF)))
    assert "Sofia Benali" in body
    assert "/rejoindre" not in body


def test_the_orientation_officer_opens_any_record_of_the_departement(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    body = _results(text(client.get(SEARCH, query_string={"q": "autre yanis"})))
    assert f'href="/personnes/{world.other_person.id}"' in body


def test_other_departements_are_never_searched(client, make_client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    body = _results(text(client.get(SEARCH, query_string={"q": "lefevre"})))
    assert "Marie Lefèvre" in body
    assert "Marc Lefèvre" not in body
    foreign = make_client()
    login_as(foreign, world.foreign.account, world.foreign.membership)
    for q in ("benali", "dupont", "martin"):
        assert "Aucune des personnes que vous accompagnez ne porte ce nom" in text(
            foreign.get(SEARCH, query_string={"q": q})
        ), q


def test_many_matches_are_limited_and_the_page_asks_to_refine(client, world, login_as):
    for number in range(22):
        BeneficiaryFactory(
            departement_id=world.departement_id, given_name=f"Prénom{number}", family_name="Moreau"
        )
    login_as(client, world.officer.account, world.officer.membership)
    body = _results(text(client.get(SEARCH, query_string={"q": "moreau"})))
    assert body.count("Moreau</strong>") == 20
    assert "20 personnes trouvées" in body
    assert "précisez la recherche" in body
    few = _results(text(client.get(SEARCH, query_string={"q": "lefevre"})))
    assert "précisez la recherche" not in few


def test_a_name_search_is_audited_once_without_the_words_typed(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    before = len(audit_rows(actor_account_id=world.outsider.id))
    assert client.get(SEARCH, query_string={"q": "Lefèvre Marie"}).status_code == 200
    rows = audit_rows(actor_account_id=world.outsider.id)[before:]
    assert [(r.section, r.tag, r.beneficiary_id, r.outcome) for r in rows] == [
        ("record:search", "workspace:search:listed", None, Outcome.ALLOWED)
    ]
    stored = " ".join(str(value) for value in vars(rows[0]).values()).lower()
    assert "lef" not in stored
    assert "marie" not in stored
    # A search that finds nobody is audited the same way.
    assert client.get(SEARCH, query_string={"q": "Personne Inconnue"}).status_code == 200
    assert len(audit_rows(actor_account_id=world.outsider.id)) == before + 2


def test_roles_that_do_not_accompany_cannot_search(client, make_client, world, login_as):
    for account, membership in (
        (world.structure_admin.account, world.structure_admin.membership),
        (world.other_person_account, None),
    ):
        visitor = make_client()
        login_as(visitor, account, membership)
        response = visitor.get(SEARCH, query_string={"q": "benali"})
        assert response.status_code == 403
        assert "Sofia" not in text(response)
        assert visitor.get(SEARCH).status_code == 403


# -- by identifier -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nir", [SOFIA_NIR, SOFIA_NIR_COMPACT, "2 88 04 87 085 123", "2880487085123"]
)
def test_a_nir_with_or_without_its_key_finds_the_person(client, world, login_as, nir):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    response = _search(client, nir, csrf)
    body = text(response)
    assert response.status_code == 200
    assert "Sofia Benali" in _results(body)
    assert f'href="/personnes/{world.person.id}/rejoindre"' in body
    assert SOFIA_NIR_COMPACT not in body
    assert SOFIA_NIR not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.outsider.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("record:search", "records:search:hit", Outcome.ALLOWED)
    ]


def test_identifiers_find_the_person(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    csrf = token(client)
    for q in (SOFIA_CAF, "HV-0001", "hv-0001"):
        body = _results(text(_search(client, q, csrf)))
        assert "Sofia Benali" in body, q
        assert f'href="/personnes/{world.person.id}"' in body, q
    body = _results(text(_search(client, "4567890 b", csrf)))
    assert "Jean-Pierre N'Diaye" in body


def test_identifiers_work_from_the_address_too_but_not_a_nir(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    found = client.get(SEARCH, query_string={"q": SOFIA_CAF})
    assert "Sofia Benali" in _results(text(found))
    before = len(audit_rows())
    refused = client.get(SEARCH, query_string={"q": SOFIA_NIR_COMPACT})
    body = text(refused)
    assert refused.status_code == 422
    assert "un NIR se recherche depuis le formulaire de cette page" in body
    assert "Sofia" not in body
    assert SOFIA_NIR_COMPACT not in body
    assert len(audit_rows()) == before


def test_an_invalid_nir_is_a_french_error_not_echoed(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    before = len(audit_rows())
    response = _search(client, "2 88 04 87 085 123 00", csrf)
    body = text(response)
    assert response.status_code == 422
    assert "Ce NIR n'est pas valide : la clé de contrôle ne correspond pas." in body
    assert "288048708512300" not in body
    assert "085 123 00" not in body
    assert len(audit_rows()) == before


def test_an_unknown_identifier_is_a_logged_miss(client, world, login_as):
    login_as(client, world.foreign.account, world.foreign.membership)
    response = _search(client, SOFIA_NIR)
    body = text(response)
    assert response.status_code == 200
    assert "Aucune personne de votre département ne correspond à cet identifiant." in body
    assert "Sofia" not in body
    rows = audit_rows(actor_account_id=world.foreign.id, tag="records:search:miss")
    assert [(r.departement_id, r.beneficiary_id) for r in rows] == [
        (world.other_departement_id, None)
    ]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"q": "<script>alert(1)</script>"},
        {"q": "1" * 200},
        {"q": "12<b>34"},
        {"q": SOFIA_CAF, "kind": "caf"},
    ],
)
def test_malformed_searches_are_french_errors(client, world, login_as, data):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    before = snapshot()
    audit_before = len(audit_rows())
    response = send(client, SEARCH, data, csrf=csrf)
    assert response.status_code == 422
    assert "Le formulaire contient des erreurs" in text(response)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert snapshot() == before
    assert len(audit_rows()) == audit_before


# -- the quota ------------------------------------------------------------------------------------


def test_searches_are_limited_per_account(make_client, world, login_as):
    """Ten searches a minute per account, then a French 429: names and numbers cannot be
    walked. Pages without a query and refused queries do not count."""
    officer = make_client()
    login_as(officer, world.officer.account, world.officer.membership)
    csrf = token(officer)
    assert officer.get(SEARCH).status_code == 200
    assert officer.get(SEARCH, query_string={"q": "x"}).status_code == 422
    for attempt in range(10):
        guess = {"q": f"{1234500 + attempt}"} if attempt % 2 else {"q": f"nom{'a' * attempt}"}
        assert send(officer, SEARCH, guess, csrf=csrf).status_code == 200
    before = len(audit_rows(actor_account_id=world.officer.id))
    refused = send(officer, SEARCH, {"q": SOFIA_CAF}, csrf=csrf)
    body = text(refused)
    assert refused.status_code == 429
    assert "Trop de recherches" in body
    assert "au plus 10 par minute et 100 par jour" in body
    assert "Sofia" not in body
    assert officer.get(SEARCH, query_string={"q": "benali"}).status_code == 429
    assert len(audit_rows(actor_account_id=world.officer.id)) == before  # nothing searched
    # The page itself still opens; the limit counts searches, not page views.
    assert officer.get(SEARCH).status_code == 200
    # Another account keeps its own quota.
    outsider = make_client()
    login_as(outsider, world.outsider.account, world.outsider.membership)
    found = send(outsider, SEARCH, {"q": SOFIA_CAF})
    assert found.status_code == 200
    assert "Sofia Benali" in text(found)
