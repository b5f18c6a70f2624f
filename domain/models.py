"""Tables of the whole clinic, with the small data models that go in and out of services.

Times are aware UTC datetimes (see domain.clock). JSON columns hold small structured values only.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from . import clock, folding


def display_name(family: str, given: str = '', middle: str = '') -> str:
    """A patient's name as staff read it: family name, then given names."""
    given_names = ' '.join(part for part in (given, middle) if part)
    return f'{family}, {given_names}' if given_names else family


def display_person_name(value: str) -> str:
    """A DICOM person name (Family^Given^Middle, with = between alphabetic, ideographic, phonetic) as staff read it."""
    shown = []
    for group in value.split('='):
        family, given, middle = ([*group.split('^'), '', ''])[:3]
        first = ' '.join(part for part in (given.strip(), middle.strip()) if part)
        text = f'{family.strip()}, {first}' if family.strip() and first else (family.strip() or first)
        if text:
            shown.append(text)
    return ' = '.join(shown)


def _folded_index(table: str, column: str) -> Index:
    """An index on a folded name column that also serves prefix patterns (`LIKE 'ab%'`) on PostgreSQL in any locale."""
    return Index(f'ix_{table}_{column}', column, postgresql_ops={column: 'varchar_pattern_ops'})


class Role(StrEnum):
    """What a member of staff does in the clinic; decides what they may see and change."""

    RECEPTIONIST = 'receptionist'
    TECHNICIAN = 'technician'
    RADIOLOGIST = 'radiologist'
    ADMIN = 'admin'
    CENTRE = 'centre'  # a diagnostic centre's own staff member: its patients, bookings, studies, reports, bills


# ---------------------------------------------------------------- staff, sessions, audit, jobs


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(default='', max_length=200)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=255)
    language: str = Field(default='', max_length=5)  # '': the browser's language, else the clinic's
    active: bool = True
    created_at: datetime = Field(default_factory=clock.now)
    password_changed_at: datetime = Field(default_factory=clock.now)
    mfa_secret: str | None = Field(default=None, max_length=255)  # the TOTP secret, encrypted (domain.mfa)
    mfa_enabled_at: datetime | None = None
    # None: the reading group's (or the single clinic's) own staff; else the diagnostic centre they work for
    centre_id: int | None = Field(default=None, foreign_key='centre.id', index=True)


class Centre(SQLModel, table=True):
    """A diagnostic centre the reading group reports for (domain.centres): it owns its patients, appointments, studies
    and reports. Every install has one, the clinic itself, created by the migration that brought centres."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    address: str = Field(default='', max_length=500)
    contact: str = Field(default='', max_length=200)  # a person, a phone number, an e-mail address
    currency: str = Field(default='USD', max_length=3)  # ISO 4217: what its studies are billed in
    logo: str = Field(default='', sa_column=Column(Text, nullable=False, server_default=''))  # base64 PNG/JPEG
    active: bool = True
    created_at: datetime = Field(default_factory=clock.now)


class ServedCentre(SQLModel, table=True):
    """A reading-group radiologist reads for this centre; one with no rows reads for every centre."""

    __tablename__ = 'served_centre'
    user_id: int = Field(foreign_key='user.id', primary_key=True)
    centre_id: int = Field(foreign_key='centre.id', primary_key=True)


class RecoveryCode(SQLModel, table=True):
    """A one-time code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = 'recovery_code'
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key='user.id', index=True)
    code_hash: str = Field(max_length=255)
    used_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    __tablename__ = 'login_attempt'
    __table_args__ = (
        Index('ix_login_attempt_username_at', 'username', 'at'),
        Index('ix_login_attempt_address_at', 'address', 'at'),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(default='', max_length=64)
    at: datetime = Field(default_factory=clock.now)
    success: bool = False


class UserSession(SQLModel, table=True):
    __tablename__ = 'user_session'
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key='user.id', index=True)
    address: str = Field(default='', max_length=64)
    created_at: datetime = Field(default_factory=clock.now)
    last_seen: datetime = Field(default_factory=clock.now)
    ended_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=32)
    # set at sign-in: the browser trades it once for the session cookie (domain.auth.redeem); until then no
    # token opens the session
    ticket_hash: str | None = Field(default=None, max_length=64, unique=True)
    ticket_expires_at: datetime | None = None
    kind: str = Field(default='staff', max_length=16)  # staff, kiosk (a waiting-room screen: /kiosk only, longer)


