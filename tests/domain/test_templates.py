"""Report templates: shipped ones seeded once, the administrator's edits stored as new versions."""

import base64

import pytest

from domain import reporting, templates
from domain.errors import InvalidInput, NotAllowed
from tests.conftest import Clinic
from tests.report_fixtures import make_study, template_id


def test_the_shipped_templates_are_seeded_once_with_labels_in_five_languages(clinic: Clinic) -> None:
    assert templates.seed_shipped() == 7
    assert templates.seed_shipped() == 0
    shown = {t.code: t for t in templates.current(by=clinic.radiologist.actor)}
    assert set(shown) == {'us-abdomen', 'us-pelvis', 'us-obstetrics', 'us-thyroid', 'xr-chest', 'ct-head', 'free'}
    obstetric = templates.definition(shown['us-obstetrics'])
    assert obstetric.calculator == 'hadlock'
    bpd = obstetric.fields()[0]
    assert (bpd.key, bpd.unit, bpd.required) == ('bpd', 'mm', True)
    assert templates.label(bpd.label, 'ru') == 'Бипариетальный размер (БПР)'
    assert all(
        set(f.label) == {'en', 'ru', 'es', 'fr', 'de'} for t in shown.values() for f in templates.definition(t).fields()
    )


def test_an_admin_edit_is_a_new_version_and_an_old_report_keeps_its_own(clinic: Clinic) -> None:
    reporting.configure(clinic.data_dir)
    first = template_id('us-thyroid')
    report = reporting.start(make_study().study_id, first, by=clinic.radiologist.actor)
    data = templates.definition(templates.get(first, by=clinic.admin.actor)).model_dump()
    data['sections'][0]['fields'][0]['normal'] = [0, 12]
    edited = templates.save_version('us-thyroid', data, modality='us', by=clinic.admin.actor)
    assert (edited.version, edited.modality) == (2, 'US')
    assert [t.version for t in templates.versions('us-thyroid', by=clinic.admin.actor)] == [2, 1]
    newest = {t.code: t.id for t in templates.current(by=clinic.radiologist.actor)}
    assert newest['us-thyroid'] == edited.id
    kept = reporting.view(report.id, by=clinic.radiologist.actor)
    assert (kept.template.version, kept.definition.fields()[0].normal) == (1, [0.0, 10.0])


def test_a_retired_template_is_no_longer_offered(clinic: Clinic) -> None:
    templates.seed_shipped()
    templates.set_active('ct-head', False, by=clinic.admin.actor)
    assert 'ct-head' not in {t.code for t in templates.current(by=clinic.radiologist.actor)}
    assert 'ct-head' in {t.code for t in templates.current(by=clinic.admin.actor, include_inactive=True)}


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        (lambda d: d['sections'][0]['fields'].append(d['sections'][0]['fields'][0]), 'field keys used twice'),
        (lambda d: d['sections'][0]['fields'][0].update(normal=[5, 1]), 'normal range must be'),
        (lambda d: d['sections'][0]['fields'][0].update(type='date'), "Input should be 'number'"),
        (lambda d: d['name'].update(en=' '), 'needs an English name'),
    ],
)
def test_a_broken_definition_is_refused_with_the_reason(clinic: Clinic, change, message: str) -> None:
    data = templates.definition(templates.get(template_id('us-abdomen'), by=clinic.admin.actor)).model_dump()
    change(data)
    with pytest.raises(InvalidInput, match=message):
        templates.save_version('us-abdomen', data, by=clinic.admin.actor)


def test_only_an_admin_edits_templates(clinic: Clinic) -> None:
    data = templates.definition(templates.get(template_id('free'), by=clinic.admin.actor)).model_dump()
    with pytest.raises(NotAllowed):
        templates.save_version('free', data, by=clinic.radiologist.actor)


