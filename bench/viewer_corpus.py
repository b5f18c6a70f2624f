"""The viewer benchmark's images: a 200-slice 512×512 CT, a 2500×2000 radiograph and a 640×480 ultrasound loop,
and for MPR a few 300-slice 512×512 CTs (each its own study, so each is read from cold).

Built from pydicom-data's real CT slice and ultrasound image (pixels shifted per slice / frame so no two
images are alike), written uncompressed to a folder; `python bench/viewer_corpus.py FOLDER` makes them.
"""

import sys
from pathlib import Path

import data_store
import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DATA = Path(data_store.__file__).parent / 'data'


def build(folder: Path, slices: int = 200, loop_frames: int = 60) -> dict[str, list[Path]]:
    """Write the three corpora into `folder` (once) and return their files by name."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        'ct': sorted(folder.glob('ct-*.dcm')),
        'radiograph': sorted(folder.glob('dx-*.dcm')),
        'ultrasound': sorted(folder.glob('us-*.dcm')),
    }
    if len(made['ct']) == slices and made['radiograph'] and made['ultrasound']:
        return made
    patient = 'BENCH1'
    study = generate_uid()  # the CT study; the radiograph and the loop are studies of their own
    template = pydicom.dcmread(DATA / '693_UNCR.dcm')
    series = generate_uid()
    made['ct'] = []
    for n in range(slices):
        ds = template.copy()
        ds.PixelData = np.roll(template.pixel_array, n, axis=0).astype(template.pixel_array.dtype).tobytes()
        _identify(ds, study, series, patient, n + 1)
        ds.ImagePositionPatient = [0, 0, n * 1.25]
        ds.SliceLocation = n * 1.25
        ds.SliceThickness = 1.25
        made['ct'].append(_save(ds, folder / f'ct-{n:03d}.dcm'))
    dx = pydicom.dcmread(DATA / 'RG1_UNCR.dcm')
    pixels = np.zeros((2500, 2000), np.uint16)
    source = dx.pixel_array
    pixels[: source.shape[0], : source.shape[1]] = source[:2500, :2000]
    dx.PixelData = pixels.tobytes()
    dx.Rows, dx.Columns = 2500, 2000
    _identify(dx, generate_uid(), generate_uid(), patient, 1)
    made['radiograph'] = [_save(dx, folder / 'dx-000.dcm')]
    us = pydicom.dcmread(DATA / 'US1_UNCR.dcm')
    frame = us.pixel_array
    loop = np.stack([np.roll(frame, k * 4, axis=1) for k in range(loop_frames)])
    us.PixelData = loop.tobytes()
    us.NumberOfFrames = loop_frames
    us.FrameTime = 1000 / 30
    us.FrameIncrementPointer = pydicom.tag.Tag('FrameTime')
    us.SOPClassUID = '1.2.840.10008.5.1.4.1.1.3.1'
    us.file_meta.MediaStorageSOPClassUID = us.SOPClassUID
    _identify(us, generate_uid(), generate_uid(), patient, 1)
    made['ultrasound'] = [_save(us, folder / 'us-000.dcm')]
    return made


def build_mpr(folder: Path, copies: int, slices: int = 300) -> list[list[Path]]:
    """`copies` CT series of `slices` 512×512 slices 1.25 mm apart (once), each its own study and series."""
    series = [sorted(folder.glob(f'mpr{n}-*.dcm')) for n in range(copies)]
    if all(len(files) == slices for files in series):
        return series
    first = build(folder / 'mpr0', slices=slices)['ct']  # the same pixels in every copy: each is read on its own
    for n in range(copies):
        study, uid = generate_uid(), generate_uid()
        series[n] = []
        for k, source in enumerate(first):
            ds = pydicom.dcmread(source)
            _identify(ds, study, uid, f'MPR{n}', k + 1)
            series[n].append(_save(ds, folder / f'mpr{n}-{k:03d}.dcm'))
    return series


def _identify(ds: pydicom.Dataset, study: str, series: str, patient: str, number: int) -> None:
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientID, ds.PatientName, ds.InstanceNumber = patient, 'Bench^Patient', number
    ds.AccessionNumber = 'BENCH1'


def _save(ds: pydicom.Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


if __name__ == '__main__':
    built = build(Path(sys.argv[1] if len(sys.argv) > 1 else '/tmp/viewer-corpus'))
    print({name: len(files) for name, files in built.items()})


def load(data_dir: Path, files: list[Path]) -> dict[str, tuple[int, int]]:
    """Put the files into a ClinicPACS data directory through the real ingest (before `main.py serve`); returns
    each series' (study id, series id) by its UID."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sqlmodel import select

    from dicom import storage
    from dicom.ingest import Ingest
    from domain import db
    from domain.access import modality
    from domain.models import Series
    from domain.settings import Settings

    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    db.configure(settings)
    db.upgrade()
    storage.configure(data_dir)
    pipeline = Ingest()
    for path in files:
        pipeline.accept_file(path, by=modality('BENCH'))
    with db.reading() as session:
        found = {row.series_instance_uid: (row.study_id, row.id) for row in session.exec(select(Series)).all()}
    db.dispose()
    return found
