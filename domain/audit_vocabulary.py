"""The DICOM audit vocabulary (PS3.15 A.5, codes from PS3.16 CID 400 and 401) for ClinicPACS's own action names.

An event's action (`patient.update`, `study.view`, `login`, ...) maps to an EventID such as (110110, DCM, "Patient
Record"), an EventActionCode (C create, R read, U update, D delete, E execute), an optional EventTypeCode (Login,
Security Roles Changed, ...) and an EventOutcomeIndicator (0 success, 4 minor failure, 8 serious failure). Exact
action names are looked up first; an action this table does not name (a newer screen's) is classed by its object
(the part before the first dot) and its verb (the last part), so every event still gets a code.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """A coded entry: value, scheme and meaning, written as DICOM writes them."""

    value: str
    meaning: str
    scheme: str = 'DCM'

    def __str__(self) -> str:
        return f'({self.value}, {self.scheme}, "{self.meaning}")'


@dataclass(frozen=True)
class DicomAudit:
    """An event in the DICOM audit message's terms (PS3.15 A.5.1)."""

    event_id: Code
    action_code: str  # EventActionCode: C, R, U, D or E
    type_code: Code | None  # EventTypeCode, where the standard defines one for this kind of event
    outcome: str  # EventOutcomeIndicator: 0, 4, 8 or 12


# EventID (PS3.16 CID 400 "Audit Event ID")
APPLICATION_ACTIVITY = Code('110100', 'Application Activity')
AUDIT_LOG_USED = Code('110101', 'Audit Log Used')
INSTANCES_ACCESSED = Code('110103', 'DICOM Instances Accessed')
INSTANCES_TRANSFERRED = Code('110104', 'DICOM Instances Transferred')
STUDY_DELETED = Code('110105', 'DICOM Study Deleted')
EXPORT = Code('110106', 'Export')
IMPORT = Code('110107', 'Import')
ORDER_RECORD = Code('110109', 'Order Record')
PATIENT_RECORD = Code('110110', 'Patient Record')
PROCEDURE_RECORD = Code('110111', 'Procedure Record')
QUERY = Code('110112', 'Query')
SECURITY_ALERT = Code('110113', 'Security Alert')
USER_AUTHENTICATION = Code('110114', 'User Authentication')

# EventTypeCode (PS3.16 CID 401 "Audit Event Type Code")
LOGIN = Code('110122', 'Login')
LOGOUT = Code('110123', 'Logout')
NETWORK_CONFIGURATION = Code('110128', 'Network Configuration')
SECURITY_CONFIGURATION = Code('110129', 'Security Configuration')
SOFTWARE_CONFIGURATION = Code('110131', 'Software Configuration')
RESTRICTED_FUNCTION = Code('110132', 'Use of Restricted Function')
SECURITY_ROLES_CHANGED = Code('110136', 'Security Roles Changed')
USER_SECURITY_CHANGED = Code('110137', 'User Security Attributes Changed')

