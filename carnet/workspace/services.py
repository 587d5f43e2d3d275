"""« Mes accompagnements » (the portfolio) and « Retrouver une personne » (the search).

The portfolio is a read model across domains (records, meetings, plan, tenancy): one
statement returns the summary band and a page of the people the actor follows, with what
needs him or her now, each alert a correlated, aggregated subquery computed once per
person. Nothing is queried person by person, so a référent with 150 people costs what one
with 3 does.
Before any query the policy says which roles in a group let the actor read a person's
identity, appointments, plan and notes: a membership is listed only where identity is
readable, and an alert computed only from a section its role may read.

A structure admin gets the structure's caseload instead: per professional, how many
people are followed and how many alerts they carry, never a name (the policy gives that
role no identity outside a group).

The search finds people by exact identifier (through `records.find_people`, the one
place of the blind-index lookup, which audits each hit) or by name: accent- and
case-insensitive everywhere, tolerant to small typos with pg_trgm on PostgreSQL. Each
person found is shown as the policy allows, and the search is audited once.

Raw SQL is not used: every statement goes through the ORM, so the tenancy criterion of
`security.scoping` applies on top of the explicit `departement_id` conditions.
"""

from __future__ import annotations

import functools
import math
import operator
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased

from carnet import clock, db
from carnet.errors import Denied, InvalidInput
from carnet.records import services as records
from carnet.records.models import Beneficiary, GroupMembership, Journey
from carnet.security import policy
from carnet.security.permissions import (
    Action,
    GroupRole,
    Level,
    MembershipRole,
    PrincipalRole,
    Section,
    permission,
)
from carnet.security.policy import RecordFacts
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy
from carnet.tenancy.models import Organisation, Territory
from carnet.workspace import alerts
from carnet.workspace.schemas import PortfolioFilters, SearchKind, SearchQuery, Sort, Status

PAGE_SIZE = 25
HOME_SIZE = 10
SEARCH_LIMIT = 20
# A référent designated this recently who has not met the person yet is told so; people
# who entered the portfolio this recently are « nouveaux ».
NEW_DAYS = 60
# pg_trgm's word similarity from which a name counts as found: « Dupond » finds « Dupont »
# (0.71), « Lefebvre » finds « Lefèvre » (0.55), « Mrtin » finds « Martin » (0.5).
TRIGRAM_THRESHOLD = 0.5
# Words shorter than this are matched as prefixes only: their trigrams match too much.
FUZZY_MIN = 3
PARIS = ZoneInfo("Europe/Paris")

PORTFOLIO_DENIED = (
    "Cette page liste les personnes que vous accompagnez : elle est réservée aux "
    "professionnels des structures et à leurs gestionnaires."
)
CASELOAD_DENIED = "Le suivi de la structure est réservé à ses gestionnaires."
SEARCH_DENIED = "Votre rôle ne permet pas de rechercher une personne."
UNKNOWN_TERRITORY = "Ce territoire n'existe pas dans votre département."


class Tag(StrEnum):
    """Audit tags of the workspace (`domain:subject:action`)."""

    CASELOAD_LISTED = "workspace:caseload:listed"
    SEARCH_LISTED = "workspace:search:listed"


# -- what the pages receive ---------------------------------------------------------------


@dataclass(frozen=True)
class FollowedPerson:
    """One person of the portfolio, with what needs the actor now."""

    beneficiary_id: uuid.UUID
    display_name: str
    role: GroupRole
    since: datetime
    is_break_glass: bool
    is_new: bool
    # None where the actor's role in the group may not read the section it comes from.
    next_appointment_at: datetime | None
    appointment_this_week: bool
    overdue_actions: int | None
    awaiting_first_appointment: bool
    last_contact_at: datetime | None
    days_since_contact: int | None
    # No contact for `alerts.QUIET_DAYS` (since the membership began, if never).
    is_quiet: bool = False
    # The end of a contract in force within `alerts.CONTRACT_ENDING_DAYS` (None: none, or
    # the contracts are not readable).
    contract_ends_on: date | None = None

    @property
    def alerts(self) -> int:
        return (
            int(self.appointment_this_week)
            + int(bool(self.overdue_actions))
            + int(self.awaiting_first_appointment)
            + int(self.is_quiet)
            + int(self.contract_ends_on is not None)
        )


