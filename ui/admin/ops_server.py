"""What the admin home knows about this server beyond the database: the DICOM listener (this process's, with its probe
and ports, or separate `scp` processes seen by their heartbeats) and the data directory with its free-space floor.

main.py tells it once at start-up (`configure`); the cards read it off the event loop.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domain import ops_figures
from domain.ops_figures import Disk
from domain.settings import Settings

Probe = Callable[[], bool | tuple[str, str]]  # the listener's /health probe: True, False or (state, why)
DEFAULT_MIN_FREE_DISK_MB: int = Settings.model_fields['min_free_disk_mb'].default


@dataclass(frozen=True)
class Server:
    """This process's configuration as the cards need it (unconfigured: no listener here, the working directory)."""

    data_dir: Path = Path('.')
    min_free_bytes: int = DEFAULT_MIN_FREE_DISK_MB * 1024 * 1024
    ae_title: str = ''
    port: int | None = None  # the DICOM port: this process's listener's, else the configured one
    tls_port: int | None = None
    probe: Probe | None = None  # None: the listener does not run in this process


SERVER = Server()


def configure(
    settings: Settings, *, probe: Probe | None = None, port: int | None = None, tls_port: int | None = None
) -> None:
    """main.py: the settings, and this process's listener (its probe and the ports it opened) when it runs one."""
    global SERVER
    SERVER = Server(
        data_dir=settings.data_dir,
        min_free_bytes=settings.min_free_disk_mb * 1024 * 1024,
        ae_title=settings.ae_title,
        port=port if port is not None else settings.dicom_port,
        tls_port=tls_port,
        probe=probe,
    )


@dataclass(frozen=True)
class ListenerSeen:
    """The DICOM listener: 'ok', 'saturated' or 'down', and where it listens."""

    state: str
    reason: str  # why it is saturated (English, from the probe)
    here: bool  # runs in this process
    processes: int  # separate `scp` processes alive
    ae_title: str
    port: int | None
    tls_port: int | None


def listener() -> ListenerSeen:
    """This process's listener by its probe, else the separate listener processes by their heartbeats (off the loop)."""
    server = SERVER
    processes = ops_figures.listener_processes()
    state, reason = ('ok' if processes else 'down'), ''
    if server.probe is not None:
        answer = server.probe()
        state, reason = answer if isinstance(answer, tuple) else ('ok' if answer else 'down', '')
    return ListenerSeen(
        state, reason, server.probe is not None, processes, server.ae_title, server.port, server.tls_port
    )


@dataclass(frozen=True)
class DiskSeen:
    disk: Disk
    min_free_bytes: int


def disk() -> DiskSeen:
    """The data directory's file system and the floor below which images are refused (off the loop)."""
    server = SERVER
    return DiskSeen(ops_figures.disk(server.data_dir), server.min_free_bytes)
