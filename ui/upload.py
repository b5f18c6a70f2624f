"""Upload: DICOM files, a zip of them, or a folder with a DICOMDIR, through the same pipeline as a push."""

import uuid
from dataclasses import dataclass, field

from nicegui import ui
from nicegui.elements.upload_files import FileUpload
from nicegui.events import MultiUploadEventArguments

from dicom import ingest, storage, uploads
from domain.access import Actor

from .i18n import t, tn
from .shell import current_actor, fetch, nav, screen

RESULT_COLOURS = {
    'stored': 'positive',
    'duplicate': 'grey',
    'index': 'grey',
    'conflict': 'warning',
    'refused': 'negative',
}


@dataclass
class _Progress:
    files_done: int = 0
    files_total: int = 0
    inner_done: int = 0
    inner_total: int = 0
    results: list[uploads.FileResult] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        if not self.files_total:
            return 0.0
        inner = self.inner_done / self.inner_total if self.inner_total else 0.0
        return min((self.files_done + inner) / self.files_total, 1.0)


def register() -> None:
    nav('/upload', 'Upload', 'upload_file', order=32)

    @screen('/upload', title='Upload')
    async def upload_page() -> None:
        UploadScreen(current_actor()).build()


class UploadScreen:
    """The upload card with its progress bar, and what became of every file sent."""

    def __init__(self, actor: Actor) -> None:
        self.actor, self.progress = actor, _Progress()

    def build(self) -> None:
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(t('DICOM files, a zip of them, or every file of a folder with a DICOMDIR')).classes(
                'text-subtitle1'
            )
            self.uploader = (
                ui.upload(
                    multiple=True,
                    auto_upload=True,
                    on_multi_upload=self.received,
                    max_file_size=uploads.MAX_UPLOAD_BYTES,
                    label=t('Choose or drop files'),
                )
                .props('accept="*" flat bordered')
                .classes('w-full')
                .mark('upload')
            )
            self.folder_button()
            bar = ui.linear_progress(value=0, show_value=False).classes('w-full').mark('upload-progress')
            ui.timer(0.25, lambda: bar.set_value(self.progress.fraction))
        self.results()

    def folder_button(self) -> None:
        pick_folder = (
            f'const i = document.querySelector("#{self.uploader.html_id} input[type=file]");'
            'if (i) { i.setAttribute("webkitdirectory", ""); i.click(); i.removeAttribute("webkitdirectory"); }'
        )
        ui.button(t('Choose a folder'), icon='folder_open', on_click=lambda: ui.run_javascript(pick_folder)).props(
            'outline no-caps'
        ).mark('choose-folder').tooltip(t('Uploads every file of the folder; the DICOMDIR is read as its index'))

    async def received(self, event: MultiUploadEventArguments) -> None:
        self.progress.files_done, self.progress.files_total = 0, len(event.files)
        for file in event.files:
            self.progress.inner_done = self.progress.inner_total = 0
            if file.size() > uploads.MAX_UPLOAD_BYTES:
                self.progress.results.append(uploads.FileResult(file.name, 'refused', t('The file is too large')))
            else:
                self.progress.results.extend(await self.process(file))
            self.progress.files_done += 1
            self.results.refresh()
        self.uploader.reset()
        stored = sum(1 for r in self.progress.results if r.result == 'stored')
        ui.notify(tn('{count} image stored', '{count} images stored', stored), type='positive' if stored else 'warning')

    async def process(self, file: FileUpload) -> list[uploads.FileResult]:
        scratch = storage.data_dir() / storage.INCOMING / f'{uuid.uuid4().hex}.upload'
        try:
            await file.save(scratch)
            return await fetch(
                uploads.process,
                scratch,
                file.name,
                ingest.shared(),
                by=self.actor,
                progress=lambda done, total: _inner(self.progress, done, total),
            )
        finally:
            scratch.unlink(missing_ok=True)

    @ui.refreshable_method
    def results(self) -> None:
        if not self.progress.results:
            return
        counts: dict[str, int] = {}
        for result in self.progress.results:
            counts[result.result] = counts.get(result.result, 0) + 1
        ui.label(' · '.join(f'{t(k)}: {v}' for k, v in sorted(counts.items()))).mark('upload-summary')
        with ui.list().props('dense bordered separator').classes('w-full max-w-3xl'):
            for result in reversed(self.progress.results[-500:]):
                with ui.item().mark('upload-result'):
                    with ui.item_section().props('side'):
                        ui.badge(t(result.result), color=RESULT_COLOURS.get(result.result, 'grey'))
                    with ui.item_section():
                        ui.item_label(result.name)
                        if result.reason:
                            ui.item_label(t(result.reason)).props('caption')


def _inner(progress: _Progress, done: int, total: int) -> None:
    progress.inner_done, progress.inner_total = done, total
