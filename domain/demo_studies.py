"""The demo's imaging: which study each scanned appointment gets, and the older and unmatched studies beside them.

An `Order` is what the demo asks a scanner for (dicom/synthetic.py makes the images and stores them through the
normal receiving pipeline): who, which examination, when, and the geometry of the images. Where a report
measures something, the order also names where it lies (`marks`, image pixels), so the scanner draws the
anatomy there and the reader (domain/demo_reading.py) measures exactly what was drawn. UIDs come from a fixed
root and counters, so every run of the demo makes the same studies.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from .models import Appointment, Patient

UID_ROOT = '2.25.119145034617227480624406520301486640331'  # a fixed UUID-derived root (PS3.5 B.2)
Point = tuple[float, float]


@dataclass(frozen=True)
class Order:
    """One study for a scanner to make; geometry in millimetres and pixels, dates as the modality writes them."""

    key: int  # the study's number under UID_ROOT (and the seed of its pixels)
    exam: str  # ct-head, ct-chest, dx-chest, us-abdomen, us-obstetric, mr-knee
    station: str  # the calling AE title of the room that sends it
    patient_name: str  # DICOM PN: Family^Given
    patient_id: str
    birth_date: str  # YYYYMMDD
    sex: str
    accession_number: str
    study_date: date
    study_time: str  # HHMMSS
    description: str
    rows: int
    columns: int
    pixel_mm: float  # in-plane spacing (for DX: at the detector)
    slices: int = 1  # per series (CT, MR) or frames of the cine (US)
    slice_mm: float = 0.0
    magnification: float = 1.0  # DX: Estimated Radiographic Magnification Factor
    marks: dict[str, tuple[Point, Point]] = field(default_factory=dict)  # what the reader measures, in pixels

    @property
    def study_uid(self) -> str:
        """The Study Instance UID the scanner gives the order's study."""
        return f'{UID_ROOT}.1.{self.key}'

    @property
    def patient_pixel_mm(self) -> float:
        """The size of a pixel in the patient (a radiograph's detector spacing over the magnification)."""
        return self.pixel_mm / self.magnification


@dataclass(frozen=True)
class Imaging:
    """How the demo gets images: `acquire` makes and stores one order's images, `settle` finishes the work they
    queued (metadata, thumbnails, PDFs) before the demo goes on. main.py wires the real scanner and job runner."""

    acquire: Callable[[Order], int]  # returns the study the images arrived in
    settle: Callable[[], object]


# What each procedure code of the demo makes: (exam, rows, columns, pixel mm, slices or frames, slice mm).
PROTOCOLS: dict[str, tuple[str, int, int, float, int, float]] = {
    'CT-HEAD': ('ct-head', 256, 256, 0.9, 120, 1.25),
    'CT-CHEST': ('ct-chest', 256, 256, 1.4, 110, 2.5),
    'MR-KNEE': ('mr-knee', 256, 256, 0.6, 18, 3.5),
    'DX-CHEST': ('dx-chest', 1024, 1024, 0.4, 1, 0.0),
    'US-ABD': ('us-abdomen', 480, 640, 0.35, 30, 0.0),
    'US-OB': ('us-obstetric', 480, 640, 0.3, 1, 0.0),
}
DESCRIPTIONS = {
    'ct-head': 'CT HEAD WITHOUT CONTRAST',
    'ct-chest': 'CT CHEST',
    'mr-knee': 'MR KNEE RIGHT',
    'dx-chest': 'CHEST PA AND LATERAL',
    'us-abdomen': 'US ABDOMEN',
    'us-obstetric': 'US OBSTETRIC 2ND TRIMESTER',
}
DX_MAGNIFICATION = 1.1
PRIOR_DAYS = 371  # the prior chest radiograph was taken a year and a few days ago
OB_SIZES = {'bpd': 54.0, 'ofd': 71.0, 'ac_ap': 54.0, 'ac_tr': 58.0, 'fl': 39.0}  # mm: 22 weeks by Hadlock
CHEST_SIZES = {'heart': 132.0, 'thorax': 300.0}  # mm in the patient: a cardiothoracic ratio of 0.44
US_CENTRE = (320.0, 250.0)  # where the obstetric planes centre the measured structure (pixels)


