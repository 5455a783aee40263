"""What lighting correction leaves of a shadow beside the digit, found among an ink map's marks and erased.

Also a shadow joined to the strokes, which no relighting divided out (``without_joined_shade``).

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

from mnist_cnn.preprocessing.digit import ridge_distances, stroke_width
from mnist_cnn.preprocessing.paper import SHADE_MIN_SIZE

STRENGTH_PERCENTILE = 90  # a mark's strength: this percentile of its ink (a pen's stroke reaches full ink)
STRONG = 0.9  # of the strongest mark's strength: marks at least this strong are written in the pen's ink
PALE = 0.8  # of the strongest mark's strength: a shade's remnant is at most this strong
SPECK = 0.25  # of the strongest mark's strength: marks this pale are noise, whatever their size
SIZEABLE = 0.02  # of the largest mark's pixels (and 30 pixels at least): smaller marks are not weighed for width
SIZEABLE_PIXELS = 30
MIN_PEN = 3.0  # pixels: the pen's body is written at least this wide; a ruling's leftover is thinner
AS_WIDE = 1.5  # of the pen's stroke width: a pale mark this wide or wider is shade, not a faint stroke
FAINT = 0.65  # of the strongest mark's strength: a mark this pale is shade, whatever its width ...
APART = 0.25  # ... when its box lies this far from the writing's, of the writing's height
FAR_WIDER = 3.0  # of the pen's stroke width: a strong mark this wide at its widest is a shadow taken whole ...
SOLID = 0.45  # of its box: a shadow taken whole fills more of it than a digit's strokes do
SOLID_WIDE = 1.25  # of the pen's stroke width: a pale solid mark apart this wide, in a relit map, is a finger
SMALL_SOLID = 0.08  # of the largest mark's pixels: a solid mark apart this small, in a relit map, is a shadow's corner
LOOP = 0.05  # of a mark's pixels: a hole this large is a digit's loop, not a pinhole in a shadow
WHOLE_SHADOW = 0.08  # ... if it is also this wide, of the map's longer side (not a piece of a ruled-out digit)
# A shadow joined to the strokes (``without_joined_shade``):
JOINED_TOP = 95  # percentile of the marked pixels' ink: the pen's full ink
JOINED_PALE = 0.6  # of that ink: paler pixels may be shade; the strokes' cores are stronger
JOINED_THICK = 1.5  # of the strong strokes' widest part: a pale part this much wider is shade, not a faint stroke ...
JOINED_WIDE = 0.1  # ... and at least this wide, of the strong strokes' box's longer side (a pencil's grain is not)
JOINED_SMALLEST = 20  # pixels: strong strokes in a box shorter than this on both sides are a speck, not a digit


def without_shade_remnants(ink: np.ndarray, relit: bool = False) -> np.ndarray:
    """``ink`` less the marks that are shade, not the pen's, when there are two marks or more.

    Each mark's strength is the 90th percentile of its ink. Sizeable marks hold 2% of the largest
    mark's pixels (30 at least); strong ones are at least 90% as strong as the strongest sizeable
    mark that may not be a shadow taken whole (``is_broad``) when that mark is over 80% as strong as
    the strongest of all (a shadow can be somewhat darker than the pen, and was then taken for the
    pen and kept), else as the strongest of all (a pale smudge beside a solid bold digit is no pen). The
    pen's body is the narrowest strong sizeable mark at least MIN_PEN (3 pixels) wide (not a
    ruling's thin leftover): its ``digit.stroke_width`` is the pen's width, and it is never erased.
    When there is none, no pen is known and only specks go. Erased:
      - marks at most 25% as strong as the strongest: specks and faint smears the shade's edge left;
      - sizeable marks at most 80% as strong and at least 1.5x the pen's width: fingers, a palm's
        rim, a phone's soft edge, paler than the ink and wider than its strokes;
      - in a relit map, marks at most 65% as strong whose boxes lie over a quarter of the
        writing's height from the box of the strong marks (``faint_apart``): fingertips and a rim
        as narrow as the pen or narrower, beside the digit;
      - sizeable marks at most 80% as strong that fill over 45% of their box and lie that far from
        the writing (``solid_apart``), when they reach the map's edge (``at_edge``: a phone's
        corner or a fingertip the frame cuts, in any map, relit or not; its ridge can be no wider
        than the pen's, a wedge's) or, in a relit map, are at least 1.25x the pen's width (fingers
        left a little stronger than 65%). On 300 validation shade photos 273 -> 279 read right, none
        read wrong that was right; 200 validation digits of each of the 15 other own-digits sets
        read the same (docs/BENCHMARKS.md);
      - in a relit map, marks under 8% of the largest mark's pixels that fill over 45% of their box
        and lie that far from the writing, however strong (``small_solid_apart``): a phone's shadow's
        corners that the closing could not reach into;
      - strong marks that fill over 45% of their box, both sides at least 8% of the map's longer
        side, reaching the map's edge (``is_broad``), whose widest part (``thickest``) is at least
        3x the pen's width and that wide, and enclosing no loop
        (``has_loop``): a palm or a phone's shadow taken whole (the floor keeps the pieces of a digit
        that erasing ruled lines cut apart; the loop, a bold 0 beside a thin 1). The widest part,
        not the typical width: a hand's fingers, narrower than 3 pens, are most of its ridge (on 200
        validation shade photos 184 -> 187 read right, every other own-digits set the same).
    A stroke written more lightly than the rest is no wider than the pen's and lies next to it, so
    it stays. A digit written over 1.5x more faintly than a dark mark apart from it goes (a pencil
    digit beside a black phone, a number whose digits' ink differs that much; not seen in the
    validation sets). Maps under 128 pixels on a side
    (``paper.SHADE_MIN_SIZE``: no shade is looked for in them) are left alone. On 200 validation
    shade photos, 80.0 -> 88.5% read right with ``best``; photos, lamp, dim and shadow photos,
    drawings, small drawings, bold markers, lined photos and tiny scans the same; the faint marks
    apart (only in a relit map), 86.0 -> 92.0% on another 200 (82.0 -> 90.0% on a third draw), every
    other set the same
    (docs/BENCHMARKS.md).

    Args:
        ink: float32 (h, w), values 0-1.
        relit: whether a shadow was divided out to find the ink (``paper.find_writing``): only then
            do faint marks apart from the writing go (on unevenly lit paper a whole digit can be
            that faint: the leading digit of 7 of 720 photographed validation numbers).
    Returns:
        float32 (h, w): ``ink`` itself when nothing is erased, else a copy with those marks at 0.
    """
    from scipy import ndimage

    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return ink
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)  # labelled on the ink's box only
    if min(ink.shape) < SHADE_MIN_SIZE:
        return ink  # no shade is looked for in a map this small (``paper``), so none is left
    labels, count = ndimage.label(ink[box] > 0, structure=np.ones((3, 3)))
    if count < 2:
        return ink
    strength = mark_strengths(ink[box], labels, count)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    top = strength.max()
    sizeable = sizes >= max(SIZEABLE_PIXELS, SIZEABLE * sizes.max())
    erased = strength <= SPECK * top
    boxes = ndimage.find_objects(labels)
    whole = WHOLE_SHADOW * max(ink.shape)
    # A mark is no wider than its box's shorter side, and a whole shadow is solid where a digit's
    # strokes leave most of their box empty: widths are measured only when one may matter.
    solid = {
        label for label in np.flatnonzero(sizeable) if is_broad(in_map(box, boxes[label - 1]), sizes[label], ink.shape)
    }
    # The pen's ink: the strongest mark that may not be a shadow taken whole (which can be darker),
    # unless that mark is pale beside it (then no pen is known apart from it, as before).
    pen_top = max((strength[label] for label in np.flatnonzero(sizeable) if label not in solid), default=top)
    pen_top = pen_top if pen_top > PALE * top else top
    strong = [label for label in np.flatnonzero(sizeable) if strength[label] >= STRONG * pen_top]
    pale = [label for label in np.flatnonzero(sizeable) if strength[label] <= PALE * top]
    broad = [label for label in strong if label in solid]
    writing = [label for label in strong if label not in broad]
    if relit:
        erased |= faint_apart(strength, boxes, writing) | small_solid_apart(sizes, boxes, writing)
    shade = solid_apart(pale, sizes, boxes, writing)
    erased |= shade & at_edge(boxes, box, ink.shape, len(strength))
    if pale or broad:
        width = {label: stroke_width(labels[boxes[label - 1]] == label) for label in strong + pale}
        written = [label for label in strong if width[label] >= MIN_PEN]  # not a ruling's leftover
        body = min(written, key=lambda label: width[label]) if written else None
        pen = width[body] if body is not None else np.inf  # no pen known: only specks go
        for label in pale:
            wide = AS_WIDE if not (relit and shade[label]) else SOLID_WIDE  # a pale solid mark apart: a finger
            erased[label] |= width[label] >= wide * pen
        for label in broad:
            piece = labels[boxes[label - 1]] == label
            erased[label] |= thickest(piece) >= max(FAR_WIDER * pen, whole) and not has_loop(piece)
        if body is not None:
            erased[body] = False
    erased[0] = False
    if not erased.any():
        return ink
    cleaned = ink.copy()
    cleaned[box] = np.where(erased[labels], np.float32(0), ink[box])
    return cleaned


def faint_apart(strength: np.ndarray, boxes: list, written: list[int]) -> np.ndarray:
    """Boolean (count + 1,) by label: the marks at most ``FAINT`` as strong as the strongest whose
    boxes lie over ``APART`` of the writing's height from the writing's box (the box of the
    ``written`` marks, strong and not a shadow taken whole: ``apart``). A hand's fingertips or a palm's rim that
    the closing left beside the digit, as narrow as its strokes or narrower, stood 0.26-0.64 of the
    digit's strength on 24 failing validation shade photos; a stroke written more lightly belongs to
    its digit and lies next to it. ``strength``: float (count + 1,) by label; ``boxes``:
    ``scipy.ndimage.find_objects``' (rows, cols) slices by label - 1."""
    return apart(np.flatnonzero(strength[1:] <= FAINT * strength.max()) + 1, boxes, written, len(strength))


