"""Input of the home page's forms."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, post_load

from carnet.records.schemas import FormSchema


@dataclass(frozen=True)
class MarkRead:
    notification_id: uuid.UUID | None  # None: every unread notification


class MarkReadInput(FormSchema):
    notification_id = fields.UUID(
        load_default=None,
        error_messages={"invalid_uuid": "Cette notification n'est pas reconnue."},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> MarkRead:
        return MarkRead(data["notification_id"])
