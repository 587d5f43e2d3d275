"""Login: ProConnect, FranceConnect, e-mail links, activation codes, TOTP, demo picker."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("auth", __name__)
