"""The health compartment and its consents: the only readers and writers of a person's
health freins, RQTH, health notes and health consents.

Every entry point opens the record through `carnet.records.gate` (scope, policy on the
`health` or `group` section, audit row in the caller's transaction) before it reads or
writes anything, and never commits. Writes add a timeline event holding ids and codes
only. Who declared something (the person or a professional) comes from the actor.

- The compartment is sealed under the person's data key; it is opened only after the
  policy allowed `health:read` (health structures of the group, organisations the person
  named in a consent in force, the person). Themes of the referential whose statistical
  category is health belong here, never to the situation.
- Health freins, like freins périphériques, carry a version (a stale save is refused with
  `StaleEdit`) and a status that only moves forward (`carnet.situation.common`).
- Consents: the person gives or withdraws them from his or her space; a professional who
  may manage the follow-up group records one given in person (« mode accompagné »). The
  gate reads consents on every request, so a withdrawal takes effect at once.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select

from carnet import clock, db
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.records import gate
from carnet.records import services as records
from carnet.records.gate import RecordAccess
from carnet.records.models import (
    Beneficiary,
    Consent,
    ConsentScope,
    GroupMembership,
    Journey,
)
from carnet.referential import services as referential
from carnet.referential.models import EntryKind
from carnet.security import crypto, matrix
from carnet.security.permissions import GroupRole, Level, OrganisationKind, Relation, Section
from carnet.security.principal import Principal
from carnet.situation.common import (
    BarrierData,
    BarrierView,
    StaleEdit,
    StatusChange,
    add_timeline_event,
    authors_of,
    barrier_view,
    barriers_in,
    check_past,
    declarant,
    flush_or_stale,
    is_health_theme,
    journey_id_of,
    move_barrier,
)
from carnet.situation.models import (
    BarrierStatus,
    HealthBarrier,
    HealthNote,
    RqthRecord,
    RqthStatus,
)
from carnet.tenancy import services as tenancy

log = logging.getLogger(__name__)

# Where sealed fields live; sealing and opening must name the same place (AAD).
HEALTH_BARRIER_TABLE = "health_barriers"
HEALTH_LABEL_COLUMN = "label_sealed"
HEALTH_DETAILS_COLUMN = "details_sealed"
RQTH_TABLE = "rqth_records"
RQTH_COLUMN = "details_sealed"
HEALTH_NOTE_TABLE = "health_notes"
HEALTH_NOTE_COLUMN = "body_sealed"
HEALTH_NOTES_LIMIT = 200


class Tag(StrEnum):
    """Audit tags of the health compartment and its consents (`domain:subject:action`)."""

    CONSENT_GRANTED = "health:consent:granted"
    CONSENT_GRANTED_IN_PERSON = "health:consent:granted_in_person"
    CONSENT_WITHDRAWN = "health:consent:withdrawn"
    CONSENT_WITHDRAWN_IN_PERSON = "health:consent:withdrawn_in_person"
    CONSENTS_READ = "health:consents:read"
    HEALTH_BARRIER_ADDED = "health:barrier:added"
    HEALTH_BARRIER_READ = "health:barrier:read"
    HEALTH_BARRIER_STATUS_CHANGED = "health:barrier:status_changed"
    HEALTH_BARRIER_UPDATED = "health:barrier:updated"
    HEALTH_NOTE_ADDED = "health:note:added"
    HEALTH_READ = "health:compartment:read"
    RQTH_UPDATED = "health:rqth:updated"


class Event(StrEnum):
    """Timeline kinds written by this module (labelled in `records.services.EVENT_LABELS`).

    Kinds starting with `health:` are health data: the history shows them only to those
    who may read the health compartment."""

    CONSENT_GRANTED = "records:consent:granted"
    CONSENT_GRANTED_ACCOMPANIED = "records:consent:granted_accompanied"
    CONSENT_WITHDRAWN = "records:consent:withdrawn"
    CONSENT_WITHDRAWN_ACCOMPANIED = "records:consent:withdrawn_accompanied"
    HEALTH_BARRIER_ADDED = "health:barrier:added"
    HEALTH_BARRIER_LIFTED = "health:barrier:lifted"
    HEALTH_BARRIER_STARTED = "health:barrier:started"
    HEALTH_BARRIER_UPDATED = "health:barrier:updated"
    HEALTH_NOTE_ADDED = "health:note:added"
    RQTH_UPDATED = "health:rqth:updated"


class ConsentMode(StrEnum):
    AUTONOMOUS = "autonome"  # the person, from his or her space
    ACCOMPANIED = "accompagne"  # recorded by a professional, the person present


class HealthAccess(StrEnum):
    """How an organisation of the group stands to the health compartment."""

    CONSENT = "consent"  # reads it only with the person's consent
    NONE = "none"  # no access, whatever the consent (its role has no health remit)
    REMIT = "remit"  # a health structure: reads and writes it by its mission


# The event of each status a frein may move to (`move_barrier` refuses any other).
_STATUS_EVENTS = {
    BarrierStatus.IN_PROGRESS: Event.HEALTH_BARRIER_STARTED,
    BarrierStatus.LIFTED: Event.HEALTH_BARRIER_LIFTED,
}
# The audit tag and the timeline event of a consent change, by (grant, mode).
_CONSENT_TAGS = {
    (True, ConsentMode.AUTONOMOUS): Tag.CONSENT_GRANTED,
    (False, ConsentMode.AUTONOMOUS): Tag.CONSENT_WITHDRAWN,
    (True, ConsentMode.ACCOMPANIED): Tag.CONSENT_GRANTED_IN_PERSON,
    (False, ConsentMode.ACCOMPANIED): Tag.CONSENT_WITHDRAWN_IN_PERSON,
}
_CONSENT_EVENTS = {
    (True, ConsentMode.AUTONOMOUS): Event.CONSENT_GRANTED,
    (False, ConsentMode.AUTONOMOUS): Event.CONSENT_WITHDRAWN,
    (True, ConsentMode.ACCOMPANIED): Event.CONSENT_GRANTED_ACCOMPANIED,
    (False, ConsentMode.ACCOMPANIED): Event.CONSENT_WITHDRAWN_ACCOMPANIED,
}


# -- what the forms give (built by the input schemas) -------------------------------------------


@dataclass(frozen=True)
class RqthChange:
    status: RqthStatus
    requested_on: date | None
    valid_until: date | None
    version: int  # 0 when nothing was recorded yet


# -- what the pages receive -----------------------------------------------------------------


@dataclass(frozen=True)
class RqthView:
    status: RqthStatus
    requested_on: date | None
    valid_until: date | None
    updated_at: datetime | None
    author_label: str | None
    version: int  # 0 when nothing was recorded yet


@dataclass(frozen=True)
class HealthNoteView:
    id: uuid.UUID
    body: str
    author_label: str
    created_at: datetime


@dataclass(frozen=True)
class HealthPage:
    access: RecordAccess
    person: Beneficiary
    barriers: list[BarrierView]
    rqth: RqthView
    notes: list[HealthNoteView]
    suggestions: list[str]  # the health situations of the referential

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.HEALTH, Level.WRITE)

    def barriers_in(self, status: BarrierStatus | str) -> list[BarrierView]:
        return barriers_in(self.barriers, status)


@dataclass(frozen=True)
class HealthBarrierPage:
    access: RecordAccess
    person: Beneficiary
    barrier: BarrierView
    suggestions: list[str]

    @property
    def can_write(self) -> bool:
        return self.access.can(Section.HEALTH, Level.WRITE)


@dataclass(frozen=True)
class ConsentLine:
    organisation_id: uuid.UUID
    label: str
    health_access: HealthAccess
    in_group: bool
    granted_at: datetime | None  # the consent in force, if any
    recorded_in_person: bool = False

    @property
    def has_consent(self) -> bool:
        return self.granted_at is not None


@dataclass(frozen=True)
class ConsentsPage:
    access: RecordAccess
    person: Beneficiary
    lines: list[ConsentLine]

    @property
    def is_own(self) -> bool:
        return self.access.decision.relation is Relation.OWN_RECORD

    @property
    def can_change(self) -> bool:
        """The person on his or her own record, or a professional who manages the group."""
        return self.is_own or self.access.can(Section.GROUP, Level.WRITE)


@dataclass(frozen=True)
class ConsentChange:
    organisation_label: str
    granted: bool
    mode: ConsentMode


# -- sealed text --------------------------------------------------------------------------------


def _seal(person: Beneficiary, table: str, column: str, row_id: uuid.UUID, text: str) -> bytes:
    return crypto.current().seal(
        db.session(),
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table=table,
        column=column,
        row_id=row_id,
        plaintext=text,
    )


def _unseal(
    person: Beneficiary, table: str, column: str, row_id: uuid.UUID, sealed: bytes, what: str
) -> str:
    return records.open_sealed(
        person.id, table=table, column=column, row_id=row_id, sealed=sealed, what=what
    )


def _health_suggestions(departement_id: uuid.UUID) -> list[str]:
    return [
        entry.label
        for theme in referential.list_themes(departement_id)
        if is_health_theme(theme)
        for entry in theme.of_kind(EntryKind.SITUATION)
    ]


# -- health freins ------------------------------------------------------------------------------


def _barrier_text(person: Beneficiary, row: HealthBarrier) -> tuple[str, str | None]:
    """A health frein's label and details, opened."""
    label = _unseal(
        person, HEALTH_BARRIER_TABLE, HEALTH_LABEL_COLUMN, row.id, row.label_sealed, "ce frein"
    )
    details = None
    if row.details_sealed is not None:
        details = _unseal(
            person,
            HEALTH_BARRIER_TABLE,
            HEALTH_DETAILS_COLUMN,
            row.id,
            row.details_sealed,
            "ce frein",
        )
    return label, details


