"""Attack: a receptionist marks a study urgent, gives it to a radiologist or rewrites what links it to a patient; a
technician discards or retries jobs, or uses the right to assign readers to take a draft from its author. Each call
is refused in the domain (a crafted call from an open screen gets no further than a wrong button) and the refusal is
audited; nothing changes."""

import pytest
from sqlmodel import select

from domain import db, reading, report_ownership, study_corrections, study_lists, work
from domain.errors import NotAllowed
from domain.models import AuditEvent, Job, Report, ReportTemplate, Study
from tests.conftest import Clinic
from tests.domain.reception_fixtures import patient


def _study() -> int:
    with db.transaction() as session:
        study = Study(study_instance_uid='1.2.826.0.1.99', state='ready')
        session.add(study)
        session.flush()
        return study.id or 0


def _refusals(username: str) -> list[str]:
    with db.reading() as session:
        return list(
            session.exec(
                select(AuditEvent.action).where(AuditEvent.username == username, AuditEvent.outcome == 'denied')
            ).all()
        )


def test_a_receptionist_cannot_mark_urgent_assign_or_correct_a_study(clinic: Clinic) -> None:
    study_id = _study()
    jane = patient(clinic)
    actor = clinic.receptionist.actor
    attempts = (
        lambda: reading.set_urgent(study_id, True, by=actor),
        lambda: reading.assign(study_id, clinic.radiologist.user_id, by=actor),
        lambda: reading.radiologists(by=actor),
        lambda: study_corrections.work(study_id, by=actor),
        lambda: study_corrections.correct_accession(study_id, 'FORGED-1', by=actor),
        lambda: study_lists.assign(study_id, jane.id or 0, by=actor),
    )
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
    with db.reading() as session:
        unchanged = session.get(Study, study_id)
    assert unchanged is not None
    assert (unchanged.urgent, unchanged.assigned_to_id, unchanged.accession_number, unchanged.patient_ref_id) == (
        False,
        None,
        '',
        None,
    )
    assert len(_refusals(actor.username)) == len(attempts)


@pytest.mark.parametrize('role', ['technician', 'radiologist', 'receptionist'])
def test_only_an_administrator_discards_or_retries_a_job(clinic: Clinic, role: str) -> None:
    with db.transaction() as session:
        job = Job(kind='build_thumbnails', object_id=1, state='failed', error='Thumbnails: no pixels')
        session.add(job)
        session.flush()
        job_id = job.id or 0
    actor = clinic.account(role).actor
    for attempt in (lambda: work.discard(job_id, by=actor), lambda: work.retry(job_id, by=actor)):
        with pytest.raises(NotAllowed):
            attempt()
    with db.reading() as session:
        assert session.get(Job, job_id).state == 'failed'  # type: ignore[union-attr]
    assert _refusals(actor.username) == ['denied:manage-jobs', 'denied:manage-jobs']


def test_a_technician_who_assigns_readers_cannot_reassign_a_draft_or_release_a_colleagues_study(
    clinic: Clinic,
) -> None:
    study_id = _study()
    reading.claim(study_id, by=clinic.radiologist.actor)
    with db.transaction() as session:
        template = ReportTemplate(code='t', name='t')
        session.add(template)
        session.flush()
        draft = Report(study_id=study_id, template_id=template.id, state='draft', author_id=clinic.radiologist.user_id)
        session.add(draft)
        session.flush()
        report_id = draft.id or 0
    actor = clinic.technician.actor
    with pytest.raises(NotAllowed):
        report_ownership.reassign(report_id, clinic.admin.user_id, by=actor)
    with pytest.raises(NotAllowed):
        reading.release(study_id, by=actor)
    with db.reading() as session:
        assert session.get(Report, report_id).author_id == clinic.radiologist.user_id  # type: ignore[union-attr]
        assert session.get(Study, study_id).assigned_to_id == clinic.radiologist.user_id  # type: ignore[union-attr]
    # Both refusals are in the trail; the release's came inside its own write transaction, whose lock the refusal's
    # audit waited 30 s for on SQLite, then lost ("database is locked").
    assert _refusals(actor.username) == ['denied:assign-studies', 'denied:assign-studies']
