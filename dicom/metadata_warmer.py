"""Making WADO-RS metadata while a study arrives, so the first viewer to open it waits for nothing.

A study arriving, growing or becoming ready (domain events, from this process or relayed from the others) queues
its id; one background thread makes the DICOM JSON of every instance not yet made (dicom.dicom_json's cache, kept
in memory and in PACS_DATA_DIR/cache/dicom-json/ for every process). Nothing is audited: no one has viewed the
study. A request that comes first simply makes what is still missing itself.
"""

import logging
import queue
import threading
from collections.abc import Callable

from domain import access, events, image_retrieval
from domain.errors import NotFound

from . import dicom_json

log = logging.getLogger(__name__)

_STUDY_EVENTS = (events.StudyArrived, events.StudyUpdated, events.StudyReady)


class MetadataWarmer:
    """One thread making the metadata of the studies named to it, each study once per request to warm it."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._waiting: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def on_event(self, event: events.Event) -> None:
        """An event handler: queue the study of an arrival, update or completion (quick; the work is elsewhere)."""
        if isinstance(event, _STUDY_EVENTS):
            self.warm(event.study_id)

    def warm(self, study_id: int) -> None:
        """Make the study's metadata soon (a study already waiting is not queued twice)."""
        with self._lock:
            if study_id in self._waiting:
                return
            self._waiting.add(study_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name='metadata-warmer', daemon=True)
                self._thread.start()
        self._queue.put(study_id)

    def _run(self) -> None:
        while True:
            study_id = self._queue.get()
            with self._lock:
                self._waiting.discard(study_id)
            try:
                made = prepare(study_id)
            except Exception as error:  # a missing or unreadable file: the request that needs it will say so
                log.warning('metadata of study %s not made ahead: %s', study_id, str(error)[:200])
                continue
            if made:
                log.debug('made the metadata of %d instance(s) of study %s', made, study_id)


def prepare(study_id: int) -> int:
    """Make the DICOM JSON of the study's instances that have none yet; returns how many were made."""
    try:
        found = image_retrieval.study_images(study_id, by=access.system('dicomweb'))
    except NotFound:
        return 0
    before = dicom_json.cache.made
    for instance in found.instances:
        dicom_json.cache.get(found.study_uid, instance)
    return dicom_json.cache.made - before


warmer = MetadataWarmer()


def start() -> Callable[[], None]:
    """Listen for arriving studies (ui.register_pages via dicom.wado_rs.register); returns the unsubscribe."""
    return events.subscribe(warmer.on_event)
