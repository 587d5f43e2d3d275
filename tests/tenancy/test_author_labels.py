"""Who wrote a row of a person's record, as the pages say it mid-sentence: the person, a
data import, or a professional with his or her structure (a sensible structure's staff
unnamed to those outside it), read in one query for the names and one for the structures."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from carnet import db
from carnet.security.permissions import OrganisationKind, PrincipalRole
from carnet.security.principal import Principal
from carnet.tenancy.services import AuthorLabels
from tests.factories import AccountFactory, MembershipFactory, OrganisationFactory
from tests.records.world import build_world


@pytest.fixture
def world(db_session: Any) -> Any:
    return build_world()


def _professional(pro: Any, kind: OrganisationKind) -> Principal:
    return Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=pro.id,
        departement_id=pro.membership.departement_id,
        organisation_id=pro.membership.organisation_id,
        organisation_kind=kind,
    )


def _person(world: Any) -> Principal:
    return Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method="magic_link",
        account_id=world.person_account.id,
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
    )


def _labels(world: Any, viewer: Principal) -> AuthorLabels:
    pairs = [
        (world.person_account.id, None),
        (None, None),
        (world.referent.id, world.departement_org.id),
        (world.health_member.id, world.csapa.id),
    ]
    return AuthorLabels(viewer, world.person.account_id, pairs)


def test_the_person_and_an_import_are_named_for_the_middle_of_a_sentence(world):
    labels = _labels(world, _professional(world.outsider, OrganisationKind.FRANCE_TRAVAIL))
    assert labels.label(world.person_account.id, None) == "la personne"
    assert labels.label(None, None) == "reprise de données"
    assert labels.label(None, world.departement_org.id) == "reprise de données"


def test_a_professional_is_named_with_his_or_her_structure(world):
    labels = _labels(world, _professional(world.outsider, OrganisationKind.FRANCE_TRAVAIL))
    assert (
        labels.label(world.referent.id, world.departement_org.id)
        == "Romane Référente, Service insertion du Département"
    )


def test_a_sensible_structure_s_staff_stay_unnamed_outside_it(world):
    outsider = _labels(world, _professional(world.outsider, OrganisationKind.FRANCE_TRAVAIL))
    assert (
        outsider.label(world.health_member.id, world.csapa.id)
        == "Professionnel·le, Structure partenaire (nom protégé)"
    )
    inside = _labels(world, _professional(world.health_member, OrganisationKind.SANTE))
    assert inside.label(world.health_member.id, world.csapa.id) == (
        "Hélène Soignante, CSAPA Les Tilleuls"
    )
    # The person sees the names of the structures that follow him or her.
    person = _labels(world, _person(world))
    assert person.label(world.health_member.id, world.csapa.id) == (
        "Hélène Soignante, CSAPA Les Tilleuls"
    )


def test_an_author_without_a_structure_or_not_loaded_is_still_labelled(world):
    labels = _labels(world, _professional(world.outsider, OrganisationKind.FRANCE_TRAVAIL))
    assert labels.label(world.referent.id, None) == "Romane Référente"
    # Not among the pairs given: no query is made for it; it is a professional, unnamed.
    assert labels.label(world.outsider.id, world.france_travail.id) == "Professionnel·le"


def test_names_and_structures_are_read_once_whatever_the_number_of_rows(world):
    pairs = []
    for number in range(12):
        organisation = OrganisationFactory(
            departement_id=world.departement_id,
            name=f"Structure {number}",
            kind=OrganisationKind.ASSOCIATION,
        )
        account = AccountFactory(given_name=f"Prénom{number}", family_name="Nom")
        MembershipFactory(account_id=account.id, organisation=organisation)
        pairs.append((account.id, organisation.id))
    session = db.session()
    session.flush()
    session.expire_all()
    viewer = _professional(world.outsider, OrganisationKind.FRANCE_TRAVAIL)
    person_account_id = world.person.account_id
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        labels = AuthorLabels(viewer, person_account_id, pairs)
        shown = [labels.label(account_id, org_id) for account_id, org_id in pairs]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 2, seen
    assert shown[3] == "Prénom3 Nom, Structure 3"
