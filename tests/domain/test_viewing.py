"""The viewer's services: studies in reading order, priors, audited views, measurements and key images."""

import math

import pytest

from domain import audit, calibration, db, events, viewing
from domain.calibration import Calibration
from domain.errors import InvalidInput, NotAllowed, NotFound
from domain.models import AuditEvent, Instance, Series, Study
from tests.conftest import Clinic

PIXEL_SPACING = Calibration(0.5, 0.25, 'Pixel Spacing')


def _study(uid: str, patient_id: str = 'P1', series: int = 2, images: int = 3, day: int = 1) -> Study:
    from datetime import date

    with db.transaction() as session:
        study = Study(
            study_instance_uid=uid,
            dicom_patient_id=patient_id,
            patient_name='Doe^Jane',
            study_date=date(2024, 1, day),
            modalities='CT',
            description=f'CT {uid}',
        )
        session.add(study)
        session.flush()
        for s in reversed(range(series)):
            row = Series(study_id=study.id, series_instance_uid=f'{uid}.{s}', modality='CT', series_number=s + 1)
            session.add(row)
            session.flush()
            for n in reversed(range(images)):
                session.add(
                    Instance(
                        series_id=row.id,
                        sop_instance_uid=f'{uid}.{s}.{n}',
                        sop_class_uid='1.2',
                        instance_number=n + 1,
                        file_path=f'dicom/{uid}-{s}-{n}.dcm',
                        rows=64,
                        columns=64,
                    )
                )
    return study


def _views(clinic: Clinic) -> list[AuditEvent]:
    return [e for e in audit.search(by=clinic.admin.actor, action='study.view').rows]


@pytest.fixture(autouse=True)
def _forget() -> None:
    viewing.forget_views()


def test_a_study_opens_with_series_and_images_in_reading_order(clinic: Clinic) -> None:
    study = _study('1.2.3')
    view = viewing.open_study(study.id, by=clinic.radiologist.actor)
    assert [s.series_number for s in view.series] == [1, 2]
    assert [i.instance_number for i in view.series[0].instances] == [1, 2, 3]
    assert view.series[0].frames == 3


def test_the_first_view_of_a_study_by_a_user_is_audited_once(clinic: Clinic) -> None:
    study = _study('1.2.4')
    viewing.open_study(study.id, by=clinic.radiologist.actor)
    viewing.frame_source('1.2.4', '1.2.4.0', '1.2.4.0.1', by=clinic.radiologist.actor)
    viewing.forget_views()  # a restarted process still finds the earlier view in the trail
    viewing.open_study(study.id, by=clinic.radiologist.actor)
    viewing.open_study(study.id, by=clinic.technician.actor)
    assert sorted(e.username for e in _views(clinic)) == ['radiologist1', 'technician1']


def test_reception_may_not_open_images(clinic: Clinic) -> None:
    study = _study('1.2.5')
    with pytest.raises(NotAllowed):
        viewing.open_study(study.id, by=clinic.receptionist.actor)
    with pytest.raises(NotAllowed):
        viewing.frame_source('1.2.5', '1.2.5.0', '1.2.5.0.0', by=clinic.receptionist.actor)


def test_an_unknown_image_is_not_found(clinic: Clinic) -> None:
    _study('1.2.6')
    with pytest.raises(NotFound):
        viewing.frame_source('1.2.6', '1.2.6.1', '1.2.6.0.0', by=clinic.radiologist.actor)  # wrong series
    with pytest.raises(NotFound):
        viewing.open_study(999, by=clinic.radiologist.actor)


def test_priors_are_the_patients_other_studies_newest_first(clinic: Clinic) -> None:
    current = _study('2.1', day=20)
    _study('2.2', day=5)
    _study('2.3', day=10)
    _study('2.4', patient_id='OTHER', day=11)
    found = viewing.priors(current.id, by=clinic.radiologist.actor)
    assert [p.description for p in found] == ['CT 2.3', 'CT 2.2']


def test_a_length_is_measured_in_millimetres_from_pixel_spacing(clinic: Clinic) -> None:
    study = _study('3.1')
    instance_id = viewing.open_study(study.id, by=clinic.radiologist.actor).series[0].instances[0].id
    changed: list[events.Event] = []
    events.subscribe(changed.append)
    saved = viewing.add_measurement(
        study.id,
        instance_id,
        1,
        'length',
        [[10, 10], [50, 40]],
        calibration=PIXEL_SPACING,
        label='lesion',
        by=clinic.radiologist.actor,
    )
    # 40 columns × 0.25 mm and 30 rows × 0.5 mm
    assert saved.value == pytest.approx(math.hypot(10, 15))
    assert (saved.unit, saved.label, saved.created_by) == ('mm', 'lesion', 'radiologist1')
    assert events.MeasurementsChanged(study.id) in changed
    assert [m.id for m in viewing.measurements(study.id, by=clinic.technician.actor)] == [saved.id]
    assert audit.search(by=clinic.admin.actor, action='measurement.create').total == 1


