"""The demo gives people dated diagnostics (two versions for some), freins in the three
statuses, health compartments sealed like those written through the site, and consents,
some withdrawn; the showcase person opened her compartment to her référente."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from carnet.demo.loader import load_demo
from carnet.records.models import Beneficiary, Consent, TimelineEvent
from carnet.security import crypto
from carnet.situation import health as health_services
from carnet.situation.models import (
    Barrier,
    BarrierStatus,
    Declarant,
    Diagnostic,
    DiagnosticSituation,
    HealthBarrier,
    HealthNote,
    RqthRecord,
)
from carnet.tenancy.models import Organisation


def _count(db_session: Any, model: Any) -> int:
    return int(db_session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_situations_and_health_compartments(db_session: Any) -> None:
    load_demo(db_session)
    diagnostics = db_session.scalars(select(Diagnostic)).all()
    per_person = Counter(d.beneficiary_id for d in diagnostics)
    assert len(per_person) >= 40
    assert sum(1 for n in per_person.values() if n >= 2) >= 10
    assert {d.declared_by for d in diagnostics} == {Declarant.PERSON, Declarant.PROFESSIONAL}
    # Versions are numbered 1, 2… per person, in the order of their dates.
    for beneficiary_id in per_person:
        versions = sorted(
            (d for d in diagnostics if d.beneficiary_id == beneficiary_id), key=lambda d: d.number
        )
        assert [v.number for v in versions] == list(range(1, len(versions) + 1))
        assert [v.recorded_at for v in versions] == sorted(v.recorded_at for v in versions)
    assert _count(db_session, DiagnosticSituation) >= len(diagnostics)

    barriers = db_session.scalars(select(Barrier)).all()
    assert {b.status for b in barriers} == set(BarrierStatus)
    for barrier in barriers:
        assert (barrier.lifted_on is not None) is (barrier.status is BarrierStatus.LIFTED)

    field_crypto = crypto.current()
    health = db_session.scalars(select(HealthBarrier)).all()
    assert len({h.beneficiary_id for h in health}) >= 5
    for row in health[:5]:
        label = field_crypto.open(
            db_session,
            beneficiary_id=row.beneficiary_id,
            table=health_services.HEALTH_BARRIER_TABLE,
            column=health_services.HEALTH_LABEL_COLUMN,
            row_id=row.id,
            sealed=row.label_sealed,
        )
        assert label
        assert label.encode() not in row.label_sealed
    assert _count(db_session, HealthNote) >= 5
    rqth = db_session.scalars(select(RqthRecord)).first()
    assert rqth is not None
    payload = json.loads(
        field_crypto.open(
            db_session,
            beneficiary_id=rqth.beneficiary_id,
            table=health_services.RQTH_TABLE,
            column=health_services.RQTH_COLUMN,
            row_id=rqth.id,
            sealed=rqth.details_sealed,
        )
    )
    assert payload["status"] in ("reconnue", "demande_en_cours")

    consents = db_session.scalars(select(Consent)).all()
    assert any(c.withdrawn_at is not None for c in consents)
    nathalie = db_session.scalar(select(Beneficiary).where(Beneficiary.given_name == "Nathalie"))
    mdd = db_session.scalar(
        select(Organisation).where(Organisation.name.like("Maison du Département de Limoges%"))
    )
    assert any(
        c.beneficiary_id == nathalie.id and c.organisation_id == mdd.id and c.withdrawn_at is None
        for c in consents
    )
    assert per_person[nathalie.id] == 2

    kinds = Counter(db_session.scalars(select(TimelineEvent.kind)))
    assert kinds["situation:diagnostic:recorded"] == len(diagnostics)
    assert kinds["situation:barrier:added"] == len(barriers)
    assert kinds["health:barrier:added"] == len(health)
    assert kinds["records:consent:granted_accompanied"] >= 1
    assert kinds["records:consent:withdrawn_accompanied"] >= 1
