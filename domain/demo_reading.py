"""The demo's reading: what the doctors did with the studies that arrived, through the services they use.

Finalised reports with measurements and key images (their PDFs are rendered by the real job), an addendum
after comparing with the prior, a draft still being written, and a report on last year's prior. Measurements
are taken where the demo's scanner drew the anatomy (Order.marks), with the calibration the viewer finds in
those images, so the values in the reports are the ones a doctor would measure.
"""

import logging
from datetime import date

from sqlmodel import col, select

from . import calibration, db, reporting, richtext, templates, viewing
from .access import Actor
from .demo_studies import Order, circumference
from .models import Instance, ReportDraft, Series

log = logging.getLogger(__name__)


def ct_head(study_id: int, *, by: Actor) -> int:
    """A normal head CT, two key images at the level of the ventricles and of the orbits."""
    report_id = _start(study_id, 'ct-head', 'en', by)
    for number, note in ((43, 'Lateral ventricles'), (91, 'Orbits')):
        viewing.set_key_image(study_id, _instance(study_id, 1, number), 1, True, note=note, by=by)
    values = {'midline_shift': '0', 'haemorrhage': 'no', 'ventricles': 'normal'}
    _sign(report_id, values, 'No acute intracranial abnormality. Ventricles of normal size.', 'en', by)
    return report_id


def dx_chest(study_id: int, order: Order, *, by: Actor) -> int:
    """Today's chest radiograph (German): heart and thorax measured for the cardiothoracic ratio, the PA view keyed."""
    pa = _instance(study_id, 1, 1)
    scale = calibration.from_attributes(
        {'ImagerPixelSpacing': [order.pixel_mm] * 2, 'EstimatedRadiographicMagnificationFactor': order.magnification}
    )
    heart = _measure(study_id, pa, 'length', order.marks['heart'], scale=scale, label='Herzbreite', by=by)
    thorax = _measure(study_id, pa, 'length', order.marks['thorax'], scale=scale, label='Thoraxbreite', by=by)
    viewing.set_key_image(study_id, pa, 1, True, note='PA', by=by)
    report_id = _start(study_id, 'xr-chest', 'de', by)
    values = {'ctr': f'{heart / thorax:.2f}', 'lungs': 'clear', 'effusion': 'no'}
    _sign(report_id, values, 'Kein akuter kardiopulmonaler Befund.', 'de', by)
    return report_id


def compare_with_prior(report_id: int, prior_date: date, *, by: Actor) -> None:
    """The addendum after the prior was compared: nothing has changed."""
    text = f'Im Vergleich zur Voraufnahme vom {prior_date:%d.%m.%Y} unveränderter Befund.'
    reporting.add_addendum(report_id, richtext.from_text(text), by=by)


def prior_chest(study_id: int, *, by: Actor) -> int:
    """Last year's radiograph, reported then (signed again here: the demo has no past)."""
    viewing.set_key_image(study_id, _instance(study_id, 1, 1), 1, True, note='PA', by=by)
    report_id = _start(study_id, 'xr-chest', 'de', by)
    _sign(report_id, {'lungs': 'clear', 'effusion': 'no'}, 'Altersentsprechender Thoraxbefund.', 'de', by)
    return report_id


