"""Reports: drafts that save themselves, finalising (signed, frozen, checksummed), addenda and deletion.

The state machine is draft → final → addended. Only its author changes or finalises a draft (a colleague
takes it over first, an administrator may reassign it: domain/report_ownership.py); the author or an
administrator may delete it. Finalising (radiologists only) freezes the text, the values, the template version, the
signer, the time and the SHA-256 of the canonical content; after that only signed addenda are added. Every
step is audited in the transaction that makes it. The PDF (jobs/reports.py) is queued by finalising.
"""

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, String, cast, or_
from sqlmodel import Session, col, select

from . import (
    appointments,
    at_rest,
    audit,
    billing,
    clock,
    db,
    events,
    options,
    report_ownership,
    richtext,
    short_ids,
    work,
)
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, InvalidTransition, NotAllowed, NotFound
from .models import Instance, KeyImage, Measurement, Patient, Report, ReportDraft, ReportTemplate, Series, Study, User
from .report_ownership import Handover
from .report_values import Flag, computed, flags, missing, unreadable
from .templates import TemplateDefinition, definition
from .templates import label as pick_label

log = logging.getLogger(__name__)

DRAFT, FINAL, ADDENDED = 'draft', 'final', 'addended'
STATES = (DRAFT, FINAL, ADDENDED)
LANGUAGES = ('en', 'ru', 'es', 'fr', 'de')
PDF_JOB = 'render_report_pdf'
LOGO_MAX_BYTES = 512 * 1024
LOGO_TYPES = {b'\x89PNG\r\n\x1a\n': 'image/png', b'\xff\xd8\xff': 'image/jpeg'}
_config: dict[str, Path] = {}


def configure(data_dir: Path) -> None:
    """Tell the service where PDFs live (main.py at start-up; tests)."""
    _config['data_dir'] = Path(data_dir)


def data_dir() -> Path:
    """The data directory PDFs and images are stored under."""
    if 'data_dir' not in _config:
        raise RuntimeError('reporting not configured: call reporting.configure(data_dir) first')
    return _config['data_dir']


@dataclass
class ReportView:
    """A report with everything the editor shows: template, study, patient, addenda, flags and study data."""

    report: Report
    template: ReportTemplate
    definition: TemplateDefinition
    study: Study
    patient: Patient | None
    addenda: list[Report]
    names: dict[int, str]
    measurements: list[Measurement]
    key_images: list[KeyImage]
    files: dict[int, str] = field(default_factory=dict)  # instance id -> file path under the data directory
    uids: dict[int, tuple[str, str]] = field(default_factory=dict)  # instance id -> (series UID, SOP instance UID)
    flags: list[Flag] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    computed: dict[str, str] = field(default_factory=dict)
    handovers: list[Handover] = field(default_factory=list)  # take-overs and reassignments, oldest first

    def name(self, user_id: int | None) -> str:
        """A member of staff's name as printed (their user name when no full name is on file)."""
        return self.names.get(user_id or 0, '')


@dataclass(frozen=True)
class ReportRow:
    """One line of the report search."""

    id: int
    study_id: int
    state: str
    patient_name: str
    patient_id: str
    study_date: date | None
    description: str
    template: str
    saved_at: datetime
    signed_at: datetime | None


def start(study_id: int, template_id: int, *, language: str | None = None, by: Actor) -> Report:
    """Open a draft report for a study with a template version (the study's draft if it already has one)."""
    require(by, Permission.WRITE_REPORTS)
    # the screen passes the one chosen; else the clinic's report language, else the account's
    language = language or str(options.get('report_language')) or by.language or 'en'
    if language not in LANGUAGES:
        raise InvalidInput('Unknown report language {language}', language=language)
    with db.transaction() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('No study {study_id}', study_id=study_id)
        template = session.get(ReportTemplate, template_id)
        if template is None:
            raise NotFound('No template {template_id}', template_id=template_id)
        existing = session.exec(select(Report).where(Report.study_id == study_id, Report.kind == 'report')).first()
        if existing is not None:
            raise Conflict('This study already has report {report_id}', report_id=existing.id)
        parsed = definition(template)
        report = Report(
            study_id=study_id,
            template_id=template_id,
            language=language,
            author_id=by.user_id or 0,
            last_saved_by_id=by.user_id,
            state=DRAFT,
            findings=_normal_findings(parsed, language),
            impression=richtext.from_text(pick_label(parsed.impression_normal, language)),
        )
        session.add(report)
        audit.record(
            session,
            by,
            'report.start',
            report,
            detail={'study': study_id, 'template': template.code, 'version': template.version},
        )
        _changed(session, report)
    log.info('report %s started for study %s', report.id, study_id)
    return report


