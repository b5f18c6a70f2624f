"""Hanging protocols: the shipped set, which protocol a study opens with, what each viewport shows, validation."""

from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import select

from domain import db, hanging_layout, hanging_protocols, viewing
from domain.errors import InvalidInput
from domain.hanging_layout import Protocol, ProtocolInput, Stage, ViewportRule
from domain.models import HangingProtocol, Instance, Series, Study
from tests.conftest import Clinic
from ui.viewer_tools import PRESETS

AXIAL = [1, 0, 0, 0, 1, 0]
CORONAL = [1, 0, 0, 0, 0, -1]
SAGITTAL = [0, 1, 0, 0, 0, -1]


def _study(
    uid: str,
    modality: str,
    description: str,
    series: list[tuple[str, str, list[int] | None]],
    *,
    day: int = 10,
    patient_id: str = 'P1',
) -> int:
    """A study of (series description, body part, orientation) series, two images each."""
    with db.transaction() as session:
        study = Study(
            study_instance_uid=uid,
            dicom_patient_id=patient_id,
            study_date=date(2025, 1, day),
            modalities=modality,
            description=description,
        )
        session.add(study)
        session.flush()
        for n, (text, part, orientation) in enumerate(series, start=1):
            row = Series(
                study_id=study.id,
                series_instance_uid=f'{uid}.{n}',
                modality=modality,
                series_number=n,
                description=text,
                body_part=part,
            )
            session.add(row)
            session.flush()
            for k in range(2):
                attributes = {'00200037': {'vr': 'DS', 'Value': orientation}} if orientation else {}
                session.add(
                    Instance(
                        series_id=row.id,
                        sop_instance_uid=f'{uid}.{n}.{k}',
                        sop_class_uid='1.2',
                        instance_number=k + 1,
                        file_path=f'dicom/{uid}-{n}-{k}.dcm',
                        attributes=attributes,
                    )
                )
        return study.id or 0


def _open(clinic: Clinic, study_id: int) -> viewing.StudyView:
    return viewing.open_study(study_id, by=clinic.radiologist.actor)


def _one_stage(**viewport: object) -> list[Stage]:
    return [Stage(layout='1x1', viewports=[ViewportRule.model_validate(viewport)])]


@pytest.fixture
def shipped(clinic: Clinic) -> Clinic:
    hanging_protocols.seed_shipped()
    return clinic


def test_the_shipped_set_is_stored_once_and_a_deleted_one_stays_deleted(clinic: Clinic) -> None:
    assert hanging_protocols.seed_shipped() == 5
    assert hanging_protocols.seed_shipped() == 0
    names = [p.name for p in hanging_protocols.shared(by=clinic.admin.actor)]
    assert 'CT chest: prior beside, lung and mediastinum' in names and 'MR knee by plane' in names
    us = next(p for p in hanging_protocols.shared(by=clinic.admin.actor) if p.modality == 'US')
    hanging_protocols.delete(us.id, by=clinic.admin.actor)
    assert hanging_protocols.seed_shipped() == 0
    assert len(hanging_protocols.shared(by=clinic.admin.actor)) == 4


def test_the_preset_names_a_protocol_may_use_are_the_viewers_presets() -> None:
    assert hanging_layout.PRESET_NAMES == {name for presets in PRESETS.values() for name, _c, _w in presets}


def test_a_ct_chest_with_a_prior_opens_lung_windows_with_the_prior_on_the_right(shipped: Clinic) -> None:
    prior_id = _study('1.9.1', 'CT', 'CT CHEST', [('LUNG 1mm', 'CHEST', AXIAL)], day=1)
    _study('1.9.2', 'CT', 'CT HEAD', [('BRAIN', 'HEAD', AXIAL)], day=2)  # same patient, another body part
    study_id = _study('1.9.3', 'CT', 'CT CHEST', [('LUNG 1mm', 'CHEST', AXIAL)])
    study = _open(shipped, study_id)
    protocol = hanging_protocols.choose(study, by=shipped.radiologist.actor)
    assert protocol is not None and protocol.name.startswith('CT chest')

    candidates = viewing.priors(study_id, by=shipped.radiologist.actor)
    priors = hanging_layout.matching_priors(protocol, study, candidates)
    assert [p.id for p in priors] == [prior_id]
    opened = [_open(shipped, p.id) for p in priors]
    stages = hanging_layout.usable_stages(protocol, len(opened))
    assert stages == [0, 1]
    left, right = hanging_layout.resolve(protocol, stages[0], study, opened)
    assert left and right
    assert (left.study.id, left.preset) == (study_id, 'Lung')
    assert (right.study.id, right.preset) == (prior_id, 'Lung')
    left, right = hanging_layout.resolve(protocol, stages[1], study, opened)
    assert left and right
    assert (left.study.id, left.preset, right.study.id, right.preset) == (study_id, 'Lung', study_id, 'Mediastinum')


