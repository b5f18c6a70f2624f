"""A report's key image shows the arrows and labels on its frame, and a PDF printed again follows their changes."""

import io
import shutil

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pypdf import PdfReader

import jobs  # noqa: F401 - the broker first
from domain import annotations, reporting, work
from domain.annotations import ARROW
from jobs.reports import render_report_pdf
from tests.conftest import Clinic
from tests.report_fixtures import add_key_image, final_report, make_study


@pytest.fixture
def clinic_reports(clinic: Clinic) -> Clinic:
    clinic.data_dir.mkdir(parents=True, exist_ok=True)
    reporting.configure(clinic.data_dir)
    return clinic


def _printed(report_id: int, clinic: Clinic) -> tuple[str, np.ndarray]:
    for job in work.unfinished():
        if job.kind == reporting.PDF_JOB:
            render_report_pdf(job.id or 0)
    report = reporting.view(report_id, by=clinic.admin.actor, audited=False).report
    reader = PdfReader(io.BytesIO((clinic.data_dir / (report.pdf_path or '')).read_bytes()))
    pictures = [
        np.asarray(image.image.convert('RGB')).astype(int)
        for page in reader.pages
        for image in page.images
        if image.image is not None
    ]
    return report.pdf_path or '', max(pictures, key=lambda p: p.size)  # the key image (not the header's marks)


def _yellow(image: np.ndarray) -> int:
    return int(((image[..., 0] > 180) & (image[..., 1] > 150) & (image[..., 2] < 120)).sum())


def test_the_key_image_in_the_pdf_shows_its_arrow_and_a_new_print_follows_a_change(
    clinic_reports: Clinic,
) -> None:
    shutil.copy(str(get_testdata_file('CT_small.dcm')), clinic_reports.data_dir / 'ct.dcm')
    study = make_study(file_paths=['ct.dcm'])
    add_key_image(study, 0, note='arrow here')
    doctor = clinic_reports.radiologist.actor
    arrow = annotations.add(study.study_id, study.instance_ids[0], 1, ARROW, [[10, 100], [90, 40]], by=doctor)
    report_id = final_report(study, doctor)

    first_path, first = _printed(report_id, clinic_reports)
    assert _yellow(first) > 50  # the arrow, on a grey CT

    annotations.delete(arrow.id, by=doctor)
    reporting.request_pdf(report_id, by=doctor)
    second_path, second = _printed(report_id, clinic_reports)
    assert second_path != first_path
    assert _yellow(second) == 0