@dataclass(frozen=True)
class AlertSummary:
    """The summary band: each alert counted over every person followed."""

    people: int = 0
    to_handle: int = 0  # people with at least one alert
    appointments_this_week: int = 0
    with_overdue_actions: int = 0
    overdue_actions: int = 0
    awaiting_first_appointment: int = 0
    quiet: int = 0
    new: int = 0
    contracts_ending: int = 0  # people with a contract in force ending within 30 days

    @property
    def contract_ending_days(self) -> int:
        return alerts.CONTRACT_ENDING_DAYS

    @property
    def new_days(self) -> int:
        """How recent « nouveau » and « nouvelle orientation » are, for the labels."""
        return NEW_DAYS

    @property
    def quiet_days(self) -> int:
        return alerts.QUIET_DAYS


@dataclass(frozen=True)
class TerritoryOption:
    """A territory of the département, to filter the portfolio by."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Portfolio:
    """One page of « Mes accompagnements », with the band counted over everyone."""

    people: list[FollowedPerson]
    summary: AlertSummary
    filters: PortfolioFilters
    territories: list[TerritoryOption]
    matched: int  # people matching the filters, over all pages
    page: int
    pages: int


@dataclass(frozen=True)
class CaseloadRow:
    """One professional of the structure: counts only, no person named."""

    account_id: uuid.UUID
    display_name: str
    job_title: str | None
    summary: AlertSummary


@dataclass(frozen=True)
class Caseload:
    """The structure's professionals and their counts, for its admin."""

    organisation: tenancy.OrganisationSummary | None
    rows: list[CaseloadRow]
    totals: AlertSummary


@dataclass(frozen=True)
class SearchResult:
    """A person found. Where the actor may read the record: name, birth date, role in the
    group and a link. Elsewhere only what starting an accompaniment needs: name, year of
    birth, commune, and the way in (« bris de glace ») where the policy allows it."""

    beneficiary_id: uuid.UUID
    display_name: str
    birth_year: int
    may_read: bool
    may_join: bool
    birth_on: date | None = None
    role: GroupRole | None = None
    city: str | None = None


@dataclass(frozen=True)
class SearchResults:
    """What a search found; `has_more` when the query should be made more precise."""

    query: SearchQuery
    results: list[SearchResult] = field(default_factory=list)
    has_more: bool = False


# -- who may use which page -----------------------------------------------------------------


def may_search(actor: Principal) -> bool:
    """Whether the policy lets the actor search people (to start accompanying them)."""
    return records.can_search(actor)


