"""Reports: the state machine draft → final → addended for every role, checks, checksums and the audit trail."""

import pytest
from sqlmodel import select

from domain import audit, db, reading, report_ownership, reporting, richtext, users, work
from domain.access import Actor, system
from domain.errors import Conflict, InvalidInput, InvalidTransition, NotAllowed
from domain.models import Appointment, AuditEvent, Report, ReportDraft, Study, UserCreate
from tests.conftest import Clinic
from tests.report_fixtures import ABDOMEN_VALUES, final_report, make_study, template_id

ALL_ROLES = ('receptionist', 'technician', 'radiologist', 'admin')


@pytest.fixture
def study(clinic: Clinic):
    reporting.configure(clinic.data_dir)
    return make_study()


def _draft(study, clinic: Clinic, role: str = 'radiologist') -> int:
    return reporting.start(study.study_id, template_id('us-abdomen'), by=clinic.account(role).actor).id or 0


def _actions(clinic: Clinic, role: str, study) -> dict[str, bool]:
    """Which steps of the state machine this role may take, tried on fresh reports."""
    actor, doctor = clinic.account(role).actor, clinic.radiologist.actor
    done = {}

    def attempt(name: str, call) -> None:
        try:
            call()
            done[name] = True
        except NotAllowed:
            done[name] = False

    attempt('start', lambda: reporting.start(make_study().study_id, template_id('free'), by=actor))
    draft = _draft(make_study(), clinic)
    attempt('save', lambda: reporting.save_draft(draft, ReportDraft(values=ABDOMEN_VALUES, impression='ok'), by=actor))
    attempt('finalise', lambda: reporting.finalise(draft, by=actor))
    final = final_report(make_study(), doctor)
    attempt('addendum', lambda: reporting.add_addendum(final, 'Also: spleen normal.', by=actor))
    attempt('view', lambda: reporting.view(final, by=actor))
    attempt('delete', lambda: reporting.delete_draft(_draft(make_study(), clinic), by=actor))
    return done


@pytest.mark.parametrize(
    ('role', 'expected'),
    [
        (
            'receptionist',
            {'start': False, 'save': False, 'finalise': False, 'addendum': False, 'view': True, 'delete': False},
        ),
        (
            'technician',
            {'start': False, 'save': False, 'finalise': False, 'addendum': False, 'view': True, 'delete': False},
        ),
        (
            'radiologist',
            {'start': True, 'save': True, 'finalise': True, 'addendum': True, 'view': True, 'delete': True},
        ),
        # an admin writes only their own drafts (a radiologist's is not theirs to change) and never signs
        ('admin', {'start': True, 'save': False, 'finalise': False, 'addendum': False, 'view': True, 'delete': True}),
    ],
)
def test_each_role_may_take_exactly_its_steps(clinic: Clinic, study, role: str, expected: dict) -> None:
    assert _actions(clinic, role, study) == expected


def test_a_draft_keeps_what_was_typed_and_shows_who_saved_it(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic, 'admin')  # an admin may write a draft of their own
    saved = reporting.save_draft(
        report_id,
        ReportDraft(values={'liver_right_lobe': '128'}, findings='<p>Fine <b>liver</b></p>', impression='Normal'),
        by=clinic.admin.actor,
    )
    assert saved.report.values == {'liver_right_lobe': '128'}
    assert saved.report.findings == '<p>Fine <b>liver</b></p>'
    assert saved.name(saved.report.last_saved_by_id) == 'Test admin'
    assert saved.report.state == 'draft'


def test_a_new_draft_starts_with_the_templates_normal_sentences_in_its_language(clinic: Clinic, study) -> None:
    report = reporting.start(study.study_id, template_id('us-abdomen'), language='de', by=clinic.radiologist.actor)
    assert 'Leber normal groß' in report.findings
    assert richtext.plain(report.impression) == 'Kein pathologischer Befund.'


def test_a_study_gets_one_report_and_a_second_start_is_refused(clinic: Clinic, study) -> None:
    _draft(study, clinic)
    with pytest.raises(Conflict):
        _draft(study, clinic)


def test_out_of_range_and_non_numeric_values_are_flagged_but_the_draft_is_kept(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic)
    saved = reporting.save_draft(
        report_id,
        ReportDraft(values={'liver_right_lobe': '171', 'spleen_length': '12O', 'gb_wall': '2,5'}),
        by=clinic.radiologist.actor,
    )
    flags = {flag.key: flag.kind for flag in saved.flags}
    assert flags == {'liver_right_lobe': 'out-of-range', 'spleen_length': 'not-a-number'}
    assert reporting.view(report_id, by=clinic.radiologist.actor).report.values['spleen_length'] == '12O'


