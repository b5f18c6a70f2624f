"""Retention on SQLite and PostgreSQL: what a rule picks, what legal holds keep back, and that a confirmed run removes
exactly the previewed studies that still match and are not held (into the trash), nothing else."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from sqlmodel import col, select

import jobs  # noqa: F401 - the broker first
from domain import access, audit, clock, db, patients, retention, retention_rules, retention_runs, studies, trash, work
from domain.errors import Conflict, InvalidInput
from domain.models import AuditEvent, Job, PatientCreate, RetentionRunStudy, Series, Study, TrashItem
from domain.retention_rules import RetentionRuleCreate
from domain.studies import InstanceHeader, StoredFile
from jobs import retention as retention_jobs
from tests.conftest import Clinic, job_worker, wait_until

US, CT = '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.2'
OLD = date(2010, 3, 4)
_uids = count(1)


@dataclass(frozen=True)
class World:
    """A clinic patient with old and new studies, and the ids of the studies by what they are."""

    patient_id: int
    ids: dict[str, int]


@pytest.fixture
def world(clinic: Clinic) -> World:
    details = PatientCreate(family_name='Kept', given_name='Ann', birth_date='1950-01-02')
    patient = patients.register(details, by=clinic.receptionist.actor)
    other_details = PatientCreate(family_name='Other', given_name='Bo', birth_date='1960-03-04')
    other = patients.register(other_details, by=clinic.receptionist.actor)
    recent = clock.now().date() - timedelta(days=40)
    ids = {
        'old cine': arrive_study(clinic, patient.patient_id, OLD, 'US', 'Echo CINE loop'),
        'old cine series': arrive_study(clinic, other.patient_id, OLD, 'US', 'Echo', series_description='Cine clips'),
        'old still': arrive_study(clinic, patient.patient_id, OLD, 'US', 'Echo stills'),
        'old ct cine': arrive_study(clinic, patient.patient_id, OLD, 'CT', 'CT cine'),
        'new cine': arrive_study(clinic, patient.patient_id, recent, 'US', 'Echo cine'),
        'undated cine': arrive_study(clinic, other.patient_id, None, 'US', 'cine without a date'),
    }
    with db.transaction() as session:  # the undated study arrived long ago
        undated = session.get(Study, ids['undated cine'])
        assert undated is not None
        undated.first_arrival = datetime(2011, 5, 6, tzinfo=UTC)
        session.add(undated)
    return World(patient.id or 0, ids)


@pytest.fixture
def rule_id(clinic: Clinic) -> int:
    data = RetentionRuleCreate(name='US cine', modality='us', description='cine', min_age=10, age_unit='years')
    return retention_rules.add(data, by=clinic.admin.actor).id or 0


@pytest.fixture
def worker(clinic: Clinic) -> Iterator[None]:
    with job_worker():
        yield


def test_a_rule_picks_its_modality_description_and_age_and_the_preview_totals_them(
    clinic: Clinic, world: World, rule_id: int
) -> None:
    shown = retention.preview(rule_id, by=clinic.admin.actor)
    expected = {world.ids[name] for name in ('old cine', 'old cine series', 'undated cine')}
    assert set(shown.study_ids) == expected
    assert shown.held == ()
    assert shown.size_bytes == 3 * 64  # one 64-byte image each
    assert {study.patient_name for study in shown.studies} >= {'Kept, Ann', 'Other, Bo'}  # names on screen only
    event = _events('retention.preview')[-1]
    assert event.detail == {'studies': 3, 'held': 0, 'bytes': 192}
    assert 'Kept' not in str(event.detail)


def test_studies_and_patients_under_legal_hold_are_kept_back_with_the_reason(
    clinic: Clinic, world: World, rule_id: int
) -> None:
    admin = clinic.admin.actor
    retention.set_legal_hold(study_id=world.ids['old cine series'], held=True, by=admin, reason='Case 12/2026')
    retention.set_legal_hold(patient_id=world.patient_id, held=True, by=admin, reason='Court order 7')
    shown = retention.preview(rule_id, by=admin)
    assert shown.study_ids == [world.ids['undated cine']]
    assert {(study.id, study.held_because) for study in shown.held} == {
        (world.ids['old cine series'], retention.STUDY_HELD),
        (world.ids['old cine'], retention.PATIENT_HELD),
    }


def test_retention_preview_equals_what_the_job_removes(
    clinic: Clinic, world: World, rule_id: int, worker: None
) -> None:
    shown = retention.preview(rule_id, by=clinic.admin.actor)
    run_id = retention.confirm(rule_id, shown.study_ids, by=clinic.admin.actor)
    wait_until(lambda: _run(clinic, run_id).state == 'done', 'the retention run done')
    outcomes = retention_runs.run_studies(run_id, by=clinic.admin.actor)
    removed = {study.study_id for study in outcomes if study.outcome == retention_runs.REMOVED}
    assert removed == set(shown.study_ids)
    with db.reading() as session:
        left = set(session.exec(select(Study.id)).all())
        trashed = set(session.exec(select(TrashItem.study_id).where(TrashItem.kind == 'study')).all())
        reasons = set(session.exec(select(TrashItem.reason)).all())
    assert trashed == removed
    assert left == set(world.ids.values()) - removed
    assert reasons == {'retention rule "US cine"'}
    run = _run(clinic, run_id)
    assert (run.removed, run.skipped, run.freed_bytes, run.job_state) == (3, 0, 192, 'done')
    assert _events('retention.run.end')[-1].detail['removed'] == 3


def test_a_confirmed_run_removes_only_the_listed_studies_even_when_more_match(
    clinic: Clinic, world: World, rule_id: int
) -> None:
    run_id = retention.confirm(rule_id, [world.ids['old cine'], world.ids['old still']], by=clinic.admin.actor)
    retention_runs.run(run_id)
    assert _outcomes(run_id) == {
        world.ids['old cine']: ('removed', ''),
        world.ids['old still']: ('skipped', retention_runs.NO_LONGER_MATCHES),  # never matched: not previewed
    }
    assert _on_file(world.ids['old cine series']) and _on_file(world.ids['undated cine'])


def test_a_hold_placed_between_preview_and_run_keeps_the_study(clinic: Clinic, world: World, rule_id: int) -> None:
    admin = clinic.admin.actor
    run_id = retention.confirm(rule_id, retention.preview(rule_id, by=admin).study_ids, by=admin)
    retention.set_legal_hold(study_id=world.ids['old cine series'], held=True, by=admin, reason='Case 3')
    retention.set_legal_hold(patient_id=world.patient_id, held=True, by=admin, reason='Court order 9')
    retention_runs.run(run_id)
    assert _outcomes(run_id) == {
        world.ids['old cine']: ('skipped', retention.PATIENT_HELD),
        world.ids['old cine series']: ('skipped', retention.STUDY_HELD),
        world.ids['undated cine']: ('removed', ''),
    }
    assert _on_file(world.ids['old cine']) and _on_file(world.ids['old cine series'])


def test_a_hold_placed_at_the_last_moment_is_refused_by_the_trash(
    clinic: Clinic, world: World, rule_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = clinic.admin.actor
    run_id = retention.confirm(rule_id, [world.ids['old cine']], by=admin)
    real = trash.trash_study

    def hold_first(study_id: int, *, by: access.Actor, reason: str) -> trash.TrashEntry:
        retention.set_legal_hold(study_id=study_id, held=True, by=admin, reason='Arrived just now')
        return real(study_id, by=by, reason=reason)

    monkeypatch.setattr(trash, 'trash_study', hold_first)
    retention_runs.run(run_id)
    outcome, reason = _outcomes(run_id)[world.ids['old cine']]
    assert outcome == 'skipped' and 'legal hold' in reason
    assert _on_file(world.ids['old cine'])


def test_a_study_that_no_longer_matches_at_run_time_is_skipped(clinic: Clinic, world: World, rule_id: int) -> None:
    admin = clinic.admin.actor
    run_id = retention.confirm(rule_id, retention.preview(rule_id, by=admin).study_ids, by=admin)
    with db.transaction() as session:  # renamed after the preview: no longer "cine"
        series = session.exec(select(Series).where(Series.study_id == world.ids['old cine series'])).one()
        series.description = 'Clips'
        session.add(series)
    trash.trash_study(world.ids['undated cine'], by=admin, reason='sent to the wrong clinic')
    retention_runs.run(run_id)
    assert _outcomes(run_id) == {
        world.ids['old cine']: ('removed', ''),
        world.ids['old cine series']: ('skipped', retention_runs.NO_LONGER_MATCHES),
        world.ids['undated cine']: ('skipped', retention_runs.IN_TRASH),
    }


def test_a_rule_changed_or_disabled_after_the_confirmation_removes_nothing_more(
    clinic: Clinic, world: World, rule_id: int
) -> None:
    admin = clinic.admin.actor
    run_id = retention.confirm(rule_id, retention.preview(rule_id, by=admin).study_ids, by=admin)
    older = RetentionRuleCreate(name='US cine', modality='US', description='cine', min_age=20, age_unit='years')
    retention_rules.update(rule_id, older, by=admin)  # 2010 is no longer old enough
    retention_runs.run(run_id)
    assert {outcome for outcome, _ in _outcomes(run_id).values()} == {'skipped'}
    second = retention.confirm(rule_id, [world.ids['old cine']], by=admin)
    retention_rules.update(rule_id, older.model_copy(update={'min_age': 1, 'enabled': False}), by=admin)
    retention_runs.run(second)
    assert _outcomes(second) == {world.ids['old cine']: ('skipped', retention_runs.RULE_DISABLED)}
    with pytest.raises(Conflict):
        retention.confirm(rule_id, [world.ids['old cine']], by=admin)


def test_a_run_delivered_twice_ends_the_same_and_is_audited_once(clinic: Clinic, world: World, rule_id: int) -> None:
    admin = clinic.admin.actor
    run_id = retention.confirm(rule_id, retention.preview(rule_id, by=admin).study_ids, by=admin)
    retention_runs.run(run_id)
    first = _outcomes(run_id)
    retention_runs.run(run_id)
    assert _outcomes(run_id) == first
    assert len(_events('retention.run.start')) == len(_events('retention.run.end')) == 1
    assert _events('retention.confirm')[0].detail == {'rule_id': rule_id, 'rule': 'US cine', 'studies': 3, 'bytes': 192}


def test_a_failing_run_waits_failed_under_jobs_and_retry_finishes_it(
    clinic: Clinic, world: World, rule_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = clinic.admin.actor
    run_id = retention.confirm(rule_id, [world.ids['old cine'], world.ids['undated cine']], by=admin)
    (job,) = _jobs()
    monkeypatch.setattr(trash, 'trash_study', _disk_full)
    for _attempt in range(5):  # max_retries=5: each failure is retried with backoff ...
        with pytest.raises(OSError):
            retention_jobs.run_retention.fn(job.id or 0)
    retention_jobs.run_retention.fn(job.id or 0)  # ... and the sixth is the last
    failed = _run(clinic, run_id)
    assert (failed.state, failed.job_state, failed.removed) == ('running', 'failed', 0)
    assert 'No space left on device' in failed.job_error
    monkeypatch.undo()
    work.retry(job.id or 0, by=admin)
    retention_jobs.run_retention.fn(job.id or 0)
    done = _run(clinic, run_id)
    assert (done.state, done.job_state, done.removed, done.skipped) == ('done', 'done', 2, 0)


def test_rule_changes_are_audited_with_old_and_new_values(clinic: Clinic, rule_id: int) -> None:
    admin = clinic.admin.actor
    changed = RetentionRuleCreate(name='US cine', modality='US', description='loop', min_age=18, age_unit='months')
    retention_rules.update(rule_id, changed, by=admin)
    assert _events('retention.update')[-1].detail == {
        'changed': {'description': ['cine', 'loop'], 'min_age_months': [120, 18]}
    }
    (row,) = retention_rules.list_rules(by=admin)
    assert retention_rules.form_of(row) == changed
    retention_rules.delete(rule_id, by=admin)
    assert _events('retention.delete')[-1].detail['name'] == 'US cine'
    assert retention_rules.list_rules(by=admin) == []


def test_a_rule_with_wrong_values_is_refused_field_by_field(clinic: Clinic) -> None:
    wrong = RetentionRuleCreate(name=' ', modality='U/S', description='x' * 201, min_age=2.5, age_unit='years')
    with pytest.raises(InvalidInput) as refused:
        retention_rules.add(wrong, by=clinic.admin.actor)
    assert set(refused.value.fields) == {'name', 'modality', 'description', 'min_age'}
    assert retention_rules.list_rules(by=clinic.admin.actor) == []


def test_a_legal_hold_needs_a_reason_and_is_audited_with_it(clinic: Clinic, world: World) -> None:
    admin, study_id = clinic.admin.actor, world.ids['old still']
    with pytest.raises(InvalidInput):
        retention.set_legal_hold(study_id=study_id, held=True, by=admin, reason='  ')
    retention.set_legal_hold(study_id=study_id, held=True, by=admin, reason='Case 5')
    assert retention.hold_of(study_id=study_id, by=clinic.technician.actor) == retention.Hold(True, False)
    retention.set_legal_hold(study_id=study_id, held=False, by=admin, reason='Case 5 closed')
    assert _events('study.legal_hold')[-1].detail == {'legal_hold': [False, True], 'reason': 'Case 5'}
    assert _events('study.legal_hold_release')[-1].detail == {'legal_hold': [True, False], 'reason': 'Case 5 closed'}
    assert audit.verify(by=admin).intact


def test_the_cutoff_is_today_less_the_months_with_the_day_clamped() -> None:
    assert retention.cutoff_date(12, date(2024, 2, 29)) == date(2023, 2, 28)
    assert retention.cutoff_date(120, date(2026, 12, 1)) == date(2016, 12, 1)
    assert retention.cutoff_date(1, date(2026, 3, 31)) == date(2026, 2, 28)
    assert retention.cutoff_date(3, date(2026, 1, 15)) == date(2025, 10, 15)


# ---------------------------------------------------------------- helpers


def arrive_study(
    clinic: Clinic,
    patient_id: str,
    study_date: date | None,
    modality: str,
    description: str,
    *,
    series_description: str = '',
) -> int:
    """One study of one 64-byte image, its file in the data directory, as the listener records it."""
    n = next(_uids)
    relative = f'dicom/retention/{n}.dcm'
    content = bytes([n % 256]) * 64
    (clinic.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (clinic.data_dir / relative).write_bytes(content)
    header = InstanceHeader(
        sop_instance_uid=f'1.2.826.0.1.3680043.9.7.{n}',
        sop_class_uid=US if modality == 'US' else CT,
        study_instance_uid=f'1.2.826.0.1.3680043.9.6.{n}',
        series_instance_uid=f'1.2.826.0.1.3680043.9.6.{n}.1',
        patient_name='Ignored^Name',
        patient_id=patient_id,
        study_date=study_date,
        study_description=description,
        series_description=series_description,
        modality=modality,
    )
    stored = StoredFile(relative, len(content), hashlib.sha256(content).hexdigest())
    studies.record_instance(header, stored, by=access.modality('US1'))
    with db.reading() as session:
        return session.exec(select(Study.id).where(Study.study_instance_uid == header.study_instance_uid)).one() or 0


def _disk_full(study_id: int, *, by: access.Actor, reason: str) -> trash.TrashEntry:
    raise OSError(28, 'No space left on device')


def _jobs() -> list[Job]:
    with db.reading() as session:
        return list(session.exec(select(Job).where(Job.kind == retention.RUN_JOB)))


def _run(clinic: Clinic, run_id: int) -> retention_runs.RunRow:
    return next(row for row in retention_runs.runs(by=clinic.admin.actor) if row.id == run_id)


def _outcomes(run_id: int) -> dict[int, tuple[str, str]]:
    with db.reading() as session:
        rows = session.exec(select(RetentionRunStudy).where(RetentionRunStudy.run_id == run_id)).all()
    return {row.study_id: (row.outcome, row.reason) for row in rows}


def _on_file(study_id: int) -> bool:
    with db.reading() as session:
        return session.get(Study, study_id) is not None


def _events(action: str) -> list[AuditEvent]:
    with db.reading() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))))
