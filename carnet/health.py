"""`GET /healthz`: is the database answering?"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from carnet import db
from carnet.web import public

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public
def healthz() -> Any:
    try:
        db.session().execute(text("SELECT 1"))
        dialect = db.session().get_bind().dialect.name
    except SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok", engine=dialect)
