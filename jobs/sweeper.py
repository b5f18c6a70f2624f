"""The sweeper: sends again whatever work the database says is owed and nobody is doing.

Queue messages are only prompts; the database is the record (the outbox): a job row is written in the
transaction that calls for it, and a study still receiving after its quiet period is owed a decision.
Every few seconds, in each process that runs jobs (jobs/scheduler.py), the sweeper

- renews the leases of the jobs this process is running (a lapsed lease means their process died),
- decides the studies whose quiet period ended DECIDE_AFTER_S ago (their message was lost),
- sends again the jobs past their due time (domain.work: queued and not started, or a lapsed lease).

Whatever the broker or the database did meanwhile, the next sweep finds the same rows. Its own failures
(PostgreSQL or Redis down) are logged once per outage and tried again at the next sweep.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from domain import studies, work

from . import media, runner

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0
DECIDE_AFTER_S = 10.0  # beyond the quiet period: a decision this late was lost, not merely queued
BATCH = 200  # jobs sent again per sweep (a backlog drains over several sweeps)


@dataclass
class Swept:
    """What one sweep did."""

    renewed: int = 0
    decided: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the steps that met an outage or an error


class Sweeper:
    """One sweep at a time; remembers which steps are failing so an outage is logged once."""

    def __init__(self) -> None:
        self._failing: set[str] = set()
        self._undecidable: set[int] = set()  # studies whose decision raised: logged once

    def sweep(self) -> Swept:
        """Renew, decide, send again; never raises."""
        swept = Swept()
        self._step('renew', swept, lambda: self._renew(swept))
        self._step('decide', swept, lambda: self._decide(swept))
        self._step('resend', swept, lambda: self._resend(swept))
        return swept

    def _renew(self, swept: Swept) -> None:
        running = runner.running_here()
        work.renew(running)
        swept.renewed = len(running)

    def _decide(self, swept: Swept) -> None:
        quiet = media.quiet_seconds()
        for study_id in studies.overdue_decisions(quiet, DECIDE_AFTER_S):
            try:
                studies.complete_if_quiet(study_id, quiet)  # its jobs go out through dispatch
            except Exception as error:
                if runner.dependency_down(error):
                    raise
                if study_id not in self._undecidable:  # one study's fault does not hold up the others
                    self._undecidable.add(study_id)
                    log.exception('sweeper: study %s cannot be decided; it stays receiving', study_id)
                continue
            self._undecidable.discard(study_id)
            swept.decided.append(study_id)
        if swept.decided:
            log.info('decided %d studies whose completion decision was overdue: %s', len(swept.decided), swept.decided)

    def _resend(self, swept: Swept) -> None:
        claimed = work.claim_overdue(BATCH)
        for done, (job_id, kind) in enumerate(claimed):
            try:
                runner.send(job_id, kind)
            except Exception:
                work.release([claimed_id for claimed_id, _ in claimed[done:]])  # due at once, for the next sweep
                raise
            swept.resent.append(job_id)
        if swept.resent:
            log.info('sent %d overdue jobs again: %s', len(swept.resent), swept.resent[:20])

    def _step(self, name: str, swept: Swept, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as error:
            swept.failed.append(name)
            if name not in self._failing:
                self._failing.add(name)
                outage = runner.dependency_down(error)
                log.warning(
                    'sweeper: %s failed (%s: %s); trying again every %.0f s',
                    name,
                    type(error).__name__,
                    str(error).strip().splitlines()[0][:200] if str(error).strip() else '',
                    SWEEP_EVERY_S,
                    exc_info=not outage,  # an outage needs no traceback; anything else does
                )
            return
        if name in self._failing:
            self._failing.discard(name)
            log.info('sweeper: %s works again', name)
