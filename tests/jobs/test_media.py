"""Processing arriving images: the quiet period, metadata, thumbnails, ready, and the appointment's card."""

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
import redis.exceptions
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

import jobs  # noqa: F401 - the broker first
from dicom import storage
from dicom.ingest import Ingest
from domain import clock, db, events, studies, study_lists, work
from domain.models import Appointment, Instance, Job, Patient, Series, Study
from jobs import broker, media, runner, sweeper
from jobs.sweeper import Sweeper
from tests.conftest import WAIT_S, Clinic, job_worker

TECHNICIAN_SCANNER = 'TESTSCU'


@pytest.fixture
def pipeline(clinic: Clinic) -> Ingest:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    return Ingest()


def arrive(pipeline: Ingest, clinic: Clinic, name: str, **changes: object) -> int:
    """An image arrives (through the upload path: the same pipeline as a push); returns its study id."""
    dataset = pydicom.dcmread(get_testdata_file(name))
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    path = clinic.data_dir.parent / f'{name}.upload'
    dataset.save_as(path, enforce_file_format=True)
    outcome = pipeline.accept_file(path, by=clinic.technician.actor)
    assert outcome.study_id is not None
    return outcome.study_id


def quiet(study_id: int) -> None:
    clock.advance(timedelta(seconds=media.QUIET_SECONDS + 0.1))
    assert studies.complete_if_quiet(study_id, media.QUIET_SECONDS) == 0


def process(study_id: int) -> None:
    with db.reading() as session:
        series_ids = session.exec(select(Series.id).where(Series.study_id == study_id)).all()
    for series_id in series_ids:
        media.extract_series_metadata(series_id or 0)
        media.build_series_thumbnail(series_id or 0)


def state(study_id: int) -> str:
    with db.reading() as session:
        study = session.get(Study, study_id)
    assert study is not None
    return study.state


def test_a_study_waits_for_the_quiet_period_then_queues_one_job_of_each_kind_per_series(
    pipeline: Ingest, clinic: Clinic
) -> None:
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')
    # an hour's quiet period cannot have passed on any machine, however busy (a real second can)
    assert 0 < studies.complete_if_quiet(study_id, 3600) <= 3600
    assert state(study_id) == 'receiving'
    quiet(study_id)
    assert state(study_id) == 'processing'
    with db.reading() as session:
        kinds = sorted(job.kind for job in session.exec(select(Job)).all())
    assert kinds == ['build_thumbnails', 'extract_metadata']


def test_metadata_and_thumbnails_make_the_study_ready_and_running_them_twice_changes_nothing(
    pipeline: Ingest, clinic: Clinic
) -> None:
    seen: list[events.Event] = []
    events.subscribe(seen.append)
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')
    quiet(study_id)
    process(study_id)
    summary = study_lists.get(study_id, by=clinic.technician.actor)
    first_thumbnail = (clinic.data_dir / str(summary.series[0].thumbnail_path)).read_bytes()
    process(study_id)
    assert state(study_id) == 'ready' and studies.pending_instances() == 0
    assert (clinic.data_dir / str(summary.series[0].thumbnail_path)).read_bytes() == first_thumbnail
    assert first_thumbnail.startswith(b'\x89PNG')
    with db.reading() as session:
        instance = session.exec(select(Instance)).one()
    assert instance.state == 'processed' and instance.attributes['00080070']['Value'] == ['GE MEDICAL SYSTEMS']
    assert [type(e).__name__ for e in seen].count('StudyReady') == 1


def test_a_series_without_pixels_is_ready_without_a_thumbnail(pipeline: Ingest, clinic: Clinic) -> None:
    study_id = arrive(pipeline, clinic, 'test-SR.dcm')
    quiet(study_id)
    process(study_id)
    assert state(study_id) == 'ready'
    assert study_lists.get(study_id, by=clinic.technician.actor).series[0].thumbnail_path is None


def test_an_image_after_ready_takes_the_study_back_to_receiving(pipeline: Ingest, clinic: Clinic) -> None:
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')
    quiet(study_id)
    process(study_id)
    again = arrive(pipeline, clinic, 'CT_small.dcm', SOPInstanceUID=pydicom.uid.generate_uid())
    assert again == study_id and state(study_id) == 'receiving'
    quiet(study_id)
    process(study_id)
    assert state(study_id) == 'ready'


