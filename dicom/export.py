"""A study as a zip laid out like a patient CD or USB stick (PS3.10, PS3.11 General Purpose media, PS3.12).

`DICOMDIR` sits at the root of the zip and the images under `DICOM/` with File IDs of at most eight upper-case
letters and digits per component (`DICOM/PT000000/ST000000/SE000000/IM000000`); the report's PDF, when asked for,
is `REPORT.PDF` beside them. The images go into the zip straight from the store, byte for byte, or de-identified
(dicom/deidentify.py) one at a time, from the first byte of the answer on; the DICOMDIR, built by pydicom's FileSet
from their headers as they pass (the stand-ins it stages hold only identification attributes and live in a scratch
folder under the data directory, removed at the end), is the zip's last member. The zip is written as the client
reads it: nothing holds a whole study in memory or on disk.
"""

import io
import logging
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pydicom import dcmread
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.fileset import FileInstance, FileSet
from pydicom.tag import BaseTag, Tag

from domain.export import ExportFile, ExportPlan

from . import storage
from .deidentify import Deidentifier

log = logging.getLogger(__name__)

CHUNK = 1 << 20
FILE_SET_ID = 'CLINICPACS'
MEDIA_FOLDER = 'DICOM'
REPORT_NAME = 'REPORT.PDF'
SCRATCH = 'tmp'
# Keys a directory record must have (PS3.3 F.5: Type 1), invented for the DICOMDIR only when an image lacks them
# (as dcmmkdir --invent does); the image files themselves keep what they hold.
INVENTED = {'PatientID': 'UNKNOWN', 'StudyDate': '19000101', 'StudyTime': '000000', 'StudyID': '1', 'Modality': 'OT'}

# What directory records (PS3.3 F.5) are made of: identification groups, not acquisition (0018) or pixel (0028) data;
# of the sequences only those a record copies (SR and key object concept names, a presentation state's series).
RECORD_GROUPS = frozenset({0x0008, 0x0010, 0x0020, 0x0040, 0x0042, 0x0066, 0x0068, 0x0070, 0x3006, 0x300A, 0x300E})
RECORD_SEQUENCES = frozenset(
    Tag(keyword) for keyword in ('ConceptNameCodeSequence', 'ReferencedSeriesSequence', 'ContentTemplateSequence')
)


class ExportFailed(Exception):
    """A stored image cannot go into the export (it cannot be read as DICOM)."""


class StudyZip:
    """One export: `chunks()` yields the zip's bytes, each image as it is read, the DICOMDIR that lists them last."""

    def __init__(self, plan: ExportPlan) -> None:
        self.plan = plan
        self.deidentifier = Deidentifier() if plan.deidentify else None
        scratch = storage.data_dir() / SCRATCH
        scratch.mkdir(mode=0o700, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix='export-', dir=scratch))  # 0700, removed by close()
        self.file_ids: dict[str, str] = {}  # SOP Instance UID as written in the zip -> its path there

    @property
    def filename(self) -> str:
        """The name the browser saves the zip under (no patient data in it)."""
        suffix = '-deidentified' if self.plan.deidentify else ''
        return f'study-{self.plan.study_id}{suffix}.zip'

    def chunks(self) -> Iterator[bytes]:
        """The zip's bytes in pieces of about a MiB, from the first image on; the scratch folder goes when it ends.

        Raises ExportFailed (the answer then ends unfinished) when a stored image cannot be read as DICOM.
        """
        sink = _Sink()
        files = _StagedFileSet(self.work / 'staged')
        try:
            with zipfile.ZipFile(sink, 'w', zipfile.ZIP_STORED, allowZip64=True) as archive:
                for item in self.plan.files:
                    name, pieces = self._image(files, item)
                    with archive.open(_member(name), 'w') as entry:
                        for piece in pieces:
                            entry.write(piece)
                            if sink.size >= CHUNK:
                                yield sink.take()
                if self.plan.report_pdf:
                    with (
                        archive.open(_member(REPORT_NAME), 'w') as entry,
                        storage.open_file(self.plan.report_pdf) as pdf,
                    ):
                        while piece := pdf.read(CHUNK):
                            entry.write(piece)
                            if sink.size >= CHUNK:
                                yield sink.take()
                archive.writestr(_member('DICOMDIR'), self._dicomdir(files))
            if sink.size:
                yield sink.take()
        except ExportFailed as error:
            log.warning('export of study %s stopped: %s', self.plan.study_id, error)
            raise
        finally:
            self.close()

    def close(self) -> None:
        """Remove the scratch folder (also when the download was abandoned)."""
        shutil.rmtree(self.work, ignore_errors=True)

    def _image(self, files: '_StagedFileSet', item: ExportFile) -> tuple[str, Iterator[bytes]]:
        """Where an image goes in the zip (its directory record staged) and its bytes."""
        try:
            with storage.open_file(item.file_path) as reader, warnings.catch_warnings():
                warnings.simplefilter('ignore')
                dataset = dcmread(reader, stop_before_pixels=self.deidentifier is None)
                dataset.SOPInstanceUID  # noqa: B018 - an image without it cannot be listed
        except (InvalidDicomError, AttributeError, OSError) as error:
            raise ExportFailed(f'image {item.sop_instance_uid} cannot be read: {type(error).__name__}') from error
        if self.deidentifier is None:
            return self._stage(files, dataset, item), _stored_bytes(item)
        self.deidentifier.apply(dataset)
        return self._stage(files, dataset, item), self._rewritten(dataset)

    def _stage(self, files: '_StagedFileSet', dataset: Dataset, item: ExportFile) -> str:
        stub = _record_keys(dataset)
        _invent(stub)
        try:
            instance = files.add_new(stub)
        except (ValueError, KeyError, AttributeError) as error:
            raise ExportFailed(f'image {item.sop_instance_uid} has no directory record: {error}') from error
        # A File ID depends only on the records added before it (pydicom appends), so it is known now.
        name = '/'.join((MEDIA_FOLDER, *Path(instance.FileID).parts))
        self.file_ids[str(stub.SOPInstanceUID)] = name
        return name

    def _rewritten(self, dataset: Dataset) -> Iterator[bytes]:
        with tempfile.SpooledTemporaryFile(max_size=16 * CHUNK, dir=str(self.work)) as spool:
            dataset.save_as(spool, enforce_file_format=True)
            del dataset
            spool.seek(0)
            while piece := spool.read(CHUNK):
                yield piece

    def _dicomdir(self, files: '_StagedFileSet') -> bytes:
        """The DICOMDIR of every staged image, each record's File ID under DICOM/ as its image went into the zip."""
        root = self.work / 'fileset'
        files.write(root)
        # pydicom lays the File IDs out from the root; a CD keeps them under DICOM/, so each record's Referenced File
        # ID gets that first component and the DICOMDIR alone is written again.
        (root / MEDIA_FOLDER).mkdir()
        for instance in files:
            element = instance['ReferencedFileID']
            parts = [element.value] if element.VM == 1 else list(element.value)
            if self.file_ids.get(str(instance.SOPInstanceUID)) != '/'.join((MEDIA_FOLDER, *parts)):
                raise ExportFailed(f'image {instance.SOPInstanceUID} was given another File ID than its record')
            (root / MEDIA_FOLDER / Path(*parts)).parent.mkdir(parents=True, exist_ok=True)
            (root / Path(*parts)).rename(root / MEDIA_FOLDER / Path(*parts))
            element.value = [MEDIA_FOLDER, *parts]
        files.ID = FILE_SET_ID
        files.write(use_existing=True)
        data = (root / 'DICOMDIR').read_bytes()
        shutil.rmtree(root)
        return data


