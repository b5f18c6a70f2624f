"""The demo clinic: a day in every board state, real images through the pipeline, reports with their PDFs."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pypdf import PdfReader
from sqlmodel import col, select

import jobs  # noqa: F401 - the broker first
from dicom import facts, render, storage, synthetic
from domain import appointments, auth, calibration, db, demo, demo_studies, reading, reporting, study_lists, viewing
from domain.access import system
from domain.demo_studies import Imaging
from domain.errors import Conflict
from domain.models import Appointment, Instance, KeyImage, Measurement, Report, Series, Study
from domain.settings import Settings
from jobs import settle
from tests.conftest import Clinic

TEST = system('test')


@dataclass(frozen=True)
class DemoClinic:
    data_dir: Path
    summary: demo.DemoSummary


def imaging() -> Imaging:
    """The scanner and job runner main.py wires for `main.py demo`."""
    return Imaging(synthetic.acquire, settle.run_pending)


def open_clinic(data_dir: Path) -> None:
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=None, redis_url=None, dicom_port=0)  # type: ignore[call-arg]
    db.configure(settings)
    db.create_all()
    auth.configure(settings)
    storage.configure(data_dir)
    reporting.configure(data_dir)


def fill(data_dir: Path) -> demo.DemoSummary:
    data_dir.mkdir(parents=True)
    open_clinic(data_dir)
    try:
        return demo.fill(by=system('demo'), imaging=imaging())
    finally:
        db.dispose()


@pytest.fixture(scope='module')
def filled(tmp_path_factory: pytest.TempPathFactory) -> DemoClinic:
    """One demo clinic for the module's tests (making it takes a while)."""
    data_dir = tmp_path_factory.mktemp('demo') / 'data'
    return DemoClinic(data_dir, fill(data_dir))


@pytest.fixture
def clinic_demo(filled: DemoClinic) -> Iterator[DemoClinic]:
    open_clinic(filled.data_dir)
    yield filled
    db.dispose()


def all_of(model: Any) -> list[Any]:
    with db.reading() as session:
        return list(session.exec(select(model).order_by(col(model.id))).all())


def images(study: Study) -> list[tuple[Series, Instance]]:
    with db.reading() as session:
        rows = session.exec(
            select(Series, Instance)
            .join(Instance, col(Instance.series_id) == Series.id)
            .where(Series.study_id == study.id)
            .order_by(col(Series.series_number), col(Instance.instance_number))
        ).all()
    return list(rows)


def header(instance: Instance) -> pydicom.Dataset:
    return pydicom.dcmread(storage.absolute(instance.file_path))


def test_the_demo_fills_a_day_in_every_state_and_refuses_to_run_twice(clinic_demo: DemoClinic) -> None:
    cards = appointments.day(appointments.today(), by=TEST)
    assert {c.state for c in cards} == {*appointments.BOARD_ORDER, 'cancelled', 'no-show'}
    assert any(c.urgent for c in cards) and clinic_demo.summary.patients == len(demo.PEOPLE)
    waiting = reading.worklist(by=TEST)
    assert waiting[0].urgent and 'CT' in waiting[0].modalities and waiting[0].level in ('amber', 'red')  # long waited
    with pytest.raises(Conflict, match='already holds data'):
        demo.fill(by=system('demo'), imaging=imaging())


def test_the_demo_refuses_a_database_with_real_data(clinic: Clinic) -> None:
    with pytest.raises(Conflict):
        demo.fill(by=system('demo'), imaging=imaging())


def test_every_demo_study_arrived_with_images_and_thumbnails(clinic_demo: DemoClinic) -> None:
    made = all_of(Study)
    assert len(made) == clinic_demo.summary.studies
    assert {m for s in made for m in s.modalities.split('\\')} == {'CT', 'MR', 'DX', 'US'}
    for study in made:
        assert study.state == 'ready' and study.num_instances > 0 and study.source_ae.endswith('ROOM1')
        for series, instance in images(study):
            assert instance.state == 'processed' and storage.absolute(instance.file_path).is_file()
            assert series.thumbnail_sha256 and storage.absolute(series.thumbnail_path or '').is_file()


def test_scanned_appointments_are_linked_and_one_walk_in_waits_to_be_matched(clinic_demo: DemoClinic) -> None:
    linked = {s.appointment_id for s in all_of(Study) if s.appointment_id}
    scanned = {a.id for a in all_of(Appointment) if a.state in ('review', 'completed')}
    assert linked == scanned
    unmatched = study_lists.listing(by=TEST, unmatched=True)
    assert [(s.patient_name, s.patient_id) for s in unmatched] == [('Kowalsky^Jan', 'DX-0815')]


