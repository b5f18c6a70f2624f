"""Arrows and text labels: saved with who and when, moved and rewritten by their author or an administrator only."""

from datetime import timedelta

import pytest

from domain import annotations, audit, clock, db, events
from domain.annotations import ARROW, TEXT
from domain.errors import InvalidInput, NotAllowed, NotFound
from domain.models import Instance, Series, Study
from tests.conftest import Clinic


def _study(uid: str) -> tuple[int, int]:
    """A study with one two-frame image: (study id, instance id)."""
    with db.transaction() as session:
        study = Study(study_instance_uid=uid, dicom_patient_id='P1', patient_name='Doe^Jane', modalities='US')
        session.add(study)
        session.flush()
        series = Series(study_id=study.id or 0, series_instance_uid=f'{uid}.1', modality='US', series_number=1)
        session.add(series)
        session.flush()
        instance = Instance(
            series_id=series.id or 0,
            sop_instance_uid=f'{uid}.1.1',
            sop_class_uid='1.2.840.10008.5.1.4.1.1.3.1',
            file_path=f'dicom/{uid}.dcm',
            rows=480,
            columns=640,
            number_of_frames=2,
        )
        session.add(instance)
        session.flush()
        return study.id or 0, instance.id or 0


def test_an_arrow_and_a_label_are_saved_with_who_and_when(clinic: Clinic) -> None:
    study_id, instance_id = _study('1.2.40.1')
    before = clock.now()
    changed: list[events.Event] = []
    events.subscribe(changed.append, remote=False)
    arrow = annotations.add(study_id, instance_id, 2, ARROW, [[10, 20.123], [100, 200]], by=clinic.technician.actor)
    label = annotations.add(
        study_id, instance_id, 1, TEXT, [[50, 60]], text='  cyst \n lower pole ', by=clinic.radiologist.actor
    )
    assert (arrow.kind, arrow.frame, arrow.points, arrow.text) == (ARROW, 2, [[10.0, 20.12], [100.0, 200.0]], '')
    assert (arrow.created_by, arrow.changed_at) == ('technician1', None)
    assert before <= arrow.created_at <= clock.now()
    assert (label.text, label.created_by) == ('cyst lower pole', 'radiologist1')
    assert [a.id for a in annotations.of_study(study_id, by=clinic.technician.actor)] == [arrow.id, label.id]
    assert changed.count(events.MeasurementsChanged(study_id)) == 2
    assert audit.search(by=clinic.admin.actor, action='annotation.create').total == 2


def test_the_author_moves_and_rewrites_and_the_change_is_stamped(clinic: Clinic) -> None:
    study_id, instance_id = _study('1.2.40.2')
    made = annotations.add(study_id, instance_id, 1, ARROW, [[1, 2], [30, 40]], by=clinic.radiologist.actor)
    clock.advance(timedelta(hours=1))
    moved = annotations.change(made.id, points=[[5, 6], [35, 46]], by=clinic.radiologist.actor)
    assert moved.points == [[5.0, 6.0], [35.0, 46.0]] and moved.text == ''
    assert (moved.changed_by, moved.created_at) == ('radiologist1', made.created_at)
    assert moved.changed_at is not None and moved.changed_at >= made.created_at + timedelta(hours=1)
    worded = annotations.change(made.id, text='fracture', by=clinic.admin.actor)  # an administrator may
    assert (worded.points, worded.text, worded.changed_by) == (moved.points, 'fracture', 'admin1')
    assert audit.search(by=clinic.admin.actor, action='annotation.change').total == 2


def test_only_the_author_or_an_administrator_changes_or_deletes(clinic: Clinic) -> None:
    study_id, instance_id = _study('1.2.40.3')
    made = annotations.add(study_id, instance_id, 1, TEXT, [[5, 5]], text='mine', by=clinic.technician.actor)
    with pytest.raises(NotAllowed):
        annotations.change(made.id, text='theirs', by=clinic.radiologist.actor)
    with pytest.raises(NotAllowed):
        annotations.delete(made.id, by=clinic.radiologist.actor)
    assert annotations.of_study(study_id, by=clinic.radiologist.actor)[0].text == 'mine'
    assert audit.search(by=clinic.admin.actor, action='denied:annotation.change').total == 2
    annotations.delete(made.id, by=clinic.admin.actor)
    assert annotations.of_study(study_id, by=clinic.admin.actor) == []
    assert audit.search(by=clinic.admin.actor, action='annotation.delete').total == 1
    with pytest.raises(NotFound):
        annotations.delete(made.id, by=clinic.admin.actor)


def test_reception_may_neither_read_nor_annotate_images(clinic: Clinic) -> None:
    study_id, instance_id = _study('1.2.40.4')
    with pytest.raises(NotAllowed):
        annotations.add(study_id, instance_id, 1, ARROW, [[1, 1], [9, 9]], by=clinic.receptionist.actor)
    made = annotations.add(study_id, instance_id, 1, ARROW, [[1, 1], [9, 9]], by=clinic.radiologist.actor)
    with pytest.raises(NotAllowed):
        annotations.of_study(study_id, by=clinic.receptionist.actor)
    with pytest.raises(NotAllowed):
        annotations.for_export(study_id, by=clinic.receptionist.actor)
    with pytest.raises(NotAllowed):
        annotations.delete(made.id, by=clinic.receptionist.actor)


def test_bad_annotations_are_refused(clinic: Clinic) -> None:
    study_id, instance_id = _study('1.2.40.5')
    other_study, _ = _study('1.2.40.6')
    doctor = clinic.radiologist.actor
    with pytest.raises(InvalidInput):
        annotations.add(study_id, instance_id, 1, 'circle', [[1, 1]], by=doctor)
    with pytest.raises(InvalidInput):
        annotations.add(study_id, instance_id, 1, ARROW, [[1, 1]], by=doctor)  # an arrow has a tail and a head
    with pytest.raises(InvalidInput):
        annotations.add(study_id, instance_id, 1, TEXT, [[1, 1]], text='   ', by=doctor)
    with pytest.raises(InvalidInput):
        annotations.add(study_id, instance_id, 1, TEXT, [['x', 1]], text='a', by=doctor)  # type: ignore[list-item]
    with pytest.raises(NotFound):
        annotations.add(other_study, instance_id, 1, TEXT, [[1, 1]], text='a', by=doctor)
    made = annotations.add(study_id, instance_id, 1, TEXT, [[1, 1]], text='a', by=doctor)
    with pytest.raises(InvalidInput):
        annotations.change(made.id, text='', by=doctor)  # a label keeps some text


def test_the_export_lists_the_annotated_images_and_is_audited(clinic: Clinic) -> None:
    study_id, instance_id = _study('1.2.40.7')
    with pytest.raises(NotFound):
        annotations.for_export(study_id, by=clinic.radiologist.actor)
    annotations.add(study_id, instance_id, 2, ARROW, [[1, 1], [9, 9]], by=clinic.radiologist.actor)
    found = annotations.for_export(study_id, by=clinic.radiologist.actor)
    assert found.study_instance_uid == '1.2.40.7'
    assert list(found.images) == [instance_id]
    assert found.images[instance_id].sop_instance_uid == '1.2.40.7.1.1'
    assert found.images[instance_id].number_of_frames == 2
    assert audit.search(by=clinic.admin.actor, action='annotation.export').total == 1
    assert list(annotations.on_frames(study_id, [(instance_id, 2), (instance_id, 1)])) == [(instance_id, 2)]