class AuditEvent(SQLModel, table=True):
    __tablename__ = 'audit_event'
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=clock.now, index=True)
    user_id: int | None = None
    username: str = Field(default='', max_length=64, index=True)
    role: str = Field(default='', max_length=20)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(default='', max_length=32)
    object_id: str = Field(default='', max_length=64, index=True)
    outcome: str = Field(default='success', max_length=16)
    address: str = Field(default='', max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Job(SQLModel, table=True):
    """A unit of background work; the database row is the truth, the queue only a trigger."""

    __table_args__ = (Index('ix_job_kind_object', 'kind', 'object_id'), Index('ix_job_state', 'state'))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    object_id: int
    state: str = Field(default='queued', max_length=16)  # queued, running, done, failed
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)
    finished_at: datetime | None = None
    # The outbox's clock (domain.work): a queued job is sent again after it, a running job's lease ends at it.
    due_at: datetime | None = None


class ProcessHeartbeat(SQLModel, table=True):
    """A running serve, worker or scp process, seen every few seconds (domain.heartbeats); /health counts workers."""

    __tablename__ = 'process_heartbeat'
    id: str = Field(primary_key=True, max_length=32)  # chosen by the process when it starts (uuid4 hex)
    role: str = Field(max_length=16)  # serve, worker, scp
    host: str = Field(default='', max_length=255)
    pid: int = 0
    jobs: bool = False  # runs job workers (a worker, or serve and scp in the embedded mode)
    started_at: datetime = Field(default_factory=clock.now)
    seen_at: datetime = Field(default_factory=clock.now, index=True)


class Setting(SQLModel, table=True):
    """An administrator's setting (clinic name, accept any modality, thresholds…), JSON-valued."""

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=clock.now)
    updated_by: str = Field(default='', max_length=64)


# ---------------------------------------------------------------- reception


class Patient(SQLModel, table=True):
    __table_args__ = (_folded_index('patient', 'dicom_name_folded'),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: str = Field(max_length=64, unique=True, index=True)  # the clinic's Patient ID
    family_name: str = Field(max_length=100)
    given_name: str = Field(default='', max_length=100)
    middle_name: str = Field(default='', max_length=100)
    birth_date: date | None = Field(default=None, index=True)
    sex: str = Field(default='U', max_length=1)  # M, F, O, U
    phone: str = Field(default='', max_length=40, index=True)
    email: str = Field(default='', max_length=200)
    national_id: str | None = Field(default=None, max_length=64, unique=True)
    address: str = Field(default='', max_length=300)
    notes: str = Field(default='', sa_column=Column(Text, nullable=False, server_default=''))
    name_key: str = Field(default='', max_length=300, index=True)  # folded, transliterated, for search
    # Family^Given as C-FIND and QIDO answer it, folded (domain.folding) for matching
    dicom_name_folded: str = Field(default='', max_length=255, sa_column_kwargs={'server_default': ''})
    merged_into_id: int | None = Field(default=None, foreign_key='patient.id')
    legal_hold: bool = Field(default=False, sa_column_kwargs={'server_default': sa_false()})  # never removed
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)
    centre_id: int | None = Field(default=None, foreign_key='centre.id', index=True)  # domain.centres

    @property
    def name(self) -> str:
        """Family name, given names, as staff read it."""
        return display_name(self.family_name, self.given_name, self.middle_name)

    @property
    def dicom_name(self) -> str:
        """The name as C-FIND and QIDO-RS answer it (Family^Given, PS3.5 6.2.1)."""
        return f'{self.family_name}^{self.given_name}'.rstrip('^')


@event.listens_for(Patient, 'before_insert')
@event.listens_for(Patient, 'before_update')
def _fold_patient(_mapper: Any, _connection: Any, patient: Patient) -> None:
    # NOTE: every write of a row folds again, so no service, import or fixture can leave the column stale
    patient.dicom_name_folded = folding.fold_person_name(patient.dicom_name)


