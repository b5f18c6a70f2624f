"""Retention runs as database jobs: an administrator's confirmed run moves its studies into the trash.

The actor is idempotent (every study's outcome is recorded as it is decided, so a second delivery or a retry goes
on with the studies left). An unexpected failure is retried with backoff and then waits, failed, on the Jobs screen
for Retry.
"""

import logging

from domain import retention, retention_runs

from .runner import job_actor

log = logging.getLogger(__name__)

RUN_TIME_LIMIT_MS = 2 * 3600 * 1000


@job_actor(retention.RUN_JOB, queue='default', max_retries=5)
def run_retention(run_id: int) -> None:
    """Move the confirmed studies of a retention run that still match and are not held into the trash."""
    retention_runs.run(run_id)


# A run of thousands of studies may take longer than Dramatiq's default ten minutes; a cut-off attempt would still
# go on where it stopped, but each one counts towards max_retries.
run_retention.options['time_limit'] = RUN_TIME_LIMIT_MS
