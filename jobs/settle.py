"""The queued work done here and now, in this thread: for a console command that must leave it finished (the demo).

Studies still receiving are decided at once (the demo's images have all arrived), then every queued job runs
through its own actor, exactly as a worker would run it, until nothing is left.
"""

import logging

import jobs.actors  # noqa: F401 - every kind of job has its actor declared
from domain import studies, work

from . import runner

log = logging.getLogger(__name__)

MAX_ROUNDS = 10  # a job may queue another (a finished study, a re-rendered PDF); never an endless chain


def run_pending() -> int:
    """Decide every receiving study and run every queued job until none is left; returns how many jobs ran."""
    ran = 0
    for _round in range(MAX_ROUNDS):
        for study_id in studies.receiving_studies():
            studies.complete_if_quiet(study_id, 0.0)
        pending = work.unfinished()
        if not pending:
            return ran
        for job in pending:
            runner.KINDS[job.kind](job.id or 0)
            ran += 1
    raise RuntimeError(f'jobs were still queued after {MAX_ROUNDS} rounds')
