"""One seeded record and the people around it, shared by the records, portal, home tests and
the route walker.

Sofia (the person) lives in département A. Her follow-up group: a référent of the
Département's social service, a member from the mission locale, a member from a sensible
health structure (CSAPA). Around her: a professional of France Travail in the same
département who is not in the group, a chargé d'orientation, a structure admin, a
département admin, a professional of département B, another person of département A,
and a platform admin.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from carnet import clock, db
from carnet.auth.models import Account, AccountKind
from carnet.meetings.models import Appointment, AppointmentChannel, AppointmentKind
from carnet.notifications.models import Notification
from carnet.records import services
from carnet.records.models import Beneficiary, GroupMembership, Journey, TimelineEvent
from carnet.security import scoping
from carnet.security.audit import AccessEvent
from carnet.security.permissions import GroupRole, MembershipRole, OrganisationKind
from carnet.tenancy.models import Membership, Organisation
from tests.factories import (
    AccountFactory,
    BeneficiaryFactory,
    DepartementFactory,
    GroupMembershipFactory,
    JourneyFactory,
    MembershipFactory,
    OrganisationFactory,
)

SOFIA_NIR = "2 88 04 87 085 123 39"
SOFIA_NIR_COMPACT = "288048708512339"
SOFIA_CAF = "1234567"


@dataclass
class Pro:
    account: Account
    membership: Membership

    @property
    def id(self) -> uuid.UUID:
        return self.account.id


@dataclass
class World:
    departement_id: uuid.UUID
    other_departement_id: uuid.UUID
    departement_org: Organisation
    mission_locale: Organisation
    csapa: Organisation
    france_travail: Organisation
    person: Beneficiary
    person_account: Account
    journey: Journey
    referent: Pro
    referent_row: GroupMembership
    ml_member: Pro
    ml_row: GroupMembership
    health_member: Pro
    outsider: Pro
    officer: Pro
    colleague: Pro  # a professional of the Département's service, free to be invited
    structure_admin: Pro
    departement_admin: Pro
    foreign: Pro
    other_person: Beneficiary
    other_person_account: Account
    platform_admin: Account
    # The plan d'action: one theme of the département's referential, one of its lines, and
    # one objective with one action in Sofia's plan.
    theme_id: uuid.UUID
    entry_id: uuid.UUID
    objective_id: uuid.UUID
    action_id: uuid.UUID
    appointment: Appointment  # a past appointment of the person with the référent


def _pro(
    organisation: Organisation, role: MembershipRole = MembershipRole.PROFESSIONAL, **account: Any
) -> Pro:
    account_row = AccountFactory(**account)
    membership = MembershipFactory(account_id=account_row.id, organisation=organisation, role=role)
    return Pro(account_row, membership)


def _person_account(given_name: str) -> Account:
    return AccountFactory(kind=AccountKind.BENEFICIARY, given_name=given_name)


def build_world() -> World:
    dep_a = DepartementFactory(name="Haute-Vienne")
    dep_b = DepartementFactory(name="Corrèze")
    departement_org = OrganisationFactory(
        departement_id=dep_a.id,
        name="Service insertion du Département",
        kind=OrganisationKind.DEPARTEMENT,
    )
    mission_locale = OrganisationFactory(
        departement_id=dep_a.id,
        name="Mission locale de Limoges",
        kind=OrganisationKind.MISSION_LOCALE,
    )
    csapa = OrganisationFactory(
        departement_id=dep_a.id,
        name="CSAPA Les Tilleuls",
        kind=OrganisationKind.SANTE,
        is_sensible=True,
    )
    france_travail = OrganisationFactory(
        departement_id=dep_a.id,
        name="France Travail Limoges Nord",
        kind=OrganisationKind.FRANCE_TRAVAIL,
    )
    foreign_org = OrganisationFactory(
        departement_id=dep_b.id,
        name="Service insertion de Corrèze",
        kind=OrganisationKind.DEPARTEMENT,
    )

    referent = _pro(departement_org, given_name="Romane", family_name="Référente")
    ml_member = _pro(mission_locale, given_name="Malik", family_name="Conseiller")
    health_member = _pro(csapa, given_name="Hélène", family_name="Soignante")
    outsider = _pro(france_travail, given_name="Olivier", family_name="Extérieur")
    officer = _pro(
        departement_org,
        MembershipRole.ORIENTATION_OFFICER,
        given_name="Odile",
        family_name="Orientation",
    )
    colleague = _pro(departement_org, given_name="Colette", family_name="Collègue")
    structure_admin = _pro(
        departement_org, MembershipRole.STRUCTURE_ADMIN, given_name="Sacha", family_name="Gestion"
    )
    departement_admin = _pro(
        departement_org,
        MembershipRole.DEPARTEMENT_ADMIN,
        given_name="Dominique",
        family_name="Admin",
    )
    foreign = _pro(foreign_org, given_name="Fabien", family_name="Ailleurs")

    person_account = _person_account("Sofia")
    person = BeneficiaryFactory(
        departement_id=dep_a.id,
        given_name="Sofia",
        family_name="Benali",
        account_id=person_account.id,
        caf_number=SOFIA_CAF,
        departement_ref="HV-0001",
        phone="06 11 22 33 44",
        email="sofia@exemple.fr",
        right_opened_on=dt.date(2026, 1, 2),
    )
    services.seal_nir(person, SOFIA_NIR)
    journey = JourneyFactory(beneficiary=person, opened_on=dt.date(2026, 1, 5))
    referent_row = GroupMembershipFactory(
        journey=journey,
        account_id=referent.id,
        organisation_id=departement_org.id,
        role=GroupRole.REFERENT,
        start_reason="Orientation sociale décidée en janvier",
    )
    ml_row = GroupMembershipFactory(
        journey=journey,
        account_id=ml_member.id,
        organisation_id=mission_locale.id,
        role=GroupRole.MEMBER,
        start_reason="Accompagnement vers l'emploi des moins de 26 ans",
    )
    GroupMembershipFactory(
        journey=journey,
        account_id=health_member.id,
        organisation_id=csapa.id,
        role=GroupRole.MEMBER,
        start_reason="Suivi santé demandé par la personne",
    )

    other_person_account = _person_account("Yanis")
    other_person = BeneficiaryFactory(
        departement_id=dep_a.id,
        given_name="Yanis",
        family_name="Autre",
        account_id=other_person_account.id,
    )
    JourneyFactory(beneficiary=other_person, opened_on=dt.date(2026, 2, 1))
    platform_admin = AccountFactory(kind=AccountKind.PLATFORM_ADMIN, given_name="Paule")
    appointment = Appointment(
        departement_id=dep_a.id,
        beneficiary_id=person.id,
        journey_id=journey.id,
        kind=AppointmentKind.INDIVIDUAL,
        starts_at=clock.now() - dt.timedelta(days=2),
        channel=AppointmentChannel.IN_PERSON,
        place="Maison du département, Limoges",
        topics="Point sur la recherche de logement",
        organisation_id=departement_org.id,
        professional_account_id=referent.id,
        created_by_id=referent.id,
    )
    db.session().add(appointment)
    plan = _plan(person, journey, referent, departement_org)
    db.session().flush()
    return World(
        departement_id=dep_a.id,
        other_departement_id=dep_b.id,
        departement_org=departement_org,
        mission_locale=mission_locale,
        csapa=csapa,
        france_travail=france_travail,
        person=person,
        person_account=person_account,
        journey=journey,
        referent=referent,
        referent_row=referent_row,
        ml_member=ml_member,
        ml_row=ml_row,
        health_member=health_member,
        outsider=outsider,
        officer=officer,
        colleague=colleague,
        structure_admin=structure_admin,
        departement_admin=departement_admin,
        foreign=foreign,
        other_person=other_person,
        other_person_account=other_person_account,
        platform_admin=platform_admin,
        appointment=appointment,
        **plan,
    )


def _plan(
    person: Beneficiary, journey: Journey, referent: Pro, organisation: Organisation
) -> dict[str, uuid.UUID]:
    """Sofia's plan: one axis (a theme of the referential), one objective, one action."""
    from carnet.plan.models import ActionOrigin, PlanAction, PlanAxis, PlanObjective
    from carnet.referential.models import Aim, EntryKind, OarsaCategory, Theme, ThemeEntry

    author = {"author_account_id": referent.id, "author_organisation_id": organisation.id}
    theme = Theme(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        code="logement",
        label="Logement",
        aim=Aim.SOCIAL,
        oarsa_category=OarsaCategory.LOGEMENT,
        position=1,
    )
    entry = ThemeEntry(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        theme_id=theme.id,
        kind=EntryKind.ACTION,
        label="Déposer une demande de logement social",
        position=1,
    )
    axis = PlanAxis(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey.id,
        theme_id=theme.id,
        **author,
    )
    objective = PlanObjective(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        axis_id=axis.id,
        label="Accéder à un logement stable",
        **author,
    )
    action = PlanAction(
        id=uuid.uuid4(),
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        objective_id=objective.id,
        label="Déposer une demande de logement social",
        origin=ActionOrigin.REFERENT,
        **author,
    )
    session = db.session()
    for row in (theme, entry, axis, objective, action):
        session.add(row)
        session.flush()
    return {
        "theme_id": theme.id,
        "entry_id": entry.id,
        "objective_id": objective.id,
        "action_id": action.id,
    }


