from datetime import date, timedelta

import pytest
from sqlmodel import select

from domain import appointments, audit, clock, db, patient_search, patients
from domain.errors import DuplicatePatient, InvalidInput, NotAllowed
from domain.models import Appointment, PatientCreate, Study
from tests.conftest import Clinic
from tests.domain.reception_fixtures import at, booking, patient, procedure, room


def test_a_registered_patient_gets_a_clinic_patient_id_and_an_audit_event(clinic: Clinic) -> None:
    created = patient(clinic)
    assert created.patient_id == f'P{created.id:07d}'
    events = patients.history(created.id, by=clinic.admin.actor)
    assert [e.action for e in events] == ['patient.create']


def test_a_form_with_missing_names_future_birth_and_bad_email_names_each_field(clinic: Clinic) -> None:
    form = PatientCreate(
        family_name=' ',
        given_name='',
        birth_date=clock.now().date() + timedelta(days=2),
        email='not-an-address',
        phone='12',
    )
    with pytest.raises(InvalidInput) as refused:
        patients.register(form, by=clinic.receptionist.actor)
    assert set(refused.value.fields) == {'family_name', 'given_name', 'birth_date', 'email', 'phone'}


def test_a_birth_date_typed_as_text_is_read_or_refused_clearly(clinic: Clinic) -> None:
    ok = patients.register(
        PatientCreate(family_name='Ng', given_name='Li', birth_date='1999-02-03'), by=clinic.receptionist.actor
    )
    assert ok.birth_date == date(1999, 2, 3)
    with pytest.raises(InvalidInput, match='YYYY-MM-DD'):
        patients.register(
            PatientCreate(family_name='Ng', given_name='Li', birth_date='3/2/99'), by=clinic.receptionist.actor
        )


def test_a_likely_duplicate_is_refused_until_the_receptionist_confirms_a_new_patient(clinic: Clinic) -> None:
    first = patient(clinic, 'Müller', 'Jürgen', date(1970, 1, 2))
    twin = PatientCreate(family_name='Muller', given_name='Jurgen', birth_date=date(1970, 1, 2))
    with pytest.raises(DuplicatePatient) as refused:
        patients.register(twin, by=clinic.receptionist.actor)
    assert refused.value.patient_id == first.id
    second = patients.register(twin, by=clinic.receptionist.actor, confirmed_new=True)
    assert second.id != first.id


def test_duplicates_while_typing_fold_transliteration_and_find_phone_and_birth_date(clinic: Clinic) -> None:
    ivanov = patient(clinic, 'Иванов', 'Пётр', date(1965, 3, 4), phone='+7 912 555 0101')
    found = patient_search.duplicates(
        PatientCreate(family_name='Ivanov', given_name='Petr'), by=clinic.receptionist.actor
    )
    assert [d.id for d in found] == [ivanov.id]
    by_phone = patient_search.duplicates(
        PatientCreate(family_name='Ivanoff', given_name='P', phone='9125550101'), by=clinic.receptionist.actor
    )
    assert by_phone and 'phone' in by_phone[0].reasons
    nobody = patient_search.duplicates(
        PatientCreate(family_name='Garcia', given_name='Ana'), by=clinic.receptionist.actor
    )
    assert nobody == []


def test_a_national_id_is_unique(clinic: Clinic) -> None:
    patient(clinic, national_id='NID-1')
    with pytest.raises(DuplicatePatient, match='national ID'):
        patient(clinic, 'Other', 'Person', national_id='NID-1')


def test_an_edit_is_audited_field_by_field_with_old_and_new_values(clinic: Clinic) -> None:
    created = patient(clinic)
    form = patients.form_of(created)
    form.phone, form.family_name = '+44 20 7946 0958', 'Doe-Smith'
    patients.update_details(created.id, form, by=clinic.receptionist.actor)
    edit = patients.history(created.id, by=clinic.admin.actor)[-1]
    assert edit.action == 'patient.update'
    assert edit.detail['changes'] == {'family_name': ['Doe', 'Doe-Smith'], 'phone': ['', '+44 20 7946 0958']}


def test_search_finds_names_in_any_order_and_with_typos(clinic: Clinic) -> None:
    jane = patient(clinic, 'Doe', 'Jane')
    patient(clinic, 'Smith', 'John')
    actor = clinic.receptionist.actor
    assert [p.id for p in patient_search.search('jane doe', by=actor).rows] == [jane.id]
    assert [p.id for p in patient_search.search('DOE, ja', by=actor).rows] == [jane.id]
    fuzzy = patient_search.search('Jnae Deo', by=actor)
    assert fuzzy.fuzzy and [p.id for p in fuzzy.rows] == [jane.id]


