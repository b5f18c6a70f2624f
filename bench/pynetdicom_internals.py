"""What each use of pynetdicom's internals buys: the worklist C-FIND and a C-ECHO with each one left out in turn.

    .venv/bin/python bench/pynetdicom_internals.py [--rounds 25] [--patients 2000]

One listener answers DCMTK's findscu -W (a day of 200 appointments, Nagle on as DCMTK's default) and echoscu.
Between runs the benchmark swaps what the listener does for the next association: everything as shipped
('shipped'), or one change: the former eager DUL put back (a DUL subclass napping 0.1 ms instead of 1 ms while
busy; removed), the quick ACK after each read left out, the quick ACK set from pynetdicom's public
EVT_DATA_RECV event instead of wrapping the socket's recv, the shared supported contexts replaced by
pynetdicom's per-association deep copy, and the bulk C-FIND answers replaced by pynetdicom's own (the handler
yields one pydicom data set per answer). Variants take every place in the round in turn; the figures are
medians (ms) with their ratio to 'shipped'.
"""

import argparse
import contextlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import reception  # the same patients and day as bench/reception.py
from pynetdicom import evt
from pynetdicom.dul import DULServiceProvider

from dicom import scp, storage, transport
from dicom import worklist as dicom_worklist
from dicom.ingest import Ingest
from domain import access, auth, db, modalities, procedures
from domain import worklist as domain_worklist
from domain.access import system
from domain.settings import Settings

shipped_tune = transport.tune


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=25)
    parser.add_argument('--patients', type=int, default=2000)
    args = parser.parse_args()
    tools = {name: shutil.which(name) or '' for name in ('findscu', 'echoscu')}
    if not all(tools.values()):
        print('skipped: DCMTK findscu/echoscu not installed')
        return
    work = Path(tempfile.mkdtemp(prefix='bench-internals-'))
    settings = Settings(_env_file=None, data_dir=work, dicom_port=0)  # type: ignore[call-arg]
    db.configure(settings)
    db.create_all()
    auth.configure(settings)
    actor = system('bench')
    reception._generate(args.patients)
    rooms = [
        modalities.add(
            modalities.ModalityCreate(ae_title=f'CT_ROOM{n}', host='127.0.0.1', port=104, modality='CT'), by=actor
        )
        for n in (1, 2)
    ]
    head = procedures.create('CT-HEAD', 'CT head', 'CT', 3, by=actor)
    reception._book_day(200, rooms, head.id or 0)
    storage.configure(work, min_free_bytes=0)
    listener = scp.start(settings, Ingest())
    shared = list(listener.server.contexts)
    copied = [context for context in listener.ae.supported_contexts]
    shipped_find = scp.find_handlers[dicom_worklist.SOP_CLASS]

    @contextlib.contextmanager
    def variant(name: str) -> Iterator[None]:
        if name == 'with-eager-dul':
            transport.tune = _tune_eager
        elif name == 'no-quick-ack':
            transport.tune = _tune_without_quick_ack
        elif name == 'quick-ack-by-event':
            transport.tune = _tune_by_event
        elif name == 'no-shared-contexts':
            listener.server.contexts = copied
        elif name == 'no-bulk-answers':
            scp.find_handlers[dicom_worklist.SOP_CLASS] = _yielding_datasets
        try:
            yield
        finally:
            transport.tune = shipped_tune
            listener.server.contexts = shared
            scp.find_handlers[dicom_worklist.SOP_CLASS] = shipped_find

    base = ['-aet', 'CT_ROOM1', '-aec', settings.ae_title]
    find = [tools['findscu'], '-W', *base, '-k', 'PatientName', '-k', 'PatientID', '-k', 'AccessionNumber']
    find += ['-k', 'ScheduledProcedureStepSequence[0].Modality=CT', '127.0.0.1', str(listener.port)]
    echo = [tools['echoscu'], *base, '127.0.0.1', str(listener.port)]
    names = ['shipped', 'with-eager-dul', 'no-quick-ack', 'quick-ack-by-event', 'no-shared-contexts', 'no-bulk-answers']
    times: dict[tuple[str, str], list[float]] = {(n, what): [] for n in names for what in ('find', 'echo')}
    try:
        for name in names:  # each variant answers correctly before it is timed
            with variant(name):
                answers = subprocess.run(find, check=True, capture_output=True, text=True).stderr
                count = answers.count('Find Response:')
                assert count >= 200, f'{name}: {count} responses'
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                with variant(name):
                    times[name, 'find'].append(_timed(lambda: subprocess.run(find, check=True, capture_output=True)))
                    times[name, 'echo'].append(_timed(lambda: subprocess.run(echo, check=True, capture_output=True)))
    finally:
        listener.stop()
        db.dispose()
        shutil.rmtree(work, ignore_errors=True)
    p50 = {key: statistics.median(values) for key, values in times.items()}
    print(f'findscu -W (200 answers, Nagle on) and echoscu, p50 over {args.rounds} interleaved rounds:')
    for name in names:
        print(
            f'  {name:20} find {p50[name, "find"]:6.1f} ms (x{p50[name, "find"] / p50["shipped", "find"]:.2f})   '
            f'echo {p50[name, "echo"]:6.1f} ms (x{p50[name, "echo"] / p50["shipped", "echo"]:.2f})'
        )


def _tune_eager(assoc: Any) -> None:
    """As shipped, plus the former eager DUL."""
    shipped_tune(assoc)
    dul = assoc.dul
    if type(dul) is DULServiceProvider:
        dul.__class__ = _EagerDUL
        cast(_EagerDUL, dul).busy()


def _tune_without_quick_ack(assoc: Any) -> None:
    """Nagle off only."""
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _tune_by_event(assoc: Any) -> None:
    """Nagle off, and the quick ACK set after each whole PDU from pynetdicom's public EVT_DATA_RECV event."""
    _tune_without_quick_ack(assoc)
    sock = assoc.dul.socket.socket

    def acknowledge(_event: Any) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    assoc.bind(evt.EVT_DATA_RECV, acknowledge)
    acknowledge(None)


class _EagerDUL(DULServiceProvider):
    """The former dicom/transport.EagerDUL: naps 0.1 ms between looks while busy, pynetdicom's 1 ms after 0.5 s."""

    _busy_until = 0.0

    @property
    def _run_loop_delay(self) -> float:
        return 0.0001 if time.monotonic() < self._busy_until else 0.001

    @_run_loop_delay.setter
    def _run_loop_delay(self, _value: float) -> None:
        pass

    def busy(self) -> None:
        self._busy_until = time.monotonic() + 0.5

    def send_pdu(self, primitive: Any) -> None:
        self.busy()
        super().send_pdu(primitive)

    def _is_transport_event(self) -> bool:
        ready = super()._is_transport_event()
        if ready:
            self.busy()
        return ready


def _yielding_datasets(event: Any) -> Iterator[tuple[int, Any]]:
    """The worklist answered through pynetdicom's public handler contract: one pydicom data set per answer."""
    requestor = event.assoc.requestor
    actor = access.modality(requestor.ae_title.strip(), requestor.address)
    plan = dicom_worklist.response_plan(event.identifier)
    query = dicom_worklist.to_query(event.identifier)
    with domain_worklist.answering(query, by=actor) as items:
        for item in items:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield 0xFF00, dicom_worklist.as_dataset(plan(item))
    yield 0x0000, None


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


if __name__ == '__main__':
    main()
