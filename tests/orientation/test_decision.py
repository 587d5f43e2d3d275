"""Deciding an orientation: the period, the group, the notices, the timeline, the audit."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from carnet import clock, db
from carnet.errors import Conflict, InvalidInput
from carnet.notifications.models import Notification
from carnet.orientation import services
from carnet.orientation.models import Orientation, OrientationType
from carnet.orientation.schemas import NewOrientation, PreviousReferent
from carnet.records.models import GroupMembership, JourneyExitReason, TimelineEvent
from carnet.security import scoping
from carnet.security.permissions import GroupRole, MembershipRole, OrganisationKind
from carnet.security.policy import PolicyDenied
from carnet.tenancy.models import AccreditationStatus
from tests.factories import OrganisationFactory
from tests.orientation.seed import add_orientation, officer, principal
from tests.records.world import _pro, audit_rows, build_world


@pytest.fixture
def world(db_session):
    return build_world()


def _decision(world, **changes):
    values = {
        "type": OrientationType.PROFESSIONAL,
        "organisation_id": world.france_travail.id,
        "referent_membership_id": None,
        "motive": "Projet professionnel défini, disponible pour l'emploi",
        "previous_referent": PreviousReferent.LEAVES,
        "previous_referent_reason": None,
    }
    values.update(changes)
    return NewOrientation(**values)


def _active(world):
    with scoping.unscoped():
        return {
            (m.account_id, m.role)
            for m in db.session().scalars(
                select(GroupMembership).where(
                    GroupMembership.journey_id == world.journey.id,
                    GroupMembership.ended_at.is_(None),
                )
            )
        }


def _notices(account_id):
    with scoping.unscoped():
        return [
            n.kind
            for n in db.session().scalars(
                select(Notification).where(Notification.recipient_account_id == account_id)
            )
        ]


def test_a_first_orientation_to_a_structure_without_a_referent_yet(world):
    person = world.other_person
    with freeze_time("2026-03-02 10:00:00"):
        period = services.decide_orientation(
            actor=officer(world),
            beneficiary_id=person.id,
            decision=_decision(
                world, organisation_id=world.departement_org.id, type=OrientationType.SOCIAL
            ),
        )
    assert period.starts_on == dt.date(2026, 3, 2)
    assert period.ends_on is None
    assert period.type is OrientationType.SOCIAL
    assert period.referent_account_id is None
    assert period.proposal
    assert "proposed_type" in period.proposal
    assert period.decided_by_account_id == world.officer.id
    kinds = [
        e.kind
        for e in db.session().scalars(
            select(TimelineEvent).where(TimelineEvent.beneficiary_id == person.id)
        )
    ]
    assert "orientation:period:decided" in kinds
    rows = audit_rows(actor_account_id=world.officer.id, beneficiary_id=person.id)
    assert "orientation:period:decided" in [r.tag for r in rows]
    assert [r.section for r in rows if r.tag == "orientation:period:decided"] == [
        "orientation:write"
    ]
    assert "orientation:decision:decided" in _notices(world.other_person_account.id)


def test_a_reorientation_closes_the_period_and_hands_over_the_group(world):
    previous = add_orientation(world, starts_on=dt.date(2026, 1, 20))
    ft_pro = _pro(world.france_travail, given_name="Fanny", family_name="Conseillère")
    period = services.decide_orientation(
        actor=officer(world),
        beneficiary_id=world.person.id,
        decision=_decision(
            world,
            referent_membership_id=ft_pro.membership.id,
            previous_referent=PreviousReferent.STAYS_MEMBER,
            previous_referent_reason="Garde le suivi du logement",
        ),
    )
    assert previous.ends_on == clock.today()
    assert period.starts_on == clock.today()
    assert period.referent_account_id == ft_pro.id
    active = _active(world)
    assert (ft_pro.id, GroupRole.REFERENT) in active
    assert (world.referent.id, GroupRole.MEMBER) in active
    assert (world.referent.id, GroupRole.REFERENT) not in active
    assert "orientation:decision:referent" in _notices(ft_pro.id)
    assert "orientation:decision:previous_member" in _notices(world.referent.id)
    assert "orientation:decision:decided" in _notices(world.person_account.id)
    with scoping.unscoped():
        open_periods = (
            db.session()
            .scalars(
                select(Orientation).where(
                    Orientation.journey_id == world.journey.id, Orientation.ends_on.is_(None)
                )
            )
            .all()
        )
    assert [p.id for p in open_periods] == [period.id]


def test_the_former_referent_may_leave_with_the_reason(world):
    add_orientation(world)
    ft_pro = _pro(world.france_travail, given_name="Fanny", family_name="Conseillère")
    services.decide_orientation(
        actor=officer(world),
        beneficiary_id=world.person.id,
        decision=_decision(
            world,
            referent_membership_id=ft_pro.membership.id,
            previous_referent_reason="Relais pris par France Travail",
        ),
    )
    assert world.referent.id not in {account for account, _ in _active(world)}
    assert world.referent_row.end_reason == "Relais pris par France Travail"
    assert "orientation:decision:previous_left" in _notices(world.referent.id)


def test_without_a_named_referent_the_old_one_leaves_another_structure(world):
    services.decide_orientation(
        actor=officer(world), beneficiary_id=world.person.id, decision=_decision(world)
    )
    assert world.referent.id not in {account for account, _ in _active(world)}
    kept = services.decide_orientation(
        actor=officer(world),
        beneficiary_id=world.other_person.id,
        decision=_decision(
            world, type=OrientationType.SOCIAL, organisation_id=world.departement_org.id
        ),
    )
    assert kept.referent_account_id is None


def test_a_referent_of_the_same_structure_stays_when_none_is_named(world):
    add_orientation(world, type=OrientationType.SOCIO_PROFESSIONAL)
    period = services.decide_orientation(
        actor=officer(world),
        beneficiary_id=world.person.id,
        decision=_decision(
            world, type=OrientationType.SOCIAL, organisation_id=world.departement_org.id
        ),
    )
    assert (world.referent.id, GroupRole.REFERENT) in _active(world)
    assert period.referent_account_id == world.referent.id


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("foreign", "Cette structure n'existe pas dans votre département."),
        ("pending", "n'est pas habilitée dans le département"),
        ("kind", "n'assure pas d'orientation sociale"),
    ],
)
def test_a_structure_outside_the_rules_is_refused_in_french(world, case, message):
    if case == "foreign":
        organisation = OrganisationFactory(
            departement_id=world.other_departement_id, kind=OrganisationKind.FRANCE_TRAVAIL
        )
        decision = _decision(world, organisation_id=organisation.id)
    elif case == "pending":
        organisation = OrganisationFactory(
            departement_id=world.departement_id,
            kind=OrganisationKind.FRANCE_TRAVAIL,
            accreditation_status=AccreditationStatus.PENDING,
            accreditation_decided_at=None,
        )
        decision = _decision(world, organisation_id=organisation.id)
    else:
        decision = _decision(world, type=OrientationType.SOCIAL)
    with pytest.raises(InvalidInput) as refused:
        services.decide_orientation(
            actor=officer(world), beneficiary_id=world.person.id, decision=decision
        )
    assert message in refused.value.fields["organisation_id"][0]


def test_the_referent_must_belong_to_the_chosen_structure(world):
    with pytest.raises(InvalidInput) as refused:
        services.decide_orientation(
            actor=officer(world),
            beneficiary_id=world.person.id,
            decision=_decision(world, referent_membership_id=world.colleague.membership.id),
        )
    assert "appartenir à la structure choisie" in refused.value.fields["referent_membership_id"][0]


def test_no_decision_on_a_closed_journey(world):
    world.journey.closed_on = dt.date(2026, 3, 1)
    world.journey.exit_reason = JourneyExitReason.MOVED
    db.session().flush()
    db.session().expire(world.person, ["journeys"])
    with pytest.raises(Conflict) as refused:
        services.decide_orientation(
            actor=officer(world), beneficiary_id=world.person.id, decision=_decision(world)
        )
    assert "pas de parcours en cours" in refused.value.message


def test_a_referent_may_not_decide(world):
    with pytest.raises(PolicyDenied):
        services.decide_orientation(
            actor=principal(world, world.referent),
            beneficiary_id=world.person.id,
            decision=_decision(world),
        )
    with scoping.unscoped():
        assert db.session().scalar(select(Orientation.id)) is None


def test_the_officer_role_is_checked_not_the_account(world):
    """The same account acting as a plain professional has no orientation write."""
    from tests.factories import MembershipFactory

    membership = MembershipFactory(
        account_id=world.officer.id,
        organisation=world.departement_org,
        role=MembershipRole.PROFESSIONAL,
    )
    from carnet.security.permissions import PrincipalRole
    from carnet.security.principal import Principal

    actor = Principal(
        role=PrincipalRole.PROFESSIONAL,
        auth_method="magic_link",
        account_id=world.officer.id,
        departement_id=world.departement_id,
        organisation_id=world.departement_org.id,
        organisation_kind=world.departement_org.kind,
        membership_id=membership.id,
    )
    with pytest.raises(PolicyDenied):
        services.decide_orientation(
            actor=actor, beneficiary_id=world.person.id, decision=_decision(world)
        )
