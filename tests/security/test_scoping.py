"""Tenancy by construction: personal data is read, counted, joined and bulk-written only
within the current département; without a scope the query is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from carnet.records.models import Beneficiary, GroupMembership, Journey, JourneyExitReason
from carnet.security import scoping
from carnet.security.scoping import ScopeMissing
from carnet.tenancy.models import Departement, Organisation
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    GroupMembershipFactory,
    JourneyFactory,
    OrganisationFactory,
)


class TwoDepartements:
    def __init__(self) -> None:
        self.a = DepartementFactory()
        self.b = DepartementFactory()
        self.person_a = BeneficiaryFactory(departement_id=self.a.id, city="Limoges")
        self.person_b = BeneficiaryFactory(departement_id=self.b.id, city="Agen")
        self.org_a = OrganisationFactory(departement_id=self.a.id)
        self.org_b = OrganisationFactory(departement_id=self.b.id)
        self.journey_a = JourneyFactory(beneficiary=self.person_a)
        self.journey_b = JourneyFactory(beneficiary=self.person_b)
        GroupMembershipFactory(journey=self.journey_a, organisation_id=self.org_a.id)
        GroupMembershipFactory(journey=self.journey_b, organisation_id=self.org_b.id)
        # Inconsistent data on purpose: a journey filed under B for A's person. Even
        # reached through A's person, it stays out of A's scope.
        self.stray_b = JourneyFactory(
            beneficiary=self.person_a,
            departement_id=self.b.id,
            closed_on=dt.date(2026, 2, 1),
            exit_reason=JourneyExitReason.MOVED,
        )


@pytest.fixture
def tenants(db_session: Any) -> TwoDepartements:
    data = TwoDepartements()
    db_session.flush()
    db_session.expunge_all()
    return data


@contextmanager
def no_scope() -> Iterator[None]:
    """As a request before its principal is known, or a job that forgot its scope."""
    token = scoping.set_request_scope(None)
    try:
        yield
    finally:
        scoping.reset_request_scope(token)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: select(Beneficiary), id="entity"),
        pytest.param(lambda: select(Beneficiary.id), id="column"),
        pytest.param(lambda: select(func.count()).select_from(Beneficiary), id="count"),
        pytest.param(
            lambda: select(Organisation.id).join(
                GroupMembership, GroupMembership.organisation_id == Organisation.id
            ),
            id="join-from-a-shared-table",
        ),
        pytest.param(
            lambda: select(Organisation.id).where(
                Organisation.id.in_(select(GroupMembership.organisation_id))
            ),
            id="subquery",
        ),
        pytest.param(lambda: update(Beneficiary).values(city="X"), id="bulk-update"),
        pytest.param(lambda: delete(Journey), id="bulk-delete"),
    ],
)
def test_personal_data_without_a_scope_is_refused(
    db_session: Any, tenants: TwoDepartements, statement: Any
) -> None:
    with no_scope(), pytest.raises(ScopeMissing):
        db_session.execute(statement())


def test_shared_tables_need_no_scope(db_session: Any, tenants: TwoDepartements) -> None:
    with no_scope():
        codes = set(db_session.scalars(select(Departement.code)))
    assert {tenants.a.code, tenants.b.code} <= codes


def test_a_scope_returns_only_its_own_rows(db_session: Any, tenants: TwoDepartements) -> None:
    with scoping.scoped_to(tenants.a.id):
        people = db_session.scalars(select(Beneficiary)).all()
        assert [p.id for p in people] == [tenants.person_a.id]
        assert db_session.scalar(select(func.count()).select_from(Beneficiary)) == 1
        assert db_session.get(Beneficiary, tenants.person_b.id) is None


def test_a_scope_also_limits_relationships(db_session: Any, tenants: TwoDepartements) -> None:
    with scoping.scoped_to(tenants.a.id):
        person = db_session.scalars(select(Beneficiary)).one()
        assert [j.id for j in person.journeys] == [tenants.journey_a.id]
        assert all(m.departement_id == tenants.a.id for m in person.journeys[0].group)


def test_a_scope_also_limits_joins_and_subqueries(
    db_session: Any, tenants: TwoDepartements
) -> None:
    with scoping.scoped_to(tenants.a.id):
        pairs = db_session.execute(
            select(Journey.id, Beneficiary.id).join(
                Beneficiary, Beneficiary.id == Journey.beneficiary_id
            )
        ).all()
        assert pairs == [(tenants.journey_a.id, tenants.person_a.id)]
        # Organisations are shared, but the group memberships joined to them are not.
        followed = db_session.scalars(
            select(Organisation.id).join(
                GroupMembership, GroupMembership.organisation_id == Organisation.id
            )
        ).all()
        assert followed == [tenants.org_a.id]
        in_subquery = db_session.scalars(
            select(Organisation.id).where(
                Organisation.id.in_(select(GroupMembership.organisation_id))
            )
        ).all()
        assert in_subquery == [tenants.org_a.id]


def test_bulk_writes_stay_in_the_scope(db_session: Any, tenants: TwoDepartements) -> None:
    with scoping.scoped_to(tenants.a.id):
        db_session.execute(update(Beneficiary).values(city="Guéret"))
    with scoping.unscoped():
        cities = dict(db_session.execute(select(Beneficiary.id, Beneficiary.city)).all())
    assert cities == {tenants.person_a.id: "Guéret", tenants.person_b.id: "Agen"}


def test_unscoped_crosses_departements_explicitly(
    db_session: Any, tenants: TwoDepartements
) -> None:
    with scoping.scoped_to(tenants.a.id), scoping.unscoped():
        ids = set(db_session.scalars(select(Beneficiary.id)))
    assert ids == {tenants.person_a.id, tenants.person_b.id}
    assert scoping.current_scope() is None


def test_scopes_nest_and_restore(tenants: TwoDepartements) -> None:
    with scoping.scoped_to(tenants.a.id):
        with scoping.scoped_to(tenants.b.id):
            assert scoping.current_scope() == tenants.b.id
        assert scoping.current_scope() == tenants.a.id


def test_a_request_does_not_leave_its_scope_behind(client: Any, tenants: TwoDepartements) -> None:
    with scoping.scoped_to(tenants.a.id):
        assert client.get("/healthz").status_code == 200
        assert scoping.current_scope() == tenants.a.id
