"""Printed lines on the paper, found in an ink map and erased: ruled and squared paper (level or turned
a few degrees, from edge to edge or from a margin), a page's folds and margin lines, and what
erasing leaves (crossings, ends, a texture of dots).

Every step takes and returns float32 ink maps (h, w), values 0-1, light ink on dark, as
``paper.ink_intensity`` makes them. Image processing comes from ``scipy.ndimage``.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing.filters import median, neighbourhood_max
from mnist_cnn.preprocessing.paper import bounding_box, count_along

FOLD_MIN_SIZE = 128  # pixels: a tiny scan (enlarged to 64) or a small crop of a 1 has no folds, only strokes
FOLD_MAX_TILT = 12.0  # degrees: a fold or a sheet's edge lies within this of the photo's axes
FOLD_MAX_WIDTH = 0.05  # of the image across the line: a broad soft fold still; a cropped 1's stroke is wider
FOLD_SPAN = 0.97  # of the image along the line: a fold runs from edge to edge, a written stroke stops short
FOLD_MIN_LENGTH = 0.4  # of the image along the line: a turned page's margin line out by a side runs this far
FOLD_THIN = 0.6  # of the pen's stroke width: a line thinner than this beside the digit is printed, however dark


def remove_ruled_lines(ink: np.ndarray, min_coverage: float = 0.85) -> np.ndarray:
    """Erase straight horizontal and vertical lines that run across the whole image (ruled and squared
    paper, a margin line), keeping the digit's strokes where they cross or lie on a line.

    A line is a run of rows (or columns) at most 4% of the image thick (and 4 pixels at least) in
    which ``min_coverage`` of the pixels are ink, with at least one more such line parallel to it
    (ruled paper has many), or ``MARGIN_COVERAGE`` with ``MARGIN_LINES`` - 1 more (lines that start
    at a margin or fade in a vignette: on the first helper's 6 such pages, 3 -> 5 read right), or,
    alone, spanning 95% of the image in ink at most 60% as strong as the pen's (a printed margin
    line). A digit cropped tightly (a 1, the bar of a 7) spans its image once, in the pen's full
    ink; images under 48 pixels are left alone. On a line, pixels clearly stronger than the line's
    own ink (the median of its ink's peaks across it) are kept (a digit written in darker ink than
    the printed line), and where the digit continues on both sides of the line, the gap is bridged.
    Paper photographed a little turned has its lines tilted: when ink reaches nearly every column
    (or, for lines from a margin, most of them), the tilt is measured (``line_slope``; level wins a
    tie) and the lines are found and erased in the image sheared level by it (``erase_along``),
    also when some row already holds a line: turned a fraction of a degree, a few lines fill a row
    and the rest are split between two; photographed at an angle, the lines fan out, and further
    tilts are looked for, across the whole width and in strips. What erasing lines leaves,
    crossings and ends (larger ones when far paler than the pen), goes, and so
    does the texture of the paper itself, a dot grid (``without_leftovers``), and what a turned page's ruling leaves
    where it runs out of the frame: a sliver down the frame's edge (``without_edge_slivers``) or,
    all that is left, a piece cutting a corner (``without_corner_cuts(..., lone=True)``).
    Folds, creases and a sheet's edge, straight lines from edge to edge at any
    small tilt, go too (``remove_folds``), and so do printed lines that only cut a corner of the
    frame (``without_corner_cuts``).
    """
    if min(ink.shape) < 48:
        return ink
    cleaned = ink.copy()
    erased = False
    for axis in (0, 1):
        view = cleaned if axis == 0 else cleaned.T  # rows of ``view`` are lines along this axis
        # Lines that stop at a margin, or fade in a vignette, cover less of the image; many of them
        # are ruled paper still.
        erased |= (
            erase_along(view, min_coverage)
            or erase_along(view, MARGIN_COVERAGE, least=MARGIN_LINES)
            or erase_fanned(view)
        )
    if erased:
        cleaned = without_edge_slivers(cleaned)
    return without_corner_cuts(remove_folds(without_leftovers(cleaned, erased)), lone=erased)


def erase_along(view: np.ndarray, min_coverage: float, least: int = 1) -> bool:
    """``remove_ruled_lines``' work along the rows of ``view``, in place: the lines covering
    ``min_coverage`` of it erased, ``least`` of them at least (``erase_lines``), level, or turned
    as ``line_slope`` measures and erased in the image sheared level; then, up to FAN_PASSES times,
    the lines left at another tilt, and the same again in each of FAN_STRIPS strips across the
    lines, where what is left of them is nearly level at the strip's own tilt. A page photographed
    at an angle has its lines fanning out in perspective: those at the tilt measured went, those
    above or below at another stayed whole or in long pieces (helper-40's photos with corners moved
    up to 2% of the frame: 20 of 35 read right, 28 so). Returns whether any was."""
    if not erase_at_tilt(view, min_coverage, least):
        return False
    erase_at_tilts(view, min_coverage, least)
    erase_fanned(view)  # lines left whole, each at a tilt of its own, before the strips cut them into dashes
    width = view.shape[1]
    for start in range(FAN_STRIPS if width >= FAN_STRIPS * 48 else 0):
        erase_at_tilts(view[:, start * width // FAN_STRIPS : (start + 1) * width // FAN_STRIPS], min_coverage, least)
    return True


def erase_at_tilts(view: np.ndarray, min_coverage: float, least: int = 1) -> None:
    """``erase_at_tilt`` up to FAN_PASSES times, in place, until a pass erases nothing."""
    for _ in range(FAN_PASSES):
        if not erase_at_tilt(view, min_coverage, least):
            break


def erase_at_tilt(view: np.ndarray, min_coverage: float, least: int = 1) -> bool:
    """``erase_along``'s one pass: the lines at the one tilt ``line_slope`` measures. Returns whether any was erased."""
    slope = line_slope(view, min_coverage)
    if slope == 0.0:
        return erase_lines(view, min_coverage, view.shape[0], least=least)
    shifts, padding = shear_shifts(view.shape[1], slope)
    level = sheared(view, shifts, padding)
    inside = in_frame(view.shape[0], shifts, padding)
    erased = erase_lines(level, min_coverage, view.shape[0], spread=True, inside=inside, least=least)
    view[...] = unsheared(level, shifts, padding)
    return erased


FANNED_LINES = 6  # straight thin lines from edge to edge at least, each at its own tilt: a ruling in perspective
FANNED_NEAR = 2  # pixels either side of a Hough line: its ink (a photographed line 1-4 pixels wide)
FANNED_SPAN = 0.6  # of the rows a line crosses: ink within FANNED_NEAR of it in this many (a faint one is dashed)
FANNED_FLANKS = 0.3  # of those rows: ink beside it (3-8 pixels off) in at most this many (the crossing lines)


