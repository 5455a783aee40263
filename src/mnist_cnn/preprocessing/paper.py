"""The ink on the paper: which side of the lighting surface is ink, the pen's scale, and shadows.

The lighting surface comes from ``lighting``, the sheet from ``sheets``; here the ink is told from the
paper by its own statistics (the minority side, above the noise), and a hand's or phone's shadow is
divided out (``shading``, ``shadows``). Every step takes and returns float32 arrays (h, w). Grayscale
images hold values 0-255; ink maps hold 0-1, light ink on dark as in MNIST. Image processing comes
from ``scipy.ndimage``.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.errors import ImageError
from mnist_cnn.preprocessing import shading, shadows
from mnist_cnn.preprocessing.filters import median, neighbourhood_count, neighbourhood_max, percentile
from mnist_cnn.preprocessing.lighting import illumination

MIN_CONTRAST = 10.0  # grey levels: ink fainter than this against its paper is not told from paper
NOISE_SIGMAS = 4.0  # ink must stand this many noise standard deviations above the paper
SHADOW_SHARE = 0.1  # of the frame marked as ink: more may be a hard shadow's edge (``shadows``)
WIDE_SHARE = 0.02  # of the frame marked: more, with one mark far wider than the strokes, may be shade
BORDER_RUN = 0.1  # of a side: marks running unbroken along the frame's edge this far may be a soft shadow's
FLOOR_SHARE = 0.2  # of the ink scale: fainter ink is a pen's halo, except in an enlarged tiny scan
SHADE_MIN_SIZE = 128  # pixels: no hand shades a scan this small; its blurred strokes' halo is no shade
SPOT_WIDTH = 0.15  # of the image's shorter side: light marks this wide are a lamp's spot, not chalk strokes
SPOT_SHARE = 0.5  # of the light marks: that many as wide as SPOT_WIDTH make a lamp's spot
SPOT_WRITING = 0.01  # of a lamp's spot's marks: the least dark writing relighting it finds (``writing_in_spot``)
SOLID_MARKS = 0.7  # of light marks near their peak: more is a brush's solid strokes, not a soft spot
SHADE_DEPTH = 0.9  # of the kept ink's depth (90th percentile): the shade a closing takes away is paler
SHADOW_LEFT = 0.5  # of the marks: a shadow divided out takes away more, or it was not the shadow's edge
# A second closing, this many times the pen square, when the first took the pen's strokes with the shade
# (a gel pen wider than the squared page's lines that set the square) ...
SHADE_RETRY = 3
DARK_TAKEN = 0.05  # ... taken only if at most this share of what it takes is as dark as the ink it keeps
MIN_SPECK = 3  # pixels: smaller isolated marks are sensor noise or dust, not ink
FEW_MARKS = 64  # pixels at work size: all the ink of a 1-pixel pen's tiny digit, or of a speck of paper texture
NOISE_PEAK = 1.5  # of the noise threshold: so few marks must stand out this far, or they are the paper's own grain
DENOISE_SIGMA = 1.5  # pixels at work size: the standard deviation of the Gaussian that averages out sensor noise
DENOISE_MIN_SIZE = 128  # pixels: smaller images (tiny scans, thumbnails) are never smoothed, their strokes are too thin
SPECKLED_COUNT = 8  # marks: at least this many, and ...
SPECKLED_SHARE = 0.2  # ... the largest under this share of the marked pixels ...
SPECKLED_LARGEST = 64  # ... and under this many pixels: noise's specks, no strokes (nor ruled lines)


def ink_intensity(
    gray: np.ndarray, relight: bool = True, faint: bool = False, denoised: bool = False, dark: bool | None = None
) -> np.ndarray:
    """``find_writing``'s ink alone: a grayscale photo or drawing (h, w), values 0-255, to its ink
    (h, w), float32, values 0-1, light on dark.

    Raises:
        ImageError: "no digit found" when nothing stands out of the paper.
    """
    return find_writing(gray, relight, faint, denoised, dark)[0]


def find_writing(
    gray: np.ndarray,
    relight: bool = True,
    faint: bool = False,
    denoised: bool = False,
    dark: bool | None = None,
    pen: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """A grayscale photo or drawing (h, w), values 0-255, to (its ink (h, w), float32, values 0-1,
    light on dark; whether a shadow was divided out to find it, ``without_shadow``).

    The paper is what the lighting surface fits (``illumination``); the ink is the side of it, darker or
    lighter, that holds more contrast above the noise: the minority of pixels, whatever the paper's grey
    level (``dark``: True or False when the side is known, None to decide so). Noise is 4 robust
    standard deviations of the residual (at least 10 grey levels); isolated marks under 3 pixels are
    dropped; the ink scale is the 90th percentile of the marks off rows and columns that are 85% ink
    (the pen's, not ruled lines'), so a digit of a handful of pixels keeps its full intensity, or,
    when higher, of the marks within ``pen`` (bool (h, w): where a first look found the writing once
    a page's lines were erased), the floor below kept: the same marks, scaled by the pen. Ink under
    ``FLOOR_SHARE`` of that scale is dropped (a pen's faint halo), unless ``faint`` is set: a tiny scan
    enlarged to work size holds its strokes' shape in those grey levels, and its paper is fitted by a
    plane (``illumination``'s ``flat``). 1,000 8x8 box-filtered validation digits read 93.6% with the
    floor, 94.5% so (docs/BENCHMARKS.md). When the marks may hold a shade (``may_be_shaded``: over
    ``SHADOW_SHARE`` of the frame, or a mark far wider than the strokes) and ``relight`` is set, a
    shadow is looked for (``without_shadow``: a hard shadow's straight edge,
    ``shadows.find_shadow_edge``, or compact light and shade, ``shading.local_paper``); if one is found,
    it is divided out and the ink found again on the relit image.

    A photo taken in a dim room can hold sensor noise of 8-14 grey levels per pixel around strokes
    only 20-35 levels darker than the paper: the noise threshold rises over the strokes and nothing
    stands out. So when nothing does (and ``relight`` is set: not within a relit image, and the image
    is at least ``DENOISE_MIN_SIZE`` on a side and no ``faint`` tiny scan), the ink is looked for
    once more in the image smoothed by a Gaussian of standard deviation ``DENOISE_SIGMA`` (``denoised``;
    ``scipy.ndimage.gaussian_filter``): the noise falls 3-5 times and strokes wider than that stay.
    There, marks that stand under ``NOISE_PEAK`` times the threshold are the paper's grain whatever
    their size (the averaging made grain into blobs). Every image found ink in before is read exactly
    as before. On helper-29's 150 dim photos 83 -> 121 read right (1 more misread); 766 blank pages
    (400 ``outliers.blank_paper``, helper-30's and the cases') give the same as before, all blank
    or refused (docs/BENCHMARKS.md).

    Raises:
        ImageError: "no digit found" when nothing stands out of the paper.
    """
    surface, noise = illumination(gray, flat=faint)
    residual = gray - surface
    threshold = max(NOISE_SIGMAS * noise, MIN_CONTRAST)
    # -residual - threshold is (-threshold) - residual bit for bit (IEEE addition commutes): the darker
    # side is measured without negating the frame, which only dark ink needs.
    if dark is None:
        dark = total_positive(np.subtract(-threshold, residual)) > total_positive(np.subtract(residual, threshold))
    ink = -residual if dark else residual
    # Everything after this looks only at the marks and the 2 pixels around them (the anti-aliased
    # edges): it runs on their bounding box, the same values as on the whole frame at a fraction of
    # the cost; the rest of the frame is no ink.
    marked = ink > threshold
    if relight and may_be_shaded(marked, light_ink=None if dark else ink):
        relit = without_shadow(gray, ink, marked, dark=dark)
        if relit is not None:
            return relit, True
    box = bounding_box(marked, margin=2)
    near = None if box is None else ink[box]
    marks = None if box is None else without_specks(near > threshold)
    may_smooth = relight and not (denoised or faint) and min(gray.shape) >= DENOISE_MIN_SIZE
    if box is None or not marks.any() or only_grain(near, marks, threshold, any_size=denoised):
        if not may_smooth:
            raise ImageError("no digit found: the image is blank")
        return find_writing(smoothed(gray), denoised=True, pen=pen)
    if may_smooth and is_speckled(marks):
        try:
            return find_writing(smoothed(gray), denoised=True, pen=pen)  # only noise's peaks stood out: average it out
        except ImageError:
            pass  # nothing stands out of the smoothed image either: the specks are all there is
    # Marks outside the box are none, so counts over the box's rows and columns are the frame's.
    across = (count_along(marks, axis=1) / gray.shape[1] >= 0.85)[:, None] | (
        count_along(marks, axis=0) / gray.shape[0] >= 0.85
    )[None, :]
    writing = marks & ~across  # the pen's ink: printed lines across the image may be most of the marks
    scale = float(percentile(near[writing if writing.any() else marks], 90))
    floor = threshold if faint else max(threshold, FLOOR_SHARE * scale)
    if pen is not None and (marks & pen[box]).any():  # the same marks, scaled by the pen's ink
        scale = max(scale, float(percentile(near[marks & pen[box]], 90)))
    near_marks = neighbourhood_max(marks, 5)  # anti-aliased edges, not specks
    result = np.zeros(gray.shape, dtype=np.float32)
    result[box] = np.clip((np.where(near_marks, near, 0) - floor) / max(scale - floor, 1e-6), 0, 1)
    return result, False


def smoothed(gray: np.ndarray) -> np.ndarray:
    """``gray`` (h, w), float32, smoothed by a Gaussian of standard deviation ``DENOISE_SIGMA`` pixels
    (``scipy.ndimage.gaussian_filter``)."""
    from scipy import ndimage

    return ndimage.gaussian_filter(np.asarray(gray, dtype=np.float32), DENOISE_SIGMA)


def only_grain(ink: np.ndarray, marks: np.ndarray, threshold: float, any_size: bool = False) -> bool:
    """Whether ``marks`` (boolean (h, w): where ``ink``, grey levels beyond the paper, passes the noise
    ``threshold``) are only the paper's own grain, not a pen: fewer than ``FEW_MARKS`` pixels in all
    (any number with ``any_size``: in a smoothed image, where grain is blobs), none standing
    ``NOISE_PEAK`` times the threshold out of the paper. A blank photo's textured paper leaves a
    speck or two of 6-47 pixels just over the threshold (1.04-1.16 times it on six such photos),
    which a tiny digit's enlargement made a 1; a 1-pixel pen's stroke of 10-15 pixels stands far out
    (25 times, the shared tiny cases). Grain beside other marks is left: dropped there, it made a
    stain or a crease's dashes a digit more often than it saved one."""
    few = any_size or np.count_nonzero(marks) < FEW_MARKS
    return few and float(ink[marks].max()) < NOISE_PEAK * threshold


def may_be_shaded(marked: np.ndarray, light_ink: np.ndarray | None = None) -> bool:
    """Whether the marks (boolean (h, w)) may hold a shadow worth looking for (``without_shadow``):
    over ``SHADOW_SHARE`` of the frame, or over ``WIDE_SHARE`` with a mark far wider than the strokes
    (``shading.has_wide_mark``: a hand's or a phone's shadow beside the digit), or, when the marks
    are light (``light_ink``: float (h, w), their excess over the paper; None for dark marks) and
    soft as light is (``soft_marks``, measured only then), with one wide mark alone: a phone flash's
    spot of light, which outweighed the dark digit's strokes when the ink's side was chosen
    (helper-41's sheets lit by a flash read "8", "6" or nothing). Ordinary photos, whose marks are
    the digit's strokes, skip the look (30-60 ms)."""
    count = np.count_nonzero(marked)
    if count > SHADOW_SHARE * marked.size:
        return True
    if count > WIDE_SHARE * marked.size:
        light = light_ink is not None and soft_marks(light_ink, marked)
        if shading.has_wide_mark(marked, light):
            return True
    return runs_along_border(marked)


def runs_along_border(marked: np.ndarray) -> bool:
    """Whether the marks (boolean (h, w)) run unbroken along one of the frame's four edges over
    ``BORDER_RUN`` of its length: a soft shadow's edge cut by the frame, which the lighting fit
    leaves as a wedge along it."""
    edges = (marked[0], marked[-1], marked[:, 0], marked[:, -1])
    return any(longest_run(edge) > BORDER_RUN * len(edge) for edge in edges)


def longest_run(values: np.ndarray) -> int:
    """The most consecutive True in a boolean 1-D array."""
    padded = np.concatenate(([0], np.asarray(values, dtype=np.int8), [0]))
    changes = np.flatnonzero(np.diff(padded))
    return int((changes[1::2] - changes[::2]).max()) if len(changes) else 0


def without_shadow(gray: np.ndarray, ink: np.ndarray, marked: np.ndarray, dark: bool) -> np.ndarray | None:
    """The ink (h, w), 0-1, of ``gray`` with a shadow divided out, or None when there is none that
    leaves at most ``SHADOW_LEFT`` of the ``marked`` pixels (boolean (h, w): where the lighting fit's
    ``ink``, grey levels beyond the paper, stands out) as ink. First a hard shadow's straight edge
    (``shadows``; what the edge itself leaves is no ink, ``shadows.without_edge``); failing that,
    compact light and shade, a hand's or a phone's shadow or a tight lamp spot, by a grey closing
    wider than the pen (``shading.local_paper``), and if that is refused, once more by one
    SHADE_RETRY (3) times as wide (``divided_by_closing``). A shadow that is not one straight edge,
    a corner of a phone's shadow, leaves more than ``SHADOW_LEFT`` after the first. For ``dark``
    ink, what the closing takes away must be shade, paler than the ink it keeps (its median under
    ``SHADE_DEPTH`` of the kept ink's 90th percentile): a closing narrower than a marker's strokes
    takes their inside, as dark as what it leaves (on 24 bold-marker validation digits that reach
    it, 1.0-1.16; on the third helper's hand and phone shadows, 0.38-0.88); the kept ink next to
    what was taken does not count: it is the grain a closing leaves inside a bold stroke it took (a
    marker digit on ruled paper, whose lines set the square; helper-29's lined photos 119 -> 128 of
    150 read right). If the fit found light ink, its marks must be a lamp's spot, ``SPOT_SHARE`` of
    them wider than ``SPOT_WIDTH`` of the image (``shading.wider_than``), not chalk strokes on a
    board; a closing that leaves nothing was a board's, and one whose writing is no darker than the
    paper was a bold brush's (``writing_in_spot``): None.

    Raises:
        ImageError: "no digit found" when the shadow was all that stood out of the paper.
    """
    count = int(np.count_nonzero(marked))
    edge = shadows.find_shadow_edge(gray)
    if edge is not None:
        relit = relit_ink(gray / edge.light(gray.shape), count, edge, lit=None if dark else marked, dark=dark)
        if relit is not None:
            return relit
    square = shading.pen_square(gray) if min(gray.shape) >= SHADE_MIN_SIZE else None
    spot = int(SPOT_WIDTH * min(gray.shape)) | 1
    if square is None or (not dark and not shading.wider_than(ink, marked, spot, SPOT_SHARE, closing=square)):
        return None  # light marks as narrow as the pen are its strokes (chalk), not a lamp's spot
    relit = divided_by_closing(gray, ink, marked, count, square, dark)
    if relit is None and dark:
        relit = divided_by_closing(gray, ink, marked, count, SHADE_RETRY * square | 1, dark, retry=True)
    return relit


def divided_by_closing(
    gray: np.ndarray, ink: np.ndarray, marked: np.ndarray, count: int, square: int, dark: bool, retry: bool = False
) -> np.ndarray | None:
    """``without_shadow``'s compact light and shade: the ink (h, w), 0-1, of ``gray`` divided by its
    grey closing by ``square`` pixels (``shading.local_paper``), or None when that is no shade taken
    away (see ``without_shadow``; ``count``: how many pixels ``marked`` holds). ``retry``: a second,
    wider closing after the pen square's was refused (on a squared page the thin printed lines set
    the square, and a gel pen's strokes wider than it were taken with the hand's shadow: as dark as
    the ink kept, so refused). It is taken only when at most DARK_TAKEN of what it takes is as dark
    as SHADE_DEPTH of the kept ink's 90th percentile (a marker's inside taken with a shadow is), and
    a closing that leaves nothing is no shade (None), not a blank page. On a helper's hand shadows 4
    more of 560 inputs read right (3 squared and ruled pages and a number), none fewer; 3,190
    own-digits validation images, 3,300 rejection images and 600 blank ruled pages read as before
    (docs/BENCHMARKS.md)."""
    local = shading.local_paper(gray, square)
    try:
        relit = relit_ink(gray / local * float(np.percentile(local, 90)), count)
    except ImageError:
        if dark and not retry:
            raise
        return None  # light strokes are wider than no closing square: the board, not a shadow
    if relit is None:
        return None
    if not dark:
        return relit if writing_in_spot(gray, ink, marked, relit) else None
    kept = marked & (relit > 0)
    taken = marked & ~kept
    apart = kept & ~neighbourhood_max(taken, 3)  # not the grain left inside what was taken (a bold stroke's) ...
    kept = apart if apart.any() else kept  # ... unless all of it lies there: a thin pen written in the shade
    taken = taken_whole(taken)
    if not (kept.any() and taken.any()):
        return None
    level = SHADE_DEPTH * np.percentile(ink[kept], 90)
    if median(ink[taken]) >= level:
        return None
    return relit if not retry or np.count_nonzero(ink[taken] >= level) <= DARK_TAKEN * np.count_nonzero(taken) else None


def taken_whole(taken: np.ndarray) -> np.ndarray:
    """What a closing took away (boolean (h, w)) less the thin slivers in it (a binary opening by a
    3x3 square, scipy.ndimage), unless nothing else is left: the pale anti-aliased edges of printed
    lines the closing kept, which a noise-free image (an app's export, a clean scan: a threshold of
    ``MIN_CONTRAST``) marks by the thousand. Their paleness made a digit's inside, taken as well
    when its strokes were wider than the lines that set the square, pass for shade, and the digit
    was hollowed (helper-38: 11 of 60 noise-free squared and ruled pages found blank or misread)."""
    from scipy import ndimage

    whole = ndimage.binary_opening(taken, structure=np.ones((3, 3), dtype=bool))
    return whole if whole.any() else taken


def writing_in_spot(gray: np.ndarray, ink: np.ndarray, marked: np.ndarray, relit: np.ndarray) -> bool:
    """Whether a relit lamp's spot holds writing, not bold light strokes on a dark ground (a drawing
    app's brush, white on black), which are as wide as a spot: the closing takes such strokes for lit
    paper and makes the ground between them the "writing", as dark as the ground itself, or, where the
    strokes cover most of the frame, leaves a speck. ``gray``: the image (h, w), grey levels;
    ``ink``: the lighting fit's light marks' excess over the paper (h, w), ``marked`` (boolean (h, w))
    where it stands over the noise threshold; ``relit``: the ink found in the relit image (h, w), 0-1.

    A spot is soft, brush strokes are solid (``soft_marks``): soft marks are a spot whatever they
    hold. Solid marks are a spot only if the writing found is at least ``SPOT_WRITING`` of them and
    darker than the paper, the median of the frame off the marks, by the noise threshold (the least
    of ``ink`` over ``marked``): the white brushes' "writing" stood 8.4 to 0 thresholds lighter, a
    negative 9 at 4x MNIST's stroke over half the frame left a speck of 0.05% of the marks; the 5 of
    1,400 validation photos (200 of each of seven sets) that reach this stood 2.2-6.6 thresholds
    darker with 5.5-30% (docs/BENCHMARKS.md). The whole frame's median was the paper until a brush's
    0 over half the frame made it the brush's level: the 0's small hole, at the ground's level,
    passed for writing (read "1", "15", "5")."""
    if soft_marks(ink, marked):
        return True
    excess = ink[marked]
    writing = relit > 0
    if np.count_nonzero(writing) < SPOT_WRITING * np.count_nonzero(marked):
        return False
    paper = gray[~marked] if not marked.all() else gray
    return float(np.median(paper) - np.median(gray[writing])) >= float(excess.min())


def soft_marks(ink: np.ndarray, marked: np.ndarray) -> bool:
    """Whether the marks (boolean (h, w); ``ink``, float (h, w), their excess over the paper) are soft
    as light is, not solid as strokes are: under SOLID_MARKS of them within 80% of their 90th
    percentile (the marks of 54 pen digits under Gaussian spots on dim pages, a reviewer's: 0.17-0.28;
    46 of a helper's white brushes: 0.93-0.99). Only soft light marks alone are looked at as a spot
    of light (``may_be_shaded``): a drawing's solid strokes, white on black, skip the look."""
    excess = ink[marked]
    return bool(len(excess)) and bool(np.mean(excess >= 0.8 * np.percentile(excess, 90)) < SOLID_MARKS)


def relit_ink(
    relit: np.ndarray,
    marked: int,
    edge: shadows.ShadowEdge | None = None,
    lit: np.ndarray | None = None,
    dark: bool = False,
) -> np.ndarray | None:
    """The ink (h, w), 0-1, of an image ``relit`` with its shadow divided out (``without_shadow``),
    less what ``edge`` leaves along itself; None when it keeps over ``SHADOW_LEFT`` of the ``marked``
    pixels (the shadow was not what stood out). ``lit``: boolean (h, w), the marks when they were
    light: the lit side of a shadow covering most of the page. If the ink found now is dark, only
    what is left on that side counts: the dark writing in the shadow never was among those marks.
    ``dark``: the marks were dark, so the writing is: only dark ink is looked for (light marks in
    the relit image are the relighting's, a lit strip beyond the edge on the side divided as shade:
    a phone's shadow whose end the frame shows too).

    Raises:
        ImageError: "no digit found" when nothing is left.
    """
    ink = ink_intensity(relit, relight=False, dark=True if dark else None)
    if edge is not None:
        ink = shadows.without_edge(ink, edge)
    writing = ink > 0
    turned_dark = lit is not None and writing.any() and median(relit[writing]) < median(relit)
    left = np.count_nonzero(ink[lit] if turned_dark else ink)
    if left > SHADOW_LEFT * marked:
        return None
    if not ink.any():
        raise ImageError("no digit found: the image is blank")
    return ink


def total_positive(excess: np.ndarray) -> float:
    """sum(clip(excess, 0, None)) of a scratch array (h, w), clipped in place: the same values, summed
    in the same order, without another full-size temporary."""
    np.clip(excess, 0, None, out=excess)
    return float(excess.sum())


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """(rows, cols) slices of the smallest box holding every True of a boolean ``mask`` (h, w), widened
    by ``margin`` pixels on each side as far as the frame allows; None when nothing is True."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return (
        slice(max(rows[0] - margin, 0), rows[-1] + 1 + margin),
        slice(max(cols[0] - margin, 0), cols[-1] + 1 + margin),
    )


def is_speckled(marks: np.ndarray) -> bool:
    """Whether boolean ``marks`` (h, w) are specks, no strokes: ``SPECKLED_COUNT`` marks (8-connected)
    or more, the largest under ``SPECKLED_SHARE`` of the marked pixels and under ``SPECKLED_LARGEST``
    pixels. Sensor noise of 12 grey levels over a dim page's faint ink leaves only its peaks over the
    threshold, hundreds of specks, the largest 2-14% of them and 5-20 pixels (a helper's dim photos);
    a digit's strokes, even broken, are a few marks of hundreds of pixels, and so are ruled lines."""
    from scipy import ndimage

    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    if count < SPECKLED_COUNT:
        return False
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return bool(sizes.max() < min(SPECKLED_SHARE * sizes.sum(), SPECKLED_LARGEST))


def without_specks(marks: np.ndarray) -> np.ndarray:
    """Boolean ``marks`` (h, w) less their isolated marks (8-connected) under ``MIN_SPECK`` pixels."""
    from scipy import ndimage

    # Every mark of a smaller component has fewer than MIN_SPECK marks around it, itself included (all
    # its own component's, 8-connected): only those candidates can go. Most drawings and scans have
    # none, and are spared labelling; otherwise only the candidates are looked up, not every pixel.
    candidates = np.flatnonzero(marks & (neighbourhood_count(marks) < MIN_SPECK))
    if not len(candidates):
        return marks
    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    specks = candidates[sizes[labels.ravel()[candidates]] < MIN_SPECK]
    if not len(specks):
        return marks  # a thin line's ends, no speck
    kept = marks.copy()
    kept.ravel()[specks] = False  # C order, as np.flatnonzero counts
    return kept


def count_along(mask: np.ndarray, axis: int) -> np.ndarray:
    """int32: how many True a boolean 2-D ``mask`` holds along ``axis`` (1: in each row, 0: in each
    column). Summed as bytes into int32: 3x faster than np.count_nonzero or mean, which convert
    every pixel to a wider type first; divided by the length, it gives mean's float64 values exactly."""
    return mask.view(np.uint8).sum(axis=axis, dtype=np.int32)