class PatientToken(SQLModel, table=True):
    """One word of a patient's folded name (or '#' and a phone number's digits), so search finds names in any order
    and phone numbers through an index."""

    __tablename__ = 'patient_token'
    __table_args__ = (Index('ix_patient_token_token_patient', 'token', 'patient_id'),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key='patient.id', index=True)
    token: str = Field(max_length=64)


class Modality(SQLModel, table=True):
    """A scanner (or other DICOM peer) known by its AE title; also the room it stands in."""

    id: int | None = Field(default=None, primary_key=True)
    ae_title: str = Field(max_length=16, unique=True, index=True)
    host: str = Field(default='', max_length=255)
    port: int = 104
    modality: str = Field(default='OT', max_length=16)  # CT, MR, US, CR, DX, …
    room: str = Field(default='', max_length=64)
    description: str = Field(default='', max_length=200)
    active: bool = True
    created_at: datetime = Field(default_factory=clock.now)
    any_host: bool = False  # False: associations are accepted only from `host`
    tls_required: bool = False  # True: only over the DICOM TLS port
    centre_id: int | None = Field(default=None, foreign_key='centre.id')  # its pushes land in this centre


class DicomAssociation(SQLModel, table=True):
    """One association a DICOM peer opened with the listener: who called, from where, when, whether it was accepted
    (or why not) and what it did; the modality page lists them and the Modalities list takes last-seen from them.
    Kept bounded by domain.associations.prune."""

    __tablename__ = 'dicom_association'
    __table_args__ = (Index('ix_dicom_association_ae_title_at', 'ae_title', 'at'),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=clock.now, index=True)  # when it was accepted or refused
    ae_title: str = Field(default='', max_length=16)  # the calling AE title, as the peer sent it
    address: str = Field(default='', max_length=64)
    tls: bool = False
    result: str = Field(default='accepted', max_length=16)  # accepted, rejected
    reason: str = Field(default='', max_length=200)  # why it was rejected, or 'aborted'
    images: int = 0  # C-STORE answered with success or a warning
    failed: int = 0  # C-STORE answered with a failure status
    queries: int = 0  # C-FIND, C-MOVE and C-GET answered
    echoes: int = 0  # C-ECHO answered