def _professional(actor: Principal) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The account, organisation and département of an actor working in a structure."""
    if actor.account_id is None or actor.organisation_id is None or actor.departement_id is None:
        raise Denied(PORTFOLIO_DENIED)
    return actor.account_id, actor.organisation_id, actor.departement_id


def _roles_reading(actor: Principal, departement_id: uuid.UUID, section: Section) -> list[str]:
    """The roles in a group through which the policy lets the actor read `section`."""
    return sorted(
        role.value
        for role in GroupRole
        if policy.can(
            actor,
            RecordFacts(records.NOBODY, departement_id, frozenset({role})),
            section,
            Level.READ,
        )
    )


# -- the clock of a page --------------------------------------------------------------------


def _moment() -> dict[str, Any]:
    """The instants a page is computed at, as the statements' parameters: now; today (as
    the plan counts overdue actions, `plan.OPEN_ACTION_STATUSES`); the end of « cette
    semaine » (next Monday, 00:00 in France); the start of « nouveau »; the start of
    « sans nouvelles »."""
    now = clock.now()
    local = now.astimezone(PARIS).date()
    next_monday = local + timedelta(days=7 - local.weekday())
    return {
        "now": now,
        "today": clock.today(),
        "week_end": datetime.combine(next_monday, time.min, tzinfo=PARIS),
        "new_since": now - timedelta(days=NEW_DAYS),
        "quiet_since": now - timedelta(days=alerts.QUIET_DAYS),
        "contracts_until": clock.today() + timedelta(days=alerts.CONTRACT_ENDING_DAYS),
    }


# -- the portfolio's statements -----------------------------------------------------------------
#
# Each statement is built once per shape (filters set or not, status, sort) with named
# parameters, then executed with the values of the request: building it anew on every page
# view cost more than running it. The values: `now`, `today`, `week_end`, `new_since`; the
# scope (`departement_id`, `account_id` or `organisation_id`); `viewer_id`, whose private
# notes count; per section, the roles through which the policy lets the viewer read it
# (`identity_roles`, `appointments_roles`, `plan_roles`, `notes_roles`); the filters
# (`role`, `territory_id`) and the page (`offset`, `limit`).

_REFERENT = aliased(GroupMembership, name="referent")
_SECTION_ROLES = {
    Section.IDENTITY: "identity_roles",
    Section.APPOINTMENTS: "appointments_roles",
    Section.PLAN: "plan_roles",
    Section.NOTES: "notes_roles",
    Section.CONTRACTS: "contracts_roles",
}
_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}


def _followed(*, caseload: bool, by_territory: bool) -> CTE:
    """One row per active membership in scope, on an open journey, with each alert's data
    as a correlated aggregate. In a portfolio, an alert's data is read only through the
    roles that may read its section; the caseload keeps counts only, of everyone. The
    territory is looked up only to filter by it."""
    gm = GroupMembership

    def allowed(section: Section) -> ColumnElement[bool]:
        if caseload:
            return true()
        return gm.role.in_(bindparam(_SECTION_ROLES[section], expanding=True))

    next_at = alerts.next_appointment_at(gm.beneficiary_id).correlate(gm)
    last_seen = alerts.last_seen_at(gm.beneficiary_id).correlate(gm)
    last_note = alerts.last_note_at(gm.beneficiary_id, gm.journey_id).correlate(gm)
    overdue = alerts.overdue_actions(gm.beneficiary_id, gm.journey_id).correlate(gm)
    ending = alerts.contract_ends_on(gm.beneficiary_id, gm.journey_id).correlate(gm)
    # « Nouvelle orientation sans premier rendez-vous »: référent for NEW_DAYS at most, and
    # no appointment held or scheduled since.
    met_since = alerts.met_since(gm.beneficiary_id, gm.started_at).correlate(gm)
    awaiting = case(
        (
            and_(
                gm.role == GroupRole.REFERENT,
                gm.started_at >= bindparam("new_since"),
                allowed(Section.APPOINTMENTS),
                ~met_since,
            ),
            1,
        ),
        else_=0,
    )
    # The territory of the structure that accompanies the person: its référent's.
    referent = _REFERENT
    territory = (
        select(Organisation.territory_id)
        .join(referent, referent.organisation_id == Organisation.id)
        .where(
            referent.journey_id == gm.journey_id,
            referent.role == GroupRole.REFERENT,
            referent.ended_at.is_(None),
        )
        .correlate(gm)
        .limit(1)
        .scalar_subquery()
    )
    if caseload:
        scope = [gm.organisation_id == bindparam("organisation_id")]
    else:
        scope = [
            gm.account_id == bindparam("account_id"),
            gm.organisation_id == bindparam("organisation_id"),
            # Only where the policy lets this role read who the person is.
            allowed(Section.IDENTITY),
        ]
    return (
        select(
            gm.beneficiary_id.label("beneficiary_id"),
            gm.account_id.label("account_id"),
            gm.role.label("role"),
            gm.started_at.label("since"),
            gm.is_break_glass.label("is_break_glass"),
            Beneficiary.given_name.label("given_name"),
            Beneficiary.family_name.label("family_name"),
            Beneficiary.search_name.label("search_name"),
            case((allowed(Section.APPOINTMENTS), next_at), else_=null()).label(
                "next_appointment_at"
            ),
            case((allowed(Section.APPOINTMENTS), last_seen), else_=null()).label("last_seen_at"),
            case((allowed(Section.NOTES), last_note), else_=null()).label("last_note_at"),
            case((allowed(Section.PLAN), overdue), else_=null()).label("overdue_actions"),
            case((allowed(Section.CONTRACTS), ending), else_=null()).label("contract_ends_on"),
            awaiting.label("awaiting"),
            # Whether the role reads any source of « dernier contact »: only then can a
            # silence be told apart from what the viewer may not see.
            case((or_(allowed(Section.APPOINTMENTS), allowed(Section.NOTES)), 1), else_=0).label(
                "contact_known"
            ),
            (territory if by_territory else null()).label("territory_id"),
        )
        .select_from(gm)
        .join(Journey, Journey.id == gm.journey_id)
        .join(Beneficiary, Beneficiary.id == gm.beneficiary_id)
        .where(
            gm.departement_id == bindparam("departement_id"),
            gm.ended_at.is_(None),
            Journey.closed_on.is_(None),
            *scope,
        )
        # Computed once, then filtered, counted and sorted: inlined, PostgreSQL would run
        # each subquery again for every expression that reads its column.
        .cte("followed")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


@dataclass(frozen=True)
class _Derived:
    """Expressions over the `followed` rows: the alert flags and the last contact."""

    this_week: ColumnElement[int]
    overdue_flag: ColumnElement[int]
    ending_flag: ColumnElement[int]
    quiet: ColumnElement[int]
    alerts: ColumnElement[int]
    is_new: ColumnElement[int]
    last_contact: ColumnElement[Any]


def _derived(followed: CTE) -> _Derived:
    f = followed.c
    this_week = case((f.next_appointment_at < bindparam("week_end"), 1), else_=0)
    overdue_flag = case((f.overdue_actions > 0, 1), else_=0)
    ending_flag = case((f.contract_ends_on.is_not(None), 1), else_=0)
    last_contact = case(
        (f.last_seen_at.is_(None), f.last_note_at),
        (f.last_note_at.is_(None), f.last_seen_at),
        (f.last_seen_at > f.last_note_at, f.last_seen_at),
        else_=f.last_note_at,
    )
    quiet = case(
        (
            and_(
                f.contact_known == 1,
                func.coalesce(last_contact, f.since) < bindparam("quiet_since"),
            ),
            1,
        ),
        else_=0,
    )
    return _Derived(
        this_week=this_week,
        overdue_flag=overdue_flag,
        ending_flag=ending_flag,
        quiet=quiet,
        alerts=this_week + overdue_flag + f.awaiting + quiet + ending_flag,
        is_new=case((f.since >= bindparam("new_since"), 1), else_=0),
        last_contact=last_contact,
    )


def _total(expression: ColumnElement[Any]) -> ColumnElement[int]:
    return func.coalesce(func.sum(expression), 0)


def _summary_columns(followed: CTE, d: _Derived) -> list[ColumnElement[Any]]:
    return [
        func.count().label("people"),
        _total(case((d.alerts > 0, 1), else_=0)).label("to_handle"),
        _total(d.this_week).label("appointments_this_week"),
        _total(d.overdue_flag).label("with_overdue_actions"),
        _total(followed.c.overdue_actions).label("overdue_total"),
        _total(followed.c.awaiting).label("awaiting_first_appointment"),
        _total(d.quiet).label("quiet"),
        _total(d.is_new).label("new"),
        _total(d.ending_flag).label("with_contracts_ending"),
    ]


def _summary(row: Row[*tuple[Any, ...]]) -> AlertSummary:
    return AlertSummary(
        quiet=int(row.quiet or 0),
        people=int(row.people or 0),
        to_handle=int(row.to_handle or 0),
        appointments_this_week=int(row.appointments_this_week or 0),
        with_overdue_actions=int(row.with_overdue_actions or 0),
        overdue_actions=int(row.overdue_total or 0),
        awaiting_first_appointment=int(row.awaiting_first_appointment or 0),
        new=int(row.new or 0),
        contracts_ending=int(row.with_contracts_ending or 0),
    )


def _filters(followed: CTE, d: _Derived, filters: PortfolioFilters) -> list[ColumnElement[bool]]:
    f = followed.c
    conditions: list[ColumnElement[bool]] = []
    if filters.role is not None:
        conditions.append(f.role == bindparam("role"))
    if filters.territory_id is not None:
        conditions.append(f.territory_id == bindparam("territory_id"))
    if filters.status is Status.TO_HANDLE:
        conditions.append(d.alerts > 0)
    elif filters.status is Status.NEW:
        conditions.append(f.since >= bindparam("new_since"))
    return conditions


def _order(followed: CTE, d: _Derived, sort: Sort) -> list[ColumnElement[Any]]:
    f = followed.c
    by_name: list[ColumnElement[Any]] = [f.search_name, f.beneficiary_id]
    soonest = [f.next_appointment_at.is_(None), f.next_appointment_at]  # none last
    if sort is Sort.NAME:
        return by_name
    if sort is Sort.LAST_CONTACT:
        # Longest without contact first; never contacted before anyone.
        return [d.last_contact.is_not(None), d.last_contact, *by_name]
    if sort is Sort.NEXT_APPOINTMENT:
        return [*soonest, *by_name]
    return [d.alerts.desc(), func.coalesce(f.overdue_actions, 0).desc(), *soonest, *by_name]


def _portfolio_statement(filters: PortfolioFilters) -> Select[Any]:
    """The band and the page in one statement: the summary's single row (every person
    followed, and how many the filters keep) joined with the page's rows (none when the
    page is empty), in the page's order."""
    key = (
        "portfolio",
        filters.role is not None,
        filters.territory_id is not None,
        filters.status,
        filters.sort,
    )
    statement = _STATEMENTS.get(key)
    if statement is not None:
        return statement
    followed = _followed(caseload=False, by_territory=filters.territory_id is not None)
    d = _derived(followed)
    conditions = _filters(followed, d, filters)
    order = _order(followed, d, filters.sort)
    matched = and_(true(), *conditions)
    summary = select(
        *_summary_columns(followed, d), _total(case((matched, 1), else_=0)).label("matched")
    ).subquery("summary")
    rows = (
        select(
            followed,
            d.this_week.label("this_week"),
            d.quiet.label("is_quiet"),
            d.is_new.label("is_new"),
            d.last_contact.label("last_contact_at"),
            func.row_number().over(order_by=order).label("position"),
        )
        .where(*conditions)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery("page")
    )
    statement = (
        select(summary, rows).select_from(summary.outerjoin(rows, true())).order_by(rows.c.position)
    )
    _STATEMENTS[key] = statement
    return statement


