"""The workspace pages: parse, call one service, render. No query, no commit.

`/accompagnements` shows a structure admin the structure's caseload and everyone else his
or her own portfolio: choosing the page from the active role is routing, as the home
does; each service authorizes what it lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_limiter.errors import RateLimitExceeded

from carnet.errors import Denied, InvalidInput
from carnet.extensions import limiter
from carnet.security.permissions import PrincipalRole
from carnet.security.principal import Principal
from carnet.web import require_principal
from carnet.workspace import schemas, services

blueprint = Blueprint("workspace", __name__)

# Searches per account: enough to find the people one meets, too few to walk through
# names, CAF numbers or NIRs looking for who is in the file.
SEARCH_ACCOUNT_LIMIT = "10 per minute;100 per day"
NIR_BY_GET = (
    "Par sécurité, un NIR se recherche depuis le formulaire de cette page : il ne doit pas "
    "figurer dans l'adresse d'une page."
)


# -- the search ------------------------------------------------------------------------------


def _search_key() -> str:
    """The searching account (every role of one person shares the quota)."""
    principal = require_principal()
    return f"find:{principal.account_id or request.remote_addr}"


def _not_a_search() -> bool:
    """The page opened without a query: nothing searched, nothing counted."""
    return request.method == "GET" and "q" not in request.args


def _searched(response: Response) -> bool:
    """Only a search that ran counts against the quota (not a query refused as too short)."""
    return response.status_code == 200


@blueprint.errorhandler(RateLimitExceeded)
def _too_many_searches(error: RateLimitExceeded) -> Any:
    """The search quota is spent: say which limits hold (the generic page says a minute)."""
    message = (
        "Vous avez lancé trop de recherches en peu de temps : au plus 10 par minute et 100 "
        "par jour. Ces limites protègent les personnes contre les recherches au hasard. "
        "Patientez avant de réessayer."
    )
    page = render_template(
        "errors/error.html", status=429, title="Trop de recherches", message=message
    )
    return page, 429


def _typed(source: Mapping[str, str]) -> str:
    """What to put back in the box: the words typed, never an identifier (a NIR stays out
    of the page)."""
    text = str(source.get("q", "")).strip()
    return "" if any(c.isdigit() for c in text) else text[: schemas.QUERY_MAX]


@blueprint.route("/recherche", methods=["GET", "POST"])
@limiter.limit(
    SEARCH_ACCOUNT_LIMIT,
    key_func=_search_key,
    exempt_when=_not_a_search,
    deduct_when=_searched,
)
def search() -> Any:
    actor = require_principal()
    if not services.may_search(actor):
        raise Denied(services.SEARCH_DENIED)
    if _not_a_search():
        return render_template("workspace/search.html", found=None, errors={}, values={})
    source = request.form if request.method == "POST" else request.args
    try:
        query: schemas.SearchQuery = schemas.parse(schemas.SearchInput(), source)
    except InvalidInput as error:
        values = {"q": _typed(source)}
        return render_template(
            "workspace/search.html", found=None, errors=error.fields, values=values
        ), 422
    if query.kind is schemas.SearchKind.NIR and request.method == "GET":
        return render_template(
            "workspace/search.html", found=None, errors={"q": [NIR_BY_GET]}, values={}
        ), 422
    found = services.search_people(actor=actor, query=query)
    return render_template(
        "workspace/search.html", found=found, errors={}, values={"q": _typed(source)}
    )


# -- « Mes accompagnements » -----------------------------------------------------------------


def _portfolio(actor: Principal) -> Any:
    try:
        filters: schemas.PortfolioFilters = schemas.parse(
            schemas.PortfolioFilterInput(), request.args
        )
        portfolio = services.get_portfolio(actor=actor, filters=filters)
    except InvalidInput as error:
        # The filters come back as typed, with the message; the list as unfiltered.
        portfolio = services.get_portfolio(actor=actor)
        errors: dict[str, list[str]] = {}
        for name, messages in error.fields.items():
            errors.setdefault(schemas.FILTER_FIELDS.get(name, "_form"), []).extend(messages)
        values = {key: value for key, value in request.args.items() if key != "page"}
        return render_template(
            "workspace/portfolio.html", portfolio=portfolio, errors=errors, values=values
        ), 422
    values = portfolio.filters.query_args()
    return render_template(
        "workspace/portfolio.html", portfolio=portfolio, errors={}, values=values
    )


def _caseload(actor: Principal) -> Any:
    return render_template("workspace/caseload.html", caseload=services.get_caseload(actor=actor))


_PAGES: dict[PrincipalRole, Callable[[Principal], Any]] = {
    PrincipalRole.STRUCTURE_ADMIN: _caseload,
}


@blueprint.get("/accompagnements")
def portfolio() -> Any:
    actor = require_principal()
    return _PAGES.get(actor.role, _portfolio)(actor)
