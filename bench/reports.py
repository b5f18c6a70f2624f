"""Benchmark: a two-page report with four key images to PDF, and finalise → PDF available (embedded mode).

Run: .venv/bin/python bench/reports.py [rounds]. Prints medians and ratios against references measured
in the same run, in interleaved rounds: the same report without key images (what the images cost), and
the finalise call alone (what the job adds). Targets from the issue: PDF ≤ 1.5 s, finalise → PDF ≤ 3 s.
"""

import io
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydicom.data import get_testdata_file
from pypdf import PdfReader

import jobs  # noqa: F401 - the broker first
from domain import db, events, reporting, templates, users
from domain.access import Actor, system
from domain.models import ReportDraft, UserCreate
from domain.settings import Settings
from jobs import broker, dispatch
from jobs.reports import clinic_header, render_report_pdf  # noqa: F401
from reports import pdf, printing
from tests.report_fixtures import add_key_image, add_measurement, make_study, template_id

IMAGES = ['CT_small.dcm', 'MR_small.dcm', 'US1_UNCR.dcm', 'SC_rgb.dcm']
LONG_FINDINGS = ''.join(
    f'<p>Segment {i}: homogeneous parenchyma, no focal lesion, vessels patent, '
    f'no free fluid in this region of interest.</p>'
    for i in range(1, 5)
)


def main(rounds: int = 7) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix='bench-reports-'))
    try:
        doctor = _clinic(data_dir)
        with_images, without = _report(data_dir, doctor, images=True), _report(data_dir, doctor, images=False)
        from dicom import render

        def render_pdf(report_id: int) -> tuple[float, int]:
            started = time.perf_counter()
            view = reporting.view(report_id, by=system('bench'), audited=False)
            pictures = [
                pdf.Picture(render.render_png(data_dir / view.files[k.instance_id], k.frame, max_edge=1024), k.note)
                for k in view.key_images
            ]
            data = printing.render_pdf(view, clinic_header(), pictures)
            return time.perf_counter() - started, len(PdfReader(io.BytesIO(data)).pages)

        render_pdf(with_images)  # warm-up: fonts, templates
        pdf_times, ref_times, pages = [], [], 0
        for _ in range(rounds):
            elapsed, pages = render_pdf(with_images)
            pdf_times.append(elapsed)
            ref_times.append(render_pdf(without)[0])
        finalise_times, available_times = _finalise_rounds(data_dir, doctor, rounds)
        pdf_median, ref_median = statistics.median(pdf_times), statistics.median(ref_times)
        print(
            f'report PDF, 4 key images, {pages} pages: median {pdf_median:.3f} s '
            f'(target ≤ 1.5 s; reference systems promise 10 s)'
        )
        print(
            f'  reference, same report without images: median {ref_median:.3f} s; ratio {pdf_median / ref_median:.2f}'
        )
        fin, avail = statistics.median(finalise_times), statistics.median(available_times)
        print(f'finalise → PDF available (embedded broker, 2 worker threads): median {avail:.3f} s (target ≤ 3 s)')
        print(f'  reference, the finalise call alone: median {fin:.3f} s; ratio {avail / fin:.1f}')
    finally:
        db.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)


def _clinic(data_dir: Path) -> Actor:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    db.configure(settings)
    db.create_all()
    reporting.configure(data_dir)
    templates.seed_shipped()
    created = users.create(
        UserCreate(username='doctor', full_name='Dr Bench', role='radiologist', password='bench password 1'),
        by=system('bench'),
    )
    for name in IMAGES:
        shutil.copy(get_testdata_file(name), data_dir / name)
    return Actor(role='radiologist', username='doctor', user_id=created.id)


def _report(data_dir: Path, doctor: Actor, *, images: bool) -> int:
    study = make_study(file_paths=IMAGES)
    if images:
        for index in range(4):
            add_key_image(study, index, note=f'Key image {index + 1}')
    for label, value in (('liver', 142.0), ('spleen', 104.0), ('RK', 108.0), ('LK', 111.0)):
        add_measurement(study, label, value)
    report = reporting.start(study.study_id, template_id('us-abdomen'), by=doctor)
    values = {
        'liver_right_lobe': '142',
        'liver_echo': 'normal',
        'gb_wall': '2',
        'gb_stones': 'no',
        'pancreas_head': '25',
        'spleen_length': '104',
        'kidney_right': '108',
        'kidney_left': '111',
    }
    reporting.save_draft(
        report.id,
        ReportDraft(values=values, findings=LONG_FINDINGS, impression='<p>Normal abdominal ultrasound.</p>'),
        by=doctor,
    )
    reporting.finalise(report.id, by=doctor)
    return report.id


def _finalise_rounds(data_dir: Path, doctor: Actor, rounds: int) -> tuple[list[float], list[float]]:
    broker.setup(None)
    unsubscribe = dispatch.start()
    broker.start_workers(2)
    ready: dict[int, threading.Event] = {}
    events.subscribe(
        lambda e: (
            ready.setdefault(e.report_id, threading.Event()).set() if isinstance(e, events.ReportPdfReady) else None
        )
    )
    finalise_times, available_times = [], []
    try:
        for _ in range(rounds):
            study = make_study(file_paths=IMAGES)
            for index in range(4):
                add_key_image(study, index)
            report = reporting.start(study.study_id, template_id('us-abdomen'), by=doctor)
            reporting.save_draft(
                report.id,
                ReportDraft(values={'liver_right_lobe': '140'}, findings=LONG_FINDINGS, impression='Normal.'),
                by=doctor,
            )
            event = ready.setdefault(report.id, threading.Event())
            started = time.perf_counter()
            reporting.finalise(report.id, by=doctor)
            finalise_times.append(time.perf_counter() - started)
            if not event.wait(30):
                raise RuntimeError(f'no PDF for report {report.id} within 30 s')
            reporting.pdf_file(report.id, by=doctor)  # what the timeline's link serves
            available_times.append(time.perf_counter() - started)
    finally:
        broker.stop_workers()
        unsubscribe()
    return finalise_times, available_times


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
