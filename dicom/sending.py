"""Sending stored images to another DICOM node by C-STORE (forwarding), in a transfer syntax it accepts.

The presentation contexts and the choice of syntax per image are C-MOVE's (dicom/delivery.py): explicit and implicit
VR little endian per SOP class, and each other stored syntax in a context of its own. An image goes as stored when the
node accepted its syntax, else decoded to little endian by dicom/transcode.py. An association carries at most 128
contexts (PS3.8 9.3.2.2), so a study of many SOP classes goes over several associations.
"""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pynetdicom import AE
from pynetdicom.association import Association

from domain import sealed

from . import delivery, storage, transcode, transport

log = logging.getLogger(__name__)

MAX_CONTEXTS = delivery.MAX_CONTEXTS
TIMEOUT_S = 30
DELIVERED = (0x0000, 0xB000, 0xB006, 0xB007)  # success, and the warnings that still store (PS3.4 B.2.3)

StoredFile = tuple[str, str, str]  # (path relative to the data directory, SOP Class UID, stored transfer syntax)


class Unreachable(Exception):
    """The node refused or dropped the association (sending again later may work)."""


@dataclass
class Delivery:
    """What a send achieved: images stored, images the node refused (status), images that cannot go (why)."""

    sent: int = 0
    refused: list[tuple[str, int]] = field(default_factory=list)
    undeliverable: list[tuple[str, str]] = field(default_factory=list)


def store(files: Sequence[StoredFile], *, calling_ae: str, called_ae: str, host: str, port: int) -> Delivery:
    """C-STORE every file to the node at host:port (its AE title `called_ae`); raises Unreachable."""
    outcome = Delivery()
    for batch in _batches(files):
        ae = AE(ae_title=calling_ae)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
        assoc = ae.associate(
            host, port, ae_title=called_ae, contexts=delivery.contexts(batch), evt_handlers=transport.tuned()
        )
        if not assoc.is_established:
            raise Unreachable(f'{called_ae} at {host}:{port} did not accept an association')
        try:
            for item in batch:
                _store_one(assoc, item, outcome)
                if not assoc.is_established:
                    raise Unreachable(f'{called_ae} at {host}:{port} ended the association')
        finally:
            if assoc.is_established:
                assoc.release()
    return outcome


# ---------------------------------------------------------------- helpers


def _store_one(assoc: Association, item: StoredFile, outcome: Delivery) -> None:
    relative, sop_class, _syntax = item
    try:
        with storage.open_file(relative) as reader:
            dataset = pydicom.dcmread(reader)
    except (OSError, ValueError, InvalidDicomError, sealed.Tampered) as error:
        outcome.undeliverable.append((relative, f'unreadable: {type(error).__name__}'))
        return
    prepared = _in_accepted_syntax(assoc, dataset, sop_class)
    if isinstance(prepared, str):
        outcome.undeliverable.append((relative, prepared))
        return
    status = assoc.send_c_store(prepared)
    code = int(getattr(status, 'Status', -1))
    if code in DELIVERED:
        outcome.sent += 1
    else:
        outcome.refused.append((relative, code))


def _in_accepted_syntax(assoc: Association, dataset: Dataset, sop_class: str) -> Dataset | str:
    """The dataset in a syntax the node accepted for its class, or why it cannot go."""
    stored = str(dataset.file_meta.get('TransferSyntaxUID', ''))
    target = delivery.syntax_for(delivery.storage_scu_contexts(assoc), sop_class, stored)
    if target is None:
        return f'{sop_class} not accepted'
    if target == stored:
        return dataset
    try:
        return transcode.to_syntax(dataset, target)
    except transcode.Untranscodable as error:
        return f'cannot be decoded: {error}'


def _batches(files: Sequence[StoredFile]) -> Iterator[list[StoredFile]]:
    """The files in groups whose presentation contexts (delivery.contexts: one uncompressed per SOP class, one per
    other stored syntax) fit one association."""
    by_class: dict[str, list[StoredFile]] = {}
    for item in files:
        by_class.setdefault(item[1], []).append(item)
    batch: list[StoredFile] = []
    used = 0
    for items in by_class.values():
        needed = 1 + len({syntax for _path, _class, syntax in items if syntax and syntax not in transcode.UNCOMPRESSED})
        if batch and used + needed > MAX_CONTEXTS:
            yield batch
            batch, used = [], 0
        batch.extend(items)
        used += needed
    if batch:
        yield batch