def erase_fanned(view: np.ndarray) -> bool:
    """``erase_along``'s last resort, in place, for a page photographed at an angle whose lines along
    the rows of ``view`` converge, each at its own tilt, so that no one tilt lines up two of them
    (squared paper in perspective, its far side narrower: helper-45's pages, 0 of 6 read). The lines
    are found one by one (``fanned_lines``) and erased when there are FANNED_LINES at least (a
    number's stems cropped tightly are fewer), each with a pixel's margin (its soft edge) as
    ``erase_lines`` erases a line: its pixels clearly stronger than its own ink (the pen's, where
    the digit crosses it) stay, and where a stroke goes on either side of it, the gap is bridged
    (the weaker of the ink FANNED_NEAR + 2 pixels above and below). Images under
    FOLD_MIN_SIZE pixels on a side, or with ink in under FANNED_SPAN of the columns, are left
    alone. Returns whether any was."""
    if min(view.shape) < FOLD_MIN_SIZE or count_along(view > 0, axis=0).astype(bool).mean() < FANNED_SPAN:
        return False  # small, or no lines along the rows: they would leave ink in most columns
    found = [line.T for line in fanned_lines(view.T > 0)]
    if len(found) < FANNED_LINES:
        return False
    from scipy import ndimage

    reach = FANNED_NEAR + 2
    padded = np.pad(view, ((reach, reach), (0, 0)))
    bridge = np.minimum(padded[: -2 * reach], padded[2 * reach :])  # a stroke crossing goes on above and below
    for line in found:
        level = float(np.median(view[line]))
        erase = ndimage.binary_dilation(line) & (view <= min(1.0, 1.5 * level + 0.15))  # and its soft edge
        view[erase] = bridge[erase]
    return True


def fanned_lines(marks: np.ndarray) -> list[np.ndarray]:
    """Boolean masks (h, w) of the thin straight lines in ``marks`` that run from its top edge to its
    bottom edge (or out by a side, over FOLD_MIN_LENGTH of the rows), tilted at most FOLD_MAX_TILT
    degrees from its columns, each at its own tilt: the peaks of a straight-line Hough transform
    (Duda and Hart 1972, scikit-image) in quarter degrees, at least 3*FANNED_NEAR + 1 pixels apart,
    with ink within FANNED_NEAR pixels of the line in FANNED_SPAN of the rows it crosses, no more
    than 2*FANNED_NEAR + 2 pixels of it in the median row, and paper beside it (FANNED_NEAR + 2 to
    3*FANNED_NEAR + 2 pixels off) in all but FANNED_FLANKS of those rows (the other lines'
    crossings): a pen's broad stroke has ink there. Each mask is the ink within FANNED_NEAR."""
    height, width = marks.shape
    apart = 3 * FANNED_NEAR + 1
    rows, cols = np.nonzero(marks)
    found = []
    for cos, sin, offset, crossed in edge_to_edge_lines(
        marks, apart, FANNED_SPAN * FOLD_MIN_LENGTH * height, 4 * width // apart
    ):
        distance = np.abs(cols * cos + rows * sin - offset)
        near = distance <= FANNED_NEAR
        per_row = np.bincount(rows[near], minlength=height)[crossed[0] : crossed[-1] + 1]
        if (per_row > 0).mean() < FANNED_SPAN or np.median(per_row[per_row > 0]) > 2 * FANNED_NEAR + 2:
            continue
        flanks = (distance > FANNED_NEAR + 1) & (distance <= 3 * FANNED_NEAR + 2)  # paper beside a thin line
        beside = np.bincount(rows[flanks], minlength=height)[crossed[0] : crossed[-1] + 1]
        if (beside > 0).mean() > FANNED_FLANKS:
            continue  # ink beside it along much of its length: a pen's broad stroke, or no line at all
        line = np.zeros_like(marks)
        line[rows[near], cols[near]] = True
        found.append(line)
    return found


POOLED_SATURATED = 0.5  # of the pooled image marked: lines closer than the pooling's blocks merged into one
COARSE_TIE = 0.97  # of the fullest line's count: coarse tilts this close are searched finely between
FAN_STRIPS = 4  # strips across the lines in which what is left of them is looked for again, each at its own tilts
FAN_PASSES = 4  # further tilts looked for once lines were erased: a page's lines fanning out in perspective
MARGIN_COVERAGE = 0.6  # of the image: ruled lines that start at a margin still run this far across it
MARGIN_LINES = 4  # lines at least, parallel, to be ruled paper beside a margin; a digit has fewer thin bars
EDGE_REACH = 0.03  # of the image along them: lines that start at a margin run on to within this of the edge
LEFTOVER_PALE = 0.4  # of the largest mark's median ink: a smaller mark this pale left after erasing lines is theirs
LEFTOVER_PALE_SIZE = 0.25  # of the largest mark's pixels: the largest such pale leftover
LEFTOVER = 0.05  # of the largest mark's pixels: smaller marks left after erasing lines are their crossings and ends
# This many marks or more with none standing out are the paper's own: a dot grid, a blank page's grid.
TEXTURE_MARKS = 30
TEXTURE_SHARE = 0.1  # a digit's mark holds at least this share of all the marked pixels among such dots
TEXTURE_SPAN = 0.5  # marks spread over this share of the frame each way may be a texture; a digit's pieces are not
STANDS_OUT = 2.0  # of the second largest mark's pixels: a mark this large among a texture's is the writing
# of the median mark's pixels: among TEXTURE_MARKS or more with the writing standing out, marks up to this
# size are the paper's dots, however large beside a thin pen's digit (helper-41's dot grid: 72-pixel dots
# beside a ballpoint's 1 of 1,108, over LEFTOVER of it, read "15")
DOT_ALIKE = 2.5
DOTS_EVEN = 1.5  # the 75th percentile of a dot grid's dot sizes over their 25th at most: printed alike
# A stroke broken into specks (``broken_stroke``): specks within CHAIN_GAP of the frame's longer side of
# each other chain; one chain holding CHAIN_SHARE of the marks and filling at most CHAIN_FILL of its box
CHAIN_GAP = 0.01
CHAIN_SHARE = 0.8
CHAIN_FILL = 0.35


# pixels: a mark lying wholly this near one of the frame's edges is a ruling the frame cut (a turned
# photo's blurred line, 3-4 pixels wide where it runs out, left blank notebook pages read "1" at 2)
EDGE_SLIVER = 5


