"""DICOM JSON (PS3.18 F.2) of stored instances for WADO-RS metadata, made by pydicom and kept ready.

Each instance's JSON is made once from its header (`stop_before_pixels`) with pydicom's own encoder
(`Dataset.to_json_dict`); binary values longer than BULK_THRESHOLD and the Pixel Data are given as a
`BulkDataURI` (PS3.18 F.2.6) naming `.../instances/{uid}/bulkdata/{tag path}`. The JSON is kept in memory
(LRU, by bytes) and in PACS_DATA_DIR/cache/dicom-json/ beside nothing else, keyed by the stored file's
relative path: a stored file never changes (a new arrival gets a new name), so the cache never goes stale.
A study's or series' metadata is then the cached bytes joined, with the request's own base URL put where
the cache holds BASE, and the clinic's patient (name, ID, birth date, sex) in place of what the modality
sent when the study is matched to one.
"""

import json
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filewriter import correct_ambiguous_vr

from domain import access, viewing
from domain.image_retrieval import ClinicPatient, StoredInstance

from . import storage

log = logging.getLogger(__name__)

BULK_THRESHOLD = 1024  # bytes of base64 text; larger binary values become BulkDataURIs
BASE = b'\x01'  # where the base URL goes: json.dumps escapes every control character, so no value holds it
CACHE_DIR = 'cache/dicom-json'
PATIENT_TAGS = ('00100010', '00100020', '00100030', '00100040')
_END = b'\n.'  # the last bytes of a whole cache file (a torn write lacks them and is made again)
_BINARY_VRS = frozenset({'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN', 'OB or OW', 'US or OW', 'US or SS or OW'})


@dataclass(frozen=True)
class InstanceJson:
    """One instance's DICOM JSON object, cut in two: the patient's elements and all the others (no braces)."""

    patient: bytes
    rest: bytes

    @property
    def nbytes(self) -> int:
        return len(self.patient) + len(self.rest)


def instance_path(study_uid: str, instance: StoredInstance) -> str:
    """The path of an instance's WADO-RS resource below the DICOMweb base."""
    return f'/studies/{study_uid}/series/{instance.series_uid}/instances/{instance.sop_instance_uid}'


def metadata(study_uid: str, instances: Iterable[StoredInstance], patient: ClinicPatient | None, base: str) -> bytes:
    """The JSON array of the instances' metadata, BulkDataURIs under `base` (e.g. http://host/dicomweb)."""
    override = _patient_json(patient) if patient is not None else None
    objects = []
    for instance in instances:
        try:
            found = cache.get(study_uid, instance)
        except FileNotFoundError:
            viewing.report_missing_file(instance.instance_id, by=access.system('dicomweb'))
            continue
        except Exception as error:  # a header pydicom cannot read: that instance is left out, the rest answered
            log.warning('metadata of instance %s left out: %s', instance.sop_instance_uid, str(error)[:200])
            continue
        head = found.patient if override is None else override
        objects.append(b'{' + head + (b',' if head and found.rest else b'') + found.rest + b'}')
    return (b'[' + b','.join(objects) + b']').replace(BASE, base.encode())


def bulk_tag_path(text: str) -> tuple[int | tuple[int, int], ...]:
    """A BulkDataURI's tag path (`7FE00010`, `00540016/0/00181072`): tags and item indexes; ValueError if not."""
    parts = text.strip('/').split('/')
    if not parts or len(parts) % 2 == 0 or len(parts) > 15:
        raise ValueError('a bulk data path is a tag, or tag/item/tag…')
    path: list[Any] = []
    for number, part in enumerate(parts):
        if number % 2 == 0:
            if len(part) != 8 or not all(c in '0123456789abcdefABCDEF' for c in part):
                raise ValueError('tags are eight hexadecimal digits')
            path.append(int(part, 16))
        else:
            if not part.isdigit() or len(part) > 6:
                raise ValueError('items are counted from 0')
            path.append((path.pop(), int(part)))
    return tuple(path)


class MetadataCache:
    """Instances' JSON by stored file, least recently used first out, bounded by bytes; backed by files."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._known: OrderedDict[str, InstanceJson] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.made = 0  # how many were made from a DICOM file (tests and benchmarks read this)

    def get(self, study_uid: str, instance: StoredInstance) -> InstanceJson:
        """The instance's JSON: from memory, from its cache file, or made now from the DICOM file."""
        key = instance.file_path
        with self._lock:
            found = self._known.get(key)
            if found is not None:
                self._known.move_to_end(key)
                return found
        found = _read_cached(key)
        if found is None:
            found = make(storage.absolute(key), study_uid, instance)
            self.made += 1
            _write_cached(key, found)
        self._put(key, found)
        return found

    def remember(self, study_uid: str, instance: StoredInstance, dataset: Dataset) -> None:
        """Make and keep the JSON of an instance whose header was just read (on arrival), if not kept yet."""
        if _cache_file(instance.file_path).exists():
            return
        found = from_dataset(dataset, study_uid, instance)
        _write_cached(instance.file_path, found)
        self._put(instance.file_path, found)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
            self._bytes = 0

    def _put(self, key: str, found: InstanceJson) -> None:
        with self._lock:
            if key in self._known:
                return
            self._known[key] = found
            self._bytes += found.nbytes
            while self._bytes > self.max_bytes and len(self._known) > 1:
                _, dropped = self._known.popitem(last=False)
                self._bytes -= dropped.nbytes