def _seal_barrier_text(person: Beneficiary, row: HealthBarrier, data: BarrierData) -> None:
    row.label_sealed = _seal(person, HEALTH_BARRIER_TABLE, HEALTH_LABEL_COLUMN, row.id, data.label)
    row.details_sealed = (
        _seal(person, HEALTH_BARRIER_TABLE, HEALTH_DETAILS_COLUMN, row.id, data.details)
        if data.details
        else None
    )


def _barrier_view(
    person: Beneficiary, row: HealthBarrier, authors: tenancy.AuthorLabels
) -> BarrierView:
    label, details = _barrier_text(person, row)
    return barrier_view(row, authors, label=label, details=details)


def _barrier_row(access: RecordAccess, barrier_id: uuid.UUID) -> HealthBarrier:
    row = db.session().scalar(
        select(HealthBarrier).where(
            HealthBarrier.id == barrier_id,
            HealthBarrier.beneficiary_id == access.beneficiary.id,
        )
    )
    if row is None:
        raise NotFound("Ce frein n'existe pas dans le volet santé de ce carnet.")
    return row


# -- the RQTH -----------------------------------------------------------------------------------


def _rqth_row(person: Beneficiary) -> RqthRecord | None:
    return db.session().scalar(select(RqthRecord).where(RqthRecord.beneficiary_id == person.id))


