"""Draft plug-ins from ONNX models an administrator places in the models folder (PACS_MODELS_DIR, default
`<data dir>/models`), run on the CPU with onnxruntime; nothing is downloaded, ever.

Each model is a `NAME.onnx` with a manifest `NAME.json` beside it:

    {"title": {"en": "Chest opacity (test model)"},
     "modalities": ["CR", "DX"],
     "input": {"shape": [1, 1, 64, 64]},
     "labels": ["clear", "opacity"],
     "min_probability": 0.6,
     "field": "lungs", "choices": {"clear": "clear", "opacity": "opacity"},
     "sentences": {"opacity": {"en": "Opacity suspected by the model."}}}

For a study of one of its modalities, the model gets the study's first image: decoded (dicom/render.py, so stored
encryption and compressed syntaxes are handled), windowed to 8 bits as the viewer shows it, made grey, resized to
the input's height and width and scaled to 0..1, in the input's layout (N, C, H, W; C of 1 or 3). Its first output
is read as scores per label (softmax applied unless they already sum to one). The best label, when at least
`min_probability`, becomes a sentence (the manifest's, else "title: label (p %)") and, with `field` and `choices`,
the value of that template field. A manifest that does not parse is logged by file name and skipped.
"""

import json
import logging
import threading
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from domain import drafting
from domain.drafting import DraftContext, Suggestion

from . import render, storage

log = logging.getLogger(__name__)

SR_AND_DOCUMENTS = ('1.2.840.10008.5.1.4.1.1.88.', '1.2.840.10008.5.1.4.1.1.104.')  # no pixels to read


@dataclass(frozen=True)
class Manifest:
    name: str
    model: Path
    title: dict[str, str]
    modalities: tuple[str, ...]
    shape: tuple[int, int, int, int]  # N, C, H, W
    labels: tuple[str, ...]
    min_probability: float = 0.5
    target_field: str = ''  # the manifest's "field"
    choices: dict[str, str] = dataclass_field(default_factory=dict)
    sentences: dict[str, dict[str, str]] = dataclass_field(default_factory=dict)


def read_manifest(path: Path) -> Manifest:
    """A model's manifest, checked; ValueError says what is wrong with it."""
    raw = json.loads(path.read_text(encoding='utf-8'))
    if not isinstance(raw, dict):
        raise ValueError('the manifest is not a JSON object')
    model = path.with_name(str(raw.get('model') or f'{path.stem}.onnx'))
    if model.parent != path.parent or not model.is_file():
        raise ValueError(f'no model file {model.name} beside the manifest')
    shape = tuple(int(n) for n in raw.get('input', {}).get('shape', ()))
    if len(shape) != 4 or shape[0] != 1 or shape[1] not in (1, 3) or min(shape) < 1:
        raise ValueError('input.shape must be [1, channels (1 or 3), height, width]')
    labels = tuple(str(label) for label in raw.get('labels', ()))
    if not labels:
        raise ValueError('labels are missing')
    title = raw.get('title') or {'en': path.stem}
    return Manifest(
        name=path.stem,
        model=model,
        title={str(k): str(v) for k, v in (title.items() if isinstance(title, dict) else {'en': str(title)}.items())},
        modalities=tuple(str(m).upper() for m in raw.get('modalities', ())),
        shape=(shape[0], shape[1], shape[2], shape[3]),
        labels=labels,
        min_probability=float(raw.get('min_probability', 0.5)),
        target_field=str(raw.get('field', '')),
        choices={str(k): str(v) for k, v in dict(raw.get('choices', {})).items()},
        sentences={str(k): dict(v) for k, v in dict(raw.get('sentences', {})).items()},
    )


class OnnxModel:
    """One model as a draft plug-in; its onnxruntime session is made on first use and kept."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.name = f'onnx-{manifest.name}'
        self.title = manifest.title
        self._session: Any = None
        self._lock = threading.Lock()

    def suggest(self, context: DraftContext) -> Suggestion | None:
        wanted = set(self.manifest.modalities)
        if wanted and not wanted & set(context.modalities.split('\\')):
            return None
        image = next(
            (path for _, sop_class, path in context.images if not sop_class.startswith(SR_AND_DOCUMENTS)), None
        )
        if image is None:
            return None
        scores = self._run(self._input(storage.absolute(image)))
        best = int(np.argmax(scores))
        probability = float(scores[best])
        if best >= len(self.manifest.labels) or probability < self.manifest.min_probability:
            return None
        label = self.manifest.labels[best]
        return Suggestion(
            self.name,
            values=self._values(context, label),
            findings=[self._sentence(label, probability, context.language)],
        )

    def _input(self, path: Path) -> np.ndarray:
        frame = render.decode(path)
        grey = render.to_8bit(frame.values, frame)
        if grey.ndim == 3:
            grey = cv2.cvtColor(grey, cv2.COLOR_RGB2GRAY)
        _, channels, height, width = self.manifest.shape
        resized = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        return np.repeat(resized[np.newaxis, np.newaxis], channels, axis=1)

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        with self._lock:  # one run at a time per model: onnxruntime sessions are thread-safe, the first load is not
            if self._session is None:
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1  # a web server's core, not all of them
                self._session = onnxruntime.InferenceSession(
                    str(self.manifest.model), options, providers=['CPUExecutionProvider']
                )
            session = self._session
        name = session.get_inputs()[0].name
        output = np.asarray(session.run(None, {name: pixels})[0], dtype=np.float64).reshape(-1)
        if output.min() >= 0 and abs(output.sum() - 1.0) < 1e-3:
            return output
        exp = np.exp(output - output.max())
        scores: np.ndarray = exp / exp.sum()
        return scores

    def _values(self, context: DraftContext, label: str) -> dict[str, str]:
        target = self.manifest.target_field
        if not target or label not in self.manifest.choices:
            return {}
        spec = next((f for f in context.template.fields() if f.key == target), None)
        value = self.manifest.choices[label]
        if spec is None or (spec.type == 'choice' and value not in {c.value for c in spec.choices}):
            return {}
        return {target: value}

    def _sentence(self, label: str, probability: float, language: str) -> str:
        own = self.manifest.sentences.get(label, {})
        title = self.title.get(language) or self.title.get('en') or self.manifest.name
        text = own.get(language) or own.get('en') or f'{title}: {label}'
        return f'{text} ({round(probability * 100)} %)'


def register_folder(folder: Path) -> list[str]:
    """Offer every model of the folder whose manifest checks out; the names of those offered."""
    offered = []
    for path in sorted(folder.glob('*.json')) if folder.is_dir() else []:
        try:
            manifest = read_manifest(path)
        except (OSError, ValueError, TypeError, AttributeError) as error:
            log.warning('model manifest %s skipped: %s', path.name, error)
            continue
        drafting.register(OnnxModel(manifest))
        offered.append(manifest.name)
    if offered:
        log.info('draft models offered: %s', ', '.join(offered))
    return offered