def test_measurements_are_labelled_and_deleted_with_an_audit_trail(clinic: Clinic) -> None:
    study = _study('3.2')
    instance_id = viewing.open_study(study.id, by=clinic.radiologist.actor).series[0].instances[0].id
    saved = viewing.add_measurement(
        study.id,
        instance_id,
        1,
        'angle',
        [[0, 10], [0, 0], [10, 0]],
        calibration=calibration.UNCALIBRATED,
        by=clinic.radiologist.actor,
    )
    assert (round(saved.value, 6), saved.unit) == (90.0, '°')
    assert viewing.label_measurement(saved.id, '  hip  ', by=clinic.radiologist.actor).label == 'hip'
    viewing.delete_measurement(saved.id, by=clinic.admin.actor)
    assert viewing.measurements(study.id, by=clinic.radiologist.actor) == []
    actions = [e.action for e in audit.search(by=clinic.admin.actor, action='measurement.').rows]
    assert actions == ['measurement.delete', 'measurement.label', 'measurement.create']


def test_technicians_may_not_measure(clinic: Clinic) -> None:
    study = _study('3.3')
    with pytest.raises(NotAllowed):
        viewing.add_measurement(
            study.id, 1, 1, 'length', [[0, 0], [1, 1]], calibration=PIXEL_SPACING, by=clinic.technician.actor
        )


def test_a_measurement_with_the_wrong_points_is_refused(clinic: Clinic) -> None:
    study = _study('3.4')
    instance_id = viewing.open_study(study.id, by=clinic.radiologist.actor).series[0].instances[0].id
    with pytest.raises(InvalidInput):
        viewing.add_measurement(
            study.id, instance_id, 1, 'length', [[0, 0]], calibration=PIXEL_SPACING, by=clinic.radiologist.actor
        )
    with pytest.raises(NotFound):
        other = _study('3.5')
        viewing.add_measurement(
            other.id, instance_id, 1, 'length', [[0, 0], [1, 1]], calibration=PIXEL_SPACING, by=clinic.radiologist.actor
        )


def test_a_key_image_is_toggled_on_and_off(clinic: Clinic) -> None:
    study = _study('4.1')
    instance_id = viewing.open_study(study.id, by=clinic.radiologist.actor).series[0].instances[1].id
    assert viewing.set_key_image(study.id, instance_id, 1, True, by=clinic.radiologist.actor) is True
    assert viewing.set_key_image(study.id, instance_id, 1, True, by=clinic.radiologist.actor) is True
    assert [(k.instance_id, k.created_by) for k in viewing.key_images(study.id, by=clinic.admin.actor)] == [
        (instance_id, 'radiologist1')
    ]
    assert viewing.set_key_image(study.id, instance_id, 1, False, by=clinic.radiologist.actor) is False
    assert viewing.key_images(study.id, by=clinic.admin.actor) == []


def test_a_missing_file_is_marked_for_the_administrator(clinic: Clinic) -> None:
    study = _study('5.1')
    instance_id = viewing.open_study(study.id, by=clinic.radiologist.actor).series[0].instances[0].id
    viewing.report_missing_file(instance_id, by=clinic.radiologist.actor)
    viewing.report_missing_file(instance_id, by=clinic.radiologist.actor)
    assert viewing.missing_files() == 1
    assert audit.search(by=clinic.admin.actor, action='instance.missing').total == 1


@pytest.mark.parametrize(
    ('attributes', 'source', 'row_mm'),
    [
        ({'PixelSpacing': [0.7, 0.6]}, 'Pixel Spacing', 0.7),
        ({'ImagerPixelSpacing': [0.15, 0.15]}, 'Imager Pixel Spacing (at the detector)', 0.15),
        (
            {'ImagerPixelSpacing': [0.2, 0.2], 'EstimatedRadiographicMagnificationFactor': 1.25},
            'Imager Pixel Spacing (corrected for magnification 1.25)',
            0.16,
        ),
        ({'PixelSpacing': [0.1, 0.1], 'PixelSpacingCalibrationType': 'GEOMETRY'}, 'Pixel Spacing (geometry)', 0.1),
        (
            {
                'SequenceOfUltrasoundRegions': [
                    {
                        'PhysicalUnitsXDirection': 3,
                        'PhysicalUnitsYDirection': 3,
                        'PhysicalDeltaX': 0.02,
                        'PhysicalDeltaY': 0.03,
                        'RegionLocationMinX0': 0,
                        'RegionLocationMinY0': 0,
                        'RegionLocationMaxX1': 639,
                        'RegionLocationMaxY1': 479,
                    }
                ]
            },
            'Ultrasound region',
            0.3,
        ),
        ({}, 'uncalibrated (px)', None),
    ],
)
def test_the_calibration_says_where_it_comes_from(attributes: dict, source: str, row_mm: float | None) -> None:
    found = calibration.from_attributes(attributes, (10, 10))
    assert found.describe() == source
    assert found.row_mm == (pytest.approx(row_mm) if row_mm else None)


def test_roi_areas_use_real_units_and_ct_values_are_hounsfield() -> None:
    ct = calibration.from_attributes({'PixelSpacing': [0.5, 0.5], 'Modality': 'CT'})
    area, unit, extra = calibration.measure('rectangle', [[0, 0], [20, 10]], ct)
    assert (area, unit, extra['width'], ct.value_unit) == (50.0, 'mm²', 10.0, 'HU')
    area, unit, _ = calibration.measure('ellipse', [[0, 0], [20, 10]], calibration.UNCALIBRATED)
    assert (area, unit) == (pytest.approx(math.pi * 10 * 5), 'px²')
