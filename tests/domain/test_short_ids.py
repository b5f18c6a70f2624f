"""Short study IDs (issue 18): eight unambiguous characters on every booking and study, found wherever typed."""

from datetime import date
from itertools import count

from sqlalchemy import update
from sqlmodel import select

from domain import access, db, patient_search, short_ids, study_lists
from domain.models import Appointment, Study
from domain.studies import InstanceHeader, StoredFile, record_instance
from tests.conftest import Clinic
from tests.domain.reception_fixtures import at, booking, patient, procedure, room

_files = count(1)


def _arrive(study: str, *, accession: str = '', patient_id: str = '') -> Study:
    """One image of a study as the listener records it; the study's row."""
    n = next(_files)
    header = InstanceHeader(
        sop_instance_uid=f'1.2.826.0.1.3680043.9.7.{n}',
        sop_class_uid='1.2.840.10008.5.1.4.1.1.2',
        study_instance_uid=f'1.2.826.0.1.3680043.9.6.{study}',
        series_instance_uid=f'1.2.826.0.1.3680043.9.6.{study}.1',
        patient_name='Short^Ids',
        patient_id=patient_id,
        accession_number=accession,
        study_date=date(2026, 1, 5),
        modality='CT',
    )
    record_instance(header, StoredFile(f'dicom/{n}.dcm', 10, f'{n:064d}'), by=access.modality('CT1'))
    with db.reading() as session:
        return session.exec(select(Study).where(Study.study_instance_uid == header.study_instance_uid)).one()


def test_a_code_is_eight_characters_none_of_them_easily_misread() -> None:
    codes = {short_ids.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 8 for code in codes)
    assert set(''.join(codes)) <= set(short_ids.ALPHABET)
    assert not set('0O1I') & set(''.join(codes))


def test_a_typed_code_is_read_in_any_case_with_spaces_or_a_dash() -> None:
    assert short_ids.typed(' abcd-2345 ') == 'ABCD2345'
    assert short_ids.typed('ABCD 2345') == 'ABCD2345'
    assert short_ids.typed('ABCD0123') is None  # 0 and 1 are never in a code
    assert short_ids.typed('ABCDOI23') is None
    assert short_ids.typed('ABCD234') is None
    assert short_ids.typed('Müller') is None


def test_a_booking_has_a_code_and_the_study_that_arrives_for_it_takes_it(clinic: Clinic) -> None:
    booked = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    assert booked.short_id and short_ids.typed(booked.short_id) == booked.short_id
    study = _arrive('1', accession=booked.accession_number)
    assert study.appointment_id == booked.id
    assert study.short_id == booked.short_id
    second = _arrive('2', accession=booked.accession_number)  # a second study for the same booking
    assert second.short_id and second.short_id != booked.short_id


def test_a_pushed_study_without_a_booking_has_a_code_of_its_own(clinic: Clinic) -> None:
    studies = [_arrive(str(n)) for n in range(10, 40)]
    codes = [study.short_id for study in studies]
    assert all(code and short_ids.typed(code) == code for code in codes)
    assert len(set(codes)) == len(codes)
    assert _arrive('10').short_id == codes[0]  # a further image of a study does not change its code


def test_the_patient_search_finds_the_patient_by_a_code_as_typed(clinic: Clinic) -> None:
    jane, john = patient(clinic), patient(clinic, family='Roe', given='John')
    booked = booking(clinic, jane, room(), procedure(clinic), at(9))
    pushed = _arrive('50', patient_id=john.patient_id)
    code = booked.short_id or ''
    found = patient_search.search(f'{code[:4].lower()}-{code[4:]}', by=clinic.receptionist.actor)
    assert [p.id for p in found.rows] == [jane.id]
    found = patient_search.search(pushed.short_id or '', by=clinic.receptionist.actor)
    assert [p.id for p in found.rows] == [john.id]


def test_the_studies_list_finds_a_study_by_its_code(clinic: Clinic) -> None:
    wanted, other = _arrive('60'), _arrive('61')
    listed = study_lists.listing(by=clinic.technician.actor, text=(wanted.short_id or '').lower())
    assert [s.id for s in listed] == [wanted.id]
    assert listed[0].short_id == wanted.short_id
    assert other.id not in [s.id for s in study_lists.listing(by=clinic.technician.actor, text=wanted.short_id or '')]


def test_rows_from_before_codes_are_given_one_and_a_study_takes_its_bookings(clinic: Clinic) -> None:
    booked = booking(clinic, patient(clinic), room(), procedure(clinic), at(10))
    study, unbooked = _arrive('70', accession=booked.accession_number), _arrive('71')
    with db.transaction() as session:  # as rows restored from an archive made before codes existed
        session.execute(update(Appointment).values(short_id=None))
        session.execute(update(Study).values(short_id=None))
    with db.transaction() as session:
        assert short_ids.fill_missing(session) == 3
    with db.reading() as session:
        appointment_code = session.get(Appointment, booked.id).short_id  # type: ignore[union-attr]
        codes = {row.id: row.short_id for row in session.exec(select(Study)).all()}
    assert appointment_code and codes[study.id] == appointment_code
    assert codes[unbooked.id] and codes[unbooked.id] != appointment_code
