"""What lighting correction leaves of a shadow beside the digit, found among an ink map's marks and erased.

A hand's or a phone's shadow is divided out by ``shading`` and ``shadows``, but not always whole: a
finger narrower than the closing square, a palm's rim, the soft edge of a phone's shadow stay in the
ink map as marks beside the digit, and a shadow the closing was not taken for stays whole. They are
then read as digits of a number ("57" for a 7) or stretch the digit's box. Two things tell them from
the pen's strokes: they are paler than the ink (a shadow darkens the paper 25-60%, a pen 60-85%, and
the ink map is scaled to the pen's ink), and a whole shadow is far wider than the strokes.

Ink maps are float32 (h, w), values 0-1, light ink on dark, as ``paper.ink_intensity`` makes them.
Marks are 8-connected components (``scipy.ndimage.label``).
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing.digit import stroke_width

STRENGTH_PERCENTILE = 90  # a mark's strength: this percentile of its ink (a pen's stroke reaches full ink)
STRONG = 0.9  # of the strongest mark's strength: marks at least this strong are written in the pen's ink
PALE = 0.8  # of the strongest mark's strength: a shade's remnant is at most this strong
SPECK = 0.25  # of the strongest mark's strength: marks this pale are noise, whatever their size
SIZEABLE = 0.02  # of the largest mark's pixels (and 30 pixels at least): smaller marks are not weighed for width
SIZEABLE_PIXELS = 30
AS_WIDE = 1.5  # of the pen's stroke width: a pale mark this wide or wider is shade, not a faint stroke
FAR_WIDER = 3.0  # of the pen's stroke width: a strong mark this wide is a shadow taken whole as ink ...
SOLID = 0.45  # of its box: a shadow taken whole fills more of it than a digit's strokes do
WHOLE_SHADOW = 0.08  # ... if it is also this wide, of the map's longer side (not a piece of a ruled-out digit)


def without_shade_remnants(ink: np.ndarray) -> np.ndarray:
    """``ink`` less the marks that are shade, not the pen's, when there are two marks or more.

    Each mark's strength is the 90th percentile of its ink. The pen's stroke width is the narrowest
    ``digit.stroke_width`` among the sizeable marks (2% of the largest's pixels, 30 at least) that are
    strong (within 90% of the strongest mark's strength). Erased:
      - marks at most 25% as strong as the strongest: specks of noise the shade's edge left;
      - sizeable marks at most 80% as strong and at least 1.5x the pen's width: fingers, a palm's
        rim, a phone's soft edge, paler than the ink and wider than its strokes;
      - sizeable strong marks at least 3x the pen's width and 8% of the map's longer side: a palm or
        a phone's shadow taken whole. (The floor keeps a digit that erasing ruled lines cut into
        pieces: a line's 1-pixel leftover beside them would make the pen's width 1.)
    A stroke written more lightly than the rest is no wider than the pen's, so it stays, and so does
    a marker's digit beside thinner marks unless they are hairlines a third of its width. Nothing is
    erased if every mark would be. On 200 validation shade photos, 80.0 -> 89.0%
    read right with ``best``; photos, lamp, dim and shadow photos, drawings, small drawings, bold
    markers, lined photos and tiny scans the same or better (docs/BENCHMARKS.md).

    Args:
        ink: float32 (h, w), values 0-1.
    Returns:
        float32 (h, w): ``ink`` itself when nothing is erased, else a copy with those marks at 0.
    """
    from scipy import ndimage

    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return ink
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)  # labelled on the ink's box only
    labels, count = ndimage.label(ink[box] > 0, structure=np.ones((3, 3)))
    if count < 2:
        return ink
    strength = mark_strengths(ink[box], labels, count)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    top = strength.max()
    erased = strength <= SPECK * top
    sizeable = np.flatnonzero(sizes >= max(SIZEABLE_PIXELS, SIZEABLE * sizes.max()))
    boxes = ndimage.find_objects(labels)
    strong = [label for label in sizeable if strength[label] >= STRONG * top]
    pale = [label for label in sizeable if strength[label] <= PALE * top]
    whole = WHOLE_SHADOW * max(ink.shape)
    # A mark is no wider than its box's shorter side, and a whole shadow is solid where a digit's
    # strokes leave most of their box empty: widths are measured only when one may matter.
    broad = [label for label in strong if is_broad(boxes[label - 1], sizes[label], whole)]
    if strong and (pale or broad):
        width = {label: stroke_width(labels[boxes[label - 1]] == label) for label in strong + pale}
        pen = min(width[label] for label in strong)
        for label in pale:
            erased[label] |= width[label] >= AS_WIDE * pen
        for label in broad:
            erased[label] |= width[label] >= max(FAR_WIDER * pen, whole)
    erased[0] = False
    if not erased.any() or erased[1:].all():
        return ink
    cleaned = ink.copy()
    cleaned[box] = np.where(erased[labels], np.float32(0), ink[box])
    return cleaned


def is_broad(box: tuple[slice, slice], size: int, whole: float) -> bool:
    """Whether a mark of ``size`` pixels in ``box`` may be a shadow taken whole: both sides of its box
    at least ``whole`` pixels (it is no wider than its box's shorter side) and over SOLID of the box
    filled (a palm, a phone's shadow; a digit's strokes, even a number's, fill 0.2-0.4 of theirs)."""
    height, width = (span.stop - span.start for span in box)
    return min(height, width) >= whole and size > SOLID * height * width


def mark_strengths(ink: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """float64 (count + 1,): the 90th percentile (lower) of each mark's ink, by label; 0 for label 0.
    One sort of the marked pixels by label + ink / 2 (ink 0-1), not a percentile per mark."""
    marked = labels > 0
    values, owners = ink[marked], labels[marked]
    ordered = np.sort(owners + np.clip(values, 0, 1) * 0.5)  # by label, then by ink (label + ink / 2)
    counts = np.bincount(owners, minlength=count + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    strengths = np.zeros(count + 1)
    present = counts > 0
    picks = starts[present] + ((counts[present] - 1) * STRENGTH_PERCENTILE) // 100
    strengths[present] = (ordered[picks] - np.flatnonzero(present)) * 2
    return strengths