class Procedure(SQLModel, table=True):
    """A bookable examination from the list the admin keeps."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    modality: str = Field(default='OT', max_length=16)
    duration_minutes: int = 20
    active: bool = True


class Appointment(SQLModel, table=True):
    __table_args__ = (Index('ix_appointment_scheduled', 'scheduled_at'),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key='patient.id', index=True)
    procedure_id: int | None = Field(default=None, foreign_key='procedure.id')
    modality_id: int | None = Field(default=None, foreign_key='modality.id')
    accession_number: str = Field(max_length=16, unique=True, index=True)
    short_id: str | None = Field(default=None, max_length=8, unique=True, index=True)  # domain.short_ids
    scheduled_at: datetime
    duration_minutes: int = 20
    state: str = Field(default='scheduled', max_length=16)
    state_changed_at: datetime = Field(default_factory=clock.now)
    urgent: bool = False
    referring_physician: str = Field(default='', max_length=100)
    notes: str = Field(default='', max_length=1000)
    created_at: datetime = Field(default_factory=clock.now)
    created_by: str = Field(default='', max_length=64)
    centre_id: int | None = Field(default=None, foreign_key='centre.id', index=True)  # domain.centres


class PerformedStep(SQLModel, table=True):
    """A Modality Performed Procedure Step (PS3.4 F.7) reported by a scanner."""

    __tablename__ = 'performed_step'
    id: int | None = Field(default=None, primary_key=True)
    sop_instance_uid: str = Field(max_length=64, unique=True)
    appointment_id: int | None = Field(default=None, foreign_key='appointment.id', index=True)
    status: str = Field(default='IN PROGRESS', max_length=16)
    source_ae: str = Field(default='', max_length=16)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)


# ---------------------------------------------------------------- images


class Study(SQLModel, table=True):
    __table_args__ = (
        Index('ix_study_state', 'state'),
        Index('ix_study_unread', 'reported', 'state'),  # the reading worklist: ready and not reported
        Index('ix_study_accession', 'accession_number'),
        _folded_index('study', 'patient_name_folded'),
        _folded_index('study', 'referring_physician_folded'),
    )
    id: int | None = Field(default=None, primary_key=True)
    study_instance_uid: str = Field(max_length=64, unique=True)
    patient_ref_id: int | None = Field(default=None, foreign_key='patient.id', index=True)  # None: unmatched
    appointment_id: int | None = Field(default=None, foreign_key='appointment.id', index=True)
    patient_name: str = Field(default='', max_length=200)  # as the modality sent it (decoded)
    dicom_patient_id: str = Field(default='', max_length=64)
    patient_birth_date: str = Field(default='', max_length=8)
    patient_sex: str = Field(default='', max_length=16)
    accession_number: str = Field(default='', max_length=16)
    short_id: str | None = Field(default=None, max_length=8, unique=True, index=True)  # domain.short_ids
    study_date: date | None = Field(default=None, index=True)
    study_time: str = Field(default='', max_length=16)
    study_id: str = Field(default='', max_length=16)
    description: str = Field(default='', max_length=200)
    modalities: str = Field(default='', max_length=64)  # backslash-joined, as ModalitiesInStudy
    referring_physician: str = Field(default='', max_length=200)
    # patient name, referring physician and description folded (domain.folding) for matching (C-FIND, QIDO-RS)
    patient_name_folded: str = Field(default='', max_length=255, sa_column_kwargs={'server_default': ''})
    referring_physician_folded: str = Field(default='', max_length=255, sa_column_kwargs={'server_default': ''})
    description_folded: str = Field(default='', max_length=255, sa_column_kwargs={'server_default': ''})
    state: str = Field(default='receiving', max_length=16)  # receiving, processing, ready
    # A report of it is signed (set in domain.reporting.finalise's transaction): off the reading worklist for good.
    reported: bool = Field(default=False, sa_column_kwargs={'server_default': sa_false()})
    urgent: bool = False
    num_series: int = 0
    num_instances: int = 0
    size_bytes: int = 0
    source_ae: str = Field(default='', max_length=16)
    first_arrival: datetime = Field(default_factory=clock.now)
    last_arrival: datetime = Field(default_factory=clock.now)
    ready_at: datetime | None = None
    assigned_to_id: int | None = Field(default=None, foreign_key='user.id')
    assigned_at: datetime | None = None
    legal_hold: bool = Field(default=False, sa_column_kwargs={'server_default': sa_false()})  # never removed
    centre_id: int | None = Field(default=None, foreign_key='centre.id', index=True)  # domain.centres


class Series(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key='study.id', index=True)
    series_instance_uid: str = Field(max_length=64, unique=True)
    modality: str = Field(default='', max_length=16)
    series_number: int | None = None
    description: str = Field(default='', max_length=200)
    # folded (domain.folding) for matching
    description_folded: str = Field(default='', max_length=255, sa_column_kwargs={'server_default': ''})
    body_part: str = Field(default='', max_length=64)
    num_instances: int = 0
    thumbnail_path: str | None = Field(default=None, max_length=255)
    thumbnail_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


@event.listens_for(Study, 'before_insert')
@event.listens_for(Study, 'before_update')
def _fold_study(_mapper: Any, _connection: Any, study: Study) -> None:
    study.patient_name_folded = folding.fold_person_name(study.patient_name)
    study.referring_physician_folded = folding.fold_person_name(study.referring_physician)
    study.description_folded = folding.fold(study.description)


@event.listens_for(Series, 'before_insert')
@event.listens_for(Series, 'before_update')
def _fold_series(_mapper: Any, _connection: Any, series: Series) -> None:
    series.description_folded = folding.fold(series.description)


class Instance(SQLModel, table=True):
    __table_args__ = (Index('ix_instance_state', 'state'),)
    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key='series.id', index=True)
    sop_instance_uid: str = Field(max_length=64, unique=True)
    sop_class_uid: str = Field(max_length=64)
    transfer_syntax_uid: str = Field(default='', max_length=64)
    instance_number: int | None = None
    file_path: str = Field(max_length=255)  # relative to the data directory, built from our ids
    size_bytes: int = 0
    sha256: str = Field(default='', max_length=64)
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int = 1
    state: str = Field(default='stored', max_length=16)  # stored, processed, failed
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=clock.now)


class Measurement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key='study.id', index=True)
    instance_id: int = Field(foreign_key='instance.id')
    frame: int = 1
    kind: str = Field(max_length=16)  # length, angle, ellipse, rectangle
    points: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    value: float | None = None
    unit: str = Field(default='', max_length=16)
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    calibration: str = Field(default='', max_length=64)
    label: str = Field(default='', max_length=200)
    created_by: str = Field(default='', max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


class KeyImage(SQLModel, table=True):
    __tablename__ = 'key_image'
    __table_args__ = (UniqueConstraint('instance_id', 'frame'),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key='study.id', index=True)
    instance_id: int = Field(foreign_key='instance.id')
    frame: int = 1
    note: str = Field(default='', max_length=200)
    created_by: str = Field(default='', max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


class Annotation(SQLModel, table=True):
    """An arrow or a text label a member of staff put on an image (domain.annotations); exported as a GSPS."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key='study.id', index=True)
    instance_id: int = Field(foreign_key='instance.id')
    frame: int = 1
    kind: str = Field(max_length=16)  # arrow (points: tail, head), text (points: anchor)
    points: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # image pixels (x, y)
    text: str = Field(default='', max_length=200)
    created_by: str = Field(default='', max_length=64)
    created_at: datetime = Field(default_factory=clock.now)
    changed_by: str = Field(default='', max_length=64)
    changed_at: datetime | None = None


