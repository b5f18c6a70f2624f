"""Rows for report tests: a patient with a booked, scanned study (made directly; the services have their tests)."""

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count

from sqlmodel import select

from domain import clock, db, reporting, short_ids, templates
from domain.access import Actor
from domain.models import (
    Appointment,
    Instance,
    KeyImage,
    Measurement,
    Patient,
    ReportDraft,
    ReportTemplate,
    Series,
    Study,
)

_serial = count(1)


@dataclass(frozen=True)
class StudyRows:
    study_id: int
    patient_id: int
    appointment_id: int
    instance_ids: list[int]


def make_study(
    *,
    family_name: str = 'Ivanova',
    given_name: str = 'Anna',
    description: str = 'US ABDOMEN',
    modality: str = 'US',
    file_paths: list[str] | None = None,
) -> StudyRows:
    """A patient, an appointment in review and its study with one series of instances."""
    n = next(_serial)

    with db.transaction() as session:
        patient = Patient(
            patient_id=f'P{n:05d}',
            family_name=family_name,
            given_name=given_name,
            birth_date=date(1990, 5, 17),
            sex='F',
        )
        session.add(patient)
        session.flush()
        appointment = Appointment(
            patient_id=patient.id or 0,
            accession_number=f'A{n:07d}',
            short_id=short_ids.unused_code(session),
            scheduled_at=clock.now() - timedelta(hours=1),
            state='review',
        )
        session.add(appointment)
        session.flush()
        study = Study(
            study_instance_uid=f'1.2.826.0.1.3680043.10.{n}',
            patient_ref_id=patient.id,
            appointment_id=appointment.id,
            patient_name=f'{family_name}^{given_name}',
            dicom_patient_id=patient.patient_id,
            accession_number=appointment.accession_number,
            short_id=appointment.short_id,
            study_date=date(2024, 3, 1),
            description=description,
            modalities=modality,
            state='ready',
        )
        session.add(study)
        session.flush()
        series = Series(study_id=study.id or 0, series_instance_uid=f'{study.study_instance_uid}.1', modality=modality)
        session.add(series)
        session.flush()
        instances = []
        for i, path in enumerate(file_paths or ['none.dcm'], start=1):
            instance = Instance(
                series_id=series.id or 0,
                sop_instance_uid=f'{series.series_instance_uid}.{i}',
                sop_class_uid='1.2.840.10008.5.1.4.1.1.7',
                file_path=path,
                instance_number=i,
            )
            session.add(instance)
            session.flush()
            instances.append(instance.id or 0)
    return StudyRows(study.id or 0, patient.id or 0, appointment.id or 0, instances)


def add_measurement(study: StudyRows, label: str, value: float, unit: str = 'mm') -> int:
    with db.transaction() as session:
        row = Measurement(
            study_id=study.study_id,
            instance_id=study.instance_ids[0],
            kind='length',
            points=[[0, 0], [1, 1]],
            value=value,
            unit=unit,
            label=label,
            created_by='radiologist1',
        )
        session.add(row)
    return row.id or 0


def add_key_image(study: StudyRows, index: int = 0, note: str = '') -> int:
    with db.transaction() as session:
        row = KeyImage(study_id=study.study_id, instance_id=study.instance_ids[index], note=note)
        session.add(row)
    return row.id or 0


def template_id(code: str) -> int:
    """The newest version of a shipped template (seeding them first)."""
    templates.seed_shipped()
    with db.reading() as session:
        rows = session.exec(select(ReportTemplate).where(ReportTemplate.code == code)).all()
    return max(rows, key=lambda r: r.version).id or 0


ABDOMEN_VALUES = {'liver_right_lobe': '142', 'liver_echo': 'normal', 'spleen_length': '105'}


def final_report(
    study: StudyRows,
    writer: Actor,
    *,
    code: str = 'us-abdomen',
    language: str = 'en',
    values: dict | None = None,
    findings: str = '<p>Liver unremarkable.</p>',
    impression: str = '<p>Normal abdomen.</p>',
) -> int:
    """A report written and signed by `writer` (a radiologist)."""
    report = reporting.start(study.study_id, template_id(code), language=language, by=writer)
    reporting.save_draft(
        report.id or 0,
        ReportDraft(
            values=values if values is not None else ABDOMEN_VALUES,
            findings=findings,
            impression=impression,
            language=language,
        ),
        by=writer,
    )
    reporting.finalise(report.id or 0, by=writer)
    return report.id or 0