# -- reading what happened -------------------------------------------------------------------


def audit_rows(**where: Any) -> list[AccessEvent]:
    """Access events matching the given column values, oldest first."""
    with scoping.unscoped():
        stmt = select(AccessEvent)
        for name, value in where.items():
            stmt = stmt.where(getattr(AccessEvent, name) == value)
        return list(db.session().scalars(stmt.order_by(AccessEvent.seq)))


def count(model: type[Any], **where: Any) -> int:
    with scoping.unscoped():
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(db.session().scalar(stmt) or 0)


def snapshot() -> dict[str, int]:
    """Row counts of everything a records write may touch (audit rows aside)."""
    return {
        "memberships": count(GroupMembership),
        "timeline": count(TimelineEvent),
        "notifications": count(Notification),
        "journeys": count(Journey),
    }


def now() -> dt.datetime:
    return clock.now()


def token(client: Any, page: str = "/") -> str:
    """The session's CSRF token (valid for the whole session), read from a page's form."""
    return str(client.csrf_from(page))


def send(
    client: Any, url: str, data: dict[str, Any] | None = None, *, csrf: str | None = None
) -> Any:
    """POST like a browser. Pass `csrf` (from `token`) to keep the form page's GET, and the
    audit rows it writes, out of what is measured around this call."""
    csrf = csrf or token(client)
    return client.post(
        url,
        data={**(data or {}), "csrf_token": csrf},
        headers={"Referer": client.form_page_url},
    )


def text(response: Any) -> str:
    import html

    return html.unescape(response.get_data(as_text=True))
