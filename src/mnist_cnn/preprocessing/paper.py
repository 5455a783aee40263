"""The paper and the ink on it: the sheet in a photo, its lighting, which side the ink is, ruled lines.

Every step takes and returns float32 arrays (h, w). Grayscale images hold values 0-255; ink maps hold
0-1, light ink on dark as in MNIST. Image processing comes from ``scipy.ndimage``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mnist_cnn.errors import ImageError
from mnist_cnn.preprocessing import shading, shadows
from mnist_cnn.preprocessing.filters import median, neighbourhood_count, neighbourhood_max
from mnist_cnn.preprocessing.resize import shrink

MIN_CONTRAST = 10.0  # grey levels: ink fainter than this against its paper is not told from paper
NOISE_SIGMAS = 4.0  # ink must stand this many noise standard deviations above the paper
SHADOW_SHARE = 0.1  # of the frame marked as ink: more may be a hard shadow's edge (``shadows``)
FLOOR_SHARE = 0.2  # of the ink scale: fainter ink is a pen's halo, except in an enlarged tiny scan
SHADE_MIN_SIZE = 128  # pixels: no hand shades a scan this small; its blurred strokes' halo is no shade
SPOT_WIDTH = 0.15  # of the image's shorter side: light marks this wide are a lamp's spot, not chalk strokes
SPOT_SHARE = 0.5  # of the light marks: that many as wide as SPOT_WIDTH make a lamp's spot
SHADE_DEPTH = 0.9  # of the kept ink's depth (90th percentile): the shade a closing takes away is paler
SHADOW_LEFT = 0.5  # of the marks: a shadow divided out takes away more, or it was not the shadow's edge
MIN_SPECK = 3  # pixels: smaller isolated marks are sensor noise or dust, not ink
REFINE_ITERATIONS = 4  # reweightings of the lighting fits
LAMP_DEGREE = 4  # a desk lamp's spot of light is a bump a quartic follows and a quadratic cannot
LAMP_MIN_SIZE = 128  # pixels: no lamp lights a scan or a thumbnail this small
LAMP_GAIN = 0.02  # of the samples, in the frame and on its rim: what a quartic must explain beyond a quadratic
SURFACE_BAND = 64  # rows of the lighting surface computed at once: two float64 buffers that fit in cache
FOLD_MIN_SIZE = 128  # pixels: a tiny scan (enlarged to 64) or a small crop of a 1 has no folds, only strokes
FOLD_MAX_TILT = 12.0  # degrees: a fold or a sheet's edge lies within this of the photo's axes
FOLD_MAX_WIDTH = 0.05  # of the image across the line: a broad soft fold still; a cropped 1's stroke is wider
FOLD_SPAN = 0.97  # of the image along the line: a fold runs from edge to edge, a written stroke stops short
FOLD_MIN_LENGTH = 0.4  # of the image along the line: a turned page's margin line out by a side runs this far
FOLD_THIN = 0.6  # of the pen's stroke width: a line thinner than this beside the digit is printed, however dark


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


@dataclass(frozen=True)
class Sheet:
    """A sheet of paper found in a photo (``find_sheet``): ``box`` (top, bottom, left, right) in the
    photo's pixels, inside the sheet's edges, and ``desk``, a boolean (bottom - top, right - left) of the
    box's pixels that show the desk beside a tilted sheet, or None when the box holds only paper."""

    box: tuple[int, int, int, int]
    desk: np.ndarray | None = None

    def cut(self, gray: np.ndarray) -> np.ndarray:
        """``gray`` (h, w) cut to the box, the desk in it covered by the nearest paper pixel's value
        (``scipy.ndimage.distance_transform_edt``'s indices): only paper and the digit are left."""
        from scipy import ndimage

        top, bottom, left, right = self.box
        cropped = gray[top:bottom, left:right]
        if self.desk is None:
            return cropped
        rows, cols = ndimage.distance_transform_edt(self.desk, return_distances=False, return_indices=True)
        return cropped[rows, cols]