def test_finalising_with_required_fields_empty_is_refused_with_the_list(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic)
    reporting.save_draft(report_id, ReportDraft(values={}, impression=''), by=clinic.radiologist.actor)
    with pytest.raises(InvalidInput) as refused:
        reporting.finalise(report_id, by=clinic.radiologist.actor)
    assert str(refused.value) == 'Fill in before finalising: Right lobe, Impression'
    assert reporting.view(report_id, by=clinic.radiologist.actor).report.state == 'draft'


def test_finalising_a_value_that_is_not_a_number_is_refused(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic)
    reporting.save_draft(
        report_id,
        ReportDraft(values={**ABDOMEN_VALUES, 'spleen_length': 'big'}, impression='Splenomegaly'),
        by=clinic.radiologist.actor,
    )
    with pytest.raises(InvalidInput, match='Correct before finalising: Length'):
        reporting.finalise(report_id, by=clinic.radiologist.actor)


def test_signing_takes_the_study_off_the_reading_worklist_and_a_refused_signing_leaves_it_on(
    clinic: Clinic, study
) -> None:
    doctor = clinic.radiologist.actor

    def waiting() -> bool:
        return study.study_id in [row.study_id for row in reading.worklist(by=doctor)]

    report_id = _draft(study, clinic)
    reporting.save_draft(report_id, ReportDraft(values={}, impression=''), by=doctor)
    with pytest.raises(InvalidInput):
        reporting.finalise(report_id, by=doctor)
    assert waiting() and reading.next_unread(0, by=doctor) == study.study_id
    reporting.save_draft(report_id, ReportDraft(values=ABDOMEN_VALUES, impression='<p>Normal.</p>'), by=doctor)
    reporting.finalise(report_id, by=doctor)
    assert not waiting() and reading.next_unread(0, by=doctor) is None
    with db.reading() as session:
        assert session.get(Study, study.study_id).reported


def test_finalising_freezes_signs_checksums_completes_the_appointment_and_queues_the_pdf(clinic: Clinic, study) -> None:
    report_id = final_report(study, clinic.radiologist.actor, values={**ABDOMEN_VALUES, 'liver_right_lobe': '171'})
    frozen = reporting.view(report_id, by=clinic.receptionist.actor).report
    assert frozen.state == 'final'
    assert frozen.signed_by_id == clinic.radiologist.user_id
    assert frozen.signed_at is not None
    assert len(frozen.content_sha256 or '') == 64
    assert reporting.verify(report_id, by=clinic.admin.actor)
    with db.reading() as session:
        assert session.get(Appointment, study.appointment_id).state == 'completed'
    assert [(j.kind, j.object_id) for j in work.unfinished()] == [('render_report_pdf', report_id)]


def test_a_final_report_cannot_be_changed_finalised_again_or_deleted(clinic: Clinic, study) -> None:
    report_id = final_report(study, clinic.radiologist.actor)
    with pytest.raises(InvalidTransition):
        reporting.save_draft(report_id, ReportDraft(values={}, impression='changed'), by=clinic.radiologist.actor)
    with pytest.raises(InvalidTransition):
        reporting.finalise(report_id, by=clinic.radiologist.actor)
    with pytest.raises(InvalidTransition):
        reporting.delete_draft(report_id, by=clinic.admin.actor)
    assert richtext.plain(reporting.view(report_id, by=clinic.admin.actor).report.impression) == 'Normal abdomen.'


def test_an_addendum_is_signed_and_frozen_beside_the_untouched_original(clinic: Clinic, study) -> None:
    report_id = final_report(study, clinic.radiologist.actor)
    original = reporting.view(report_id, by=clinic.admin.actor).report
    addendum = reporting.add_addendum(
        report_id, '<p>Spleen re-measured: 110 mm.</p><script>x()</script>', by=clinic.radiologist.actor
    )
    shown = reporting.view(report_id, by=clinic.admin.actor)
    assert shown.report.state == 'addended'
    assert shown.report.content_sha256 == original.content_sha256
    assert [a.findings for a in shown.addenda] == ['<p>Spleen re-measured: 110 mm.</p>']
    assert addendum.signed_by_id == clinic.radiologist.user_id and len(addendum.content_sha256 or '') == 64
    with pytest.raises(InvalidInput):
        reporting.add_addendum(report_id, '<p> </p>', by=clinic.radiologist.actor)


