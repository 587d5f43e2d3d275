"""Walk every URL rule that takes an object id, as every kind of visitor.

For each rule with a `<uuid:…>` argument (and each of its GET/POST methods), the URL is
built from the ids of one seeded record (tests/records/world.py) and requested as: the
person's référent, a professional of the same département outside the group, a
professional of another département, another beneficiary, a platform admin, and an
anonymous visitor. The walk asserts:

- never a 500; an anonymous visitor is sent to the login page;
- an allowed request wrote an allowed audit row about the record, by that actor;
- a refused request answered 403 inside the département and 404 outside it (or to
  another beneficiary), wrote a denied audit row, and shows nothing of the person;
- every response carries the security headers and `Cache-Control: no-store`.

A new rule whose id argument is not in `ID_SOURCES` fails `test_every_id_route_is_walked`:
add where its id comes from (or, for a rule that serves no personal data, list it in
`NOT_PERSONAL` with the reason), and the walk covers it from then on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from carnet import db
from carnet.security import scoping
from carnet.security.audit import AccessEvent
from carnet.security.permissions import Outcome
from tests.contracts.seed import contract_of
from tests.documents.seed import document_of
from tests.orientation.exit_seed import follow_up_of
from tests.orientation.seed import request_of
from tests.projects.seed import project_of
from tests.records.world import SOFIA_NIR, SOFIA_NIR_COMPACT, World, build_world
from tests.situation.world import barrier_of, diagnostic_of, health_barrier_of

UUID_ARGUMENT = re.compile(r"<uuid:([a-z_]+)>")

# Where each id argument of a URL rule takes its value in the seeded world.
ID_SOURCES: dict[str, Callable[[World], uuid.UUID]] = {
    "beneficiary_id": lambda world: world.person.id,
    "objective_id": lambda world: world.objective_id,
    "action_id": lambda world: world.action_id,
    "theme_id": lambda world: world.theme_id,
    "entry_id": lambda world: world.entry_id,
    "appointment_id": lambda world: world.appointment.id,
    "project_id": project_of,
    "document_id": document_of,
    "diagnostic_id": diagnostic_of,
    "barrier_id": barrier_of,
    "health_barrier_id": health_barrier_of,
    "request_id": request_of,
    "contract_id": contract_of,
    "follow_up_id": follow_up_of,
}
# Other arguments of a URL rule: a contract's version number (its first version is signed).
INT_SOURCES: dict[str, Callable[[World], int]] = {"number": lambda world: 1}

# Rules with an id that serve no personal data: endpoint -> why. Walked for headers and 500s.
NOT_PERSONAL: dict[str, str] = {
    "referential.theme": "département configuration (the referential), not a person's data",
    "referential.add_entry": "département configuration (the referential), not a person's data",
    "referential.entry": "département configuration (the referential), not a person's data",
}

# Rules the policy opens to a professional of the same département outside the group: the
# way into the group (« bris de glace »). Every other rule refuses him or her with a 403.
OPEN_TO_SAME_DEPARTEMENT = frozenset({"records.join"})

# The health compartment: the référent reads it only with the person's consent, which the
# seeded world does not hold, so he or she is refused with a 403 like an outsider.
CONSENT_GATED = frozenset(
    {
        "situation.health",
        "situation.add_health_barrier",
        "situation.health_barrier",
        "situation.health_barrier_status",
        "situation.rqth",
        "situation.add_health_note",
    }
)

# Writes that need the orientation section (a new journey, a retention check): the
# référent only reads it, so he or she is refused with a 403 like an outsider.
ORIENTATION_WRITERS = frozenset({"exits.reopen", "exits.record_follow_up"})

# The person's own space (« Mon carnet »): served only to the person on his or her own
# record; anyone else is answered 404 before any record is opened.
OWN_SPACE = frozenset({"contracts.own_contract", "contracts.own_sign", "contracts.own_pdf"})

# The walk must at least see these (a guard against a walker that silently walks nothing).
KNOWN_ENDPOINTS = frozenset(
    {
        "records.show",
        "records.reveal_nir",
        "records.activation_code",
        "records.group",
        "records.invite",
        "records.end_membership",
        "records.change_referent",
        "records.join",
        "records.history",
        "plan.show",
        "plan.add_objective",
        "plan.objective",
        "plan.add_action",
        "plan.action",
        "meetings.appointments",
        "meetings.create",
        "meetings.appointment",
        "meetings.edit",
        "meetings.attendance",
        "meetings.cancel",
        "meetings.appointment_note",
        "meetings.notes",
        "meetings.add_note",
        "projects.projects",
        "projects.add",
        "projects.project",
        "documents.documents",
        "documents.upload",
        "documents.download",
        "documents.delete",
        "situation.show",
        "situation.diagnostic_form",
        "situation.diagnostic",
        "situation.add_barrier",
        "situation.barrier",
        "situation.barrier_status",
        "situation.health",
        "situation.add_health_barrier",
        "situation.health_barrier",
        "situation.health_barrier_status",
        "situation.rqth",
        "situation.add_health_note",
        "situation.consents",
        "orientation.show",
        "orientation.decide",
        "orientation.request_reorientation",
        "orientation.keep",
    }
)

PRIVATE_MARKERS = ("Benali", SOFIA_NIR, SOFIA_NIR_COMPACT, "sofia@exemple.fr")


@dataclass
class Visitor:
    name: str
    client: Any
    account_id: uuid.UUID | None
    expected: str  # allowed | forbidden | not_found | not_found_unaudited | login
    csrf: str = ""
    referer: str = ""


def _id_rules(app: Any) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules() if UUID_ARGUMENT.search(rule.rule)]


def _rules_with_any_id(app: Any) -> list[Any]:
    """Rules with a uuid argument, or any other argument named like an id."""
    found = []
    for rule in app.url_map.iter_rules():
        names = set(UUID_ARGUMENT.findall(rule.rule)) | {
            name for name in rule.arguments if name.endswith("_id")
        }
        if names:
            found.append((rule, names))
    return found


def test_every_id_route_is_walked(app):
    uncovered = [
        f"{rule.rule} ({rule.endpoint}): {sorted(names - set(ID_SOURCES))}"
        for rule, names in _rules_with_any_id(app)
        if not names <= set(ID_SOURCES) and rule.endpoint not in NOT_PERSONAL
    ]
    assert not uncovered, (
        "Routes with an id the walker cannot fill; add the argument to ID_SOURCES (or the "
        "endpoint to NOT_PERSONAL with a reason): " + "; ".join(uncovered)
    )
    walked = {rule.endpoint for rule in _id_rules(app)}
    assert walked >= KNOWN_ENDPOINTS


def _check_headers(response: Any) -> list[str]:
    problems = []
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {
        part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()
    }
    script_src = directives.get("script-src", "")
    if not script_src or "'unsafe-inline'" in script_src:
        problems.append(f"script-src {script_src!r}")
    problems.extend(
        f"CSP lacks {directive}"
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'")
        if directive not in csp
    )
    hsts = headers.get("Strict-Transport-Security", "")
    match = re.search(r"max-age=(\d+)", hsts)
    if not match or int(match.group(1)) < 31_536_000 or "includeSubDomains" not in hsts:
        problems.append(f"HSTS {hsts!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("nosniff missing")
    if not headers.get("Referrer-Policy"):
        problems.append("Referrer-Policy missing")
    if "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control {headers.get('Cache-Control')!r}")
    return problems


def _rows(account_id: uuid.UUID | None, beneficiary_id: uuid.UUID) -> list[AccessEvent]:
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(AccessEvent).where(
                    AccessEvent.actor_account_id == account_id,
                    AccessEvent.beneficiary_id == beneficiary_id,
                )
            )
        )


def _visitors(world: World, make_client: Any, login_as: Any) -> list[Visitor]:
    def logged_in(name: str, account: Any, membership: Any, expected: str) -> Visitor:
        client = make_client()
        login_as(client, account, membership)
        csrf = client.csrf_from("/")
        return Visitor(name, client, account.id, expected, csrf, client.form_page_url)

    return [
        logged_in("référent", world.referent.account, world.referent.membership, "allowed"),
        logged_in(
            "hors groupe, même département",
            world.outsider.account,
            world.outsider.membership,
            "forbidden",
        ),
        logged_in(
            "autre département", world.foreign.account, world.foreign.membership, "not_found"
        ),
        logged_in("autre bénéficiaire", world.other_person_account, None, "not_found"),
        # No département, hence no chain to log in: refused and shown nothing, unaudited.
        logged_in(
            "administration de la plateforme", world.platform_admin, None, "not_found_unaudited"
        ),
        Visitor("anonyme", make_client(), None, "login"),
    ]


def _request(visitor: Visitor, method: str, url: str) -> Any:
    if method == "GET":
        return visitor.client.get(url)
    data = {"csrf_token": visitor.csrf} if visitor.csrf else {}
    headers = {"Referer": visitor.referer} if visitor.referer else {}
    return visitor.client.post(url, data=data, headers=headers)


def _expectation(visitor: Visitor, endpoint: str) -> str:
    if endpoint in OWN_SPACE and visitor.expected != "login":
        return "not_found_unaudited"
    if visitor.expected == "forbidden" and endpoint in OPEN_TO_SAME_DEPARTEMENT:
        return "allowed"
    if visitor.expected == "allowed" and endpoint in CONSENT_GATED:
        return "forbidden"
    if visitor.expected == "allowed" and endpoint in ORIENTATION_WRITERS:
        return "forbidden"
    return visitor.expected


def test_walk_every_id_route_as_every_visitor(app, db_session, make_client, login_as):
    world = build_world()
    visitors = _visitors(world, make_client, login_as)
    adapter = app.url_map.bind("localhost", url_scheme="https")
    failures: list[str] = []
    walked = 0
    for rule in _id_rules(app):
        names = set(UUID_ARGUMENT.findall(rule.rule))
        if not names <= set(ID_SOURCES):
            continue  # reported by test_every_id_route_is_walked
        values: dict[str, Any] = {name: ID_SOURCES[name](world) for name in names}
        values |= {n: INT_SOURCES[n](world) for n in rule.arguments if n in INT_SOURCES}
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            url = adapter.build(rule.endpoint, values, method=method)
            for visitor in visitors:
                walked += 1
                where = f"{method} {rule.rule} as {visitor.name}"
                before = len(_rows(visitor.account_id, world.person.id))
                response = _request(visitor, method, url)
                # Downloads are binary: read them as text only to look for private markers.
                body = response.get_data().decode(errors="replace")
                failures += [f"{where}: {p}" for p in _check_headers(response)]
                if response.status_code >= 500:
                    failures.append(f"{where}: status {response.status_code}")
                    continue
                if rule.endpoint in NOT_PERSONAL:
                    continue
                new = _rows(visitor.account_id, world.person.id)[before:]
                outcomes = {row.outcome for row in new}
                expected = _expectation(visitor, rule.endpoint)
                if expected == "login":
                    location = response.headers.get("Location", "")
                    if response.status_code != 302 or not location.startswith("/connexion"):
                        failures.append(f"{where}: {response.status_code} -> {location!r}")
                    continue
                if expected == "allowed":
                    if response.status_code in (403, 404) or response.status_code >= 500:
                        failures.append(f"{where}: refused with {response.status_code}")
                    if Outcome.ALLOWED not in outcomes or Outcome.DENIED in outcomes:
                        failures.append(f"{where}: audit rows {sorted(outcomes)}")
                    continue
                wanted = 403 if expected == "forbidden" else 404
                if response.status_code != wanted:
                    failures.append(f"{where}: {response.status_code}, expected {wanted}")
                wanted_rows = set() if expected == "not_found_unaudited" else {Outcome.DENIED}
                if outcomes != wanted_rows:
                    failures.append(f"{where}: audit rows {sorted(outcomes)}")
                leaked = [marker for marker in PRIVATE_MARKERS if marker in body]
                if leaked:
                    failures.append(f"{where}: shows {leaked}")
    assert walked >= len(KNOWN_ENDPOINTS) * len(visitors)
    assert not failures, "\n".join(failures)