def test_without_a_prior_the_stage_that_needs_one_is_skipped(shipped: Clinic) -> None:
    study = _open(shipped, _study('1.8.1', 'CT', 'CT THORAX', [('AXIAL', '', AXIAL)]))
    protocol = hanging_protocols.choose(study, by=shipped.radiologist.actor)
    assert protocol is not None and protocol.name.startswith('CT chest')
    assert hanging_layout.usable_stages(protocol, 0) == [1]


def test_a_knee_mr_hangs_its_series_by_plane(shipped: Clinic) -> None:
    study = _open(
        shipped,
        _study(
            '1.7.1',
            'MR',
            'MR KNEE RIGHT',
            [('AX T2 FS', 'KNEE', AXIAL), ('COR T1', 'KNEE', CORONAL), ('PD', 'KNEE', SAGITTAL)],
        ),
    )
    protocol = hanging_protocols.choose(study, by=shipped.radiologist.actor)
    assert protocol is not None and protocol.stages[0].layout == '1x3'
    placed = hanging_layout.resolve(protocol, 0, study, [])
    assert [p.series.description for p in placed if p] == ['PD', 'COR T1', 'AX T2 FS']
    assert [s.plane for s in study.series] == ['axial', 'coronal', 'sagittal']


def test_the_plane_comes_from_the_description_when_the_orientation_is_not_indexed_yet() -> None:
    assert viewing.plane_of(None, 'SAG PD') == 'sagittal'
    assert viewing.plane_of({}, 'cor t1') == 'coronal'
    assert viewing.plane_of(None, 'LOCALIZER') == ''


def test_ultrasound_opens_alone_with_cine_and_a_study_no_rule_fits_opens_with_none(shipped: Clinic) -> None:
    us = _open(shipped, _study('1.6.1', 'US', 'US ABDOMEN', [('', 'ABDOMEN', None)]))
    protocol = hanging_protocols.choose(us, by=shipped.radiologist.actor)
    assert protocol is not None
    (placement,) = hanging_layout.resolve(protocol, 0, us, [])
    assert placement and placement.cine
    other = _open(shipped, _study('1.6.2', 'CT', 'CT ABDOMEN', [('', 'ABDOMEN', AXIAL)]))
    assert hanging_protocols.choose(other, by=shipped.radiologist.actor) is None


def test_a_radiologists_own_protocol_comes_before_the_shared_one_and_only_for_them(shipped: Clinic) -> None:
    study = _open(shipped, _study('1.5.1', 'CT', 'CT CHEST', [('LUNG', 'CHEST', AXIAL)]))
    mine = hanging_protocols.create(
        ProtocolInput(name='My chest', modality='CT', stages=_one_stage(preset='Lung')), by=shipped.radiologist.actor
    )
    chosen = hanging_protocols.choose(study, by=shipped.radiologist.actor)
    assert chosen is not None and chosen.id == mine.id and not chosen.shared
    others = hanging_protocols.choose(study, by=shipped.admin.actor)
    assert others is not None and others.shared


def test_a_more_specific_rule_wins_then_the_rank() -> None:
    def protocol(n: int, modality: str, pattern: str, rank: int) -> Protocol:
        return Protocol(n, f'p{n}', None, modality, pattern, 0, (Stage(),), rank, True, '')

    study = viewing.StudyView(1, '1', None, '', '', '', '', '', None, 'CT CHEST LUNG', 'CT', 'ready', ())
    found = hanging_layout.rank(
        study,
        [protocol(1, '', '', 0), protocol(2, 'CT', '', 0), protocol(3, 'CT', 'chest', 5), protocol(4, 'CT', 'lung', 1)],
        None,
    )
    assert [p.id for p in found] == [4, 3, 2, 1]
    assert hanging_layout.rank(study, [protocol(5, 'MR', '', 0), protocol(6, 'CT', 'head', 0)], None) == []


