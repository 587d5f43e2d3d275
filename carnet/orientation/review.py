"""The social accompaniments the équipe pluridisciplinaire must examine (DOMAIN.md §3.10).

« A person in social accompaniment who could not be reoriented towards employment after 6
months (12 when the diagnostic found health, disability, housing or family
vulnerabilities) has the situation examined by the EP: the platform raises it. » Issue 6
builds the EP itself; this module only raises the cases, in one rule written once
(`_raised`) and used by the officers' list and by the record's synthesis.

The rule. A person is « à examiner en équipe pluridisciplinaire » when:
- the open period of his or her open journey is of type `sociale`;
- no reorientation request is pending for that journey (a request on its way is being
  handled already);
- the social accompaniment has lasted at least 6 calendar months, or 12 with
  vulnerabilities (`carnet.clock.add_months`: 31 August + 6 months is 28 February).

The accompaniment is counted from the start of the run of consecutive `sociale` periods
of the journey, not from the open period's own start: an officer who changes the
structure within a social orientation (a new `sociale` period) does not restart the
clock. The run starts at the earliest social period beginning on or after the end of the
journey's last non-social period (periods are contiguous and half-open).

Vulnerabilities: an open frein périphérique (status not « levé ») or a situation of the
latest diagnostic version under a theme whose OARSA category is housing (`logement`, the
seeded theme code `logement`) or family (`famille`, the seeded theme
`contraintes_familiales`, « garde d'enfants »); a département's own theme of one of these
categories counts too. Health and disability do not count: the referential's only health
theme (`sante`, OARSA category `sante`) belongs to the health compartment, which is never
read here (HealthBarrier, RqthRecord, HealthNote are health data under GDPR art. 9, and
the situation section holds no health or disability theme). So a health frein alone keeps
the 6-month rule.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased

from carnet import clock, db
from carnet.errors import Denied
from carnet.orientation import services
from carnet.orientation.models import (
    Orientation,
    OrientationType,
    ReorientationRequest,
    RequestStatus,
)
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary, GroupMembership, Journey
from carnet.referential.models import OarsaCategory, Theme
from carnet.security.principal import Principal
from carnet.situation.models import Barrier, BarrierStatus, Diagnostic, DiagnosticSituation

MONTHS = 6
MONTHS_VULNERABLE = 12
LIST_SIZE = 50  # the officers' page shows the oldest cases, with the count of all
# Freins or diagnostic situations under these categories lengthen the delay to 12 months.
VULNERABLE_CATEGORIES = (OarsaCategory.LOGEMENT, OarsaCategory.FAMILLE)

REASON_VULNERABLE = "freins logement ou famille repérés au diagnostic"
REVIEW_DENIED = (
    "La liste des accompagnements sociaux à examiner en équipe pluridisciplinaire est "
    "réservée aux chargés d'orientation du département."
)


class Tag(StrEnum):
    LISTED = "orientation:team_review:listed"


@dataclass(frozen=True)
class TeamReview:
    """One social accompaniment that has lasted past its delay."""

    beneficiary_id: uuid.UUID
    display_name: str
    since: date  # the start of the run of social periods
    months: int  # full calendar months since then
    threshold: int  # 6, or 12 with housing or family vulnerabilities

    @property
    def vulnerable(self) -> bool:
        return self.threshold == MONTHS_VULNERABLE

    @property
    def reason(self) -> str | None:
        return REASON_VULNERABLE if self.vulnerable else None


@dataclass(frozen=True)
class TeamReviews:
    people: list[TeamReview]
    total: int
    limit: int

    @property
    def is_partial(self) -> bool:
        return self.total > len(self.people)


# -- months --------------------------------------------------------------------------------


def months_between(since: date, today: date) -> int:
    """Full calendar months from `since` to `today`: the largest n with
    add_months(since, n) <= today (0 when today is before since)."""
    months = max(0, (today.year - since.year) * 12 + today.month - since.month - 1)
    while clock.add_months(since, months + 1) <= today:
        months += 1
    return months


def started_by(today: date, months: int) -> date:
    """The latest start whose `months` calendar months are over on `today`: the run starts
    on or before it. add_months never decreases as its start grows, so this one bound is
    exact in SQL."""
    day = clock.add_months(today, -months)
    while clock.add_months(day + timedelta(days=1), months) <= today:
        day += timedelta(days=1)
    return day


# -- the rule, in SQL ------------------------------------------------------------------------


def _run_start(period: Any) -> Any:
    """The start of the run of consecutive social periods the open `period` ends."""
    run = aliased(Orientation, name="run_period")
    other = aliased(Orientation, name="other_period")
    last_other_end = (
        select(func.max(other.ends_on))
        .where(other.journey_id == run.journey_id, other.type != OrientationType.SOCIAL)
        .scalar_subquery()
    )
    return (
        select(func.min(run.starts_on))
        .where(
            run.journey_id == period.journey_id,
            run.type == OrientationType.SOCIAL,
            or_(last_other_end.is_(None), run.starts_on >= last_other_end),
        )
        .scalar_subquery()
    )


def _vulnerable(person_id: Any) -> Any:
    """Housing or family freins still open, or situations of the latest diagnostic version
    under those themes. Never the health compartment."""
    themes = select(Theme.id).where(
        Theme.oarsa_category.in_(VULNERABLE_CATEGORIES),
        Theme.oarsa_category != OarsaCategory.SANTE,
    )
    open_barrier = exists().where(
        Barrier.beneficiary_id == person_id,
        Barrier.status != BarrierStatus.LIFTED,
        Barrier.theme_id.in_(themes),
    )
    latest = (
        select(Diagnostic.id)
        .where(Diagnostic.beneficiary_id == DiagnosticSituation.beneficiary_id)
        .order_by(Diagnostic.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    diagnosed = exists().where(
        DiagnosticSituation.beneficiary_id == person_id,
        DiagnosticSituation.diagnostic_id == latest,
        DiagnosticSituation.theme_id.in_(themes),
    )
    return or_(open_barrier, diagnosed)


@functools.cache
def _raised(by_person: bool, hide_roles: bool) -> Select[Any]:
    """One statement: the count of the people raised, and the oldest `limit` of them
    (none when `limit` is 0), for a département or for one person.

    A CTE of the open social accompaniments of open journeys without a pending request,
    with the start of their run; the EXISTS of vulnerabilities is evaluated only for those
    past 6 months (every case past 12 is past 6)."""
    period = aliased(Orientation, name="period")
    pending = exists().where(
        ReorientationRequest.journey_id == period.journey_id,
        ReorientationRequest.status == RequestStatus.PENDING,
    )
    conditions: list[Any] = [
        period.ends_on.is_(None),
        period.type == OrientationType.SOCIAL,
        Journey.closed_on.is_(None),
        ~pending,
    ]
    if by_person:
        conditions.append(period.beneficiary_id == bindparam("person_id"))
    else:
        conditions.append(period.departement_id == bindparam("departement_id"))
    if hide_roles:
        gm = GroupMembership
        # As the queue: where the actor's own role in the group may not read identity (a
        # département's tightening), the person is not listed.
        conditions.append(
            ~exists().where(
                gm.journey_id == period.journey_id,
                gm.account_id == bindparam("account_id"),
                gm.organisation_id == bindparam("organisation_id"),
                gm.ended_at.is_(None),
                gm.role.in_(bindparam("hidden_roles", expanding=True)),
            )
        )
    social = (
        select(
            period.beneficiary_id.label("beneficiary_id"),
            _run_start(period).label("since"),
        )
        .select_from(period)
        .join(Journey, Journey.id == period.journey_id)
        .where(*conditions)
        .cte("social_accompaniments")
    )
    s = social.c
    threshold = case((_vulnerable(s.beneficiary_id), MONTHS_VULNERABLE), else_=MONTHS)
    past_six = (
        select(
            s.beneficiary_id,
            s.since,
            threshold.label("threshold"),
        )
        .where(s.since <= bindparam("upto_6"))
        .cte("past_six_months")
    )
    c = past_six.c
    due = c.since <= case(
        (c.threshold == MONTHS_VULNERABLE, bindparam("upto_12")), else_=bindparam("upto_6")
    )
    summary = select(func.count().label("total")).select_from(past_six).where(due).subquery()
    order = [c.since, Beneficiary.search_name, c.beneficiary_id]
    page = (
        select(
            c.beneficiary_id,
            c.since,
            c.threshold,
            Beneficiary.given_name,
            Beneficiary.family_name,
            func.row_number().over(order_by=order).label("position"),
        )
        .join(Beneficiary, Beneficiary.id == c.beneficiary_id)
        .where(due)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
        .subquery("page")
    )
    return (
        select(summary, page).select_from(summary.outerjoin(page, true())).order_by(page.c.position)
    )


def _run(
    params: dict[str, Any], *, by_person: bool, hide_roles: bool, limit: int
) -> tuple[int, list[TeamReview]]:
    today = clock.today()
    rows = (
        db.session()
        .execute(
            _raised(by_person, hide_roles),
            {
                **params,
                "upto_6": started_by(today, MONTHS),
                "upto_12": started_by(today, MONTHS_VULNERABLE),
                "limit": limit,
            },
        )
        .all()
    )
    total = int(rows[0].total or 0) if rows else 0
    people = []
    for row in rows:
        if row.beneficiary_id is None:
            continue
        since = db.as_date(row.since)
        people.append(
            TeamReview(
                beneficiary_id=row.beneficiary_id,
                display_name=f"{row.given_name} {row.family_name}",
                since=since,
                months=months_between(since, today),
                threshold=int(row.threshold),
            )
        )
    return total, people


# -- for the officers ----------------------------------------------------------------------


def list_team_reviews(*, actor: Principal, limit: int = LIST_SIZE) -> TeamReviews:
    """The social accompaniments of the département past their delay, oldest first, and
    their count, for the chargés d'orientation. One statement; audited once when it names
    anyone (`limit=0` gives the count alone, for the home page, and names no one)."""
    if not services.may_work_queue(actor) or actor.departement_id is None:
        raise Denied(REVIEW_DENIED)
    hidden = services.hidden_roles(actor, actor.departement_id)
    hide = bool(hidden) and actor.account_id is not None
    total, people = _run(
        {
            "departement_id": actor.departement_id,
            "account_id": actor.account_id,
            "organisation_id": actor.organisation_id,
            "hidden_roles": hidden,
        },
        by_person=False,
        hide_roles=hide,
        limit=max(0, limit),
    )
    if people:
        records.listing_audit(actor, Tag.LISTED)
    return TeamReviews(people=people, total=total, limit=limit)


def count_team_reviews(*, actor: Principal) -> int | None:
    """The count alone, for the officer's home page (None when he or she may not list)."""
    if not services.may_work_queue(actor):
        return None
    return list_team_reviews(actor=actor, limit=0).total


# -- for one record ----------------------------------------------------------------------------


def for_record(access: RecordAccess) -> TeamReview | None:
    """Whether this person's social accompaniment must be examined, for a page that already
    opened the record and authorized reading the orientation (the record's synthesis); no
    audit row here.

    The 12-month rule is applied whether or not the viewer may read the situation section:
    only the conclusion is shown (« doit être examinée »), never the freins or the
    diagnostic that lengthened the delay."""
    _, people = _run(
        {"person_id": access.beneficiary.id}, by_person=True, hide_roles=False, limit=1
    )
    return people[0] if people else None


__all__ = [
    "MONTHS",
    "MONTHS_VULNERABLE",
    "REASON_VULNERABLE",
    "TeamReview",
    "TeamReviews",
    "count_team_reviews",
    "for_record",
    "list_team_reviews",
    "months_between",
    "started_by",
]
