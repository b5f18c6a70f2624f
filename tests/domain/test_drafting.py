"""Suggested drafts (issue 18): the measurement plug-in writes the structured values as sentences in the report's
language; a suggestion changes nothing until its author accepts it; every step is audited; a failing plug-in costs
nothing but its own suggestion."""

import logging
from collections.abc import Iterator

import pytest
from sqlmodel import col, select

from domain import db, drafting, obstetrics, reporting
from domain.errors import InvalidTransition, NotAllowed
from domain.models import AuditEvent, ReportDraft
from tests.conftest import Clinic
from tests.report_fixtures import final_report, make_study, template_id

OB_VALUES = {'bpd': '52.3', 'hc': '190', 'ac': '170', 'fl': '38'}


def _draft(clinic: Clinic, code: str, values: dict[str, str], language: str = 'en') -> int:
    doctor = clinic.radiologist.actor
    report = reporting.start(make_study().study_id, template_id(code), language=language, by=doctor)
    reporting.save_draft(
        report.id or 0,
        ReportDraft(values=values, findings='<p>Typed by the doctor.</p>', impression='', language=language),
        by=doctor,
    )
    return report.id or 0


def _actions(report_id: int) -> list[str]:
    with db.reading() as session:
        rows = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_id == str(report_id)).order_by(col(AuditEvent.id))
        ).all()
    return [action for action in rows if 'suggestion' in action or action == 'report.suggest']


def test_obstetric_values_become_sentences_with_the_hadlock_age(clinic: Clinic) -> None:
    report_id = _draft(clinic, 'us-obstetrics', OB_VALUES)
    (suggestion,) = drafting.suggestions(report_id, by=clinic.radiologist.actor)
    age = obstetrics.biometry(52.3, 190, 170, 38).ga_text
    assert suggestion.plugin == 'measurements'
    assert suggestion.findings[:2] == [
        'Fetal biometry: BPD 52.3 mm, HC 190 mm, AC 170 mm, FL 38 mm.',
        f'Gestational age by ultrasound (Hadlock, BPD+HC+AC+FL): {age}.',
    ]
    assert any(s.startswith('Estimated fetal weight (Hadlock): ') for s in suggestion.findings)
    assert suggestion.impression == [f'Fetal biometry corresponds to {age} (Hadlock).']


def test_a_suggestion_changes_nothing_until_accepted_then_adds_its_text_after_the_doctors(clinic: Clinic) -> None:
    doctor = clinic.radiologist.actor
    report_id = _draft(clinic, 'us-obstetrics', OB_VALUES)
    drafting.suggestions(report_id, by=doctor)
    before = reporting.view(report_id, by=doctor, audited=False).report
    assert before.findings == '<p>Typed by the doctor.</p>' and before.state == 'draft'
    drafting.accept(report_id, 'measurements', by=doctor)
    after = reporting.view(report_id, by=doctor, audited=False).report
    assert after.findings.startswith('<p>Typed by the doctor.</p><p>Fetal biometry: BPD 52.3 mm')
    assert 'Fetal biometry corresponds to' in after.impression
    assert after.values == OB_VALUES and after.state == 'draft'  # never finalised by a suggestion
    assert _actions(report_id) == ['report.suggest', 'report.accept_suggestion']


def test_a_discarded_suggestion_leaves_the_draft_as_it_was_and_is_audited(clinic: Clinic) -> None:
    doctor = clinic.radiologist.actor
    report_id = _draft(clinic, 'us-obstetrics', OB_VALUES)
    drafting.discard(report_id, 'measurements', by=doctor)
    assert reporting.view(report_id, by=doctor, audited=False).report.findings == '<p>Typed by the doctor.</p>'
    assert _actions(report_id) == ['report.discard_suggestion']


def test_a_value_outside_its_normal_range_is_said_in_the_reports_language(clinic: Clinic) -> None:
    report_id = _draft(clinic, 'us-abdomen', {'liver_right_lobe': '171', 'spleen_length': '105'}, language='ru')
    (suggestion,) = drafting.suggestions(report_id, by=clinic.radiologist.actor)
    assert len(suggestion.findings) == 1
    assert suggestion.findings[0] == 'Правая доля: 171 mm, выше нормы (0–150 mm).'