def find_sheet(gray: np.ndarray) -> Sheet | None:
    """The sheet of paper in a photo of it on a darker surface (a desk), upright or tilted, inset a
    little so its edges stay out; None when the paper fills the frame.

    The sheet is the largest bright connected region (Otsu threshold of a 128-pixel copy), holes
    filled. It counts as a sheet only when it is clearly one: away from the frame's edge on two sides
    at least, or on one side by more than the pen's width when a digit is written on it
    (``desk_beside``: a bold digit touching the edge is not a desk), 8-97% of the
    frame, nearly a rectangle at any angle (85% of its minimum-area bounding rectangle), that
    rectangle's shorter side at least 30% of the frame's shorter side, holding at most a quarter dark
    marks, sharply two-toned against a surface at least 40 grey levels darker. A light digit on a
    dark canvas fails these (too thin, a ring, too much hole), as does a lighting gradient (not
    two-toned). An upright sheet is cut to its box inset by 4% of its size each way; a tilted one
    (the desk would show in that box) to the box of the sheet eroded by as much, the desk's corners
    in it marked (``Sheet.desk``).
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
    marks = sheet & ~bright  # the digit written on it
    if not (
        0.08 <= area / sheet.size <= 0.97
        and marks.sum() <= 0.25 * area
        and float(np.median(small[sheet])) - float(np.median(small[~sheet])) >= 40
        and desk_beside(gaps, marks, max(sheet.shape))
    ):
        return None
    rectangle_area, shorter_side = minimum_area_rectangle(sheet)
    if area < 0.85 * rectangle_area or shorter_side < 0.3 * min(sheet.shape):
        return None
    scale_y, scale_x = gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1]
    inset_y, inset_x = 0.04 * height, 0.04 * width  # past the sheet's edge and its shadow
    top, bottom = int(rows[0] + inset_y), int(np.ceil(rows[-1] + 1 - inset_y))
    left, right = int(cols[0] + inset_x), int(np.ceil(cols[-1] + 1 - inset_x))
    if sheet[top:bottom, left:right].all():  # upright: the inset box holds only paper
        return Sheet(
            (
                int((rows[0] + inset_y) * scale_y),
                int(np.ceil((rows[-1] + 1 - inset_y) * scale_y)),
                int((cols[0] + inset_x) * scale_x),
                int(np.ceil((cols[-1] + 1 - inset_x) * scale_x)),
            )
        )
    inner = ndimage.distance_transform_edt(np.pad(sheet, 1))[1:-1, 1:-1] > 0.04 * shorter_side
    if not inner.any():
        return None
    rows, cols = np.flatnonzero(inner.any(axis=1)), np.flatnonzero(inner.any(axis=0))
    box = (
        int(rows[0] * scale_y),
        int(np.ceil((rows[-1] + 1) * scale_y)),
        int(cols[0] * scale_x),
        int(np.ceil((cols[-1] + 1) * scale_x)),
    )
    # Each pixel of the box takes the small mask's value at its centre.
    at_rows = np.minimum(((np.arange(box[0], box[1]) + 0.5) / scale_y).astype(int), sheet.shape[0] - 1)
    at_cols = np.minimum(((np.arange(box[2], box[3]) + 0.5) / scale_x).astype(int), sheet.shape[1] - 1)
    desk = ~inner[np.ix_(at_rows, at_cols)]
    return Sheet(box, desk if desk.any() else None)


def desk_beside(gaps: tuple[int, ...], marks: np.ndarray, longest: int) -> bool:
    """Whether the dark margins beside a bright region are a desk: ``gaps`` (top, bottom, left, right),
    pixels between the region and the frame's edges, at least 2% of the ``longest`` side on two sides
    (a bold digit touching the frame's edge is not a desk); on one side only, when the region holds
    ``marks`` (boolean, a digit written on the sheet) and that margin is wider than their strokes
    (twice the 90th percentile of their distance transform): a 1 cropped tightly along the frame's
    edge, the only mark, is no desk. (A 1 so cropped beside another digit, "10" cut along the 1, is
    taken for one.)"""
    from scipy import ndimage

    sides = [gap for gap in gaps if gap >= 0.02 * longest]
    if len(sides) >= 2:
        return True
    if len(sides) == 0 or not marks.any():
        return False
    distance = ndimage.distance_transform_edt(np.pad(marks, 1))[1:-1, 1:-1]
    stroke = 2 * float(np.percentile(distance[marks], 90))
    return sides[0] > stroke


def minimum_area_rectangle(mask: np.ndarray) -> tuple[float, float]:
    """(area, shorter side) in pixels of the smallest rectangle, at any angle, holding every True
    pixel of a boolean ``mask`` (h, w) with at least one: one side lies along an edge of the pixels'
    convex hull (Freeman and Shapira 1975), so each edge's direction is tried (``scipy.spatial``'s
    hull). A pixel counts as a unit square: an upright rectangle of h x w pixels gives (h * w, min(h, w))."""
    from scipy.spatial import ConvexHull, QhullError

    rows, cols = np.nonzero(mask)
    corners = np.concatenate([np.stack([rows + dy, cols + dx], axis=1) for dy in (0, 1) for dx in (0, 1)]).astype(
        np.float64
    )
    try:
        hull = corners[ConvexHull(corners).vertices]
    except QhullError:  # all on one line
        return float(len(rows)), 1.0
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.arctan2(edges[:, 0], edges[:, 1])
    cos, sin = np.cos(angles), np.sin(angles)
    along = hull[:, 1, None] * cos + hull[:, 0, None] * sin  # (points, directions)
    across = -hull[:, 1, None] * sin + hull[:, 0, None] * cos
    lengths, widths = np.ptp(along, axis=0), np.ptp(across, axis=0)
    best = int(np.argmin(lengths * widths))
    return float(lengths[best] * widths[best]), float(min(lengths[best], widths[best]))


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
    sheet = find_sheet(gray)
    return gray if sheet is None else sheet.cut(gray)


def illumination(gray: np.ndarray, iterations: int = REFINE_ITERATIONS, flat: bool = False) -> tuple[np.ndarray, float]:
    """(surface, noise): the paper's brightness (h, w) under the photo's lighting, a quadratic surface
    fitted robustly, and the paper's noise (a robust standard deviation, in grey levels). With
    ``flat``, a plane: a tiny scan enlarged to work size is lit evenly, and a quadratic could take a
    0 that fills its frame (a dark ring round a light middle) for the paper.

    Least squares on a grid of at most 32x32 samples, started three times: from the samples within
    16 grey levels of the most common level (where a tiny scan is mostly ink, spread over many
    levels), of the median (where the paper is a gradient) and of the median of the frame's rim
    (where a bold digit fills most of the frame); each start is refined by ``refine``. The fit that
    explains, within a common tolerance, the larger share of the samples plus the larger share of the
    rim's is the paper. Ink, dark or light, drops out as
    outliers whatever its stroke width; gradients, vignettes and dim light are smooth and are fitted.
    A quadratic cannot follow a digit. A desk lamp's spot of light is fitted by a quartic
    (``lamp_light``) when that explains clearly more of the paper.
    """
    height, width = gray.shape
    ys, xs, samples, rim = sampling_grid(height, width)
    if flat:
        samples = samples[:, :3]  # 1, x, y
    values = gray[np.ix_(ys, xs)].ravel().astype(np.float64)
    starts = (most_common_level(values), median(values), median(values[rim]))
    distinct = [start for index, start in enumerate(starts) if all(abs(start - s) > 8 for s in starts[:index])]
    fits = [refine(samples, values, np.abs(values - start) <= 16, iterations) for start in distinct]
    tolerance = max(3 * min(spread for _, spread in fits), 2.0)
    explained = [np.abs(values - samples @ coefficients) <= tolerance for coefficients, _ in fits]
    # The paper is what one surface explains most of, in the whole frame and along its rim alike: a
    # marker digit filling most of the frame still leaves the rim to the paper.
    support = [fit.mean() + fit[rim].mean() for fit in explained]
    best = int(np.argmax(support))
    coefficients, spread = fits[best]
    if flat:
        return quadratic_surface(np.concatenate([coefficients, np.zeros(3)]), height, width), spread
    lamp = lamp_light(height, width, values, explained[best], support[best], tolerance)
    if lamp is not None:
        return lamp
    return quadratic_surface(coefficients, height, width), spread


def lamp_light(
    height: int, width: int, values: np.ndarray, inliers: np.ndarray, support: float, tolerance: float
) -> tuple[np.ndarray, float] | None:
    """(surface, noise) of a desk lamp's light, or None when a quadratic already fits the paper.

    A lamp close to the page lights a spot that falls off over part of the frame: a bump a quadratic
    cannot follow, so its residual leaves the spot as light ink, or the dim paper beside it as dark
    ink. A quartic (degree ``LAMP_DEGREE``) is fitted by ``refine`` from the quadratic's inliers
    (``values`` at ``sampling_grid``'s samples); it is the paper only if it explains ``LAMP_GAIN``
    more of the samples, in the frame and on its rim, within the quadratic's ``tolerance`` (grey levels)
    than the quadratic's ``support`` (a share of the frame's samples plus a share of the rim's, 0-2),
    from its ``inliers`` (boolean, one per sample). Ink stays an outlier:
    the fit starts without it, and a quartic still cannot follow a stroke. Images under
    ``LAMP_MIN_SIZE`` on a side (an 8x8 scan enlarged to 64) take the quadratic.
    """
    if min(height, width) < LAMP_MIN_SIZE:
        return None  # an enlarged scan's few pixels: a quartic would follow its digit
    ys, xs, samples, rim = sampling_grid(height, width)
    basis = polynomial_basis(samples[:, 2], samples[:, 1], LAMP_DEGREE)
    coefficients, noise = refine(basis, values, inliers, 2 * REFINE_ITERATIONS)
    explained = np.abs(values - basis @ coefficients) <= tolerance
    if explained.mean() + explained[rim].mean() < support + LAMP_GAIN:
        return None
    return polynomial_surface(coefficients, height, width, LAMP_DEGREE), noise


def polynomial_basis(y: np.ndarray, x: np.ndarray, degree: int) -> np.ndarray:
    """(n, terms): 1, x, y, x^2, xy, y^2, x^3, ... up to ``degree``, at n points (``y``, ``x``)."""
    return np.stack([x ** (total - power) * y**power for total in range(degree + 1) for power in range(total + 1)], 1)


def polynomial_surface(coefficients: np.ndarray, height: int, width: int, degree: int) -> np.ndarray:
    """float32 (height, width): the polynomial of ``polynomial_basis``' terms with ``coefficients`` at
    every pixel, on ``surface_coordinates``' scale; one row polynomial per power of y, added as outer
    products."""
    row, col = surface_coordinates(height, width)
    surface = np.zeros((height, width))
    index = {}
    for total in range(degree + 1):
        for power in range(total + 1):
            index[(total - power, power)] = len(index)
    for power in range(degree + 1):
        in_x = sum(coefficients[index[(p, power)]] * col**p for p in range(degree + 1 - power))
        surface += row**power * in_x
    return surface.astype(np.float32)


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


def ink_intensity(gray: np.ndarray, relight: bool = True, faint: bool = False) -> np.ndarray:
    """A grayscale photo or drawing (h, w), values 0-255, to its ink (h, w), values 0-1, light on dark.

    The paper is what the lighting surface fits (``illumination``); the ink is the side of it, darker
    or lighter, that holds more contrast above the noise: the minority of pixels, whatever the paper's
    grey level. Noise is 4 robust standard deviations of the residual (at least 10 grey levels);
    isolated marks under 3 pixels are dropped; the ink scale is the 90th percentile of the marks off
    rows and columns that are 85% ink (the pen's, not ruled lines'), so a digit of a handful of
    pixels keeps its full intensity. Ink under ``FLOOR_SHARE`` of that scale is dropped (a pen's
    faint halo), unless ``faint`` is set: a tiny scan enlarged to work size holds its strokes' shape
    in those grey levels, and its paper is fitted by a plane (``illumination``'s ``flat``). 1,000
    8x8 box-filtered validation digits read 93.6% with the floor, 94.5% so (docs/BENCHMARKS.md).
    When over ``SHADOW_SHARE`` of the frame stands out of the paper
    and ``relight`` is set, a shadow is looked for (``without_shadow``: a hard shadow's straight
    edge, ``shadows.find_shadow_edge``, or compact light and shade, ``shading.local_paper``); if one
    is found, it is divided out and the ink found again on the relit image.

    Raises:
        ImageError: "no digit found" when nothing stands out of the paper.
    """
    surface, noise = illumination(gray, flat=faint)
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
    marked = ink > threshold
    if relight and np.count_nonzero(marked) > SHADOW_SHARE * marked.size:
        relit = without_shadow(gray, ink, marked, dark=dark > light)
        if relit is not None:
            return relit
    box = bounding_box(marked, margin=2)
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
    floor = threshold if faint else max(threshold, FLOOR_SHARE * scale)
    near_marks = neighbourhood_max(marks, 5)  # anti-aliased edges, not specks
    result = np.zeros(gray.shape, dtype=np.float32)
    result[box] = np.clip((np.where(near_marks, near, 0) - floor) / max(scale - floor, 1e-6), 0, 1)
    return result


def without_shadow(gray: np.ndarray, ink: np.ndarray, marked: np.ndarray, dark: bool) -> np.ndarray | None:
    """The ink (h, w), 0-1, of ``gray`` with a shadow divided out, or None when there is none that
    leaves at most ``SHADOW_LEFT`` of the ``marked`` pixels (boolean (h, w): where the lighting fit's
    ``ink``, grey levels beyond the paper, stands out) as ink. First a hard shadow's straight edge
    (``shadows``; what the edge itself leaves is no ink, ``shadows.without_edge``); failing that,
    compact light and shade, a hand's or a phone's shadow or a tight lamp spot, by a grey closing
    wider than the pen (``shading.local_paper``). A shadow that is not one straight edge, a corner of
    a phone's shadow, leaves more than ``SHADOW_LEFT`` after the first. For ``dark`` ink, what the
    closing takes away must be shade, paler than the ink it keeps (its median under ``SHADE_DEPTH``
    of the kept ink's 90th percentile): a closing narrower than a marker's strokes takes their
    inside, as dark as what it leaves (on 24 bold-marker validation digits that reach it, 1.0-1.16;
    on the third helper's hand and phone shadows, 0.38-0.88). If the fit found
    light ink, its marks must be a lamp's spot, ``SPOT_SHARE`` of them wider than ``SPOT_WIDTH`` of
    the image (``shading.wider_than``), not chalk strokes on a board; and a closing that leaves
    nothing was a board's: None.

    Raises:
        ImageError: "no digit found" when the shadow was all that stood out of the paper.
    """
    count = int(np.count_nonzero(marked))
    edge = shadows.find_shadow_edge(gray)
    if edge is not None:
        relit = relit_ink(gray / edge.light(gray.shape), count, edge)
        if relit is not None:
            return relit
    square = shading.pen_square(gray) if min(gray.shape) >= SHADE_MIN_SIZE else None
    spot = int(SPOT_WIDTH * min(gray.shape)) | 1
    if square is None or (not dark and not shading.wider_than(ink, marked, spot, SPOT_SHARE)):
        return None  # light marks as narrow as the pen are its strokes (chalk), not a lamp's spot
    local = shading.local_paper(gray, square)
    try:
        relit = relit_ink(gray / local * float(np.percentile(local, 90)), count)
    except ImageError:
        if dark:
            raise
        return None  # light strokes are wider than no closing square: the board, not a shadow
    if relit is None or not dark:
        return relit
    kept = marked & (relit > 0)
    taken = marked & ~kept
    if kept.any() and taken.any() and median(ink[taken]) < SHADE_DEPTH * np.percentile(ink[kept], 90):
        return relit
    return None


def relit_ink(relit: np.ndarray, marked: int, edge: shadows.ShadowEdge | None = None) -> np.ndarray | None:
    """The ink (h, w), 0-1, of an image ``relit`` with its shadow divided out (``without_shadow``),
    less what ``edge`` leaves along itself; None when it keeps over ``SHADOW_LEFT`` of the ``marked``
    pixels (the shadow was not what stood out).

    Raises:
        ImageError: "no digit found" when nothing is left.
    """
    ink = ink_intensity(relit, relight=False)
    if edge is not None:
        ink = shadows.without_edge(ink, edge)
    left = np.count_nonzero(ink)
    if left > SHADOW_LEFT * marked:
        return None
    if not left:
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
    (ruled paper has many), or ``MARGIN_COVERAGE`` with ``MARGIN_LINES`` - 1 more (lines that start
    at a margin: on the first helper's 6 such pages, 3 -> 5 read right), or, alone, spanning 95% of
    the image in ink at most 60% as strong as the pen's (a printed margin line). A digit cropped
    tightly (a 1, the bar of a 7) spans its image
    once, in the pen's full ink; images under 48 pixels are left alone. On a line, pixels clearly
    stronger than the line's own ink are kept (a digit written in darker ink than the printed line),
    and where the digit continues on both sides of the line, the gap is bridged. Paper photographed
    a little turned has its lines tilted: when no row holds a line but ink reaches nearly every
    column, the tilt is measured (``line_slope``) and the lines are found and erased in the image
    sheared level by it. What erasing lines leaves, crossings and ends, goes, and so does the texture
    of the paper itself, a dot grid (``without_leftovers``).
    Folds, creases and a sheet's edge, straight lines from edge to edge at any
    small tilt, go too (``remove_folds``).
    """
    if min(ink.shape) < 48:
        return ink
    cleaned = ink.copy()
    erased = False
    for axis in (0, 1):
        view = cleaned if axis == 0 else cleaned.T  # rows of ``view`` are lines along this axis
        slope = line_slope(view, min_coverage)
        if slope == 0.0:
            # Lines that stop at a margin cover less of the image; many of them are ruled paper still.
            erased |= erase_lines(view, min_coverage, view.shape[0]) or erase_lines(
                view, MARGIN_COVERAGE, view.shape[0], least=MARGIN_LINES
            )
        else:
            shifts, padding = shear_shifts(view.shape[1], slope)
            level = sheared(view, shifts, padding)
            inside = in_frame(view.shape[0], shifts, padding)
            erased |= erase_lines(level, min_coverage, view.shape[0], spread=True, inside=inside)
            view[...] = unsheared(level, shifts, padding)
    return remove_folds(without_leftovers(cleaned, erased))


MARGIN_COVERAGE = 0.6  # of the image: ruled lines that start at a margin still run this far across it
MARGIN_LINES = 4  # lines at least, parallel, to be ruled paper beside a margin; a digit has fewer thin bars
LEFTOVER = 0.05  # of the largest mark's pixels: smaller marks left after erasing lines are their crossings and ends
# This many marks or more with none standing out are the paper's own: a dot grid, a blank page's grid.
TEXTURE_MARKS = 30
TEXTURE_SHARE = 0.1  # a digit's mark holds at least this share of all the marked pixels among such dots
TEXTURE_SPAN = 0.5  # marks spread over this share of the frame each way may be a texture; a digit's pieces are not


def without_leftovers(ink: np.ndarray, erased: bool = True) -> np.ndarray:
    """``ink`` less what is left of the paper: after lines were erased (``erased``), or among marks
    spread over the page, the marks (8-connected) under LEFTOVER of the largest one's pixels (a
    squared page's crossings, a line's end, a dash of a faint one, the dots of dot-grid paper), which
    would otherwise stretch the digit's box over the page; and all of them when they are many
    (TEXTURE_MARKS) with none holding TEXTURE_SHARE of the marked pixels: paper with nothing written.
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
        return np.zeros_like(ink)
    small = sizes < LEFTOVER * sizes.max()
    return np.where(small[labels], np.float32(0), ink) if small[1:].any() else ink


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
    line comes out dashed in a photo). Returns whether a line was erased. ``inside``: how many of
    each row's pixels lie in the photo (a sheared image's rows near its top and bottom run off it);
    coverage is of those, for rows inside over a tenth of the width (a tilted line near the edge
    leaves the photo part of the way across)."""
    marks = view > 0
    if spread:  # and a faint line photographed comes out dashed: its dashes are joined along it
        marks = neighbourhood_max(marks, 3)
        from scipy import ndimage

        marks = ndimage.maximum_filter1d(marks, size=max(3, view.shape[1] // 50), axis=1)
    counts = count_along(marks, axis=1)
    if inside is None:
        coverage = counts / view.shape[1]  # (view > 0).mean(axis=1)'s values
    else:
        coverage = np.where(inside >= 0.1 * view.shape[1], counts / np.maximum(inside, 1), 0.0)
    limit = max(4, int(0.04 * height))
    lines = [(start, stop) for start, stop in runs(coverage >= min_coverage) if stop - start <= limit]
    if len(lines) < least:
        return False
    erased = False
    for start, stop in lines:
        band = view[start:stop]
        if not (band > 0).any():
            continue
        level = float(np.median(band[band > 0]))
        if len(lines) == 1 and (coverage[start:stop].max() < 0.95 or level > 0.6):
            continue  # one dark bar across the image is a stroke of the digit; a margin line is fainter
        keep = band > min(1.0, 1.5 * level + 0.15)
        above = view[start - 1] if start > 0 else np.zeros(view.shape[1], np.float32)
        below = view[stop] if stop < view.shape[0] else np.zeros(view.shape[1], np.float32)
        bridge = np.minimum(above, below)
        view[start:stop] = np.where(keep, band, np.broadcast_to(bridge, band.shape))
        erased = True
    return erased


def line_slope(view: np.ndarray, min_coverage: float) -> float:
    """The slope (rows per column) of tilted lines running along the rows of ``view``, 0.0 when no
    row needs it: some row is already a line, or ink is missing from over a tenth of the columns
    (nothing runs across), or no tilt within LINE_MAX_TILT degrees lines up ``min_coverage`` of the
    columns along two lines at least, none thicker than LINE_THICKNESS of the image (one line, or
    thick ones, are strokes: touching digits' bars, a tightly cropped number's stems). The tilt is the one
    whose projection profile (the ink counted along lines of that slope; Postl 1986) has the fullest
    line: searched in half degrees on the image max-pooled by 4, then refined to a step of one row
    across the whole width."""
    from mnist_cnn.preprocessing.resize import max_pool

    marks = view > 0
    width = view.shape[1]
    if count_along(marks, axis=0).astype(bool).mean() < 0.9:
        return 0.0
    if (count_along(marks, axis=1) / width >= min_coverage).any():
        return 0.0
    pooled = max_pool(marks.astype(np.float32), max(1, max(view.shape) // 4)) > 0
    coarse = np.tan(np.deg2rad(np.arange(-LINE_MAX_TILT, LINE_MAX_TILT + 0.25, 0.5)))
    slope, counts = fullest_line(pooled, coarse)
    if not ruled(counts, pooled.shape, min_coverage, 4):
        return 0.0  # nothing like ruled paper at any tilt: spared the fine search (a number cropped tightly)
    fine = slope + np.arange(-np.tan(np.deg2rad(0.5)), np.tan(np.deg2rad(0.5)), 0.5 / width)
    slope, counts = fullest_line(marks, fine)
    return slope if slope != 0.0 and ruled(counts, view.shape, min_coverage, 6) else 0.0


def ruled(counts: np.ndarray, shape: tuple[int, int], min_coverage: float, least: int) -> bool:
    """Whether ``fullest_line``'s counts, of an image ``shape`` (h, w), are ruled paper's: two lines
    at least with ``min_coverage`` of the columns, none thicker than LINE_THICKNESS of the height or
    ``least`` pixels, whichever is more. One full line along a slope is a stroke (touching digits' bars), and
    so are thick ones: the slanted stems of a number cropped tightly ("11", "47") run from edge to
    edge too, as wide as the pen."""
    lines = runs(counts >= min_coverage * shape[1])
    thin = max(least, int(LINE_THICKNESS * shape[0]))
    return len(lines) >= 2 and all(stop - start <= thin for start, stop in lines)


def fullest_line(marks: np.ndarray, slopes: np.ndarray) -> tuple[float, np.ndarray]:
    """(slope, counts): of ``slopes``, the one along which some line (pixels at one rounded row
    offset, spread over two neighbouring rows) holds the most columns with ink, and every line's count
    of such columns along it (int, one per row offset)."""
    rows, cols = np.nonzero(marks)
    best, best_slope, best_counts = -1, 0.0, np.zeros(1, dtype=np.intp)
    for slope in slopes:
        offsets = rows - np.round(cols * slope).astype(np.intp)
        offsets -= offsets.min()
        key = np.unique(offsets * marks.shape[1] + cols)  # each column once per line
        counts = np.bincount(key // marks.shape[1])
        counts = counts + np.concatenate([counts[1:], [0]])  # a line split across two rows
        if counts.max() > best:
            best, best_slope, best_counts = int(counts.max()), float(slope), counts
    return best_slope, best_counts


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


def fold_thickness(fold: np.ndarray) -> float:
    """The median count of a fold's pixels (boolean (h, w), a line running down the rows) in the rows
    it has any: its width across, in pixels."""
    per_row = count_along(fold, axis=1)
    return float(median(per_row[per_row > 0]))


def pen_width(marks: np.ndarray) -> float:
    """The stroke width in pixels (``digit.stroke_width``) of the largest mark (8-connected) of boolean
    ``marks`` (h, w): the digit's body, not the thin leftovers of lines beside it; 0 for no marks."""
    from scipy import ndimage

    from mnist_cnn.preprocessing.digit import stroke_width

    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    if count == 0:
        return 0.0
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return stroke_width(labels == np.argmax(sizes))


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
    from skimage.transform import hough_line, hough_line_peaks

    height, width = marks.shape
    inked = marks.any(axis=1)
    edge = max(1, int(0.03 * height))
    if inked.mean() < FOLD_SPAN * FOLD_MIN_LENGTH or not (inked[:edge].any() or inked[-edge:].any()):
        return []  # too few rows with ink, or none at the top or bottom: nothing runs in from an edge
    limit = FOLD_MAX_WIDTH * width
    tilts = np.deg2rad(np.arange(-FOLD_MAX_TILT, FOLD_MAX_TILT + 0.125, 0.25))
    accumulator, tilts, offsets = hough_line(marks, theta=tilts)
    peaks = hough_line_peaks(
        accumulator,
        tilts,
        offsets,
        min_distance=int(2 * limit) + 1,
        min_angle=len(tilts),
        threshold=0.6 * FOLD_MIN_LENGTH * height,
    )
    rows, cols = np.nonzero(marks)
    folds = []
    for _, tilt, offset in zip(*peaks):
        cos, sin = np.cos(tilt), np.sin(tilt)
        along = (offset - np.arange(height) * sin) / cos  # the line's column in each row
        crossed = np.flatnonzero((along >= 0) & (along <= width - 1))  # its rows in the image: one run
        if len(crossed) < FOLD_MIN_LENGTH * height or (crossed[0] > 0 and crossed[-1] < height - 1):
            continue  # too short, or in and out by the sides: not from edge to edge
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