def order_for(
    key: int, appointment: Appointment, patient: Patient, *, procedure: str, station: str, when: datetime
) -> Order:
    """The study a booked appointment's scanner makes, at the appointment's local day and time."""
    return _order(
        key,
        procedure,
        station=station,
        patient=patient,
        accession=appointment.accession_number,
        on=when.date(),
        at=f'{when:%H%M}00',
        description=DESCRIPTIONS[PROTOCOLS[procedure][0]],
    )


def prior_for(key: int, patient: Patient, today: date, station: str) -> Order:
    """Last year's chest radiograph of the same patient, read then: the prior the doctor compares with."""
    return _order(
        key,
        'DX-CHEST',
        station=station,
        patient=patient,
        accession=f'H{key:07d}',
        on=today - timedelta(days=PRIOR_DAYS),
        at='101500',
        description='CHEST PA',
    )


def unmatched(key: int, today: date, station: str) -> Order:
    """A walk-in radiograph typed on the scanner's console: a misspelt name, the console's own ID, no accession."""
    stranger = Patient(
        patient_id='DX-0815', family_name='Kowalsky', given_name='Jan', birth_date=date(1970, 3, 15), sex='M'
    )
    return _order(
        key, 'DX-CHEST', station=station, patient=stranger, accession='', on=today, at='071000', description='CHEST PA'
    )


def circumference(width: float, height: float) -> float:
    """The perimeter of an ellipse with these axes (Ramanujan's approximation), as scanners give HC and AC."""
    a, b = width / 2, height / 2
    return math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))


def _order(
    key: int,
    procedure: str,
    *,
    station: str,
    patient: Patient,
    accession: str,
    on: date,
    at: str,
    description: str,
) -> Order:
    exam, rows, columns, pixel_mm, slices, slice_mm = PROTOCOLS[procedure]
    magnification = DX_MAGNIFICATION if exam == 'dx-chest' else 1.0
    order = Order(
        key=key,
        exam=exam,
        station=station,
        patient_name=f'{patient.family_name}^{patient.given_name}',
        patient_id=patient.patient_id,
        birth_date=patient.birth_date.strftime('%Y%m%d') if patient.birth_date else '',
        sex=patient.sex if patient.sex in ('M', 'F', 'O') else '',
        accession_number=accession,
        study_date=on,
        study_time=at,
        description=description,
        rows=rows,
        columns=columns,
        pixel_mm=pixel_mm,
        slices=slices,
        slice_mm=slice_mm,
        magnification=magnification,
    )
    return replace(order, marks=_marks(order))


def _marks(order: Order) -> dict[str, tuple[Point, Point]]:
    """Where the measured structures lie: horizontal spans centred as the scanner draws them (pixels)."""
    if order.exam == 'dx-chest':
        px = order.patient_pixel_mm
        middle, level = order.columns / 2, order.rows * 0.62
        heart, thorax = CHEST_SIZES['heart'] / px, CHEST_SIZES['thorax'] / px
        shift = heart * 0.18  # the heart lies more to the patient's left (the image's right)
        return {
            'heart': ((middle - heart / 2 + shift, level), (middle + heart / 2 + shift, level)),
            'thorax': ((middle - thorax / 2, level - 30), (middle + thorax / 2, level - 30)),
        }
    if order.exam == 'us-obstetric':
        px, (cx, cy) = order.pixel_mm, US_CENTRE
        bpd, ofd = OB_SIZES['bpd'] / px, OB_SIZES['ofd'] / px
        ac_tr, ac_ap, fl = OB_SIZES['ac_tr'] / px, OB_SIZES['ac_ap'] / px, OB_SIZES['fl'] / px
        return {
            'head': ((cx - ofd / 2, cy - bpd / 2), (cx + ofd / 2, cy + bpd / 2)),  # bounding box of the skull
            'bpd': ((cx, cy - bpd / 2), (cx, cy + bpd / 2)),
            'abdomen': ((cx - ac_tr / 2, cy - ac_ap / 2), (cx + ac_tr / 2, cy + ac_ap / 2)),
            'femur': ((cx - fl / 2, cy), (cx + fl / 2, cy)),
        }
    return {}
