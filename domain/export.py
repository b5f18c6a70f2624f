"""Study export for patients and referrers: who may, what goes in, and the audit line that says so.

The zip itself (DICOMDIR, de-identification) is dicom/export.py's work; this module decides what it holds from the
index alone: the whole study, chosen series or the key images, de-identified or not, with the signed report's PDF or
not. A de-identified export never carries the report: its PDF names the patient, the clinic and the doctor in text
that no tag-level profile can reach.
"""

import logging
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from . import audit, db
from .access import Actor, Permission, require
from .errors import InvalidInput, NotFound
from .models import Instance, KeyImage, Report, Series, Study

log = logging.getLogger(__name__)

# Secondary Capture image storage classes (PS3.4 B.5): screenshots and scanned pages, often with text in the pixels
SECONDARY_CAPTURE_PREFIX = '1.2.840.10008.5.1.4.1.1.7'
BURNED_IN_TAG = '00280301'  # Burned In Annotation (PS3.3 C.7.6.1.1.7), as Instance.attributes keeps it


@dataclass(frozen=True)
class ExportRequest:
    """What the person exporting asked for."""

    study_id: int
    series_ids: tuple[int, ...] = ()  # empty: every series
    key_images_only: bool = False
    deidentify: bool = False
    include_report: bool = False


@dataclass(frozen=True)
class SeriesChoice:
    """A series as the export dialog lists it."""

    id: int
    modality: str
    series_number: int | None
    description: str
    num_instances: int
    burned_in: str  # 'yes', 'unknown' (US or secondary capture without a clear NO) or 'no'


@dataclass(frozen=True)
class ExportChoices:
    """What the export dialog may offer for one study."""

    study_id: int
    series: list[SeriesChoice]
    key_images: int
    report_id: int | None  # the signed report whose PDF is ready, if any


@dataclass(frozen=True)
class ExportFile:
    """One stored image going into the zip."""

    file_path: str  # relative to the data directory, read through dicom.storage
    sop_instance_uid: str
    series_id: int


@dataclass(frozen=True)
class ExportPlan:
    """What one export writes, decided and audited before a byte is read."""

    study_id: int
    study_instance_uid: str
    files: list[ExportFile]
    deidentify: bool
    report_pdf: str | None = None  # relative path of the report's PDF, when asked for
    burned_in_series: list[int] = field(default_factory=list)


def choices(study_id: int, *, by: Actor) -> ExportChoices:
    """The series, key images and report an export of this study could hold."""
    require(by, Permission.EXPORT_STUDIES)
    with db.reading() as session:
        if session.get(Study, study_id) is None:
            raise NotFound('No study {study_id}', study_id=study_id)
        series = session.exec(
            select(Series).where(Series.study_id == study_id).order_by(col(Series.series_number), col(Series.id))
        ).all()
        instances = session.exec(
            select(Instance).join(Series).where(Series.study_id == study_id).order_by(col(Instance.id))
        ).all()
        keys = session.exec(select(KeyImage.instance_id).where(KeyImage.study_id == study_id).distinct()).all()
        report = _signed_report(session, study_id)
    by_series: dict[int, list[Instance]] = {}
    for instance in instances:
        by_series.setdefault(instance.series_id, []).append(instance)
    return ExportChoices(
        study_id=study_id,
        series=[
            SeriesChoice(
                id=row.id or 0,
                modality=row.modality,
                series_number=row.series_number,
                description=row.description,
                num_instances=len(by_series.get(row.id or 0, [])),
                burned_in=_series_burned_in(row.modality, by_series.get(row.id or 0, [])),
            )
            for row in series
        ],
        key_images=len(keys),
        report_id=report.id if report is not None else None,
    )


def prepare(request: ExportRequest, *, by: Actor) -> ExportPlan:
    """Decide what the export holds and audit it (who, which study, what, de-identified or not)."""
    require(by, Permission.EXPORT_STUDIES)
    if request.deidentify and request.include_report:
        raise InvalidInput('A de-identified export cannot hold the report: its PDF names the patient')
    with db.reading() as session:
        study = session.get(Study, request.study_id)
        if study is None:
            raise NotFound('No study {study_id}', study_id=request.study_id)
        query = select(Instance, Series.modality).join(Series).where(Series.study_id == request.study_id)
        if request.series_ids:
            query = query.where(col(Series.id).in_(request.series_ids))
        if request.key_images_only:
            keys = select(KeyImage.instance_id).where(KeyImage.study_id == request.study_id)
            query = query.where(col(Instance.id).in_(keys))
        rows = session.exec(
            query.order_by(col(Series.series_number), col(Series.id), col(Instance.instance_number), col(Instance.id))
        ).all()
        report = _signed_report(session, request.study_id) if request.include_report else None
    if not rows:
        raise InvalidInput('Nothing to export: choose at least one series with images')
    if request.include_report and report is None:
        raise NotFound('This study has no signed report with a PDF yet')
    files = [ExportFile(instance.file_path, instance.sop_instance_uid, instance.series_id) for instance, _ in rows]
    burned_in = sorted({instance.series_id for instance, modality in rows if _burned_in(modality, instance) != 'no'})
    series_ids = sorted({item.series_id for item in files})
    audit.record_alone(
        by,
        'study.export',
        object_type='study',
        object_id=request.study_id,
        detail={
            'series': series_ids,
            'instances': len(files),
            'key_images_only': request.key_images_only,
            'deidentified': request.deidentify,
            'report': report.id if report is not None else None,
        },
    )
    log.info(
        'study %s exported by user %s: %d images, de-identified %s',
        request.study_id,
        by.user_id,
        len(files),
        request.deidentify,
    )
    return ExportPlan(
        study_id=request.study_id,
        study_instance_uid=study.study_instance_uid,
        files=files,
        deidentify=request.deidentify,
        report_pdf=report.pdf_path if report is not None else None,
        burned_in_series=burned_in if request.deidentify else [],
    )


def burned_in(modality: str, sop_class_uid: str, value: str | None) -> str:
    """'yes' when Burned In Annotation says YES; 'unknown' when it is absent for US or secondary capture; else 'no'."""
    if (value or '').strip().upper() == 'YES':
        return 'yes'
    if value is None and (modality == 'US' or sop_class_uid.startswith(SECONDARY_CAPTURE_PREFIX)):
        return 'unknown'
    return 'no'


def _burned_in(modality: str, instance: Instance) -> str:
    element = (instance.attributes or {}).get(BURNED_IN_TAG) or {}
    values = element.get('Value') or []
    return burned_in(modality, instance.sop_class_uid, str(values[0]) if values else None)


def _series_burned_in(modality: str, instances: list[Instance]) -> str:
    found = {_burned_in(modality, instance) for instance in instances}
    return 'yes' if 'yes' in found else 'unknown' if 'unknown' in found else 'no'


def _signed_report(session: Session, study_id: int) -> Report | None:
    return session.exec(
        select(Report)
        .where(
            Report.study_id == study_id,
            Report.kind == 'report',
            Report.state != 'draft',
            col(Report.pdf_path).is_not(None),
            col(Report.pdf_rendered_at).is_not(None),
        )
        .order_by(col(Report.id).desc())
    ).first()