def test_search_finds_by_patient_id_phone_and_accession_number(clinic: Clinic) -> None:
    jane = patient(clinic, phone='+1 555 123 4567')
    patient(clinic, 'Roe', 'Richard')
    appointment = booking(clinic, jane, room(), procedure(clinic), at(9))
    actor = clinic.receptionist.actor
    for text in (jane.patient_id.lower(), '5551234567', '123 4567', appointment.accession_number):
        assert [p.id for p in patient_search.search(text, by=actor).rows] == [jane.id], text


def test_search_filters_by_study_date_and_modality_and_pages(clinic: Clinic) -> None:
    people = [patient(clinic, f'Family{n:02d}', 'Given') for n in range(30)]
    with db.transaction() as session:
        session.add(
            Study(
                study_instance_uid='1.2.3.1', patient_ref_id=people[3].id, modalities='MR', study_date=date(2024, 6, 1)
            )
        )
        session.add(
            Study(
                study_instance_uid='1.2.3.2', patient_ref_id=people[4].id, modalities='CT', study_date=date(2024, 6, 1)
            )
        )
    actor = clinic.receptionist.actor
    filters = patient_search.SearchFilters(study_from=date(2024, 5, 1), study_to=date(2024, 6, 30), modality='mr')
    assert [p.id for p in patient_search.search('', filters, by=actor).rows] == [people[3].id]
    first = patient_search.search('family', by=actor, limit=25)
    second = patient_search.search('family', by=actor, offset=25, limit=25)
    assert first.total == 30 and len(first.rows) == 25 and len(second.rows) == 5


def test_a_technician_may_look_but_not_register(clinic: Clinic) -> None:
    with pytest.raises(NotAllowed):
        patients.register(
            PatientCreate(family_name='A', given_name='B', birth_date=date(1990, 1, 1)), by=clinic.technician.actor
        )


def test_a_merge_moves_appointments_and_studies_and_can_be_undone_from_the_audit_data(clinic: Clinic) -> None:
    keep, duplicate = patient(clinic, 'Doe', 'Jane'), patient(clinic, 'Doe', 'Jayne')
    ct, head = room(), procedure(clinic)
    mine = booking(clinic, keep, ct, head, at(8))
    theirs = booking(clinic, duplicate, ct, head, at(10))
    with db.transaction() as session:
        study = Study(study_instance_uid='1.2.9', patient_ref_id=duplicate.id, appointment_id=theirs.id)
        session.add(study)
    with pytest.raises(NotAllowed):
        patients.merge(duplicate.id, keep.id, by=clinic.receptionist.actor)
    patients.merge(duplicate.id, keep.id, by=clinic.admin.actor)
    with db.reading() as session:
        assert {a.patient_id for a in session.exec(select(Appointment)).all()} == {keep.id}
        assert session.get(Study, study.id).patient_ref_id == keep.id
    assert [p.id for p in patient_search.search('doe', by=clinic.admin.actor).rows] == [keep.id]
    patients.undo_merge(duplicate.id, by=clinic.admin.actor)
    with db.reading() as session:
        assert session.get(Appointment, theirs.id).patient_id == duplicate.id
        assert session.get(Appointment, mine.id).patient_id == keep.id
        assert session.get(Study, study.id).patient_ref_id == duplicate.id
    actions = [e.action for e in audit.search(by=clinic.admin.actor, action='patient.').rows]
    assert {'patient.merge', 'patient.merged-in', 'patient.unmerge'} <= set(actions)
    assert audit.verify(by=clinic.admin.actor).intact


def test_the_timeline_lists_appointments_and_studies_newest_first(clinic: Clinic) -> None:
    jane = patient(clinic)
    first = booking(clinic, jane, room(), procedure(clinic), at(8))
    with db.transaction() as session:
        session.add(
            Study(
                study_instance_uid='1.2.10',
                patient_ref_id=jane.id,
                appointment_id=first.id,
                study_date=appointments.today() + timedelta(days=1),
                modalities='CT',
                state='ready',
            )
        )
    entries = patient_search.timeline(jane.id, by=clinic.receptionist.actor)
    assert [e.kind for e in entries] == ['study', 'appointment']
