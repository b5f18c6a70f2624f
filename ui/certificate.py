"""/certificate: how staff install the clinic's certificate on a tablet, and /certificate.crt to download it.

Registered only when TLS is on (main.py). Both are public: a tablet needs the certificate before anyone signs in on
it. The fingerprint on the page is what staff compare with the one the server printed when it started.
"""

from pathlib import Path

from fastapi.responses import Response
from nicegui import app, ui

from domain import access, tls

from .i18n import t

PAGE, DOWNLOAD = '/certificate', '/certificate.crt'
MEDIA_TYPE = 'application/x-x509-ca-cert'
_served = False  # set once at start-up when TLS is on


def available() -> bool:
    """True when this server offers /certificate (TLS is on), so the login page may link to it."""
    return _served


def register(cert_path: Path) -> None:
    """Serve the page and the download of the certificate in `cert_path` (PEM)."""
    global _served
    assert access.SCREENS[PAGE] == access.PUBLIC and access.ROUTES[DOWNLOAD] == access.PUBLIC
    _served = True
    pem = _first_certificate(cert_path.read_bytes())
    fingerprint = tls.fingerprint(cert_path)

    @app.get(DOWNLOAD, include_in_schema=False)
    def download() -> Response:
        return Response(
            pem, media_type=MEDIA_TYPE, headers={'Content-Disposition': 'attachment; filename="clinicpacs.crt"'}
        )

    @ui.page(PAGE, title='ClinicPACS')
    def certificate_page() -> None:
        ui.page_title(f'{t("The clinic certificate")} · ClinicPACS')
        ui.query('body').classes('bg-grey-2')
        with ui.column().classes('w-full max-w-screen-md mx-auto q-pa-md gap-4'):
            ui.label(t('The clinic certificate')).classes('text-h5')
            ui.label(
                t(
                    'ClinicPACS encrypts every connection with the clinic certificate. Install it once on each '
                    'tablet and computer so that the browser trusts this server and warns if another one '
                    'pretends to be it.'
                )
            )
            with ui.card().classes('w-full'):
                ui.label(t('SHA-256 fingerprint')).classes('text-subtitle2 text-grey-8')
                ui.label(fingerprint).classes('font-mono text-caption break-all').mark('certificate-fingerprint')
                ui.label(
                    t(
                        'Before you trust the certificate, check that this fingerprint matches the one your '
                        'device shows.'
                    )
                ).classes('text-grey-8')
                ui.button(t('Download the certificate'), icon='download').props(f'href={DOWNLOAD} type=a').mark(
                    'certificate-download'
                )
            for heading, steps in _instructions():
                with ui.expansion(heading).classes('w-full bg-white'):
                    with ui.column().classes('q-pa-sm gap-1'):
                        for number, step in enumerate(steps, start=1):
                            ui.label(f'{number}. {step}')
            ui.link(t('Back to sign in'), '/login')


def _instructions() -> list[tuple[str, list[str]]]:
    download = t('Download the certificate on the device.')
    check = t('Compare the fingerprint shown with the one on this page.')
    return [
        (
            t('iPad and iPhone'),
            [
                download + ' ' + t('Allow the configuration profile to be downloaded.'),
                t('Open Settings, Profile Downloaded, and tap Install.'),
                t('Open Settings, General, About, Certificate Trust Settings, and turn on full trust for it.'),
            ],
        ),
        (
            t('Android tablets'),
            [
                download,
                t('Open Settings, Security, Encryption and credentials, Install a certificate, CA certificate.'),
                t('Choose the downloaded file clinicpacs.crt and confirm.'),
            ],
        ),
        (
            t('Windows'),
            [
                download,
                t('Open the file, choose Install Certificate, Local Machine.'),
                t('Place it in the store Trusted Root Certification Authorities and finish.'),
                check,
            ],
        ),
        (
            t('macOS'),
            [
                download,
                t('Open the file; Keychain Access adds it to the System keychain.'),
                t('Open the certificate there, expand Trust and choose Always Trust.'),
                check,
            ],
        ),
    ]


def _first_certificate(chain: bytes) -> bytes:
    """The server's own certificate from a PEM chain (the first block); what a device installs as trusted."""
    end = b'-----END CERTIFICATE-----'
    position = chain.find(end)
    return chain[: position + len(end)] + b'\n' if position >= 0 else chain
