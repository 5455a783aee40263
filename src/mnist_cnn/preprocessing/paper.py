"""The paper and the ink on it: the sheet in a photo, its lighting, which side the ink is, ruled lines.

Every step takes and returns float32 arrays (h, w). Grayscale images hold values 0-255; ink maps hold
0-1, light ink on dark as in MNIST. Image processing comes from ``scipy.ndimage``.
"""

from __future__ import annotations

import functools

import numpy as np

from mnist_cnn.errors import ImageError
from mnist_cnn.preprocessing.filters import neighbourhood_count, neighbourhood_max
from mnist_cnn.preprocessing.resize import shrink

MIN_CONTRAST = 10.0  # grey levels: ink fainter than this against its paper is not told from paper
NOISE_SIGMAS = 4.0  # ink must stand this many noise standard deviations above the paper
MIN_SPECK = 3  # pixels: smaller isolated marks are sensor noise or dust, not ink
SURFACE_BAND = 64  # rows of the lighting surface computed at once: two float64 buffers that fit in cache
FOLD_MIN_SIZE = 128  # pixels: a tiny scan (enlarged to 64) or a small crop of a 1 has no folds, only strokes
FOLD_MAX_TILT = 12.0  # degrees: a fold or a sheet's edge lies within this of the photo's axes
FOLD_MAX_WIDTH = 0.05  # of the image across the line: a broad soft fold still; a cropped 1's stroke is wider
FOLD_SPAN = 0.97  # of the image along the line: a fold runs from edge to edge, a written stroke stops short