def save_draft(report_id: int, draft: ReportDraft, *, by: Actor) -> ReportView:
    """Store what the editor holds (autosave); only by the draft's author, never once final. Returns the fresh flags."""
    require(by, Permission.WRITE_REPORTS)
    if draft.language not in LANGUAGES:
        raise InvalidInput('Unknown report language {language}', language=draft.language)
    with report_ownership.refusals_audited(by, 'report.save', report_id), db.transaction() as session:
        report = _locked(session, report_id)
        if report.state != DRAFT or report.kind != 'report':
            raise InvalidTransition('A final report cannot be changed; add an addendum')
        report_ownership.check_author(session, report, by)
        report.values = {str(k): v for k, v in draft.values.items()}
        report.findings = richtext.clean(draft.findings)
        report.impression = richtext.clean(draft.impression)
        report.language = draft.language
        report.last_saved_by_id, report.last_saved_at = by.user_id, clock.now()
        session.add(report)
        audit.record(session, by, 'report.save', report)
        _changed(session, report)
    return view(report_id, by=by, audited=False)


def finalise(report_id: int, *, by: Actor) -> Report:
    """Sign and freeze the report (its author only); refused with the list of what is missing; queues the PDF."""
    require(by, Permission.FINALISE_REPORTS)
    with report_ownership.refusals_audited(by, 'report.finalise', report_id), db.transaction() as session:
        report = _locked(session, report_id)
        if report.state != DRAFT or report.kind != 'report':
            raise InvalidTransition('This report is already final')
        report_ownership.check_author(session, report, by)
        template = session.get(ReportTemplate, report.template_id)
        study = session.get(Study, report.study_id)
        assert template is not None and study is not None
        parsed = definition(template)
        gaps = missing(parsed, report.values, report.impression, report.language)
        if gaps:
            raise InvalidInput(
                'Fill in before finalising: {fields}', {g: 'missing' for g in gaps}, fields=', '.join(gaps)
            )
        if bad := unreadable(parsed, report.values, report.language):
            raise InvalidInput(
                'Correct before finalising: {fields}', {b: 'invalid' for b in bad}, fields=', '.join(bad)
            )
        report.values = {**report.values, **computed(parsed, report.values, study.study_date)}
        report.state, report.signed_by_id, report.signed_at = FINAL, by.user_id, clock.now()
        patient = session.get(Patient, study.patient_ref_id) if study.patient_ref_id else None
        report.content_sha256 = content_digest(report, template, study, patient, by.username)
        session.add(report)
        study.reported = True  # off the reading worklist (domain.reading.UNREAD), in the signing transaction
        session.add(study)
        audit.record(
            session,
            by,
            'report.finalise',
            report,
            detail={'sha256': report.content_sha256},
            changes={'state': (DRAFT, FINAL)},
        )
        if study.appointment_id is not None:
            appointments.report_finalised(session, study.appointment_id)
        billing.freeze(session, study, report, by)
        work.enqueue(session, PDF_JOB, report.id or 0)
        _changed(session, report)
        events.publish_after(session, events.ReportFinalised(report.id or 0, report.study_id))
    log.info('report %s finalised by user %s', report_id, by.user_id)
    return report


