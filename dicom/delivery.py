"""Handing stored images to a C-MOVE destination or a C-GET requestor so that every one arrives (PS3.4 C.4.2, C.4.3).

C-MOVE proposes, per SOP class, explicit and implicit VR little endian in one presentation context and each other
stored syntax in a context of its own (PS3.8 9.3.2.2: the acceptor picks one syntax per context, so one shared
context lets a peer take "uncompressed" and leave nothing for the compressed files). C-GET's storage contexts are
the ones its requestor proposed with the SCP role (PS3.7 D.3.3.4), each accepted with the syntax the requestor put
first among those the listener takes; the same choice is then made among them.
For each file: an accepted context with its stored syntax sends it as stored; else an accepted uncompressed one
sends it decoded on the fly (dicom/transcode.py); else the sub-operation fails, logged with the UID only.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import build_context
from pynetdicom.events import Event
from pynetdicom.presentation import PresentationContext

from domain import sealed

from . import storage, transcode

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are the odd numbers 1-255
PENDING, CANCELLED = 0xFF00, 0xFE00

StoredFile = tuple[str, str, str]  # (path relative to the data directory, SOP class UID, transfer syntax UID)


def contexts(files: Sequence[StoredFile]) -> list[PresentationContext]:
    """The contexts a C-MOVE proposes: uncompressed per SOP class first, then each other stored syntax alone."""
    stored: dict[str, list[str]] = {}
    for _path, sop_class, syntax in files:
        syntaxes = stored.setdefault(sop_class, [])
        if syntax and syntax not in transcode.UNCOMPRESSED and syntax not in syntaxes:
            syntaxes.append(syntax)
    # Uncompressed first: with more than 128 it is what lets every SOP class arrive at all.
    proposed = [build_context(sop_class, list(transcode.UNCOMPRESSED)) for sop_class in stored][:MAX_CONTEXTS]
    for sop_class, syntaxes in stored.items():
        for syntax in syntaxes:
            if len(proposed) < MAX_CONTEXTS:
                proposed.append(build_context(sop_class, [syntax]))
    return proposed


def datasets(
    event: Event, files: Sequence[StoredFile], accepted: Callable[[], Sequence[PresentationContext]]
) -> Iterator[tuple[int, Dataset | None]]:
    """(Pending, dataset) per file, each in a syntax an accepted context carries; `accepted` gives the contexts in
    which we are the storage SCU (known only once the C-MOVE destination has answered)."""
    for relative, sop_class, _syntax in files:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        try:
            with storage.open_file(relative) as reader:
                dataset = pydicom.dcmread(reader)
        except (OSError, ValueError, pydicom.errors.InvalidDicomError, sealed.Tampered):
            log.warning('stored file %s cannot be read for a retrieve', relative)
            yield PENDING, _undeliverable(None, sop_class)
            continue
        yield PENDING, _deliverable(dataset, accepted())


def syntax_for(accepted: Sequence[PresentationContext], sop_class: str, stored: str) -> str | None:
    """The transfer syntax to send an image in: as stored if accepted, else an accepted uncompressed one."""
    offered = [str(cx.transfer_syntax[0]) for cx in accepted if cx.abstract_syntax == sop_class and cx.as_scu]
    if stored in offered:
        return stored
    if transcode.can_decode(stored):
        return next((syntax for syntax in transcode.UNCOMPRESSED if syntax in offered), None)
    return None


def honour_retriever_order(event: Event) -> None:
    """In each storage context proposed with the SCP role (a C-GET requestor's, PS3.4 C.4.3), keep only the first
    transfer syntax the listener supports, so the one the requestor put first is accepted: pynetdicom would take the
    first of the listener's own list (explicit VR little endian) and `getscu +xy` would get no JPEG."""
    requestor = event.assoc.requestor
    retrievers = {uid for uid, item in requestor.role_selection.items() if item.scp_role}
    if not retrievers:
        return
    supported = {cx.abstract_syntax: set(cx.transfer_syntax) for cx in event.assoc.acceptor.supported_contexts}
    for context in requestor.requested_contexts:
        if context.abstract_syntax in retrievers:
            ours = supported.get(context.abstract_syntax, set())
            first = next((syntax for syntax in context.transfer_syntax if syntax in ours), None)
            if first is not None:
                context.transfer_syntax = [first]


def storage_scu_contexts(assoc: Any) -> Sequence[PresentationContext]:
    """The accepted contexts of an association in which we send C-STOREs."""
    return [cx for cx in assoc.accepted_contexts if cx.as_scu]


# ---------------------------------------------------------------- helpers


def _deliverable(dataset: Dataset, accepted: Sequence[PresentationContext]) -> Dataset:
    sop_class, sop_instance = str(dataset.get('SOPClassUID', '')), str(dataset.get('SOPInstanceUID', ''))
    stored = str(dataset.file_meta.get('TransferSyntaxUID', '')) if hasattr(dataset, 'file_meta') else ''
    syntax = syntax_for(accepted, sop_class, stored)
    if syntax is None:
        log.warning('retrieve: the peer accepted no context for %s (%s)', sop_instance, _name(stored))
        return _undeliverable(dataset, sop_class)
    if syntax == stored:
        return dataset
    try:
        return transcode.to_syntax(dataset, syntax)
    except transcode.Untranscodable as error:
        log.warning('retrieve: %s cannot be sent as %s: %s', sop_instance, _name(syntax), error)
        return _undeliverable(dataset, sop_class)


def _undeliverable(dataset: Dataset | None, sop_class: str) -> Dataset:
    """A data set pynetdicom cannot send, so that it counts a failed sub-operation and lists its UID (PS3.4
    C.4.2.1.3.2) without stopping the others: yielding a failure status instead would end the whole retrieve."""
    stub = Dataset()  # NOTE: pynetdicom skips an empty (falsy) one without counting it
    stub.SOPClassUID = sop_class
    if dataset is not None and 'SOPInstanceUID' in dataset:
        stub.SOPInstanceUID = dataset.SOPInstanceUID
    # NOTE: no file meta, so pynetdicom's send_c_store raises before it selects a context or sends anything.
    return stub


def _name(syntax: str) -> str:
    return UID(syntax).name if syntax else 'no transfer syntax'
