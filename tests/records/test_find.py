"""« Retrouver une personne » by an exact identifier, to reach a record outside one's groups."""

from __future__ import annotations

import pytest

from carnet.security.permissions import Outcome
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


@pytest.fixture
def world(db_session):
    return build_world()


def test_professional_home_offers_the_search(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    home = text(client.get("/"))
    assert "Retrouver une personne" in home
    assert 'action="/personnes/retrouver"' in home
    assert 'method="post"' in home


@pytest.mark.parametrize("nir", [SOFIA_NIR, SOFIA_NIR_COMPACT])
def test_nir_finds_the_name_birth_date_and_link(client, world, login_as, nir):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    response = send(client, "/personnes/retrouver", {"kind": "nir", "value": nir}, csrf=csrf)
    body = text(response)
    assert response.status_code == 200
    assert "Sofia Benali" in body
    assert "12 avril 1988" in body
    assert f'href="/personnes/{world.person.id}"' in body
    assert SOFIA_NIR_COMPACT not in body
    assert SOFIA_NIR not in body
    # What a search hit shows and nothing more: no contact, no group.
    assert "sofia@exemple.fr" not in body
    assert "Romane" not in body
    rows = audit_rows(beneficiary_id=world.person.id, actor_account_id=world.outsider.id)
    assert [(r.section, r.tag, r.outcome) for r in rows] == [
        ("record:search", "records:search:hit", Outcome.ALLOWED)
    ]


def test_caf_number_and_departement_id_find_the_person(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    for kind, value in (("caf", SOFIA_CAF), ("departement_ref", "HV-0001")):
        body = text(send(client, "/personnes/retrouver", {"kind": kind, "value": value}))
        assert "Sofia Benali" in body, kind


def test_invalid_nir_is_a_french_field_error(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    before = len(audit_rows())
    response = send(
        client,
        "/personnes/retrouver",
        {"kind": "nir", "value": "2 88 04 87 085 123 00"},
        csrf=csrf,
    )
    body = text(response)
    assert response.status_code == 422
    assert "Ce NIR n'est pas valide : la clé de contrôle ne correspond pas." in body
    assert "288048708512300" not in body  # the typed NIR is not echoed back
    short = send(client, "/personnes/retrouver", {"kind": "nir", "value": "1234"}, csrf=csrf)
    assert "Le NIR doit compter 15 caractères, clé comprise." in text(short)
    assert len(audit_rows()) == before


def test_another_departement_finds_nobody_and_the_miss_is_logged(client, world, login_as):
    login_as(client, world.foreign.account, world.foreign.membership)
    response = send(client, "/personnes/retrouver", {"kind": "nir", "value": SOFIA_NIR})
    body = text(response)
    assert response.status_code == 200
    assert "Aucune personne de votre département ne correspond à cet identifiant." in body
    assert "Sofia" not in body
    rows = audit_rows(actor_account_id=world.foreign.id, tag="records:search:miss")
    assert [(r.departement_id, r.beneficiary_id) for r in rows] == [
        (world.other_departement_id, None)
    ]


def test_a_beneficiary_cannot_search(client, world, login_as):
    login_as(client, world.other_person_account)
    response = send(
        client,
        "/personnes/retrouver",
        {"kind": "nir", "value": SOFIA_NIR},
        csrf=token(client, "/mon-carnet/coordonnees"),
    )
    assert response.status_code == 403
    assert "Sofia" not in text(response)
    assert client.get("/personnes/retrouver").status_code == 403


def test_the_nir_never_travels_in_a_url(client, world, login_as):
    login_as(client, world.outsider.account, world.outsider.membership)
    response = client.get(f"/personnes/retrouver?kind=nir&value={SOFIA_NIR_COMPACT}")
    assert "Sofia" not in text(response)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "nir"},
        {"kind": "email", "value": "sofia@exemple.fr"},
        {"kind": "caf", "value": "<script>alert(1)</script>"},
        {"kind": "caf", "value": "1" * 200},
        {"kind": "caf", "value": SOFIA_CAF, "departement_id": "x"},
    ],
)
def test_malformed_search_is_a_french_error(client, world, login_as, data):
    login_as(client, world.outsider.account, world.outsider.membership)
    csrf = token(client)
    before = snapshot()
    response = send(client, "/personnes/retrouver", data, csrf=csrf)
    assert response.status_code == 422
    assert "Le formulaire contient des erreurs" in text(response)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert snapshot() == before


def test_searches_are_limited_per_account(make_client, world, login_as):
    """Ten searches a minute per account, then a French 429: CAF numbers cannot be walked."""
    officer = make_client()
    login_as(officer, world.officer.account, world.officer.membership)
    csrf = token(officer)
    for attempt in range(10):
        guess = {"kind": "caf", "value": f"{1234500 + attempt}"}
        assert send(officer, "/personnes/retrouver", guess, csrf=csrf).status_code == 200
    before = len(audit_rows(actor_account_id=world.officer.id))
    refused = send(officer, "/personnes/retrouver", {"kind": "caf", "value": SOFIA_CAF}, csrf=csrf)
    body = text(refused)
    assert refused.status_code == 429
    assert "Trop de recherches" in body
    assert "au plus 10 par minute et 100 par jour" in body
    assert "Sofia" not in body
    assert len(audit_rows(actor_account_id=world.officer.id)) == before  # nothing searched
    # The form itself still opens; the limit counts searches, not page views.
    assert officer.get("/personnes/retrouver").status_code == 200
    # Another account keeps its own quota.
    outsider = make_client()
    login_as(outsider, world.outsider.account, world.outsider.membership)
    found = send(outsider, "/personnes/retrouver", {"kind": "caf", "value": SOFIA_CAF})
    assert found.status_code == 200
    assert "Sofia Benali" in text(found)