def add_addendum(report_id: int, text: str, *, by: Actor) -> Report:
    """Add a signed, frozen correction to a final report; the PDF is rendered again with it."""
    require(by, Permission.FINALISE_REPORTS)
    body = richtext.clean(text)
    if richtext.is_empty(body):
        raise InvalidInput('Write the addendum first', {'addendum': 'missing'})
    with db.transaction() as session:
        parent = _locked(session, report_id)
        if parent.kind != 'report' or parent.state not in (FINAL, ADDENDED):
            raise InvalidTransition('Only a final report takes an addendum; change the draft instead')
        now = clock.now()
        addendum = Report(
            study_id=parent.study_id,
            template_id=parent.template_id,
            parent_id=parent.id,
            kind='addendum',
            state=FINAL,
            language=parent.language,
            findings=body,
            author_id=by.user_id or 0,
            last_saved_by_id=by.user_id,
            last_saved_at=now,
            signed_by_id=by.user_id,
            signed_at=now,
        )
        session.add(addendum)
        session.flush()
        addendum.content_sha256 = _digest(
            {
                'addendum': addendum.id,
                'report': parent.id,
                'report_sha256': parent.content_sha256,
                'text': body,
                'signed_by': by.username,
                'signed_at': _iso(now),
            }
        )
        previous_state, parent.state, parent.pdf_rendered_at = parent.state, ADDENDED, None
        session.add_all([addendum, parent])
        audit.record(
            session,
            by,
            'report.addendum',
            parent,
            detail={'addendum': addendum.id, 'sha256': addendum.content_sha256},
            changes={'state': (previous_state, ADDENDED)},
        )
        work.enqueue(session, PDF_JOB, parent.id or 0)
        _changed(session, parent)
    return addendum


def delete_draft(report_id: int, *, by: Actor) -> None:
    """Throw a draft away: only its author or an administrator, and never a final report."""
    require(by, Permission.WRITE_REPORTS)
    with report_ownership.refusals_audited(by, 'report.delete', report_id), db.transaction() as session:
        report = _locked(session, report_id)
        if report.state != DRAFT:
            raise InvalidTransition('A final report cannot be deleted')
        if by.role != 'admin' and by.user_id != report.author_id:
            raise NotAllowed('Only the author or an administrator may delete this draft')
        audit.record(session, by, 'report.delete', report, detail={'study': report.study_id})
        events.publish_after(session, events.ReportChanged(report_id, report.study_id, 'deleted'))
        session.delete(report)


def view(report_id: int, *, by: Actor, audited: bool = True) -> ReportView:
    """The report with its template, study, patient, addenda, study measurements and key images."""
    require(by, Permission.VIEW_REPORTS)
    with db.reading() as session:
        report = session.get(Report, report_id)
        if report is None or report.kind != 'report':
            raise NotFound('No report {report_id}', report_id=report_id)
        template = session.get(ReportTemplate, report.template_id)
        study = session.get(Study, report.study_id)
        assert template is not None and study is not None
        patient = session.get(Patient, study.patient_ref_id) if study.patient_ref_id else None
        addenda = list(session.exec(select(Report).where(Report.parent_id == report_id).order_by(col(Report.id))).all())
        handovers = report_ownership.handovers(session, report_id)
        people = {
            report.author_id,
            report.last_saved_by_id,
            report.signed_by_id,
            *(a.signed_by_id for a in addenda),
            *(person for h in handovers for person in (h.by_id, h.from_id, h.to_id)),
        } - {None}
        names = {
            u.id or 0: u.full_name or u.username
            for u in session.exec(select(User).where(col(User.id).in_(people))).all()
        }
        measurements = list(
            session.exec(
                select(Measurement).where(Measurement.study_id == study.id).order_by(col(Measurement.id))
            ).all()
        )
        key_images = list(
            session.exec(select(KeyImage).where(KeyImage.study_id == study.id).order_by(col(KeyImage.id))).all()
        )
        pictured = session.exec(
            select(Instance.id, Instance.file_path, Series.series_instance_uid, Instance.sop_instance_uid)
            .join(Series, col(Series.id) == Instance.series_id)
            .where(col(Instance.id).in_([k.instance_id for k in key_images]))
        ).all()
        files = {row[0] or 0: row[1] for row in pictured}
        uids = {row[0] or 0: (row[2], row[3]) for row in pictured}
    if audited:
        audit.record_alone(by, 'report.view', object_type='report', object_id=report_id)
    parsed = definition(template)
    frozen = report.state != DRAFT
    return ReportView(
        report,
        template,
        parsed,
        study,
        patient,
        addenda,
        names,
        measurements,
        key_images,
        files,
        uids,
        flags=flags(parsed, report.values),
        missing=[] if frozen else missing(parsed, report.values, report.impression, report.language),
        computed=computed(parsed, report.values, study.study_date) if not frozen else {},
        handovers=handovers,
    )