cache = MetadataCache()


def make(path: Path, study_uid: str, instance: StoredInstance) -> InstanceJson:
    """An instance's JSON from its file's header (the pixel data is not read)."""
    with storage.open_path(path) as reader:
        dataset = pydicom.dcmread(reader, stop_before_pixels=True, force=True)
    return from_dataset(dataset, study_uid, instance)


def from_dataset(dataset: Dataset, study_uid: str, instance: StoredInstance) -> InstanceJson:
    """An instance's JSON from its header: pydicom's encoder, a BulkDataURI for large binary values."""
    with suppress(Exception):  # an odd element keeps its ambiguous VR; fixed below
        correct_ambiguous_vr(dataset, is_little_endian=not _big_endian(dataset))
    prefix = f'{instance_path(study_uid, instance)}/bulkdata/'
    token = f'bulk-{uuid.uuid4().hex}'  # stands for the base URL until the JSON text is made
    paths: dict[int, str] = {}
    _bulk_paths(dataset, '', paths)

    def bulk_uri(element: DataElement) -> str:
        return f'{token}{prefix}{paths.get(id(element), f"{element.tag:08X}")}'

    elements = dataset.to_json_dict(
        bulk_data_threshold=BULK_THRESHOLD, bulk_data_element_handler=bulk_uri, suppress_invalid_tags=True
    )
    for element in elements.values():
        if ' or ' in str(element.get('vr', '')):
            element['vr'] = 'OW' if 'OW' in element['vr'] else element['vr'].split(' or ')[0]
    if 'Rows' in dataset and 'Columns' in dataset:
        elements['7FE00010'] = {'vr': _pixel_vr(dataset), 'BulkDataURI': f'{token}{prefix}7FE00010'}
    if instance.transfer_syntax_uid:
        elements['00083002'] = {'vr': 'UI', 'Value': [instance.transfer_syntax_uid]}
    patient = {key: elements.pop(key) for key in PATIENT_TAGS if key in elements}
    return InstanceJson(_members(patient, token), _members(elements, token))


# ---------------------------------------------------------------- private helpers


def _members(elements: dict[str, Any], token: str) -> bytes:
    """The elements as JSON object members without the braces, with BASE where the base URL goes."""
    if not elements:
        return b''
    text = json.dumps(dict(sorted(elements.items())), ensure_ascii=False, separators=(',', ':'))
    return text[1:-1].encode().replace(token.encode(), BASE)


def _patient_json(patient: ClinicPatient) -> bytes:
    values = {
        '00100010': {'vr': 'PN', 'Value': [{'Alphabetic': patient.name}]} if patient.name else {'vr': 'PN'},
        '00100020': {'vr': 'LO', 'Value': [patient.patient_id]} if patient.patient_id else {'vr': 'LO'},
        '00100030': {'vr': 'DA', 'Value': [patient.birth_date]} if patient.birth_date else {'vr': 'DA'},
        '00100040': {'vr': 'CS', 'Value': [patient.sex]} if patient.sex else {'vr': 'CS'},
    }
    return json.dumps(values, ensure_ascii=False, separators=(',', ':'))[1:-1].encode()


def _bulk_paths(dataset: Dataset, prefix: str, paths: dict[int, str]) -> None:
    """Tag paths of the binary elements, nested ones included (`00540016/0/00181072`), by element identity."""
    for element in dataset:
        if element.VR == 'SQ':
            for index, item in enumerate(element.value or ()):
                _bulk_paths(item, f'{prefix}{element.tag:08X}/{index}/', paths)
        elif element.VR in _BINARY_VRS:
            paths[id(element)] = f'{prefix}{element.tag:08X}'


def _pixel_vr(dataset: Dataset) -> str:
    meta = getattr(dataset, 'file_meta', None)
    syntax = pydicom.uid.UID(str(meta.get('TransferSyntaxUID', '') if meta is not None else ''))
    if syntax and syntax.is_transfer_syntax and syntax.is_compressed:
        return 'OB'
    return 'OW' if int(dataset.get('BitsAllocated', 16) or 16) > 8 else 'OB'


def _big_endian(dataset: Dataset) -> bool:
    meta = getattr(dataset, 'file_meta', None)
    return meta is not None and str(meta.get('TransferSyntaxUID', '')) == pydicom.uid.ExplicitVRBigEndian


def _cache_file(relative: str) -> Path:
    stem = relative.removeprefix(f'{storage.DICOM}/').removesuffix('.dcm')
    return storage.data_dir() / CACHE_DIR / f'{stem}.json'


def _read_cached(relative: str) -> InstanceJson | None:
    try:
        with storage.open_path(_cache_file(relative)) as reader:
            data = reader.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not data.endswith(_END):
        return None
    patient, _, rest = data[: -len(_END)].partition(b'\n')
    return InstanceJson(patient, rest)


def _write_cached(relative: str, found: InstanceJson) -> None:
    """Keep the JSON in a file of its own (a new file renamed into place; a lost one is made again)."""
    target = _cache_file(relative)
    temporary = target.with_name(f'.{target.name}.{uuid.uuid4().hex}.part')
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        storage.write_cache(temporary, found.patient + b'\n' + found.rest + _END)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        log.warning('could not keep the metadata of %s: %s', relative, error)
