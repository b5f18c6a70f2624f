"""Matching names without regard to case or accents in every script (C-FIND and QIDO-RS share domain.study_query)."""

from datetime import date
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, event

from domain import access, db, patient_search, patients, studies, study_lists, study_query
from domain.models import PatientCreate, Series, Study
from domain.studies import InstanceHeader, StoredFile
from tests.conftest import Clinic

_uids = count(1)


def _arrive(name: str, *, patient_id: str = '', referring: str = '', description: str = '', series: str = '') -> str:
    """Record one image of a new study, as the listener does; the study's UID."""
    n = next(_uids)
    header = InstanceHeader(
        sop_instance_uid=f'1.2.826.0.1.3680043.9.7.{n}.1.1',
        sop_class_uid='1.2.840.10008.5.1.4.1.1.7',
        study_instance_uid=f'1.2.826.0.1.3680043.9.7.{n}',
        series_instance_uid=f'1.2.826.0.1.3680043.9.7.{n}.1',
        patient_name=name,
        patient_id=patient_id or f'EXT{n}',
        study_date=date(2026, 1, 1),
        referring_physician=referring,
        study_description=description,
        series_description=series,
        modality='OT',
    )
    studies.record_instance(header, StoredFile(f'dicom/{n}.dcm', 10, f'{n:064d}'), by=access.modality('CT1'))
    return header.study_instance_uid


def _found(clinic: Clinic, **match: str) -> set[str]:
    rows = study_query.search_studies(match, by=clinic.technician.actor)
    return {study.study_instance_uid for study, _ in rows}


def _found_series(clinic: Clinic, **match: str) -> set[str]:
    rows = study_query.search_series(match, by=clinic.technician.actor)
    return {study.study_instance_uid for _, study, _ in rows}


@pytest.fixture
def names(clinic: Clinic) -> dict[str, str]:
    """Studies whose names come from pydicom's character-set test files (chrGerm, chrRuss, chrGreek, chrH31, …)."""
    return {
        'german': _arrive('Äneas^Rüdiger'),
        'german upper': _arrive('ÄNEAS^RÜDIGER'),
        'russian': _arrive('Люкceмбypг'),
        'greek': _arrive('Διονυσιος'),
        'japanese': _arrive('Yamada^Tarou=山田^太郎=やまだ^たろう'),
        'half-width': _arrive('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'),
        'korean': _arrive('Hong^Gildong=洪^吉洞=홍^길동'),
        'chinese': _arrive('Wang^XiaoDong=王^小東'),
        'french': _arrive('Buc^Jérôme'),
    }


def test_a_latin_name_matches_without_case_or_accents(clinic: Clinic, names: dict[str, str]) -> None:
    both = {names['german'], names['german upper']}
    assert _found(clinic, PatientName='äneas*') == both
    assert _found(clinic, PatientName='AENEAS*') == set()  # folding drops accents; it does not spell them out
    assert _found(clinic, PatientName='Aneas^Rudiger') == both
    assert _found(clinic, PatientName='buc^jerome') == {names['french']}
    assert _found(clinic, PatientName='B?C^J?R?ME') == {names['french']}


def test_a_cyrillic_name_matches_in_any_case(clinic: Clinic, names: dict[str, str]) -> None:
    for pattern in ('Люк*', 'люк*', 'ЛЮК*', '*ЮКc*'):
        assert _found(clinic, PatientName=pattern) == {names['russian']}, pattern
    assert _found(clinic, PatientName='Лук*') == set()


def test_a_greek_name_matches_in_any_case_and_without_tonos(clinic: Clinic, names: dict[str, str]) -> None:
    for pattern in ('διον*', 'ΔΙΟΝΥΣΙΟΣ', 'Διονύσιος', 'διονυσιος'):  # the final sigma folds like any sigma
        assert _found(clinic, PatientName=pattern) == {names['greek']}, pattern


def test_a_cjk_name_matches_in_every_component_group(clinic: Clinic, names: dict[str, str]) -> None:
    yamada = {names['japanese'], names['half-width']}
    assert _found(clinic, PatientName='山田^太郎') == yamada
    assert _found(clinic, PatientName='山田*') == yamada
    assert _found(clinic, PatientName='やまだ^たろう') == yamada
    assert _found(clinic, PatientName='yamada*') == {names['japanese']}
    assert _found(clinic, PatientName='YAMADA^TAROU') == {names['japanese']}
    assert _found(clinic, PatientName='ヤマダ*') == {names['half-width']}  # half-width kana typed full width
    assert _found(clinic, PatientName='Yamada^Tarou=山田^太郎=やまだ^たろう') == {names['japanese']}
    assert _found(clinic, PatientName='山本*') == set()
    assert _found(clinic, PatientName='홍^길동') == {names['korean']}
    assert _found(clinic, PatientName='王^小東') == {names['chinese']}
    assert _found(clinic, PatientName='王^小东') == set()  # simplified and traditional characters differ


def test_a_clinic_patients_name_matches_too(clinic: Clinic) -> None:
    patient = patients.register(
        PatientCreate(family_name='Ёлкина', given_name='Анна', birth_date='1980-02-03'), by=clinic.receptionist.actor
    )
    uid = _arrive('UNKNOWN', patient_id=patient.patient_id)
    assert _found(clinic, PatientName='елкина^анна') == {uid}
    assert _found(clinic, PatientName='ЕЛК*') == {uid}
    patients.update_details(
        patient.id or 0,
        PatientCreate(family_name='Σμίθ', given_name='Анна', birth_date='1980-02-03'),
        by=clinic.receptionist.actor,
    )
    assert _found(clinic, PatientName='ЕЛК*') == set()
    assert _found(clinic, PatientName='σμιθ*') == {uid}