# ---------------------------------------------------------------- the viewer: hanging protocols, shortcuts


class HangingProtocol(SQLModel, table=True):
    """How a kind of study opens in the viewer (domain.hanging_protocols): a rule (modality, a pattern on the body
    part or study description, priors wanted) and its stages, each a layout with what goes in each viewport (JSON,
    described in domain.hanging_protocols). Shared (owner_id None, edited by an admin) or a radiologist's own."""

    __tablename__ = 'hanging_protocol'
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    owner_id: int | None = Field(default=None, foreign_key='user.id', index=True)  # None: shared
    modality: str = Field(default='', max_length=16, index=True)  # '': any
    pattern: str = Field(default='', max_length=200)  # matched on body part and study description; '': any
    priors: int = 0  # same-modality priors of the same body part it opens beside the study
    stages: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rank: int = 0  # the lower first among protocols that match equally well
    active: bool = True
    changed_by: str = Field(default='', max_length=64)
    changed_at: datetime = Field(default_factory=clock.now)


class ViewerPreference(SQLModel, table=True):
    """A user's own viewer settings: keyboard shortcuts (action -> key), kept across workstations."""

    __tablename__ = 'viewer_preference'
    user_id: int = Field(foreign_key='user.id', primary_key=True)
    shortcuts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    changed_at: datetime = Field(default_factory=clock.now)


# ---------------------------------------------------------------- trash (deleted studies and series, kept a while)


class TrashItem(SQLModel, table=True):
    """A deleted study or series, kept for the `trash_days` option: its index rows as JSON (domain.trash) and its
    files under PACS_DATA_DIR/trash/<id>/ at their own relative paths. No foreign key points at the index."""

    __tablename__ = 'trash_item'
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # study, series
    state: str = Field(default='moving', max_length=16)  # moving (files on their way in), kept, restoring
    state_at: datetime = Field(default_factory=clock.now)  # when it took that state (domain.trash.settle)
    study_id: int = Field(index=True)  # the study's id (kept for a series; in `rows` for a study)
    series_id: int | None = None
    study_instance_uid: str = Field(max_length=64, index=True)
    series_instance_uid: str = Field(default='', max_length=64)
    patient_ref_id: int | None = None  # the patient the study was filed under (no foreign key: an id to show)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # what staff read
    reason: str = Field(sa_column=Column(Text, nullable=False))
    trashed_by: str = Field(default='', max_length=64)
    trashed_at: datetime = Field(default_factory=clock.now, index=True)
    num_series: int = 0
    num_instances: int = 0
    size_bytes: int = Field(default=0, sa_type=BigInteger)
    files: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # relative paths
    rows: str = Field(default='', sa_column=Column(Text, nullable=False))  # {table: [row, …]} as JSON


# ---------------------------------------------------------------- reports


