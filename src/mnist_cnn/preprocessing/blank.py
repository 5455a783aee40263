"""What a photo of a blank page shows that is no writing, found in an ink map: a crease at any angle,
the shade wedged in a corner of the frame, a soft shade anywhere, the grain scattered along a
shadow's edge, and the desk showing along one side of the sheet.

After the lighting is fitted (``paper.ink_intensity``) and printed lines are erased (``lines``), a
blank sheet can still leave marks: a fold or a crease, a thin straight line from edge to edge at
whatever angle the sheet lay (``lines.remove_folds`` takes folds only within 12 degrees of the
frame's axes, and only where they run unbroken), dashed where it is faint; or a vignette's or a
hand's shade cut off by a corner of the frame. Read as a digit, the crease is a "1" and the
corner's shade a "1" or a "7"; a soft shade elsewhere (a hand held over the page, a lamp's rim) a "1",
a "0" or an "8"; the specks relighting leaves along a shadow's edge, strung out down the page, and
the desk beside the sheet, a "1". When such a mark is all the ink there is, the page is blank and
the ink map is emptied; beside any other ink nothing is touched.

Every step takes and returns float32 ink maps (h, w), values 0-1, light ink on dark.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing import lines, sheets

MIN_SIZE = 128  # pixels: a tiny scan (enlarged to 64) or a small crop of a 1 is all strokes, no page
CREASE_WIDTH = 0.006  # of the frame's longer side, 3 pixels at least: half the band a crease lies in
CREASE_SHARE = 0.97  # of the marked pixels: a lone crease holds this many; the rest are specks
SPECKLED_SHARE = 0.6  # of the marked pixels: a crease on grainy paper holds this many, the rest all specks
SPECK = 64  # pixels: a mark off a crease smaller than this is a speck of the paper's grain
CREASE_REACH = 0.75  # of the line's chord across the frame: a crease runs from edge to edge, dashed where faint
CREASE_CHORD = 0.3  # of the frame's shorter side: the shortest chord a crease cuts (a folded corner's)
CORNER_SHADE = 0.2  # of the frame's height and width: the furthest a corner's shade reaches in
SOLID_SHADE = 0.7  # of the frame's height and width: the furthest a solid, convex shade in a corner reaches in
SOLID_FILL = 0.6  # of its box: such a shade fills this much at least (a quarter disk 0.79; a digit's strokes less)
CONVEX = 0.9  # of its convex hull: such a shade fills this much at least (a stroke's bend or a loop less)
SHADE_SHARE = 0.95  # of the marked pixels: a soft shade anywhere holds this many, the rest specks
SOFT_EDGE = 0.08  # of its ink per pixel: a soft shade's edge is no steeper than this (a pen's, 0.15-0.19)
SOFT_SIGMA = 2.0  # pixels: the Gaussian the ink is smoothed by before its edge's steepness is measured
SOFT_RIM = 3  # pixels: the rim of the shade, inside its edge, where the steepness is measured
PALE_SHADE = 0.6  # of the paper's grey level: a shade takes at most this much of the light, a pen's ink more
SOFT_BAND = 10  # pixels: the band of paper around a shade its paleness is measured against
SOFT_SIZE = 0.1  # of the frame's shorter side: a soft shade's box is this wide and tall at least (no thin line)
EDGE_BAND_CONTACT = 0.9  # of a side of the frame: the desk beside a blank sheet lies along this much of it
EDGE_BAND_REACH = 0.3  # of the frame across: the furthest in such a band reaches (a digit's 1 stands inside)
GRAIN = 8  # pixels: marks all this small, scattered, are the paper's grain (a 1-pixel pen's 9-pixel 1 is one mark)
GRAIN_MOST = 32  # pixels: scattered marks up to this size, none standing out, are grain too (a deep shadow's edge)
SCATTERED = 0.01  # of their joint box: scattered specks mark less of it (a dotted pen's digit, 5% and more)


def without_page_marks(ink: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray:
    """``ink`` (h, w), float32 0-1, emptied when all its marks (pixels above 0) are what a blank page
    shows: one crease (``is_lone_crease``), the shade in one corner (``is_corner_shade``), one soft
    shade anywhere (``is_soft_shade``; ``gray``, the image (h, w) the ink was found in, grey levels,
    tells how pale it is), scattered grain (``is_scattered_grain``) or the desk along one side
    (``is_edge_band``);
    otherwise unchanged. Maps under MIN_SIZE pixels on a side are left alone.

    On 600 blank-paper photos (``outliers.blank_paper``, a seed of its own), 30 were read as a digit
    before; 17 of them were creases and 3 shaded corners, which this empties (docs/BENCHMARKS.md).
    """
    if min(ink.shape) < MIN_SIZE:
        return ink
    marks = ink > 0
    count = np.count_nonzero(marks)
    if count == 0 or count > max(crease_capacity(ink.shape), SOLID_SHADE**2 * marks.size):
        return ink  # more ink than a crease or a corner's shade can hold: a digit's (most photos stop here)
    rows, cols = np.nonzero(marks)
    if (
        is_corner_shade(rows, cols, ink.shape)
        or is_lone_crease(rows, cols, ink.shape)
        or is_soft_shade(ink, rows, cols, gray)
        or is_scattered_grain(rows, cols, ink.shape)
        or is_edge_band(rows, cols, ink.shape)
    ):
        return np.zeros_like(ink)
    return ink


def is_lone_crease(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the marked pixels (``rows``, ``cols``: int arrays of equal length) of a frame ``shape``
    (h, w) are one crease: CREASE_SHARE of them within CREASE_WIDTH of one straight line at any angle
    (``fitted_line``), or SPECKLED_SHARE of them with the rest all specks (``only_specks``: a crease
    on grainy paper), spread along it over CREASE_REACH of the line's chord across the frame
    (``chord``), which is CREASE_CHORD of the frame's shorter side at least. A digit's stroke stops
    well short of the frame's edges, or is broader than the band, or curves out of it."""
    limit = crease_limit(shape)
    if len(rows) < 3 or len(rows) > crease_capacity(shape):
        return False  # more ink than one thin line across the frame can hold
    points = np.stack([rows, cols], axis=1).astype(np.float64)
    for share in (CREASE_SHARE, SPECKLED_SHARE):
        centre, direction = fitted_line(points, share)
        offsets = points - centre
        near = np.abs(offsets @ np.array([-direction[1], direction[0]])) <= limit
        if near.mean() >= CREASE_SHARE or (
            near.mean() >= SPECKLED_SHARE and only_specks(rows[~near], cols[~near], shape)
        ):
            along = offsets[near] @ direction
            length = chord(centre, direction, shape)
            return length >= CREASE_CHORD * min(shape) and float(np.ptp(along)) >= CREASE_REACH * length
    return False