# action: (EventID, EventActionCode, EventTypeCode)
EXACT: dict[str, tuple[Code, str, Code | None]] = {
    'login': (USER_AUTHENTICATION, 'E', LOGIN),
    'logout': (USER_AUTHENTICATION, 'E', LOGOUT),
    'mfa.recovery_code_used': (USER_AUTHENTICATION, 'E', LOGIN),
    'user.update': (SECURITY_ALERT, 'E', SECURITY_ROLES_CHANGED),
    'route.denied': (SECURITY_ALERT, 'E', RESTRICTED_FUNCTION),
    'screen.denied': (SECURITY_ALERT, 'E', RESTRICTED_FUNCTION),
    'dicom.refused': (SECURITY_ALERT, 'E', NETWORK_CONFIGURATION),
    'backup.keypair': (SECURITY_ALERT, 'E', SECURITY_CONFIGURATION),
    'study.arrive': (INSTANCES_ACCESSED, 'C', None),
    'study.receive': (INSTANCES_TRANSFERRED, 'C', None),
    'study.forward': (INSTANCES_TRANSFERRED, 'R', None),
    'dicom.retrieve': (INSTANCES_TRANSFERRED, 'R', None),
    'instance.conflict': (IMPORT, 'C', None),
    'instance.missing': (APPLICATION_ACTIVITY, 'E', None),
    'study.export': (EXPORT, 'R', None),
    'report.download': (EXPORT, 'R', None),
    'backup.create': (EXPORT, 'R', None),
    'backup.start': (EXPORT, 'R', None),
    'backup.restore': (IMPORT, 'C', None),
    'dicom.query': (QUERY, 'E', None),
    'worklist.query': (QUERY, 'E', None),
    'report.search': (QUERY, 'E', None),
    'retention.preview': (QUERY, 'E', None),
    'retention.confirm': (STUDY_DELETED, 'D', None),
    'retention.run.start': (STUDY_DELETED, 'D', None),
    'retention.run.end': (STUDY_DELETED, 'D', None),
    'trash.purge': (STUDY_DELETED, 'D', None),
    'study.trash': (STUDY_DELETED, 'D', None),
    'series.trash': (INSTANCES_ACCESSED, 'D', None),
    'study.move': (INSTANCES_ACCESSED, 'U', None),
    'job.retry': (APPLICATION_ACTIVITY, 'E', None),
    'job.discard': (APPLICATION_ACTIVITY, 'E', None),
    'modality.echo': (APPLICATION_ACTIVITY, 'E', None),  # C-ECHO from ClinicPACS to the modality
    'modality.worklist_test': (QUERY, 'E', None),  # what the modality's worklist query would be answered
    'study.correct': (INSTANCES_ACCESSED, 'U', None),  # patient or accession data of an upload, in the index
    'audit.export': (AUDIT_LOG_USED, 'R', None),
}

# the object an action is about (its first part): (EventID, EventTypeCode)
FAMILIES: dict[str, tuple[Code, Code | None]] = {
    'patient': (PATIENT_RECORD, None),
    'report': (PATIENT_RECORD, None),  # a report is part of the patient's record
    'appointment': (ORDER_RECORD, None),
    'mpps': (PROCEDURE_RECORD, None),
    'study': (INSTANCES_ACCESSED, None),
    'series': (INSTANCES_ACCESSED, None),
    'instance': (INSTANCES_ACCESSED, None),
    'measurement': (INSTANCES_ACCESSED, None),
    'key_image': (INSTANCES_ACCESSED, None),
    'annotation': (INSTANCES_ACCESSED, None),
    'dicom': (INSTANCES_TRANSFERRED, None),
    'user': (SECURITY_ALERT, USER_SECURITY_CHANGED),
    'mfa': (SECURITY_ALERT, USER_SECURITY_CHANGED),
    'denied': (SECURITY_ALERT, RESTRICTED_FUNCTION),
    'modality': (SECURITY_ALERT, NETWORK_CONFIGURATION),
    'forwarding': (SECURITY_ALERT, NETWORK_CONFIGURATION),
    'centre': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),  # who sees which centre's data (domain.centres)
    'setting': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),
    'settings': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),
    'template': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),
    'procedure': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),
    'hanging_protocol': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),
    'retention': (SECURITY_ALERT, SOFTWARE_CONFIGURATION),
    'backup': (SECURITY_ALERT, SECURITY_CONFIGURATION),
    'audit': (AUDIT_LOG_USED, None),
    'job': (APPLICATION_ACTIVITY, None),
    'billing': (APPLICATION_ACTIVITY, None),  # prices, charges, credit notes, statements (domain/billing.py)
}

