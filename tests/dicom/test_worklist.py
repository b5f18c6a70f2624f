import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import AE

from dicom import worklist
from domain import appointments, audit, clock, db, recent
from domain import worklist as worklist_domain
from domain.models import Appointment
from tests.conftest import Clinic, need_tool
from tests.dicom.reception_scp import reception_scp
from tests.domain.reception_fixtures import at, booking, patient, procedure, room


def _day(clinic: Clinic) -> dict[str, Appointment]:
    ct, mr = room('CT_ROOM1', 'CT', 'CT 1'), room('MR_ROOM1', 'MR', 'MR 1')
    head, knee = procedure(clinic, 'CT-HEAD', 'CT'), procedure(clinic, 'MR-KNEE', 'MR')
    jane, jurgen = patient(clinic, 'Doe', 'Jane'), patient(clinic, 'Müller', 'Jürgen')
    made = {
        'jane-ct': booking(clinic, jane, ct, head, at(9)),
        'jurgen-mr': booking(clinic, jurgen, mr, knee, at(10)),
        'jane-mr-tomorrow': booking(clinic, jane, mr, knee, at(10) + timedelta(days=1)),
        'cancelled': booking(clinic, jurgen, ct, head, at(11)),
    }
    appointments.cancel(made['cancelled'].id, by=clinic.receptionist.actor)
    return made


def _query(port: int, **step: str) -> tuple[list[int], list[Dataset]]:
    ds = Dataset()
    ds.PatientName = step.pop('PatientName', '')
    ds.PatientID = ''
    ds.PatientBirthDate = ''
    ds.PatientSex = ''
    ds.AccessionNumber = step.pop('AccessionNumber', '')
    ds.StudyInstanceUID = ''
    ds.RequestedProcedureDescription = ''
    item = Dataset()
    item.Modality = step.get('Modality', '')
    item.ScheduledStationAETitle = step.get('ScheduledStationAETitle', '')
    item.ScheduledProcedureStepStartDate = step.get('ScheduledProcedureStepStartDate', '')
    item.ScheduledProcedureStepStartTime = ''
    item.ScheduledProcedureStepStatus = ''
    ds.ScheduledProcedureStepSequence = [item]
    ae = AE('CT_ROOM1')
    ae.add_requested_context(worklist.SOP_CLASS)
    assoc = ae.associate('127.0.0.1', port)
    assert assoc.is_established
    statuses, found = [], []
    for status, identifier in assoc.send_c_find(ds, worklist.SOP_CLASS):
        statuses.append(status.Status)
        if identifier is not None:
            found.append(identifier)
    assoc.release()
    return statuses, found


def test_a_scanner_gets_todays_appointments_for_its_modality(clinic: Clinic) -> None:
    made = _day(clinic)
    with reception_scp(clinic) as port:
        statuses, found = _query(port, Modality='CT')
    assert statuses == [0xFF00, 0x0000]
    answer = found[0]
    assert answer.AccessionNumber == made['jane-ct'].accession_number
    assert str(answer.PatientName) == 'Doe^Jane' and answer.PatientBirthDate == '19800517'
    assert answer.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == 'CT_ROOM1'
    assert answer.StudyInstanceUID.startswith('2.25.')


def test_names_match_with_wildcards_and_without_accents(clinic: Clinic) -> None:
    made = _day(clinic)
    with reception_scp(clinic) as port:
        _, found = _query(port, PatientName='MULLER*')
        _, none = _query(port, PatientName='Smith*')
    assert [f.AccessionNumber for f in found] == [made['jurgen-mr'].accession_number]
    assert str(found[0].PatientName) == 'Müller^Jürgen'
    assert none == []


def test_a_date_range_includes_tomorrow_and_universal_matching_means_today(clinic: Clinic) -> None:
    made = _day(clinic)
    today = appointments.today()
    span = f'{today:%Y%m%d}-{today + timedelta(days=1):%Y%m%d}'
    with reception_scp(clinic) as port:
        _, both_days = _query(port, Modality='MR', ScheduledProcedureStepStartDate=span)
        _, today_only = _query(port)
    assert {f.AccessionNumber for f in both_days} == {
        made['jurgen-mr'].accession_number,
        made['jane-mr-tomorrow'].accession_number,
    }
    assert {f.AccessionNumber for f in today_only} == {
        made['jane-ct'].accession_number,
        made['jurgen-mr'].accession_number,
    }


