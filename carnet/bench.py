"""`carnet bench`: the server time of a referent's pages on a large synthetic département.

The département is seeded exactly as `carnet seed` does (`carnet.demo.bulk`) when it does
not exist yet, or reused when it holds exactly the number of people asked for. The run
logs in as the referent who follows `bulk.PORTFOLIO_SIZE` people, through the real
e-mail link login (a real server-side session), then sends every request through the
whole application in this process with Flask's test client: session row, principal,
policy, access-log rows, template rendering and the request's commit are all inside each
timing. Operations are interleaved in a shuffled order on every round, so that the noise
of a shared machine falls on all of them alike. Any answer other than 200 stops the run.

PostgreSQL only: the figures are meant for the production engine.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import os
import random
import re
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from werkzeug.exceptions import HTTPException

from carnet import db
from carnet.config import Settings
from carnet.security import scoping

Echo = Callable[[str], None]

DEFAULT_BENEFICIARIES = 100_000
DEFAULT_SAMPLES = 200
DEFAULT_WARMUP = 20
RECORD_GOAL_RATIO = 3.0  # record page and portfolio: p95 at most 3x the baseline's
SEARCH_GOAL_MS = 50.0  # name search: p95 under 50 ms
SHUFFLE_SEED = 20_261_123
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class BenchError(Exception):
    """The run cannot go on; the message (French) says why."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


# -- what is measured --------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    key: str
    label: str
    route: str  # a sample path, to know whether the application serves it yet
    goal: str  # printed; empty when the issue sets none
    as_officer: bool = False  # measured as the département's chargé d'orientation


BASELINE = Operation("baseline", "référence (mes sessions)", "/mon-compte/sessions", "")
RECORD = Operation(
    "record", "carnet complet", f"/personnes/{uuid.UUID(int=0)}", f"p95 ≤ {RECORD_GOAL_RATIO:g}x"
)
PORTFOLIO = Operation(
    "portfolio", "portefeuille", "/accompagnements", f"p95 ≤ {RECORD_GOAL_RATIO:g}x"
)
SEARCH = Operation("search", "recherche par nom", "/recherche", f"p95 < {SEARCH_GOAL_MS:g} ms")
QUEUE = Operation(
    "queue",
    "file d'orientation",
    "/orientation/file-d-attente",
    f"p95 ≤ {RECORD_GOAL_RATIO:g}x",
    as_officer=True,
)
OPERATIONS = (BASELINE, RECORD, PORTFOLIO, SEARCH, QUEUE)

HELP = f"""Mesure le temps serveur des pages d'un référent sur un département synthétique
(PostgreSQL uniquement).

Crée le département comme `carnet seed` s'il n'existe pas, ou le réutilise s'il compte
exactement N personnes (la sortie dit lequel des deux). Se connecte par lien de connexion
comme le référent qui suit 150 personnes aux carnets complets (plan d'action, rendez-vous,
notes), puis chronomètre chaque requête à travers toute l'application, dans ce processus :
session, politique d'accès, journal des accès, rendu du gabarit et validation de la
transaction. Après des tours de chauffe, les opérations sont entrelacées dans un ordre tiré
au hasard à chaque tour. Toute réponse autre que 200 arrête la mesure.

\b
Opérations mesurées :
- {BASELINE.label} : GET {BASELINE.route}
  La page authentifiée la plus simple : elle lit une seule ligne (l'unique
  session du compte) en passant par la même session serveur, le même
  chargement du principal, les mêmes en-têtes et le même gabarit de base que
  les autres pages. Aucune route existante ne lit une seule ligne d'un carnet ;
  elle ne touche aucune donnée de personne, donc ni décision de la politique
  sur un carnet ni ligne du journal : le rapport mesure justement ce surcoût.
- {RECORD.label} : GET /personnes/<id>
  Le carnet le plus fourni du portefeuille, toutes sections affichées.
- {PORTFOLIO.label} : GET {PORTFOLIO.route}
  Les 150 personnes suivies par le référent.
- {SEARCH.label} : GET {SEARCH.route}?q=<nom>
  Un nom présent en base, tapé avec une faute de frappe.
- {QUEUE.label} : GET {QUEUE.route}
  La première page de la file des personnes à orienter du département, vue par
  son chargé d'orientation (connecté lui aussi par lien, dans une seconde session).

Affiche pour chacune le p50, le p95 et le p99 en millisecondes et le rapport de son p95 à
celui de la référence (par exemple 2.1x). Objectifs : carnet, portefeuille et file
d'orientation p95 ≤ {RECORD_GOAL_RATIO:g}x la référence ; recherche p95 < {SEARCH_GOAL_MS:g} ms.
La mesure écrit dans le journal des accès : c'est voulu, cela fait partie du temps
serveur. Les limites de fréquence (la recherche : 10 par minute) restent actives, leurs
compteurs remis à zéro entre les tours ; partagées entre serveurs (REDIS_URL), elles sont
suspendues pendant la mesure."""