def otsu_threshold(values: np.ndarray) -> tuple[float, float]:
    """(threshold, effectiveness) of Otsu's method (Otsu 1979) on values 0-255.

    Effectiveness is the between-class share of the variance, 0-1: 1 for two flat levels, 0.75 for
    a linear ramp; it says how two-toned the values are.
    """
    counts, edges = level_counts(values, 256), np.arange(257.0)  # np.histogram's bins and edges
    probability = counts / max(counts.sum(), 1)
    levels = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(probability)
    mean = np.cumsum(probability * levels)
    total_mean, total_variance = mean[-1], float((probability * (levels - mean[-1]) ** 2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight - mean) ** 2 / (weight * (1 - weight))
    between = np.nan_to_num(between)
    best = int(np.argmax(between))
    effectiveness = float(between[best] / total_variance) if total_variance > 0 else 0.0
    return float(edges[best + 1]), effectiveness


def find_sheet(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """The (top, bottom, left, right) of a bright sheet of paper photographed on a darker surface,
    inset a little so its edges stay out, or None when the paper fills the frame.

    The sheet is the largest bright connected region (Otsu threshold of a 128-pixel copy), holes
    filled. It counts as a sheet only when it is clearly one: away from the frame's edge on two sides
    at least (the desk shows there; a bold digit touching the edge is not a desk), 20-97% of the
    frame, spanning at least 40% of it each way, nearly rectangular (85% of its bounding box), holding at most a quarter
    dark marks, sharply two-toned against a surface at least 40 grey levels darker. A light digit on
    a dark canvas fails these (too thin, or too much hole), as does a lighting gradient (not two-toned).
    """
    from scipy import ndimage

    small = shrink(gray, 128)
    smooth = ndimage.uniform_filter(small, 3)
    threshold, effectiveness = otsu_threshold(smooth)
    if effectiveness < 0.8:
        return None
    bright = smooth > threshold
    labels, count = ndimage.label(bright)
    if count == 0:
        return None
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))  # the most pixels; sum_labels' choice
    sheet = fill_holes(labels == largest)
    rows, cols = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    area = int(sheet.sum())
    gaps = (rows[0], sheet.shape[0] - 1 - rows[-1], cols[0], sheet.shape[1] - 1 - cols[-1])
    if not (
        sum(gap >= 0.02 * max(sheet.shape) for gap in gaps) >= 2  # the desk shows on two sides at least
        and 0.2 <= area / sheet.size <= 0.97
        and height >= 0.4 * sheet.shape[0]
        and width >= 0.4 * sheet.shape[1]
        and area >= 0.85 * height * width
        and (sheet & ~bright).sum() <= 0.25 * area
        and float(np.median(small[sheet])) - float(np.median(small[~sheet])) >= 40
    ):
        return None
    scale_y, scale_x = gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1]
    inset_y, inset_x = 0.04 * height, 0.04 * width  # past the sheet's edge and its shadow
    return (
        int((rows[0] + inset_y) * scale_y),
        int(np.ceil((rows[-1] + 1 - inset_y) * scale_y)),
        int((cols[0] + inset_x) * scale_x),
        int(np.ceil((cols[-1] + 1 - inset_x) * scale_x)),
    )


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_fill_holes(mask)``: a boolean 2-D ``mask`` with every region of False
    (4-connected) that does not reach the frame's edge made True. The background is labelled once,
    where scipy dilates from the edge pass after pass until nothing changes (2x slower)."""
    from scipy import ndimage

    background, count = ndimage.label(~mask)
    outside = np.zeros(count + 1, dtype=bool)
    outside[background[[0, -1], :]] = True
    outside[background[:, [0, -1]]] = True
    outside[0] = False  # label 0 is the mask itself
    return ~outside[background]


def crop_to_sheet(gray: np.ndarray) -> np.ndarray:
    """``gray`` cut to the sheet of paper in it (see ``find_sheet``), or unchanged. Images under 128
    pixels on a side (an enlarged scan, a thumbnail) are taken as the paper itself."""
    if min(gray.shape) < 128:
        return gray
    box = find_sheet(gray)
    if box is None:
        return gray
    top, bottom, left, right = box
    return gray[top:bottom, left:right]


def illumination(gray: np.ndarray, iterations: int = 4) -> tuple[np.ndarray, float]:
    """(surface, noise): the paper's brightness (h, w) under the photo's lighting, a quadratic surface
    fitted robustly, and the paper's noise (a robust standard deviation, in grey levels).

    Least squares on a grid of at most 32x32 samples, started three times: from the samples within
    16 grey levels of the most common level (where a tiny scan is mostly ink, spread over many
    levels), of the median (where the paper is a gradient) and of the median of the frame's rim
    (where a bold digit fills most of the frame); each start is refined by ``refine``. The fit that
    explains, within a common tolerance, the larger share of the samples plus the larger share of the
    rim's is the paper. Ink, dark or light, drops out as
    outliers whatever its stroke width; gradients, vignettes and dim light are smooth and are fitted.
    A quadratic cannot follow a digit.
    """
    height, width = gray.shape
    ys, xs, samples, rim = sampling_grid(height, width)
    values = gray[np.ix_(ys, xs)].ravel().astype(np.float64)
    starts = (most_common_level(values), median(values), median(values[rim]))
    distinct = [start for index, start in enumerate(starts) if all(abs(start - s) > 8 for s in starts[:index])]
    fits = [refine(samples, values, np.abs(values - start) <= 16, iterations) for start in distinct]
    tolerance = max(3 * min(spread for _, spread in fits), 2.0)
    explained = [np.abs(values - samples @ coefficients) <= tolerance for coefficients, _ in fits]
    # The paper is what one surface explains most of, in the whole frame and along its rim alike: a
    # marker digit filling most of the frame still leaves the rim to the paper.
    support = [fit.mean() + fit[rim].mean() for fit in explained]
    coefficients, spread = fits[int(np.argmax(support))]
    return quadratic_surface(coefficients, height, width), spread


def quadratic_surface(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    """float32 (height, width): c0 + c1 x + c2 y + c3 x^2 + c4 xy + c5 y^2 of the six ``coefficients`` at
    every pixel, on ``surface_coordinates``' scale.

    The same float64 operations in the same order as that one expression, but done a band of rows at a
    time in two small buffers that stay in the processor's cache: a fresh full-size float64 temporary
    for every term cost 3x the arithmetic.
    """
    row, col = surface_coordinates(height, width)
    c = coefficients
    per_col, per_col_squared = c[0] + c[1] * col, c[3] * col * col
    per_row, cross_row, per_row_squared = c[2] * row, c[4] * row, c[5] * row * row
    surface = np.empty((height, width), dtype=np.float32)
    total, cross = np.empty((SURFACE_BAND, width)), np.empty((SURFACE_BAND, width))
    for start in range(0, height, SURFACE_BAND):
        rows = slice(start, min(start + SURFACE_BAND, height))
        size = rows.stop - start
        band = np.add(per_col, per_row[rows], out=total[:size])
        band += per_col_squared
        band += np.multiply(cross_row[rows], col, out=cross[:size])
        band += per_row_squared[rows]
        surface[rows] = band
    return surface


@functools.lru_cache(maxsize=64)
def sampling_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ys, xs, samples, rim) of ``illumination``'s fit for an image (height, width): the rows and
    columns sampled (at most 32 each), the quadratic basis (n, 6) at those samples, with the image's
    centre at 0 and its sides at +-0.5, and which samples lie on the rim. Cached: a server sees the same
    few sizes over and over, and building the grid costs more than fitting it. Read-only arrays."""
    ys = np.unique(np.linspace(0, height - 1, min(height, 32)).round().astype(int))
    xs = np.unique(np.linspace(0, width - 1, min(width, 32)).round().astype(int))
    y, x = np.meshgrid(ys / max(height - 1, 1) - 0.5, xs / max(width - 1, 1) - 0.5, indexing="ij")
    y, x = y.ravel(), x.ravel()
    samples = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    rim = (np.abs(y) > 0.4) | (np.abs(x) > 0.4)  # the outer tenth of the frame on each side
    grid = (ys, xs, samples, rim)
    for array in grid:
        array.flags.writeable = False
    return grid