# the verb an action ends with: its EventActionCode (anything else on a record is an update, U)
VERBS: dict[str, str] = {
    **dict.fromkeys(('create', 'add', 'book', 'start', 'seed', 'enrol', 'arrive', 'restore', 'version'), 'C'),
    **dict.fromkeys(('view', 'download', 'export', 'tags', 'search', 'query', 'preview', 'retrieve'), 'R'),
    **dict.fromkeys(('delete', 'remove', 'trash', 'purge'), 'D'),
    **dict.fromkeys(('echo', 'render', 'retry', 'verify', 'check', 'drill', 'run'), 'E'),
}
# the action names services record (besides EXACT's), offered as the audit page's Action search suggests
OTHER_ACTIONS = (
    'annotation.change', 'annotation.create', 'annotation.delete', 'annotation.export', 'appointment.book',
    'appointment.cancel', 'appointment.move', 'appointment.reschedule', 'appointment.urgent', 'billing.charge.create',
    'billing.credit_note.create', 'billing.currency.add', 'billing.price.add', 'billing.price.end',
    'billing.price.update', 'billing.rate.add', 'billing.statement.export', 'centre.create', 'centre.logo',
    'centre.update', 'dicom.commitment.report', 'dicom.commitment.request', 'forwarding.add', 'forwarding.delete',
    'forwarding.disable', 'forwarding.enable', 'forwarding.update', 'hanging_protocol.create',
    'hanging_protocol.delete', 'hanging_protocol.seed', 'hanging_protocol.update', 'instance.tags', 'key_image.add',
    'key_image.remove', 'measurement.create', 'measurement.delete', 'measurement.label', 'mfa.disable', 'mfa.enrol',
    'mfa.recovery_codes', 'mfa.reset', 'modality.add', 'modality.centre', 'modality.disable', 'modality.enable',
    'modality.update', 'mpps.create', 'mpps.update', 'patient.create', 'patient.legal_hold',
    'patient.legal_hold_release', 'patient.merge', 'patient.merged-in', 'patient.unmerge', 'patient.update',
    'patient.view', 'procedure.create', 'procedure.update', 'report.accept_suggestion', 'report.addendum',
    'report.delete', 'report.discard_suggestion', 'report.finalise', 'report.import', 'report.reassign',
    'report.render', 'report.save', 'report.start', 'report.suggest', 'report.take_over', 'report.view',
    'retention.add', 'retention.delete', 'retention.update', 'series.restore', 'setting.change', 'study.assign',
    'study.claim', 'study.legal_hold', 'study.legal_hold_release', 'study.release', 'study.restore', 'study.urgent',
    'study.view', 'template.activate', 'template.retire', 'template.seed', 'template.version', 'user.centre',
    'user.create', 'user.password', 'user.served', 'user.unlock',
)  # fmt: skip
# events about a patient's record that are someone looking at it or taking it away (the "who saw" list)
ACCESS_ACTIONS = ('patient.view', 'study.view', 'report.view', 'report.download', 'study.export')
# EventOutcomeIndicator by the app's outcome: refused requests are minor failures, faults serious ones
OUTCOMES = {'success': '0', 'denied': '4', 'refused': '4', 'locked': '4', 'failure': '8'}


def known_actions() -> list[str]:
    """Every action name the services record, sorted."""
    return sorted({*EXACT, *OTHER_ACTIONS})


def classify(action: str, outcome: str = 'success') -> DicomAudit:
    """The DICOM audit terms of one ClinicPACS event."""
    indicator = OUTCOMES.get(outcome, '8')
    if action in EXACT:
        event_id, action_code, type_code = EXACT[action]
        return DicomAudit(event_id, action_code, type_code, indicator)
    family, _, rest = action.partition('.') if '.' in action else action.partition(':')
    event_id, type_code = FAMILIES.get(family, (APPLICATION_ACTIVITY, None))
    verb = rest.rsplit('.', 1)[-1].split('_')[0] if rest else ''
    if event_id in (SECURITY_ALERT, AUDIT_LOG_USED, APPLICATION_ACTIVITY) and verb not in ('view', 'export'):
        action_code = 'E'  # PS3.15 A.5.3: security alerts and application activity are executions
    else:
        action_code = VERBS.get(verb, 'U')
    return DicomAudit(event_id, action_code, type_code, indicator)
