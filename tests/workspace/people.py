"""Builders for the workspace tests: people followed by a professional, with appointments,
notes and plan actions dated relative to `clock.now()` (frozen by the tests that care)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from carnet import clock, db
from carnet.meetings.models import (
    Appointment,
    AppointmentChannel,
    AppointmentKind,
    Attendance,
    Note,
    NoteVisibility,
)
from carnet.plan.models import ActionOrigin, ActionStatus, PlanAction, PlanAxis, PlanObjective
from carnet.records.models import Beneficiary, GroupMembership, Journey
from carnet.security.permissions import GroupRole, OrganisationKind, PrincipalRole
from carnet.security.principal import Principal
from carnet.tenancy.models import Organisation
from tests.factories import BeneficiaryFactory, JourneyFactory
from tests.records.world import Pro, World


def principal(pro: Pro, organisation: Organisation, role: Any = None) -> Principal:
    """The principal `login_as` would give this professional, for service-level tests."""
    return Principal(
        role=role or PrincipalRole(str(pro.membership.role)),
        auth_method="magic_link",
        account_id=pro.id,
        departement_id=organisation.departement_id,
        organisation_id=organisation.id,
        organisation_kind=OrganisationKind(organisation.kind),
        membership_id=pro.membership.id,
    )


class Followed:
    """One person followed by `pro` for `organisation`, and what happened around."""

    def __init__(
        self,
        world: World,
        pro: Pro,
        organisation: Organisation,
        given_name: str,
        family_name: str,
        *,
        role: GroupRole = GroupRole.REFERENT,
        days_ago: int = 80,
        **person: Any,
    ) -> None:
        self.world = world
        self.pro = pro
        self.organisation = organisation
        self.now = clock.now()
        self.person: Beneficiary = BeneficiaryFactory(
            departement_id=world.departement_id,
            given_name=given_name,
            family_name=family_name,
            **person,
        )
        self.journey: Journey = JourneyFactory(
            beneficiary=self.person, opened_on=clock.today() - dt.timedelta(days=days_ago + 5)
        )
        self.membership = GroupMembership(
            departement_id=world.departement_id,
            journey_id=self.journey.id,
            beneficiary_id=self.person.id,
            account_id=pro.id,
            organisation_id=organisation.id,
            role=role,
            started_at=self.now - dt.timedelta(days=days_ago),
            start_reason="Orientation",
        )
        db.session().add(self.membership)
        db.session().flush()
        self._axis: PlanAxis | None = None
        self._objective: PlanObjective | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.person.id

    def appointment(
        self,
        *,
        days: float,
        attendance: Attendance | None = None,
        cancelled: bool = False,
        created_days_ago: float | None = None,
        pro: Pro | None = None,
    ) -> Appointment:
        """An appointment `days` from now (negative: in the past)."""
        starts_at = self.now + dt.timedelta(days=days)
        created_at = (
            self.now - dt.timedelta(days=created_days_ago)
            if created_days_ago is not None
            else min(self.now, starts_at)
        )
        who = pro or self.pro
        row = Appointment(
            departement_id=self.world.departement_id,
            beneficiary_id=self.person.id,
            journey_id=self.journey.id,
            kind=AppointmentKind.INDIVIDUAL,
            starts_at=starts_at,
            channel=AppointmentChannel.PHONE,
            organisation_id=self.organisation.id,
            professional_account_id=who.id,
            created_by_id=who.id,
            created_at=created_at,
            attendance=attendance,
            attendance_recorded_at=starts_at if attendance else None,
            attendance_recorded_by_id=who.id if attendance else None,
            is_cancelled=cancelled,
            cancellation_reason="Empêchement" if cancelled else None,
            cancelled_at=self.now if cancelled else None,
        )
        db.session().add(row)
        db.session().flush()
        return row

    def note(
        self, *, days_ago: float, author: Pro, visibility: NoteVisibility = NoteVisibility.GROUP
    ) -> Note:
        # The body is never opened here: any bytes stand for the sealed text.
        row = Note(
            departement_id=self.world.departement_id,
            beneficiary_id=self.person.id,
            author_account_id=author.id,
            author_organisation_id=author.membership.organisation_id,
            visibility=visibility,
            body_sealed=b"sealed",
            created_at=self.now - dt.timedelta(days=days_ago),
        )
        db.session().add(row)
        db.session().flush()
        return row

    def action(self, *, due_in_days: int | None, status: ActionStatus) -> PlanAction:
        session = db.session()
        if self._objective is None:
            self._axis = PlanAxis(
                departement_id=self.world.departement_id,
                beneficiary_id=self.person.id,
                journey_id=self.journey.id,
                theme_id=self.world.theme_id,
            )
            session.add(self._axis)
            session.flush()
            self._objective = PlanObjective(
                departement_id=self.world.departement_id,
                beneficiary_id=self.person.id,
                axis_id=self._axis.id,
                label="Trouver un logement",
            )
            session.add(self._objective)
            session.flush()
        row = PlanAction(
            departement_id=self.world.departement_id,
            beneficiary_id=self.person.id,
            objective_id=self._objective.id,
            label="Une démarche",
            status=status,
            due_on=None if due_in_days is None else clock.today() + dt.timedelta(days=due_in_days),
            origin=ActionOrigin.REFERENT,
        )
        session.add(row)
        session.flush()
        return row

    def join(self, pro: Pro, role: GroupRole = GroupRole.MEMBER, days_ago: int = 50) -> None:
        """Another professional in the same group."""
        db.session().add(
            GroupMembership(
                departement_id=self.world.departement_id,
                journey_id=self.journey.id,
                beneficiary_id=self.person.id,
                account_id=pro.id,
                organisation_id=pro.membership.organisation_id,
                role=role,
                started_at=self.now - dt.timedelta(days=days_ago),
                start_reason="Invitation",
            )
        )
        db.session().flush()