def _caseload_statement() -> Select[Any]:
    statement = _STATEMENTS.get(("caseload",))
    if statement is None:
        followed = _followed(caseload=True, by_territory=False)
        statement = select(
            followed.c.account_id, *_summary_columns(followed, _derived(followed))
        ).group_by(followed.c.account_id)
        _STATEMENTS[("caseload",)] = statement
    return statement


def _person(row: Row[*tuple[Any, ...]], today: date) -> FollowedPerson:
    last_contact: datetime | None = row.last_contact_at
    days = None
    if last_contact is not None:
        days = max(0, (today - last_contact.astimezone(PARIS).date()).days)
    return FollowedPerson(
        beneficiary_id=row.beneficiary_id,
        display_name=f"{row.given_name} {row.family_name}",
        role=GroupRole(row.role),
        since=row.since,
        is_break_glass=bool(row.is_break_glass),
        is_new=bool(row.is_new),
        next_appointment_at=row.next_appointment_at,
        appointment_this_week=bool(row.this_week),
        overdue_actions=None if row.overdue_actions is None else int(row.overdue_actions),
        awaiting_first_appointment=bool(row.awaiting),
        last_contact_at=last_contact,
        days_since_contact=days,
        is_quiet=bool(row.is_quiet),
        contract_ends_on=db.as_date(row.contract_ends_on),
    )


