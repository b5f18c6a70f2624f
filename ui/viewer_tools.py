"""The viewer's plain helpers: window presets per modality, orientation markers, overlay lines, shortcuts."""

import re
from datetime import date
from typing import Any

from domain.errors import N_
from domain.models import display_person_name
from domain.viewing import InstanceView, MeasurementView, SeriesView, StudyView

from .i18n import format_date, t

# Window presets (centre, width) by modality; the file's own windows and Auto are added per image.
PRESETS: dict[str, list[tuple[str, float, float]]] = {
    'CT': [
        (N_('Soft tissue'), 40, 400),
        (N_('Lung'), -600, 1500),
        (N_('Bone'), 400, 1800),
        (N_('Brain'), 40, 80),
        (N_('Abdomen'), 60, 400),
        (N_('Liver'), 80, 150),
        (N_('Mediastinum'), 50, 350),
    ],
    'MR': [(N_('Narrow'), 300, 600), (N_('Wide'), 600, 1200)],
    'CR': [(N_('Bone'), 2000, 4000)],
    'DX': [(N_('Bone'), 2000, 4000)],
}

OPPOSITE = {'L': 'R', 'R': 'L', 'A': 'P', 'P': 'A', 'H': 'F', 'F': 'H'}

# The pointer gestures and fixed keys of the shortcut sheet; keyed actions, which each doctor may change, are
# ui/viewer_shortcuts.py ACTIONS.
SHORTCUTS: list[tuple[str, str]] = [
    (N_('Wheel, ↑ ↓, Page Up/Down, Home/End'), N_('Previous / next image')),
    (N_('Right-drag'), N_('Window / level')),
    (N_('Ctrl + wheel, + / −'), N_('Zoom')),
    (N_('Middle-drag'), N_('Pan')),
    (N_('Double-click'), N_('Reset')),
    ('Esc', N_('Leave full-screen reading')),
]

# What a measurement of each kind is called when it is saved.
KIND_NAMES = {
    'length': N_('Length'),
    'angle': N_('Angle'),
    'ellipse': N_('Ellipse ROI'),
    'rectangle': N_('Rectangle ROI'),
}

# What a measurement's figures rest on (domain.calibration words, stored in English with the measurement).
CALIBRATION_WORDS = {
    'uncalibrated (px)': N_('uncalibrated (px)'),
    'Ultrasound region': N_('Ultrasound region'),
    'geometry': N_('geometry'),
    'calibrated with a fiducial': N_('calibrated with a fiducial'),
    'at the detector': N_('at the detector'),
}
MAGNIFICATION = re.compile(r'corrected for magnification (?P<factor>\S+)')


def orientation(facts: dict[str, Any]) -> dict[str, str] | None:
    """Letters for the four sides from Image Orientation (Patient), else Patient Orientation (PS3.3 C.7.6.1.1.1)."""
    vector = facts.get('ImageOrientationPatient')
    if isinstance(vector, list) and len(vector) == 6:
        try:
            right, bottom = _letters([float(v) for v in vector[:3]]), _letters([float(v) for v in vector[3:]])
        except (TypeError, ValueError):
            return None
    else:
        given = facts.get('PatientOrientation')
        if not isinstance(given, list) or len(given) != 2:
            return None
        right, bottom = str(given[0]), str(given[1])
    if not right or not bottom:
        return None
    return {'right': right, 'left': _opposite(right), 'bottom': bottom, 'top': _opposite(bottom)}


