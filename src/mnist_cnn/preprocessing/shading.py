"""Shading correction by a grey closing: the paper under a hand's or a phone's shadow, or a small lamp spot.

A quadratic or quartic lighting surface (``lighting.illumination``) cannot follow light or shade that
is compact: the shadow of a hand or a phone held over the page, a tight lamp spot. A grey closing (a
maximum filter, then a minimum filter, by a square) removes every dark shape narrower than the square
and keeps everything wider, whatever its form: with a square wider than the pen's strokes but narrower
than the shade, it is the paper (Sternberg 1983, "Biomedical image processing", the rolling-ball
background; scipy.ndimage). The pen's width is not known beforehand, so the square is the one at which
the ink stops growing: the ink a closing finds grows quickly while the square widens to take in the
strokes, then slowly (``pen_square``).

Grayscale images are float32 (h, w), values 0-255, dark ink on lighter paper.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing.digit import ridge_distances
from mnist_cnn.preprocessing.filters import median, robust_std
from mnist_cnn.preprocessing.resize import max_pool, shrink

SQUARES = (3, 5, 7, 9, 13, 17, 23, 31, 41)  # closing squares tried, pixels on a copy 256 pixels long
SEARCH_SIZE = 256  # longest side of the copy the square is chosen on
PLATEAU = 1.25  # the ink a closing finds changes by at most this factor to the next square: strokes all in
NOISE_SIGMAS = 4.0  # ink stands this many robust standard deviations above the closing's residual
MIN_CONTRAST = 10.0  # grey levels
MIN_MARK = 8  # pixels on the search copy: smaller marks are dots, specks or noise, not strokes
WIDE_RATIO = 3.0  # the widest mark's half-width over the strokes' typical one: shade beside the digit
WIDE_HALF = 0.04  # of the search copy's longer side: a wide mark's half-width at least (a palm, not a blot)
DARK_WRITING = 64  # pixels darker than the paper by the light marks' floor: fewer is noise, no writing to bridge


def closing(gray: np.ndarray, square: int) -> np.ndarray:
    """The grey closing of ``gray`` (h, w) by a ``square`` x ``square`` square: float32 (h, w), at least
    ``gray`` everywhere. A separable maximum then minimum filter (scipy.ndimage), which costs the same
    for any square."""
    from scipy import ndimage

    return ndimage.minimum_filter(ndimage.maximum_filter(gray, size=square), size=square)


def ink_area(gray: np.ndarray, paper: np.ndarray) -> int:
    """How many pixels of ``gray`` lie darker than its ``paper`` (both (h, w)) by over ``NOISE_SIGMAS``
    robust standard deviations of that difference (and ``MIN_CONTRAST`` grey levels), in marks of
    ``MIN_MARK`` pixels or more (8-connected): a dot grid's dots, all found by the narrowest square,
    would make the ink stop growing before the pen's strokes are in."""
    from scipy import ndimage

    residual = paper - gray
    centre = median(residual.ravel())
    spread = robust_std(residual, centre)
    marks = residual > max(centre + NOISE_SIGMAS * spread, MIN_CONTRAST)
    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    return int(sizes[sizes >= MIN_MARK].sum())


def pen_square(gray: np.ndarray) -> int | None:
    """The closing square, in pixels of ``gray`` (h, w), that takes in the pen's strokes and as little
    else as possible: on a copy ``SEARCH_SIZE`` long, the first of ``SQUARES`` whose ink stays within a
    factor ``PLATEAU`` of it, either way, to the next. None when no two neighbouring squares find ink
    within that factor (no pen narrower than the shade). A marker's blob (a 9 with its loop filled)
    has a few notches that narrow squares find and that stop growing too: its inside is not shade,
    and ``paper.without_shadow`` tells it by its depth.

    Ink that shrinks to the next square was no stroke but a speck of the paper's noise the threshold
    let through: bold strokes in a small photo (a "16" with 12-pixel strokes on a 150-pixel photo,
    helper-30's) leave the narrowest squares only such a speck, 10 pixels and then none, which was
    taken for a plateau; the strokes were then divided out as shade and the photo found blank. On
    1,500 photos of 1-3 digit numbers in that helper's style, 61 get a wider square now and 4 an ink
    map that was blank or lost most of its strokes; the 2,990 own-digits validation images give the
    same 28x28 as before (docs/BENCHMARKS.md)."""
    small = shrink(np.asarray(gray, dtype=np.float32), SEARCH_SIZE)
    area = ink_area(small, closing(small, SQUARES[0]))
    for square, wider_square in zip(SQUARES, SQUARES[1:]):  # closings computed only until the plateau
        wider = ink_area(small, closing(small, wider_square))
        if area > 0 and area / PLATEAU <= wider <= PLATEAU * area:
            return int(round(square * max(gray.shape) / max(small.shape))) | 1
        area = wider
    return None


