"""Attack: someone other than an administrator opens a modality's page, or makes the server echo a host of their
choosing, reads what a scanner would get from the worklist (patient names) or the association log.

The page is admin-only (domain.access.SCREENS) and every check is refused in the domain before anything is sent.
"""

import pytest
from nicegui.testing import User

from domain import access, associations, modalities, modality_checks
from domain.errors import NotAllowed
from domain.modalities import ModalityCreate
from domain.modality_checks import EchoCall, EchoResult
from tests.conftest import Clinic, sign_in

OTHER_ROLES = ('receptionist', 'technician', 'radiologist')


def _entered(clinic: Clinic) -> int:
    entered = ModalityCreate(ae_title='CT_ROOM1', host='127.0.0.1', port=104, modality='CT', room='CT 1')
    return modalities.add(entered, by=clinic.admin.actor).id or 0


@pytest.mark.parametrize('role', OTHER_ROLES)
def test_no_other_role_echoes_tests_the_worklist_or_reads_the_log(clinic: Clinic, role: str) -> None:
    modality_id = _entered(clinic)
    actor = clinic.account(role).actor
    sent: list[EchoCall] = []

    def verify(call: EchoCall) -> EchoResult:
        sent.append(call)
        return EchoResult(ok=True, message=modality_checks.ECHO_ANSWERED)

    attempts = (
        lambda: modality_checks.echo(modality_id, by=actor, verify=verify),
        lambda: modality_checks.try_worklist(modality_id, by=actor),
        lambda: modality_checks.settings_to_copy(modality_id, by=actor),
        lambda: modalities.get(modality_id, by=actor),
        lambda: associations.recent('CT_ROOM1', by=actor),
    )
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
    assert sent == [], 'nothing was sent on the network'


def test_a_dicom_peer_cannot_make_the_server_echo(clinic: Clinic) -> None:
    modality_id = _entered(clinic)
    sent: list[EchoCall] = []
    with pytest.raises(NotAllowed):
        modality_checks.echo(modality_id, by=access.modality('CT_ROOM1', '127.0.0.1'), verify=sent.append)  # type: ignore[arg-type]
    assert sent == []


@pytest.mark.parametrize('role', OTHER_ROLES)
async def test_the_modality_page_is_refused_to_other_roles(screens: User, clinic: Clinic, role: str) -> None:
    modality_id = _entered(clinic)
    await sign_in(screens, clinic.account(role))
    await screens.open(f'/admin/modalities/{modality_id}')
    await screens.should_see(marker='not-allowed')
    await screens.should_not_see(marker='echo')
    await screens.should_not_see(marker='test-worklist')
