"""NiceGUI screens, one module per screen; `register_pages()` registers them all (nothing at import)."""

import logging

from . import (
    account,
    admin,
    appointments,
    billing,
    board,
    dashboard,
    errors,
    home,
    kiosk,
    login,
    ohif,
    patient_detail,
    patients,
    reading,
    report_editor,
    report_search,
    restore_page,
    session_cookie,
    shell,
    studies,
    unmatched,
    upload,
    viewer,
)

log = logging.getLogger(__name__)


def register_pages() -> None:
    """Register every screen and the app-wide error handling."""
    shell.add_shell_css()
    login.register()
    session_cookie.register()
    home.register()
    account.register()
    admin.register()
    report_search.register()
    report_editor.register()
    patients.register()
    patient_detail.register()
    appointments.register()
    board.register()
    kiosk.register()
    reading.register()
    dashboard.register()
    billing.register()
    studies.register()
    unmatched.register()
    upload.register()
    restore_page.register()
    viewer.register()
    ohif.register()
    _register_dicomweb()

    errors.register()


def _register_dicomweb() -> None:
    from nicegui import app

    from dicom import conformance, qido, stow, wado_rs, wado_thumbnails

    from .guard import route_guard

    conformance.register(app, route_guard)
    qido.register(app, route_guard)
    stow.register(app, route_guard)
    wado_rs.register(app, route_guard)
    wado_thumbnails.register(app, route_guard)