def solid_apart(pale: list[int], sizes: np.ndarray, boxes: list, writing: list[int]) -> np.ndarray:
    """Boolean (count + 1,) by label: which of the ``pale`` marks (any labels) fill over ``SOLID`` of their box
    and lie ``apart`` from the ``writing``: what may be a shadow's piece (a phone's corner, a
    finger). A digit's strokes fill under half their box, and a stroke written more lightly lies
    next to its digit. ``sizes``: int (count + 1,) pixels by label."""
    solid = [label for label in pale if sizes[label] > SOLID * area(boxes[label - 1])]
    return apart(solid, boxes, writing, len(sizes))


def small_solid_apart(sizes: np.ndarray, boxes: list, writing: list[int]) -> np.ndarray:
    """Boolean (count + 1,) by label: the marks under ``SMALL_SOLID`` of the largest mark's pixels
    that fill over ``SOLID`` of their box and lie ``apart`` from the ``writing``, however strong: the
    corners of a phone's shadow, turned to the closing's square, that the closing (``shading``) could
    not reach into, left as small solid wedges as dark as a faint pen (0.76-0.83 of the digit's
    strength, 3-5% of its pixels, on validation shade photos). The writing's own marks are never
    apart; a digit's strokes fill under half their box. ``sizes``: int (count + 1,) pixels by label."""
    small = np.flatnonzero((sizes < SMALL_SOLID * sizes.max()) & (sizes > 0))
    return solid_apart(list(small), sizes, boxes, writing)