def test_nothing_to_say_is_no_suggestion(clinic: Clinic) -> None:
    report_id = _draft(clinic, 'us-abdomen', {'liver_right_lobe': '140'})
    assert drafting.suggestions(report_id, by=clinic.radiologist.actor) == []
    assert _actions(report_id) == []


def test_only_the_drafts_author_accepts_and_a_final_report_takes_nothing(clinic: Clinic) -> None:
    report_id = _draft(clinic, 'us-obstetrics', OB_VALUES)
    with pytest.raises(NotAllowed):
        drafting.suggestions(report_id, by=clinic.receptionist.actor)
    with pytest.raises(NotAllowed):
        drafting.accept(report_id, 'measurements', by=clinic.admin.actor)
    signed = final_report(make_study(), clinic.radiologist.actor, values={'liver_right_lobe': '171'})
    with pytest.raises(InvalidTransition):
        drafting.accept(signed, 'measurements', by=clinic.radiologist.actor)


class _Broken:
    name = 'broken'
    title = {'en': 'Broken'}  # noqa: RUF012 - a plug-in's shape

    def suggest(self, context: drafting.DraftContext) -> drafting.Suggestion | None:
        raise RuntimeError('model file missing')


@pytest.fixture
def broken() -> Iterator[None]:
    drafting.register(_Broken())
    yield
    drafting._plugins.pop('broken')


def test_a_failing_plug_in_is_logged_and_the_others_still_answer(
    clinic: Clinic, broken: None, caplog: pytest.LogCaptureFixture
) -> None:
    report_id = _draft(clinic, 'us-obstetrics', OB_VALUES)
    with caplog.at_level(logging.ERROR, logger='domain.drafting'):
        found = drafting.suggestions(report_id, by=clinic.radiologist.actor)
    assert [s.plugin for s in found] == ['measurements']
    assert f'draft plug-in broken failed on report {report_id}' in caplog.text


THYROID_NODULE = {
    'nodules': 'yes',
    'nodule_location': 'right',
    'nodule_diameter': '18',
    'nodule_composition': 'solid',
    'nodule_echogenicity': 'hypo',
    'nodule_shape': 'wider',
    'nodule_margin': 'smooth',
    'nodule_foci': 'none',
}


def test_a_thyroid_nodules_features_become_its_ti_rads_level_and_advice(clinic: Clinic) -> None:
    report_id = _draft(clinic, 'us-thyroid', THYROID_NODULE)
    (suggestion,) = drafting.suggestions(report_id, by=clinic.radiologist.actor)
    assert suggestion.findings == [
        'Dominant nodule in the right lobe, 18 mm: solid or almost completely solid (2), hypoechoic (2), '
        'wider-than-tall (0), smooth margin (0), no echogenic foci or only large comet-tail artifacts (0) '
        '— ACR TI-RADS score 4, TR4 (moderately suspicious); FNA recommended (≥ 15 mm).'
    ]
    assert suggestion.impression == []


def test_the_ti_rads_sentence_is_in_the_reports_language(clinic: Clinic) -> None:
    values = {**THYROID_NODULE, 'nodule_location': 'isthmus', 'nodule_diameter': '12,5', 'nodule_shape': 'taller'}
    report_id = _draft(clinic, 'us-thyroid', values, language='ru')
    (suggestion,) = drafting.suggestions(report_id, by=clinic.radiologist.actor)
    assert suggestion.findings == [
        'Доминантный узел в перешейке, 12.5 мм: солидный или почти полностью солидный (2), гипоэхогенный (2), '
        'вертикально ориентированный (3), с ровным контуром (0), '
        'без эхогенных включений или только с крупными артефактами «хвост кометы» (0) '
        '— сумма баллов ACR TI-RADS 7, TR5 (высокоподозрительный); рекомендована ТАБ (≥ 10 мм).'
    ]


def test_a_thyroid_nodule_with_a_feature_left_blank_gets_no_ti_rads_sentence(clinic: Clinic) -> None:
    report_id = _draft(clinic, 'us-thyroid', {**THYROID_NODULE, 'nodule_margin': ''})
    assert drafting.suggestions(report_id, by=clinic.radiologist.actor) == []