def _territories(departement_id: uuid.UUID) -> list[TerritoryOption]:
    rows = db.session().execute(
        select(Territory.id, Territory.name)
        .where(Territory.departement_id == departement_id)
        .order_by(Territory.name)
    )
    return [TerritoryOption(row.id, row.name) for row in rows]


def get_portfolio(
    *, actor: Principal, filters: PortfolioFilters | None = None, page_size: int = PAGE_SIZE
) -> Portfolio:
    """« Mes accompagnements »: the people whose open journey's group the actor is in
    (through the organisation he or she acts for), a page at a time, with the alerts.

    Two statements whatever the number of people: the territories, then the summary band
    (with the number of people the filters keep) and the page together. The listing is
    audited once, when it names anyone."""
    account_id, organisation_id, departement_id = _professional(actor)
    filters = filters or PortfolioFilters()
    territories = _territories(departement_id)
    if filters.territory_id is not None and filters.territory_id not in {t.id for t in territories}:
        raise InvalidInput.on("territory_id", UNKNOWN_TERRITORY)
    params: dict[str, Any] = {
        **_moment(),
        "departement_id": departement_id,
        "account_id": account_id,
        "organisation_id": organisation_id,
        "viewer_id": account_id,
        "role": filters.role,
        "territory_id": filters.territory_id,
        "limit": page_size,
    }
    for section, name in _SECTION_ROLES.items():
        params[name] = _roles_reading(actor, departement_id, section)
    statement = _portfolio_statement(filters)
    page = filters.page
    while True:
        params["offset"] = (page - 1) * page_size
        rows = db.session().execute(statement, params).all()
        totals = rows[0]  # the summary's row is there even when the page is empty
        matched_count = int(totals.matched or 0)
        pages = max(1, math.ceil(matched_count / page_size))
        if page <= pages:
            break
        page = pages  # past the last page (the list got shorter): show the last one
    today = params["now"].astimezone(PARIS).date()
    people = [_person(row, today) for row in rows if row.beneficiary_id is not None]
    if people:
        records.listing_audit(actor, records.Tag.PORTFOLIO_LISTED)
    return Portfolio(
        people=people,
        summary=_summary(totals),
        filters=filters,
        territories=territories,
        matched=matched_count,
        page=page,
        pages=pages,
    )


