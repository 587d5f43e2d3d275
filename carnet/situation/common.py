"""What the situation section and the health compartment share: the refusal of a stale
save, who declared a thing and who wrote it, the timeline event of a write, and the freins'
status workflow (a frein périphérique and a health frein move alike: identifié → en cours
→ levé, or identifié → levé, each with its date).

Imported by `carnet.situation.services` and `carnet.situation.health`, never the reverse.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from carnet import clock, db
from carnet.errors import Conflict, InvalidInput
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import Beneficiary
from carnet.referential.models import OarsaCategory
from carnet.referential.services import ThemeView
from carnet.security.principal import Principal
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    HealthBarrier,
    HealthNote,
)
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

STALE_MESSAGE = (
    "Quelqu'un d'autre a modifié cet élément pendant que vous le modifiiez : votre "
    "modification n'a pas été enregistrée. La version actuelle est affichée ci-dessous ; "
    "votre saisie est conservée dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
STALE_DIAGNOSTIC_MESSAGE = (
    "Une nouvelle version du diagnostic a été enregistrée pendant votre saisie : la vôtre "
    "n'a pas été enregistrée. Ce qui a changé est affiché ci-dessous ; votre saisie est "
    "conservée dans le formulaire. Relisez-la, puis enregistrez à nouveau."
)
FUTURE_DATE_MESSAGE = "Cette date est dans le futur : indiquez une date passée ou aujourd'hui."

_TRANSITIONS: dict[BarrierStatus, tuple[BarrierStatus, ...]] = {
    BarrierStatus.IDENTIFIED: (BarrierStatus.IN_PROGRESS, BarrierStatus.LIFTED),
    BarrierStatus.IN_PROGRESS: (BarrierStatus.LIFTED,),
    BarrierStatus.LIFTED: (),
}

# The rows that name their author (an account and its organisation).
Authored = Barrier | HealthBarrier | Diagnostic | HealthNote


class StaleEdit(Conflict):
    """The row changed since the form was loaded; nothing was saved."""

    def __init__(self, *, kind: str, object_id: uuid.UUID | None = None) -> None:
        message = STALE_DIAGNOSTIC_MESSAGE if kind == "diagnostic" else STALE_MESSAGE
        super().__init__(message, code="stale")
        self.kind = kind  # "diagnostic" | "barrier" | "health_barrier" | "rqth"
        self.object_id = object_id


# -- freins: what the forms give and what the pages receive -------------------------------------


@dataclass(frozen=True)
class BarrierData:
    """A new frein, or the edit of one (`version` set)."""

    label: str
    details: str | None
    theme_id: uuid.UUID | None = None  # freins périphériques only
    identified_on: date | None = None  # new freins only; today when left empty
    version: int | None = None


@dataclass(frozen=True)
class StatusChange:
    status: BarrierStatus
    on: date | None  # today when left empty
    version: int


@dataclass(frozen=True)
class BarrierView:
    id: uuid.UUID
    label: str
    details: str | None
    status: BarrierStatus
    identified_on: date
    in_progress_on: date | None
    lifted_on: date | None
    declared_by: Declarant
    author_label: str
    created_at: datetime
    updated_at: datetime
    version: int
    theme_id: uuid.UUID | None = None  # freins périphériques only
    theme_label: str = ""

    @property
    def next_statuses(self) -> list[BarrierStatus]:
        return list(_TRANSITIONS[self.status])


def barriers_in(barriers: Iterable[BarrierView], status: BarrierStatus | str) -> list[BarrierView]:
    wanted = BarrierStatus(status)
    return [b for b in barriers if b.status is wanted]


# -- who, when ----------------------------------------------------------------------------------


def declarant(actor: Principal) -> Declarant:
    return Declarant.PERSON if actor.is_beneficiary else Declarant.PROFESSIONAL


def journey_id_of(person: Beneficiary) -> uuid.UUID | None:
    journey = person.current_journey
    return journey.id if journey else None


def is_health_theme(theme: ThemeView) -> bool:
    """Themes whose statistical category is health belong to the compartment, never to the
    situation."""
    return theme.oarsa_category is OarsaCategory.SANTE


def authors_of(
    actor: Principal, person: Beneficiary, rows: Iterable[Authored]
) -> tenancy.AuthorLabels:
    """The labels of who wrote these rows, loaded at once."""
    pairs = [(row.author_account_id, row.author_organisation_id) for row in rows]
    return tenancy.AuthorLabels(actor, person.account_id, pairs)


# -- writes -------------------------------------------------------------------------------------


def add_timeline_event(access: RecordAccess, kind: str, **details: str) -> None:
    """The event of a write, in the same transaction; ids and codes only in `details`."""
    records.add_event(access, kind, journey_id_of(access.beneficiary), details)


def flush_or_stale(kind: str, object_id: uuid.UUID | None) -> None:
    """The version counter (or a unique index) is checked again by the write itself: two
    saves at the same instant cannot both pass."""
    try:
        db.session().flush()
    except (StaleDataError, IntegrityError):
        log.info("stale save refused kind=%s object=%s", kind, object_id)
        raise StaleEdit(kind=kind, object_id=object_id) from None


def check_past(on: date, field_name: str) -> None:
    if on > clock.today():
        raise InvalidInput(FUTURE_DATE_MESSAGE, fields={field_name: [FUTURE_DATE_MESSAGE]})


# -- the freins' workflow -----------------------------------------------------------------------


def barrier_view(
    row: Barrier | HealthBarrier,
    authors: tenancy.AuthorLabels,
    *,
    label: str,
    details: str | None,
    theme_id: uuid.UUID | None = None,
    theme_label: str = "",
) -> BarrierView:
    """A frein as the pages show it; its text is given (a health frein's is sealed)."""
    return BarrierView(
        id=row.id,
        label=label,
        details=details,
        status=BarrierStatus(row.status),
        identified_on=row.identified_on,
        in_progress_on=row.in_progress_on,
        lifted_on=row.lifted_on,
        declared_by=Declarant(row.declared_by),
        author_label=authors.label(row.author_account_id, row.author_organisation_id),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        theme_id=theme_id,
        theme_label=theme_label,
    )


def move_barrier(row: Barrier | HealthBarrier, change: StatusChange) -> date:
    """Apply a status change to a frein, or refuse it with a French message. Returns the
    date of the new status."""
    current = BarrierStatus(row.status)
    target = change.status
    if target is current:
        message = "Ce frein a déjà ce statut : choisissez le statut suivant."
        raise InvalidInput.on("status", message)
    if target not in _TRANSITIONS[current]:
        if current is BarrierStatus.LIFTED:
            message = (
                "Ce frein est levé : son statut ne change plus. S'il se présente de nouveau, "
                "notez-le comme un nouveau frein."
            )
        else:
            message = (
                "Un frein en cours ne revient pas au statut « identifié » : il peut seulement "
                "être levé."
            )
        raise InvalidInput.on("status", message)
    on = change.on or clock.today()
    check_past(on, "on")
    floor = row.in_progress_on or row.identified_on
    if on < floor:
        message = (
            f"Cette date précède celle du statut précédent ({floor:%d/%m/%Y}) : "
            "indiquez une date égale ou postérieure."
        )
        raise InvalidInput.on("on", message)
    row.status = target
    if target is BarrierStatus.IN_PROGRESS:
        row.in_progress_on = on
    else:
        row.lifted_on = on
    return on
