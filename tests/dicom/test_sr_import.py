"""Measurements a scanner sends as a Structured Report fill the report's fields (issue 18): an OB biometry SR (TID 5000,
built here with pydicom as a Voluson would send it) fills the obstetric template, means before single measurements,
centimetres written in the field's millimetres; a real SR of pydicom's test files and a broken one are read safely."""

import logging
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from sqlmodel import col, select

from dicom import ingest, sr_import, storage
from domain import report_sr, reporting
from domain.errors import InvalidTransition
from domain.models import AuditEvent, Study
from tests.conftest import Clinic
from tests.report_fixtures import final_report, make_study, template_id

COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33'


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def _num(loinc: str, meaning: str, number: float, unit: str, *, mean: bool = False) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = 'CONTAINS', 'NUM'
    item.ConceptNameCodeSequence = [_code(loinc, 'LN', meaning)]
    measured = Dataset()
    measured.NumericValue = str(number)
    measured.MeasurementUnitsCodeSequence = [_code(unit, 'UCUM', unit)]
    item.MeasuredValueSequence = [measured]
    if mean:
        derivation = Dataset()
        derivation.RelationshipType, derivation.ValueType = 'HAS CONCEPT MOD', 'CODE'
        derivation.ConceptNameCodeSequence = [_code('121401', 'DCM', 'Derivation')]
        derivation.ConceptCodeSequence = [_code('R-00317', 'SRT', 'Mean')]
        item.ContentSequence = [derivation]
    return item


def ob_sr(study_uid: str, path: Path) -> Path:
    """An OB-GYN ultrasound report (TID 5000): fetal biometry with three BPDs and their mean, HC in cm."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = COMPREHENSIVE_SR
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = COMPREHENSIVE_SR, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = 'SR', 'Ob^Patient', 'OB-1'
    ds.Manufacturer, ds.ManufacturerModelName, ds.ContentDate = 'GE Healthcare', 'Voluson E10', '20261201'
    ds.ValueType, ds.ContinuityOfContent = 'CONTAINER', 'SEPARATE'
    ds.ConceptNameCodeSequence = [_code('125000', 'DCM', 'OB-GYN Ultrasound Procedure Report')]
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = 'DCMR', '5000'
    ds.ContentTemplateSequence = [template]
    biometry = Dataset()
    biometry.RelationshipType, biometry.ValueType = 'CONTAINS', 'CONTAINER'
    biometry.ConceptNameCodeSequence = [_code('125002', 'DCM', 'Fetal Biometry')]
    biometry.ContinuityOfContent = 'SEPARATE'
    biometry.ContentSequence = [
        _num('11820-8', 'Biparietal Diameter', 52.0, 'mm'),
        _num('11820-8', 'Biparietal Diameter', 52.6, 'mm'),
        _num('11820-8', 'Biparietal Diameter', 52.3, 'mm', mean=True),
        _num('11984-2', 'Head Circumference', 19.0, 'cm'),
        _num('11979-2', 'Abdominal Circumference', 170, 'mm'),
        _num('11963-6', 'Femur Length', 38, 'mm'),
        _num('99999-9', 'Something the templates do not have', 7, 'mm'),
    ]
    ds.ContentSequence = [biometry]
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def arrived(clinic: Clinic) -> int:
    """A study whose only series is the scanner's OB structured report."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    ingest.share(ingest.Ingest())
    path = ob_sr(generate_uid(), clinic.data_dir.parent / 'ob-sr.dcm')
    outcome = ingest.shared().accept_file(path, by=clinic.technician.actor)
    assert outcome.study_id is not None
    return outcome.study_id


def test_the_numeric_items_are_read_means_first_with_their_units_and_source(tmp_path: Path) -> None:
    values = sr_import.read(pydicom.dcmread(ob_sr('1.2.3', tmp_path / 'sr.dcm')), instance_id=7)
    assert [(v.code, v.value, v.unit) for v in values[:3]] == [
        ('LN:11820-8', 52.3, 'mm'),
        ('LN:11820-8', 52.0, 'mm'),
        ('LN:11820-8', 52.6, 'mm'),
    ]
    assert {v.source for v in values} == {'GE Healthcare Voluson E10, 2026-12-01'}
    assert {v.instance_id for v in values} == {7}


