"""Settings: the clinic on report PDFs, reading and reports, the kiosk, session lifetimes and arriving images.

Each card saves its own group (domain/options.py checks, stores, audits old -> new and announces the change); every
process reads the options when it uses them, so nothing needs a restart. The language a reader gets when neither
their account nor their browser names one is PACS_LANGUAGE.
"""

from nicegui import ui

from domain import options

from ..shell import FAILED, current_actor, nav, perform, screen
from .settings_arrivals import ArrivalsCard
from .settings_clinic import ClinicCard, LogoCard
from .settings_kiosk import KioskCard
from .settings_reading import ReadingCard
from .settings_sessions import SessionsCard

CARDS = (ClinicCard, LogoCard, ReadingCard, KioskCard, SessionsCard, ArrivalsCard)


def register() -> None:
    nav('/admin/settings', 'Settings', 'settings', order=95)

    @screen('/admin/settings', title='Settings')
    async def settings_page() -> None:
        actor = current_actor()
        values = await perform(options.all_values)
        if values is FAILED:
            return
        with ui.row().classes('w-full gap-4 items-start'):
            for card in CARDS:
                card(actor, values).build()