@dataclass(frozen=True)
class Subjects:
    """What the run looks at, found in the département (plain values, no ORM object)."""

    departement_id: uuid.UUID
    referent_account_id: uuid.UUID
    referent_email: str
    portfolio_size: int
    record_id: uuid.UUID
    record_events: int
    family_name: str  # of the record measured: what the search should find
    search_term: str
    officer_email: str | None = None  # the département's chargé d'orientation
    waiting: int = 0  # people in the orientation queue


@dataclass
class Result:
    operation: Operation
    url: str
    seconds: list[float] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.seconds, 95) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.seconds, 99) * 1000


def percentile(values: list[float], rank: int) -> float:
    """The `rank`-th percentile, interpolated between the closest samples."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[rank - 1]


def with_typo(name: str) -> str:
    """The name as typed in a hurry: its middle letter doubled (« Moreau » → « Moreeau »)."""
    middle = len(name) // 2
    return name[: middle + 1] + name[middle:]


# -- the run ------------------------------------------------------------------------------


def main(
    app: Flask,
    settings: Settings,
    *,
    beneficiaries: int,
    samples: int,
    warmup: int,
    code: str,
    echo: Echo,
) -> int:
    """Seed or reuse, log in, measure, print; returns the process exit code."""
    try:
        _refuse_unsuitable(settings)
        departement_id = _departement(settings, code, beneficiaries, echo)
        _analyze(echo)
        subjects = _subjects(departement_id)
        _warn_if_not_comparable(subjects, echo)
        operations = [op for op in OPERATIONS if _served(app, op)]
        missing = [op for op in OPERATIONS if op not in operations]
        load_before = os.getloadavg()
        results = _measure(app, settings, subjects, operations, samples, warmup, echo)
        load_after = os.getloadavg()
    except BenchError as exc:
        echo(f"Mesure impossible : {exc.message}")
        return exc.exit_code
    _print(results, missing, subjects, samples, warmup, (load_before, load_after), echo)
    return 0


def _refuse_unsuitable(settings: Settings) -> None:
    if settings.is_production:
        raise BenchError(
            "pas de mesure en production : elle crée des personnes synthétiques, une session "
            "et des lignes du journal des accès.",
            exit_code=2,
        )
    if db.session().get_bind().dialect.name != "postgresql":
        raise BenchError(
            "`carnet bench` mesure sur PostgreSQL uniquement, le moteur de production ; "
            "DATABASE_URL désigne un autre moteur. Indiquez une base PostgreSQL, par exemple "
            "DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/carnet_bench, puis "
            "lancez `carnet db upgrade`.",
            exit_code=2,
        )


def _departement(settings: Settings, code: str, beneficiaries: int, echo: Echo) -> uuid.UUID:
    """The département to measure: reused when it holds exactly `beneficiaries` people,
    seeded as `carnet seed` does when it does not exist."""
    from carnet.demo import bulk, run
    from carnet.errors import CarnetError
    from carnet.records.models import Beneficiary
    from carnet.tenancy.models import Departement

    code = code.strip().upper()
    with scoping.unscoped(), db.unit_of_work() as db_session:
        departement_id = db_session.scalar(select(Departement.id).where(Departement.code == code))
        people = 0
        if departement_id is not None:
            people = int(
                db_session.scalar(
                    select(func.count())
                    .select_from(Beneficiary)
                    .where(Beneficiary.departement_id == departement_id)
                )
                or 0
            )
    db.session.remove()
    if departement_id is not None:
        if people != beneficiaries:
            raise BenchError(
                f"le département {code} existe déjà avec {people} personnes, pas "
                f"{beneficiaries} : choisissez un autre code (--departement-code) ou le nombre "
                f"qu'il contient (--beneficiaries {people})."
            )
        echo(f"Département {code} réutilisé : {people} personnes déjà en base, rien n'est créé.")
        return departement_id
    echo(f"Département {code} absent : création de {beneficiaries} personnes (carnet seed).")
    started = perf_counter()
    try:
        with scoping.unscoped(), db.unit_of_work() as db_session:
            report = bulk.seed(db_session, beneficiaries=beneficiaries, code=code)
    except CarnetError as exc:
        raise BenchError(exc.message) from exc
    finally:
        db.session.remove()
    run.print_seed_report(report, echo)
    if not run.write_checkpoints(settings, echo):
        raise BenchError("le journal des accès ne se vérifie pas après la création.")
    db.session.remove()
    echo(f"Création terminée en {perf_counter() - started:.1f} s (écriture et vérification).")
    return report.departement_id


def _analyze(echo: Echo) -> None:
    """Fresh planner statistics, as autovacuum keeps them in production: right after a
    bulk load (or where autovacuum is off) PostgreSQL would otherwise plan blind."""
    started = perf_counter()
    with db.unit_of_work() as db_session:
        db_session.execute(text("ANALYZE"))
    db.session.remove()
    echo(f"Statistiques du planificateur mises à jour (ANALYZE, {perf_counter() - started:.1f} s).")


def _subjects(departement_id: uuid.UUID) -> Subjects:
    """The referent with the largest portfolio, the fullest record of it, a name to search."""
    from carnet.auth.models import Account
    from carnet.records.models import Beneficiary, GroupMembership, Journey, TimelineEvent
    from carnet.security.permissions import GroupRole

    following = (
        select(GroupMembership.beneficiary_id)
        .join(Journey, Journey.id == GroupMembership.journey_id)
        .where(
            GroupMembership.departement_id == departement_id,
            GroupMembership.role == GroupRole.REFERENT,
            GroupMembership.ended_at.is_(None),
            Journey.closed_on.is_(None),
        )
    )
    with scoping.unscoped(), db.unit_of_work() as db_session:
        largest = db_session.execute(
            following.with_only_columns(GroupMembership.account_id, func.count())
            .group_by(GroupMembership.account_id)
            .order_by(func.count().desc(), GroupMembership.account_id)
            .limit(1)
        ).first()
        if largest is None:
            raise BenchError("aucun référent ne suit de personne dans ce département.")
        account_id, portfolio_size = largest
        email = db_session.scalar(select(Account.email).where(Account.id == account_id))
        fullest = db_session.execute(
            select(TimelineEvent.beneficiary_id, func.count())
            .where(
                TimelineEvent.beneficiary_id.in_(
                    following.where(GroupMembership.account_id == account_id)
                )
            )
            .group_by(TimelineEvent.beneficiary_id)
            .order_by(func.count().desc(), TimelineEvent.beneficiary_id)
            .limit(1)
        ).one()
        family_name = db_session.scalar(
            select(Beneficiary.family_name).where(Beneficiary.id == fullest[0])
        )
        officer_email, waiting = _officer(db_session, departement_id)
    db.session.remove()
    if not email or not family_name:
        raise BenchError("le référent mesuré n'a pas d'adresse e-mail pour se connecter.")
    return Subjects(
        departement_id=departement_id,
        referent_account_id=account_id,
        referent_email=email,
        portfolio_size=int(portfolio_size),
        record_id=fullest[0],
        record_events=int(fullest[1]),
        family_name=family_name,
        search_term=with_typo(family_name),
        officer_email=officer_email,
        waiting=waiting,
    )


def _officer(db_session: Any, departement_id: uuid.UUID) -> tuple[str | None, int]:
    """The e-mail of the département's chargé d'orientation, and how many people wait."""
    from carnet.auth.models import Account
    from carnet.orientation.models import Orientation
    from carnet.records.models import Beneficiary, Journey, RsaState
    from carnet.security.permissions import MembershipRole
    from carnet.tenancy.models import Membership

    email = db_session.scalar(
        select(Account.email)
        .join(Membership, Membership.account_id == Account.id)
        .where(
            Membership.departement_id == departement_id,
            Membership.role == MembershipRole.ORIENTATION_OFFICER,
            Membership.ended_at.is_(None),
        )
        .order_by(Account.email)
        .limit(1)
    )
    oriented = select(Orientation.id).where(
        Orientation.journey_id == Journey.id, Orientation.ends_on.is_(None)
    )
    waiting = db_session.scalar(
        select(func.count())
        .select_from(Journey)
        .join(Beneficiary, Beneficiary.id == Journey.beneficiary_id)
        .where(
            Journey.departement_id == departement_id,
            Journey.closed_on.is_(None),
            Beneficiary.is_subject_to_duties.is_(True),
            Beneficiary.rsa_state.in_([RsaState.OPEN, RsaState.SUSPENDED]),
            ~oriented.exists(),
        )
    )
    return email, int(waiting or 0)


def _warn_if_not_comparable(subjects: Subjects, echo: Echo) -> None:
    from carnet.demo.bulk import PORTFOLIO_SIZE

    if subjects.portfolio_size != PORTFOLIO_SIZE:
        echo(
            f"Attention : le plus grand portefeuille de ce département compte "
            f"{subjects.portfolio_size} personnes, pas {PORTFOLIO_SIZE} (département créé par "
            "une version antérieure de `carnet seed` ?) : ces chiffres ne se comparent pas aux "
            "autres. Créez-en un nouveau avec --departement-code."
        )


def _served(app: Flask, operation: Operation) -> bool:
    """Whether the application has a GET route for the operation (some come later)."""
    adapter = app.url_map.bind("bench.invalid")
    try:
        adapter.match(operation.route, method="GET")
    except HTTPException:
        return False
    return True


def _url(operation: Operation, subjects: Subjects) -> str:
    if operation is RECORD:
        return f"/personnes/{subjects.record_id}"
    if operation is SEARCH:
        return f"{SEARCH.route}?q={quote(subjects.search_term)}"
    return operation.route


# -- the browser --------------------------------------------------------------------------


class _Browser:
    """Flask's test client on the configured public address, keeping the session cookie.

    Each request runs in an empty context, as on a server: under the CLI's application
    context Flask would reuse it, sharing `g` (and what extensions cache there) between
    requests."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.client = FlaskClient(app, app.response_class, use_cookies=True)
        parts = urlsplit(settings.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"

    def get(self, url: str) -> Any:
        return contextvars.Context().run(self.client.get, url, base_url=self.origin)

    def submit(self, url: str, form_page: str, expected: int = 302) -> Any:
        """POST the form of `form_page` as a browser would: its CSRF token and a Referer."""
        page = self.expect(self.get(form_page), 200, form_page)
        match = CSRF_RE.search(page.get_data(as_text=True))
        if match is None:
            raise BenchError(f"pas de jeton CSRF dans le formulaire de {form_page}.")
        response = contextvars.Context().run(
            self.client.post,
            url,
            data={"csrf_token": match.group(1)},
            headers={"Referer": self.origin + form_page},
            base_url=self.origin,
        )
        return self.expect(response, expected, f"POST {url}")

    @staticmethod
    def expect(response: Any, status: int, what: str) -> Any:
        if response.status_code != status:
            raise BenchError(
                f"{what} a répondu {response.status_code} au lieu de {status} "
                f"({response.headers.get('Location') or 'sans redirection'})."
            )
        return response


def _log_in(browser: _Browser, settings: Settings, email: str) -> None:
    """The real e-mail link login: the service issues the link (its mail goes to a folder
    thrown away afterwards), the confirmation page's form is posted, the app opens the
    session. Other sessions of the account are closed, so the baseline reads one row."""
    from carnet.auth import services as auth_services

    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"{browser.origin}/connexion/lien/{token}"

    with tempfile.TemporaryDirectory(prefix="carnet-bench-mail-") as folder:
        quiet = replace(settings, smtp_url=None, mail_dir=Path(folder))
        with db.unit_of_work():
            auth_services.request_magic_link(settings=quiet, email=email, link_for=keep)
        db.session.remove()
    if not tokens:
        raise BenchError("aucun lien de connexion émis pour le référent mesuré.")
    link = f"/connexion/lien/{tokens[0]}"
    browser.submit(link, link)
    browser.submit("/mon-compte/sessions/deconnecter-les-autres", "/mon-compte/sessions")


def _measure(
    app: Flask,
    settings: Settings,
    subjects: Subjects,
    operations: list[Operation],
    samples: int,
    warmup: int,
    echo: Echo,
) -> list[Result]:
    browser = _Browser(app, settings)
    _log_in(browser, settings, subjects.referent_email)
    browsers = {False: browser}
    if any(op.as_officer for op in operations):
        if subjects.officer_email is None:
            raise BenchError("aucun chargé d'orientation dans ce département.")
        browsers[True] = _Browser(app, settings)
        _log_in(browsers[True], settings, subjects.officer_email)
    results = [Result(op, _url(op, subjects)) for op in operations]
    rng = random.Random(SHUFFLE_SEED)  # noqa: S311 - the order of requests, not a secret
    echo(
        f"Mesure : {warmup} tour(s) de chauffe puis {samples} requêtes par opération, entrelacées."
    )
    try:
        with _rate_limits(echo) as between_rounds:
            _check_search(browser, results, subjects, echo)
            for round_number in range(warmup + samples):
                between_rounds()
                order = list(results)
                rng.shuffle(order)
                for result in order:
                    client = browsers[result.operation.as_officer]
                    started = perf_counter()
                    response = client.get(result.url)
                    elapsed = perf_counter() - started
                    browser.expect(response, 200, f"{result.operation.label} (GET {result.url})")
                    if round_number >= warmup:
                        result.seconds.append(elapsed)
    except BenchError:
        for each in browsers.values():
            with contextlib.suppress(BenchError):  # the first failure is the one to tell
                each.submit("/deconnexion", "/mon-compte/sessions")
        raise
    for each in browsers.values():
        each.submit("/deconnexion", "/mon-compte/sessions")
    return results


def _check_search(browser: _Browser, results: list[Result], subjects: Subjects, echo: Echo) -> None:
    """Say so when the misspelt name does not find the person: the figure would then be
    that of a search finding nothing."""
    search = next((r for r in results if r.operation is SEARCH), None)
    if search is None:
        return
    response = browser.expect(browser.get(search.url), 200, f"{SEARCH.label} (GET {search.url})")
    if subjects.family_name not in html.unescape(response.get_data(as_text=True)):
        echo(
            f"Attention : la recherche « {subjects.search_term} » ne trouve pas "
            f"« {subjects.family_name} »."
        )


@contextlib.contextmanager
def _rate_limits(echo: Echo) -> Iterator[Callable[[], None]]:
    """Keep the search's rate limit (10 a minute per account) from answering 429.

    Counters kept in this process's memory are cleared between rounds, outside the
    timings, so the limiter's own cost stays measured. Counters shared with running
    servers (Redis) are neither spent nor cleared: the limiter is off for the run."""
    from limits.storage import MemoryStorage

    from carnet.extensions import limiter

    if not limiter.enabled:
        yield lambda: None
        return
    if isinstance(limiter.storage, MemoryStorage):
        echo(
            "Limites de fréquence actives ; leurs compteurs, en mémoire de ce processus, "
            "sont remis à zéro entre les tours."
        )
        yield limiter.reset
        return
    echo(
        "Limites de fréquence suspendues pendant la mesure : leurs compteurs sont partagés "
        "(REDIS_URL) ; leur coût n'est pas compté."
    )
    limiter.enabled = False
    try:
        yield lambda: None
    finally:
        limiter.enabled = True


# -- the report ---------------------------------------------------------------------------


def _verdict(result: Result, baseline: Result) -> str:
    if result.operation in (RECORD, PORTFOLIO, QUEUE):
        met = result.p95_ms <= RECORD_GOAL_RATIO * baseline.p95_ms
    elif result.operation is SEARCH:
        met = result.p95_ms < SEARCH_GOAL_MS
    else:
        return "—"
    return "atteint" if met else "NON ATTEINT"


def _print(
    results: list[Result],
    missing: list[Operation],
    subjects: Subjects,
    samples: int,
    warmup: int,
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
    echo: Echo,
) -> None:
    baseline = results[0]
    echo(
        f"Référent mesuré : {subjects.referent_email}, {subjects.portfolio_size} personnes "
        f"suivies ; carnet mesuré : {subjects.record_id} ({subjects.record_events} événements) ; "
        f"recherche : « {subjects.search_term} »."
    )
    echo(
        "Charge de la machine (1, 5, 15 min) : "
        + " → ".join(" / ".join(f"{value:.2f}" for value in load) for load in loads)
    )
    echo("")
    labels = {
        PORTFOLIO.key: f"{PORTFOLIO.label} ({subjects.portfolio_size} pers.)",
        QUEUE.key: f"{QUEUE.label} ({subjects.waiting} pers.)",
    }
    width = max(len(labels.get(r.operation.key, r.operation.label)) for r in results)
    echo(
        f"{'opération':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}  {'p95/réf.':>8}  "
        f"{'objectif':<12}  verdict"
    )
    for result in results:
        ratio = result.p95_ms / baseline.p95_ms if baseline.p95_ms else float("nan")
        echo(
            f"{labels.get(result.operation.key, result.operation.label):<{width}}  "
            f"{result.p50_ms:>8.1f}  {result.p95_ms:>8.1f}  {result.p99_ms:>8.1f}  "
            f"{f'{ratio:.1f}x':>8}  {result.operation.goal or '—':<12}  "
            f"{_verdict(result, baseline)}"
        )
    for operation in missing:
        echo(
            f"{operation.label} : non mesurée, l'application ne sert pas encore "
            f"GET {operation.route}."
        )
    echo(f"({samples} mesures par opération après {warmup} tour(s) de chauffe.)")