def obstetric(study_id: int, order: Order, *, by: Actor) -> int:
    """A second-trimester scan (French): BPD, HC, AC and FL measured on the three planes, each plane keyed."""
    head, belly, femur = (_instance(study_id, 1, number) for number in (1, 2, 3))
    region = calibration.from_attributes(
        {
            'SequenceOfUltrasoundRegions': [
                {
                    'PhysicalUnitsXDirection': 3,
                    'PhysicalUnitsYDirection': 3,
                    'PhysicalDeltaX': order.pixel_mm / 10,
                    'PhysicalDeltaY': order.pixel_mm / 10,
                }
            ]
        }
    )
    bpd = _measure(study_id, head, 'length', order.marks['bpd'], scale=region, label='BPD', by=by)
    (x0, y0), (x1, y1) = order.marks['head']
    _measure(study_id, head, 'ellipse', order.marks['head'], scale=region, label='Contour céphalique', by=by)
    hc = circumference(abs(x1 - x0) * order.pixel_mm, abs(y1 - y0) * order.pixel_mm)
    (x0, y0), (x1, y1) = order.marks['abdomen']
    _measure(study_id, belly, 'ellipse', order.marks['abdomen'], scale=region, label='Contour abdominal', by=by)
    ac = circumference(abs(x1 - x0) * order.pixel_mm, abs(y1 - y0) * order.pixel_mm)
    fl = _measure(study_id, femur, 'length', order.marks['femur'], scale=region, label='FL', by=by)
    for instance_id, note in ((head, 'BIP / PC'), (belly, 'PA'), (femur, 'LF')):
        viewing.set_key_image(study_id, instance_id, 1, True, note=note, by=by)
    report_id = _start(study_id, 'us-obstetrics', 'fr', by)
    values = {
        'bpd': f'{bpd:.1f}',
        'hc': f'{hc:.1f}',
        'ac': f'{ac:.1f}',
        'fl': f'{fl:.1f}',
        'fhr': '146',
        'presentation': 'cephalic',
        'placenta': 'anterior',
    }
    findings = (
        'Grossesse monofœtale intra-utérine, activité cardiaque présente.\n'
        'Liquide amniotique en quantité normale. Placenta antérieur, non prævia.'
    )
    impression = 'Grossesse monofœtale évolutive. Biométrie concordante avec le terme.'
    _sign(report_id, values, impression, 'fr', by, findings=findings)
    return report_id


def mr_knee_draft(study_id: int, *, by: Actor) -> int:
    """A knee MR whose report is still being written: a free-form draft, saved but not signed."""
    viewing.set_key_image(study_id, _instance(study_id, 1, 15), 1, True, note='Medial meniscus', by=by)
    report_id = _start(study_id, 'free', 'en', by)
    findings = (
        'Menisci: intact, no tear.\n'
        'Cruciate ligaments: intact.\n'
        'Collateral ligaments: '  # the doctor was interrupted here
    )
    reporting.save_draft(
        report_id, ReportDraft(findings=richtext.from_text(findings), impression='', language='en'), by=by
    )
    return report_id


# ---------------------------------------------------------------- helpers


def _start(study_id: int, code: str, language: str, by: Actor) -> int:
    template = next(t for t in templates.current(by=by) if t.code == code)
    return reporting.start(study_id, template.id or 0, language=language, by=by).id or 0


def _sign(
    report_id: int, values: dict[str, str], impression: str, language: str, by: Actor, *, findings: str = ''
) -> None:
    """Fill in the report as the doctor would (the template's normal findings unless others are given), then sign."""
    shown = reporting.view(report_id, by=by, audited=False)
    draft = ReportDraft(
        values=values,
        findings=richtext.from_text(findings) if findings else shown.report.findings,
        impression=richtext.from_text(impression),
        language=language,
    )
    reporting.save_draft(report_id, draft, by=by)
    reporting.finalise(report_id, by=by)


def _measure(
    study_id: int,
    instance_id: int,
    kind: str,
    points: tuple[tuple[float, float], tuple[float, float]],
    *,
    scale: calibration.Calibration,
    label: str,
    by: Actor,
) -> float:
    measured = viewing.add_measurement(
        study_id, instance_id, 1, kind, [list(p) for p in points], calibration=scale, label=label, by=by
    )
    return measured.value or 0.0


def _instance(study_id: int, series_number: int, instance_number: int) -> int:
    """The id of one image of a demo study by its series and instance numbers."""
    with db.reading() as session:
        found = session.exec(
            select(Instance.id)
            .join(Series, col(Series.id) == Instance.series_id)
            .where(
                Series.study_id == study_id,
                Series.series_number == series_number,
                Instance.instance_number == instance_number,
            )
        ).first()
    if found is None:
        raise LookupError(f'demo study {study_id} has no image {series_number}/{instance_number}')
    return found
