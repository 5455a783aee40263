"""dust.without_dust: specks far from the writing go; everything a digit is made of stays."""

from __future__ import annotations

import numpy as np

from mnist_cnn import preprocessing
from mnist_cnn.preprocessing import dust


def ring(ink: np.ndarray, top: int, left: int, size: int = 60, pen: int = 8) -> None:
    """Draw a 0 (a ring ``size`` pixels across, strokes ``pen`` wide) into ``ink`` at (top, left)."""
    rows, cols = np.indices((size, size))
    radius = np.hypot(rows - size / 2, cols - size / 2)
    ink[top : top + size, left : left + size] = np.maximum(
        ink[top : top + size, left : left + size],
        ((radius <= size / 2) & (radius >= size / 2 - pen)).astype(np.float32),
    )


def test_a_speck_far_from_the_digit_is_erased_with_its_soft_edge_and_the_digit_stays():
    ink = np.zeros((200, 200), np.float32)
    ring(ink, 70, 70)
    ink[10:14, 10:14] = 1.0  # a blot in a corner, 16 pixels against the ring's ~1,300
    ink[9, 10:14] = 0.2  # its soft edge, below the stroke level
    cleaned = dust.without_dust(ink)
    assert not cleaned[:40, :40].any()
    np.testing.assert_array_equal(cleaned[60:140, 60:140], ink[60:140, 60:140])


def test_a_speck_near_the_digit_stays():
    ink = np.zeros((200, 200), np.float32)
    ring(ink, 70, 70)
    ink[132:135, 100:103] = 1.0  # a broken stroke's piece 2 pixels under the ring
    ink[170:174, 98:102] = 1.0  # a question mark's dot, two thirds of the mark's height below it
    cleaned = dust.without_dust(ink)
    assert cleaned[132:135, 100:103].all() and cleaned[170:174, 98:102].all()


def test_a_speck_near_another_digit_of_a_number_stays():
    ink = np.zeros((120, 400), np.float32)
    ring(ink, 30, 20, size=80, pen=10)  # the largest digit
    ring(ink, 40, 300, size=50, pen=5)  # a smaller digit far to its right
    ink[92:95, 324:327] = 1.0  # a dot just under the smaller one, far from the largest
    assert dust.without_dust(ink)[92:95, 324:327].all()


def test_one_mark_or_marks_alike_in_size_come_back_unchanged():
    alone = np.zeros((100, 100), np.float32)
    ring(alone, 20, 20)
    assert dust.without_dust(alone) is alone
    dotted = np.zeros((100, 100), np.float32)
    for row in range(10, 90, 12):
        dotted[row : row + 4, 48:52] = 1.0  # a 1 written with a dotted pen: every dot alike
    assert dust.without_dust(dotted) is dotted
    empty = np.zeros((50, 50), np.float32)
    assert dust.without_dust(empty) is empty


def test_a_digit_photographed_with_specks_far_away_reads_as_without_them():
    paper = np.full((300, 300), 200, np.float32)
    ink = np.zeros((300, 300), np.float32)
    ring(ink, 100, 120, size=90, pen=12)
    clean = paper - 160 * ink
    specked = clean.copy()
    for row, col in ((10, 10), (10, 285), (270, 20)):
        specked[row : row + 5, col : col + 5] = 40  # three dark blots in the corners
    np.testing.assert_array_equal(preprocessing.to_mnist(specked), preprocessing.to_mnist(clean))


def test_nearest_gaps_are_the_gaps_to_the_nearest_box_in_chunks_of_any_size():
    rng = np.random.default_rng(0)

    def boxes(count):
        rows, cols = np.sort(rng.integers(0, 500, (count, 2))), np.sort(rng.integers(0, 500, (count, 2)))
        return [(slice(r[0], r[1] + 1), slice(c[0], c[1] + 1)) for r, c in zip(rows, cols)]

    def spans(found):
        return np.array([(box[0].start, box[0].stop, box[1].start, box[1].stop) for box in found]).reshape(-1, 4)

    small, large = boxes(300), boxes(25)

    def gap(a, b):  # the distance between two boxes, one pair at a time
        down = max(0, max(a[0].start, b[0].start) - min(a[0].stop, b[0].stop))
        across = max(0, max(a[1].start, b[1].start) - min(a[1].stop, b[1].stop))
        return float(np.hypot(down, across))

    expected = [min(gap(box, other) for other in large) for box in small]
    for chunk in (1, 64, 512):
        np.testing.assert_array_equal(dust.nearest_gaps(spans(small), spans(large), chunk), expected)
    assert np.isinf(dust.nearest_gaps(spans(small[:3]), spans([]))).all()  # no box to be near
