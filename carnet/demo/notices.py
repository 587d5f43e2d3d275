"""The demo's notifications, written through `carnet.notifications.services.notify` as the
records services would have sent them, at the moment of what they tell.

For the people with a record: whoever joined a group these last weeks (a new référent
after a reorientation, a partner invited) is told, and so are the référent and the
person; the showcase people changed their phone number lately, which their référent is
told. Those older than a few days have been read.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from carnet import db
from carnet.demo.journal import FOLLOWERS, Journal, Stint, local, paris_day
from carnet.notifications import services as notifications
from carnet.notifications.models import Notification
from carnet.records import services as records
from carnet.records.models import TimelineEvent
from carnet.security.permissions import GroupRole

SEED = 9_907
RECENT = timedelta(days=45)
READ_AFTER = timedelta(days=20)
Event = records.Event


class _Notices:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rng = random.Random(SEED)
        self.count = 0
        self.sent: dict[uuid.UUID, list[Notification]] = {}

    def send(
        self,
        journal: Journal,
        recipient: uuid.UUID | None,
        kind: Event,
        at: datetime,
        details: dict[str, object],
    ) -> None:
        if recipient is None:
            return
        notice = notifications.notify(
            recipient_account_id=recipient,
            departement_id=journal.beneficiary.departement_id,
            kind=kind.value,
            beneficiary_id=journal.beneficiary.id,
            details=details,
        )
        notice.created_at = at
        if self.now - at > READ_AFTER:
            notice.read_at = min(at + timedelta(hours=self.rng.randint(2, 60)), self.now)
        self.sent.setdefault(recipient, []).append(notice)
        self.count += 1

    def keep_one_unread(self, recipient: uuid.UUID) -> None:
        """The latest notice of a showcase professional is still to read."""
        sent = self.sent.get(recipient, [])
        if sent and all(n.read_at is not None for n in sent):
            max(sent, key=lambda n: n.created_at).read_at = None

    def joined(self, journal: Journal, stint: Stint) -> None:
        """Someone joined the group lately: as `records.services` tells it."""
        details: dict[str, object] = {
            "membership_id": str(stint.membership.id),
            "role": stint.role.value,
            "organisation_id": str(stint.organisation.id),
        }
        at = stint.started
        person = journal.beneficiary.account_id
        if stint.role is GroupRole.REFERENT:
            previous = [s for s in journal.referents if s.ended is not None and s is not stint]
            self.send(journal, stint.professional.account.id, Event.REFERENT_ASSIGNED, at, details)
            if previous:
                former = previous[-1].professional.account.id
                self.send(journal, former, Event.REFERENT_CHANGED, at, details)
                self.send(journal, person, Event.REFERENT_CHANGED, at, details)
            else:
                self.send(journal, person, Event.MEMBER_ADDED, at, details)
            return
        self.send(journal, stint.professional.account.id, Event.MEMBER_INVITED, at, details)
        referent = journal.holder_at(at)
        if referent.professional is not stint.professional:
            self.send(journal, referent.professional.account.id, Event.MEMBER_ADDED, at, details)
        self.send(journal, person, Event.MEMBER_ADDED, at, details)

    def contact_updated(self, journal: Journal) -> None:
        """A showcase person changed his or her phone number from his or her space, a few
        days ago: the référent is told."""
        person = journal.beneficiary
        if person.account_id is None:
            return
        day = paris_day(self.now) - timedelta(days=self.rng.randint(2, 5))
        at = min(local(day, time(19, self.rng.randint(0, 59))), self.now)
        fields = ["phone"]
        journal_event = TimelineEvent(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journal.journey.id,
            kind=Event.CONTACT_UPDATED.value,
            occurred_at=at,
            actor_account_id=person.account_id,
            actor_organisation_id=None,
            details={"fields": fields},
        )
        db.session().add(journal_event)
        referent = journal.referent.professional.account.id
        self.send(journal, referent, Event.CONTACT_UPDATED, at, {"fields": fields})


def write(journals: Sequence[Journal], *, now: datetime) -> int:
    """Returns the number of notifications written."""
    notices = _Notices(now)
    told: set[str] = set()
    latest: dict[str, tuple[Journal, Stint]] = {}
    for journal in journals:
        for stint in journal.stints:
            if stint.ended is not None:
                continue
            key = stint.professional.key
            if now - stint.started <= RECENT:
                notices.joined(journal, stint)
                told.add(key)
            elif key not in latest or latest[key][1].started < stint.started:
                latest[key] = (journal, stint)
        if journal.case.showcase:
            notices.contact_updated(journal)
    # Every showcase professional has at least his or her last arrival in a group, and
    # something still to read.
    accounts = {s.professional.key: s.professional.account.id for j in journals for s in j.stints}
    for key in FOLLOWERS:
        if key not in told and key in latest:
            notices.joined(*latest[key])
        if key in accounts:
            notices.keep_one_unread(accounts[key])
    return notices.count
