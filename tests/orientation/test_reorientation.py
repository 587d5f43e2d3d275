"""Reorientation: the référent asks, an orientation officer accepts or keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carnet import db
from carnet.errors import Conflict, InvalidInput
from carnet.notifications.models import Notification
from carnet.orientation import services
from carnet.orientation.models import OrientationType, ReorientationRequest, RequestStatus
from carnet.orientation.schemas import NewOrientation, PreviousReferent, ReorientationAsk
from carnet.records.models import TimelineEvent
from carnet.security import scoping
from carnet.security.policy import PolicyDenied
from tests.orientation.seed import add_orientation, officer, principal, request_of
from tests.records.world import audit_rows, build_world


@pytest.fixture
def world(db_session):
    return build_world()


def _ask(proposed=OrientationType.PROFESSIONAL):
    return ReorientationAsk(motive="Projet de reprise d'emploi précis", proposed_type=proposed)


def _notices(account_id):
    with scoping.unscoped():
        return [
            n.kind
            for n in db.session().scalars(
                select(Notification).where(Notification.recipient_account_id == account_id)
            )
        ]


def test_the_referent_asks_and_the_request_waits(world):
    add_orientation(world)
    request = services.request_reorientation(
        actor=principal(world, world.referent), beneficiary_id=world.person.id, ask=_ask()
    )
    assert request.status is RequestStatus.PENDING
    assert not request.needs_team_review
    assert request.requested_by_account_id == world.referent.id
    tags = [r.tag for r in audit_rows(actor_account_id=world.referent.id)]
    assert "orientation:request:created" in tags
    kinds = (
        db.session()
        .scalars(select(TimelineEvent.kind).where(TimelineEvent.beneficiary_id == world.person.id))
        .all()
    )
    assert "orientation:request:created" in kinds


def test_from_professional_to_social_needs_the_team(world):
    add_orientation(
        world, type=OrientationType.PROFESSIONAL, organisation_id=world.france_travail.id
    )
    request = services.request_reorientation(
        actor=principal(world, world.referent),
        beneficiary_id=world.person.id,
        ask=_ask(OrientationType.SOCIAL),
    )
    assert request.needs_team_review


def test_one_pending_request_at_a_time(world):
    add_orientation(world)
    services.request_reorientation(
        actor=principal(world, world.referent), beneficiary_id=world.person.id, ask=_ask()
    )
    with pytest.raises(Conflict) as refused:
        services.request_reorientation(
            actor=principal(world, world.referent), beneficiary_id=world.person.id, ask=_ask()
        )
    assert "déjà en attente" in refused.value.message


def test_a_request_for_the_type_the_person_already_has_is_refused(world):
    add_orientation(world)  # sociale
    with pytest.raises(InvalidInput) as refused:
        services.request_reorientation(
            actor=principal(world, world.referent),
            beneficiary_id=world.person.id,
            ask=_ask(OrientationType.SOCIAL),
        )
    assert "déjà une orientation sociale" in refused.value.fields["proposed_type"][0]
    with scoping.unscoped():
        assert db.session().scalars(select(ReorientationRequest)).all() == []


def test_no_request_before_a_first_orientation(world):
    with pytest.raises(Conflict) as refused:
        services.request_reorientation(
            actor=principal(world, world.referent), beneficiary_id=world.person.id, ask=_ask()
        )
    assert "pas encore d'orientation" in refused.value.message


@pytest.mark.parametrize("who", ["ml_member", "outsider", "officer"])
def test_only_the_referent_may_ask(world, who):
    add_orientation(world)
    actor = officer(world) if who == "officer" else principal(world, getattr(world, who))
    with pytest.raises(PolicyDenied):
        services.request_reorientation(actor=actor, beneficiary_id=world.person.id, ask=_ask())


def test_keeping_the_accompaniment_answers_the_requester(world):
    request_id = request_of(world)
    kept = services.keep_accompaniment(
        actor=officer(world),
        beneficiary_id=world.person.id,
        request_id=request_id,
        reason="Le logement reste à stabiliser d'abord",
    )
    assert kept.status is RequestStatus.KEPT
    assert kept.decision_reason == "Le logement reste à stabiliser d'abord"
    assert kept.decided_by_account_id == world.officer.id
    assert "orientation:request:kept" in _notices(world.referent.id)
    with pytest.raises(Conflict) as again:
        services.keep_accompaniment(
            actor=officer(world),
            beneficiary_id=world.person.id,
            request_id=request_id,
            reason="Une seconde réponse",
        )
    assert "déjà reçu une réponse" in again.value.message


def test_the_referent_may_not_keep_a_request(world):
    request_id = request_of(world)
    with pytest.raises(PolicyDenied):
        services.keep_accompaniment(
            actor=principal(world, world.referent),
            beneficiary_id=world.person.id,
            request_id=request_id,
            reason="Je maintiens moi-même",
        )


def test_accepting_decides_through_the_same_path(world):
    request_id = request_of(world)
    period = services.decide_orientation(
        actor=officer(world),
        beneficiary_id=world.person.id,
        decision=NewOrientation(
            type=OrientationType.PROFESSIONAL,
            organisation_id=world.france_travail.id,
            referent_membership_id=None,
            motive="Demande du référent acceptée",
            previous_referent=PreviousReferent.STAYS_MEMBER,
            previous_referent_reason=None,
            request_id=request_id,
        ),
    )
    request = db.session().get(ReorientationRequest, request_id)
    assert request.status is RequestStatus.ACCEPTED
    assert request.decided_orientation_id == period.id
    assert "orientation:request:accepted" in _notices(world.referent.id)
    with pytest.raises(Conflict):
        services.keep_accompaniment(
            actor=officer(world),
            beneficiary_id=world.person.id,
            request_id=request_id,
            reason="Trop tard",
        )


def test_the_pending_list_flags_the_team_and_is_for_officers(world):
    add_orientation(
        world, type=OrientationType.PROFESSIONAL, organisation_id=world.france_travail.id
    )
    services.request_reorientation(
        actor=principal(world, world.referent),
        beneficiary_id=world.person.id,
        ask=_ask(OrientationType.SOCIAL),
    )
    listing = services.list_pending_requests(actor=officer(world))
    assert [r.display_name for r in listing.requests] == ["Sofia Benali"]
    assert listing.requests[0].needs_team_review
    from carnet.errors import Denied

    with pytest.raises(Denied):
        services.list_pending_requests(actor=principal(world, world.referent))