def test_a_new_template_starts_blank_and_needs_only_its_english_name(clinic: Clinic) -> None:
    data = templates.blank()
    with pytest.raises(InvalidInput, match='needs an English name'):
        templates.save_version('ct-sinus', data, by=clinic.admin.actor)
    data['name']['en'] = 'CT sinuses'
    assert templates.save_version('ct-sinus', data, by=clinic.admin.actor).version == 1
    assert templates.blank()['name'] == {'en': ''}  # each new template gets its own copy


@pytest.mark.parametrize(
    ('typed', 'message', 'params'),
    [
        ('{"name": {"en": "CT"},\n "sections": [}', 'Not valid JSON at line {line}, column {column}', {'line': 2}),
        ('["sections"]', 'The definition must be a JSON object', {}),
        ('"CT sinuses"', 'The definition must be a JSON object', {}),
    ],
)
def test_typed_text_that_is_not_a_json_object_is_refused_with_where(typed: str, message: str, params: dict) -> None:
    with pytest.raises(InvalidInput) as refused:
        templates.from_json(typed)
    assert refused.value.message == message
    assert params.items() <= refused.value.params.items()


def test_typed_json_becomes_the_definition_to_save() -> None:
    assert templates.from_json('{"name": {"en": "CT sinuses"}}') == {'name': {'en': 'CT sinuses'}}


@pytest.mark.parametrize(
    ('data', 'kind'),
    [
        (b'\x89PNG\r\n\x1a\n' + b'\0' * 20, 'image/png'),
        (b'\xff\xd8\xff\xe0' + b'\0' * 20, 'image/jpeg'),
        (b'GIF89a' + b'\0' * 20, None),
        (b'', None),
    ],
)
def test_a_logo_is_told_png_from_jpeg_by_its_first_bytes(data: bytes, kind: str | None) -> None:
    assert reporting.logo_type(data) == kind
    preview = reporting.logo_preview(base64.b64encode(data).decode('ascii'))
    assert preview == (f'data:{kind};base64,{base64.b64encode(data).decode("ascii")}' if kind else None)


def test_a_stored_logo_that_is_not_base64_has_no_preview() -> None:
    assert reporting.logo_preview('not base64 at all!') is None


def test_a_gif_logo_is_refused(clinic: Clinic) -> None:
    with pytest.raises(InvalidInput, match='PNG or JPEG'):
        reporting.set_logo(b'GIF89a' + b'\0' * 20, by=clinic.admin.actor)


def test_a_shipped_template_changed_by_an_update_gets_a_new_version_unless_an_admin_edited_it(
    clinic: Clinic,
) -> None:
    from sqlmodel import select, update

    from domain import db
    from domain.models import ReportTemplate

    templates.seed_shipped()
    with db.transaction() as session:  # as the thyroid template was before its TI-RADS section shipped
        session.execute(
            update(ReportTemplate)
            .where(ReportTemplate.code == 'us-thyroid')
            .values(definition={'sections': [{'key': 'thyroid', 'title': {'en': 'Thyroid'}, 'fields': []}]})
        )
        session.execute(update(ReportTemplate).where(ReportTemplate.code == 'us-pelvis').values(created_by='admin1'))
        session.execute(
            update(ReportTemplate)
            .where(ReportTemplate.code == 'us-pelvis')
            .values(definition={'sections': [{'key': 'pelvis', 'title': {'en': 'Pelvis'}, 'fields': []}]})
        )
    assert templates.seed_shipped() == 1
    with db.reading() as session:
        thyroid = session.exec(select(ReportTemplate).where(ReportTemplate.code == 'us-thyroid')).all()
        pelvis = session.exec(select(ReportTemplate).where(ReportTemplate.code == 'us-pelvis')).all()
    assert sorted(t.version for t in thyroid) == [1, 2] and len(pelvis) == 1
    newest = templates.definition(max(thyroid, key=lambda t: t.version))
    assert 'nodule_composition' in {f.key for f in newest.fields()}
    assert templates.seed_shipped() == 0
