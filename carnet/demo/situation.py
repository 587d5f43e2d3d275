"""The demo's situations and health compartments, as the situation services would write them.

For the showcase people and about fifty others followed by a référent: dated diagnostic
versions (two for some), freins périphériques in the three statuses, and for people
followed by a health structure, health freins, an RQTH and health partners' notes, sealed
like those written through the site. Some people also open their health compartment to
their référent's structure (from their space, or in a meeting: « mode accompagné »), and
a few have withdrawn such a consent since. Each write leaves its timeline event; like the
rest of the demo, the access log holds only the creation of each person.

The words are ours; the situations come from the département's seeded referential.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.records.models import (
    Beneficiary,
    Consent,
    ConsentScope,
    DigitalAutonomy,
    Journey,
    TimelineEvent,
)
from carnet.referential import services as referential
from carnet.referential.models import EntryKind, OarsaCategory
from carnet.referential.services import ThemeView
from carnet.security import crypto
from carnet.situation import health as health_services
from carnet.situation import services as situation
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
    EducationLevel,
    HealthBarrier,
    HealthNote,
    RqthRecord,
    RqthStatus,
)
from carnet.tenancy.models import Organisation

if TYPE_CHECKING:
    from carnet.demo.loader import Case

SEED = 4_187  # a stream of its own: the rest of the demo does not move when this changes
OTHER_PEOPLE = 50
SECOND_VERSION_SHARE = 0.45
HEALTH_CONSENT_TO_REFERENT_SHARE = 0.5
WITHDRAWN_SHARE = 0.2

STRENGTHS = (
    "Motivation pour reprendre une activité",
    "Entourage familial présent",
    "Toujours à l'heure aux rendez-vous",
    "Connaît bien les services du quartier",
    "Parle l'arabe et le français",
    "À l'aise avec un smartphone",
    "Bénévole dans une association sportive",
    "Aime travailler en équipe",
    "Garde ses enfants le matin grâce à sa mère",
)
SKILLS = (
    "Entretien de locaux",
    "Vente et tenue de caisse",
    "Aide à domicile auprès de personnes âgées",
    "Cuisine en restauration collective",
    "CACES 1 et 3 (à renouveler)",
    "Préparation de commandes en entrepôt",
    "Garde d'enfants",
    "Traitement de texte et courriels",
    "Petits travaux de maçonnerie",
    "Accueil du public",
)
SUMMARIES = (
    "La priorité est le logement ; la recherche d'emploi reprendra une fois la situation "
    "stabilisée.",
    "Projet clair dans la vente ; il manque un moyen de transport pour les horaires décalés.",
    "La personne souhaite se former avant de candidater ; elle a besoin d'aide pour les "
    "démarches en ligne.",
    "Situation stable ; l'objectif est un contrat d'au moins six mois d'ici l'été.",
    "Beaucoup de démarches en retard : on commence par l'accès aux droits et le budget.",
)
FREE_SITUATIONS: dict[str, str] = {
    "logement": "Logement loin des arrêts de bus",
    "mobilite": "Se déplace à vélo, trajets longs en hiver",
    "difficultes_financieres": "Dossier de surendettement en préparation",
    "emploi": "Travail saisonnier l'été seulement",
}
HEALTH_FREINS = (
    ("Douleurs de dos qui limitent le port de charges", "Kinésithérapie prescrite."),
    ("Suivi en addictologie engagé", "Rendez-vous hebdomadaires, bien tenus."),
    ("Troubles du sommeil", None),
    ("Plus de médecin traitant depuis un déménagement", "Recherche en cours avec la CPAM."),
    ("Complémentaire santé à ouvrir", "Dossier de complémentaire santé solidaire à déposer."),
    ("Grande fatigue liée à un traitement", "Reprise progressive conseillée."),
)
HEALTH_NOTES = (
    "Rendez-vous tenus ; la personne souhaite que sa référente soit informée de ses progrès.",
    "Dossier de complémentaire santé solidaire déposé ce jour avec la personne.",
    "Médecin traitant trouvé ; premier rendez-vous fixé dans deux semaines.",
    "Une reprise à temps partiel semble possible d'ici deux mois, de l'avis de la personne.",
)
_BARRIER_STATUSES = (
    BarrierStatus.IDENTIFIED,
    BarrierStatus.IN_PROGRESS,
    BarrierStatus.IN_PROGRESS,
    BarrierStatus.LIFTED,
)
_EDUCATION = tuple(EducationLevel)
_EDUCATION_WEIGHTS = (30, 30, 20, 10, 6, 4)


@dataclass(frozen=True)
class _Author:
    account_id: uuid.UUID
    organisation_id: uuid.UUID | None


class _Writer:
    def __init__(
        self,
        db: Session,
        departement_id: uuid.UUID,
        organisations: dict[str, Organisation],
        today: date,
    ) -> None:
        self.db = db
        self.departement_id = departement_id
        self.organisations = organisations
        self.today = today
        self.rng = random.Random(SEED)
        self.now = clock.now()
        themes = referential.list_themes(departement_id)
        self.themes = [t for t in themes if t.oarsa_category is not OarsaCategory.SANTE]
        self.rows: dict[str, list[object]] = {
            "diagnostics": [],
            "situations": [],
            "barriers": [],
            "health": [],
            "consents": [],
            "events": [],
        }

    # -- helpers -------------------------------------------------------------------------
    def _at(self, day: date) -> datetime:
        moment = datetime.combine(
            day, time(self.rng.randint(8, 16), self.rng.randint(0, 59)), tzinfo=UTC
        )
        return min(moment, self.now)

    def _day_between(self, start: date, end: date) -> date:
        span = max(0, (end - start).days)
        return start + timedelta(days=self.rng.randint(0, span))

    def _event(
        self,
        person: Beneficiary,
        journey: Journey | None,
        kind: situation.Event | health_services.Event,
        at: datetime,
        author: _Author,
        **details: str,
    ) -> None:
        self.rows["events"].append(
            TimelineEvent(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id if journey else None,
                kind=kind.value,
                occurred_at=at,
                actor_account_id=author.account_id,
                actor_organisation_id=author.organisation_id,
                details=details,
            )
        )

    def _seal(
        self, person: Beneficiary, table: str, column: str, row_id: uuid.UUID, text: str
    ) -> bytes:
        return crypto.current().seal(
            self.db,
            beneficiary_id=person.id,
            departement_id=person.departement_id,
            table=table,
            column=column,
            row_id=row_id,
            plaintext=text,
        )

    # -- the diagnostic ------------------------------------------------------------------
    def diagnostics(
        self,
        person: Beneficiary,
        journey: Journey | None,
        author: _Author,
        declared_by: Declarant,
        days: Sequence[date],
    ) -> list[tuple[ThemeView, str]]:
        """One version per day given; each later version revises the one before. Returns
        the situations of the latest version (theme, label)."""
        picked = self._pick_situations()
        strengths = self.rng.sample(STRENGTHS, k=self.rng.randint(1, 3))
        skills = self.rng.sample(SKILLS, k=self.rng.randint(1, 3))
        education = self.rng.choices(_EDUCATION, weights=_EDUCATION_WEIGHTS)[0]
        digital = self.rng.choice(tuple(DigitalAutonomy))
        for number, day in enumerate(days, start=1):
            if number > 1:
                # A later look: a situation settled, another found, a skill written down.
                if len(picked) > 1:
                    picked.pop(self.rng.randrange(len(picked)))
                picked += self._pick_situations(1)
                skills = [*skills, self.rng.choice([s for s in SKILLS if s not in skills])]
                if digital is DigitalAutonomy.NO_ACCESS:
                    digital = DigitalAutonomy.NEEDS_HELP
            self._version(
                person,
                journey,
                author,
                declared_by,
                number,
                self._at(day),
                picked,
                (strengths, skills),
                (education, digital),
            )
        return picked

    def _pick_situations(self, count: int | None = None) -> list[tuple[ThemeView, str]]:
        themes = [t for t in self.themes if t.of_kind(EntryKind.SITUATION)]
        chosen = self.rng.sample(themes, k=min(len(themes), count or self.rng.randint(2, 4)))
        picked: list[tuple[ThemeView, str]] = []
        for theme in chosen:
            entry = self.rng.choice(theme.of_kind(EntryKind.SITUATION))
            picked.append((theme, entry.label))
            free = FREE_SITUATIONS.get(theme.code)
            if free and self.rng.random() < 0.3:
                picked.append((theme, free))
        return picked

    def _version(
        self,
        person: Beneficiary,
        journey: Journey | None,
        author: _Author,
        declared_by: Declarant,
        number: int,
        at: datetime,
        picked: list[tuple[ThemeView, str]],
        lines: tuple[list[str], list[str]],
        levels: tuple[EducationLevel, DigitalAutonomy],
    ) -> None:
        (strengths, skills), (education, digital) = lines, levels
        diagnostic = Diagnostic(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id if journey else None,
            number=number,
            recorded_at=at,
            declared_by=declared_by,
            author_account_id=author.account_id,
            author_organisation_id=author.organisation_id,
            education_level=education,
            digital_autonomy=digital,
            strengths=list(strengths),
            skills=list(skills),
            summary=self.rng.choice(SUMMARIES),
        )
        self.rows["diagnostics"].append(diagnostic)
        for position, (theme, label) in enumerate(picked, start=1):
            entry = next((e for e in theme.of_kind(EntryKind.SITUATION) if e.label == label), None)
            self.rows["situations"].append(
                DiagnosticSituation(
                    id=uuid.uuid4(),
                    departement_id=person.departement_id,
                    beneficiary_id=person.id,
                    diagnostic_id=diagnostic.id,
                    theme_id=theme.id,
                    entry_id=entry.id if entry else None,
                    label=label,
                    position=position,
                )
            )
        self._event(
            person,
            journey,
            situation.Event.DIAGNOSTIC_RECORDED,
            at,
            author,
            diagnostic_id=str(diagnostic.id),
            number=str(number),
            declared_by=declared_by.value,
        )

    # -- freins --------------------------------------------------------------------------
    def _statuses(self, status: BarrierStatus, identified: date) -> tuple[date | None, date | None]:
        """The dates of « en cours » and « levé » for a frein identified on `identified`."""
        started = lifted = None
        if status is BarrierStatus.IN_PROGRESS or (
            status is BarrierStatus.LIFTED and self.rng.random() < 0.7
        ):
            started = self._day_between(identified, self.today)
        if status is BarrierStatus.LIFTED:
            lifted = self._day_between(started or identified, self.today)
        return started, lifted

    def barriers(
        self,
        person: Beneficiary,
        journey: Journey | None,
        author: _Author,
        picked: list[tuple[ThemeView, str]],
        since: date,
        statuses: Sequence[BarrierStatus] | None = None,
    ) -> None:
        count = len(statuses) if statuses else self.rng.randint(1, min(3, len(picked)))
        for index, (theme, label) in enumerate(picked[:count]):
            status = statuses[index] if statuses else self.rng.choice(_BARRIER_STATUSES)
            identified = self._day_between(since, self.today)
            started, lifted = self._statuses(status, identified)
            entry = next((e for e in theme.of_kind(EntryKind.SITUATION) if e.label == label), None)
            barrier = Barrier(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id if journey else None,
                theme_id=theme.id,
                entry_id=entry.id if entry else None,
                label=label,
                status=status,
                identified_on=identified,
                in_progress_on=started,
                lifted_on=lifted,
                declared_by=Declarant.PROFESSIONAL,
                author_account_id=author.account_id,
                author_organisation_id=author.organisation_id,
                created_at=self._at(identified),
                version=1 + (started is not None) + (lifted is not None),
            )
            self.rows["barriers"].append(barrier)
            ids = {"barrier_id": str(barrier.id), "theme_id": str(theme.id)}
            self._event(
                person,
                journey,
                situation.Event.BARRIER_ADDED,
                self._at(identified),
                author,
                declared_by=Declarant.PROFESSIONAL.value,
                **ids,
            )
            for day, kind in (
                (started, situation.Event.BARRIER_STARTED),
                (lifted, situation.Event.BARRIER_LIFTED),
            ):
                if day is not None:
                    self._event(
                        person, journey, kind, self._at(day), author, on=day.isoformat(), **ids
                    )

    # -- the health compartment ----------------------------------------------------------
    def health(
        self, person: Beneficiary, journey: Journey | None, author: _Author, since: date, rqth: bool
    ) -> None:
        """Health freins, health partners' notes and, for some, an RQTH, all sealed."""
        self._health_barriers(person, journey, author, since)
        self._health_notes(person, journey, author, since)
        if rqth:
            self._rqth(person, journey, author, since)

    def _health_barriers(
        self, person: Beneficiary, journey: Journey | None, author: _Author, since: date
    ) -> None:
        for label, details in self.rng.sample(HEALTH_FREINS, k=self.rng.randint(1, 2)):
            status = self.rng.choice(_BARRIER_STATUSES)
            identified = self._day_between(since, self.today)
            started, lifted = self._statuses(status, identified)
            row = HealthBarrier(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                journey_id=journey.id if journey else None,
                status=status,
                identified_on=identified,
                in_progress_on=started,
                lifted_on=lifted,
                declared_by=Declarant.PROFESSIONAL,
                author_account_id=author.account_id,
                author_organisation_id=author.organisation_id,
                created_at=self._at(identified),
                version=1 + (started is not None) + (lifted is not None),
            )
            table = health_services.HEALTH_BARRIER_TABLE
            row.label_sealed = self._seal(
                person, table, health_services.HEALTH_LABEL_COLUMN, row.id, label
            )
            if details:
                row.details_sealed = self._seal(
                    person, table, health_services.HEALTH_DETAILS_COLUMN, row.id, details
                )
            self.rows["health"].append(row)
            ids = {"barrier_id": str(row.id)}
            self._event(
                person,
                journey,
                health_services.Event.HEALTH_BARRIER_ADDED,
                self._at(identified),
                author,
                **ids,
            )
            for day, kind in (
                (started, health_services.Event.HEALTH_BARRIER_STARTED),
                (lifted, health_services.Event.HEALTH_BARRIER_LIFTED),
            ):
                if day is not None:
                    self._event(
                        person, journey, kind, self._at(day), author, on=day.isoformat(), **ids
                    )

    def _health_notes(
        self, person: Beneficiary, journey: Journey | None, author: _Author, since: date
    ) -> None:
        for body in self.rng.sample(HEALTH_NOTES, k=self.rng.randint(1, 2)):
            at = self._at(self._day_between(since, self.today))
            note = HealthNote(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                author_account_id=author.account_id,
                author_organisation_id=author.organisation_id,
                created_at=at,
            )
            note.body_sealed = self._seal(
                person,
                health_services.HEALTH_NOTE_TABLE,
                health_services.HEALTH_NOTE_COLUMN,
                note.id,
                body,
            )
            self.rows["health"].append(note)
            self._event(
                person,
                journey,
                health_services.Event.HEALTH_NOTE_ADDED,
                at,
                author,
                note_id=str(note.id),
            )

    def _rqth(
        self, person: Beneficiary, journey: Journey | None, author: _Author, since: date
    ) -> None:
        requested = self._day_between(since - timedelta(days=400), since)
        recognised = self.rng.random() < 0.7
        payload = {
            "status": (RqthStatus.RECOGNISED if recognised else RqthStatus.REQUESTED).value,
            "requested_on": requested.isoformat(),
            "valid_until": (self.today + timedelta(days=self.rng.randint(200, 1500))).isoformat()
            if recognised
            else None,
        }
        at = self._at(self._day_between(since, self.today))
        row = RqthRecord(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            updated_at=at,
            updated_by_account_id=author.account_id,
            updated_by_organisation_id=author.organisation_id,
            version=1,
        )
        row.details_sealed = self._seal(
            person,
            health_services.RQTH_TABLE,
            health_services.RQTH_COLUMN,
            row.id,
            json.dumps(payload, sort_keys=True),
        )
        self.rows["health"].append(row)
        self._event(
            person, journey, health_services.Event.RQTH_UPDATED, at, author, rqth_id=str(row.id)
        )

    # -- consents ------------------------------------------------------------------------
    def consent(
        self,
        person: Beneficiary,
        journey: Journey | None,
        organisation_id: uuid.UUID,
        recorder: _Author,
        since: date,
        *,
        withdrawn: bool,
    ) -> None:
        """A consent given to the référent's structure, by the person or in a meeting."""
        accompanied = recorder.account_id != person.account_id
        granted_at = self._at(self._day_between(since, self.today - timedelta(days=2)))
        withdrawn_at = None
        if withdrawn:
            withdrawn_at = self._at(self._day_between(granted_at.date(), self.today))
            withdrawn_at = max(withdrawn_at, granted_at)
        self.rows["consents"].append(
            Consent(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                scope=ConsentScope.HEALTH,
                organisation_id=organisation_id,
                granted_at=granted_at,
                recorded_by_id=recorder.account_id,
                withdrawn_at=withdrawn_at,
            )
        )
        mode = (
            health_services.ConsentMode.ACCOMPANIED
            if accompanied
            else health_services.ConsentMode.AUTONOMOUS
        )
        details = {
            "scope": ConsentScope.HEALTH.value,
            "organisation_id": str(organisation_id),
            "mode": mode.value,
        }
        granted = (
            health_services.Event.CONSENT_GRANTED_ACCOMPANIED
            if accompanied
            else health_services.Event.CONSENT_GRANTED
        )
        self._event(person, journey, granted, granted_at, recorder, **details)
        if withdrawn_at is not None:
            withdrawal = (
                health_services.Event.CONSENT_WITHDRAWN_ACCOMPANIED
                if accompanied
                else health_services.Event.CONSENT_WITHDRAWN
            )
            self._event(person, journey, withdrawal, withdrawn_at, recorder, **details)

    def flush(self) -> int:
        # Linked by foreign keys only: each table is written before the next one.
        for name in ("diagnostics", "situations", "barriers", "health", "consents", "events"):
            self.db.add_all(self.rows[name])
            self.db.flush()
        return len(self.rows["diagnostics"])


