"""Domain errors raised by services; `carnet.web` maps them to French pages and JSON problems."""

from __future__ import annotations


class CarnetError(Exception):
    """Base of the errors a user may meet; `message` is French and safe to show."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(CarnetError):
    status = 404
    code = "not_found"


class Denied(CarnetError):
    status = 403
    code = "denied"


class Conflict(CarnetError):
    status = 409
    code = "conflict"


class InvalidInput(CarnetError):
    status = 422
    code = "invalid_input"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        """A refusal about one field of the form, shown beside it."""
        return cls(message, fields={field: [message]})


class Unavailable(CarnetError):
    """A dependency the request needs (the audit log, the database) failed: fail closed."""

    status = 503
    code = "unavailable"
