"""What the viewer screen asks of stored files (dicom/viewer_facts.py): a file that cannot be read is a problem code."""

from pathlib import Path

import numpy as np

from dicom import storage, viewer_facts

from .synthetic import SECONDARY_CAPTURE, write_image


def test_an_image_on_file_is_described_by_its_header(tmp_path: Path) -> None:
    storage.configure(tmp_path)
    write_image(tmp_path / 'ct.dcm', np.zeros((4, 6), np.uint16), BitsStored=12)
    facts = viewer_facts.describe('ct.dcm')
    assert 'problem' not in facts
    assert (facts['Rows'], facts['Columns']) == (4, 6)


def test_a_missing_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    storage.configure(tmp_path)
    assert viewer_facts.describe('dicom/gone.dcm')['problem'] == viewer_facts.MISSING


def test_a_file_that_cannot_be_read_is_unreadable_and_its_tags_say_why(tmp_path: Path) -> None:
    storage.configure(tmp_path)
    (tmp_path / 'folder.dcm').mkdir()
    found = viewer_facts.describe('folder.dcm')
    assert found['problem'] == viewer_facts.UNREADABLE
    assert found['detail']
    assert 'cannot be read' in str(viewer_facts.tag_rows('folder.dcm'))


def test_the_tag_listing_holds_the_header(tmp_path: Path) -> None:
    storage.configure(tmp_path)
    write_image(tmp_path / 'ct.dcm', np.zeros((4, 6), np.uint16))
    rows = viewer_facts.tag_rows('ct.dcm')
    assert not isinstance(rows, str)
    assert any(row['name'] == 'Patient ID' and row['value'] == 'T1' for row in rows)


def test_a_colour_image_has_no_automatic_window(tmp_path: Path) -> None:
    storage.configure(tmp_path)
    pixels = np.zeros((4, 6, 3), np.uint8)
    write_image(tmp_path / 'sc.dcm', pixels, photometric='RGB', sop_class=SECONDARY_CAPTURE)
    assert viewer_facts.auto_window('sc.dcm', 1) is None