def for_study(study_id: int, *, by: Actor) -> Report | None:
    """The study's report (draft or final), if one was started."""
    require(by, Permission.VIEW_REPORTS)
    with db.reading() as session:
        return session.exec(select(Report).where(Report.study_id == study_id, Report.kind == 'report')).first()


def search(text: str = '', state: str = '', *, by: Actor, limit: int = 100) -> list[ReportRow]:
    """Reports whose text or values contain `text`, optionally in one state, newest first."""
    require(by, Permission.VIEW_REPORTS)
    if state and state not in STATES:
        raise InvalidInput('Unknown report state {state}', state=state)
    query = (
        select(Report, Study, Patient, ReportTemplate)
        .join(Study, col(Study.id) == Report.study_id)
        .join(ReportTemplate, col(ReportTemplate.id) == Report.template_id)
        .outerjoin(Patient, col(Patient.id) == Study.patient_ref_id)
        .where(Report.kind == 'report')
    )
    if state:
        query = query.where(Report.state == state)
    if words := text.strip():
        pattern = f'%{words}%'
        addenda = select(Report.parent_id).where(col(Report.findings).ilike(pattern))
        matches: list[ColumnElement[bool]] = [
            col(Report.findings).ilike(pattern),
            col(Report.impression).ilike(pattern),
            cast(Report.values, String).ilike(pattern),
            col(Report.id).in_(addenda),
        ]
        if code := short_ids.typed(words):  # the study's short ID, as typed
            matches.append(col(Study.short_id) == code)
        query = query.where(or_(*matches))
    with db.reading() as session:
        rows = session.exec(query.order_by(col(Report.last_saved_at).desc()).limit(limit)).all()
    audit.record_alone(by, 'report.search', object_type='report', detail={'state': state, 'found': len(rows)})
    return [
        ReportRow(
            r.id or 0,
            r.study_id,
            r.state,
            p.name if p else s.patient_name,
            p.patient_id if p else s.dicom_patient_id,
            s.study_date,
            s.description,
            t.name,
            r.last_saved_at,
            r.signed_at,
        )
        for r, s, p, t in rows
    ]


def request_pdf(report_id: int, *, by: Actor) -> None:
    """Render the PDF of a final report again (the same content gives the same bytes)."""
    require(by, Permission.WRITE_REPORTS)
    with db.transaction() as session:
        report = _locked(session, report_id)
        if report.state == DRAFT:
            raise InvalidTransition('A draft has no PDF; finalise it first')
        report.pdf_rendered_at = None
        session.add(report)
        audit.record(session, by, 'report.render', report)
        work.enqueue(session, PDF_JOB, report_id)


def pdf_file(report_id: int, *, by: Actor) -> Path:
    """The stored PDF of a report for download (audited); NotFound until the job has rendered it."""
    require(by, Permission.VIEW_REPORTS)
    with db.reading() as session:
        report = session.get(Report, report_id)
    if report is None or report.pdf_path is None:
        raise NotFound('The PDF of this report is not ready yet')
    path = data_dir() / report.pdf_path
    if not path.is_file():
        raise NotFound('The PDF of this report is missing; ask for it to be rendered again')
    audit.record_alone(
        by, 'report.download', object_type='report', object_id=report_id, detail={'sha256': report.pdf_sha256}
    )
    return path


