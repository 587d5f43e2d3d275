"""In-app notifications: written in the caller's transaction, read by their recipient only.

A notification stores a kind and ids or codes (`details`); its French text is composed
when it is shown, for the account reading it. So a person's shredded record leaves
nothing readable here, and a sensible structure's name is shown only to those who may
know it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from carnet import clock, db
from carnet.errors import NotFound
from carnet.notifications.models import Notification
from carnet.security.principal import Principal
from carnet.tenancy import services as tenancy_services

# Role codes in `details["role"]`, as the person and the professionals read them.
_ROLE_LABELS = {
    "member": "membre",
    "orientation_officer": "chargé·e d'orientation",
    "referent": "référent·e",
}

# kind -> (text for a professional, text for the person). `{organisation}` and `{role}`
# come from `details`; the person's name is never stored nor composed here.
_TEXTS: dict[str, tuple[str, str]] = {
    "auth:activation_code:redeemed": (
        "Une personne que vous accompagnez a relié son identité FranceConnect à son carnet.",
        "Une identité FranceConnect a été reliée à votre carnet avec un code d'activation. "
        "Si ce n'est pas vous, prévenez votre référent au plus vite.",
    ),
    "records:contact:updated": (
        "Une personne que vous accompagnez a mis à jour ses coordonnées.",
        "Vos coordonnées ont été mises à jour.",
    ),
    "records:group:break_glass": (
        "Accès exceptionnel (bris de glace) : un professionnel de {organisation} a rejoint "
        "le groupe de suivi d'une personne que vous accompagnez, en indiquant un motif.",
        "Un professionnel de {organisation} a rejoint votre groupe de suivi sans y avoir été "
        "invité, en indiquant un motif. Cet accès figure dans « Qui a consulté mon carnet ».",
    ),
    "records:group:invited": (
        "Vous avez été ajouté·e au groupe de suivi d'une personne (rôle : {role}) : "
        "retrouvez-la dans « Mes accompagnements ».",
        "Vous avez été ajouté·e à un groupe de suivi.",
    ),
    "records:group:removed": (
        "Vous ne faites plus partie du groupe de suivi d'une personne ({organisation}).",
        "Vous ne faites plus partie d'un groupe de suivi.",
    ),
    "records:group:member_added": (
        "{organisation} a rejoint le groupe de suivi d'une personne que vous accompagnez "
        "(rôle : {role}).",
        "{organisation} a rejoint votre groupe de suivi (rôle : {role}).",
    ),
    "records:group:member_ended": (
        "{organisation} a quitté le groupe de suivi d'une personne que vous accompagnez.",
        "{organisation} ne fait plus partie de votre groupe de suivi.",
    ),
    "records:group:referent_changed": (
        "Changement de référent : {organisation} assure désormais l'accompagnement d'une "
        "personne que vous suiviez ou suivez.",
        "Votre référent a changé : {organisation} vous accompagne désormais.",
    ),
    "records:group:referent_assigned": (
        "Vous êtes désormais le référent unique d'une personne : retrouvez-la dans "
        "« Mes accompagnements ».",
        "Un référent unique vous accompagne désormais ({organisation}).",
    ),
    "contracts:version:proposed": (
        "Un contrat est proposé à la signature d'une personne que vous accompagnez.",
        "Un contrat vous est proposé : relisez-le et signez-le dans « Mes contrats ».",
    ),
    "contracts:version:signed": (
        "Un contrat d'une personne que vous accompagnez est signé par les deux parties.",
        "Votre contrat est signé par les deux parties : il est en vigueur. "
        "Retrouvez-le dans « Mes contrats ».",
    ),
    "orientation:decision:decided": (
        "Une orientation a été décidée pour une personne que vous accompagnez : "
        "{organisation} l'accompagne désormais.",
        "Votre orientation a été décidée : {organisation} vous accompagne désormais. "
        "Le détail figure dans votre carnet.",
    ),
    "orientation:decision:referent": (
        "Une personne vous est orientée : vous êtes désormais son référent unique. "
        "Retrouvez-la dans « Mes accompagnements ».",
        "Un référent unique vous accompagne désormais ({organisation}).",
    ),
    "orientation:decision:previous_left": (
        "Une personne que vous accompagniez est orientée vers {organisation} : vous ne "
        "faites plus partie de son groupe de suivi.",
        "Votre accompagnement a changé : {organisation} vous accompagne désormais.",
    ),
    "orientation:decision:previous_member": (
        "Une personne que vous accompagniez est orientée vers {organisation} : vous restez "
        "membre de son groupe de suivi.",
        "Votre accompagnement a changé : {organisation} vous accompagne désormais.",
    ),
    "orientation:request:created": (
        "Une demande de réorientation attend votre décision.",
        "Une demande de réorientation a été faite.",
    ),
    "orientation:request:accepted": (
        "Votre demande de réorientation est acceptée : la personne est orientée vers "
        "{organisation}.",
        "Votre orientation a changé : {organisation} vous accompagne désormais.",
    ),
    "orientation:request:kept": (
        "Votre demande de réorientation n'est pas retenue : l'accompagnement actuel est "
        "maintenu. Le motif de la décision figure dans l'onglet « Orientation » du carnet.",
        "L'accompagnement actuel est maintenu.",
    ),
    "records:journey:closed": (
        "Le parcours d'une personne que vous accompagniez est clos : votre place dans son "
        "groupe de suivi a pris fin et son carnet ne vous est plus accessible.",
        "Votre parcours d'accompagnement est clos. Si vous avez de nouveau besoin d'être "
        "accompagné·e, vous pouvez reprendre contact avec le Département.",
    ),
    "orientation:exit:employment": (
        "Le parcours d'une personne que vous accompagniez est clos : votre place dans son "
        "groupe de suivi a pris fin et son carnet ne vous est plus accessible.",
        "Votre parcours d'accompagnement est clos à la suite de votre reprise d'emploi. "
        "Pendant les 18 mois qui suivent l'embauche, vous ou votre employeur pouvez "
        "demander un soutien au Département.",
    ),
    "records:journey:opened": (
        "Un nouveau parcours est ouvert pour une personne : elle attend son orientation.",
        "Un nouveau parcours d'accompagnement est ouvert pour vous. Vous serez informé·e "
        "de votre orientation et de la personne qui vous accompagnera.",
    ),
}


@dataclass(frozen=True)
class NotificationItem:
    id: uuid.UUID
    kind: str
    text: str
    beneficiary_id: uuid.UUID | None
    created_at: datetime
    is_read: bool


def notify(
    *,
    recipient_account_id: uuid.UUID,
    departement_id: uuid.UUID,
    kind: str,
    beneficiary_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> Notification:
    """Add a notification in the caller's transaction (it exists only if that commits)."""
    if kind not in _TEXTS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification = Notification(
        id=uuid.uuid4(),
        departement_id=departement_id,
        recipient_account_id=recipient_account_id,
        beneficiary_id=beneficiary_id,
        kind=kind,
        details=dict(details or {}),
        created_at=clock.now(),
    )
    db.session().add(notification)
    return notification