class ReportTemplate(SQLModel, table=True):
    __tablename__ = 'report_template'
    __table_args__ = (UniqueConstraint('code', 'version'),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int = 1
    name: str = Field(max_length=200)
    modality: str = Field(default='', max_length=16)
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = Field(default_factory=clock.now)
    created_by: str = Field(default='', max_length=64)


class Report(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key='study.id', index=True)
    template_id: int = Field(foreign_key='report_template.id')
    parent_id: int | None = Field(default=None, foreign_key='report.id')  # set on an addendum
    kind: str = Field(default='report', max_length=16)  # report, addendum
    state: str = Field(default='draft', max_length=16)  # draft, final, addended
    language: str = Field(default='en', max_length=5)
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    findings: str = Field(default='', sa_column=Column(Text, nullable=False, server_default=''))
    impression: str = Field(default='', sa_column=Column(Text, nullable=False, server_default=''))
    author_id: int = Field(foreign_key='user.id')
    last_saved_by_id: int | None = Field(default=None, foreign_key='user.id')
    last_saved_at: datetime = Field(default_factory=clock.now)
    signed_by_id: int | None = Field(default=None, foreign_key='user.id')
    signed_at: datetime | None = None
    content_sha256: str | None = Field(default=None, max_length=64)
    pdf_path: str | None = Field(default=None, max_length=255)
    pdf_sha256: str | None = Field(default=None, max_length=64)
    pdf_rendered_at: datetime | None = None
    created_at: datetime = Field(default_factory=clock.now)


# ---------------------------------------------------------------- data models (not tables)


class ReportDraft(SQLModel):
    """What the report editor sends on every save: structured values and the two rich texts."""

    values: dict[str, Any] = Field(default_factory=dict)
    findings: str = ''
    impression: str = ''
    language: str = 'en'


class UserCreate(SQLModel):
    username: str = ''
    full_name: str = ''
    role: str = Role.RECEPTIONIST.value
    password: str = ''
    language: str = ''  # '': follow the browser
    centre_id: int | None = None  # the diagnostic centre they work for (a centre account: required with several)


class PatientCreate(SQLModel):
    """A patient's details as typed at the desk (register and edit); birth_date may arrive as 'YYYY-MM-DD' text."""

    family_name: str = ''
    given_name: str = ''
    middle_name: str = ''
    birth_date: date | str | None = None
    sex: str = 'U'
    phone: str = ''
    email: str = ''
    national_id: str = ''
    address: str = ''
    notes: str = ''
    centre_id: int | None = None  # where a new patient is registered (domain.centres; asked only with several)


class AppointmentCreate(SQLModel):
    """A booking as typed at the desk: who, which examination, which room and when."""

    patient_id: int | None = None
    procedure_id: int | None = None
    modality_id: int | None = None
    scheduled_at: datetime | None = None
    duration_minutes: int | None = None
    urgent: bool = False
    referring_physician: str = ''
    notes: str = ''


# ---------------------------------------------------------------- interop: storage commitment, forwarding


class CommitmentRequest(SQLModel, table=True):
    """A modality's Storage Commitment request (PS3.4 J.3.2) and the answer owed to it (the N-EVENT-REPORT)."""

    __tablename__ = 'commitment_request'
    id: int | None = Field(default=None, primary_key=True)
    transaction_uid: str = Field(max_length=64, index=True)
    calling_ae: str = Field(max_length=16)  # the modality: the report goes to its entered address
    called_ae: str = Field(default='', max_length=16)  # our AE title as the modality called it
    address: str = Field(default='', max_length=64)
    referenced: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [[class, instance]]
    # [[class, instance, reason]]
    failed: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default='pending', max_length=16)  # pending, reported
    reported_how: str = Field(default='', max_length=16)  # 'same' or 'new' association
    received_at: datetime = Field(default_factory=clock.now)
    reported_at: datetime | None = None


class ForwardingRule(SQLModel, table=True):
    """Auto-routing: studies matching modality, calling AE title and description are sent on to a destination."""

    __tablename__ = 'forwarding_rule'
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default='', max_length=100)
    modality: str = Field(default='', max_length=16)  # '': any; else one of the study's modalities
    calling_ae: str = Field(default='', max_length=16)  # '': any; else the AE title that sent the study
    description: str = Field(default='', max_length=200)  # '': any; else a pattern with * and ?
    destination_id: int = Field(foreign_key='modality.id', index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)