def pdf_bytes(report_id: int, *, by: Actor) -> bytes:
    """The stored PDF of a report, decrypted when it is kept encrypted at rest (audited as pdf_file is)."""
    return at_rest.read_bytes(pdf_file(report_id, by=by))


def pdf_stored(report_id: int, relative_path: str, sha256: str) -> bool:
    """Record the PDF a job rendered (system); False when the report is gone or still a draft."""
    with db.transaction() as session:
        report = session.get(Report, report_id)
        if report is None or report.state == DRAFT:
            return False
        report.pdf_path, report.pdf_sha256, report.pdf_rendered_at = relative_path, sha256, clock.now()
        session.add(report)
        events.publish_after(session, events.ReportPdfReady(report_id))
    return True


def set_logo(data: bytes, *, by: Actor) -> None:
    """Store the clinic's logo for report headers (PNG or JPEG, at most 512 KB); empty bytes remove it."""
    if data and logo_type(data) is None:
        raise InvalidInput('The logo must be a PNG or JPEG image')
    if len(data) > LOGO_MAX_BYTES:
        raise InvalidInput('The logo must be at most 512 KB')
    options.put('clinic_logo', base64.b64encode(data).decode('ascii'), by=by)


def logo_type(data: bytes) -> str | None:
    """The media type of a logo image by its first bytes (image/png or image/jpeg); None for anything else."""
    return next((kind for magic, kind in LOGO_TYPES.items() if data.startswith(magic)), None)


def logo_preview(encoded: str) -> str | None:
    """The stored clinic logo (base64) as a data: URL to show the administrator; None when there is no usable one."""
    try:
        kind = logo_type(base64.b64decode(encoded[:16], validate=True))
    except ValueError:  # binascii.Error: not base64
        return None
    return f'data:{kind};base64,{encoded}' if kind else None


def content_digest(report: Report, template: ReportTemplate, study: Study, patient: Patient | None, signer: str) -> str:
    """SHA-256 of the canonical content a signature covers (text, values, template version, signer, time)."""
    return _digest(
        {
            'report': report.id,
            'study_instance_uid': study.study_instance_uid,
            'patient_id': patient.patient_id if patient else study.dicom_patient_id,
            'template': template.code,
            'template_version': template.version,
            'language': report.language,
            'values': report.values,
            'findings': report.findings,
            'impression': report.impression,
            'signed_by': signer,
            'signed_at': _iso(report.signed_at),
        }
    )


def verify(report_id: int, *, by: Actor) -> bool:
    """True when the stored content still hashes to the checksum signed at finalising."""
    require(by, Permission.VIEW_REPORTS)
    with db.reading() as session:
        report = session.get(Report, report_id)
        if report is None or report.content_sha256 is None:
            return False
        template, study = session.get(ReportTemplate, report.template_id), session.get(Study, report.study_id)
        signer = session.get(User, report.signed_by_id)
        assert template is not None and study is not None and signer is not None
        patient = session.get(Patient, study.patient_ref_id) if study.patient_ref_id else None
    return content_digest(report, template, study, patient, signer.username) == report.content_sha256


# ---------------------------------------------------------------- helpers


def _locked(session: Session, report_id: int) -> Report:
    report = session.exec(select(Report).where(Report.id == report_id).with_for_update()).first()
    if report is None:
        raise NotFound('No report {report_id}', report_id=report_id)
    return report


def _changed(session: Session, report: Report) -> None:
    events.publish_after(session, events.ReportChanged(report.id or 0, report.study_id, report.state))


def _normal_findings(parsed: TemplateDefinition, language: str) -> str:
    sentences = [pick_label(s.normal_text, language) for s in parsed.sections if s.normal_text]
    return richtext.from_text('\n'.join(s for s in sentences if s))


def _digest(content: dict[str, Any]) -> str:
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(',', ':'), default=str)
    return hashlib.sha256(blob.encode('utf-8')).hexdigest()


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ''
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # SQLite drops the zone
    return moment.isoformat(timespec='microseconds')
