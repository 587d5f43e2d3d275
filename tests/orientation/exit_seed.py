"""Sofia's earlier journey, closed by a job, with its retention checks: added to the seeded
world on demand (the route walker and the exit tests share it)."""

from __future__ import annotations

import datetime as dt
import uuid

from carnet import db
from carnet.orientation.models import EmploymentKind, JobFollowUp, JourneyExit
from carnet.records.models import Journey, JourneyExitReason
from carnet.security import scoping
from tests.records.world import World

EARLIER_OPENED_ON = dt.date(2024, 3, 4)
EARLIER_EXITED_ON = dt.date(2025, 6, 30)


def follow_up_of(world: World) -> uuid.UUID:
    """The id of the 6-month retention check of Sofia's earlier journey (March 2024 to June
    2025, an exit to a CDI), not answered yet; created on first use and remembered."""
    known = world.__dict__.get("follow_up_id")
    if known is not None:
        return uuid.UUID(str(known))
    journey = Journey(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        opened_on=EARLIER_OPENED_ON,
        closed_on=EARLIER_EXITED_ON,
        exit_reason=JourneyExitReason.EMPLOYMENT,
    )
    exit_row = JourneyExit(
        id=uuid.uuid4(),
        departement_id=world.departement_id,
        beneficiary_id=world.person.id,
        journey_id=journey.id,
        reason=JourneyExitReason.EMPLOYMENT,
        employment_kind=EmploymentKind.CDI,
        is_positive=True,
        exited_on=EARLIER_EXITED_ON,
        recorded_by_account_id=world.officer.id,
        recorded_by_organisation_id=world.departement_org.id,
    )
    checks = [
        JobFollowUp(
            id=uuid.uuid4(),
            departement_id=world.departement_id,
            beneficiary_id=world.person.id,
            exit_id=exit_row.id,
            months=months,
            due_on=due_on,
        )
        for months, due_on in ((6, dt.date(2025, 12, 30)), (12, dt.date(2026, 6, 30)))
    ]
    with scoping.unscoped():
        session = db.session()
        # Linked by foreign keys only: each level is written before the next.
        for rows in ([journey], [exit_row], checks):
            session.add_all(rows)
            session.flush()
    world.__dict__["follow_up_id"] = checks[0].id
    world.__dict__["earlier_journey_id"] = journey.id
    world.__dict__["earlier_exit_id"] = exit_row.id
    return checks[0].id
