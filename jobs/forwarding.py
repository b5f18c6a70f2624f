"""Sending to other DICOM nodes as database jobs: forwarding ready studies, and storage commitment reports.

`start(settings)` (every process that runs jobs) keeps the clinic's AE title for outgoing associations and routes
each study this process makes ready (StudyReady) through the forwarding rules, which queues one forward job per
study and matching rule. Both actors are retried with backoff; what retrying cannot fix (a disabled destination, an
image no accepted syntax can carry, a modality with no entered address) fails at once and waits on the Jobs screen.
"""

import logging
from collections.abc import Callable

from dicom import commitment as commitment_scp
from dicom import sending
from domain import commitment, events, forwarding
from domain.settings import Settings

from .runner import job_actor

log = logging.getLogger(__name__)

_calling = {'ae_title': 'CLINICPACS'}  # the clinic's AE title (PACS_AE_TITLE), set by start()


class NotDelivered(Exception):
    """The destination refused some images (its status); the job tries again."""


class Undeliverable(Exception):
    """Some images can never go to this destination (not accepted, undecodable, unreadable)."""


def start(settings: Settings) -> Callable[[], None]:
    """Route studies this process makes ready; returns the unsubscribe."""
    _calling['ae_title'] = settings.ae_title

    def on_event(event: events.Event) -> None:
        if isinstance(event, events.StudyReady):
            try:
                forwarding.route(event.study_id)
            except Exception:  # the study is ready all the same; route_recent() tries again at the next start
                log.exception('study %s could not be routed', event.study_id)

    return events.subscribe(on_event, remote=False)


def route_recent() -> int:
    """At start-up: route the studies of the last day that a stopped process may have left unrouted."""
    return forwarding.route_recent()


@job_actor(
    forwarding.FORWARD_JOB,
    queue='forward',
    max_retries=10,
    throws=(forwarding.DestinationUnavailable, Undeliverable),
)
def forward_study(forward_id: int) -> None:
    """Send every image of the study to the rule's destination by C-STORE."""
    planned = forwarding.plan(forward_id)
    if planned is None:
        return
    delivery = sending.store(
        planned.files,
        calling_ae=_calling['ae_title'],
        called_ae=planned.ae_title,
        host=planned.host,
        port=planned.port,
    )
    if delivery.undeliverable:
        path, why = delivery.undeliverable[0]
        raise Undeliverable(f'{len(delivery.undeliverable)} images cannot go to {planned.ae_title} ({path}: {why})')
    if delivery.refused:
        path, status = delivery.refused[0]
        raise NotDelivered(f'{planned.ae_title} refused {len(delivery.refused)} images (0x{status & 0xFFFF:04X})')
    forwarding.delivered(forward_id, delivery.sent)


@job_actor(commitment.REPORT_JOB, queue='forward', max_retries=10, throws=(commitment_scp.NoAddress,))
def report_commitment(request_id: int) -> None:
    """Check the images of a storage commitment request and send the modality its N-EVENT-REPORT."""
    commitment_scp.report(request_id, fallback_ae=_calling['ae_title'])