@functools.lru_cache(maxsize=64)
def surface_coordinates(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(row (h, 1), col (1, w)): every pixel's position on ``sampling_grid``'s scale. Cached, read-only."""
    row = (np.arange(height) / max(height - 1, 1) - 0.5)[:, None]
    col = (np.arange(width) / max(width - 1, 1) - 0.5)[None, :]
    row.flags.writeable = col.flags.writeable = False
    return row, col


def most_common_level(values: np.ndarray) -> float:
    """The centre of the fullest of 32 bins of 8 grey levels over 0-256 (values outside left out)."""
    return float(8 * np.argmax(level_counts(values, 32)) + 4)


def level_counts(values: np.ndarray, bins: int) -> np.ndarray:
    """``np.histogram(values, bins, range=(0, 256))[0]`` for ``bins`` a power of two up to 256: the
    same counts (int64, values outside 0-256 left out, 256 itself in the last bin), found by
    np.bincount at a tenth of np.histogram's cost on the few thousand values preprocessing bins."""
    width = 256 // bins  # a power of two: the division below is exact, as np.histogram's is
    inside = values[(values >= 0) & (values <= 256)]
    return np.bincount(np.minimum(np.floor(inside / width), bins - 1).astype(np.intp), minlength=bins)


def refine(samples: np.ndarray, values: np.ndarray, inliers: np.ndarray, iterations: int):
    """(coefficients, spread) of a least-squares fit of ``values`` on the ``samples`` basis, refitted on
    the values within 3 robust standard deviations (1.4826 median absolute deviations) of the last
    fit: iteratively reweighted least squares with hard weights. ``spread``: that standard deviation."""
    coefficients, spread = np.zeros(samples.shape[1]), 0.0
    for _ in range(iterations):
        if inliers.sum() < 12:
            break
        chosen = samples[inliers]
        normal = chosen.T @ chosen + 1e-9 * np.eye(samples.shape[1])
        coefficients = np.linalg.solve(normal, chosen.T @ values[inliers])
        residual = values - samples @ coefficients
        near = residual[inliers]
        spread = 1.4826 * median(np.abs(near - median(near)))
        updated = np.abs(residual) <= max(3 * spread, 2.0)
        if np.array_equal(updated, inliers):
            break
        inliers = updated
    return coefficients, spread


def median(values: np.ndarray) -> float:
    """np.median of a non-empty, NaN-free array, without the checks and dispatch that cost more than
    the partition itself on the small arrays preprocessing works on (it runs per request in a server)."""
    flat = values.ravel()
    middle = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, middle)[middle])
    lower, upper = np.partition(flat, (middle - 1, middle))[middle - 1 : middle + 1]
    return (float(lower) + float(upper)) / 2