def _rqth_fields(
    person: Beneficiary, row: RqthRecord
) -> tuple[RqthStatus, date | None, date | None]:
    """The recorded status and dates, opened."""
    payload = json.loads(
        _unseal(person, RQTH_TABLE, RQTH_COLUMN, row.id, row.details_sealed, "la RQTH")
    )

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return (
        RqthStatus(payload["status"]),
        day(payload.get("requested_on")),
        day(payload.get("valid_until")),
    )


def _rqth_payload(change: RqthChange) -> str:
    return json.dumps(
        {
            "status": change.status.value,
            "requested_on": change.requested_on.isoformat() if change.requested_on else None,
            "valid_until": change.valid_until.isoformat() if change.valid_until else None,
        },
        sort_keys=True,
    )


def _rqth_view(person: Beneficiary, row: RqthRecord | None, actor: Principal) -> RqthView:
    if row is None:
        return RqthView(RqthStatus.NONE, None, None, None, None, 0)
    status, requested_on, valid_until = _rqth_fields(person, row)
    authors = tenancy.AuthorLabels(
        actor, person.account_id, [(row.updated_by_account_id, row.updated_by_organisation_id)]
    )
    return RqthView(
        status=status,
        requested_on=requested_on,
        valid_until=valid_until,
        updated_at=row.updated_at,
        author_label=authors.label(row.updated_by_account_id, row.updated_by_organisation_id),
        version=row.version,
    )


# -- reads --------------------------------------------------------------------------------------


def _note_view(
    person: Beneficiary, row: HealthNote, authors: tenancy.AuthorLabels
) -> HealthNoteView:
    return HealthNoteView(
        id=row.id,
        body=_unseal(
            person, HEALTH_NOTE_TABLE, HEALTH_NOTE_COLUMN, row.id, row.body_sealed, "cette note"
        ),
        author_label=authors.label(row.author_account_id, row.author_organisation_id),
        created_at=row.created_at,
    )


