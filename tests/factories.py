"""factory_boy factories on the test session, flush-only (the test's transaction rolls back).

Use them inside `db_session` (unscoped) so any département's data can be arranged.
"""

from __future__ import annotations

import datetime as dt

import factory
from factory.alchemy import SQLAlchemyModelFactory

from carnet import clock, db
from carnet.auth.models import Account, AccountKind
from carnet.records.models import Beneficiary, GroupMembership, Journey, Sex
from carnet.security.permissions import GroupRole, MembershipRole, OrganisationKind
from carnet.tenancy.models import (
    AccreditationStatus,
    Departement,
    Membership,
    Organisation,
    Territory,
)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session()  # noqa: E731 - factory_boy wants a callable
        sqlalchemy_session_persistence = "flush"


class DepartementFactory(Base):
    class Meta:
        model = Departement

    code = factory.Sequence(
        lambda n: f"{(n % 90) + 1:02d}" if n < 90 else f"9{n % 10}{n // 10 % 10}"
    )
    name = factory.Sequence(lambda n: f"Département {n}")


class TerritoryFactory(Base):
    class Meta:
        model = Territory

    departement_id = factory.LazyFunction(lambda: DepartementFactory().id)
    name = factory.Sequence(lambda n: f"Territoire {n}")


class OrganisationFactory(Base):
    class Meta:
        model = Organisation

    departement_id = factory.LazyFunction(lambda: DepartementFactory().id)
    name = factory.Sequence(lambda n: f"Structure {n}")
    kind = OrganisationKind.DEPARTEMENT
    accreditation_status = AccreditationStatus.ACCREDITED
    accreditation_decided_at = factory.LazyFunction(clock.now)


class AccountFactory(Base):
    class Meta:
        model = Account

    kind = AccountKind.PROFESSIONAL
    email = factory.Sequence(lambda n: f"agent{n}@exemple.fr")
    given_name = "Camille"
    family_name = factory.Sequence(lambda n: f"Martin{n}")


class MembershipFactory(Base):
    class Meta:
        model = Membership

    account_id = factory.LazyFunction(lambda: AccountFactory().id)
    organisation = factory.SubFactory(OrganisationFactory)
    organisation_id = factory.SelfAttribute("organisation.id")
    departement_id = factory.SelfAttribute("organisation.departement_id")
    role = MembershipRole.PROFESSIONAL


class BeneficiaryFactory(Base):
    class Meta:
        model = Beneficiary

    departement_id = factory.LazyFunction(lambda: DepartementFactory().id)
    given_name = "Sofia"
    family_name = factory.Sequence(lambda n: f"Benali{n}")
    search_name = factory.LazyAttribute(lambda o: f"{o.family_name} {o.given_name}".lower())
    sex = Sex.FEMALE
    birth_on = dt.date(1988, 4, 12)
    city = "Limoges"
    is_synthetic = True


class JourneyFactory(Base):
    class Meta:
        model = Journey

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    beneficiary_id = factory.SelfAttribute("beneficiary.id")
    departement_id = factory.SelfAttribute("beneficiary.departement_id")
    opened_on = dt.date(2026, 1, 5)


class GroupMembershipFactory(Base):
    class Meta:
        model = GroupMembership

    journey = factory.SubFactory(JourneyFactory)
    journey_id = factory.SelfAttribute("journey.id")
    beneficiary_id = factory.SelfAttribute("journey.beneficiary_id")
    departement_id = factory.SelfAttribute("journey.departement_id")
    account_id = factory.LazyFunction(lambda: AccountFactory().id)
    organisation_id = factory.LazyFunction(lambda: OrganisationFactory().id)
    role = GroupRole.MEMBER
    start_reason = "Orientation"