def at_edge(boxes: list, box: tuple[slice, slice], shape: tuple[int, int], count: int) -> np.ndarray:
    """Boolean (count,) by label: the marks whose boxes reach an edge of the map ``shape`` (h, w): a
    shadow's piece the frame cuts, held from outside it. ``box``: the box (rows, cols) of the map
    the marks were labelled in."""
    edge = np.zeros(count, bool)
    for label, inner in enumerate(boxes, start=1):
        rows, cols = in_map(box, inner)
        edge[label] = rows.start == 0 or cols.start == 0 or rows.stop == shape[0] or cols.stop == shape[1]
    return edge


def area(box: tuple[slice, slice]) -> int:
    """Pixels in a box (rows, cols)."""
    return (box[0].stop - box[0].start) * (box[1].stop - box[1].start)


def apart(labels, boxes: list, written: list[int], count: int) -> np.ndarray:
    """Boolean (count,) by label: which of ``labels`` have boxes lying over ``APART`` of the
    writing's height from the writing's box (the box of the ``written`` marks); none without writing."""
    far = np.zeros(count, bool)
    if not written:
        return far
    writing_rows, writing_cols = zip(*(boxes[label - 1] for label in written))
    top, bottom = min(span.start for span in writing_rows), max(span.stop for span in writing_rows)
    left, right = min(span.start for span in writing_cols), max(span.stop for span in writing_cols)
    reach = APART * (bottom - top)
    for label in labels:
        rows, cols = boxes[label - 1]
        far[label] = max(top - rows.stop, rows.start - bottom, left - cols.stop, cols.start - right) > reach
    return far


def thickest(piece: np.ndarray) -> float:
    """A boolean mark's (h, w) widest part, in pixels: the diameter of the largest disk inside it
    (twice the largest of its ``digit.ridge_distances``, less one, as ``digit.stroke_width`` takes
    their median: a 7-pixel bar measures 7; 0 for an empty mark). A hand's shadow is as wide as its
    palm there, however narrow its fingers."""
    distances = ridge_distances(piece)
    return 2.0 * float(distances.max()) - 1.0 if len(distances) else 0.0


def has_loop(piece: np.ndarray) -> bool:
    """Whether a boolean mark (h, w) encloses a hole of over LOOP of its own pixels (scipy.ndimage's
    ``binary_fill_holes``): a bold 0, 6, 8 or 9; a hand's or a phone's shadow encloses none."""
    from scipy import ndimage

    return int(ndimage.binary_fill_holes(piece).sum()) - int(piece.sum()) > LOOP * piece.sum()