def get_caseload(*, actor: Principal) -> Caseload:
    """The structure's caseload for its admin: per professional of the structure, the
    people followed and their alerts, as counts. No name of a person: the policy gives a
    structure admin no identity outside a group, and this page asks for none."""
    _, organisation_id, departement_id = _professional(actor)
    if actor.role is not PrincipalRole.STRUCTURE_ADMIN:
        raise Denied(CASELOAD_DENIED)
    params = {
        **_moment(),
        "departement_id": departement_id,
        "organisation_id": organisation_id,
        "viewer_id": actor.account_id,
    }
    rows = db.session().execute(_caseload_statement(), params).all()
    counts = {row.account_id: _summary(row) for row in rows}
    members = [
        member
        for member in tenancy.list_structure_members(actor=actor)
        if member.role in tenancy.ACCOMPANYING_ROLES or member.account_id in counts
    ]
    shown: dict[uuid.UUID, CaseloadRow] = {}
    for member in members:
        if member.account_id in shown and member.role is not MembershipRole.PROFESSIONAL:
            continue
        shown[member.account_id] = CaseloadRow(
            account_id=member.account_id,
            display_name=member.display_name,
            job_title=member.job_title,
            summary=counts.get(member.account_id, AlertSummary()),
        )
    # Memberships kept by someone who no longer holds a role in the structure.
    names = tenancy.professional_names(a for a in counts if a not in shown)
    for account_id, name in names.items():
        shown[account_id] = CaseloadRow(account_id, name, None, counts[account_id])
    ordered = sorted(shown.values(), key=lambda r: (r.display_name.casefold(), str(r.account_id)))
    records.listing_audit(actor, Tag.CASELOAD_LISTED, permission(Section.GROUP, Level.READ))
    return Caseload(
        organisation=tenancy.get_organisation(organisation_id),
        rows=ordered,
        totals=_add(row.summary for row in ordered),
    )


