"""Attack 6: a second radiologist opens a colleague's draft and saves, finalises or deletes it as their own.

Only the draft's author writes it; a colleague reads it, and may take it over only with an explicit, audited
"Take over" that tells the author. Checked in the services (every edge goes through them) and on the screen.
"""

from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User
from sqlmodel import select

from domain import db, reporting, templates, users
from domain.access import system
from domain.errors import NotAllowed
from domain.models import AuditEvent, ReportDraft, UserCreate
from tests.conftest import PASSWORD, Account, Clinic, sign_in
from tests.report_fixtures import ABDOMEN_VALUES, make_study, template_id
from ui import live, register_pages

WRITTEN = '<p>Liver of normal size.</p>'


@pytest.fixture(autouse=True)
def _reports(clinic: Clinic) -> None:
    reporting.configure(clinic.data_dir)
    templates.seed_shipped()


@pytest.fixture
def colleague(clinic: Clinic) -> Account:
    """A second radiologist of the same clinic."""
    created = users.create(
        UserCreate(username='radiologist2', full_name='Test colleague', role='radiologist', password=PASSWORD),
        by=system('test'),
    )
    return Account('radiologist2', PASSWORD, 'radiologist', created.id or 0)


@pytest.fixture
def draft_id(clinic: Clinic) -> int:
    """A complete draft by the first radiologist, ready to finalise."""
    author = clinic.radiologist.actor
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=author).id or 0
    reporting.save_draft(report_id, ReportDraft(values=ABDOMEN_VALUES, findings=WRITTEN, impression=WRITTEN), by=author)
    return report_id


def test_a_colleague_cannot_save_someone_elses_draft(clinic: Clinic, colleague: Account, draft_id: int) -> None:
    with pytest.raises(NotAllowed):
        reporting.save_draft(draft_id, ReportDraft(values={}, impression='<p>Overwritten.</p>'), by=colleague.actor)
    assert _report(draft_id, clinic).impression == WRITTEN


def test_a_colleague_cannot_finalise_someone_elses_draft(clinic: Clinic, colleague: Account, draft_id: int) -> None:
    with pytest.raises(NotAllowed):
        reporting.finalise(draft_id, by=colleague.actor)
    report = _report(draft_id, clinic)
    assert (report.state, report.signed_by_id) == ('draft', None)


def test_a_colleague_cannot_delete_someone_elses_draft(clinic: Clinic, colleague: Account, draft_id: int) -> None:
    with pytest.raises(NotAllowed):
        reporting.delete_draft(draft_id, by=colleague.actor)
    assert _report(draft_id, clinic).state == 'draft'


def test_an_admin_cannot_rewrite_a_radiologists_draft(clinic: Clinic, draft_id: int) -> None:
    with pytest.raises(NotAllowed):
        reporting.save_draft(draft_id, ReportDraft(impression='<p>Overwritten.</p>'), by=clinic.admin.actor)
    assert _report(draft_id, clinic).impression == WRITTEN


def test_a_refused_write_is_in_the_audit_trail(clinic: Clinic, colleague: Account, draft_id: int) -> None:
    with pytest.raises(NotAllowed):
        reporting.finalise(draft_id, by=colleague.actor)
    with db.reading() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.user_id == colleague.user_id, AuditEvent.outcome == 'denied')
        ).all()
    assert [(e.action, e.object_id) for e in refused] == [('report.finalise', str(draft_id))]


@pytest.fixture
async def colleague_screen(user: User, clinic: Clinic, colleague: Account) -> AsyncIterator[User]:
    register_pages()
    live.start_bridge()
    await sign_in(user, colleague)
    yield user
    live.stop_bridge()


async def test_a_colleague_sees_the_draft_read_only_with_a_take_over_button(
    colleague_screen: User, draft_id: int
) -> None:
    await colleague_screen.open(f'/reports/{draft_id}')
    await colleague_screen.should_see(marker='ownership-banner')
    await colleague_screen.should_see('This draft is being written by Test radiologist')
    await colleague_screen.should_see(marker='take-over')
    for editable in ('field-liver_right_lobe', 'findings', 'impression', 'save-report', 'finalise', 'delete-draft'):
        await colleague_screen.should_not_see(marker=editable)


def _report(report_id: int, clinic: Clinic):
    return reporting.view(report_id, by=clinic.admin.actor, audited=False).report
