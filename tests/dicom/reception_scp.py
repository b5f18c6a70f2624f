"""The clinic's own DICOM listener (dicom/scp.py) serving the worklist and MPPS on a free port, for tests."""

from collections.abc import Iterator
from contextlib import contextmanager

from dicom import scp, storage
from dicom.ingest import Ingest
from tests.conftest import Clinic


@contextmanager
def reception_scp(clinic: Clinic) -> Iterator[int]:
    """Start the listener (calling AE titles checked against the modality list); yields its port."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    listener = scp.start(clinic.settings, Ingest())
    try:
        yield listener.port
    finally:
        listener.stop()