def without_edge_slivers(ink: np.ndarray) -> np.ndarray:
    """``ink`` (h, w) less the marks (8-connected) lying wholly within EDGE_SLIVER pixels of one of
    the frame's edges: what a tilted ruling leaves where it runs out of a photographed page, once the
    page's lines are erased (blank squared pages, 8-47 pixels down the last column, were read as a
    "1"). A digit's stroke that reaches the edge runs on into the frame and stays."""
    from scipy import ndimage

    labels, count = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    if count == 0:
        return ink
    height, width = ink.shape
    sliver = np.zeros(count + 1, dtype=bool)
    for label, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
        sliver[label] = (
            rows.stop <= EDGE_SLIVER
            or rows.start >= height - EDGE_SLIVER
            or cols.stop <= EDGE_SLIVER
            or cols.start >= width - EDGE_SLIVER
        )
    return np.where(sliver[labels], np.float32(0), ink) if sliver.any() else ink


def without_leftovers(ink: np.ndarray, erased: bool = True) -> np.ndarray:
    """``ink`` less what is left of the paper: after lines were erased (``erased``), or among marks
    spread over the page, the marks (8-connected) under LEFTOVER of the largest one's pixels (a
    squared page's crossings, a line's end, a dash of a faint one, the dots of dot-grid paper), which
    would otherwise stretch the digit's box over the page, and after lines were erased, larger ones
    too when far paler than it (``faint_leftovers``); and all of them when they are many
    (TEXTURE_MARKS) with none holding TEXTURE_SHARE of the marked pixels: paper with nothing written,
    or, when the largest stands out (``stands_out``), that mark alone written on it; with the
    writing standing out among as many, the marks alike in size to the median one go
    (``printed_dots``: a dot grid's dots as large as a twentieth of a thin pen's digit).
    On plain paper (not ``erased``) fewer than TEXTURE_MARKS marks are a digit's or a number's pieces
    and stay, however small."""
    from scipy import ndimage

    marks = ink > 0
    if not erased:
        box = bounding_box(marks)
        if box is None or any((span.stop - span.start) < TEXTURE_SPAN * length for span, length in zip(box, ink.shape)):
            return ink
    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    if count <= 1 or (not erased and count < TEXTURE_MARKS):
        return ink  # a digit's or a number's few pieces, on plain paper: all kept
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    if count >= TEXTURE_MARKS and sizes.max() < TEXTURE_SHARE * sizes.sum():
        if not stands_out(sizes):
            stroke = None if erased else broken_stroke(marks)  # once lines were erased, their leftovers chain
            return np.zeros_like(ink) if stroke is None else np.where(stroke, ink, np.float32(0))
        return np.where(labels == int(np.argmax(sizes)), ink, np.float32(0))  # the writing alone
    small = sizes < LEFTOVER * sizes.max()
    if count >= TEXTURE_MARKS and stands_out(sizes):
        small |= printed_dots(sizes)
    if erased:
        small |= faint_leftovers(ink, labels, sizes)
    return np.where(small[labels], np.float32(0), ink) if small[1:].any() else ink


def broken_stroke(marks: np.ndarray) -> np.ndarray | None:
    """The marks (boolean (h, w)) that chain into one stroke, or None: chained by a dilation of
    CHAIN_GAP of the frame's longer side, one chain holding CHAIN_SHARE of the marked pixels whose
    dilated pixels fill at most CHAIN_FILL of its box, a curve, not a patch of grain. A pencil's
    digit in a dim, noisy photo breaks into dozens of specks, none a tenth of them, like a texture's
    (helper-41's dim ruled page: 62 pieces, the largest 7%, a clear 5 found blank); a dot grid's
    dots stand apart, and a noisy page's grain fills its patches. Looked for on plain paper only:
    once lines were erased, a fine grid's broken minor lines chain across the page."""
    from scipy import ndimage

    reach = max(2, int(round(CHAIN_GAP * max(marks.shape))))
    chained = ndimage.binary_dilation(marks, iterations=reach)
    labels, count = ndimage.label(chained)
    if count == 0:
        return None
    held = np.bincount(labels[marks], minlength=count + 1)
    largest = int(np.argmax(held))
    if held[largest] < CHAIN_SHARE * np.count_nonzero(marks):
        return None
    chain = labels == largest
    rows, cols = ndimage.find_objects(chain.astype(np.int8))[0]
    if np.count_nonzero(chain[rows, cols]) > CHAIN_FILL * (rows.stop - rows.start) * (cols.stop - cols.start):
        return None
    return marks & chain


def printed_dots(sizes: np.ndarray) -> np.ndarray:
    """bool like ``sizes`` (pixels by label, label 0 none): the marks up to DOT_ALIKE times the
    median mark's pixels when they are alike, the 75th percentile of their sizes within DOTS_EVEN of
    the 25th: a dot grid's printed dots (helper-41's: 69-72 pixels each), not the fragments of a
    pencil's broken strokes or a noisy photo's specks, which come in every size."""
    alike = (sizes > 0) & (sizes <= DOT_ALIKE * median(sizes[1:]))
    if np.count_nonzero(alike) < TEXTURE_MARKS:
        return np.zeros(len(sizes), dtype=bool)
    low, high = np.percentile(sizes[alike], [25, 75])
    return alike if high <= DOTS_EVEN * low else np.zeros(len(sizes), dtype=bool)