def in_map(outer: tuple[slice, slice], inner: tuple[slice, slice]) -> tuple[slice, slice]:
    """A box ``inner`` given within the box ``outer``, as a box of the map ``outer`` lies in."""
    return tuple(slice(o.start + i.start, o.start + i.stop) for o, i in zip(outer, inner))  # type: ignore[return-value]


def is_broad(box: tuple[slice, slice], size: int, shape: tuple[int, int]) -> bool:
    """Whether a mark of ``size`` pixels in ``box`` (rows, cols) of a map ``shape`` (h, w) may be a
    shadow taken whole: both sides of its box at least WHOLE_SHADOW of the map's longer side (a mark
    is no wider than its box's shorter side), over SOLID of the box filled (a palm, a phone's shadow;
    a digit's strokes, even a number's, mostly fill 0.2-0.45 of theirs), and reaching the map's edge
    (the hand or the phone is held from outside the frame; a filled shape drawn beside an O is not,
    and stays: on the rejection benchmark's 2,000 symbols and shapes, 8 more were read as digits
    without this)."""
    height, width = (span.stop - span.start for span in box)
    whole = WHOLE_SHADOW * max(shape)
    touches = any(span.start == 0 or span.stop == length for span, length in zip(box, shape))
    return min(height, width) >= whole and size > SOLID * height * width and touches


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


def without_joined_shade(ink: np.ndarray) -> np.ndarray:
    """``ink`` less a shadow's pale part that is joined to the pen's strokes: one mark, so
    ``without_shade_remnants``, which weighs whole marks, never sees it.

    The marked pixels under JOINED_PALE (0.6) of the pen's full ink (their 95th percentile) are
    split into 8-connected parts. A part is shade and goes when it touches the strong strokes, is at
    its widest (``thickest``: the largest disk inside it) at least JOINED_THICK (1.5) times as wide
    as the strong strokes are at theirs and at least JOINED_WIDE (a tenth) of their box's longer
    side, and holds at least four squares of that width: a hand's palm or arm darkening the page
    beside a digit and reaching into its strokes, kept as pale ink (a grey plateau the classifier
    reads as part of the digit: a 7 read as 9, a 0 as 6). A faint stroke, a soft pen's halo and a
    pencil's light pressure or grain are no wider than the pen, and stay; a shadow alone on a blank
    page has no strong strokes apart from its own core, which is its widest part (``blank`` judges
    it whole); strong strokes whose box is under JOINED_SMALLEST (20) pixels on both sides are a
    speck, left alone. Unlike ``without_shade_remnants`` it looks at maps of any size: a small
    photo's shadow (under ``paper.SHADE_MIN_SIZE``) is never divided out. Measured on two helpers'
    photos and the validation sets (docs/BENCHMARKS.md, "A hand's shadow joined to the strokes").

    Args:
        ink: float32 (h, w), values 0-1, light ink on dark.
    Returns:
        float32 (h, w): ``ink`` itself when nothing is erased, else a copy with the shade at 0.
    """
    from scipy import ndimage

    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return ink
    box = slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(cols[0] - 1, 0), cols[-1] + 2)
    near = ink[box]  # the marks and a pixel round them: the same answer as on the whole map, faster
    marked = near > 0
    strong = near >= JOINED_PALE * float(np.percentile(near[marked], JOINED_TOP))
    pale = marked & ~strong
    if not strong.any() or not pale.any():
        return ink
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    longer = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    if longer < JOINED_SMALLEST:
        return ink  # a speck of grain: nothing to tell its pale part from
    least = JOINED_WIDE * longer  # pixels
    # A disk ``least`` across holds a square ``least / sqrt 2`` on a side: where no such square of
    # pale pixels is found (a separable minimum filter, far cheaper than a distance transform), no
    # pale part is that wide: a soft pen's edges, a light stroke. Most images stop here.
    if not ndimage.minimum_filter(pale.view(np.uint8), size=max(int(least / np.sqrt(2.0)) - 1, 1)).any():
        return ink
    core = max(thickest(strong), least / JOINED_THICK, 1.0)
    labels, count = ndimage.label(pale, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    parts = ndimage.find_objects(labels)
    erased = np.zeros(count + 1, dtype=bool)
    for label in np.flatnonzero(sizes >= 4 * core * core):
        part = tuple(slice(max(span.start - 1, 0), span.stop + 1) for span in parts[label - 1])
        piece = labels[part] == label
        if thickest(piece) < JOINED_THICK * core:
            continue
        beside = ndimage.binary_dilation(piece, structure=np.ones((3, 3)))
        erased[label] = bool((beside & strong[part]).any())  # joined to the strokes
    if not erased.any():
        return ink
    cleaned = ink.copy()
    cleaned[box] = np.where(erased[labels], np.float32(0), near)
    return cleaned
