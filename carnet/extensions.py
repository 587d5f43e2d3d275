"""Unbound Flask extensions, initialised by the app factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
# Storage is set per app: Redis when REDIS_URL is configured (shared across workers).
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
