"""Processing of arriving images: deciding a study is complete, extracting metadata, building thumbnails.

A study is complete after its quiet period without a new image (the administrator's option study_quiet_seconds,
QUIET_SECONDS unless set; read when used, so a change needs no restart): `arm(study_id)` (called by the receiving
pipeline after each new image) sends one delayed `decide_complete` per study at a time, which sends
itself again if images kept coming. Completion queues one metadata job and one thumbnail job per
series (database jobs, so a crash loses nothing); the last of them to finish makes the study ready.

The message is only a prompt: a study still receiving after its quiet period is itself the record that
a decision is owed, and the sweeper (jobs/sweeper.py) decides it if the message never came (the broker
was down, the retries ran out while the database was, a process died).
"""

import hashlib
import logging
import threading
import time
from typing import Any

import dramatiq

from dicom import parse, render, storage
from domain import options, studies

from . import broker, runner
from .runner import job_actor

log = logging.getLogger(__name__)

QUIET_SECONDS = options.DEFAULTS['study_quiet_seconds']  # the quiet period while the administrator sets none
DECIDE_RETRIES = 20  # for a genuine error; an unreachable database or broker: runner's outage retries
THUMBNAIL_EDGE = 256

_armed: dict[int, float] = {}  # study id -> monotonic time its pending decision fires
_lock = threading.Lock()
_send_failing = threading.Event()  # one warning per broker outage, not per image
broker.on_setup(_armed.clear)  # decisions pending on a replaced broker will never arrive


def arm(study_id: int) -> None:
    """An image of the study arrived: make sure a "complete?" decision is pending for it.

    Never raises: the image is committed and its sender must hear success. A decision that cannot be
    sent leaves the study unarmed (the next image tries again) and to the sweeper.
    """
    try:
        quiet = quiet_seconds()
    except Exception:  # the option cannot be read just now: the default; the decision reads it again
        quiet = QUIET_SECONDS
    now = time.monotonic()
    with _lock:
        if _armed.get(study_id, 0.0) > now:
            return
        _armed[study_id] = now + quiet
    try:
        decide_complete.send_with_options(args=(study_id,), delay=int(quiet * 1000))
    except Exception as error:
        with _lock:
            _armed.pop(study_id, None)
        if not _send_failing.is_set():
            _send_failing.set()
            log.warning(
                'study %s: its completion decision was not queued (%s); the sweeper will decide it',
                study_id,
                type(error).__name__,
            )
        return
    _send_failing.clear()


def quiet_seconds() -> float:
    """The quiet period after which a study is complete (the option as read at most a few seconds ago)."""
    return float(options.recent('study_quiet_seconds'))


def requeue_receiving() -> int:
    """At start-up: decide again every study that was still receiving (the decision lived in memory)."""
    pending = studies.receiving_studies()
    for sent, study_id in enumerate(pending):
        try:
            decide_complete.send(study_id)
        except Exception as error:  # the broker is down: the sweeper decides them once they are overdue
            log.warning('%d receiving studies left to the sweeper (%s)', len(pending) - sent, type(error).__name__)
            break
    return len(pending)


@dramatiq.actor(queue_name='media', min_backoff=200, max_backoff=5000, retry_when=runner.retry_when(DECIDE_RETRIES))
def decide_complete(study_id: int) -> None:
    """Move the study on to processing if it has been quiet long enough, else look again later."""
    try:
        left = studies.complete_if_quiet(study_id, quiet_seconds())
        if left > 0:
            with _lock:
                _armed[study_id] = time.monotonic() + left
            decide_complete.send_with_options(args=(study_id,), delay=max(int(left * 1000), 10))
        else:
            with _lock:
                _armed.pop(study_id, None)
    except Exception as error:
        if runner.dependency_down(error):
            raise runner.outage_met(f'the decision on study {study_id}', error) from error
        raise
    runner.outage_over()


@job_actor(studies.METADATA_JOB, queue='media', max_retries=5)
def extract_metadata(series_id: int) -> None:
    """Copy the extra header attributes of each new image of the series into the index."""
    extract_series_metadata(series_id)


@job_actor(studies.THUMBNAIL_JOB, queue='media', max_retries=5)
def build_thumbnails(series_id: int) -> None:
    """Draw the series' middle image as a viewer would and keep it as the series thumbnail."""
    build_series_thumbnail(series_id)


def extract_series_metadata(series_id: int) -> None:
    """The metadata job's work; safe to run twice (only images still 'stored' are read)."""
    extracted: dict[int, dict[str, Any] | None] = {}
    for item in studies.instances_to_extract(series_id):
        try:
            with storage.open_file(item.file_path) as reader:
                extracted[item.instance_id] = parse.extract_attributes(reader)
        except FileNotFoundError:
            log.warning('instance %s: its file %s is missing', item.instance_id, item.file_path)
            extracted[item.instance_id] = None
        except Exception as error:
            log.warning('instance %s: metadata cannot be read (%s)', item.instance_id, type(error).__name__)
            extracted[item.instance_id] = None
    studies.metadata_extracted(series_id, extracted)


def build_series_thumbnail(series_id: int) -> None:
    """The thumbnail job's work; safe to run twice (nothing is left to do once the thumbnail exists)."""
    job = studies.thumbnail_source(series_id)
    if job is None:
        return
    if not job.file_path:
        studies.thumbnail_ready(series_id, None, '')  # no image in this series (a report, a waveform)
        return
    try:
        png = render.thumbnail(storage.absolute(job.file_path), edge=THUMBNAIL_EDGE)
    except render.RenderError as error:
        log.warning('series %s has no thumbnail: %s', series_id, error)
        studies.thumbnail_ready(series_id, None, '')
        return
    storage.replace_atomically(job.thumbnail_path, png)
    studies.thumbnail_ready(series_id, job.thumbnail_path, hashlib.sha256(png).hexdigest())