def test_a_malformed_date_gets_the_identifier_mismatch_status_not_a_crash(clinic: Clinic) -> None:
    _day(clinic)
    with reception_scp(clinic) as port:
        statuses, _ = _query(port, ScheduledProcedureStepStartDate='yesterday')
        again, found = _query(port, Modality='CT')
    assert statuses == [0xA900]
    assert again[-1] == 0x0000 and len(found) == 1


def test_each_query_is_audited_with_the_calling_ae_title(clinic: Clinic) -> None:
    _day(clinic)
    with reception_scp(clinic) as port:
        _query(port, Modality='CT')
    event = audit.search(by=clinic.admin.actor, action='worklist.query').rows[0]
    assert event.username == 'CT_ROOM1' and event.detail['matches'] == 1


def test_findscu_reads_the_worklist(clinic: Clinic, tmp_path: Path) -> None:
    findscu = need_tool('findscu')
    made = _day(clinic)
    with reception_scp(clinic) as port:
        result = subprocess.run(
            [
                findscu,
                '-W',
                '-aet',
                'CT_ROOM1',
                '-aec',
                clinic.settings.ae_title,
                '-X',
                '-od',
                str(tmp_path),
                '-k',
                'PatientName',
                '-k',
                'PatientID',
                '-k',
                'AccessionNumber',
                '-k',
                'PatientBirthDate',
                '-k',
                'ScheduledProcedureStepSequence[0].Modality=CT',
                '-k',
                'ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate',
                '127.0.0.1',
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    answers = [pydicom.dcmread(path) for path in sorted(tmp_path.glob('rsp*.dcm'))]
    assert [a.AccessionNumber for a in answers] == [made['jane-ct'].accession_number]
    with db.reading() as session:
        assert session.get(Appointment, made['jane-ct'].id).state == 'scheduled'


def test_the_study_uid_offered_is_the_name_based_uuid_of_the_booking(clinic: Clinic) -> None:
    made = _day(clinic)
    booked = made['jane-ct']
    seed = f'clinicpacs:{booked.id}:{booked.accession_number}:{booked.created_at.isoformat()}'
    expected = '2.25.' + str(uuid.uuid5(uuid.NAMESPACE_OID, seed).int)
    with reception_scp(clinic) as port:
        _, found = _query(port, Modality='CT')
    assert worklist_domain.study_uid_for(booked) == expected == found[0].StudyInstanceUID


def test_the_character_set_is_named_only_in_answers_beyond_ascii(clinic: Clinic) -> None:
    _day(clinic)
    with reception_scp(clinic) as port:
        _, (jane,) = _query(port, Modality='CT')
        _, (jurgen,) = _query(port, Modality='MR')
    assert 'SpecificCharacterSet' not in jane and str(jane.PatientName) == 'Doe^Jane'
    assert jurgen.SpecificCharacterSet == 'ISO_IR 192' and str(jurgen.PatientName) == 'Müller^Jürgen'


def test_the_steps_and_answers_a_scanner_got_are_forgotten_after_a_few_minutes(clinic: Clinic) -> None:
    _day(clinic)
    worklist_domain._item.forget_all()  # earlier tests may have remembered steps at another clock time
    worklist._encoded.forget_all()
    with reception_scp(clinic) as port:
        statuses, found = _query(port, Modality='CT')
        assert statuses[-1] == 0x0000 and found
        assert len(worklist_domain._item) and len(worklist._encoded)
        clock.advance(recent.LIFETIME + timedelta(seconds=1))
        worklist_domain._item.forget_expired()  # what each one's sweep does on its own
        worklist._encoded.forget_expired()
        assert len(worklist_domain._item) == 0 and len(worklist._encoded) == 0
        assert _query(port, Modality='CT')[1] == found  # the same answers, made again