def is_edge_band(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the marked pixels (``rows``, ``cols``) of a frame ``shape`` (h, w) are one solid convex
    band along one side of the frame (``is_solid_convex``): in contact with EDGE_BAND_CONTACT of that
    side's length, reaching at most EDGE_BAND_REACH of the frame in. A blank sheet photographed on a
    desk that shows beyond one edge of it (too little desk for ``sheets.find_sheet``, which wants
    the sheet clear of two edges) leaves the desk as such a bar, read as a "1" (helper-39: 20 of
    32 probes). A 1 written on the page stands inside the frame, or slants or ends round where it
    meets an edge; a bar touching two opposite sides is no band along one."""
    height, width = shape
    top, bottom, left, right = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    sides = (
        (left == 0 and right <= EDGE_BAND_REACH * width, cols == 0, height),
        (right == width and left >= (1 - EDGE_BAND_REACH) * width, cols == width - 1, height),
        (top == 0 and bottom <= EDGE_BAND_REACH * height, rows == 0, width),
        (bottom == height and top >= (1 - EDGE_BAND_REACH) * height, rows == height - 1, width),
    )
    along = any(inside and np.count_nonzero(contact) >= EDGE_BAND_CONTACT * length for inside, contact, length in sides)
    return along and is_solid_convex(rows, cols)


def is_scattered_grain(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the marked pixels (``rows``, ``cols``) of a frame ``shape`` (h, w) are only the grain a
    relit shadow's edge or a noisy photo leaves: marks (8-connected) marking under SCATTERED of the
    box they lie in together, the largest of them GRAIN pixels at most, or GRAIN_MOST at most and not
    standing out from the rest (``lines.stands_out``). Helper-38's blank page with a soft shadow's
    edge down one side left 25 specks of 3-5 pixels in a line 900 pixels long, read as a "1"; deeper
    shadows leave bands of 140-230 specks of up to 15 pixels. A digit holds a mark of more pixels
    (a 1-pixel pen's 9-pixel 1 is one mark, twice a speck beside it), or, drawn with a dotted pen,
    dots close together."""
    sizes = mark_sizes(rows, cols, shape)
    largest = int(sizes.max(initial=0))
    if largest > GRAIN_MOST or (largest > GRAIN and lines.stands_out(sizes)):
        return False
    box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    return len(rows) < SCATTERED * box


def only_specks(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the marked pixels (``rows``, ``cols``) of a frame ``shape`` (h, w) are all specks: marks
    (8-connected) of fewer than ``SPECK`` pixels each, as grainy paper scatters beside a crease."""
    return int(mark_sizes(rows, cols, shape).max(initial=0)) < SPECK


def mark_sizes(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The pixel count of each mark (8-connected, ``scipy.ndimage.label``) of the marked pixels
    (``rows``, ``cols``) of a frame ``shape`` (h, w): int (count + 1,), by label, 0 at label 0."""
    from scipy import ndimage

    marks = np.zeros(shape, dtype=bool)
    marks[rows, cols] = True
    labels, _ = ndimage.label(marks, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return sizes


def crease_limit(shape: tuple[int, int]) -> float:
    """The furthest, in pixels, a crease's pixels lie from its line in a frame ``shape`` (h, w)."""
    return max(3.0, CREASE_WIDTH * max(shape))


def crease_capacity(shape: tuple[int, int]) -> float:
    """The most marked pixels a lone crease leaves in a frame ``shape``: its band along the diagonal."""
    return (2 * crease_limit(shape) + 1) * float(np.hypot(*shape)) / CREASE_SHARE


def fitted_line(points: np.ndarray, share: float, rounds: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(centre, direction) of the straight line through float (n, 2) ``points`` (row, col): the
    principal axis of their covariance, refitted ``rounds`` times on the ``share`` of them nearest to
    it (a trimmed total-least-squares fit), so that a few specks do not turn it. ``direction`` is a
    unit vector (drow, dcol)."""
    keep = np.ones(len(points), dtype=bool)
    for _ in range(rounds):
        centre = points[keep].mean(axis=0)
        _, vectors = np.linalg.eigh(np.cov((points[keep] - centre).T))
        direction = vectors[:, 1]
        distance = np.abs((points - centre) @ vectors[:, 0])
        keep = distance <= np.quantile(distance, share)
    return centre, direction


def chord(centre: np.ndarray, direction: np.ndarray, shape: tuple[int, int]) -> float:
    """The length in pixels of the line through ``centre`` (row, col) along unit ``direction`` inside a
    frame ``shape`` (h, w), between the frame's edges it crosses; 0 when it misses the frame."""
    low, high = -np.inf, np.inf
    for axis, size in enumerate(shape):
        step = direction[axis]
        if abs(step) < 1e-9:
            if not 0 <= centre[axis] <= size - 1:
                return 0.0
            continue
        ends = sorted(((0 - centre[axis]) / step, (size - 1 - centre[axis]) / step))
        low, high = max(low, ends[0]), min(high, ends[1])
    return float(max(high - low, 0.0))


def is_corner_shade(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the marked pixels (``rows``, ``cols``) of a frame ``shape`` (h, w) all lie in one corner:
    their box touches one of the top and bottom edges and one of the sides, no two opposite edges, and
    reaches at most CORNER_SHADE of the frame's height and width in; or, when they are one solid
    convex shade (a round shadow's quarter: SOLID_FILL of their box and CONVEX of their convex hull),
    SOLID_SHADE. A digit, even one cut by the frame, reaches further in, or is strokes. The test of
    ``lines.in_corner``, with a shorter reach."""
    box = (slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1))
    if lines.in_corner(box, shape, reach=CORNER_SHADE):
        return True
    return lines.in_corner(box, shape, reach=SOLID_SHADE) and is_solid_convex(rows, cols)


def is_solid_convex(rows: np.ndarray, cols: np.ndarray) -> bool:
    """Whether pixels (``rows``, ``cols``) fill SOLID_FILL of their box and CONVEX of their convex
    hull (``hull_area``): a shade's one solid convex mark, not a digit's strokes."""
    area = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    return len(rows) >= SOLID_FILL * area and len(rows) >= CONVEX * hull_area(rows, cols)


def is_soft_shade(ink: np.ndarray, rows: np.ndarray, cols: np.ndarray, gray: np.ndarray | None = None) -> bool:
    """Whether the marks of an ink map ``ink`` (h, w), float 0-1 (``rows``, ``cols``: its pixels above
    0), are one soft shade anywhere on the page: one solid convex mark (SOLID_FILL of its box, CONVEX
    of its convex hull, both sides of the box SOFT_SIZE of the frame's shorter side) holding
    SHADE_SHARE of them, whose edge ramps up slowly (the steepest 10% of its rim, SOFT_RIM pixels
    inside its edge, rise under SOFT_EDGE of its ink, the 90th percentile, per pixel once smoothed
    by SOFT_SIGMA: scipy.ndimage), and, given the image ``gray`` (h, w) it was found in, pale
    (``is_pale``). A hand's or a lamp's shadow on a blank page, an ellipse blurred over 15-60 pixels
    (a helper's: 0.016-0.053), is; a marker's solid bar (a bold 1) or a filled 0 photographed sharp
    (0.15-0.19 on the shared bold cases and a helper's bold 1s) is not, nor, by its depth, one
    enlarged from a soft scan under a lamp (0.068). Measured on our own blank pages with such a
    shade and on digits written beside and inside it: docs/BENCHMARKS.md. The ink map cannot tell a
    digit written inside the shade when relighting did not find it (``paper.find_writing``; both are
    at full ink there)."""
    from scipy import ndimage

    top, bottom, left, right = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    if len(rows) < SHADE_SHARE * SOLID_FILL * (bottom - top) * (right - left):
        return False  # strokes leave most of their box empty (nearly every digit stops here)
    if min(bottom - top, right - left) < SOFT_SIZE * min(ink.shape):
        return False  # a line or a dot: smoothing would soften any edge it has
    margin = int(3 * SOFT_SIGMA) + SOFT_RIM  # the ink around the mark, so its edge is seen whole
    top, left = max(top - margin, 0), max(left - margin, 0)
    bottom, right = min(bottom + margin, ink.shape[0]), min(right + margin, ink.shape[1])
    box = ink[top:bottom, left:right]
    labels, _ = ndimage.label(box > 0, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    shade = labels == int(np.argmax(sizes))
    if sizes.max() < SHADE_SHARE * len(rows):
        return False
    if not is_solid_convex(*np.nonzero(shade)):
        return False
    rim = shade & ~ndimage.binary_erosion(shade, iterations=SOFT_RIM)
    # Where the frame cuts the shade its edge is the frame's, not the shade's: left out
    inside = np.zeros(ink.shape, dtype=bool)
    inside[margin:-margin, margin:-margin] = True
    rim &= inside[top:bottom, left:right]
    if not rim.any():
        return False
    steepness = np.hypot(*np.gradient(ndimage.gaussian_filter(box, SOFT_SIGMA)))
    level = float(np.percentile(box[shade], 90))
    if float(np.percentile(steepness[rim], 90)) >= SOFT_EDGE * level:
        return False
    return gray is None or is_pale(gray[top:bottom, left:right], shade, box > 0)


def is_pale(gray: np.ndarray, shade: np.ndarray, marks: np.ndarray) -> bool:
    """Whether a ``shade`` (boolean (h, w)) in ``gray`` (h, w), grey levels, is paler than a pen's
    ink: its darkest tenth at most PALE_SHADE darker than the paper in a band SOFT_BAND pixels wide
    around it (outside every mark, ``marks``). A shadow takes 15-60% of the light; a pen's ink, even
    photographed soft under a lamp (a bold 1 whose edge ramps up as slowly as a shade's), 60-85%."""
    from scipy import ndimage

    band = ndimage.binary_dilation(shade, iterations=SOFT_BAND) & ~marks
    if not band.any():
        return True
    paper = float(np.median(gray[band]))
    darkest = float(np.percentile(gray[shade], 10))
    return paper > 0 and darkest >= (1 - PALE_SHADE) * paper


def hull_area(rows: np.ndarray, cols: np.ndarray) -> float:
    """The area in pixels of the convex hull of pixels (``rows``, ``cols``), each a unit square
    (``scipy.spatial.ConvexHull`` of ``sheets.hull_points``); their count when they lie on one line."""
    from scipy.spatial import ConvexHull, QhullError

    mask = np.zeros((int(rows.max()) + 1, int(cols.max()) + 1), dtype=bool)
    mask[rows, cols] = True
    try:
        return float(ConvexHull(sheets.hull_points(mask)).volume)
    except QhullError:
        return float(len(rows))
