"""The one source of the current time: aware UTC, so tests can freeze it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dateutil.relativedelta import relativedelta


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or that month's last day
    (31 January + 1 month → 28 or 29 February)."""
    result: date = day + relativedelta(months=months)
    return result
