"""A report's read model turned into HTML (Jinja2, every value escaped); reports/printing.py makes the PDF.

The URL fetcher serves only the app's own stylesheet and fonts and the images handed in (logo, key
images) under the `app:` scheme; anything else a document might name is refused. The same read model,
clinic details and images give the same bytes, so a report can be rendered again identically.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain import richtext
from domain.report_values import normal_range
from domain.reporting import ReportView
from domain.templates import label

from .texts import TEXTS, text

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SERVED = {'static': HERE / 'static', 'fonts': HERE / 'fonts'}


@dataclass(frozen=True)
class Clinic:
    """The header of every report: the clinic's name, address and logo (set by the administrator)."""

    name: str
    address: str = ''
    logo: bytes | None = None


@dataclass(frozen=True)
class Picture:
    """A key image as rendered for print (None when it could not be rendered) and its note."""

    png: bytes | None
    note: str = ''


@dataclass
class Assets:
    """The in-memory files a document may fetch besides the app's own."""

    logo: bytes | None = None
    images: list[bytes | None] = field(default_factory=list)


def render_html(view: ReportView, clinic: Clinic, pictures: list[Picture]) -> str:
    """The report as an HTML document for WeasyPrint."""
    language = view.report.language
    template = environment().get_template('report.html')
    return template.render(doc=document(view, clinic, pictures), t=lambda key: text(key, language))


def document(view: ReportView, clinic: Clinic, pictures: list[Picture]) -> dict[str, Any]:
    """The plain values the HTML template prints (markup only in sanitised rich text)."""
    report, study, patient, language = view.report, view.study, view.patient, view.report.language
    values = {**view.computed, **report.values}
    flagged = {f.key for f in view.flags if f.kind == 'out-of-range'}
    sections = []
    for section in view.definition.sections:
        rows = []
        for spec in section.fields:
            value = values.get(spec.key)
            if value is None or str(value).strip() == '':
                continue
            if spec.type == 'choice':
                chosen = next((c for c in spec.choices if c.value == str(value)), None)
                value = label(chosen.label, language) if chosen else value
            rows.append(
                {
                    'label': label(spec.label, language),
                    'value': str(value),
                    'unit': spec.unit,
                    'normal': normal_range(spec),
                    'flagged': spec.key in flagged,
                }
            )
        if rows:
            sections.append({'label': label(section.label, language), 'rows': rows})
    sex = patient.sex if patient else (study.patient_sex or 'U')[:1]
    return {
        'language': language,
        'report_id': report.id,
        'title': label(view.definition.name, language),
        'draft': report.state == 'draft',
        'clinic_name': clinic.name,
        'clinic_address': [line for line in clinic.address.splitlines() if line.strip()],
        'logo': bool(clinic.logo),
        'patient_name': patient.name if patient else study.patient_name.replace('^', ' '),
        'patient_id': patient.patient_id if patient else study.dicom_patient_id,
        'birth_date': patient.birth_date.isoformat() if patient and patient.birth_date else '',
        'sex': text(sex, language) if sex in TEXTS else sex,
        'study_description': study.description,
        'study_date': study.study_date.isoformat() if study.study_date else '',
        'accession': study.accession_number,
        'short_id': study.short_id or '',
        'referrer': study.referring_physician.replace('^', ' '),
        'sections': sections,
        'findings': richtext.clean(report.findings),
        'impression': richtext.clean(report.impression),
        'measurements': [
            {'label': m.label or m.kind, 'value': _measured(m.value, m.unit)}
            for m in view.measurements
            if m.value is not None
        ],
        'images': [{'available': p.png is not None, 'note': p.note} for p in pictures],
        'signed_by': view.name(report.signed_by_id),
        'signed_at': _when(report.signed_at),
        'checksum': report.content_sha256 or '—',
        'addenda': [
            {
                'text': richtext.clean(a.findings),
                'signed_by': view.name(a.signed_by_id),
                'signed_at': _when(a.signed_at),
                'checksum': a.content_sha256 or '',
            }
            for a in view.addenda
        ],
    }


def css_string(value: object) -> str:
    """A value made safe inside a double-quoted CSS string (the page footer)."""
    return ''.join(ch if ch.isalnum() or ch in ' .,:;-_()/' else f'\\{ord(ch):x} ' for ch in str(value))


def environment() -> Environment:
    """The templates of the printed documents (reports and statements), HTML escaped, with their filters."""
    environment = Environment(
        loader=FileSystemLoader(HERE / 'templates'),
        autoescape=select_autoescape(['html']),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters['css_string'] = css_string
    return environment


def _measured(value: float, unit: str) -> str:
    return f'{value:.1f} {unit}'.strip()


def _when(moment: Any) -> str:
    return moment.strftime('%Y-%m-%d %H:%M UTC') if moment is not None else ''