def _add(summaries: Iterable[AlertSummary]) -> AlertSummary:
    total = AlertSummary()
    for s in summaries:
        total = AlertSummary(
            people=total.people + s.people,
            to_handle=total.to_handle + s.to_handle,
            appointments_this_week=total.appointments_this_week + s.appointments_this_week,
            with_overdue_actions=total.with_overdue_actions + s.with_overdue_actions,
            overdue_actions=total.overdue_actions + s.overdue_actions,
            awaiting_first_appointment=total.awaiting_first_appointment
            + s.awaiting_first_appointment,
            quiet=total.quiet + s.quiet,
            new=total.new + s.new,
            contracts_ending=total.contracts_ending + s.contracts_ending,
        )
    return total


# -- the search ----------------------------------------------------------------------------

_ROLE_ORDER = {GroupRole.REFERENT: 0, GroupRole.ORIENTATION_OFFICER: 1, GroupRole.MEMBER: 2}


def _main_role(roles: Iterable[GroupRole]) -> GroupRole | None:
    return min(roles, key=_ROLE_ORDER.__getitem__, default=None)


def search_people(*, actor: Principal, query: SearchQuery) -> SearchResults:
    """People of the actor's département matching the query, as the policy shows them.

    An identifier is looked up exactly (`records.find_people`: each hit and each miss is
    audited there); names are matched word by word and the search audited once, without
    the words typed. Other départements are never searched."""
    if not may_search(actor) or actor.departement_id is None:
        raise Denied(SEARCH_DENIED)
    if query.is_identifier:
        kind = "nir" if query.kind is SearchKind.NIR else "identifier"
        hits = records.find_people(actor=actor, kind=kind, value=query.value)
        return SearchResults(
            query=query,
            results=[
                SearchResult(
                    beneficiary_id=hit.beneficiary_id,
                    display_name=hit.display_name,
                    birth_year=hit.birth_on.year,
                    may_read=hit.may_read,
                    may_join=hit.may_join,
                    birth_on=hit.birth_on if hit.may_read else None,
                    role=_main_role(hit.group_roles),
                    city=None if hit.may_read else hit.city,
                )
                for hit in hits
            ],
        )
    results, has_more = _search_by_name(actor, actor.departement_id, query.tokens)
    records.listing_audit(actor, Tag.SEARCH_LISTED, Action.SEARCH.value)
    return SearchResults(query=query, results=results, has_more=has_more)


def _name_match(
    tokens: tuple[str, ...], fuzzy: bool
) -> tuple[list[ColumnElement[bool]], ColumnElement[Any]]:
    """Every word must match the name: anywhere in it (SQLite), or on PostgreSQL by
    trigram word similarity, which also takes any word the token begins (« mart » is
    0.8 like « martin »: a prefix of n ≥ 3 letters scores n/(n+1)). Words too short for
    trigrams must begin a word of the name. Ranked by similarity, word starts first."""
    name = Beneficiary.search_name
    conditions: list[ColumnElement[bool]] = []
    ranks: list[ColumnElement[Any]] = []
    for token in tokens:
        prefix = or_(
            name.startswith(token, autoescape=True), name.contains(f" {token}", autoescape=True)
        )
        if not fuzzy:
            conditions.append(name.contains(token, autoescape=True))
            ranks.append(case((prefix, 1), else_=0))
            continue
        if len(token) >= FUZZY_MIN:
            conditions.append(literal(token, String()).op("<%", is_comparison=True)(name))
        else:
            conditions.append(prefix)
        ranks.append(func.word_similarity(token, name) + case((prefix, 1.0), else_=0.0))
    return conditions, functools.reduce(operator.add, ranks)