def test_a_booked_study_moves_its_appointment_to_in_scan_then_review(pipeline: Ingest, clinic: Clinic) -> None:
    patient_id, appointment_id = _booked('A0001')
    study_id = arrive(pipeline, clinic, 'CT_small.dcm', AccessionNumber='A0001', PatientID='WHATEVER')
    assert _appointment_state(appointment_id) == 'in-scan'
    summary = study_lists.get(study_id, by=clinic.technician.actor)
    assert (summary.patient_ref_id, summary.appointment_id) == (patient_id, appointment_id)
    quiet(study_id)
    process(study_id)
    assert _appointment_state(appointment_id) == 'review'


def test_a_study_links_to_a_patient_by_patient_id_when_no_appointment_matches(pipeline: Ingest, clinic: Clinic) -> None:
    patient_id, _ = _booked('A0002', clinic_patient_id='P-000042')
    study_id = arrive(pipeline, clinic, 'CT_small.dcm', AccessionNumber='NOPE', PatientID='P-000042')
    assert study_lists.get(study_id, by=clinic.technician.actor).patient_ref_id == patient_id


def test_an_unmatched_study_is_assigned_to_a_patient_and_it_is_audited(pipeline: Ingest, clinic: Clinic) -> None:
    patient_id, _ = _booked('A0003')
    study_id = arrive(pipeline, clinic, 'CT_small.dcm', AccessionNumber='', PatientID='UNKNOWN')
    unmatched = study_lists.listing(by=clinic.technician.actor, unmatched=True)
    assert [s.id for s in unmatched] == [study_id]
    matched: list[events.Event] = []
    events.subscribe(matched.append)
    study_lists.assign(study_id, patient_id, by=clinic.technician.actor)
    assert study_lists.listing(by=clinic.technician.actor, unmatched=True) == []
    assert events.StudyMatched(study_id, patient_id) in matched
    from domain.models import AuditEvent

    with db.reading() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'study.assign')).one()
    assert event.detail == {'from_patient': None, 'to_patient': patient_id}