def _stored_bytes(item: ExportFile) -> Iterator[bytes]:
    with storage.open_file(item.file_path) as reader:
        while piece := reader.read(CHUNK):
            yield piece


class _StagedFileSet(FileSet):
    """pydicom's FileSet staging its stand-in files under our scratch folder instead of the system's temp folder.

    NOTE: pydicom 3.0 keeps the staging folder in `_stage['t']` / `_stage['path']`; tests/dicom/test_export.py
    checks that staged files land here, so a pydicom that changes this fails there, not on a patient's data.
    """

    def __init__(self, staging: Path) -> None:
        super().__init__()
        staging.mkdir(mode=0o700)
        self._stage['t'].cleanup()
        self._stage['t'] = _Folder(staging)
        self._stage['path'] = staging
        self.adding = False

    def add_new(self, header: Dataset) -> FileInstance:
        """Stage an image whose SOP Instance UID is not in the set yet (an export's UIDs are unique)."""
        self.adding = True
        try:
            return self.add(header)
        finally:
            self.adding = False

    def __iter__(self) -> Iterator[FileInstance]:
        # NOTE: FileSet.add first looks for the UID among every staged instance, each look a walk through its
        # records: O(n²) for a study (4 s for 400 images, minutes for 5,000). An export never adds a UID twice.
        return iter(()) if self.adding else super().__iter__()


class _Folder:
    """Stands where FileSet keeps its TemporaryDirectory: a folder of ours that StudyZip removes."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)

    def cleanup(self) -> None:
        shutil.rmtree(self.name, ignore_errors=True)


class _Sink(io.RawIOBase):
    """Where zipfile writes: collects bytes until the response takes them; not seekable, so zipfile streams."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        piece = bytes(data)
        self.parts.append(piece)
        self.size += len(piece)
        self.position += len(piece)
        return len(piece)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        joined = b''.join(self.parts)
        self.parts, self.size = [], 0
        return joined


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
    info.external_attr = 0o644 << 16
    return info


def _record_keys(header: Dataset) -> Dataset:
    """The part of a header the directory records are made from: what FileSet stages and copies is small."""
    stub = Dataset()
    stub.file_meta = header.file_meta
    for tag in header.keys():
        if tag.group in RECORD_GROUPS and (tag in RECORD_SEQUENCES or _vr(tag) not in ('SQ', '')):
            stub[tag] = header.get_item(tag)  # as read: values are decoded only when a record is made of them
    stub.set_original_encoding(header.is_implicit_VR, header.is_little_endian, header.original_character_set)
    return stub


def _vr(tag: BaseTag) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return ''


def _invent(header: Dataset) -> None:
    for keyword, value in INVENTED.items():
        if not str(header.get(keyword, '') or '').strip():
            setattr(header, keyword, value)
    if header.get('SeriesNumber') in (None, ''):
        header.SeriesNumber = 1
    if header.get('InstanceNumber') in (None, ''):
        header.InstanceNumber = 1