def get_health(*, actor: Principal, beneficiary_id: uuid.UUID) -> HealthPage:
    """The compartment for those the policy lets read it: freins, RQTH and notes, opened."""
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.HEALTH, tag=Tag.HEALTH_READ
    )
    person = access.beneficiary
    db_session = db.session()
    barriers = list(
        db_session.scalars(
            select(HealthBarrier)
            .where(HealthBarrier.beneficiary_id == person.id)
            .order_by(HealthBarrier.identified_on.desc(), HealthBarrier.created_at.desc())
        )
    )
    notes = list(
        db_session.scalars(
            select(HealthNote)
            .where(HealthNote.beneficiary_id == person.id)
            .order_by(HealthNote.created_at.desc(), HealthNote.id)
            .limit(HEALTH_NOTES_LIMIT)
        )
    )
    authors = authors_of(actor, person, [*barriers, *notes])
    return HealthPage(
        access=access,
        person=person,
        barriers=[_barrier_view(person, row, authors) for row in barriers],
        rqth=_rqth_view(person, _rqth_row(person), actor),
        notes=[_note_view(person, row, authors) for row in notes],
        suggestions=_health_suggestions(person.departement_id),
    )


def get_health_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID
) -> HealthBarrierPage:
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        tag=Tag.HEALTH_BARRIER_READ,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    person = access.beneficiary
    return HealthBarrierPage(
        access=access,
        person=person,
        barrier=_barrier_view(person, row, authors_of(actor, person, [row])),
        suggestions=_health_suggestions(person.departement_id),
    )


# -- writes -------------------------------------------------------------------------------------


def add_health_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, data: BarrierData
) -> uuid.UUID:
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        level=Level.WRITE,
        tag=Tag.HEALTH_BARRIER_ADDED,
        object_id=new_id,
    )
    person = access.beneficiary
    identified_on = data.identified_on or clock.today()
    check_past(identified_on, "identified_on")
    row = HealthBarrier(
        id=new_id,
        departement_id=person.departement_id,
        beneficiary_id=person.id,
        journey_id=journey_id_of(person),
        status=BarrierStatus.IDENTIFIED,
        identified_on=identified_on,
        declared_by=declarant(actor),
        author_account_id=actor.account_id,
        author_organisation_id=actor.organisation_id,
    )
    _seal_barrier_text(person, row, data)
    db.session().add(row)
    db.session().flush()
    add_timeline_event(access, Event.HEALTH_BARRIER_ADDED, barrier_id=str(new_id))
    return new_id


def update_health_barrier(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, data: BarrierData
) -> bool:
    """Save a health frein edited from the version `data.version`; a stale one is refused.
    Returns whether anything changed."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        level=Level.WRITE,
        tag=Tag.HEALTH_BARRIER_UPDATED,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    if data.version != row.version:
        raise StaleEdit(kind="health_barrier", object_id=row.id)
    person = access.beneficiary
    label, details = _barrier_text(person, row)
    if label == data.label and (details or None) == (data.details or None):
        return False
    _seal_barrier_text(person, row, data)
    flush_or_stale("health_barrier", row.id)
    add_timeline_event(access, Event.HEALTH_BARRIER_UPDATED, barrier_id=str(row.id))
    return True


def change_health_barrier_status(
    *, actor: Principal, beneficiary_id: uuid.UUID, barrier_id: uuid.UUID, change: StatusChange
) -> BarrierStatus:
    """Move a health frein forward (en cours, levé) on a date; an invalid move is refused."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        level=Level.WRITE,
        tag=Tag.HEALTH_BARRIER_STATUS_CHANGED,
        object_id=barrier_id,
    )
    row = _barrier_row(access, barrier_id)
    if change.version != row.version:
        raise StaleEdit(kind="health_barrier", object_id=row.id)
    on = move_barrier(row, change)
    flush_or_stale("health_barrier", row.id)
    add_timeline_event(
        access, _STATUS_EVENTS[change.status], barrier_id=str(row.id), on=on.isoformat()
    )
    return change.status


