"""Process heartbeats and the facts /health judges by: live workers, waiting jobs, stuck studies."""

from datetime import timedelta

from domain import clock, db, health_facts, heartbeats, option_rules
from domain.models import Job, Study
from jobs import sweeper
from tests.conftest import Clinic

WORKER = 'a' * 32
WEB = 'b' * 32


def _beat(process_id: str = WORKER, *, role: str = 'worker', jobs: bool = True) -> None:
    heartbeats.beat(process_id, role=role, host='pacs-1', pid=4242, jobs=jobs)


def test_a_process_that_beats_is_alive(clinic: Clinic) -> None:
    _beat()
    _beat()  # the same row seen again
    assert heartbeats.alive() == 1
    [row] = heartbeats.listing()
    assert (row.role, row.host, row.pid, row.jobs) == ('worker', 'pacs-1', 4242, True)


def test_only_processes_that_run_jobs_count_as_workers(clinic: Clinic) -> None:
    _beat(WORKER)
    _beat(WEB, role='serve', jobs=False)
    assert (heartbeats.alive(), heartbeats.alive(jobs=True), heartbeats.alive(jobs=False)) == (2, 1, 1)


def test_a_process_unseen_for_three_beats_is_no_longer_alive(clinic: Clinic) -> None:
    _beat()
    clock.advance(timedelta(seconds=heartbeats.ALIVE_SECONDS + 1))
    assert heartbeats.alive() == 0
    _beat()
    assert heartbeats.alive() == 1


def test_a_process_that_leaves_is_gone_at_once(clinic: Clinic) -> None:
    _beat()
    heartbeats.leave(WORKER)
    assert (heartbeats.alive(), heartbeats.listing()) == (0, [])


def test_processes_unseen_for_a_day_are_pruned_and_a_pruned_one_that_beats_again_returns(clinic: Clinic) -> None:
    _beat(WORKER)
    clock.advance(heartbeats.PRUNE_AFTER + timedelta(minutes=1))
    _beat(WEB, role='serve', jobs=False)
    assert heartbeats.prune() == 1
    assert [row.id for row in heartbeats.listing()] == [WEB]
    _beat(WORKER)
    assert heartbeats.alive(jobs=True) == 1


def test_the_facts_count_live_workers_and_nothing_waits_on_an_empty_clinic(clinic: Clinic) -> None:
    _beat(WORKER)
    _beat(WEB, role='serve', jobs=False)
    facts = health_facts.gather()
    assert (facts.workers_alive, facts.processes_alive) == (1, 2)
    assert (facts.oldest_pending_seconds, facts.stuck_studies) == (None, 0)


def test_the_oldest_pending_job_is_aged_from_when_it_was_queued(clinic: Clinic) -> None:
    _add(Job(kind='build_thumbnails', object_id=1))
    clock.advance(timedelta(minutes=5))
    _add(Job(kind='extract_metadata', object_id=1))
    _add(Job(kind='build_thumbnails', object_id=2, state='done'))
    clock.advance(timedelta(minutes=1))
    assert 6 * 60 <= (health_facts.gather().oldest_pending_seconds or 0) < 7 * 60


def test_a_long_running_backup_is_not_pending_work_but_a_queued_one_is(clinic: Clinic) -> None:
    _add(Job(kind='run_backup', object_id=1, state='running'))
    clock.advance(timedelta(hours=2))
    assert health_facts.gather().oldest_pending_seconds is None
    _add(Job(kind='run_backup', object_id=2))
    clock.advance(timedelta(hours=1))
    assert health_facts.gather().oldest_pending_seconds == 3600


def test_a_study_receiving_past_the_quiet_period_and_margin_is_stuck(clinic: Clinic) -> None:
    _add(Study(study_instance_uid='1.2.840.1', state='receiving'))
    assert health_facts.gather().stuck_receiving == 0
    clock.advance(timedelta(seconds=health_facts.RECEIVING_LIMIT_S + 1))
    _add(Study(study_instance_uid='1.2.840.2', state='receiving'))  # its images are still arriving
    _add(Study(study_instance_uid='1.2.840.3', state='ready'))
    facts = health_facts.gather()
    assert (facts.stuck_receiving, facts.stuck_processing, facts.stuck_studies) == (1, 0, 1)


def test_a_study_in_the_longest_quiet_period_an_admin_may_set_is_not_stuck(clinic: Clinic) -> None:
    longest = option_rules.RULES['study_quiet_seconds']
    assert isinstance(longest, option_rules.Number)
    _add(Study(study_instance_uid='1.2.840.1', state='receiving'))
    clock.advance(timedelta(seconds=longest.high + sweeper.DECIDE_AFTER_S))  # the sweeper decides it only now
    assert health_facts.gather().stuck_receiving == 0


def test_a_study_processing_past_its_bound_is_stuck(clinic: Clinic) -> None:
    _add(Study(study_instance_uid='1.2.840.1', state='processing'))
    clock.advance(timedelta(seconds=health_facts.RECEIVING_LIMIT_S + 1))
    assert health_facts.gather().stuck_processing == 0  # a large study may take a while
    clock.advance(timedelta(seconds=health_facts.PROCESSING_LIMIT_S))
    facts = health_facts.gather()
    assert (facts.stuck_receiving, facts.stuck_processing) == (0, 1)


def _add(row: Job | Study) -> None:
    with db.transaction() as session:
        session.add(row)