def test_a_study_reconciled_later_matches_its_patients_name_and_a_merge_follows(clinic: Clinic) -> None:
    uid = _arrive('Anonymous')
    first = patients.register(
        PatientCreate(family_name='Жуков', given_name='Пётр', birth_date='1970-05-06'), by=clinic.receptionist.actor
    )
    kept = patients.register(
        PatientCreate(family_name='Ζουκοφ', given_name='Πετρος', birth_date='1970-05-06'),
        by=clinic.receptionist.actor,
        confirmed_new=True,
    )
    study_id = study_query.search_studies({'StudyInstanceUID': uid}, by=clinic.technician.actor)[0][0].id
    study_lists.assign(study_id, first.id or 0, by=clinic.technician.actor)
    assert _found(clinic, PatientName='жуков^петр') == {uid}
    patients.merge(first.id or 0, kept.id or 0, by=clinic.admin.actor)
    assert _found(clinic, PatientName='жуков*') == set()
    assert _found(clinic, PatientName='ΖΟΥΚΟΦ^πετρος') == {uid}


def test_referring_physician_and_descriptions_match_without_case_or_accents(clinic: Clinic) -> None:
    uid = _arrive('X', referring='Müller^Jürgen', description='КТ ГРУДНОЙ КЛЕТКИ', series='Ἀξονικὴ τομογραφία')
    _arrive('Y', referring='Miller^John', description='CT chest', series='Axial')
    assert _found(clinic, ReferringPhysicianName='muller*') == {uid}
    assert _found(clinic, StudyDescription='*грудной*') == {uid}
    assert _found_series(clinic, SeriesDescription='αξονικη*') == {uid}


def test_ids_match_in_their_exact_case_and_sql_wildcards_stay_literal(clinic: Clinic) -> None:
    upper = _arrive('A', patient_id='ABC1')
    percent = _arrive('100%^Sure', patient_id='X_1')
    bracket = _arrive('[Brackets]^Name', patient_id='X[1]')
    assert _found(clinic, PatientID='abc*') == set()
    assert _found(clinic, PatientID='ABC*') == {upper}
    assert _found(clinic, PatientID='X_*') == {percent}
    assert _found(clinic, PatientID='X[1]*') == {bracket}
    assert _found(clinic, PatientName='100%*') == {percent}
    assert _found(clinic, PatientName='1%*') == set()
    assert _found(clinic, PatientName='[b*') == {bracket}
    assert _found(clinic, PatientName='＊') == set()  # a full-width asterisk is a character, not a wildcard


def test_trailing_empty_name_components_do_not_matter(clinic: Clinic) -> None:
    uid = _arrive('Doe^John^^^')
    assert _found(clinic, PatientName='DOE^JOHN') == {uid}
    assert _found(clinic, PatientName='doe^john^') == {uid}


def test_rows_written_without_a_service_are_folded_too(clinic: Clinic) -> None:
    with db.transaction() as session:
        study = Study(study_instance_uid='1.2.3.4', patient_name='Ørsted^Åse', description='Épaule')
        session.add(study)
        session.flush()
        session.add(Series(study_id=study.id or 0, series_instance_uid='1.2.3.4.1', description='Coupe AXIALE'))
    assert _found(clinic, PatientName='ØRSTED^ase') == {'1.2.3.4'}  # Ø is a letter of its own, not O with a mark
    assert _found(clinic, StudyDescription='epaule') == {'1.2.3.4'}
    assert _found_series(clinic, SeriesDescription='*axiale') == {'1.2.3.4'}


def test_a_prefix_pattern_can_use_the_folded_names_indexes(clinic: Clinic, backend: str) -> None:
    _arrive('Люкceмбypг')
    statements: list[tuple[str, Any]] = []

    def remember(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        statements.append((statement, parameters))

    event.listen(Engine, 'before_cursor_execute', remember)  # reads go through the read engine
    try:
        assert len(study_query.search_studies({'PatientName': 'люк*'}, by=clinic.technician.actor)) == 1
    finally:
        event.remove(Engine, 'before_cursor_execute', remember)
    statement, parameters = next((s, p) for s, p in statements if 'patient_name_folded GLOB' in s or ' LIKE ' in s)
    with db.engine().connect() as connection:
        if backend == 'postgres':  # a near-empty table: only ask whether the index can serve the pattern
            connection.exec_driver_sql('SET enable_seqscan = off')
        rows = connection.exec_driver_sql(
            f'EXPLAIN {"QUERY PLAN " if backend == "sqlite" else ""}{statement}', parameters
        )
        plan = ' '.join(str(row[-1]) for row in rows)
    assert 'ix_study_patient_name_folded' in plan and 'ix_patient_dicom_name_folded' in plan, plan
    assert 'SCAN ' not in plan and 'Seq Scan' not in plan, plan  # every table is searched through an index


def test_the_web_search_finds_cyrillic_and_greek_names_in_any_case(clinic: Clinic) -> None:
    desk = clinic.receptionist.actor
    lyuk = patients.register(
        PatientCreate(family_name='Люксембург', given_name='Роза', birth_date='1971-03-05'), by=desk
    )
    greek = patients.register(PatientCreate(family_name='Σίσυφος', given_name='Άννα', birth_date='1960-01-02'), by=desk)
    for text_typed, patient in (('люк', lyuk), ('ЛЮКСЕМБУРГ роза', lyuk), ('σισυφ', greek), ('ΣΊΣΥΦΟΣ', greek)):
        assert [row.id for row in patient_search.search(text_typed, by=desk).rows] == [patient.id], text_typed