def test_an_addendum_needs_a_final_report(clinic: Clinic, study) -> None:
    with pytest.raises(InvalidTransition):
        reporting.add_addendum(_draft(study, clinic), 'too early', by=clinic.radiologist.actor)


def test_only_the_author_or_an_admin_may_delete_a_draft(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic)
    with pytest.raises(NotAllowed):
        reporting.delete_draft(report_id, by=_colleague())
    reporting.delete_draft(report_id, by=clinic.radiologist.actor)
    with db.reading() as session:
        assert session.get(Report, report_id) is None
    assert reporting.for_study(study.study_id, by=clinic.admin.actor) is None


def test_the_checksum_changes_whenever_the_signed_content_would(clinic: Clinic, study) -> None:
    report_id = final_report(study, clinic.radiologist.actor)
    view = reporting.view(report_id, by=clinic.admin.actor)
    signed = view.report

    def digest(**changes) -> str:
        changed = signed.model_copy(update=changes)
        return reporting.content_digest(changed, view.template, view.study, view.patient, 'radiologist1')

    assert digest() == signed.content_sha256
    variants = [
        digest(findings='<p>Liver unremarkable!</p>'),
        digest(impression='<p>Normal.</p>'),
        digest(values={**signed.values, 'spleen_length': '106'}),
        digest(language='ru'),
        digest(signed_at=signed.signed_at.replace(microsecond=1)),
        reporting.content_digest(signed, view.template, view.study, view.patient, 'radiologist2'),
        reporting.content_digest(
            signed, view.template.model_copy(update={'version': 2}), view.study, view.patient, 'radiologist1'
        ),
    ]
    assert len({signed.content_sha256, *variants}) == len(variants) + 1
    with db.transaction() as session:
        tampered = session.get(Report, report_id)
        tampered.impression = '<p>Changed behind the clinic’s back.</p>'
        session.add(tampered)
    assert not reporting.verify(report_id, by=clinic.admin.actor)


def test_reports_are_found_by_their_text_and_by_state(clinic: Clinic, study) -> None:
    final_id = final_report(study, clinic.radiologist.actor, findings='<p>Small hepatic cyst.</p>')
    draft_id = _draft(make_study(family_name='Petrov'), clinic)
    reporting.save_draft(
        draft_id, ReportDraft(values={}, findings='<p>Renal cyst left.</p>'), by=clinic.radiologist.actor
    )
    reporting.add_addendum(final_id, 'Cholelithiasis noted.', by=clinic.radiologist.actor)
    doctor = clinic.radiologist.actor
    assert {r.id for r in reporting.search('cyst', by=doctor)} == {final_id, draft_id}
    assert [r.id for r in reporting.search('cyst', 'draft', by=doctor)] == [draft_id]
    assert [r.id for r in reporting.search('', 'addended', by=doctor)] == [final_id]
    assert [r.id for r in reporting.search('cholelithiasis', by=doctor)] == [final_id]
    assert [r.patient_name for r in reporting.search('renal', by=doctor)] == ['Petrov, Anna']
    with db.reading() as session:
        code = session.get(Study, study.study_id).short_id  # type: ignore[union-attr]
    assert code and [r.id for r in reporting.search(code.lower(), by=doctor)] == [final_id]
    with pytest.raises(InvalidInput):
        reporting.search('', 'signed', by=doctor)


def test_every_step_leaves_an_audit_event(clinic: Clinic, study) -> None:
    report_id = final_report(study, clinic.radiologist.actor)
    reporting.add_addendum(report_id, 'More.', by=clinic.radiologist.actor)
    with db.reading() as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_type == 'report', AuditEvent.object_id == str(report_id))
        ).all()
    assert actions == ['report.start', 'report.save', 'report.finalise', 'report.addendum']
    assert audit.verify(by=clinic.admin.actor).intact


def test_the_report_shows_the_studys_measurements_and_key_images(clinic: Clinic, study) -> None:
    from tests.report_fixtures import add_key_image, add_measurement

    add_measurement(study, 'spleen', 104.5)
    add_key_image(study, note='liver')
    shown = reporting.view(_draft(study, clinic), by=clinic.radiologist.actor)
    assert [(m.label, m.value) for m in shown.measurements] == [('spleen', 104.5)]
    assert [k.note for k in shown.key_images] == ['liver']


