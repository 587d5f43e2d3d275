"""The portfolio runs a fixed number of SQL statements whatever the number of people.

The same référent is measured with 3 people, then with 30 (each with appointments, notes
and overdue actions): every statement the request sends is counted (session, principal,
policy, the page, the audit row, the commit). A query per person would show at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carnet import db
from carnet.meetings.models import Attendance
from carnet.plan.models import ActionStatus
from tests.records.world import build_world, text
from tests.workspace.people import Followed


@contextmanager
def statements_of(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine's connections send while the block runs."""
    seen: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _people(world: Any, count: int, start: int) -> None:
    for number in range(start, start + count):
        person = Followed(
            world,
            world.referent,
            world.departement_org,
            "Personne",
            f"Suivie{number:03d}",
            days_ago=5 if number % 3 == 0 else 100,
        )
        person.join(world.ml_member)
        person.appointment(days=1 + number % 9)
        person.appointment(days=-10, attendance=Attendance.PRESENT)
        person.note(days_ago=2, author=world.ml_member)
        person.action(due_in_days=-3, status=ActionStatus.PLANNED)
        person.action(due_in_days=4, status=ActionStatus.IN_PROGRESS)


@pytest.fixture
def world(db_session: Any) -> Any:
    return build_world()


@pytest.mark.parametrize(
    "url", ["/accompagnements", "/accompagnements?tri=nom&statut=a_traiter", "/"]
)
def test_the_portfolio_runs_the_same_statements_for_3_and_30_people(
    client: Any, connection: Any, world: Any, login_as: Any, url: str
) -> None:
    _people(world, 2, 0)  # with Sofia: 3 people
    login_as(client, world.referent.account, world.referent.membership)
    assert client.get(url).status_code == 200  # the first page after login is not measured

    counted: dict[int, list[str]] = {}
    bodies: dict[int, str] = {}
    for size in (3, 30):
        if size == 30:
            _people(world, 27, 2)
            db.session().commit()  # a savepoint under the test's transaction: as for 3
        with statements_of(connection.engine) as statements:
            response = client.get(url)
        assert response.status_code == 200
        counted[size] = list(statements)
        bodies[size] = text(response)

    assert "Suivie001" in bodies[3]
    assert bodies[30].count("Suivie0") > bodies[3].count("Suivie0")  # more rows shown...
    extra = Counter(counted[30]) - Counter(counted[3])
    assert len(counted[30]) == len(counted[3]), (  # ...with exactly as many statements
        f"{len(counted[3])} statements for 3 people, {len(counted[30])} for 30; "
        "repeated with 30:\n" + "\n---\n".join(f"{n}x {s}" for s, n in extra.items())
    )
