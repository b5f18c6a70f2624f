"""A small study with everything the trash must carry: two series, files, a thumbnail, measurements, a key image,
a final report with its PDF and an addendum, and a forward. Made through studies.record_instance where it counts."""

import hashlib
from dataclasses import dataclass
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from domain import db, studies, templates
from domain.access import modality
from domain.models import Forward, KeyImage, Measurement, Modality, Patient, Report, ReportTemplate, Series, Study

CT = '1.2.840.10008.5.1.4.1.1.2'
SR = '1.2.840.10008.5.1.4.1.1.88.11'
_serial = count(1)


@dataclass(frozen=True)
class World:
    patient_id: int
    study_id: int
    study_uid: str
    series_ids: list[int]  # [CT series (2 images), SR series (1 image)]
    report_id: int


def make_patient(clinic_patient_id: str, family_name: str = 'Petrova') -> int:
    with db.transaction() as session:
        patient = Patient(patient_id=clinic_patient_id, family_name=family_name, given_name='Olga')
        session.add(patient)
        session.flush()
        return patient.id or 0


def make_world(data_dir: Path, author_id: int) -> World:
    n = next(_serial)
    clinic_patient_id = f'TR{n:04d}'
    patient_id = make_patient(clinic_patient_id)
    study_uid = f'1.2.826.0.1.3680043.99.{n}'
    arrived = []
    for series, sop, kind, modality_name in (
        ('1', '1', CT, 'CT'),
        ('1', '2', CT, 'CT'),
        ('2', '1', SR, 'SR'),
    ):
        sop_uid = f'{study_uid}.{series}.{sop}'
        arrived.append(
            _arrive(
                data_dir,
                study_uid,
                f'{study_uid}.{series}',
                sop_uid,
                sop_class=kind,
                modality_name=modality_name,
                patient_id=clinic_patient_id,
            )
        )
    study_id = arrived[0].study_id
    series_ids = [arrived[0].series_id, arrived[2].series_id]
    thumbnail = f'thumbnails/{series_ids[0]}.png'
    _write(data_dir, thumbnail, b'\x89PNG thumbnail')
    studies.thumbnail_ready(series_ids[0], thumbnail, hashlib.sha256(b'\x89PNG thumbnail').hexdigest())
    templates.seed_shipped()
    with db.transaction() as session:
        template = session.scalars(select(ReportTemplate).where(ReportTemplate.code == 'free')).first()
        assert template is not None
        destination = Modality(ae_title=f'ARCHIVE{n}', host='127.0.0.1', port=104)
        session.add(destination)
        session.flush()
        session.add(Forward(study_id=study_id, destination_id=destination.id or 0, sent=3))
        session.add(
            Measurement(
                study_id=study_id, instance_id=arrived[0].instance_id, kind='length', points=[[0, 0], [3, 4]], value=5
            )
        )
        session.add(KeyImage(study_id=study_id, instance_id=arrived[1].instance_id, note='lesion'))
        report = Report(
            study_id=study_id,
            template_id=template.id or 0,
            author_id=author_id,
            signed_by_id=author_id,
            state='addended',
            findings='<p>Findings.</p>',
            impression='<p>Impression.</p>',
        )
        session.add(report)
        session.flush()
        report.pdf_path = f'reports/{report.id}-1.pdf'
        session.add(report)
        session.add(
            Report(
                study_id=study_id,
                template_id=template.id or 0,
                author_id=author_id,
                parent_id=report.id,
                kind='addendum',
            )
        )
        report_id = report.id or 0
    _write(data_dir, f'reports/{report_id}-1.pdf', b'%PDF-1.7 report')
    return World(patient_id, study_id, study_uid, series_ids, report_id)


def arrive_again(data_dir: Path, study_uid: str, sop_uid: str, series_uid: str = '') -> studies.Recorded:
    """An image received (again) under these UIDs."""
    return _arrive(
        data_dir,
        study_uid,
        series_uid or f'{study_uid}.9',
        sop_uid,
        sop_class=CT,
        modality_name='CT',
        patient_id='OTHER',
    )


def snapshot(study_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of the study and of every table that may depend on it, as plain dicts."""
    names = ('study', 'series', 'instance', 'measurement', 'key_image', 'report', 'forward')
    tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
    with db.reading() as session:
        return {
            name: [dict(row) for row in session.execute(select(tables[name]).order_by(tables[name].c.id)).mappings()]
            for name in names
        }


def file_digests(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every stored file outside the trash (images, thumbnails, PDFs)."""
    found = {}
    for folder in ('dicom', 'thumbnails', 'reports'):
        for path in sorted((data_dir / folder).rglob('*')):
            if path.is_file():
                found[path.relative_to(data_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def study_row(study_id: int) -> Study | None:
    with db.reading() as session:
        return session.get(Study, study_id)


def series_row(series_id: int) -> Series | None:
    with db.reading() as session:
        return session.get(Series, series_id)


def _arrive(
    data_dir: Path,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    *,
    sop_class: str,
    modality_name: str,
    patient_id: str,
) -> studies.Recorded:
    payload = f'DICM {sop_uid}'.encode()
    relative = f'dicom/{hashlib.sha256(sop_uid.encode()).hexdigest()[:8]}/{sop_uid}.dcm'
    if (data_dir / relative).exists():
        relative = relative.replace('.dcm', f'-{next(_serial)}.dcm')
    _write(data_dir, relative, payload)
    header = studies.InstanceHeader(
        sop_instance_uid=sop_uid,
        sop_class_uid=sop_class,
        study_instance_uid=study_uid,
        series_instance_uid=series_uid,
        patient_id=patient_id,
        patient_name='Petrova^Olga',
        modality=modality_name,
        study_date=date(2026, 11, 30),
        study_description='CHEST',
    )
    stored = studies.StoredFile(relative, len(payload), hashlib.sha256(payload).hexdigest())
    return studies.record_instance(header, stored, by=modality('TESTSCU'))


def _write(data_dir: Path, relative: str, payload: bytes) -> None:
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
