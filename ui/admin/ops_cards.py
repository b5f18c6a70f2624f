"""The admin home's status card: an icon, a title and a state badge over a few lines, its left edge in the state's
colour, opening the screen that deals with it. The Backups, Jobs, DICOM listener and data disk cards are made of it."""

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

EDGES = {
    'positive': 'var(--q-positive)',
    'warning': 'var(--q-warning)',
    'negative': 'var(--q-negative)',
    'grey': '#9e9e9e',
}


@contextmanager
def status_card(
    title: str, icon: str, colour: str, badge: str, *, mark: str, link: str | None = None
) -> Iterator[None]:
    """A card in one of the EDGES colours; what is written inside the `with` goes under its heading."""
    card = ui.card().classes('w-72').style(f'border-left: 4px solid {EDGES.get(colour, EDGES["grey"])}').mark(mark)
    if link is not None:
        card.classes('cursor-pointer').on('click', lambda: ui.navigate.to(link))
    with card:
        with ui.row().classes('items-center gap-2 no-wrap'):
            ui.icon(icon, size='md', color=colour)
            ui.label(title).classes('text-subtitle1')
            ui.badge(badge, color=colour)
        yield


def line(text: str, *, mark: str | None = None, warn: bool = False) -> ui.label:
    """One line of a status card."""
    label = ui.label(text).classes('text-body2 text-negative' if warn else 'text-body2')
    return label.mark(mark) if mark else label