def test_a_series_rule_that_finds_nothing_falls_back_to_a_series_not_yet_shown(shipped: Clinic) -> None:
    study = _open(shipped, _study('1.4.1', 'DX', 'CHEST', [('CHEST PA', 'CHEST', None), ('CHEST LATERAL', '', None)]))
    protocol = hanging_protocols.choose(study, by=shipped.radiologist.actor)
    assert protocol is not None and protocol.modality == 'CR|DX'
    assert hanging_layout.usable_stages(protocol, 0) == [1]
    left, right = hanging_layout.resolve(protocol, 1, study, [])
    assert left and right and (left.series.description, right.series.description) == ('CHEST PA', 'CHEST LATERAL')
    rule = Protocol(
        9, 'x', None, 'DX', '', 0, (Stage(layout='1x2', viewports=[ViewportRule(), ViewportRule()]),), 0, True, ''
    )
    rule.stages[0].viewports[1].series.by, rule.stages[0].viewports[1].series.value = 'description', 'OBLIQUE'
    first, second = hanging_layout.resolve(rule, 0, study, [])
    assert first and second and (first.series.description, second.series.description) == ('CHEST PA', 'CHEST LATERAL')
    single = _open(shipped, _study('1.4.2', 'DX', 'CHEST', [('CHEST PA', 'CHEST', None)]))
    only, empty = hanging_layout.resolve(protocol, 1, single, [])
    assert only and only.series.description == 'CHEST PA' and empty is None  # not the same view twice


@pytest.mark.parametrize(
    ('data', 'field', 'words'),
    [
        (ProtocolInput(name='', stages=_one_stage()), 'name', 'name'),
        (ProtocolInput(name='x', modality='C T', stages=_one_stage()), 'modality', 'modality'),
        (ProtocolInput(name='x', stages=_one_stage(preset='Sunset')), 'stages', 'Sunset'),
        (ProtocolInput(name='x', stages=_one_stage(prior=1)), 'stages', 'prior 1'),
        (ProtocolInput(name='x', stages=_one_stage(series={'by': 'plane', 'value': 'oblique'})), 'stages', 'plane'),
        (
            ProtocolInput(name='x', stages=[Stage(layout='1x1', viewports=[ViewportRule(), ViewportRule()])]),
            'stages',
            'Stage 1: the layout 1x1 has 1 viewports, not 2',
        ),
    ],
)
def test_an_invalid_protocol_is_refused_with_a_message_naming_the_problem(
    clinic: Clinic, data: ProtocolInput, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        hanging_protocols.create(data, by=clinic.radiologist.actor)
    assert field in refused.value.fields and words in str(refused.value.fields[field])
    assert words in str(refused.value)  # the notice says it too
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(HangingProtocol)).one() == 0


def test_stages_typed_as_json_are_refused_saying_where() -> None:
    with pytest.raises(InvalidInput) as refused:
        hanging_layout.parse_stages([{'layout': '3x3', 'viewports': []}])
    assert 'stage 1 → layout' in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        hanging_layout.parse_stages([{'layout': '1x2', 'viewports': [{'series': {'by': 'colour'}}]}])
    assert 'stage 1 → viewport 1 → series → by' in str(refused.value)
    assert hanging_layout.parse_stages([{'layout': '1x2'}])[0].layout == '1x2'


def test_changes_are_audited(clinic: Clinic) -> None:
    made = hanging_protocols.create(
        ProtocolInput(name='Shared', stages=_one_stage()), shared=True, by=clinic.admin.actor
    )
    hanging_protocols.rename(made.id, 'Renamed', by=clinic.admin.actor)
    hanging_protocols.set_active(made.id, False, by=clinic.admin.actor)
    hanging_protocols.delete(made.id, by=clinic.admin.actor)
    from domain import audit

    actions = [e.action for e in audit.search(by=clinic.admin.actor, action='hanging_protocol').rows]
    assert sorted(actions) == sorted(
        ['hanging_protocol.create', 'hanging_protocol.update', 'hanging_protocol.update', 'hanging_protocol.delete']
    )