def ink_intensity(gray: np.ndarray) -> np.ndarray:
    """A grayscale photo or drawing (h, w), values 0-255, to its ink (h, w), values 0-1, light on dark.

    The paper is what the lighting surface fits (``illumination``); the ink is the side of it, darker
    or lighter, that holds more contrast above the noise: the minority of pixels, whatever the paper's
    grey level. Noise is 4 robust standard deviations of the residual (at least 10 grey levels);
    isolated marks under 3 pixels are dropped; the ink scale is the 90th percentile of the marks off
    rows and columns that are 85% ink (the pen's, not ruled lines'), so a digit of a handful of
    pixels keeps its full intensity.

    Raises:
        ImageError: "no digit found" when nothing stands out of the paper.
    """
    surface, noise = illumination(gray)
    residual = gray - surface
    threshold = max(NOISE_SIGMAS * noise, MIN_CONTRAST)
    # -residual - threshold is (-threshold) - residual bit for bit (IEEE addition commutes): the darker
    # side is measured without negating the frame, which only dark ink needs.
    dark = total_positive(np.subtract(-threshold, residual))
    light = total_positive(np.subtract(residual, threshold))
    ink = -residual if dark > light else residual
    # Everything after this looks only at the marks and the 2 pixels around them (the anti-aliased
    # edges): it runs on their bounding box, the same values as on the whole frame at a fraction of
    # the cost; the rest of the frame is no ink.
    box = bounding_box(ink > threshold, margin=2)
    if box is None:
        raise ImageError("no digit found: the image is blank")
    near = ink[box]
    marks = without_specks(near > threshold)
    if not marks.any():
        raise ImageError("no digit found: the image is blank")
    # Marks outside the box are none, so counts over the box's rows and columns are the frame's.
    across = (count_along(marks, axis=1) / gray.shape[1] >= 0.85)[:, None] | (
        count_along(marks, axis=0) / gray.shape[0] >= 0.85
    )[None, :]
    pen = marks & ~across  # the pen's ink: printed lines across the image may be most of the marks
    scale = float(np.percentile(near[pen if pen.any() else marks], 90))
    floor = max(threshold, 0.2 * scale)
    near_marks = neighbourhood_max(marks, 5)  # anti-aliased edges, not specks
    result = np.zeros(gray.shape, dtype=np.float32)
    result[box] = np.clip((np.where(near_marks, near, 0) - floor) / max(scale - floor, 1e-6), 0, 1)
    return result


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


def remove_ruled_lines(ink: np.ndarray, min_coverage: float = 0.85) -> np.ndarray:
    """Erase straight horizontal and vertical lines that run across the whole image (ruled and squared
    paper, a margin line), keeping the digit's strokes where they cross or lie on a line.

    A line is a run of rows (or columns) at most 4% of the image thick (and 4 pixels at least) in
    which ``min_coverage`` of the pixels are ink, with at least one more such line parallel to it
    (ruled paper has many), or, alone, spanning 95% of the image in ink at most 60% as strong as the
    pen's (a printed margin line). A digit cropped tightly (a 1, the bar of a 7) spans its image
    once, in the pen's full ink; images under 48 pixels are left alone. On a line, pixels clearly
    stronger than the line's own ink are kept (a digit written in darker ink than the printed line),
    and where the digit continues on both sides of the line, the gap is bridged. Folds, creases and
    a sheet's edge, straight lines from edge to edge at any small tilt, go too (``remove_folds``).
    """
    if min(ink.shape) < 48:
        return ink
    cleaned = ink.copy()
    for axis in (0, 1):
        view = cleaned if axis == 0 else cleaned.T  # rows of ``view`` are lines along this axis
        coverage = count_along(view > 0, axis=1) / view.shape[1]  # (view > 0).mean(axis=1)'s values
        limit = max(4, int(0.04 * view.shape[0]))
        lines = [(start, stop) for start, stop in runs(coverage >= min_coverage) if stop - start <= limit]
        for start, stop in lines:
            band = view[start:stop]
            level = float(np.median(band[band > 0]))
            if len(lines) == 1 and (coverage[start:stop].max() < 0.95 or level > 0.6):
                continue  # one dark bar across the image is a stroke of the digit; a margin line is fainter
            keep = band > min(1.0, 1.5 * level + 0.15)
            above = view[start - 1] if start > 0 else np.zeros(view.shape[1], np.float32)
            below = view[stop] if stop < view.shape[0] else np.zeros(view.shape[1], np.float32)
            bridge = np.minimum(above, below)
            view[start:stop] = np.where(keep, band, np.broadcast_to(bridge, band.shape))
    return remove_folds(cleaned)


