"""A stolen data disk (or a copied data directory) without the key file reads no image, thumbnail or report.

Before, every DICOM file lay in the clear ('DICM' at offset 128, the patient's name in its header), thumbnails
were PNGs and report PDFs were PDFs: anyone holding the disk could open them.
"""

import shutil
from pathlib import Path

import pydicom
import pytest
from sqlmodel import select

from dicom import storage
from domain import at_rest, db, reporting, sealed, work
from domain.models import Series
from jobs import media
from jobs.reports import render_report_pdf
from tests.conftest import Clinic
from tests.dicom.conftest import sample
from tests.report_fixtures import final_report, make_study
from tests.viewer.studies import ingest

PATIENT_NAME = b'CompressedSamples^CT1'
REPORT_TEXT = b'Liver unremarkable'


@pytest.fixture
def stolen(clinic: Clinic, tmp_path: Path) -> Path:
    """What a thief takes: the data directory of a clinic that keeps its files encrypted, without the key file."""
    key_file = tmp_path / 'usb-key' / 'at-rest.key'
    key_file.parent.mkdir()
    storage.configure(clinic.data_dir)
    reporting.configure(clinic.data_dir)
    at_rest.configure(clinic.data_dir, encrypt=True, key_file=key_file)
    return clinic.data_dir


def test_the_files_on_a_stolen_disk_show_no_image_name_or_report(stolen: Path, clinic: Clinic) -> None:
    original = pydicom.dcmread(sample('CT_small.dcm'))
    ingest(clinic, sample('CT_small.dcm'))  # as a modality's upload: the same pipeline as a C-STORE
    with db.reading() as session:
        series = session.exec(select(Series)).one()
    media.build_series_thumbnail(series.id or 0)
    final_report(make_study(), clinic.radiologist.actor)
    render_report_pdf(work.unfinished()[0].id or 0)
    at_rest.forget()  # the thief's machine: the data directory alone

    pixels = bytes(original.PixelData[1000:1064])
    files = [p for p in stolen.rglob('*') if p.is_file() and '.sqlite3' not in p.name and p.parent.name != 'keys']
    kinds = {p.relative_to(stolen).parts[0] for p in files}
    assert {'dicom', 'thumbnails', 'reports'} <= kinds, kinds
    for path in files:
        data = path.read_bytes()
        assert data[128:132] != b'DICM', path
        assert PATIENT_NAME not in data and pixels not in data, path
        assert not data.startswith((b'\x89PNG', b'%PDF')) and REPORT_TEXT not in data, path


def test_the_stolen_data_directory_does_not_open_without_its_key_file(stolen: Path, tmp_path: Path) -> None:
    at_rest.forget()
    copy = tmp_path / 'copy'
    shutil.copytree(stolen, copy)
    with pytest.raises(at_rest.KeyProblem, match='holds encrypted files'):
        at_rest.configure(copy, encrypt=False, key_file=None)
    with pytest.raises(at_rest.KeyProblem, match='is missing'):
        at_rest.configure(copy, encrypt=True, key_file=tmp_path / 'thief' / 'new.key')  # no fresh key is made
    (tmp_path / 'thief').mkdir()
    own = tmp_path / 'thief' / 'own.key'
    at_rest.configure(tmp_path / 'empty', encrypt=True, key_file=own)  # a key file of another installation
    with pytest.raises(at_rest.KeyProblem, match='does not open the data key'):
        at_rest.configure(copy, encrypt=True, key_file=own)
    wrapped = (copy / at_rest.WRAPPED_DATA_KEY).read_bytes()
    with pytest.raises(sealed.WrongKey):
        sealed.open_bytes(wrapped, sealed.SecretKey(bytes(32)))
    at_rest.forget()