def update_rqth(*, actor: Principal, beneficiary_id: uuid.UUID, change: RqthChange) -> None:
    """Record the RQTH status and its dates, sealed; a stale save is refused."""
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        level=Level.WRITE,
        tag=Tag.RQTH_UPDATED,
    )
    person = access.beneficiary
    row = _rqth_row(person)
    if change.version != (row.version if row is not None else 0):
        raise StaleEdit(kind="rqth", object_id=row.id if row is not None else None)
    if change.requested_on is not None:
        check_past(change.requested_on, "requested_on")
    if row is not None:
        if _rqth_fields(person, row) == (change.status, change.requested_on, change.valid_until):
            return
        row.details_sealed = _seal(person, RQTH_TABLE, RQTH_COLUMN, row.id, _rqth_payload(change))
    else:
        # Sealed before it joins the session: sealing may flush, and the row needs its text.
        row = RqthRecord(
            id=uuid.uuid4(), departement_id=person.departement_id, beneficiary_id=person.id
        )
        row.details_sealed = _seal(person, RQTH_TABLE, RQTH_COLUMN, row.id, _rqth_payload(change))
        db.session().add(row)
    row.updated_at = clock.now()
    row.updated_by_account_id = actor.account_id
    row.updated_by_organisation_id = actor.organisation_id
    flush_or_stale("rqth", row.id)
    add_timeline_event(access, Event.RQTH_UPDATED, rqth_id=str(row.id))


def add_health_note(*, actor: Principal, beneficiary_id: uuid.UUID, body: str) -> uuid.UUID:
    """A health partner's note, sealed before it is stored."""
    new_id = uuid.uuid4()
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        level=Level.WRITE,
        tag=Tag.HEALTH_NOTE_ADDED,
        object_id=new_id,
    )
    if actor.account_id is None:  # pragma: no cover - the policy lets only members write
        raise Denied("Seul un professionnel de santé du groupe de suivi peut écrire une note.")
    person = access.beneficiary
    db.session().add(
        HealthNote(
            id=new_id,
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            author_account_id=actor.account_id,
            author_organisation_id=actor.organisation_id,
            body_sealed=_seal(person, HEALTH_NOTE_TABLE, HEALTH_NOTE_COLUMN, new_id, body),
            created_at=clock.now(),
        )
    )
    db.session().flush()
    add_timeline_event(access, Event.HEALTH_NOTE_ADDED, note_id=str(new_id))
    return new_id


# -- consents -----------------------------------------------------------------------------------


def _health_access(kind: OrganisationKind, roles: Iterable[GroupRole]) -> HealthAccess:
    """What the matrix gives an organisation on the health compartment, by its roles."""
    best = HealthAccess.NONE
    for role in roles:
        if matrix.group_level(kind, role, Section.HEALTH) >= Level.READ:
            return HealthAccess.REMIT
        if Section.HEALTH in matrix.CONSENT_GATED.get((kind, role), frozenset()):
            best = HealthAccess.CONSENT
    return best


def _consents_in_force(person: Beneficiary) -> list[Consent]:
    return list(
        db.session().scalars(
            select(Consent)
            .where(
                Consent.beneficiary_id == person.id,
                Consent.scope == ConsentScope.HEALTH,
                Consent.withdrawn_at.is_(None),
            )
            .order_by(Consent.granted_at)
        )
    )


def _group_roles(person: Beneficiary) -> dict[uuid.UUID, set[GroupRole]]:
    """The roles of each organisation in the person's active follow-up group."""
    roles: dict[uuid.UUID, set[GroupRole]] = {}
    rows = db.session().execute(
        select(GroupMembership.organisation_id, GroupMembership.role)
        .join(Journey, Journey.id == GroupMembership.journey_id)
        .where(
            GroupMembership.beneficiary_id == person.id,
            GroupMembership.ended_at.is_(None),
            Journey.closed_on.is_(None),
        )
    )
    for organisation_id, role in rows:
        roles.setdefault(organisation_id, set()).add(GroupRole(role))
    return roles


def _consent_line(
    access: RecordAccess,
    organisation: tenancy.OrganisationSummary,
    roles: set[GroupRole] | None,
    consent: Consent | None,
) -> ConsentLine:
    """One organisation; `roles` is None when it is not (or no longer) in the group."""
    return ConsentLine(
        organisation_id=organisation.id,
        label=organisation.label_for(access.actor),
        health_access=_health_access(organisation.kind, roles)
        if roles is not None
        else HealthAccess.CONSENT,
        in_group=roles is not None,
        granted_at=consent.granted_at if consent else None,
        recorded_in_person=bool(
            consent is not None and consent.recorded_by_id != access.beneficiary.account_id
        ),
    )