def test_an_ob_sr_fills_the_obstetric_template_and_the_fill_is_audited(clinic: Clinic, arrived: int) -> None:
    doctor = clinic.radiologist.actor
    report = reporting.start(arrived, template_id('us-obstetrics'), language='en', by=doctor)
    assert sr_import.fill_report(report.id or 0, arrived, by=doctor) == ['ac', 'bpd', 'fl', 'hc']
    values = reporting.view(report.id or 0, by=doctor, audited=False).report.values
    assert {key: values[key] for key in ('bpd', 'hc', 'ac', 'fl')} == {
        'bpd': '52.3',
        'hc': '190',
        'ac': '170',
        'fl': '38',
    }
    with reporting.db.reading() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'report.import')).one()
    assert event.detail['fields'] == ['ac', 'bpd', 'fl', 'hc'] and event.object_id == str(report.id)


def test_a_value_the_doctor_typed_is_never_replaced(clinic: Clinic, arrived: int) -> None:
    doctor = clinic.radiologist.actor
    report = reporting.start(arrived, template_id('us-obstetrics'), language='en', by=doctor)
    reporting.save_draft(report.id or 0, reporting.ReportDraft(values={'bpd': '50'}), by=doctor)
    assert 'bpd' not in sr_import.fill_report(report.id or 0, arrived, by=doctor)
    assert reporting.view(report.id or 0, by=doctor, audited=False).report.values['bpd'] == '50'


def test_a_final_report_is_not_filled(clinic: Clinic, arrived: int) -> None:
    doctor = clinic.radiologist.actor
    signed = final_report(make_study(), doctor)
    with pytest.raises(InvalidTransition):
        report_sr.fill(signed, sr_import.study_values(arrived, by=doctor), by=doctor)


def test_a_real_sr_of_another_kind_is_read_and_fills_nothing_it_does_not_name(tmp_path: Path) -> None:
    values = sr_import.read(pydicom.dcmread(get_testdata_file('test-SR.dcm')))
    assert values and all(v.meaning == 'Diameter' and v.unit == 'cm' for v in values)
    from domain import sr_values, templates
    from domain.template_library import SHIPPED

    obstetrics = next(t for t in SHIPPED if t['code'] == 'us-obstetrics')
    fields = templates.TemplateDefinition.model_validate(obstetrics['definition']).fields()
    assert sr_values.matches(values, fields) == {}


def test_a_cut_off_sr_gives_what_it_holds_and_a_missing_one_is_logged_by_its_instance(
    clinic: Clinic, arrived: int, caplog: pytest.LogCaptureFixture
) -> None:
    ((instance_id, path),) = report_sr.sr_files(arrived, by=clinic.radiologist.actor)
    stored = clinic.data_dir / path
    whole = sr_import.study_values(arrived, by=clinic.radiologist.actor)
    stored.write_bytes(stored.read_bytes()[:1500])  # cut off inside the biometry
    cut = sr_import.study_values(arrived, by=clinic.radiologist.actor)
    assert 0 < len(cut) < len(whole)
    stored.unlink()
    with caplog.at_level(logging.WARNING, logger='dicom.sr_import'):
        assert sr_import.study_values(arrived, by=clinic.radiologist.actor) == []
    assert f'instance {instance_id} not read (FileNotFoundError)' in caplog.text
    assert 'Ob^Patient' not in caplog.text


def test_only_staff_who_read_images_list_a_studys_srs(clinic: Clinic, arrived: int) -> None:
    from domain.errors import NotAllowed

    with pytest.raises(NotAllowed):
        report_sr.sr_files(arrived, by=clinic.receptionist.actor)
    with reporting.db.reading() as session:
        assert session.exec(select(Study).where(col(Study.id) == arrived)).one().modalities == 'SR'
