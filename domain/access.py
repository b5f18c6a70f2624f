"""Who may do what: the one declared table of roles, screens, HTTP routes and actions.

Every page, event handler, HTTP route and DICOM association asks here. A screen or route that is
registered without a row in SCREENS or ROUTES fails the role-table test (tests/test_access_table.py).
"""

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import NotAllowed
from .models import Role

log = logging.getLogger(__name__)

MODALITY = 'modality'  # the pseudo-role of a DICOM peer (calling AE title)
SYSTEM = 'system'  # background jobs, start-up and the console


class Permission(StrEnum):
    VIEW_PATIENTS = 'view-patients'
    EDIT_PATIENTS = 'edit-patients'
    MERGE_PATIENTS = 'merge-patients'
    VIEW_SCHEDULE = 'view-schedule'
    BOOK_APPOINTMENTS = 'book-appointments'
    CHECK_IN = 'check-in'  # reception moves cards Waiting / In-Room / No-show / Cancelled
    RUN_SCANS = 'run-scans'  # technician moves cards In-Scan / Review
    VIEW_BOARD = 'view-board'
    VIEW_STUDIES = 'view-studies'
    RECONCILE_STUDIES = 'reconcile-studies'
    UPLOAD_STUDIES = 'upload-studies'
    READ_IMAGES = 'read-images'
    MEASURE = 'measure'
    VIEW_TAGS = 'view-tags'
    CLAIM_STUDIES = 'claim-studies'
    ASSIGN_STUDIES = 'assign-studies'  # release a colleague's claim, reassign a draft (administrators)
    ASSIGN_READERS = 'assign-readers'  # give a study to a radiologist to read (technicians at the scanner too)
    WRITE_REPORTS = 'write-reports'
    FINALISE_REPORTS = 'finalise-reports'
    VIEW_REPORTS = 'view-reports'
    MANAGE_USERS = 'manage-users'
    MANAGE_MODALITIES = 'manage-modalities'
    MANAGE_TEMPLATES = 'manage-templates'
    MANAGE_SETTINGS = 'manage-settings'
    VIEW_AUDIT = 'view-audit'
    MANAGE_JOBS = 'manage-jobs'
    STORE_DICOM = 'store-dicom'
    QUERY_DICOM = 'query-dicom'
    DELETE_STUDIES = 'delete-studies'  # move to the trash, restore, purge, move to another patient
    EXPORT_STUDIES = 'export-studies'  # a study as a zip with a DICOMDIR (patient CD/USB), maybe de-identified
    MANAGE_RETENTION = 'manage-retention'  # retention rules, their runs and legal holds
    OWN_HANGING_PROTOCOLS = 'own-hanging-protocols'  # save, rename, delete one's own (domain/hanging_protocols.py)
    MANAGE_HANGING_PROTOCOLS = 'manage-hanging-protocols'  # the shared ones (ui/admin/hanging_protocols.py)
    MANAGE_BILLING = 'manage-billing'  # prices, currencies, exchange rates, credit notes (domain/billing.py)
    VIEW_BILLING = 'view-billing'  # statements and amounts due: a centre's staff see their own (domain/statements.py)


R, T, D, A = Role.RECEPTIONIST.value, Role.TECHNICIAN.value, Role.RADIOLOGIST.value, Role.ADMIN.value
C = Role.CENTRE.value  # a diagnostic centre's staff: its own data only (domain.centres scopes every query)
ALL_STAFF = frozenset({R, T, D, A, C})
VIEWERS = frozenset({T, D, A, C})  # who may look at images (a centre sees its own)

