"""The demo's situations and health compartments, as the situation services would write them.

For every person with a tier (`carnet.demo.journal`): the diagnostic written at the first
meeting with a référent and, for a full record with months of follow-up, a second version
at a later meeting (the situation settled since is gone from it, its frein lifted that
day); freins in the three statuses, each moved at a meeting; a synthesis of the person's
own story, never the same twice. The latest version's digital autonomy is the one in the
person's contact details. People followed by a health structure get a health compartment
written by that partner (health freins, notes, an RQTH for some) and some open it to
their référent's structure: from their own space, or in a meeting (« mode accompagné »),
a few withdrawing it later. A person not oriented yet may have filled in a
self-diagnostic from his or her space. Each write leaves its timeline event; like the
rest of the demo, the access log holds only the creation of each person.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from carnet.demo import stories
from carnet.demo.journal import Journal, Tier, Visit, local, office, paris_day, weekday
from carnet.records.models import (
    Beneficiary,
    Consent,
    ConsentScope,
    DigitalAutonomy,
    Journey,
    TimelineEvent,
)
from carnet.referential import services as referential
from carnet.referential.models import EntryKind
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

if TYPE_CHECKING:
    from carnet.demo.loader import Case

SEED = 4_187  # a stream of its own: the rest of the demo does not move when this changes
WITHDRAWN_SHARE = 0.2
SECOND_VERSION_AFTER = timedelta(days=45)

STRENGTHS = (
    "Motivation pour reprendre une activité",
    "Entourage familial présent",
    "Toujours à l'heure aux rendez-vous",
    "Connaît bien les services du quartier",
    "Parle deux langues",
    "À l'aise avec un smartphone",
    "Bénévole dans une association sportive",
    "Aime travailler en équipe",
    "Sait s'organiser avec peu de moyens",
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
# A person not oriented yet, who described the situation from his or her own space.
SELF_SITUATIONS = (
    ("emploi", "Sans emploi depuis plus d'un an"),
    ("mobilite", "Sans permis de conduire"),
)
SELF_SUMMARY = (
    "Je cherche un emploi près de chez moi, à {city}. Je n'ai pas de voiture et le car passe "
    "deux fois par jour."
)
HEALTH_FREINS = (
    ("Douleurs de dos qui limitent le port de charges", "Kinésithérapie prescrite."),
    ("Suivi en addictologie engagé", "Rendez-vous hebdomadaires, bien tenus."),
    ("Troubles du sommeil", None),
    ("Plus de médecin traitant depuis un déménagement", "Recherche en cours avec la CPAM."),
    ("Complémentaire santé à ouvrir", "Dossier de complémentaire santé solidaire à déposer."),
    ("Grande fatigue liée à un traitement", "Reprise progressive conseillée."),
)
HEALTH_NOTES = (
    "Rendez-vous tenus ; la personne souhaite que son référent soit informé de ses progrès.",
    "Dossier de complémentaire santé solidaire déposé ce jour avec la personne.",
    "Médecin traitant trouvé ; premier rendez-vous fixé dans deux semaines.",
    "Une reprise à temps partiel semble possible d'ici deux mois, de l'avis de la personne.",
)
_EDUCATION = tuple(EducationLevel)
_EDUCATION_WEIGHTS = (30, 30, 20, 10, 6, 4)
_LESS_AUTONOMOUS = {
    DigitalAutonomy.AUTONOMOUS: DigitalAutonomy.NEEDS_HELP,
    DigitalAutonomy.NEEDS_HELP: DigitalAutonomy.NO_ACCESS,
    DigitalAutonomy.NO_ACCESS: DigitalAutonomy.NO_ACCESS,
}


@dataclass(frozen=True)
class _Author:
    account_id: uuid.UUID
    organisation_id: uuid.UUID | None


@dataclass(frozen=True)
class _Step:
    """A moment of the journey where something was written, and by whom."""

    at: datetime
    author: _Author

    @property
    def day(self) -> date:
        return paris_day(self.at)


def _step(visit: Visit, minutes: int) -> _Step:
    account_id, organisation_id = visit.holder.author
    return _Step(visit.ends + timedelta(minutes=minutes), _Author(account_id, organisation_id))


class _Writer:
    def __init__(self, db: Session, departement_id: uuid.UUID, today: date, now: datetime) -> None:
        self.db = db
        self.today = today
        self.now = now
        self.rng = random.Random(SEED)
        self.themes = {t.code: t for t in referential.list_themes(departement_id)}
        self.summaries: set[str] = set()
        self.rows: dict[str, list[object]] = {
            "diagnostics": [],
            "situations": [],
            "barriers": [],
            "health": [],
            "consents": [],
            "events": [],
        }

    # -- helpers -------------------------------------------------------------------------
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

    def _entry(self, theme: ThemeView, label: str) -> uuid.UUID | None:
        entry = next((e for e in theme.of_kind(EntryKind.SITUATION) if e.label == label), None)
        return entry.id if entry else None

    def summary(self, words: stories.Words, templates: Sequence[str]) -> str:
        """One of the story's texts in the person's words; never one already written."""
        candidates = [words(t) for t in self.rng.sample(list(templates), k=len(templates))]
        for text in candidates:
            if text not in self.summaries:
                self.summaries.add(text)
                return text
        endings = [words(e) for e in stories.SUMMARY_ENDINGS]
        for ending in self.rng.sample(endings, k=len(endings)):
            text = f"{candidates[0]} {ending}"
            if text not in self.summaries:
                self.summaries.add(text)
                return text
        text = f"{candidates[0]} {endings[0]} {endings[1]} ({len(self.summaries)})"
        self.summaries.add(text)
        return text

    # -- the diagnostic ------------------------------------------------------------------
    def version(
        self,
        person: Beneficiary,
        journey: Journey | None,
        step: _Step,
        *,
        number: int,
        declared_by: Declarant,
        picked: Sequence[tuple[str, str]],
        lines: tuple[list[str], list[str]],
        levels: tuple[EducationLevel, DigitalAutonomy | None],
        summary: str,
    ) -> None:
        (strengths, skills), (education, digital) = lines, levels
        diagnostic = Diagnostic(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id if journey else None,
            number=number,
            recorded_at=step.at,
            declared_by=declared_by,
            author_account_id=step.author.account_id,
            author_organisation_id=step.author.organisation_id,
            education_level=education,
            digital_autonomy=digital,
            strengths=list(strengths),
            skills=list(skills),
            summary=summary,
        )
        self.rows["diagnostics"].append(diagnostic)
        for position, (code, label) in enumerate(picked, start=1):
            theme = self.themes[code]
            self.rows["situations"].append(
                DiagnosticSituation(
                    id=uuid.uuid4(),
                    departement_id=person.departement_id,
                    beneficiary_id=person.id,
                    diagnostic_id=diagnostic.id,
                    theme_id=theme.id,
                    entry_id=self._entry(theme, label),
                    label=label,
                    position=position,
                )
            )
        self._event(
            person,
            journey,
            situation.Event.DIAGNOSTIC_RECORDED,
            step.at,
            step.author,
            diagnostic_id=str(diagnostic.id),
            number=str(number),
            declared_by=declared_by.value,
        )

    def diagnostics(self, journal: Journal, held: list[Visit]) -> _Step | None:
        """The first version at the first meeting; for a full record, a second one at a
        meeting at least six weeks later. Returns that second version's moment."""
        person, story, rng = journal.beneficiary, journal.story, self.rng
        full = journal.tier is Tier.FULL
        first = _step(held[0], rng.randint(2, 8))
        later = [v for v in held[1:] if paris_day(v.at) >= first.day + SECOND_VERSION_AFTER]
        second = _step(later[-1], rng.randint(2, 8)) if full and later else None
        picked = list(story.diagnostic if full else story.diagnostic[:2])
        strengths = rng.sample(STRENGTHS, k=rng.randint(1, 3))
        skills = rng.sample(SKILLS, k=rng.randint(1, 3))
        education = rng.choices(_EDUCATION, weights=_EDUCATION_WEIGHTS)[0]
        latest = DigitalAutonomy(person.digital_autonomy) if person.digital_autonomy else None
        earlier = latest
        if latest is not None and second is not None and story.digital_progress:
            earlier = _LESS_AUTONOMOUS[latest]
        self.version(
            person,
            journal.journey,
            first,
            number=1,
            declared_by=Declarant.PROFESSIONAL,
            picked=picked,
            lines=(strengths, skills),
            levels=(education, earlier),
            summary=self.summary(journal.words, story.first_summaries),
        )
        if second is not None:
            # The situation settled since (the second one) is no longer there.
            kept = [pair for index, pair in enumerate(picked) if index != 1]
            skills = [*skills, rng.choice([s for s in SKILLS if s not in skills])]
            self.version(
                person,
                journal.journey,
                second,
                number=2,
                declared_by=Declarant.PROFESSIONAL,
                picked=kept,
                lines=(strengths, skills),
                levels=(education, latest),
                summary=self.summary(journal.words, story.later_summaries),
            )
        return second

    def self_diagnostic(self, person: Beneficiary, journey: Journey | None, day: date) -> None:
        """What a person not oriented yet wrote from his or her space, one evening."""
        if person.account_id is None:
            return
        at = min(local(day, time(19, self.rng.randint(0, 59))), self.now)
        latest = DigitalAutonomy(person.digital_autonomy) if person.digital_autonomy else None
        self.version(
            person,
            journey,
            _Step(at, _Author(person.account_id, None)),
            number=1,
            declared_by=Declarant.PERSON,
            picked=SELF_SITUATIONS,
            lines=(["Motivation pour reprendre une activité"], ["Entretien de locaux"]),
            levels=(EducationLevel.CAP_BEP, latest),
            summary=self.summary(stories.Words(person), (SELF_SUMMARY,)),
        )

    # -- freins --------------------------------------------------------------------------
    def barriers(self, journal: Journal, held: list[Visit], settled: _Step | None) -> None:
        """One frein per situation found at the first meeting: the main one taken up at the
        next meeting, the second lifted when the second version noted it settled."""
        rng = self.rng
        full = journal.tier is Tier.FULL
        found = _step(held[0], rng.randint(10, 20))
        later = [v for v in held[1:] if paris_day(v.at) >= found.day + timedelta(days=7)]
        picked = journal.story.diagnostic if full else journal.story.diagnostic[:2]
        for index, (code, label) in enumerate(picked):
            started: _Step | None = None
            lifted: _Step | None = None
            if index == 0 and later:
                started = _step(later[0], rng.randint(10, 20))
            elif index == 1 and settled is not None:
                between = [v for v in later if paris_day(v.at) < settled.day]
                started = _step(between[0], rng.randint(10, 20)) if between else None
                lifted = _Step(settled.at + timedelta(minutes=3), settled.author)
            elif index == 1 and later and rng.random() < 0.5:
                started = _step(later[-1], rng.randint(10, 20))
            self.barrier(journal, code, label, found, started, lifted)

    def barrier(
        self,
        journal: Journal,
        code: str,
        label: str,
        found: _Step,
        started: _Step | None,
        lifted: _Step | None,
    ) -> None:
        person, journey = journal.beneficiary, journal.journey
        theme = self.themes[code]
        status = BarrierStatus.IDENTIFIED
        if lifted is not None:
            status = BarrierStatus.LIFTED
        elif started is not None:
            status = BarrierStatus.IN_PROGRESS
        barrier = Barrier(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id,
            theme_id=theme.id,
            entry_id=self._entry(theme, label),
            label=label,
            status=status,
            identified_on=found.day,
            in_progress_on=started.day if started else None,
            lifted_on=lifted.day if lifted else None,
            declared_by=Declarant.PROFESSIONAL,
            author_account_id=found.author.account_id,
            author_organisation_id=found.author.organisation_id,
            created_at=found.at,
            version=1 + (started is not None) + (lifted is not None),
        )
        self.rows["barriers"].append(barrier)
        ids = {"barrier_id": str(barrier.id), "theme_id": str(theme.id)}
        self._event(
            person,
            journey,
            situation.Event.BARRIER_ADDED,
            found.at,
            found.author,
            declared_by=Declarant.PROFESSIONAL.value,
            **ids,
        )
        for step, kind in (
            (started, situation.Event.BARRIER_STARTED),
            (lifted, situation.Event.BARRIER_LIFTED),
        ):
            if step is not None:
                self._event(
                    person, journey, kind, step.at, step.author, on=step.day.isoformat(), **ids
                )

    # -- the health compartment ----------------------------------------------------------
    def health(self, journal: Journal) -> None:
        """Written by the health partner of the group, from the first meeting with it."""
        partner = journal.health_partner()
        if partner is None:
            return
        rng = self.rng
        person, journey = journal.beneficiary, journal.journey
        author = _Author(*partner.author)
        end = paris_day(partner.ended) if partner.ended else self.today - timedelta(days=1)
        met = [v for v in journal.visits if v.holder is partner and v.held]
        if met:
            steps = [_step(v, rng.randint(5, 15)) for v in met]
        else:
            start = paris_day(partner.started) + timedelta(days=rng.randint(2, 10))
            day = weekday(min(start, end), forward=False)
            steps = [_Step(min(office(day, rng), self.now), author)]
        first, last = steps[0], steps[-1]
        for label, details in rng.sample(HEALTH_FREINS, k=rng.randint(1, 2)):
            started = last if last is not first and rng.random() < 0.6 else None
            self._health_barrier(journal, author, label, details, first, started)
        for index, body in enumerate(rng.sample(HEALTH_NOTES, k=min(len(steps), 2))):
            step = steps[index] if index < len(steps) else last
            self._health_note(journal, author, body, step.at + timedelta(minutes=4))
        if journal.story.key == "handicap" or rng.random() < 0.2:
            self._rqth(person, journey, author, first)

    def _health_barrier(
        self,
        journal: Journal,
        author: _Author,
        label: str,
        details: str | None,
        found: _Step,
        started: _Step | None,
    ) -> None:
        person, journey = journal.beneficiary, journal.journey
        status = BarrierStatus.IN_PROGRESS if started else BarrierStatus.IDENTIFIED
        row = HealthBarrier(
            id=uuid.uuid4(),
            departement_id=person.departement_id,
            beneficiary_id=person.id,
            journey_id=journey.id,
            status=status,
            identified_on=found.day,
            in_progress_on=started.day if started else None,
            lifted_on=None,
            declared_by=Declarant.PROFESSIONAL,
            author_account_id=author.account_id,
            author_organisation_id=author.organisation_id,
            created_at=found.at,
            version=1 + (started is not None),
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
            person, journey, health_services.Event.HEALTH_BARRIER_ADDED, found.at, author, **ids
        )
        if started is not None:
            self._event(
                person,
                journey,
                health_services.Event.HEALTH_BARRIER_STARTED,
                started.at,
                author,
                on=started.day.isoformat(),
                **ids,
            )

    def _health_note(self, journal: Journal, author: _Author, body: str, at: datetime) -> None:
        person = journal.beneficiary
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
            journal.journey,
            health_services.Event.HEALTH_NOTE_ADDED,
            at,
            author,
            note_id=str(note.id),
        )

    def _rqth(
        self, person: Beneficiary, journey: Journey | None, author: _Author, step: _Step
    ) -> None:
        requested = step.day - timedelta(days=self.rng.randint(30, 400))
        recognised = self.rng.random() < 0.7
        payload = {
            "status": (RqthStatus.RECOGNISED if recognised else RqthStatus.REQUESTED).value,
            "requested_on": requested.isoformat(),
            "valid_until": (self.today + timedelta(days=self.rng.randint(200, 1500))).isoformat()
            if recognised
            else None,
        }
        at = step.at + timedelta(minutes=8)
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
    def consents(self, journal: Journal, held: list[Visit]) -> None:
        """The health compartment opened to the référent's structure: by the showcase
        person from her space; by others in a meeting, some withdrawing it later."""
        partner = journal.health_partner()
        if partner is None:
            return
        person, rng = journal.beneficiary, self.rng
        if journal.case.showcase and person.account_id is not None:
            # From her space, one evening of the last weeks (her account is recent).
            day = self.today - timedelta(days=rng.randint(3, 40))
            at = min(local(day, time(20, rng.randint(0, 59))), self.now)
            organisation_id = journal.referent.author[1]
            self._consent(journal, organisation_id, _Author(person.account_id, None), at, None)
            return
        share = 1.0 if journal.story.key == "handicap" else 0.5
        if journal.tier is Tier.LIGHT:
            share = 0.3
        after = [v for v in held if v.at >= partner.started] or held[-1:]
        if not after or rng.random() >= share:
            return
        given = _step(after[0], rng.randint(20, 30))
        withdrawn = None
        if len(after) > 1 and rng.random() < WITHDRAWN_SHARE:
            withdrawn = _step(after[-1], rng.randint(20, 30))
        if given.author.organisation_id is not None:
            self._consent(journal, given.author.organisation_id, given.author, given.at, withdrawn)

    def _consent(
        self,
        journal: Journal,
        organisation_id: uuid.UUID,
        recorder: _Author,
        granted_at: datetime,
        withdrawn: _Step | None,
    ) -> None:
        person = journal.beneficiary
        accompanied = recorder.account_id != person.account_id
        self.rows["consents"].append(
            Consent(
                id=uuid.uuid4(),
                departement_id=person.departement_id,
                beneficiary_id=person.id,
                scope=ConsentScope.HEALTH,
                organisation_id=organisation_id,
                granted_at=granted_at,
                recorded_by_id=recorder.account_id,
                withdrawn_at=withdrawn.at if withdrawn else None,
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
        self._event(person, journal.journey, granted, granted_at, recorder, **details)
        if withdrawn is not None:
            withdrawal = (
                health_services.Event.CONSENT_WITHDRAWN_ACCOMPANIED
                if accompanied
                else health_services.Event.CONSENT_WITHDRAWN
            )
            self._event(
                person, journal.journey, withdrawal, withdrawn.at, withdrawn.author, **details
            )

    def flush(self) -> int:
        # Linked by foreign keys only: each table is written before the next one.
        for name in ("diagnostics", "situations", "barriers", "health", "consents", "events"):
            self.db.add_all(self.rows[name])
            self.db.flush()
        return len(self.rows["diagnostics"])


def load_situations(
    db: Session,
    people: Sequence[tuple[Beneficiary, Case]],
    journals: Sequence[Journal],
    *,
    today: date,
    now: datetime,
) -> int:
    """Write the demo's diagnostics, freins, health compartments and consents. Returns the
    number of diagnostic versions written."""
    if not people:
        return 0
    writer = _Writer(db, people[0][0].departement_id, today, now)
    if not writer.themes:
        return 0
    for journal in journals:
        held = journal.held_by_referents()
        if not held:
            continue
        settled = writer.diagnostics(journal, held)
        writer.barriers(journal, held, settled)
        writer.health(journal)
        writer.consents(journal, held)
    # People waiting for an orientation who described their situation from their space.
    for person, case in people:
        if case.shape == "to_orient" and person.account_id is not None:
            journey = person.journeys[-1] if person.journeys else None
            opened = journey.opened_on if journey else today
            day = opened + timedelta(days=writer.rng.randint(0, max(0, (today - opened).days)))
            writer.self_diagnostic(person, journey, day)
    return writer.flush()