def local_paper(gray: np.ndarray, square: int) -> np.ndarray:
    """The paper's brightness (h, w), float32, at least 1, under compact light and shade: ``gray``'s
    closing by a ``square`` (``pen_square``)."""
    return np.maximum(closing(np.asarray(gray, dtype=np.float32), square), 1.0)


def wider_than(ink: np.ndarray, marked: np.ndarray, square: int, share: float, closing: int = 1) -> bool:
    """Whether over ``share`` of the ``marked`` pixels (boolean (h, w)) stay marked after a grey
    opening of ``ink`` (float (h, w), larger is more ink) by a ``square``: marks wider than the square
    (a lamp's spot), not strokes as narrow as the pen (chalk on a board). ``closing``: a square (in
    pixels) the ink is grey-closed by first, so that gaps narrower than it do not break a mark: the
    dark strokes of a digit written under a flash's spot of light, which cut the spot's light marks
    into pieces narrower than the ``square``. Only when there is such writing: over ``DARK_WRITING``
    pixels as far under the paper as the marks' floor is over it. Without it the closing filled the
    board inside a soft chalk digit's loop and made the digit one blob as wide as a spot, divided out
    as light (validation photos turned negative, chalk on a board: 173 of 200 read right)."""
    from scipy import ndimage

    floor = float(ink[marked].min()) if marked.any() else 0.0
    if closing > 1 and np.count_nonzero(ink < -floor) > DARK_WRITING:
        ink = ndimage.grey_closing(ink, size=closing)
    opened = ndimage.maximum_filter(ndimage.minimum_filter(ink, size=square), size=square)
    return np.count_nonzero(marked & (opened >= floor)) > share * np.count_nonzero(marked)


def has_wide_mark(marked: np.ndarray, light: bool = False) -> bool:
    """Whether the marks (boolean (h, w)) hold one far wider than their strokes: on a copy at most
    ``SEARCH_SIZE`` long (block maxima), the largest distance to the paper is over ``WIDE_RATIO``
    times the median along the marks' ridge (``digit.ridge_distances``; points at distance 1 there,
    lines 1-2 pixels thin such as printed rulings, left out) and at least ``WIDE_HALF`` of the copy's
    longer side. A pen that thin on the copy (under about 8 pixels at work size: a ballpoint on a
    large photo) leaves only the shade's own ridge, so shade beside it is not found wide: such
    photos are looked at only over ``paper.SHADOW_SHARE``, as before. A hand's palm
    or a phone's shadow beside a digit is; a digit's strokes, even a marker's, are not. On 150
    validation digits of each kind whose marks cover 2-10% of the frame: 24 of 36 shade photos pass;
    no photo, dim photo, lamp photo, sheet on a desk, tilted sheet, drawing or bold marker (ratio
    at most 2.5); 3 of 127 lined-paper and 3 of 52 lined photos (where a digit's crossing with
    the lines is wide). ``light``: the marks are lighter than the paper, so the dark writing is
    not among them: a phone flash's spot of light stands alone, with no strokes to be wider than,
    and its width is enough (the caller passes only soft marks so, not a white brush's solid
    strokes: ``paper.soft_marks``)."""
    small = max_pool(np.asarray(marked, dtype=bool).view(np.uint8), SEARCH_SIZE) > 0  # block maxima, 7x faster
    distances = ridge_distances(small)
    strokes = distances[distances > 1]  # printed lines, a pixel on the copy, are no strokes
    if not len(strokes):
        return False
    widest = float(strokes.max())
    return widest >= WIDE_HALF * max(small.shape) and (light or widest > WIDE_RATIO * median(strokes))
