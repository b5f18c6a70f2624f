"""The modality page's echo says why it failed: here against our own listener, which refuses a calling AE title it
does not know exactly as a scanner that does not know ClinicPACS would (A-ASSOCIATE-RJ, PS3.8 9.3.4)."""

from dicom import echo
from domain import modalities, modality_checks
from domain.modalities import ModalityCreate
from domain.modality_checks import EchoCall, EchoResult
from tests.dicom.conftest import SCU_AE, Pacs


def test_an_echo_from_an_ae_title_the_node_knows_is_answered(pacs: Pacs) -> None:
    result = echo.verify(EchoCall(calling_ae=SCU_AE, called_ae=pacs.ae_title, host='127.0.0.1', port=pacs.port))
    assert result.ok
    assert result.message.msgid == modality_checks.ECHO_ANSWERED
    assert result.message.startswith(f'{pacs.ae_title} answered the echo in ')


def test_a_node_that_does_not_know_our_ae_title_is_named_as_the_reason(pacs: Pacs) -> None:
    result = echo.verify(EchoCall(calling_ae='STRANGER', called_ae=pacs.ae_title, host='127.0.0.1', port=pacs.port))
    assert not result.ok
    assert result.message.msgid == modality_checks.CALLING_AE_REFUSED
    assert result.message.params['our_ae_title'] == 'STRANGER'


def test_a_modality_accepted_from_any_host_without_an_address_is_not_echoed(pacs: Pacs) -> None:
    admin = pacs.clinic.admin.actor
    roaming = modalities.add(ModalityCreate(ae_title='US_CART', any_host=True, modality='US'), by=admin)
    sent: list[EchoCall] = []

    def verify(call: EchoCall) -> EchoResult:
        sent.append(call)
        return EchoResult(ok=True, message=modality_checks.ECHO_ANSWERED)

    result = modality_checks.echo(roaming.id or 0, by=admin, verify=verify)
    assert (result.ok, result.message.msgid, sent) == (False, modality_checks.NO_HOST, [])
