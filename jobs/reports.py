"""The report PDF: rendered after finalising (and after each addendum), stored atomically with its checksum.

The file name carries a digest of everything printed that can change (the signed content, the addenda,
the clinic header), so a second delivery finds the PDF in place and does nothing, and a re-render of the
same content writes the same bytes.
"""

import base64
import binascii
import hashlib
import logging
import os
import secrets
from pathlib import Path

from dicom import key_images, render
from domain import annotations, at_rest, centre_admin, centres, options, reporting
from domain.access import system
from domain.annotations import AnnotationView
from domain.errors import NotFound
from domain.reporting import ReportView
from reports import pdf

from .runner import job_actor

log = logging.getLogger(__name__)

SYSTEM = system('render_report_pdf')
KEY_IMAGE_EDGE = 1024


@job_actor(reporting.PDF_JOB, queue='reports', max_retries=3, throws=(NotFound,))
def render_report_pdf(report_id: int) -> None:
    """Render and store the PDF of a final report unless the stored one is current."""
    view = reporting.view(report_id, by=SYSTEM, audited=False)
    if view.report.state == reporting.DRAFT:
        return
    clinic = header_for(view.study.centre_id)
    marks = annotations.on_frames(view.study.id or 0, [(key.instance_id, key.frame) for key in view.key_images])
    relative = f'reports/{report_id}-{_edition(view, clinic, marks)}.pdf'
    target = reporting.data_dir() / relative
    if (
        view.report.pdf_rendered_at is not None
        and view.report.pdf_path == relative
        and _sha256_of(target) == view.report.pdf_sha256
    ):
        return
    pictures = [
        pdf.Picture(_key_image(view, key.instance_id, key.frame, marks.get((key.instance_id, key.frame), [])), key.note)
        for key in view.key_images
    ]
    from reports import printing  # WeasyPrint loads with the first PDF, not at start-up

    data = printing.render_pdf(view, clinic, pictures)
    _write_atomically(target, data)
    if reporting.pdf_stored(report_id, relative, hashlib.sha256(data).hexdigest()):
        for stale in target.parent.glob(f'{report_id}-*.pdf'):
            if stale != target:
                stale.unlink(missing_ok=True)
    log.info('report %s PDF stored (%d bytes, %d key images)', report_id, len(data), len(pictures))


def header_for(centre_id: int | None) -> pdf.Clinic:
    """The header a report is printed under: the diagnostic centre's own (issue 18) for a study of any centre but
    the first, which is the clinic itself and prints as the administrator set the clinic's details."""
    if centre_id is None or centre_id == centres.default_id():
        return clinic_header()
    centre = centre_admin.get(centre_id, by=SYSTEM)
    return pdf.Clinic(centre.name, centre.address, centre_admin.logo_bytes(centre))


def clinic_header() -> pdf.Clinic:
    """The clinic's name, address and logo as the administrator set them."""
    logo = None
    if encoded := str(options.get('clinic_logo') or ''):
        try:
            logo = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            log.warning('the stored clinic logo is not valid base64; printing without it')
    return pdf.Clinic(str(options.get('clinic_name')), str(options.get('clinic_address')), logo)


def _edition(view: ReportView, clinic: pdf.Clinic, marks: dict[tuple[int, int], list[AnnotationView]]) -> str:
    printed = [
        view.report.content_sha256 or '',
        view.report.language,
        clinic.name,
        clinic.address,
        hashlib.sha256(clinic.logo or b'').hexdigest(),
        *(a.content_sha256 or '' for a in view.addenda),
        *(f'{k.instance_id}:{k.frame}:{k.note}' for k in view.key_images),
        *(f'{a.id}:{a.points}:{a.text}' for shown in marks.values() for a in shown),  # drawn on the key images
    ]
    return hashlib.sha256('\n'.join(printed).encode('utf-8')).hexdigest()[:16]


def _key_image(view: ReportView, instance_id: int, frame: int, marks: list[AnnotationView]) -> bytes | None:
    path = view.files.get(instance_id)
    if path is None:
        return None
    try:
        return key_images.annotated_png(reporting.data_dir() / path, frame, marks, max_edge=KEY_IMAGE_EDGE)
    except (render.RenderError, OSError) as error:
        log.warning(
            'key image of instance %s frame %s left out of report %s: %s', instance_id, frame, view.report.id, error
        )
        return None


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(at_rest.read_bytes(path)).hexdigest()  # the PDF's own bytes, sealed or not
    except FileNotFoundError:
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f'.{target.name}.{secrets.token_hex(8)}.part')
    at_rest.write_new(temporary, data)  # sealed when encryption at rest is on
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
