"""The viewer's canvas as a NiceGUI element (ui/viewer_canvas.js, self-hosted, no build step)."""

from typing import Any

from nicegui import ui


class ViewerCanvas(ui.element, component='viewer_canvas.js'):
    """One viewport: small settings are props; frames, corner text and marks go through methods."""

    def __init__(self) -> None:
        super().__init__()
        self._props.update(
            tool='scroll', invert=False, showoverlay=True, playing=False, fps=25, active=False, viewport=1024
        )

    def set(self, **props: Any) -> None:
        """Change small props and send them to the browser."""
        self._props.update(props)
        self.update()

    def prop(self, name: str) -> Any:
        return self._props.get(name)

    def frames(self, frames: list[list[Any]], index: int, window: list[float] | None) -> None:
        """Show a series: [url, columns, rows] per image, starting at `index`, with a window or the file's."""
        self.run_method('setFrames', frames, index, window)

    def info(self, **info: Any) -> None:
        """Corner text, orientation, pixel size, the file's window or a placeholder message for this image."""
        self.run_method('setInfo', info)

    def marks(self, marks: list[dict[str, Any]]) -> None:
        self.run_method('setMarks', marks)

    def window(self, window: list[float] | None) -> None:
        self.run_method('setWindow', window)

    def go_to(self, index: int) -> None:
        self.run_method('goTo', index)

    def apply_view(self, view: dict[str, float]) -> None:
        """Another viewport's zoom and pan (relative to the fitted image and the viewport), as linked zoom/pan."""
        self.run_method('applyView', view)