PERMISSIONS: dict[Permission, frozenset[str]] = {
    Permission.VIEW_PATIENTS: frozenset({R, T, D, A, C}),
    Permission.EDIT_PATIENTS: frozenset({R, A, C}),
    Permission.MERGE_PATIENTS: frozenset({A}),
    Permission.VIEW_SCHEDULE: frozenset({R, T, D, A, C}),
    Permission.BOOK_APPOINTMENTS: frozenset({R, A, C}),
    Permission.CHECK_IN: frozenset({R, A, C}),
    Permission.RUN_SCANS: frozenset({T, A}),
    Permission.VIEW_BOARD: frozenset({R, T, D, A, C}),
    Permission.VIEW_STUDIES: frozenset({T, D, A, C}),
    Permission.RECONCILE_STUDIES: frozenset({T, A}),
    Permission.UPLOAD_STUDIES: frozenset({T, A, C}),
    Permission.READ_IMAGES: frozenset({T, D, A, C}),
    Permission.MEASURE: frozenset({D, A}),
    Permission.VIEW_TAGS: frozenset({D, A}),
    Permission.CLAIM_STUDIES: frozenset({D}),
    Permission.ASSIGN_STUDIES: frozenset({A}),
    Permission.ASSIGN_READERS: frozenset({T, A}),
    Permission.WRITE_REPORTS: frozenset({D, A}),
    Permission.FINALISE_REPORTS: frozenset({D}),
    Permission.VIEW_REPORTS: frozenset({R, T, D, A, C}),
    Permission.MANAGE_USERS: frozenset({A}),
    Permission.MANAGE_MODALITIES: frozenset({A}),
    Permission.MANAGE_TEMPLATES: frozenset({A}),
    Permission.MANAGE_SETTINGS: frozenset({A}),
    Permission.VIEW_AUDIT: frozenset({A}),
    Permission.MANAGE_JOBS: frozenset({A}),
    Permission.STORE_DICOM: frozenset({MODALITY, T, A, C}),
    Permission.QUERY_DICOM: frozenset({MODALITY, T, D, A, C}),
    Permission.DELETE_STUDIES: frozenset({A}),
    Permission.EXPORT_STUDIES: frozenset({T, D, A, C}),
    Permission.MANAGE_RETENTION: frozenset({A}),
    Permission.OWN_HANGING_PROTOCOLS: frozenset({D, A}),
    Permission.MANAGE_HANGING_PROTOCOLS: frozenset({A}),
    Permission.MANAGE_BILLING: frozenset({A}),
    Permission.VIEW_BILLING: frozenset({A, C}),
}

PUBLIC = frozenset({'public'})

# Screens (NiceGUI pages) by path: the roles that may open them. 'public' needs no login.
SCREENS: dict[str, frozenset[str]] = {
    '/login': PUBLIC,
    '/certificate': PUBLIC,  # only with TLS on: how to install the clinic's certificate on a tablet
    '/': ALL_STAFF,
    '/viewer/{study_id}': VIEWERS,
    '/account': ALL_STAFF,
    '/admin/users': frozenset({A}),
    '/admin/centres': frozenset({A}),  # the diagnostic centres served (ui/admin/centres.py)
    '/admin/audit': frozenset({A}),
    '/admin/jobs': frozenset({A}),
    '/admin/settings': frozenset({A}),
    '/reports': ALL_STAFF,
    '/reports/{report_id}': ALL_STAFF,
    '/studies/{study_id}/report': frozenset({D, A}),
    '/admin/templates': frozenset({A}),
    '/patients': ALL_STAFF,
    '/patients/{patient_id}': ALL_STAFF,
    '/appointments': ALL_STAFF,
    '/board': ALL_STAFF,
    '/kiosk': ALL_STAFF,
    '/reading': frozenset({D, A}),
    '/dashboard': frozenset({D, A, C}),  # turnaround and workload (ui/dashboard.py): one's own, or everyone's (admin)
    '/admin/procedures': frozenset({A}),
    '/studies': VIEWERS,
    '/unmatched': frozenset({T, A}),
    '/upload': frozenset({T, A, C}),
    '/admin/modalities': frozenset({A}),
    '/admin/modalities/{modality_id}': frozenset({A}),  # one modality: echo, test worklist, associations
    '/admin/forwarding': frozenset({A}),
    '/admin/trash': frozenset({A}),  # deleted studies and series: restore or delete now (ui/admin/trash.py)
    '/admin/retention': frozenset({A}),  # retention rules, preview, confirmed runs (ui/admin/retention.py)
    '/admin/restore': frozenset({A}),  # restore a backup onto an empty install (ui/restore_page.py)
    '/admin/hanging-protocols': frozenset({A}),  # the shared hanging protocols (ui/admin/hanging_protocols.py)
    '/admin/backups': frozenset({A}),  # backup policy, key pair, runs, archives, drills (ui/admin/backups.py)
    '/admin/billing': frozenset({A}),  # prices, currencies, rates, statements, credit notes (ui/admin/billing.py)
    '/billing': frozenset({A, C}),  # a centre's amounts due and statements (ui/billing.py)
}

