"""`make screenshots`: tools/screenshots.py photographs the demo's main screens and a report PDF in chromium."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, need_tool

pytestmark = pytest.mark.browser

PICTURES = ('board', 'viewer-ct', 'viewer-us-cine', 'report-editor', 'report-pdf')


def test_the_readme_pictures_are_taken_from_a_new_demo(tmp_path: Path) -> None:
    need_tool('pdftoppm')
    need_tool('chromedriver')
    done = subprocess.run(
        [sys.executable, 'tools/screenshots.py', '--out', str(tmp_path), '--width', '1200'],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))},  # as a shell
        capture_output=True,
        text=True,
        timeout=600,
        check=False,  # its stderr is the failure's message
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f'{name}-en.png' for name in PICTURES)
    for name in PICTURES:
        with Image.open(tmp_path / f'{name}-en.png') as picture:
            pixels = np.asarray(picture.convert('L'), dtype=np.float32)
            if name != 'report-pdf':
                assert picture.width == 1200
            assert pixels.std() > 10, f'{name} is blank'  # something was drawn, not an empty page
    with Image.open(tmp_path / 'viewer-ct-en.png') as viewer:  # the CT's own pixels: a dark frame with a head in it
        grey = np.asarray(viewer.convert('L'))
    assert (grey < 20).mean() > 0.1 and (grey > 200).mean() > 0.05
