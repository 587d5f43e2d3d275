"""Server-side sessions: the cookie holds only a random id; the row holds the rest.

Limits: 30 minutes idle, 12 hours absolute. The id is regenerated at every
authentication step (`regenerate`), the row is deleted at logout, and every session of
an account is deleted when the account is disabled (`revoke_account`). Rows past a limit
(every anonymous visit of the login page leaves one, for its CSRF token) are deleted by
`purge_expired_sessions` (`carnet sessions purge`, to run from cron). The cookie is
`__Host-carnet`, Secure, HttpOnly, SameSite=Lax, with no Domain; only the demo served
on plain http://127.0.0.1 may drop the prefix and Secure.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import ForeignKey, LargeBinary, delete, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.datastructures import CallbackDict

from carnet import clock, db
from carnet.db import Base

SECURE_COOKIE = "__Host-carnet"
DEMO_COOKIE = "carnet_demo"
IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=12)
# Writing last_seen_at on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(seconds=60)


class ServerSessionRecord(Base):
    __tablename__ = "server_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.now)
    user_agent: Mapped[str | None]


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The session dict; changes mark it modified, `regenerate()` asks for a new id."""

    def __init__(
        self, initial: dict[str, Any] | None = None, session_id: str | None = None
    ) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.session_id = session_id
        self.modified = False
        self.must_regenerate = False
        self.is_revoked = False
        self.created_at: datetime = clock.now()
        self.last_seen_at: datetime = clock.now()

    def regenerate(self) -> None:
        """A new id after an authentication step; the old one stops working."""
        self.must_regenerate = True
        self.modified = True

    def revoke(self) -> None:
        """Logout: delete the row; the cookie is cleared."""
        self.clear()
        self.is_revoked = True
        self.modified = True


class ServerSessionInterface(SessionInterface):
    def __init__(self, *, secure: bool, idle: timedelta, absolute: timedelta) -> None:
        self.secure = secure
        self.cookie_name = SECURE_COOKIE if secure else DEMO_COOKIE
        self.idle = idle
        self.absolute = absolute

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        session_id = request.cookies.get(self.cookie_name)
        if not session_id:
            return ServerSession()
        db_session = db.session()
        record = db_session.get(ServerSessionRecord, _hash(session_id))
        now = clock.now()
        if record is None:
            return ServerSession()
        if now - record.last_seen_at > self.idle or now - record.created_at > self.absolute:
            db_session.delete(record)
            db_session.commit()
            fresh = ServerSession()
            fresh["expired"] = True
            return fresh
        session = ServerSession(dict(record.data), session_id)
        session.modified = False
        session.created_at = record.created_at
        session.last_seen_at = record.last_seen_at
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)  # noqa: S101 - installed by this module only
        db_session = db.session()
        now = clock.now()
        if session.is_revoked or (not session and session.session_id):
            if session.session_id:
                db_session.execute(
                    delete(ServerSessionRecord).where(
                        ServerSessionRecord.id_hash == _hash(session.session_id)
                    )
                )
                db_session.commit()
            response.delete_cookie(
                self.cookie_name, path="/", secure=self.secure, httponly=True, samesite="Lax"
            )
            return
        if not session:
            return
        touch = now - session.last_seen_at > TOUCH_EVERY
        if not (session.modified or touch or session.session_id is None):
            return
        if session.must_regenerate and session.session_id:
            db_session.execute(
                delete(ServerSessionRecord).where(
                    ServerSessionRecord.id_hash == _hash(session.session_id)
                )
            )
            session.session_id = None
            session.created_at = now
        is_new = session.session_id is None
        session_id = session.session_id or secrets.token_urlsafe(32)
        session.session_id = session_id
        record = None if is_new else db_session.get(ServerSessionRecord, _hash(session_id))
        if record is None:
            record = ServerSessionRecord(id_hash=_hash(session_id), created_at=session.created_at)
            db_session.add(record)
        record.data = dict(session)
        record.account_id = _account_id(session)
        record.last_seen_at = now
        db_session.commit()
        if is_new:
            response.set_cookie(
                self.cookie_name,
                session_id,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="Lax",
            )


def _account_id(session: ServerSession) -> uuid.UUID | None:
    value = session.get("account_id")
    return uuid.UUID(value) if value else None


def revoke_account(db_session: Session, account_id: uuid.UUID) -> int:
    """End every session of an account (disabled account, « déconnecter partout »)."""
    result = db_session.execute(
        delete(ServerSessionRecord).where(ServerSessionRecord.account_id == account_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_sessions(
    db_session: Session, *, idle: timedelta = IDLE_LIMIT, absolute: timedelta = ABSOLUTE_LIMIT
) -> int:
    """Delete the rows `open_session` would refuse (idle or too old); returns how many."""
    now = clock.now()
    result = db_session.execute(
        delete(ServerSessionRecord).where(
            or_(
                ServerSessionRecord.last_seen_at < now - idle,
                ServerSessionRecord.created_at < now - absolute,
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_account_sessions(db_session: Session, account_id: uuid.UUID) -> list[ServerSessionRecord]:
    return list(
        db_session.scalars(
            select(ServerSessionRecord)
            .where(ServerSessionRecord.account_id == account_id)
            .order_by(ServerSessionRecord.last_seen_at.desc())
        )
    )


def install(app: Flask, *, secure: bool, idle_minutes: int, absolute_hours: int) -> None:
    app.session_interface = ServerSessionInterface(
        secure=secure,
        idle=timedelta(minutes=idle_minutes),
        absolute=timedelta(hours=absolute_hours),
    )