def _search_by_name(
    actor: Principal, departement_id: uuid.UUID, tokens: tuple[str, ...]
) -> tuple[list[SearchResult], bool]:
    session = db.session()
    fuzzy = db.is_postgresql(session)
    if fuzzy:
        # For this transaction only: the threshold of the `<%` operator (and its index).
        session.execute(
            select(
                func.set_config("pg_trgm.word_similarity_threshold", str(TRIGRAM_THRESHOLD), True)
            )
        )
    conditions, rank = _name_match(tokens, fuzzy)
    outsider = RecordFacts(uuid.UUID(int=0), departement_id)
    if not policy.can(actor, outsider, Section.IDENTITY, Level.READ):
        # DOMAIN §5: outside one's groups a name is never enough to learn that someone
        # is on the RSA; those people are reached by an exact identifier only.
        conditions.append(_in_my_groups(actor))
    rows = session.execute(
        select(
            Beneficiary.id,
            Beneficiary.given_name,
            Beneficiary.family_name,
            Beneficiary.birth_on,
            Beneficiary.city,
        )
        .where(Beneficiary.departement_id == departement_id, *conditions)
        .order_by(rank.desc(), Beneficiary.search_name, Beneficiary.id)
        .limit(SEARCH_LIMIT + 1)
    ).all()
    has_more = len(rows) > SEARCH_LIMIT
    rows = rows[:SEARCH_LIMIT]
    roles = _own_roles(actor, [row.id for row in rows])
    results = []
    for row in rows:
        facts = RecordFacts(row.id, departement_id, frozenset(roles.get(row.id, ())))
        may_read = policy.can(actor, facts, Section.IDENTITY, Level.READ)
        if not may_read:
            continue
        results.append(
            SearchResult(
                beneficiary_id=row.id,
                display_name=f"{row.given_name} {row.family_name}",
                birth_year=row.birth_on.year,
                may_read=may_read,
                may_join=not facts.group_roles
                and policy.can_action(actor, facts, Action.BREAK_GLASS),
                birth_on=row.birth_on if may_read else None,
                role=_main_role(facts.group_roles),
                city=None if may_read else row.city,
            )
        )
    return results, has_more


def _in_my_groups(actor: Principal) -> ColumnElement[bool]:
    member = aliased(GroupMembership, name="mine")
    return (
        exists()
        .where(
            member.beneficiary_id == Beneficiary.id,
            member.account_id == actor.account_id,
            member.organisation_id == actor.organisation_id,
            member.ended_at.is_(None),
            Journey.id == member.journey_id,
            Journey.closed_on.is_(None),
        )
        .correlate(Beneficiary)
    )


def _own_roles(
    actor: Principal, beneficiary_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[GroupRole]]:
    """The actor's roles in the active groups of these people (as the record gate reads
    them for one record), in one query."""
    if not beneficiary_ids or actor.account_id is None or actor.organisation_id is None:
        return {}
    roles: dict[uuid.UUID, set[GroupRole]] = {}
    for beneficiary_id, role in db.session().execute(
        select(GroupMembership.beneficiary_id, GroupMembership.role)
        .join(Journey, Journey.id == GroupMembership.journey_id)
        .where(
            GroupMembership.beneficiary_id.in_(beneficiary_ids),
            GroupMembership.account_id == actor.account_id,
            GroupMembership.organisation_id == actor.organisation_id,
            GroupMembership.ended_at.is_(None),
            Journey.closed_on.is_(None),
        )
    ):
        roles.setdefault(beneficiary_id, set()).add(GroupRole(role))
    return roles