@pytest.fixture
def running_worker(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(media, 'QUIET_SECONDS', 0.2)
    with job_worker():
        yield


def test_through_the_real_broker_an_arriving_study_becomes_ready_by_itself(
    clinic: Clinic, running_worker: None, tmp_path: Path
) -> None:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    ready = threading.Event()
    events.subscribe(lambda e: ready.set() if isinstance(e, events.StudyReady) else None)
    pipeline = Ingest(on_stored=media.arm)
    study_id = arrive(pipeline, clinic, 'MR_small.dcm')
    assert ready.wait(WAIT_S), 'the study never became ready'
    broker.broker.join('media', timeout=int(WAIT_S * 1000))
    assert state(study_id) == 'ready' and work.queue_depth() == 0


def _booked(accession: str, clinic_patient_id: str = 'P-000001') -> tuple[int, int]:
    with db.transaction() as session:
        patient = Patient(patient_id=clinic_patient_id, family_name='Doe', given_name='Jane')
        session.add(patient)
        session.flush()
        appointment = Appointment(
            patient_id=patient.id or 0, accession_number=accession, scheduled_at=clock.now(), state='in-room'
        )
        session.add(appointment)
        session.flush()
        return patient.id or 0, appointment.id or 0


def _appointment_state(appointment_id: int) -> str:
    with db.reading() as session:
        appointment = session.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment.state


def test_a_study_whose_last_two_jobs_finish_together_still_becomes_ready(pipeline: Ingest, clinic: Clinic) -> None:
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')
    quiet(study_id)
    with db.reading() as session:
        series_id = session.exec(select(Series.id).where(Series.study_id == study_id)).one()
        instance_ids = session.exec(select(Instance.id).where(Instance.series_id == series_id)).all()
    # The two worker threads of a real day, at their most unlucky: each looks at the study before either commits.
    race(
        lambda: studies.thumbnail_ready(series_id, f'thumbnails/{series_id}.png', 'f' * 64),
        lambda: studies.metadata_extracted(series_id, {instance_id: {} for instance_id in instance_ids}),
    )
    assert state(study_id) == 'ready'


def test_images_of_one_series_stored_at_the_same_time_are_all_counted(pipeline: Ingest, clinic: Clinic) -> None:
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')

    def store(name: str) -> None:
        dataset = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
        dataset.SOPInstanceUID = generate_uid()
        path = clinic.data_dir.parent / f'{name}.upload'
        dataset.save_as(path, enforce_file_format=True)
        assert pipeline.accept_file(path, by=clinic.technician.actor).study_id == study_id

    # Two associations of one scanner at once: the second image is counted while the first is not yet committed.
    race(lambda: store('first'), lambda: store('second'))
    with db.reading() as session:
        study = session.get(Study, study_id)
        series = session.exec(select(Series).where(Series.study_id == study_id)).one()
    assert study is not None and (study.num_instances, series.num_instances, study.num_series) == (3, 3, 1)


def race(first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run `first` on a thread held just before its commit while `second` runs; `first` commits once `second`
    reaches its own commit, or after a second (`second` may be waiting for a lock `first` holds)."""
    held, second_committing = threading.Event(), threading.Event()

    def before_commit(_session: Session) -> None:
        if threading.current_thread().name == 'first':
            held.set()
            second_committing.wait(1.0)
        elif threading.current_thread().name == 'second':
            second_committing.set()

    event.listen(Session, 'before_commit', before_commit)
    try:
        threads = [threading.Thread(target=first, name='first'), threading.Thread(target=second, name='second')]
        threads[0].start()
        assert held.wait(10)
        threads[1].start()
        for thread in threads:
            thread.join(10)
    finally:
        event.remove(Session, 'before_commit', before_commit)


# ---------------------------------------------------------------- a broker or database that is down


def test_an_image_is_stored_and_its_study_left_unarmed_when_the_decision_cannot_be_queued(
    pipeline: Ingest, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[int] = []

    def broker_down(*, args: tuple[int], delay: int) -> None:
        tried.append(args[0])
        raise redis.exceptions.ConnectionError('Connection refused')

    monkeypatch.setattr(media.decide_complete, 'send_with_options', broker_down)
    pipeline.on_stored = media.arm
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')  # stored: no exception reaches the sender
    assert study_id not in media._armed
    again = arrive(pipeline, clinic, 'CT_small.dcm', SOPInstanceUID=generate_uid())
    assert again == study_id and tried == [study_id, study_id]  # the next image tries again


def test_an_image_is_stored_whatever_its_after_store_step_raises(pipeline: Ingest, clinic: Clinic) -> None:
    def fails(study_id: int) -> None:
        raise RuntimeError('no decision today')

    pipeline.on_stored = fails
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')
    assert state(study_id) == 'receiving'


def test_the_sweeper_decides_a_study_whose_decision_was_lost(pipeline: Ingest, clinic: Clinic) -> None:
    broker.setup(None)
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')  # no on_stored: as if its message was lost
    assert Sweeper().sweep().decided == []  # within its quiet period and the margin it is not overdue
    clock.advance(timedelta(seconds=media.QUIET_SECONDS + sweeper.DECIDE_AFTER_S + 1))
    assert Sweeper().sweep().decided == [study_id]
    assert state(study_id) == 'processing'
    with db.reading() as session:
        assert sorted(job.kind for job in session.exec(select(Job)).all()) == ['build_thumbnails', 'extract_metadata']
    assert Sweeper().sweep().decided == []  # decided once


def test_a_decision_that_meets_an_unreachable_database_is_retried_quietly(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(study_id: int, quiet_seconds: float) -> float:
        raise OperationalError('SELECT 1', {}, Exception('connection refused'))

    monkeypatch.setattr(studies, 'complete_if_quiet', unreachable)
    with pytest.raises(runner.DependencyDown):  # a dramatiq.Retry: retried with backoff, no traceback logged
        media.decide_complete(1)


def test_a_study_that_cannot_be_decided_does_not_hold_up_the_others(
    pipeline: Ingest, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker.setup(None)
    broken = arrive(pipeline, clinic, 'CT_small.dcm')
    fine = arrive(pipeline, clinic, 'MR_small.dcm')
    clock.advance(timedelta(seconds=media.QUIET_SECONDS + sweeper.DECIDE_AFTER_S + 1))
    decide = studies.complete_if_quiet

    def fails_for_one(study_id: int, quiet_seconds: float) -> float:
        if study_id == broken:
            raise ValueError('a damaged row')
        return decide(study_id, quiet_seconds)

    monkeypatch.setattr(studies, 'complete_if_quiet', fails_for_one)
    assert Sweeper().sweep().decided == [fine]
    assert (state(broken), state(fine)) == ('receiving', 'processing')