def overlay(study: StudyView, facts: dict[str, Any], series_label: str) -> dict[str, list[str]]:
    """Corner text: patient top left, study top right, series and slice bottom right (W/L and zoom added by canvas)."""
    top_left = [display_person_name(study.patient_name) or t('Unknown patient'), study.patient_id]
    if study.patient_birth_date:
        top_left.append(f'{t("Born")} {_date(study.patient_birth_date)} {study.patient_sex}'.strip())
    studied = format_date(study.study_date) if study.study_date else ''
    top_right = [study.description or study.modalities, studied, study.short_id, study.accession_number]
    bottom_right = [series_label]
    if 'InstanceNumber' in facts:
        bottom_right.append(f'{t("Instance")} {facts["InstanceNumber"]}')
    if 'SliceLocation' in facts:
        bottom_right.append(f'{t("Position")} {float(facts["SliceLocation"]):.1f} mm')
    if 'SliceThickness' in facts:
        bottom_right.append(f'{t("Thickness")} {float(facts["SliceThickness"]):.1f} mm')
    return {
        'tl': [line for line in top_left if line],
        'tr': [line for line in top_right if line],
        'bl': [],
        'br': bottom_right,
    }


def file_windows(facts: dict[str, Any]) -> list[tuple[str, float, float]]:
    """The windows the file itself offers, named by their explanations."""
    centres, widths = facts.get('WindowCenter') or [], facts.get('WindowWidth') or []
    names = facts.get('WindowCenterWidthExplanation') or []
    found = []
    for n, (centre, width) in enumerate(zip(centres, widths, strict=False)):
        name = str(names[n]) if n < len(names) and names[n] else f'{t("File window")} {n + 1}'
        found.append((name, float(centre), float(width)))
    return found


def measurement_text(row: MeasurementView) -> str:
    """A measurement as drawn beside it and listed: label, value and unit, ROI figures."""
    parts = [row.label] if row.label else []
    if row.value is not None:
        parts.append(f'{row.value:.1f} {row.unit}' if row.unit != '°' else f'{row.value:.1f}°')
    if 'mean' in row.stats:
        unit = row.stats.get('unit', '')
        parts.append(f'{t("mean")} {row.stats["mean"]:.1f} ± {row.stats.get("sd", 0):.1f} {unit}'.strip())
        parts.append(f'{t("min")} {row.stats["min"]:.0f} {t("max")} {row.stats["max"]:.0f}')
    return ' · '.join(parts)


def calibration_text(stored: str) -> str:
    """What a measurement's figures rest on ('Pixel Spacing (geometry)'), in the reader's language."""
    if stored in CALIBRATION_WORDS:
        return t(CALIBRATION_WORDS[stored])
    source, _, note = stored.partition(' (')
    note = note.removesuffix(')')
    if match := MAGNIFICATION.fullmatch(note):
        note = t('corrected for magnification {factor}', factor=match['factor'])
    elif note:
        note = t(CALIBRATION_WORDS.get(note, note))
    source = t(CALIBRATION_WORDS.get(source, source))
    return f'{source} ({note})' if note else source


def _letters(vector: list[float]) -> str:
    axes = [
        ('L' if vector[0] > 0 else 'R', abs(vector[0])),
        ('P' if vector[1] > 0 else 'A', abs(vector[1])),
        ('H' if vector[2] > 0 else 'F', abs(vector[2])),
    ]
    return ''.join(letter for letter, size in sorted(axes, key=lambda a: -a[1]) if size > 0.25)


def _opposite(letters: str) -> str:
    return ''.join(OPPOSITE.get(letter, letter) for letter in letters)


def _date(value: str) -> str:
    """A DICOM date (YYYYMMDD) as the reader's language writes it; anything else as it stands."""
    try:
        return format_date(date(int(value[:4]), int(value[4:6]), int(value[6:8]))) if len(value) == 8 else value
    except ValueError:
        return value


def frame_url(study: StudyView, series: SeriesView, instance: InstanceView, frame: int) -> str:
    """The DICOMweb address of one frame rendered for the browser (PS3.18 8.3.5)."""
    return (
        f'/dicomweb/studies/{study.study_instance_uid}/series/{series.series_instance_uid}'
        f'/instances/{instance.sop_instance_uid}/frames/{frame}/rendered'
    )
