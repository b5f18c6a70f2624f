"""ClinicPACS's action names in the DICOM audit vocabulary (PS3.15 A.5), and old → new read from every detail form."""

import pytest

from domain import audit_changes, audit_vocabulary
from domain.audit_changes import Change


@pytest.mark.parametrize(
    ('action', 'outcome', 'expected'),
    [
        ('patient.create', 'success', ('110110', 'Patient Record', 'C', None, '0')),
        ('patient.update', 'success', ('110110', 'Patient Record', 'U', None, '0')),
        ('patient.view', 'success', ('110110', 'Patient Record', 'R', None, '0')),
        ('study.view', 'success', ('110103', 'DICOM Instances Accessed', 'R', None, '0')),
        ('study.trash', 'success', ('110105', 'DICOM Study Deleted', 'D', None, '0')),
        ('study.export', 'success', ('110106', 'Export', 'R', None, '0')),
        ('backup.restore', 'success', ('110107', 'Import', 'C', None, '0')),
        ('dicom.query', 'success', ('110112', 'Query', 'E', None, '0')),
        ('login', 'failure', ('110114', 'User Authentication', 'E', '110122', '8')),
        ('logout', 'success', ('110114', 'User Authentication', 'E', '110123', '0')),
        ('user.update', 'success', ('110113', 'Security Alert', 'E', '110136', '0')),
        ('route.denied', 'denied', ('110113', 'Security Alert', 'E', '110132', '4')),
        ('denied:view-audit', 'denied', ('110113', 'Security Alert', 'E', '110132', '4')),
        ('setting.change', 'success', ('110113', 'Security Alert', 'E', '110131', '0')),
        ('audit.export', 'success', ('110101', 'Audit Log Used', 'R', None, '0')),
        ('appointment.book', 'success', ('110109', 'Order Record', 'C', None, '0')),
        ('mpps.update', 'success', ('110111', 'Procedure Record', 'U', None, '0')),
        ('job.retry', 'success', ('110100', 'Application Activity', 'E', None, '0')),
        ('modality.echo', 'failure', ('110100', 'Application Activity', 'E', None, '8')),
        ('forwarding.pause', 'success', ('110113', 'Security Alert', 'E', '110128', '0')),  # an action not in the table
    ],
)
def test_an_action_gets_its_dicom_audit_terms(action: str, outcome: str, expected: tuple) -> None:
    terms = audit_vocabulary.classify(action, outcome)
    type_code = terms.type_code.value if terms.type_code else None
    assert (terms.event_id.value, terms.event_id.meaning, terms.action_code, type_code, terms.outcome) == expected


def test_a_code_is_written_as_dicom_writes_it() -> None:
    assert str(audit_vocabulary.PATIENT_RECORD) == '(110110, DCM, "Patient Record")'


def test_every_known_action_has_terms_of_its_own_family() -> None:
    fallback = [
        action
        for action in audit_vocabulary.known_actions()
        if action not in audit_vocabulary.EXACT and action.split('.')[0] not in audit_vocabulary.FAMILIES
    ]
    assert fallback == []


@pytest.mark.parametrize(
    ('action', 'object_id', 'detail', 'expected'),
    [
        ('patient.update', '7', {'changes': {'phone': ['', '+44 1']}}, [Change('phone', '', '+44 1')]),
        (
            'modality.update',
            '2',
            {'changed': {'host': ['10.0.0.1', '10.0.0.2']}},
            [Change('host', '10.0.0.1', '10.0.0.2')],
        ),
        ('setting.change', 'kiosk_title', {'from': 'Old', 'to': 'New'}, [Change('kiosk_title', 'Old', 'New')]),
        (
            'setting.change',
            'clinic_logo',
            {'from': None, 'to': {'bytes': 9}},
            [Change('clinic_logo', None, {'bytes': 9})],
        ),
        ('appointment.move', '3', {'from': 'booked', 'to': 'arrived'}, [Change('state', 'booked', 'arrived')]),
        ('user.update', '4', {'role': ['technician', 'admin']}, [Change('role', 'technician', 'admin')]),
        ('study.legal_hold', '5', {'legal_hold': [False, True], 'reason': 'x'}, [Change('legal_hold', False, True)]),
        ('study.move', '6', {'from_patient': 1, 'to_patient': 2, 'reason': 'x'}, [Change('patient', 1, 2)]),
        (
            'appointment.reschedule',
            '8',
            {'from': '09:00', 'to': '10:00', 'state': 'scheduled', 'modality_from': 1, 'modality_to': 2},
            [Change('scheduled_at', '09:00', '10:00'), Change('modality', 1, 2)],
        ),
        ('study.export', '6', {'series': [1, 2], 'instances': 4}, []),
        ('study.release', '6', {'from': 3}, []),
    ],
)
def test_old_and_new_values_are_read_from_every_detail_form(
    action: str, object_id: str, detail: dict, expected: list[Change]
) -> None:
    assert audit_changes.changes_of(action, object_id, detail) == expected


def test_changes_read_as_one_line() -> None:
    changes = [Change('phone', '', '+44 1'), Change('active', True, False)]
    assert audit_changes.as_text(changes) == 'phone: — → +44 1; active: yes → no'