def load_situations(
    db: Session,
    people: Sequence[tuple[Beneficiary, Case]],
    organisations: dict[str, Organisation],
    *,
    today: date,
) -> int:
    """Write the demo's diagnostics, freins, health compartments and consents. Returns the
    number of diagnostic versions written."""
    if not people:
        return 0
    departement_id = people[0][0].departement_id
    writer = _Writer(db, departement_id, organisations, today)
    if not writer.themes:
        return 0
    journeys = {
        j.beneficiary_id: j
        for j in db.scalars(
            select(Journey).where(
                Journey.beneficiary_id.in_([b.id for b, _ in people]), Journey.closed_on.is_(None)
            )
        )
    }
    followed = [(b, c) for b, c in people if c.referent and c.referent_org and b.id in journeys]
    showcase = [(b, c) for b, c in people if c.showcase]
    others = [pair for pair in followed if not pair[1].showcase]
    chosen = writer.rng.sample(others, k=min(len(others), OTHER_PEOPLE))
    # Everyone followed by a health structure gets a health compartment.
    chosen += [pair for pair in others if pair[1].health_consent and pair not in chosen]
    for beneficiary, case in [*showcase, *chosen]:
        _person(writer, beneficiary, case, journeys.get(beneficiary.id))
    return writer.flush()