class Forward(SQLModel, table=True):
    """One study sent on by one rule; its job (kind 'forward_study') carries this row's id."""

    __table_args__ = (UniqueConstraint('rule_id', 'study_id', name='uq_forward_rule_study'),)
    id: int | None = Field(default=None, primary_key=True)
    rule_id: int | None = Field(default=None, foreign_key='forwarding_rule.id', index=True)  # None: rule deleted
    study_id: int = Field(foreign_key='study.id', index=True)
    destination_id: int = Field(foreign_key='modality.id')
    ready_at: datetime | None = None  # the study's readiness this forward answers (a study ready again goes again)
    sent: int = 0
    created_at: datetime = Field(default_factory=clock.now)
    sent_at: datetime | None = None


# ---------------------------------------------------------------- retention (rules, confirmed runs)


class RetentionRule(SQLModel, table=True):
    """Studies of a modality, description and age that an administrator may remove (into the trash) after a preview."""

    __tablename__ = 'retention_rule'
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    modality: str = Field(default='', max_length=16)  # '': any; else one of the study's (or its series') modalities
    description: str = Field(default='', max_length=200)  # '': any; else in the study's or a series' description
    min_age_months: int = 120  # the study date at least this long ago
    enabled: bool = True
    created_at: datetime = Field(default_factory=clock.now)
    updated_at: datetime = Field(default_factory=clock.now)


class RetentionRun(SQLModel, table=True):
    """One confirmed run of a rule; its job (kind 'run_retention') carries this row's id."""

    __tablename__ = 'retention_run'
    id: int | None = Field(default=None, primary_key=True)
    rule_id: int | None = Field(default=None, foreign_key='retention_rule.id', index=True)  # None: rule deleted
    rule_name: str = Field(max_length=100)
    confirmed_by: str = Field(max_length=64)
    confirmed_at: datetime = Field(default_factory=clock.now)
    state: str = Field(default='queued', max_length=16)  # queued, running, done
    started_at: datetime | None = None
    finished_at: datetime | None = None
    removed: int = 0
    skipped: int = 0
    freed_bytes: int = Field(default=0, sa_type=BigInteger)  # a run frees terabytes as easily as kilobytes


class RetentionRunStudy(SQLModel, table=True):
    """A study the administrator confirmed for a run, and what the run did with it."""

    __tablename__ = 'retention_run_study'
    __table_args__ = (UniqueConstraint('run_id', 'study_id', name='uq_retention_run_study'),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key='retention_run.id', index=True)
    study_id: int  # no foreign key: a purged study leaves the index, the run's record stays
    outcome: str = Field(default='pending', max_length=16)  # pending, removed, skipped
    reason: str = Field(default='', max_length=200)  # why it was skipped
    size_bytes: int = Field(default=0, sa_type=BigInteger)
    done_at: datetime | None = None


# ---------------------------------------------------------------- backups (scheduled runs)