# HTTP routes that are not screens, by path as FastAPI declares it.
ROUTES: dict[str, frozenset[str]] = {
    '/health': PUBLIC,
    '/dicomweb/conformance': ALL_STAFF,  # the DICOM conformance statement: no patient data, but ports and policy
    '/certificate.crt': PUBLIC,  # only with TLS on: the certificate itself
    '/auth/session': PUBLIC,  # trades a sign-in ticket for the session cookie (ui/session_cookie.py)
    '/auth/signed-out': PUBLIC,
    '/studies/thumbnails/{series_id}': VIEWERS,
    '/thumbnails/{series_id}': ALL_STAFF,  # a matched study's series on a patient's timeline (ui/thumbnails.py)
    '/dicomweb/studies': VIEWERS,
    '/dicomweb/series': VIEWERS,
    '/dicomweb/instances': VIEWERS,
    '/dicomweb/studies/{study}': VIEWERS,
    '/dicomweb/studies/{study}/series': VIEWERS,
    '/dicomweb/studies/{study}/instances': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}/rendered': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered': VIEWERS,
    # WADO-RS (dicom/wado_rs.py, wado_frames.py, wado_thumbnails.py); '/dicomweb/studies/{study}' (GET, POST STOW) above
    '/dicomweb/studies/{study}/metadata': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/metadata': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}/metadata': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frames}': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tags:path}': VIEWERS,
    '/dicomweb/studies/{study}/thumbnail': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/thumbnail': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/instances/{instance}/thumbnail': VIEWERS,
    '/dicomweb/studies/{study}/rendered': VIEWERS,
    '/dicomweb/studies/{study}/series/{series}/rendered': VIEWERS,
    '/mpr/{series_id}/{plane}/{mode}/{thickness}/{index}': VIEWERS,  # MPR images (dicom/wado_mpr.py)
    '/reports/{report_id}/pdf': ALL_STAFF,
    '/studies/{study_id}/export': VIEWERS,  # the export zip (ui/study_export.py, dicom/export.py)
    '/ohif/{path:path}': VIEWERS,  # the OHIF viewer's files (ui/ohif.py); its images come by DICOMweb
    '/viewer/{study_id}/annotations.dcm': VIEWERS,  # the annotations as a GSPS (ui/viewer_annotations)
    '/admin/audit/export.csv': frozenset({A}),  # the audit page's filtered events as CSV (ui/admin/audit_export.py)
    '/billing/statements/{centre_id}/{month}.pdf': frozenset({A, C}),  # a centre's own only (ui/billing.py)
    '/billing/statements/{centre_id}/{month}.csv': frozenset({A, C}),
}

# Where each role lands after login.
HOME: dict[str, str] = {R: '/board', T: '/studies', D: '/reading', A: '/', C: '/dashboard'}


@dataclass(frozen=True)
class Actor:
    """Who is asking: a signed-in user, a calling AE title or the system itself."""

    role: str
    username: str
    user_id: int | None = None
    address: str = ''
    session: str | None = field(default=None, repr=False)  # hash of the login session's token
    language: str = ''  # the account's language; '': the browser's, else the clinic's
    kiosk: bool = False  # a waiting-room screen's session: it opens /kiosk and nothing else
    centres: frozenset[int] | None = None  # the diagnostic centres whose data they see (domain.centres); None: all

    @property
    def is_user(self) -> bool:
        return self.user_id is not None


def system(name: str = 'system') -> Actor:
    """The actor for jobs, start-up work and the console."""
    return Actor(role=SYSTEM, username=name)


def modality(ae_title: str, address: str = '') -> Actor:
    """The actor for a DICOM association, named by its calling AE title; a centre's modality sees that centre."""
    from . import centres

    return Actor(role=MODALITY, username=ae_title, address=address, centres=centres.of_modality(ae_title))


def may(by: Actor, permission: Permission) -> bool:
    """True when the actor's role carries the permission (the menu uses this; services use require)."""
    return by.role == SYSTEM or by.role in PERMISSIONS[permission]


def may_open(role: str | None, path: str) -> bool:
    """True when the role may open the screen or route at this (declared) path."""
    allowed = SCREENS.get(path) or ROUTES.get(path)
    if allowed is None:
        return False
    return allowed == PUBLIC or (role is not None and role in allowed)


def require(by: Actor, permission: Permission) -> None:
    """Refuse (and audit the refusal) unless the actor may do this and their session is live; what follows in this
    call sees only the actor's centres (domain.centres)."""
    from . import centres

    centres.set_scope(by.centres)
    if by.session is not None:
        from . import auth

        auth.check_session(by)
    if not may(by, permission):
        log.warning('refused %s for %s (%s)', permission.value, by.username, by.role)
        from . import audit

        audit.record_refusal(by, f'denied:{permission.value}')
        raise NotAllowed('Your role may not do this')