def test_only_the_author_saves_or_finalises_a_draft(clinic: Clinic, study) -> None:
    report_id, colleague = _draft(study, clinic), _colleague()
    with pytest.raises(NotAllowed, match='being written by Test radiologist'):
        reporting.save_draft(report_id, ReportDraft(values=ABDOMEN_VALUES, impression='<p>Mine.</p>'), by=colleague)
    with pytest.raises(NotAllowed):
        reporting.finalise(report_id, by=colleague)
    assert _report(report_id).state == 'draft' and _report(report_id).values == {}


def test_a_colleague_who_takes_a_draft_over_writes_and_signs_it(clinic: Clinic, study) -> None:
    report_id, colleague = _draft(study, clinic), _colleague()
    report_ownership.take_over(report_id, by=colleague)
    reporting.save_draft(report_id, ReportDraft(values=ABDOMEN_VALUES, impression='<p>Normal.</p>'), by=colleague)
    with pytest.raises(NotAllowed):
        reporting.save_draft(report_id, ReportDraft(impression='<p>Late autosave.</p>'), by=clinic.radiologist.actor)
    signed = reporting.finalise(report_id, by=colleague)
    assert (signed.author_id, signed.signed_by_id) == (colleague.user_id, colleague.user_id)
    assert _report(report_id).impression == '<p>Normal.</p>'


def test_a_take_over_is_audited_with_both_users_and_shown_on_the_report(clinic: Clinic, study) -> None:
    report_id, colleague = _draft(study, clinic), _colleague()
    report_ownership.take_over(report_id, by=colleague)
    with db.reading() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'report.take_over')).one()
    assert (event.user_id, event.object_id) == (colleague.user_id, str(report_id))
    assert event.detail == {'from': clinic.radiologist.user_id, 'to': colleague.user_id}
    shown = reporting.view(report_id, by=clinic.radiologist.actor)
    [handover] = shown.handovers
    assert (shown.name(handover.from_id), shown.name(handover.to_id)) == ('Test radiologist', 'Test colleague')


def test_only_a_radiologist_takes_over_and_only_a_draft(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic)
    with pytest.raises(NotAllowed):
        report_ownership.take_over(report_id, by=clinic.admin.actor)  # an admin reassigns instead
    final = final_report(make_study(), clinic.radiologist.actor)
    with pytest.raises(InvalidTransition):
        report_ownership.take_over(final, by=_colleague())


def test_an_admin_reassigns_a_draft_to_an_active_radiologist_only(clinic: Clinic, study) -> None:
    report_id, colleague = _draft(study, clinic), _colleague()
    with pytest.raises(InvalidInput):
        report_ownership.reassign(report_id, clinic.technician.user_id, by=clinic.admin.actor)
    with pytest.raises(NotAllowed):
        report_ownership.reassign(report_id, colleague.user_id or 0, by=clinic.radiologist.actor)
    report_ownership.reassign(report_id, colleague.user_id or 0, by=clinic.admin.actor)
    assert _report(report_id).author_id == colleague.user_id
    with db.reading() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'report.reassign')).one()
    assert event.detail == {'from': clinic.radiologist.user_id, 'to': colleague.user_id}
    with pytest.raises(NotAllowed):
        reporting.finalise(report_id, by=clinic.radiologist.actor)


def test_refusals_are_audited_and_the_chain_stays_intact(clinic: Clinic, study) -> None:
    report_id = _draft(study, clinic)
    with pytest.raises(NotAllowed):
        reporting.save_draft(report_id, ReportDraft(), by=_colleague())
    with pytest.raises(NotAllowed):
        reporting.delete_draft(report_id, by=_colleague('radiologist3'))
    with db.reading() as session:
        refused = session.exec(select(AuditEvent.action).where(AuditEvent.outcome == 'denied')).all()
    assert refused == ['report.save', 'report.delete']
    assert audit.verify(by=clinic.admin.actor).intact


def _colleague(username: str = 'radiologist2') -> Actor:
    """A second radiologist of the clinic, as the services see them."""
    created = users.create(
        UserCreate(username=username, full_name='Test colleague', role='radiologist', password='another password 2'),
        by=system('test'),
    )
    return Actor(role='radiologist', username=username, user_id=created.id)


def _report(report_id: int) -> Report:
    with db.reading() as session:
        report = session.get(Report, report_id)
    assert report is not None
    return report
