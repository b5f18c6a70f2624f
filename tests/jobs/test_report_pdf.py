"""The report PDF job: idempotent, atomic, checksummed, in five languages, with key images; failures retryable."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pypdf import PdfReader

import jobs  # noqa: F401 - the broker first
from domain import db, options, reporting, work
from domain.models import ReportDraft, Study
from jobs.reports import render_report_pdf
from tests.conftest import Clinic, need_tool
from tests.report_fixtures import add_key_image, add_measurement, final_report, make_study, template_id

LANGUAGE_WORDS = {  # (impression heading, a template label, the choice as printed, footer word)
    'en': ('Impression', 'Right lobe', 'normal', 'Page 1 of'),
    'ru': ('Заключение', 'Правая доля', 'обычная', 'Страница 1 из'),
    'es': ('Impresión diagnóstica', 'Lóbulo derecho', 'normal', 'Página 1 de'),
    'fr': ('Conclusion', 'Lobe droit', 'normale', 'Page 1 sur'),
    'de': ('Beurteilung', 'Rechter Lappen', 'normal', 'Seite 1 von'),
}


@pytest.fixture
def clinic_reports(clinic: Clinic) -> Clinic:
    clinic.data_dir.mkdir(parents=True, exist_ok=True)  # SQLite makes it; PostgreSQL runs need it too
    reporting.configure(clinic.data_dir)
    options.put('clinic_name', 'Clinic <Sunrise> & Co', by=clinic.admin.actor)
    options.put('clinic_address', '1 Harbour Road\nPort Town', by=clinic.admin.actor)
    return clinic


def _run_pdf_jobs() -> None:
    for job in work.unfinished():
        if job.kind == reporting.PDF_JOB:
            render_report_pdf(job.id)


def _stored(report_id: int, clinic: Clinic) -> tuple[Path, bytes]:
    report = reporting.view(report_id, by=clinic.admin.actor, audited=False).report
    path = clinic.data_dir / report.pdf_path
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == report.pdf_sha256
    return path, data


def _short_id(study_id: int) -> str:
    with db.reading() as session:
        study = session.get(Study, study_id)
        assert study is not None and study.short_id
        return study.short_id


def _text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / 'report.pdf'
    path.write_bytes(data)
    return '\n'.join(page.extract_text() for page in PdfReader(path).pages)


@pytest.mark.parametrize('language', list(LANGUAGE_WORDS))
def test_the_pdf_prints_the_report_in_its_language(clinic_reports: Clinic, tmp_path: Path, language: str) -> None:
    study = make_study(family_name='<i>Smith</i>', given_name='Jane')
    report_id = final_report(
        study,
        clinic_reports.radiologist.actor,
        language=language,
        values={'liver_right_lobe': '171', 'liver_echo': 'normal'},
        impression='<p>Hepatomegaly.</p>',
    )
    _run_pdf_jobs()
    text = _text(_stored(report_id, clinic_reports)[1], tmp_path)
    heading, field, choice, footer = LANGUAGE_WORDS[language]
    assert heading in text and field in text and footer in text
    assert f'{field} 171 mm' in text and choice in text
    assert '<i>Smith</i>, Jane' in text  # markup in a name prints as text
    assert _short_id(study.study_id) in text
    assert 'Clinic <Sunrise> & Co' in text and 'Port Town' in text
    assert 'Hepatomegaly.' in text and 'Test radiologist' in text
    signed = reporting.view(report_id, by=clinic_reports.admin.actor, audited=False).report.content_sha256
    assert signed in text.replace('\n', '')


def test_the_obstetric_report_prints_the_hadlock_results(clinic_reports: Clinic, tmp_path: Path) -> None:
    study = make_study(description='OB US')
    report_id = final_report(
        study,
        clinic_reports.radiologist.actor,
        code='us-obstetrics',
        values={'bpd': '47', 'hc': '175', 'ac': '151', 'fl': '33'},
        impression='Single fetus.',
    )
    _run_pdf_jobs()
    text = _text(_stored(report_id, clinic_reports)[1], tmp_path)
    assert 'Gestational age (Hadlock) 20w0d' in text
    assert 'Estimated fetal weight (Hadlock) 344 g' in text
    assert 'Estimated date of delivery 2024-07-19' in text


def test_a_second_delivery_leaves_the_stored_pdf_alone(clinic_reports: Clinic) -> None:
    report_id = final_report(make_study(), clinic_reports.radiologist.actor)
    job = work.unfinished()[0]
    render_report_pdf(job.id)
    path, data = _stored(report_id, clinic_reports)
    modified = path.stat().st_mtime_ns
    render_report_pdf(job.id)
    work.submit(reporting.PDF_JOB, report_id)
    _run_pdf_jobs()
    assert path.stat().st_mtime_ns == modified and _stored(report_id, clinic_reports)[1] == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_rendering_again_on_request_gives_identical_bytes(clinic_reports: Clinic) -> None:
    report_id = final_report(make_study(), clinic_reports.radiologist.actor)
    _run_pdf_jobs()
    path, first = _stored(report_id, clinic_reports)
    path.unlink()
    reporting.request_pdf(report_id, by=clinic_reports.admin.actor)
    _run_pdf_jobs()
    assert _stored(report_id, clinic_reports)[1] == first


def test_an_addendum_renders_the_pdf_again_with_the_original_and_the_addendum(
    clinic_reports: Clinic, tmp_path: Path
) -> None:
    report_id = final_report(make_study(), clinic_reports.radiologist.actor)
    _run_pdf_jobs()
    first_path, _ = _stored(report_id, clinic_reports)
    reporting.add_addendum(report_id, 'Gallbladder wall re-measured: 2 mm.', by=clinic_reports.radiologist.actor)
    _run_pdf_jobs()
    path, data = _stored(report_id, clinic_reports)
    assert path != first_path and not first_path.exists()
    text = _text(data, tmp_path)
    assert 'Normal abdomen.' in text and 'Addendum 1' in text and 'Gallbladder wall re-measured: 2 mm.' in text


def test_key_images_and_measurements_are_printed_and_a_broken_image_is_named_not_fatal(
    clinic_reports: Clinic, tmp_path: Path
) -> None:
    sources = ['CT_small.dcm', 'MR_small.dcm', 'US1_UNCR.dcm', 'SC_rgb.dcm']
    files = []
    for name in sources:
        shutil.copy(get_testdata_file(name), clinic_reports.data_dir / name)
        files.append(name)
    (clinic_reports.data_dir / 'broken.dcm').write_bytes(b'DICM but not really')
    study = make_study(file_paths=[*files, 'broken.dcm'])
    for index in range(5):
        add_key_image(study, index, note=f'image {index + 1}')
    add_measurement(study, 'Spleen', 104.44)
    report_id = final_report(study, clinic_reports.radiologist.actor)
    _run_pdf_jobs()
    _, data = _stored(report_id, clinic_reports)
    (tmp_path / 'report.pdf').write_bytes(data)
    reader = PdfReader(tmp_path / 'report.pdf')
    assert len({image.name for page in reader.pages for image in page.images}) == 4
    text = _text(data, tmp_path)
    assert 'Image not available' in text and 'image 5' in text
    assert 'Spleen 104.4 mm' in text


def test_the_first_page_looks_like_a_report(clinic_reports: Clinic, tmp_path: Path) -> None:
    pdftoppm = need_tool('pdftoppm')
    report_id = final_report(
        make_study(), clinic_reports.radiologist.actor, values={'liver_right_lobe': '171', 'spleen_length': '100'}
    )
    _run_pdf_jobs()
    path, _ = _stored(report_id, clinic_reports)
    subprocess.run([pdftoppm, '-r', '72', '-png', '-f', '1', '-l', '1', str(path), str(tmp_path / 'page')], check=True)
    page = Image.open(next(tmp_path.glob('page*.png'))).convert('RGB')
    width, height = page.size
    assert abs(width / height - 210 / 297) < 0.01  # A4 portrait
    colours = page.getcolors(maxcolors=1_000_000)
    blue = sum(n for n, (r, g, b) in colours if b > 120 and r < 80 and 70 < g < 120)  # the clinic header colour
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 60 and b < 60)  # the out-of-range value
    ink = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    assert blue > 200 and red > 20 and ink > 1000
    top = page.crop((0, 0, width, height // 6)).getcolors(maxcolors=1_000_000)
    assert sum(n for n, (r, g, b) in top if b > 120 and r < 80) > 100  # the header sits at the top


def test_a_failing_render_is_visible_and_retryable_and_the_report_stays_final(clinic_reports: Clinic) -> None:
    report_id = final_report(make_study(), clinic_reports.radiologist.actor)
    (clinic_reports.data_dir / 'reports').write_text('a file where the folder should be')
    job = work.unfinished()[0]
    for _ in range(3):  # retried with backoff, then given up
        with pytest.raises(OSError):
            render_report_pdf(job.id)
    render_report_pdf(job.id)
    failed = next(j for j in work.listing(by=clinic_reports.admin.actor) if j.id == job.id)
    assert failed.state == 'failed' and 'Error' in (failed.error or '')
    assert reporting.view(report_id, by=clinic_reports.admin.actor, audited=False).report.state == 'final'
    (clinic_reports.data_dir / 'reports').unlink()
    work.retry(job.id, by=clinic_reports.admin.actor)
    render_report_pdf(job.id)
    assert _stored(report_id, clinic_reports)[0].is_file()


def test_a_draft_has_no_pdf(clinic_reports: Clinic) -> None:
    draft = reporting.start(make_study().study_id, template_id('free'), by=clinic_reports.radiologist.actor)
    reporting.save_draft(draft.id, ReportDraft(impression='x'), by=clinic_reports.radiologist.actor)
    with pytest.raises(reporting.InvalidTransition):
        reporting.request_pdf(draft.id, by=clinic_reports.admin.actor)
    with pytest.raises(reporting.NotFound):
        reporting.pdf_file(draft.id, by=clinic_reports.admin.actor)


def test_finalising_queues_the_pdf_through_the_broker_and_announces_it(clinic_reports: Clinic) -> None:
    from dramatiq import Worker

    from domain import events
    from jobs import broker, dispatch

    ready: list[int] = []
    events.subscribe(lambda e: ready.append(e.report_id) if isinstance(e, events.ReportPdfReady) else None)
    broker.setup(None)
    unsubscribe = dispatch.start()
    worker = Worker(broker.broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        report_id = final_report(make_study(), clinic_reports.radiologist.actor)
        broker.broker.join('reports', timeout=20_000)
    finally:
        worker.stop()
        unsubscribe()
    assert ready == [report_id]
    assert reporting.pdf_file(report_id, by=clinic_reports.receptionist.actor).is_file()


def test_a_centres_report_is_printed_under_the_centres_own_header(clinic_reports: Clinic, tmp_path: Path) -> None:
    from domain import centre_admin, centres
    from domain.centre_admin import CentreData

    other = centre_admin.create(
        CentreData(name='Harbour Imaging Centre', address='7 Quay Street\nBay City'), by=clinic_reports.admin.actor
    )
    ours = make_study()
    with centres.scoped(frozenset({other.id or 0})):
        theirs = make_study()
    texts = {}
    for name, study in (('ours', ours), ('theirs', theirs)):
        report_id = final_report(study, clinic_reports.radiologist.actor)
        _run_pdf_jobs()
        texts[name] = _text(_stored(report_id, clinic_reports)[1], tmp_path)
    assert 'Harbour Imaging Centre' in texts['theirs'] and '7 Quay Street' in texts['theirs']
    assert 'Clinic <Sunrise> & Co' not in texts['theirs']
    assert 'Clinic <Sunrise> & Co' in texts['ours'] and 'Harbour Imaging Centre' not in texts['ours']