def faint_leftovers(ink: np.ndarray, labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """bool (count + 1,): the marks (``labels``, sizes by label) under LEFTOVER_PALE_SIZE of the
    largest's pixels whose median ink is at most LEFTOVER_PALE of the largest's: after a page's lines
    were erased, what is left of a fine printed grid beside a pen's digit (crossings and dashes of a
    quarter of the pen's ink, 44-71 pixels beside a marker's 3 of 759, which stretched its box and
    made it a 7). A pen's own small marks (a 5's bar, an i's dot) are the pen's ink."""
    from scipy import ndimage

    largest = int(np.argmax(sizes))
    candidates = np.flatnonzero((sizes > 0) & (sizes < LEFTOVER_PALE_SIZE * sizes[largest]))
    pale = np.zeros(len(sizes), dtype=bool)
    if len(candidates) == 0:
        return pale
    medians = ndimage.median(ink, labels, index=[largest, *candidates])
    pale[candidates] = np.asarray(medians[1:]) <= LEFTOVER_PALE * medians[0]
    return pale


def stands_out(sizes: np.ndarray) -> bool:
    """Whether the largest of the marks (``sizes``: pixels by label, label 0 none) holds STANDS_OUT
    times the second's pixels: a thin 1 on a photographed squared page, cut only where it crosses
    the lines, among thousands of the lines' leftovers (helper-38: 1,351 pixels, 4.4% of the marks,
    beside a largest leftover of 576) is the writing, not the paper's texture; a dot grid's dots and
    a blank grid's crossings come in many alike."""
    if len(sizes) < 3:
        return True
    second, largest = np.partition(sizes, -2)[-2:]
    return bool(largest >= STANDS_OUT * second)


LINE_MAX_TILT = 7.0  # degrees: ruled lines turned this far (a page photographed a little askew) are found
LINE_THICKNESS = 0.01  # of the image across them: tilted lines thicker than this are strokes, not printed lines


def erase_lines(
    view: np.ndarray,
    min_coverage: float,
    height: int,
    spread: bool = False,
    inside: np.ndarray | None = None,
    least: int = 1,
) -> bool:
    """``remove_ruled_lines``' work along one axis, in place: the rows of ``view`` that are lines
    erased, none unless there are ``least`` lines. ``height``: the image's extent across the lines
    (the 4% limit). ``spread``: a line may lie across two neighbouring rows (a sheared image), so a
    row's coverage counts its neighbours' ink too, and gaps under 2% of the width along it (a faint
    line comes out dashed in a photo). With ``least`` over 1 (lines that start at a margin), only
    lines reaching an end of the view count (``reaches_edge``): the straight stems of a number's 1s
    and 4s cover as much of a tight photo but stop short of its edges ("1111" was erased whole).
    Returns whether a line was erased. ``inside``: how many of
    each row's pixels lie in the photo (a sheared image's rows near its top and bottom run off it);
    coverage is of those, for rows inside over a tenth of the width (a tilted line near the edge
    leaves the photo part of the way across)."""
    marks = view > 0
    if spread:  # and a faint line photographed comes out dashed: its dashes are joined along it
        marks = neighbourhood_max(marks, 3)
        from scipy import ndimage

        marks = ndimage.binary_opening(marks, structure=np.ones((1, 7), bool))
        marks = ndimage.maximum_filter1d(marks, size=max(3, view.shape[1] // 50), axis=1)
    counts = count_along(marks, axis=1)
    if inside is None:
        coverage = counts / view.shape[1]  # (view > 0).mean(axis=1)'s values
    else:
        coverage = np.where(inside >= 0.1 * view.shape[1], counts / np.maximum(inside, 1), 0.0)
    limit = max(4, int(0.04 * height))
    lines = [(start, stop) for start, stop in runs(coverage >= min_coverage) if stop - start <= limit]
    if least > 1:  # ruled lines that start at a margin run on to the page's edge; a number's stems stop short
        lines = [(start, stop) for start, stop in lines if reaches_edge(view[start:stop] > 0)]
    if len(lines) < least:
        return False
    erased = False
    for start, stop in lines:
        band = view[start:stop]
        if not (band > 0).any():
            continue
        peaks = band.max(axis=0)  # across the line: a turned, anti-aliased line's ink is split between rows
        level = float(np.median(peaks[peaks > 0]))
        if len(lines) == 1 and (coverage[start:stop].max() < 0.95 or level > 0.6):
            continue  # one dark bar across the image is a stroke of the digit; a margin line is fainter
        keep = band > min(1.0, 1.5 * level + 0.15)
        above = view[start - 1] if start > 0 else np.zeros(view.shape[1], np.float32)
        below = view[stop] if stop < view.shape[0] else np.zeros(view.shape[1], np.float32)
        bridge = np.minimum(above, below)
        view[start:stop] = np.where(keep, band, np.broadcast_to(bridge, band.shape))
        erased = True
    return erased


def reaches_edge(band: np.ndarray) -> bool:
    """Whether the marks of a boolean ``band`` (rows, w) reach within EDGE_REACH of its width of
    either end along it."""
    cols = np.flatnonzero(band.any(axis=0))
    reach = EDGE_REACH * band.shape[1]
    return bool(len(cols)) and (cols[0] <= reach or cols[-1] >= band.shape[1] - 1 - reach)


def line_slope(view: np.ndarray, min_coverage: float) -> float:
    """The slope (rows per column) of tilted lines running along the rows of ``view``, 0.0 when no
    row needs it: the lines lie level (a tie goes to level), or ink is missing from over a tenth
    of the columns (nothing runs across; for ``min_coverage`` under 0.85, over 1 - min_coverage
    - 0.05 of them), or no tilt within LINE_MAX_TILT degrees lines up ``min_coverage`` of the
    columns along two lines at least, none thicker than LINE_THICKNESS of the image (one line, or
    thick ones, are strokes: touching digits' bars, a tightly cropped number's stems). The tilt is the one
    whose projection profile (the ink counted along lines of that slope; Postl 1986) has the fullest
    line: searched in half degrees on the image max-pooled by 4, then refined to a step of one row
    across the whole width."""
    from mnist_cnn.preprocessing.resize import max_pool

    marks = view > 0
    width = view.shape[1]
    if count_along(marks, axis=0).astype(bool).mean() < min(0.9, min_coverage + 0.05):
        return 0.0
    pooled = max_pool(marks.astype(np.float32), max(1, max(view.shape) // 4)) > 0
    coarse = np.tan(np.deg2rad(np.arange(-LINE_MAX_TILT, LINE_MAX_TILT + 0.25, 0.5)))
    slope, counts, fullest = fullest_line(pooled, coarse)
    if not ruled(counts, pooled.shape, min_coverage, 4):
        if pooled.mean() < POOLED_SATURATED:
            return 0.0  # nothing like ruled paper at any tilt: spared the fine search (a number cropped tightly)
        slope, counts, fullest = fullest_line(marks, coarse)  # a fine grid, whose lines the pooling merged
        if not ruled(counts, view.shape, min_coverage, 4):
            return 0.0
    near = coarse[fullest >= COARSE_TIE * fullest.max()]  # thick pooled lines fit neighbouring tilts alike
    step = np.tan(np.deg2rad(0.5))
    fine = np.arange(near.min() - step, near.max() + step, 0.5 / width)
    slope, counts, _ = fullest_line(marks, np.concatenate([[0.0], fine]))  # level first: it keeps a tie
    return slope if slope != 0.0 and ruled(counts, view.shape, min_coverage, 6) else 0.0


def ruled(counts: np.ndarray, shape: tuple[int, int], min_coverage: float, least: int) -> bool:
    """Whether ``fullest_line``'s counts, of an image ``shape`` (h, w), are ruled paper's: lines with
    ``min_coverage`` of the columns, two at least and over two thirds of them thin (no thicker than
    LINE_THICKNESS of the height or ``least`` pixels, whichever is more). One full line along a
    slope is a stroke (touching digits' bars), and so are thick ones: the slanted stems of a number
    cropped tightly ("11", "47") run from edge to edge too, as wide as the pen. A digit's bar lying
    along one printed line thickens that one line only (with ``without_corner_cuts``, 300 validation
    lined photos read 91.0 -> 97.0%: 18 more right, none fewer; docs/BENCHMARKS.md)."""
    lines = runs(counts >= min_coverage * shape[1])
    thin = max(least, int(LINE_THICKNESS * shape[0]))
    thin_lines = sum(stop - start <= thin for start, stop in lines)
    return thin_lines >= 2 and thin_lines > 2 * (len(lines) - thin_lines)


def fullest_line(marks: np.ndarray, slopes: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(slope, counts, fullest): of ``slopes``, the one along which some line (pixels at one rounded
    row offset, spread over two neighbouring rows) holds the most columns with ink; every line's count
    of such columns along it (int, one per row offset); and each slope's fullest line's count (int,
    one per slope)."""
    rows, cols = np.nonzero(marks)
    best, best_slope, best_counts = -1, 0.0, np.zeros(1, dtype=np.intp)
    fullest = np.zeros(len(slopes), dtype=np.intp)
    for index, slope in enumerate(slopes):
        offsets = rows - np.round(cols * slope).astype(np.intp)
        offsets -= offsets.min()
        # A column's pixels are shifted alike, so each lies on a line of its own: a count of pixels
        # per line is a count of columns per line (what np.unique over (line, column) pairs gave).
        counts = np.bincount(offsets)
        counts = counts + np.concatenate([counts[1:], [0]])  # a line split across two rows
        fullest[index] = counts.max(initial=0)
        if fullest[index] > best:
            best, best_slope, best_counts = int(fullest[index]), float(slope), counts
    return best_slope, best_counts, fullest


def shear_shifts(width: int, slope: float) -> tuple[np.ndarray, int]:
    """(shifts, padding): each column's whole-row shift that makes lines of ``slope`` level, and the
    rows of padding the sheared image needs above and below."""
    shifts = np.round(np.arange(width) * slope).astype(np.intp)
    shifts -= shifts.min()
    return shifts, int(shifts.max())


def in_frame(height: int, shifts: np.ndarray, padding: int) -> np.ndarray:
    """int (height + padding,): how many columns of each row of a ``sheared`` image lie in the photo."""
    edges = np.zeros(height + padding + 1, dtype=np.intp)
    np.add.at(edges, padding - shifts, 1)
    np.add.at(edges, padding - shifts + height, -1)
    return np.cumsum(edges)[:-1]


def sheared(view: np.ndarray, shifts: np.ndarray, padding: int) -> np.ndarray:
    """``view`` (h, w) with column c moved up by shifts[c] rows, in a frame padding rows taller: lines
    of the slope level. Undone exactly by ``unsheared``."""
    height, width = view.shape
    level = np.zeros((height + padding, width), dtype=view.dtype)
    rows = np.arange(height)[:, None] + (padding - shifts)[None, :]
    level[rows, np.arange(width)[None, :]] = view
    return level


def unsheared(level: np.ndarray, shifts: np.ndarray, padding: int) -> np.ndarray:
    """The inverse of ``sheared``: the (h, w) image back from its sheared frame."""
    height = level.shape[0] - padding
    rows = np.arange(height)[:, None] + (padding - shifts)[None, :]
    return level[rows, np.arange(level.shape[1])[None, :]]


def remove_folds(ink: np.ndarray) -> np.ndarray:
    """Erase folds, creases, a sheet's edge, shadow lines and a turned page's margin line: lone straight
    lines across a photo.

    A fold is found by ``fold_lines``. When the folds are all the ink there is (a blank sheet that was
    folded), they are all erased. When other ink is left (a digit), a fold is erased only if it is
    faint beside the pen (its median ink at most 0.6, as for a margin line), and only its pixels no
    stronger than itself, so the digit's strokes where they cross it stay; or if it is thin beside the
    pen (at most FOLD_THIN of the digit's stroke width, ``pen_width``: a printed line, red or black, on
    a turned page, whose ink the photo's normalisation may have left as strong as the pen's), and then
    only its pixels no part of a stroke of the pen's width (``pen_strokes``). A line as strong and as
    wide as the pen is the digit's own stroke (the bar of a 7 cropped tightly) and is kept. What
    erasing leaves of a fold, its dashes beyond the mask, goes (``without_leftovers``). Ink under
    1% of the folds' beside them (a speck) is no digit. Images under 128 pixels on a side are left alone.
    """
    if min(ink.shape) < FOLD_MIN_SIZE:
        return ink
    marks = ink > 0
    folds = [(fold, fold_thickness(fold)) for fold in fold_lines(marks)]
    folds += [(fold.T, fold_thickness(fold)) for fold in fold_lines(marks.T)]
    if not folds:
        return ink
    on_folds = np.logical_or.reduce([fold for fold, _ in folds])
    if ink[~on_folds].sum() <= 0.01 * ink[on_folds].sum():  # specks beside a fold are no digit
        return np.zeros_like(ink)
    pen = pen_width(marks & ~on_folds)
    cleaned = ink.copy()
    erased = False
    for fold, thickness in folds:
        level = float(np.median(ink[fold]))
        if level <= 0.6:
            cleaned[fold & (ink <= min(1.0, 1.5 * level + 0.15))] = 0
        elif thickness <= FOLD_THIN * pen:
            cleaned[fold & ~pen_strokes(marks, fold, (thickness + pen) / 2)] = 0
        else:
            continue
        erased = True
    return without_leftovers(cleaned) if erased else cleaned


CORNER_REACH = 0.5  # of the frame's side: a line cutting a corner stays within this of it both ways
CORNER_FAINT = 0.6  # of the largest mark's median ink: a printed line this pale beside the pen's ink
CORNER_SMEAR = 0.4  # of the largest mark's median ink: a mark of any shape this pale is shade, no stroke
ELONGATED = 3.0  # a line's length over its width at least: a blob or a dot is no printed line
HAIRLINE = 0.35  # of the pen's stroke width: a straight mark this thin beside the writing is the page's
HAIRLINE_LONG = 0.5  # of the largest mark's height: the shortest such line (a shorter one is a dash or a speck)
PAGE_LINE_SPAN = 0.8  # of the frame along it: a straight line this long may be the page's (``without_long_lines``) ...
PAGE_LINE_LONGER = 3.0  # ... when it is this many times as long as the writing beside it is tall or wide
SIZEABLE_WRITING = 0.1  # of the largest mark's pixels: a mark this large beside such a line is writing
STRAIGHT_BAND = 4.0  # pixels from a mark's principal axis: a printed line's pixels lie this near it ...
STRAIGHT_SHARE = 0.9  # ... this many of them at least (the rest, stubs of lines that crossed it)
PALE_WRITING = 200  # pixels: a mark this large is writing, to which a pale line beside it is compared
PALE_TALL = 1.3  # of the writing's height: a pale straight mark beside it this tall is the page's, never a digit


def without_corner_cuts(ink: np.ndarray, lone: bool = False) -> np.ndarray:
    """``ink`` less the printed lines that only cut a corner of the frame: a turned page's margin
    line or ruling that comes in by one edge and leaves by the next, too short for a fold. A mark
    (8-connected) other than the largest goes when its box sits in a corner of the frame (it touches
    one of the top and bottom edges and one of the sides, no two opposite edges, and stays within
    CORNER_REACH of the frame's height and width), and it is either a straight line (``line_shape``)
    thin beside the pen (at most FOLD_THIN of the largest mark's ``digit.stroke_width``) or pale
    beside it (its median ink at most CORNER_FAINT of the largest mark's), or of any shape and
    paler still (CORNER_SMEAR: the corner of a shadow, a faint triangle, left by relighting). A
    digit's own stroke reaches further in, or is as wide and as dark as the pen, and stays. With
    ``lone`` (the page's ruled lines were just erased), a straight line in a corner that is the only
    mark goes too (``without_lone_corner_cut``). Images under 128 pixels on a side are left alone."""
    from scipy import ndimage

    marks = ink > 0
    if min(ink.shape) < FOLD_MIN_SIZE:
        return ink
    if not (marks[0].any() or marks[-1].any()) or not (marks[:, 0].any() or marks[:, -1].any()):
        return ink  # no mark reaches an edge on each axis: no corner is cut
    labels, count, largest = labelled_marks(marks)
    if count < 2:
        return without_lone_corner_cut(ink, labels) if lone and count == 1 else ink
    boxes = ndimage.find_objects(labels)
    pen = None
    cut = np.zeros(count + 1, dtype=bool)
    for label, box in enumerate(boxes, start=1):
        if label == largest or not in_corner(box, ink.shape):
            continue
        piece = labels[box] == label
        if pen is None:
            body = boxes[largest - 1]
            pen = mark_width(labels, body, largest), median(ink[body][labels[body] == largest])
        pen_width, pen_ink = pen
        thickness, straight = line_shape(piece)
        paleness = median(ink[box][piece]) / pen_ink
        cut[label] = paleness <= CORNER_SMEAR or (
            straight and (thickness <= FOLD_THIN * pen_width or paleness <= CORNER_FAINT)
        )
    return np.where(cut[labels], np.float32(0), ink) if cut.any() else ink


def without_hairlines(ink: np.ndarray) -> np.ndarray:
    """``ink`` (h, w), float32 0-1, less the page's hairlines beside the writing: marks (8-connected)
    other than the largest, at least HAIRLINE_LONG of its height long, that are straight lines
    (``line_shape``) at most HAIRLINE of the pen's stroke width (``digit.stroke_width``) thick, or
    of any width at most CORNER_FAINT as dark as the largest mark when that is writing, above or
    below it (``pale_marks``). The
    pen is the largest mark's width, or the median over it and the other long marks that are no
    straight lines (the writing's other digits) when that is less. A margin line or a sheet's edge
    beside a number, often in pieces where the rulings crossing it were erased and so no fold, was
    read as a leading or trailing "1": pages' lines are printed or cut far thinner than a pen
    writes. A digit's own strokes, a 1 among them, are the pen's width; a shorter thin mark (a
    dash, a decimal point) stays. With the largest mark alone as the pen, a marker's 8 filled into
    a blob (69 pixels wide) made the leading 1 of "148778" (21 pixels, as wide as the other digits'
    strokes) a hairline. Run after the shade is gone (``remnants``), so that the largest mark is
    the writing. Lines far longer than the writing is tall go first, however thick
    (``without_long_lines``). Maps under 128 pixels on a side are left alone.
    """
    from scipy import ndimage

    if min(ink.shape) < FOLD_MIN_SIZE:
        return ink
    ink = without_long_lines(ink)
    frame = bounding_box(ink > 0)  # labelled on the ink's box alone: the same marks, far faster
    if frame is None:
        return ink
    labels, count, largest = labelled_marks(ink[frame] > 0)
    if count < 2:
        return ink
    boxes = ndimage.find_objects(labels)
    shortest = HAIRLINE_LONG * (boxes[largest - 1][0].stop - boxes[largest - 1][0].start)
    long = [
        label
        for label, box in enumerate(boxes, start=1)
        if label != largest and max(span.stop - span.start for span in box) >= shortest
    ]
    shapes = {label: line_shape(labels[boxes[label - 1]] == label) for label in long}
    straight = [label for label in long if shapes[label][1]]
    if not straight:
        return ink
    paler = pale_marks(ink[frame], labels, boxes, straight, largest)

    def thinner_than(pen: float) -> list[int]:
        return [label for label in straight if shapes[label][0] <= HAIRLINE * pen or label in paler]

    pen = mark_width(labels, boxes[largest - 1], largest)
    if not thinner_than(pen):
        return ink
    # Thin beside the largest mark: thin beside the writing's usual pen too? (measured only now: a
    # distance transform per digit, and most straight marks, a number's 1s, are kept at once)
    others = [mark_width(labels, boxes[label - 1], label) for label in long if not shapes[label][1]]
    hairlines = thinner_than(min(pen, float(np.median([pen, *others]))))
    return without_marks(ink, frame, labels, hairlines)


def pale_marks(
    ink: np.ndarray, labels: np.ndarray, boxes: list[tuple[slice, slice]], candidates: list[int], largest: int
) -> set[int]:
    """The ``candidates`` among the marks ``labels`` (int (h, w), of ``ink``'s box; ``boxes``, their
    ``scipy.ndimage.find_objects``) whose median ink is at most CORNER_FAINT of the ``largest``
    mark's, when that holds PALE_WRITING pixels at least, above or below it (sharing none of its
    rows): a printed line's remnant beside the pen's writing, however wide (a photographed ruled
    page's line fading out of the erasing, 0.23 beside a thin pen's 2 at 1.0, read as an 8 with
    it). A number's 1 photographed in a lighting gradient may be as pale beside its largest digit,
    but it shares the digit's rows ("13" read "3" without that), and is no taller than the writing:
    a pale straight mark beside it PALE_TALL times as tall as the median of the other marks at least
    HAIRLINE_LONG of the largest's height (the writing's digits) is the page's (helper-41's sticky
    note's edge, 0.21 as dark and 1.45x as tall as the 6 beside it, read "61"; measured against the
    largest mark alone, a thin 8 beside a bold, flat 0 went); in a map of specks (a relit desk's
    grain) the largest speck is no writing to compare with."""

    def mark_ink(label: int) -> np.ndarray:
        box = boxes[label - 1]
        return ink[box][labels[box] == label]

    writing = mark_ink(largest)
    if len(writing) < PALE_WRITING:
        return set()
    level = median(writing)
    rows = boxes[largest - 1][0]
    heights = np.array([box[0].stop - box[0].start for box in boxes])
    tall = heights >= HAIRLINE_LONG * heights[largest - 1]  # the writing's digits (bars and dots left out)

    def apart_or_taller(label: int) -> bool:
        box = boxes[label - 1]
        if box[0].stop <= rows.start or box[0].start >= rows.stop:
            return True
        others = np.delete(heights, label - 1)[np.delete(tall, label - 1)]
        return bool(len(others)) and heights[label - 1] >= PALE_TALL * median(others)

    return {label for label in candidates if apart_or_taller(label) and median(mark_ink(label)) <= CORNER_FAINT * level}


def without_long_lines(ink: np.ndarray) -> np.ndarray:
    """``ink`` (h, w), float32 0-1, less the straight lines (``mostly_straight``) that run over
    PAGE_LINE_SPAN of the frame along their axis and over PAGE_LINE_LONGER times as far as the
    writing beside them is tall or wide: a margin line left on a photographed page (in a vignette
    it fades short of the edges and is as dark as a fine pen, so ``remove_ruled_lines`` keeps it)
    beside a small digit, read as the number's leading "1" or as the digit (helper-38: a 3 and a 7
    read "1" at 100%). The writing is every other mark of SIZEABLE_WRITING of the largest's pixels
    at least; without it a line is left alone, a 1 cropped tight. A number's digits share their
    height, so its 1s are never that much taller than the rest."""
    from scipy import ndimage

    frame = bounding_box(ink > 0)
    if frame is None or all((span.stop - span.start) < PAGE_LINE_SPAN * side for span, side in zip(frame, ink.shape)):
        return ink  # nothing runs that far (nearly every photo stops here)
    labels, count, _ = labelled_marks(ink[frame] > 0)
    if count < 2:
        return ink
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    boxes = ndimage.find_objects(labels)
    extents = [(box[0].stop - box[0].start, box[1].stop - box[1].start) for box in boxes]
    lines = [
        label
        for label in range(1, count + 1)
        if max(e / side for e, side in zip(extents[label - 1], ink.shape)) >= PAGE_LINE_SPAN
        and mostly_straight(labels[boxes[label - 1]] == label)
    ]
    if not lines:
        return ink
    writing = [
        label for label in range(1, count + 1) if label not in lines and sizes[label] >= SIZEABLE_WRITING * sizes.max()
    ]
    if not writing:
        return ink
    tallest = max(max(extents[label - 1]) for label in writing)
    return without_marks(
        ink, frame, labels, [label for label in lines if max(extents[label - 1]) >= PAGE_LINE_LONGER * tallest]
    )


def without_marks(ink: np.ndarray, frame: tuple[slice, slice], labels: np.ndarray, erased: list[int]) -> np.ndarray:
    """``ink`` (h, w) less the marks ``erased`` of ``labels``, the marks labelled in ``ink[frame]``:
    ``ink`` itself when there are none, else a copy."""
    if not erased:
        return ink
    cut = np.zeros(int(labels.max()) + 1, dtype=bool)
    cut[erased] = True
    cleaned = ink.copy()
    cleaned[frame] = np.where(cut[labels], np.float32(0), ink[frame])
    return cleaned


def mostly_straight(piece: np.ndarray) -> bool:
    """Whether a boolean mark (h, w) is a straight line with at most stubs on it: STRAIGHT_SHARE of
    its pixels within STRAIGHT_BAND pixels of its principal axis, and as long as ELONGATED times
    its width (``line_shape``'s, on those pixels). A margin line keeps the stubs of the ruled lines
    that crossed it; a digit's strokes curve or turn away from any one line."""
    rows, cols = np.nonzero(piece)
    if len(rows) < 3:
        return False
    points = np.stack([rows, cols], axis=1).astype(np.float64)
    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((points - centre).T))
    across = np.abs((points - centre) @ vectors[:, 0])  # the eigenvector of the smaller eigenvalue
    near = across <= STRAIGHT_BAND
    if near.mean() < STRAIGHT_SHARE:
        return False
    along = (points[near] - centre) @ vectors[:, 1]
    return float(np.ptp(along)) >= ELONGATED * max(1.0, near.sum() / max(float(np.ptp(along)), 1.0))


def without_lone_corner_cut(ink: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``ink`` (h, w), whose one mark is ``labels``' 1, empty when that mark is a straight line
    (``line_shape``) in a corner of the frame (``in_corner``): on a page whose ruled lines were just
    erased, a turned page's margin line coming in by one edge and leaving by the next is all there is
    (a blank page's, read as a "1"). A digit written there alone would reach further in."""
    from scipy import ndimage

    box = ndimage.find_objects(labels)[0]
    if in_corner(box, ink.shape) and line_shape(labels[box] == 1)[1]:
        return np.zeros_like(ink)
    return ink


def in_corner(box: tuple[slice, slice], shape: tuple[int, int], reach: float = CORNER_REACH) -> bool:
    """Whether a mark's box (rows, cols) sits in a corner of a frame ``shape`` (h, w): on one of its
    top and bottom edges and one of its sides, on no two opposite edges, and within ``reach`` of
    its height and width."""
    for span, length in zip(box, shape):
        first, last = span.start == 0, span.stop == length
        if first == last or span.stop - span.start > reach * length:
            return False  # on neither edge or on both, or reaching too far in
    return True


def line_shape(piece: np.ndarray) -> tuple[float, bool]:
    """(width in pixels, whether a straight line) of a boolean mark (h, w): its pixel count over its
    length along its principal axis (the covariance's larger eigenvalue, as a uniform segment's
    sqrt(12 var)); straight when its extent across that axis is at most 1.5 times that width plus a
    pixel and its length is at least ELONGATED times its width (a blob is compact, not a line)."""
    rows, cols = np.nonzero(piece)
    if len(rows) < 3:
        return float(len(rows)), False
    across, along = np.linalg.eigvalsh(np.cov(np.stack([rows, cols]).astype(np.float64)))
    length = max(1.0, float(np.sqrt(12 * max(along, 0.0))))
    thickness = len(rows) / length
    straight = float(np.sqrt(12 * max(across, 0.0))) <= 1.5 * thickness + 1 and length >= ELONGATED * thickness
    return thickness, straight


def fold_thickness(fold: np.ndarray) -> float:
    """The median count of a fold's pixels (boolean (h, w), a line running down the rows) in the rows
    it has any: its width across, in pixels."""
    per_row = count_along(fold, axis=1)
    return float(median(per_row[per_row > 0]))


def pen_width(marks: np.ndarray) -> float:
    """The stroke width in pixels (``digit.stroke_width``) of the largest mark (8-connected) of boolean
    ``marks`` (h, w): the digit's body, not the thin leftovers of lines beside it; 0 for no marks."""
    from scipy import ndimage

    labels, count, largest = labelled_marks(marks)
    if count == 0:
        return 0.0
    return mark_width(labels, ndimage.find_objects(labels, max_label=largest)[largest - 1], largest)


def labelled_marks(marks: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(labels, count, largest): the marks (8-connected) of boolean ``marks`` (h, w) labelled 1 to
    ``count`` (``scipy.ndimage.label``; int32 (h, w), 0 the background), and the label of the one
    with the most pixels (0 when there are none)."""
    from scipy import ndimage

    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    if count == 0:
        return labels, 0, 0
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels, count, int(np.argmax(sizes))


def mark_width(labels: np.ndarray, box: tuple[slice, slice], label: int) -> float:
    """The stroke width in pixels (``digit.stroke_width``) of the mark ``label`` of ``labels`` (h, w),
    whose box is ``box``: measured on the box with a pixel of background around it, the same value
    as on the whole frame without a whole frame's distance transform."""
    from mnist_cnn.preprocessing.digit import stroke_width

    return stroke_width(np.pad(labels[box] == label, 1))


def pen_strokes(marks: np.ndarray, fold: np.ndarray, width: float) -> np.ndarray:
    """Boolean (h, w): the pixels of ``marks`` near a ``fold`` (within ``width``) that belong to a stroke
    at least ``width`` pixels wide: within width / 2 of a pixel that far from the background (an
    opening by a disk, by two Euclidean distance transforms, ``scipy.ndimage``), worked out on the
    fold's box only. A thinner line there is left out."""
    from scipy import ndimage

    box = bounding_box(fold, margin=int(np.ceil(width)) + 1)
    near = np.pad(marks[box], 1)
    radius = width / 2
    cores = ndimage.distance_transform_edt(near) >= radius + 0.5  # a disk of that width fits around them
    strokes = np.zeros_like(marks)
    if cores.any():
        strokes[box] = (near & (ndimage.distance_transform_edt(~cores) <= radius + 1))[1:-1, 1:-1]
    return strokes


def edge_to_edge_lines(
    marks: np.ndarray, apart: int, least: float, most: float = np.inf
) -> list[tuple[float, float, float, np.ndarray]]:
    """(cos, sin, offset, crossed) of each straight line that the ink of ``marks`` (h, w, boolean)
    may lie along from its top edge to its bottom edge, or out by a side over FOLD_MIN_LENGTH of its
    rows, tilted at most FOLD_MAX_TILT degrees from its columns: the peaks of a straight-line Hough
    transform (Duda and Hart 1972, ``skimage.transform.hough_line``) in quarter degrees, ``apart``
    pixels apart at least, with ``least`` marked pixels along them at least, ``most`` of them.
    A pixel (row, col) is ``col * cos + row * sin - offset`` pixels off the line; ``crossed``: the
    rows the line crosses within the image (one run)."""
    from skimage.transform import hough_line, hough_line_peaks

    height, width = marks.shape
    tilts = np.deg2rad(np.arange(-FOLD_MAX_TILT, FOLD_MAX_TILT + 0.125, 0.25))
    accumulator, tilts, offsets = hough_line(marks, theta=tilts)
    peaks = hough_line_peaks(
        accumulator, tilts, offsets, min_distance=apart, min_angle=len(tilts), threshold=least, num_peaks=most
    )
    lines = []
    for _, tilt, offset in zip(*peaks):
        cos, sin = np.cos(tilt), np.sin(tilt)
        along = (offset - np.arange(height) * sin) / cos  # the line's column in each row
        crossed = np.flatnonzero((along >= 0) & (along <= width - 1))  # its rows in the image: one run
        if len(crossed) < FOLD_MIN_LENGTH * height or (crossed[0] > 0 and crossed[-1] < height - 1):
            continue  # too short, or in and out by the sides: not from edge to edge
        lines.append((cos, sin, offset, crossed))
    return lines


def fold_lines(marks: np.ndarray) -> list[np.ndarray]:
    """Boolean masks (h, w) of the straight lines in ``marks`` that run across it from edge to edge,
    tilted at most 12 degrees from its columns: from its top edge to its bottom edge, or, near a side,
    from one of them out by that side (a turned page's margin line) over FOLD_MIN_LENGTH of the rows
    at least; with ink in 97% of the rows they cross, at most 5% of the width thick.

    Candidates are the peaks of a straight-line Hough transform (Duda and Hart 1972, scikit-image)
    over those tilts, in quarter degrees; each is checked along its length in the image: the ink within
    5% of the width of the line must be there in 97% of those rows and, in the median row, no thicker
    than 5% of the width (a shadow over half the page is). Its mask is that ink.
    """
    height, width = marks.shape
    inked = marks.any(axis=1)
    edge = max(1, int(0.03 * height))
    if inked.mean() < FOLD_SPAN * FOLD_MIN_LENGTH or not (inked[:edge].any() or inked[-edge:].any()):
        return []  # too few rows with ink, or none at the top or bottom: nothing runs in from an edge
    limit = FOLD_MAX_WIDTH * width
    rows, cols = np.nonzero(marks)
    folds = []
    for cos, sin, offset, crossed in edge_to_edge_lines(marks, int(2 * limit) + 1, 0.6 * FOLD_MIN_LENGTH * height):
        distance = cols * cos + rows * sin - offset  # signed, perpendicular to the line, in pixels
        near = np.abs(distance) <= limit
        per_row = np.bincount(rows[near], minlength=height)[crossed[0] : crossed[-1] + 1]
        if (per_row > 0).mean() < FOLD_SPAN or np.median(per_row[per_row > 0]) > limit:
            continue
        fold = np.zeros_like(marks)
        fold[rows[near], cols[near]] = True
        folds.append(fold)
    return folds


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D boolean array."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