def _person(writer: _Writer, person: Beneficiary, case: Case, journey: Journey | None) -> None:
    rng, today = writer.rng, writer.today
    opened = journey.opened_on if journey else today - timedelta(days=30)
    # After the référent joined the group (at most 35 days after the opening).
    since = min(today, opened + timedelta(days=rng.randint(36, 60)))
    if case.referent is None or case.referent_org is None:
        # Not oriented yet: the person has filled in a self-diagnostic from his or her space.
        if person.account_id is None:
            return
        author = _Author(person.account_id, None)
        writer.diagnostics(person, journey, author, Declarant.PERSON, [since])
        return
    referent_org = writer.organisations[case.referent_org].id
    author = _Author(case.referent.account.id, referent_org)
    days = [since]
    if (case.showcase or rng.random() < SECOND_VERSION_SHARE) and (today - since).days > 20:
        days.append(writer._day_between(since + timedelta(days=15), today))
    picked = writer.diagnostics(person, journey, author, Declarant.PROFESSIONAL, days)
    statuses = (
        [BarrierStatus.IDENTIFIED, BarrierStatus.IN_PROGRESS, BarrierStatus.LIFTED]
        if case.showcase
        else None
    )
    if len(picked) < 3 and statuses:
        picked += writer._pick_situations(3)
    writer.barriers(person, journey, author, picked, since, statuses)
    health = next(((m, k) for m, k in case.members if k == case.health_consent), None)
    if health is None:
        return
    member, org_key = health
    health_author = _Author(member.account.id, writer.organisations[org_key].id)
    writer.health(
        person,
        journey,
        health_author,
        since,
        rqth=case.situation.key == "handicap" or rng.random() < 0.2,
    )
    if case.showcase and person.account_id is not None:
        # The showcase person opened her compartment to her référente, from her space.
        writer.consent(
            person, journey, referent_org, _Author(person.account_id, None), since, withdrawn=False
        )
    elif rng.random() < HEALTH_CONSENT_TO_REFERENT_SHARE:
        writer.consent(
            person, journey, referent_org, author, since, withdrawn=rng.random() < WITHDRAWN_SHARE
        )