def remove_folds(ink: np.ndarray) -> np.ndarray:
    """Erase folds, creases, a sheet's edge and shadow lines: lone straight lines across a photo.

    A fold is found by ``fold_lines``. When the folds are all the ink there is (a blank sheet that was
    folded), they are all erased. When other ink is left (a digit), a fold is erased only if it is
    faint beside the pen (its median ink at most 0.6, as for a margin line), and only its pixels no
    stronger than itself, so the digit's strokes where they cross it stay; a line as strong as the
    pen is then the digit's own stroke (the bar of a 7 cropped tightly) and is kept. Ink under 1% of
    the folds' beside them (a speck) is no digit. Images under 128 pixels on a side are left alone.
    """
    if min(ink.shape) < FOLD_MIN_SIZE:
        return ink
    marks = ink > 0
    folds = fold_lines(marks) + [fold.T for fold in fold_lines(marks.T)]
    if not folds:
        return ink
    on_folds = np.logical_or.reduce(folds)
    if ink[~on_folds].sum() <= 0.01 * ink[on_folds].sum():  # specks beside a fold are no digit
        return np.zeros_like(ink)
    cleaned = ink.copy()
    for fold in folds:
        level = float(np.median(ink[fold]))
        if level <= 0.6:
            cleaned[fold & (ink <= min(1.0, 1.5 * level + 0.15))] = 0
    return cleaned


def fold_lines(marks: np.ndarray) -> list[np.ndarray]:
    """Boolean masks (h, w) of the straight lines in ``marks`` that run from its top edge to its bottom
    edge, tilted at most 12 degrees, with ink in 97% of the rows, at most 5% of the width thick.

    Candidates are the peaks of a straight-line Hough transform (Duda and Hart 1972, scikit-image)
    over those tilts, in quarter degrees; each is checked along its length: the ink within 5% of the
    width of the line must be there in 97% of the rows and, in the median row, no thicker than 5% of
    the width (a shadow over half the page is). Its mask is that ink.
    """
    from skimage.transform import hough_line, hough_line_peaks

    height, width = marks.shape
    if marks.any(axis=1).mean() < FOLD_SPAN:
        return []  # no ink in some rows: nothing runs from top to bottom
    limit = FOLD_MAX_WIDTH * width
    tilts = np.deg2rad(np.arange(-FOLD_MAX_TILT, FOLD_MAX_TILT + 0.125, 0.25))
    accumulator, tilts, offsets = hough_line(marks, theta=tilts)
    peaks = hough_line_peaks(
        accumulator, tilts, offsets, min_distance=int(2 * limit) + 1, min_angle=len(tilts), threshold=0.6 * height
    )
    rows, cols = np.nonzero(marks)
    folds = []
    for _, tilt, offset in zip(*peaks):
        cos, sin = np.cos(tilt), np.sin(tilt)
        ends = (offset - np.array([0, height - 1]) * sin) / cos  # the line's columns at the top and bottom
        if ends.min() < 0 or ends.max() > width - 1:
            continue  # it leaves by a side: not from edge to edge
        distance = cols * cos + rows * sin - offset  # signed, perpendicular to the line, in pixels
        near = np.abs(distance) <= limit
        per_row = np.bincount(rows[near], minlength=height)
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