class BackupRun(SQLModel, table=True):
    """One backup, restore drill or stored-archive check; its job (run_backup / run_drill) carries this row's id.

    `slot` names the schedule's turn it fills ('full:2026-12-01', 'incr:2026-12-01T13', 'drill:2026-W48'); being
    unique, two processes asking what is due at once cannot both start it. A run started by hand has none.
    """

    __tablename__ = 'backup_run'
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # full, incremental, drill, check
    slot: str | None = Field(default=None, max_length=32, unique=True)
    job_id: int | None = Field(default=None, foreign_key='job.id', index=True)
    target: str = Field(default='', sa_column=Column(Text, nullable=False))  # the folder the archive went into
    triggered_by: str = Field(default='', max_length=64)  # 'scheduler' or the administrator's user name
    created_at: datetime = Field(default_factory=clock.now, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    archive: str = Field(default='', max_length=255)  # the archive's file name (a drill: the newest it checked)
    parent: str = Field(default='', max_length=255)  # an incremental's parent archive
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    files: int = 0
    rows: int = 0
    sha256: str = Field(default='', max_length=64)  # of the archive as written (re-read by the weekly check)
    verified_at: datetime | None = None  # read back (a backup) or restored and compared (a drill)
    outcome: str = Field(default='', sa_column=Column(Text, nullable=False))  # what a drill or check found
    error: str | None = Field(default=None, sa_column=Column(Text))  # the last failed attempt's error


# ---------------------------------------------------------------- billing (domain/billing.py, domain/statements.py)

MONEY_SCALE = 4  # decimal places a money column keeps: every ISO 4217 currency has at most four minor units


def _money(*, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(Numeric(18, MONEY_SCALE), nullable=False, index=index)


def _currency_code() -> Column:  # type: ignore[type-arg]
    return Column(String(3), ForeignKey('currency.code'), nullable=False)


class Currency(SQLModel, table=True):
    """An ISO 4217 currency prices, charges and statements may be in; amounts are rounded to its minor units."""

    code: str = Field(primary_key=True, max_length=3)
    minor_units: int = 2  # decimal places (Babel's currency precision: USD 2, JPY 0, KWD 3)
    added_by: str = Field(default='', max_length=64)
    added_at: datetime = Field(default_factory=clock.now)


class Price(SQLModel, table=True):
    """What a centre charges for a procedure, or for any study of a modality, from a day on (until it is ended)."""

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key='centre.id', index=True)
    procedure_id: int | None = Field(default=None, foreign_key='procedure.id')  # None: a modality's price
    modality: str = Field(default='', max_length=16)  # '' when a procedure is priced
    currency: str = Field(sa_column=_currency_code())
    amount: Decimal = Field(sa_column=_money())
    valid_from: date
    valid_until: date | None = None  # the first day it no longer applies (None: still offered)
    created_by: str = Field(default='', max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


class Charge(SQLModel, table=True):
    """A study's price, frozen when its report was finalised: later price changes leave it as it is."""

    id: int | None = Field(default=None, primary_key=True)
    # no foreign keys to the study and its report: a bill outlives a study purged from the index (retention, trash)
    study_id: int = Field(unique=True)  # one charge per study, whatever addenda follow
    report_id: int
    short_id: str = Field(default='', max_length=8)  # the study's short ID, as the statement prints it
    centre_id: int = Field(foreign_key='centre.id', index=True)
    price_id: int | None = Field(default=None, foreign_key='price.id')
    procedure_id: int | None = Field(default=None, foreign_key='procedure.id')
    modality: str = Field(default='', max_length=16)
    description: str = Field(default='', max_length=200)  # what was priced: the procedure's or the study's name
    currency: str = Field(sa_column=_currency_code())
    amount: Decimal = Field(sa_column=_money())
    charged_on: date = Field(index=True)  # the day the report was finalised (UTC): the statement's month
    charged_at: datetime = Field(default_factory=clock.now)


class CreditNote(SQLModel, table=True):
    """A correction in a centre's favour, printed as a negative line on its statement for `month`."""

    __tablename__ = 'credit_note'
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key='centre.id', index=True)
    charge_id: int | None = Field(default=None, foreign_key='charge.id', index=True)  # None: the month as a whole
    month: str = Field(max_length=7, index=True)  # 'YYYY-MM': the statement it appears on
    currency: str = Field(sa_column=_currency_code())
    amount: Decimal = Field(sa_column=_money())  # positive: what is taken off
    reason: str = Field(max_length=500)
    created_by: str = Field(default='', max_length=64)
    created_at: datetime = Field(default_factory=clock.now)


class ExchangeRate(SQLModel, table=True):
    """One unit of `currency` is worth `rate` units of `base` from `valid_on` on (entered by an administrator)."""

    __tablename__ = 'exchange_rate'
    __table_args__ = (UniqueConstraint('currency', 'base', 'valid_on', name='uq_exchange_rate'),)
    id: int | None = Field(default=None, primary_key=True)
    currency: str = Field(sa_column=_currency_code())
    base: str = Field(sa_column=_currency_code())
    rate: Decimal = Field(sa_column=Column(Numeric(20, 10), nullable=False))
    valid_on: date = Field(index=True)
    entered_by: str = Field(default='', max_length=64)
    entered_at: datetime = Field(default_factory=clock.now)