def _organisation_id(notification: Notification) -> uuid.UUID | None:
    raw = (notification.details or {}).get("organisation_id")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _text(
    notification: Notification,
    reader: Principal,
    organisations: dict[uuid.UUID, tenancy_services.OrganisationSummary],
) -> str:
    professional, person = _TEXTS.get(notification.kind, ("Nouvelle information.",) * 2)
    template = person if reader.is_beneficiary else professional
    organisation_id = _organisation_id(notification)
    organisation = organisations.get(organisation_id) if organisation_id else None
    label = organisation.label_for(reader) if organisation else "Une structure"
    role = _ROLE_LABELS.get(str((notification.details or {}).get("role", "")), "membre")
    return template.format(organisation=label, role=role)


def list_for_account(
    *, actor: Principal, unread_only: bool = False, limit: int = 20
) -> list[NotificationItem]:
    """The actor's own notifications, newest first."""
    if actor.account_id is None:
        return []
    stmt = select(Notification).where(Notification.recipient_account_id == actor.account_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = list(
        db.session().scalars(
            stmt.order_by(Notification.created_at.desc(), Notification.id).limit(limit)
        )
    )
    organisations = tenancy_services.organisations_by_id(_organisation_id(row) for row in rows)
    return [
        NotificationItem(
            id=row.id,
            kind=row.kind,
            text=_text(row, actor, organisations),
            beneficiary_id=row.beneficiary_id,
            created_at=row.created_at,
            is_read=row.read_at is not None,
        )
        for row in rows
    ]


def count_unread(*, actor: Principal) -> int:
    if actor.account_id is None:
        return 0
    count = db.session().scalar(
        select(func.count(Notification.id)).where(
            Notification.recipient_account_id == actor.account_id,
            Notification.read_at.is_(None),
        )
    )
    return int(count or 0)


def mark_read(*, actor: Principal, notification_id: uuid.UUID) -> None:
    """Mark one of the actor's notifications read; another account's is simply not found."""
    notification = db.session().get(Notification, notification_id)
    if notification is None or notification.recipient_account_id != actor.account_id:
        raise NotFound("Cette notification n'existe pas ou ne vous est pas destinée.")
    if notification.read_at is None:
        notification.read_at = clock.now()
        db.session().flush()


def mark_all_read(*, actor: Principal) -> int:
    if actor.account_id is None:
        return 0
    result = db.session().execute(
        update(Notification)
        .where(
            Notification.recipient_account_id == actor.account_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
