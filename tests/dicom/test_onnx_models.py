"""ONNX draft models (issue 18): a model the test builds (with the onnx package) reads a radiograph's first image the
way the manifest says and suggests its label as a sentence and a template choice; a model of another modality,
a doubtful score and a broken manifest suggest nothing."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from pydicom.uid import generate_uid

from dicom import ingest, onnx_models, storage
from domain import drafting, reporting
from tests.conftest import Clinic
from tests.report_fixtures import template_id
from tests.viewer.synthetic import write_image

CR = '1.2.840.10008.5.1.4.1.1.1'
SIDE = 8
STEEP = 20.0


def brightness_model(path: Path) -> Path:
    """Scores [clear, opacity] for a [1, 1, 8, 8] image in 0..1: opacity wins when the mean grey is above 0.5."""
    weights = np.zeros((SIDE * SIDE, 2), dtype=np.float32)
    weights[:, 1] = STEEP / (SIDE * SIDE)
    bias = np.array([0.0, -STEEP / 2], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node('Flatten', ['image'], ['flat'], axis=1),
            helper.make_node('MatMul', ['flat', 'weights'], ['scaled']),
            helper.make_node('Add', ['scaled', 'bias'], ['scores']),
        ],
        'brightness',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 1, SIDE, SIDE])],
        [helper.make_tensor_value_info('scores', TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(weights, 'weights'), numpy_helper.from_array(bias, 'bias')],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8  # what onnxruntime of the lock reads
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def radiograph(path: Path, grey: int, study_uid: str) -> Path:
    """A 64x64 chest radiograph of one grey level, windowed 0..255."""
    pixels = np.full((64, 64), grey, dtype=np.uint8)
    window = {'WindowCenter': 128, 'WindowWidth': 256}
    return write_image(path, pixels, sop_class=CR, study_uid=study_uid, Modality='CR', **window)


@pytest.fixture
def models(clinic: Clinic, tmp_path: Path) -> Iterator[Path]:
    """A models folder with the brightness model for CR and DX; its plug-ins taken away afterwards."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    ingest.share(ingest.Ingest())
    folder = tmp_path / 'models'
    folder.mkdir()
    brightness_model(folder / 'chest.onnx')
    manifest = {
        'title': {'en': 'Chest opacity (test model)'},
        'modalities': ['CR', 'DX'],
        'input': {'shape': [1, 1, SIDE, SIDE]},
        'labels': ['clear', 'opacity'],
        'min_probability': 0.9,
        'field': 'lungs',
        'choices': {'clear': 'clear', 'opacity': 'opacity'},
        'sentences': {'opacity': {'en': 'Opacity suspected by the model; please check.'}},
    }
    (folder / 'chest.json').write_text(json.dumps(manifest))
    yield folder
    for name in [p.name for p in drafting.plugins() if p.name.startswith('onnx-')]:
        drafting._plugins.pop(name)


def _report(clinic: Clinic, grey: int) -> int:
    path = radiograph(clinic.data_dir.parent / f'cr-{grey}.dcm', grey, generate_uid())
    study_id = ingest.shared().accept_file(path, by=clinic.technician.actor).study_id
    assert study_id is not None
    return reporting.start(study_id, template_id('xr-chest'), language='en', by=clinic.radiologist.actor).id or 0


def _suggested(clinic: Clinic, report_id: int) -> dict[str, drafting.Suggestion]:
    return {s.plugin: s for s in drafting.suggestions(report_id, by=clinic.radiologist.actor)}


def test_a_bright_radiograph_is_suggested_as_opacity_and_accepting_sets_the_lungs_field(
    clinic: Clinic, models: Path
) -> None:
    assert onnx_models.register_folder(models) == ['chest']
    report_id = _report(clinic, grey=230)
    suggestion = _suggested(clinic, report_id)['onnx-chest']
    assert suggestion.values == {'lungs': 'opacity'}
    assert suggestion.findings == ['Opacity suspected by the model; please check. (100 %)']
    drafting.accept(report_id, 'onnx-chest', by=clinic.radiologist.actor)
    report = reporting.view(report_id, by=clinic.radiologist.actor, audited=False).report
    assert report.values['lungs'] == 'opacity' and 'Opacity suspected by the model' in report.findings
    assert report.state == 'draft'


def test_a_dark_radiograph_is_suggested_clear_in_the_models_own_words(clinic: Clinic, models: Path) -> None:
    onnx_models.register_folder(models)
    suggestion = _suggested(clinic, _report(clinic, grey=20))['onnx-chest']
    assert suggestion.values == {'lungs': 'clear'}
    assert suggestion.findings == ['Chest opacity (test model): clear (100 %)']


def test_a_doubtful_score_suggests_nothing(clinic: Clinic, models: Path) -> None:
    onnx_models.register_folder(models)
    assert 'onnx-chest' not in _suggested(clinic, _report(clinic, grey=128))  # the mean sits on the boundary


def test_a_model_of_another_modality_is_not_asked(clinic: Clinic, models: Path) -> None:
    manifest = json.loads((models / 'chest.json').read_text())
    (models / 'chest.json').write_text(json.dumps({**manifest, 'modalities': ['MR']}))
    onnx_models.register_folder(models)
    assert 'onnx-chest' not in _suggested(clinic, _report(clinic, grey=230))


def test_a_manifest_that_does_not_check_out_is_skipped_by_name(
    clinic: Clinic, models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (models / 'broken.json').write_text('{"labels": ["a"], "input": {"shape": [1, 1, 8, 8]}}')  # no broken.onnx
    (models / 'shape.json').write_text(json.dumps({'model': 'chest.onnx', 'labels': ['a'], 'input': {'shape': [8]}}))
    with caplog.at_level(logging.WARNING, logger='dicom.onnx_models'):
        assert onnx_models.register_folder(models) == ['chest']
    assert 'model manifest broken.json skipped: no model file broken.onnx' in caplog.text
    assert 'model manifest shape.json skipped: input.shape must be' in caplog.text