def test_the_ct_series_have_a_hundred_slices_in_place_with_hounsfield_units(clinic_demo: DemoClinic) -> None:
    cts = [s for s in all_of(Study) if s.modalities == 'CT']
    assert len(cts) == 2
    for study in cts:
        slices = [header(instance) for _, instance in images(study)]
        assert len(slices) >= 100
        thickness, spacing = float(slices[0].SliceThickness), [float(v) for v in slices[0].PixelSpacing]
        heights = [float(s.ImagePositionPatient[2]) for s in slices]
        assert np.allclose(np.diff(heights), -thickness)  # one slice thickness apart, from the head end down
        assert all([float(v) for v in s.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0] for s in slices)
        assert all([float(v) for v in s.PixelSpacing] == spacing for s in slices)
        assert all(float(s.SliceLocation) == float(s.ImagePositionPatient[2]) for s in slices)
        windows = set(zip(map(float, slices[0].WindowCenter), map(float, slices[0].WindowWidth), strict=True))
        middle = render.decode(storage.absolute(images(study)[len(slices) // 2][1].file_path)).values
        centre = float(np.median(middle[118:138, 118:138]))
        if 'HEAD' in study.description:
            assert (40, 80) in windows and 20 < centre < 45  # brain
        else:
            assert {(40, 400), (-600, 1500)} <= windows and -60 < centre < 80  # the mediastinum's soft tissue
            assert float(np.percentile(middle, 20)) < -700  # lungs and the air around the body


def test_the_ultrasound_cine_is_calibrated_by_its_region(clinic_demo: DemoClinic) -> None:
    abdomen = next(s for s in all_of(Study) if 'ABDOMEN' in s.description)
    cine = next(i for _, i in images(abdomen) if i.number_of_frames > 1)
    assert cine.number_of_frames >= 20
    described = facts.describe(storage.absolute(cine.file_path))
    (region,) = described['SequenceOfUltrasoundRegions']
    assert region['PhysicalUnitsXDirection'] == 3 and region['PhysicalDeltaX'] == pytest.approx(0.035)
    assert calibration.from_attributes(described).describe() == 'Ultrasound region'
    first, later = (render.decode(storage.absolute(cine.file_path), n).values for n in (1, 8))
    assert not np.array_equal(first, later)  # the organs move with breathing


def test_the_radiograph_knows_its_pixel_size_at_the_patient(clinic_demo: DemoClinic) -> None:
    chest = next(s for s in all_of(Study) if s.appointment_id and s.modalities == 'DX')
    found = calibration.from_attributes(facts.describe(storage.absolute(images(chest)[0][1].file_path)))
    assert found.row_mm == pytest.approx(0.4 / demo_studies.DX_MAGNIFICATION)
    assert found.source == 'Imager Pixel Spacing'


def test_final_reports_carry_measured_values_and_their_pdfs_the_key_images(clinic_demo: DemoClinic) -> None:
    reports = [r for r in all_of(Report) if r.kind == 'report']
    final = [r for r in reports if r.state in ('final', 'addended')]
    assert len(final) >= 3 and [r.state for r in reports].count('draft') == 1
    assert [r for r in all_of(Report) if r.kind == 'addendum']
    for report in final:
        path = clinic_demo.data_dir / (report.pdf_path or 'missing')
        assert hashlib.sha256(path.read_bytes()).hexdigest() == report.pdf_sha256
        keys = [k for k in all_of(KeyImage) if k.study_id == report.study_id]
        pictures = sum(len(page.images) for page in PdfReader(path).pages)
        assert keys and pictures >= len(keys)
    obstetric = next(r for r in final if 'bpd' in r.values)
    assert float(obstetric.values['bpd']) == pytest.approx(demo_studies.OB_SIZES['bpd'], abs=0.1)
    assert obstetric.values['ga'].startswith('22w') and obstetric.language == 'fr'
    chest = next(r for r in final if 'ctr' in r.values)
    sizes = demo_studies.CHEST_SIZES
    assert float(chest.values['ctr']) == pytest.approx(sizes['heart'] / sizes['thorax'], abs=0.01)


def test_each_measurement_is_what_the_viewer_measures_on_that_image(clinic_demo: DemoClinic) -> None:
    measured = all_of(Measurement)
    assert {m.label for m in measured} >= {'BPD', 'FL', 'Herzbreite', 'Thoraxbreite'}
    for measurement in measured:
        instance = next(i for i in all_of(Instance) if i.id == measurement.instance_id)
        scale = calibration.from_attributes(facts.describe(storage.absolute(instance.file_path)), measurement.points[0])
        value, unit, _ = calibration.measure(measurement.kind, measurement.points, scale)
        assert (value, unit, scale.describe()) == (
            pytest.approx(measurement.value),
            measurement.unit,
            measurement.calibration,
        )


def test_the_chest_radiograph_has_last_years_prior_to_compare_with(clinic_demo: DemoClinic) -> None:
    chest = next(s for s in all_of(Study) if s.appointment_id and s.modalities == 'DX')
    (prior,) = viewing.priors(chest.id or 0, by=TEST)
    assert prior.modalities == 'DX' and prior.study_date is not None and chest.study_date is not None
    assert (chest.study_date - prior.study_date).days == demo_studies.PRIOR_DAYS


def test_the_demo_makes_the_same_images_every_run(clinic_demo: DemoClinic, tmp_path: Path) -> None:
    first = pixel_hashes()
    db.dispose()
    fill(tmp_path / 'again')
    open_clinic(tmp_path / 'again')
    assert pixel_hashes() == first
    open_clinic(clinic_demo.data_dir)


def pixel_hashes() -> dict[str, str]:
    return {
        instance.sop_instance_uid: hashlib.sha256(header(instance).PixelData).hexdigest()
        for instance in all_of(Instance)
    }


def test_the_reports_signed_in_the_demo_are_billed_at_the_clinics_prices(clinic_demo: DemoClinic) -> None:
    from decimal import Decimal

    from domain import billing
    from domain.models import Charge

    charges = all_of(Charge)
    finals = [r for r in all_of(Report) if r.kind == 'report' and r.state in ('final', 'addended')]
    assert len(charges) == len(finals) > 0
    prices = {Decimal(amount) for amount in demo.PRICES.values()}
    assert {Decimal(c.amount) for c in charges} <= prices and {c.currency for c in charges} == {'USD'}
    assert billing.revenue(system('test'), 30) == {'USD': sum((Decimal(c.amount) for c in charges), Decimal(0))}
