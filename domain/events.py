"""Domain events: small frozen records of what happened, published after the commit that made them true.

In one process, subscribers are called synchronously on the publishing thread (they must be quick:
the UI bridge hops onto the event loop, the dispatcher sends a queue message). A transport such as the
Redis relay (jobs/relay.py) carries every event to the other processes, where it is delivered as remote.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Protocol

from sqlmodel import Session

from . import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every domain event; subclasses are registered by class name for the wire."""

    registry: ClassVar[dict[str, type['Event']]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.registry[cls.__name__] = cls

    def to_wire(self) -> dict[str, Any]:
        """A JSON-ready dict naming the event's class."""
        return {'type': type(self).__name__, **asdict(self)}

    @staticmethod
    def from_wire(data: dict[str, Any]) -> 'Event | None':
        """The event a to_wire() dict describes, or None for an unknown type (a newer process)."""
        cls = Event.registry.get(str(data.get('type')))
        if cls is None:
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# ---------------------------------------------------------------- events of the foundation


@dataclass(frozen=True)
class UserChanged(Event):
    user_id: int


@dataclass(frozen=True)
class JobChanged(Event):
    job_id: int
    kind: str
    state: str


@dataclass(frozen=True)
class JobQueued(Event):
    job_id: int
    kind: str


@dataclass(frozen=True)
class SettingChanged(Event):
    key: str


# ---------------------------------------------------------------- the clinic's events (issues 4-7 add theirs here)


@dataclass(frozen=True)
class PatientChanged(Event):
    patient_id: int


@dataclass(frozen=True)
class AppointmentChanged(Event):
    appointment_id: int
    state: str


@dataclass(frozen=True)
class StudyArrived(Event):
    study_id: int


@dataclass(frozen=True)
class StudyUpdated(Event):
    study_id: int
    state: str


@dataclass(frozen=True)
class StudyReady(Event):
    study_id: int


@dataclass(frozen=True)
class StudyMatched(Event):
    study_id: int
    patient_id: int


@dataclass(frozen=True)
class MeasurementsChanged(Event):
    study_id: int


@dataclass(frozen=True)
class ReportChanged(Event):
    report_id: int
    study_id: int
    state: str


@dataclass(frozen=True)
class ReportFinalised(Event):
    report_id: int
    study_id: int


@dataclass(frozen=True)
class ReportPdfReady(Event):
    report_id: int


# ---------------------------------------------------------------- the bus


class Transport(Protocol):
    def send(self, event: Event) -> None: ...


Handler = Callable[[Event], object]
_lock = threading.Lock()
_handlers: list[tuple[Handler, bool]] = []
_transports: list[Transport] = []


def subscribe(handler: Handler, *, remote: bool = True) -> Callable[[], None]:
    """Call `handler(event)` for every event; with remote=False only for events of this process."""
    entry = (handler, remote)
    with _lock:
        _handlers.append(entry)

    def unsubscribe() -> None:
        with _lock:
            if entry in _handlers:
                _handlers.remove(entry)

    return unsubscribe


def publish(event: Event) -> None:
    """Deliver the event here and send it to the other processes."""
    deliver(event, remote=False)
    for transport in list(_transports):
        try:
            transport.send(event)
        except Exception:
            log.exception('could not relay %s', type(event).__name__)


def publish_after(session: Session, event: Event) -> None:
    """Publish the event once the session's transaction has committed."""
    db.after_commit(session, lambda: publish(event))


def deliver(event: Event, *, remote: bool) -> None:
    """Call the subscribers (a transport calls this with remote=True for other processes' events)."""
    with _lock:
        handlers = [handler for handler, wants_remote in _handlers if wants_remote or not remote]
    for handler in handlers:
        try:
            handler(event)
        except Exception:
            log.exception('event handler failed for %s', type(event).__name__)


def add_transport(transport: Transport) -> None:
    """Relay every published event through this transport as well."""
    _transports.append(transport)


def remove_transport(transport: Transport) -> None:
    """Stop relaying through this transport."""
    if transport in _transports:
        _transports.remove(transport)


def reset() -> None:
    """Forget every subscriber and transport (tests and shutdown)."""
    with _lock:
        _handlers.clear()
    _transports.clear()