def _consent_lines(access: RecordAccess) -> list[ConsentLine]:
    """The organisations of the active group, and any other one holding a consent in force."""
    roles = _group_roles(access.beneficiary)
    consents: dict[uuid.UUID, Consent] = {}
    for row in _consents_in_force(access.beneficiary):
        consents.setdefault(row.organisation_id, row)
    organisations = tenancy.organisations_by_id([*roles, *consents])
    lines = [
        _consent_line(
            access, organisation, roles.get(organisation_id), consents.get(organisation_id)
        )
        for organisation_id, organisation in organisations.items()
    ]
    lines.sort(
        key=lambda line: (not line.in_group, line.label.casefold(), str(line.organisation_id))
    )
    return lines


def get_consents(*, actor: Principal, beneficiary_id: uuid.UUID) -> ConsentsPage:
    """Which organisations of the group may read the health compartment, and why."""
    access = gate.open_record(
        actor=actor, beneficiary_id=beneficiary_id, section=Section.GROUP, tag=Tag.CONSENTS_READ
    )
    return ConsentsPage(access=access, person=access.beneficiary, lines=_consent_lines(access))


def _open_for_consent(
    actor: Principal,
    beneficiary_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    grant: bool,
    mode: ConsentMode,
) -> RecordAccess:
    tag = _CONSENT_TAGS[grant, mode]
    if mode is ConsentMode.ACCOMPANIED:
        # Recorded in person by whoever may manage the follow-up group.
        return gate.open_record(
            actor=actor,
            beneficiary_id=beneficiary_id,
            section=Section.GROUP,
            level=Level.WRITE,
            tag=tag,
            object_id=organisation_id,
        )
    # Only the person may decide alone: the gate answers "not found" on any other record.
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.HEALTH,
        tag=tag,
        object_id=organisation_id,
    )
    if access.decision.relation is not Relation.OWN_RECORD:  # pragma: no cover - gate
        raise Denied("Seule la personne peut donner ou retirer son accord.")
    return access


def _grant(access: RecordAccess, line: ConsentLine) -> None:
    if line.health_access is HealthAccess.REMIT:
        raise Conflict(
            "Cette structure de santé accède déjà au volet santé par sa mission : "
            "aucun accord n'est nécessaire."
        )
    if line.health_access is HealthAccess.NONE:
        raise Conflict("Le rôle de cette structure ne lui donne pas accès au volet santé.")
    if line.has_consent:
        raise Conflict("Cette structure a déjà l'accord de la personne.")
    person = access.beneficiary
    db.session().add(
        Consent(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            scope=ConsentScope.HEALTH,
            organisation_id=line.organisation_id,
            granted_at=clock.now(),
            recorded_by_id=access.actor.account_id,
        )
    )


def _withdraw(access: RecordAccess, organisation_id: uuid.UUID) -> None:
    now = clock.now()
    in_force = [
        c for c in _consents_in_force(access.beneficiary) if c.organisation_id == organisation_id
    ]
    if not in_force:
        raise Conflict("Cette structure n'a pas d'accord en cours : rien à retirer.")
    for consent in in_force:
        consent.withdrawn_at = max(now, consent.granted_at)


def change_health_consent(
    *, actor: Principal, beneficiary_id: uuid.UUID, organisation_id: uuid.UUID, grant: bool
) -> ConsentChange:
    """Give or withdraw the person's consent for one organisation to read the compartment.

    The person acts from his or her own record; a professional who may manage the follow-up
    group records a decision the person made in front of him or her (« mode accompagné »),
    and the timeline and the access log say so. A withdrawal applies to the next request.
    """
    mode = ConsentMode.AUTONOMOUS if actor.is_beneficiary else ConsentMode.ACCOMPANIED
    access = _open_for_consent(actor, beneficiary_id, organisation_id, grant=grant, mode=mode)
    line = next((x for x in _consent_lines(access) if x.organisation_id == organisation_id), None)
    if line is None:
        message = "Choisissez une structure du groupe de suivi."
        raise InvalidInput.on("organisation_id", message)
    if grant:
        _grant(access, line)
    else:
        _withdraw(access, organisation_id)
    db.session().flush()
    add_timeline_event(
        access,
        _CONSENT_EVENTS[grant, mode],
        scope=ConsentScope.HEALTH.value,
        organisation_id=str(organisation_id),
        mode=mode.value,
    )
    log.info(
        "health consent %s beneficiary=%s organisation=%s mode=%s",
        "granted" if grant else "withdrawn",
        access.beneficiary.id,
        organisation_id,
        mode.value,
    )
    return ConsentChange(organisation_label=line.label, granted=grant, mode=mode)
