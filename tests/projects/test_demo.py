"""The demo gives many people professional projects of every status, and documents
stored sealed exactly as uploads are, deposited by the référent or by the person."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from sqlalchemy import select

from carnet.demo.loader import load_demo
from carnet.documents import services as documents_services
from carnet.documents.models import Document, DocumentKind
from carnet.projects import services as projects_services
from carnet.projects.models import DeclaredBy, ProfessionalProject, ProjectStatus
from carnet.records.models import Beneficiary, TimelineEvent


def test_demo_people_have_projects_and_documents(db_session: Any) -> None:
    load_demo(db_session)
    projects = db_session.scalars(select(ProfessionalProject)).all()
    assert len({p.beneficiary_id for p in projects}) >= 100
    assert {p.status for p in projects} == set(ProjectStatus)
    assert {p.declared_by for p in projects} == set(DeclaredBy)
    jobs = projects_services.rome_jobs()
    for project in projects:
        if project.rome_code is not None:
            assert project.job_label == jobs[project.rome_code].label
    assert any(p.rome_code is None for p in projects)
    assert any(p.mobility_radius_km is None for p in projects)
    assert any(not p.has_driving_licence for p in projects)

    documents = db_session.scalars(select(Document)).all()
    assert 60 <= len(documents) <= 400
    assert {d.kind for d in documents} >= {
        DocumentKind.CV,
        DocumentKind.IDENTITY,
        DocumentKind.PROOF_OF_ADDRESS,
        DocumentKind.TAX_NOTICE,
        DocumentKind.OTHER,
    }
    assert any(d.uploaded_by_organisation_id is None for d in documents)  # by the person
    for document in documents[:8]:
        person = db_session.get(Beneficiary, document.beneficiary_id)
        content = documents_services._open_bytes(
            person, document.id, documents_services.CONTENT_COLUMN, document.content_sealed
        )
        assert documents_services.detect_format(content) is document.file_format
        assert hashlib.sha256(content).hexdigest() == document.sha256
        assert content[:8] not in document.content_sealed

    kinds = Counter(db_session.scalars(select(TimelineEvent.kind)))
    assert kinds["projects:project:created"] == len(projects)
    assert kinds["documents:document:added"] == len(documents)
