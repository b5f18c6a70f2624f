"""Linked scroll's arithmetic: by position in one frame of reference, by offset or fraction across frames."""

from domain import slice_positions
from domain.slice_positions import FRACTION, OFFSET, POSITION, SliceGeometry, Stack

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def _stack(levels: list[float], frame: str = '1.2.3', orientation: tuple[float, ...] = AXIAL) -> Stack:
    """Axial slices at these z levels (mm), in scroll order."""
    return Stack(tuple(SliceGeometry((-100.0, -120.0, z), orientation, frame) for z in levels))


def test_same_frame_of_reference_scrolls_by_position_not_index() -> None:
    thin = _stack([float(z) for z in range(0, 50, 1)])  # 1 mm, 0..49
    thick = _stack([10.0 + 5 * n for n in range(6)])  # 5 mm, 10..35
    for index, expected in ((0, 0), (12, 0), (22, 2), (33, 5), (49, 5)):
        found = slice_positions.follow(thin, index, thick)
        assert found is not None and (found.index, found.mode) == (expected, POSITION), index
    back = slice_positions.follow(thick, 3, thin)  # z = 25
    assert back is not None and back.index == 25 and back.exact


def test_a_position_the_other_series_does_not_cover_lands_on_its_nearest_slice_and_says_so() -> None:
    long, short = _stack([float(z) for z in range(0, 100, 2)]), _stack([40.0, 42.5, 45.0])
    found = slice_positions.follow(long, 40, short)  # z = 80, far beyond 45
    assert found is not None and found.index == 2 and not found.exact
    inside = slice_positions.follow(long, 21, short)  # z = 42, 0.5 mm from 42.5 (half gap 1.25)
    assert inside is not None and inside.index == 1 and inside.exact


def test_positions_follow_the_slice_normal_whatever_the_scroll_direction() -> None:
    head_first = _stack([0.0, 3.0, 6.0, 9.0])
    feet_first = _stack([9.0, 6.0, 3.0, 0.0])
    found = slice_positions.follow(head_first, 1, feet_first)
    assert found is not None and found.index == 2


def test_different_frames_of_reference_keep_the_fraction_of_the_stack() -> None:
    now, prior = _stack([float(z) for z in range(11)], '1.2.3'), _stack([float(z) for z in range(21)], '1.2.4')
    found = slice_positions.follow(now, 5, prior)
    assert found is not None and (found.index, found.mode) == (10, FRACTION)


def test_with_an_anchor_different_frames_keep_the_offset_from_where_the_link_came_on() -> None:
    now, prior = _stack([float(z) for z in range(11)], '1.2.3'), _stack([float(z) for z in range(21)], '1.2.4')
    found = slice_positions.follow(now, 5, prior, anchor=(3, 12))
    assert found is not None and (found.index, found.mode) == (14, OFFSET)
    clamped = slice_positions.follow(now, 10, prior, anchor=(0, 18))
    assert clamped is not None and clamped.index == 20


def test_images_without_positions_fall_back_to_the_fraction() -> None:
    located = _stack([0.0, 1.0, 2.0])
    unlocated = Stack(tuple(SliceGeometry(frame_of_reference='1.2.3') for _ in range(5)))
    found = slice_positions.follow(located, 1, unlocated)
    assert found is not None and (found.index, found.mode) == (2, FRACTION)


def test_planes_that_are_not_parallel_do_not_move() -> None:
    axial, sagittal = _stack([0.0, 1.0, 2.0]), _stack([0.0, 1.0, 2.0], orientation=SAGITTAL)
    assert slice_positions.follow(axial, 1, sagittal) is None


def test_geometry_is_read_from_indexed_dicom_json_and_from_header_facts() -> None:
    attributes = {
        '00200032': {'vr': 'DS', 'Value': [1, 2, 3.5]},
        '00200037': {'vr': 'DS', 'Value': list(AXIAL)},
        '00200052': {'vr': 'UI', 'Value': ['1.2.3']},
    }
    assert slice_positions.from_attributes(attributes) == SliceGeometry((1.0, 2.0, 3.5), AXIAL, '1.2.3')
    facts = {
        'ImagePositionPatient': [1, 2, 3.5],
        'ImageOrientationPatient': list(AXIAL),
        'FrameOfReferenceUID': '1.2.3',
    }
    assert slice_positions.from_facts(facts) == SliceGeometry((1.0, 2.0, 3.5), AXIAL, '1.2.3')
    assert slice_positions.from_attributes({'00200032': {'vr': 'DS', 'Value': [1, 'x', 2]}}) == SliceGeometry()
