"""One pipeline for every arriving image, from the network or an upload: write, check, place, index.

The file is written to incoming/ and fsync'd, its header is read and checked against what the sender
announced, it is renamed into the store and indexed in one transaction. Only then does the caller
answer success. If any step fails, the file is removed again and the caller gets the standard status
(PS3.4 Annex B.2.3): 0xA700 out of resources, 0xA900 data set does not match SOP class, 0xC000 cannot
understand.
"""

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from domain import studies
from domain.access import Actor
from domain.errors import DomainError, NotAllowed

from . import parse, storage

log = logging.getLogger(__name__)

SUCCESS = 0x0000


class IngestError(Exception):
    """An image refused with a DICOM status; the message is for staff and logs (no patient data)."""

    status = 0xC000


class OutOfResources(IngestError):
    status = 0xA700


class IdentifierMismatch(IngestError):
    status = 0xA900


class CannotUnderstand(IngestError):
    status = 0xC000


class Refused(IngestError):
    """The sender may not store images (its role), PS3.4 B.2.3 'refused: not authorized'."""

    status = 0x0124


@dataclass(frozen=True)
class Outcome:
    """What became of one image: 'stored', 'duplicate' or 'conflict' (kept out, the admin is told)."""

    result: str
    sop_instance_uid: str
    study_id: int | None = None
    instance_id: int | None = None
    message: str = ''


@dataclass
class Ingest:
    """The receiving pipeline; `on_stored(study_id)` is called after each new image is committed (it arms
    "complete"); whatever it raises is logged, never turned into a failure status for a committed image."""

    on_stored: Callable[[int], None] = lambda _study_id: None

    def accept(
        self,
        parts: list[bytes | memoryview],
        size: int,
        *,
        by: Actor,
        sop_class_uid: str = '',
        sop_instance_uid: str = '',
        transfer_syntax_uid: str = '',
    ) -> Outcome:
        """Store one encoded Part 10 file given as parts (a C-STORE: preamble, meta, data set)."""
        try:
            incoming = storage.write_incoming(parts, size)
        except storage.OutOfSpace as error:
            raise OutOfResources(str(error)) from None
        except OSError as error:
            raise OutOfResources(f'the file cannot be written ({error.strerror})') from None
        return self._index(
            incoming,
            by=by,
            sop_class_uid=sop_class_uid,
            sop_instance_uid=sop_instance_uid,
            transfer_syntax_uid=transfer_syntax_uid,
        )

    def accept_file(self, path: Path, *, by: Actor) -> Outcome:
        """Store one uploaded file (with or without a Part 10 meta header)."""
        try:
            incoming = storage.copy_incoming(path)
        except storage.OutOfSpace as error:
            raise OutOfResources(str(error)) from None
        except OSError as error:
            raise OutOfResources(f'the file cannot be written ({error.strerror})') from None
        try:
            incoming = _with_meta_header(incoming)
        except IngestError:
            storage.discard(incoming)
            raise
        return self._index(incoming, by=by)

    def _index(
        self,
        incoming: Path,
        *,
        by: Actor,
        sop_class_uid: str = '',
        sop_instance_uid: str = '',
        transfer_syntax_uid: str = '',
    ) -> Outcome:
        placed: str | None = None
        try:
            try:
                with storage.open_path(incoming) as reader:
                    header = parse.header_of(parse.read_header(reader), transfer_syntax_uid)
            except parse.UnreadableHeader as error:
                raise CannotUnderstand(str(error)) from None
            if sop_class_uid and header.sop_class_uid != sop_class_uid:
                raise IdentifierMismatch('the data set does not have the SOP Class UID the sender announced')
            if sop_instance_uid and header.sop_instance_uid != sop_instance_uid:
                raise IdentifierMismatch('the data set does not have the SOP Instance UID the sender announced')
            size = storage.size_of(incoming)
            digest = storage.sha256_of(incoming)
            placed = storage.place(incoming)
            try:
                recorded = studies.record_instance(header, studies.StoredFile(placed, size, digest), by=by)
            except studies.DifferentDuplicate as conflict:
                kept = storage.keep_out(storage.absolute(placed))
                placed = None
                log.warning(
                    'kept out a different file with the SOP Instance UID %s of instance %s (as %s)',
                    conflict.sop_instance_uid,
                    conflict.instance_id,
                    kept,
                )
                studies.record_conflict(conflict.sop_instance_uid, kept, by=by)
                return Outcome('conflict', header.sop_instance_uid, message=str(conflict))
            except NotAllowed as error:
                raise Refused(str(error)) from None
            except DomainError as error:
                raise IdentifierMismatch(str(error)) from None
            if recorded.outcome == 'duplicate':
                storage.remove(placed)
                placed = None
                return Outcome('duplicate', header.sop_instance_uid, recorded.study_id, recorded.instance_id)
            placed = None  # indexed: the file now belongs to the index
            try:
                self.on_stored(recorded.study_id)
            except Exception:  # the image is committed: its sender hears success; the sweeper decides the study
                log.warning(
                    'study %s: after-store step failed for %s',
                    recorded.study_id,
                    header.sop_instance_uid,
                    exc_info=True,
                )
            return Outcome('stored', header.sop_instance_uid, recorded.study_id, recorded.instance_id)
        finally:
            storage.discard(incoming)
            if placed is not None:
                storage.remove(placed)


def _with_meta_header(incoming: Path) -> Path:
    """An upload as a Part 10 file: one without a meta header gets one (PS3.10 7.1); others are unchanged."""
    with storage.open_path(incoming) as reader:
        reader.seek(128)
        if reader.read(4) == b'DICM':
            return incoming
    try:
        with warnings.catch_warnings(), storage.open_path(incoming) as reader:
            warnings.simplefilter('ignore')
            dataset = pydicom.dcmread(reader, force=True)
            sop_class = parse.valid_uid(dataset.get('SOPClassUID'))
            sop_instance = parse.valid_uid(dataset.get('SOPInstanceUID'))
    except Exception as error:
        raise CannotUnderstand(f'not a DICOM file ({type(error).__name__})') from None
    if not sop_class or not sop_instance:
        raise CannotUnderstand('not a DICOM file')
    implicit, little = dataset.original_encoding
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = UID(sop_class), UID(sop_instance)
    meta.TransferSyntaxUID = (
        ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian)
    )
    dataset.file_meta = meta
    encoded = BytesIO()
    try:
        dataset.save_as(encoded, enforce_file_format=True)
    except Exception as error:
        raise CannotUnderstand(f'the data set cannot be written as a DICOM file ({type(error).__name__})') from None
    try:
        rewritten = storage.write_incoming([encoded.getvalue()], encoded.tell())  # sealed like any arriving file
    except storage.OutOfSpace as error:
        raise OutOfResources(str(error)) from None
    except OSError as error:
        raise OutOfResources(f'the file cannot be written ({error.strerror})') from None
    storage.discard(incoming)
    return rewritten


_shared: dict[str, Ingest] = {}


def shared() -> Ingest:
    """The process's pipeline (main.py wires its on_stored to the completion decision); uploads use it."""
    return _shared.setdefault('ingest', Ingest())


def share(ingest: Ingest) -> None:
    """Make this the process's pipeline."""
    _shared['ingest'] = ingest
