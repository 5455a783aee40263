"""The paper and the ink on it: the sheet in a photo, its lighting and shadows, which side the ink is.

Every step takes and returns float32 arrays (h, w). Grayscale images hold values 0-255; ink maps hold
0-1, light ink on dark as in MNIST. Image processing comes from ``scipy.ndimage``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from mnist_cnn.errors import ImageError
from mnist_cnn.preprocessing import shading, shadows
from mnist_cnn.preprocessing.filters import median, neighbourhood_count, neighbourhood_max, robust_std
from mnist_cnn.preprocessing.resize import shrink

MIN_CONTRAST = 10.0  # grey levels: ink fainter than this against its paper is not told from paper
NOISE_SIGMAS = 4.0  # ink must stand this many noise standard deviations above the paper
SHADOW_SHARE = 0.1  # of the frame marked as ink: more may be a hard shadow's edge (``shadows``)
WIDE_SHARE = 0.02  # of the frame marked: more, with one mark far wider than the strokes, may be shade
BORDER_RUN = 0.1  # of a side: marks running unbroken along the frame's edge this far may be a soft shadow's
FLOOR_SHARE = 0.2  # of the ink scale: fainter ink is a pen's halo, except in an enlarged tiny scan
SHADE_MIN_SIZE = 128  # pixels: no hand shades a scan this small; its blurred strokes' halo is no shade
SPOT_WIDTH = 0.15  # of the image's shorter side: light marks this wide are a lamp's spot, not chalk strokes
SPOT_SHARE = 0.5  # of the light marks: that many as wide as SPOT_WIDTH make a lamp's spot
SHADE_DEPTH = 0.9  # of the kept ink's depth (90th percentile): the shade a closing takes away is paler
SHADOW_LEFT = 0.5  # of the marks: a shadow divided out takes away more, or it was not the shadow's edge
SHEET_SMALLEST = 0.02  # of the frame: a note on a desk, 15% of the frame each way, is a sheet
SHEET_CONTRAST = 20.0  # grey levels: white paper on a light desk stands this far above it
SHEET_NARROWEST = 0.1  # of the frame's shorter side: a small sheet's shorter side at least
WIDE_SHEET = 0.3  # of the frame's shorter side: a sheet narrower than this must have writing on it
WRITING_SHARE = 0.002  # of a narrow sheet's pixels: dark ones, its writing
WRITING_PIXELS = 10  # the least writing a narrow sheet holds
LIGHT_SPREAD = 0.25  # of the copy's longer side: the Gaussian light the copy is divided by when no sheet stands out
SHEET_EDGE = 1.5  # pixels of the 128-pixel copy: the least a sheet is cut inside its blurred edge
MIN_SPECK = 3  # pixels: smaller isolated marks are sensor noise or dust, not ink
FEW_MARKS = 64  # pixels at work size: all the ink of a 1-pixel pen's tiny digit, or of a speck of paper texture
NOISE_PEAK = 1.5  # of the noise threshold: so few marks must stand out this far, or they are the paper's own grain
REFINE_ITERATIONS = 4  # reweightings of the lighting fits
LAMP_DEGREE = 4  # a desk lamp's spot of light is a bump a quartic follows and a quadratic cannot
LAMP_MIN_SIZE = 128  # pixels: no lamp lights a scan or a thumbnail this small
LAMP_GAIN = 0.02  # of the samples, in the frame and on its rim: what a quartic must explain beyond a quadratic
SURFACE_BAND = 64  # rows of the lighting surface computed at once: two float64 buffers that fit in cache


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
    box's pixels that show the desk beside a tilted sheet, or None when the box holds only paper;
    ``narrow``: its shorter side spans under ``WIDE_SHEET`` of the frame's shorter side."""

    box: tuple[int, int, int, int]
    desk: np.ndarray | None = None
    narrow: bool = False
    # The last image cut and its cut: the search that finds a sheet (or a plaque) reads the writing
    # on its cut, and ``find_ink`` cuts the same image again (a tilted sheet's cover: 7 ms).
    last_cut: list = field(default_factory=list, repr=False, compare=False)

    def cut(self, gray: np.ndarray) -> np.ndarray:
        """``cut_afresh(gray)``, made once for the same ``gray`` object (not to be written to)."""
        if not self.last_cut or self.last_cut[0] is not gray:
            self.last_cut[:] = [gray, self.cut_afresh(gray)]
        return self.last_cut[1]

    def cut_afresh(self, gray: np.ndarray) -> np.ndarray:
        """``gray`` (h, w), float32 0-255, cut to the box: float32 (bottom - top, right - left), the
        desk in it covered by the nearest paper pixel's value
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
    (``desk_beside``: a bold digit touching the edge is not a desk), ``SHEET_SMALLEST`` (2%) to 97%
    of the frame, nearly a rectangle at any angle (85% of its minimum-area bounding rectangle), that
    rectangle's shorter side at least ``SHEET_NARROWEST`` (10%) of the frame's shorter side, holding
    at most a quarter dark marks, sharply two-toned against a surface at least ``SHEET_CONTRAST``
    (20) grey levels darker (white paper on a light desk). A sheet under ``WIDE_SHEET`` (30%) of
    the frame's shorter side, a note far from the camera, must have writing on it (``has_writing``,
    at full size: on the copy a small digit's strokes vanish); a wider one with none on it is no
    sheet when there is writing beside it (the lit part of a page, the rest in a hand's shadow). A
    light digit on a dark canvas fails these (too thin, a ring, too much hole, a bar with nothing
    written on it), as does a lighting gradient (not two-toned). An upright sheet is cut to its box
    inset by 4% of its size each way (``SHEET_EDGE`` copy pixels at least); a tilted one (the desk
    would show in that box) to the box of the sheet eroded by as much, the desk's corners in it
    marked (``Sheet.desk``).

    When no sheet stands out, the copy's slow light is divided out (``evenly_lit``) and the sheet
    looked for again: a lamp or a window makes a desk's lit side as bright as a small sheet's
    shaded one.

    On 150 validation digits written on notes 15-30% of the frame each way on a darker desk (a
    ``/work`` script), 15% were read right when 8% of the frame, 30% of its shorter side and 40 grey
    levels were required, 91% now; on sheets 15-45 grey levels over a light textured desk, 87% and 94%.
    """
    sheet = sheet_of(shrink(gray, 128), gray.shape)
    if sheet is None or has_writing(sheet.cut(gray)):
        return sheet
    if sheet.narrow:
        return None  # a narrow light region with nothing written on it: a light bar on a dark canvas (a 1)
    top, bottom, left, right = sheet.box
    beside = np.ones(gray.shape, dtype=bool)
    beside[top:bottom, left:right] = False
    if has_writing(gray[beside]):
        return None  # the writing is beside it: the lit part of a page, the rest in a shadow
    return sheet  # a blank sheet: cut out, nothing is found on it


def has_writing(cut: np.ndarray) -> bool:
    """Whether a sheet's ``cut`` (h, w), grey levels 0-255, holds writing: ``WRITING_SHARE`` of its
    pixels (``WRITING_PIXELS`` at least) 40 grey levels darker than its paper (the median)."""
    dark = np.count_nonzero(cut < median(cut) - 40.0)
    return dark >= max(WRITING_PIXELS, WRITING_SHARE * cut.size)


def sheet_of(small: np.ndarray, shape: tuple[int, int]) -> Sheet | None:
    """``find_sheet``'s search on ``small``, a copy of an image of ``shape`` (rows, cols) shrunk to
    128 pixels on its longest side; the Sheet's box in the image's pixels."""
    from scipy import ndimage

    sheet = sheet_region(small, SHEET_SMALLEST, SHEET_CONTRAST, SHEET_NARROWEST)
    if sheet is None:
        sheet = sheet_region(evenly_lit(small), SHEET_SMALLEST, SHEET_CONTRAST, SHEET_NARROWEST)
    if sheet is None:
        return None
    rows, cols = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    scale_y, scale_x = shape[0] / small.shape[0], shape[1] / small.shape[1]
    inset_y, inset_x = max(0.04 * height, SHEET_EDGE), max(0.04 * width, SHEET_EDGE)  # past the edge and its shadow
    top, bottom = int(rows[0] + inset_y), int(np.ceil(rows[-1] + 1 - inset_y))
    left, right = int(cols[0] + inset_x), int(np.ceil(cols[-1] + 1 - inset_x))
    _, shorter_side = minimum_area_rectangle(sheet)
    narrow = bool(shorter_side < WIDE_SHEET * min(small.shape))
    if sheet[top:bottom, left:right].all():  # upright: the inset box holds only paper
        return Sheet(
            (
                int((rows[0] + inset_y) * scale_y),
                int(np.ceil((rows[-1] + 1 - inset_y) * scale_y)),
                int((cols[0] + inset_x) * scale_x),
                int(np.ceil((cols[-1] + 1 - inset_x) * scale_x)),
            ),
            narrow=narrow,
        )
    inner = ndimage.distance_transform_edt(np.pad(sheet, 1))[1:-1, 1:-1] > max(0.04 * shorter_side, SHEET_EDGE)
    if not inner.any():
        return None
    rows, cols = np.flatnonzero(inner.any(axis=1)), np.flatnonzero(inner.any(axis=0))
    box = (
        int(rows[0] * scale_y),
        min(int(np.ceil((rows[-1] + 1) * scale_y)), shape[0]),
        int(cols[0] * scale_x),
        min(int(np.ceil((cols[-1] + 1) * scale_x)), shape[1]),
    )
    desk = ~mask_at(inner, box, (scale_y, scale_x))
    return Sheet(box, desk if desk.any() else None, narrow)


def evenly_lit(small: np.ndarray) -> np.ndarray:
    """``small`` (h, w), grey levels, divided by its light: a Gaussian blur ``LIGHT_SPREAD`` of its
    longer side wide, scaled back to its median grey. A lamp or a window lighting the desk unevenly
    makes its lit side as bright as a small sheet's shaded one, and the one threshold finds no sheet;
    divided by the slow light, the sheet stands out again (its edges get a halo, which the
    rectangle test tolerates)."""
    from scipy import ndimage

    light = ndimage.gaussian_filter(small.astype(np.float32), LIGHT_SPREAD * max(small.shape), mode="nearest")
    return (small / np.maximum(light, 1.0) * float(np.median(small))).astype(np.float32)


def sheet_region(
    small: np.ndarray, smallest: float = 0.08, contrast: float = 40.0, narrowest: float = 0.3
) -> np.ndarray | None:
    """The sheet's pixels, boolean like ``small`` (a 128-pixel copy, values 0-255), holes filled, when
    ``find_sheet``'s tests pass; else None. ``smallest``: the least share of the frame it covers;
    ``contrast``: grey levels it stands above its surroundings at least; ``narrowest``: the least
    share of the frame's shorter side its minimum-area rectangle's shorter side spans."""
    from scipy import ndimage

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
    area = int(sheet.sum())
    gaps = (rows[0], sheet.shape[0] - 1 - rows[-1], cols[0], sheet.shape[1] - 1 - cols[-1])
    marks = sheet & ~bright  # the digit written on it
    if not (
        smallest <= area / sheet.size <= 0.97
        and marks.sum() <= 0.25 * area
        and float(np.median(small[sheet])) - float(np.median(small[~sheet])) >= contrast
        and desk_beside(gaps, marks, max(sheet.shape))
    ):
        return None
    rectangle_area, shorter_side = minimum_area_rectangle(sheet)
    if area < 0.85 * rectangle_area:
        return None
    if shorter_side < narrowest * min(sheet.shape):
        return None
    return sheet


def mask_at(mask: np.ndarray, box: tuple[int, int, int, int], scale: tuple[float, float]) -> np.ndarray:
    """A boolean ``mask`` of a shrunken copy read at each pixel of ``box`` (top, bottom, left, right)
    of the full image, ``scale`` (rows, cols) full pixels per copy pixel: boolean (bottom - top,
    right - left), each pixel the mask's value at its centre (clipped to the mask)."""
    at_rows = np.minimum(((np.arange(box[0], box[1]) + 0.5) / scale[0]).astype(int), mask.shape[0] - 1)
    at_cols = np.minimum(((np.arange(box[2], box[3]) + 0.5) / scale[1]).astype(int), mask.shape[1] - 1)
    return mask[np.ix_(at_rows, at_cols)]


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


def sheet_in(gray: np.ndarray) -> Sheet | None:
    """The sheet of paper in a grayscale image (h, w) (see ``find_sheet``), or None. Images under 128
    pixels on a side (an enlarged scan, a thumbnail) are taken as the paper itself: None."""
    return None if min(gray.shape) < 128 else find_sheet(gray)


def crop_to_sheet(gray: np.ndarray) -> np.ndarray:
    """``gray`` cut to the sheet of paper in it (``sheet_in``), or unchanged."""
    sheet = sheet_in(gray)
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
    the values within 3 robust standard deviations (``filters.robust_std``) of the last
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
        spread = robust_std(near)
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
    When the marks may hold a shade (``may_be_shaded``: over ``SHADOW_SHARE`` of the frame, or a
    mark far wider than the strokes) and ``relight`` is set, a shadow is looked for
    (``without_shadow``: a hard shadow's straight edge, ``shadows.find_shadow_edge``, or compact
    light and shade, ``shading.local_paper``); if one is found, it is divided out and the ink found
    again on the relit image.

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
    if relight and may_be_shaded(marked):
        relit = without_shadow(gray, ink, marked, dark=dark > light)
        if relit is not None:
            return relit
    box = bounding_box(marked, margin=2)
    if box is None:
        raise ImageError("no digit found: the image is blank")
    near = ink[box]
    marks = without_specks(near > threshold)
    if not marks.any() or only_grain(near, marks, threshold):
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


def only_grain(ink: np.ndarray, marks: np.ndarray, threshold: float) -> bool:
    """Whether ``marks`` (boolean (h, w): where ``ink``, grey levels beyond the paper, passes the noise
    ``threshold``) are only the paper's own grain, not a pen: fewer than ``FEW_MARKS`` pixels in all,
    none standing ``NOISE_PEAK`` times the threshold out of the paper. A blank photo's textured paper
    leaves a speck or two of 6-47 pixels just over the threshold (1.04-1.16 times it on six such
    photos), which a tiny digit's enlargement made a 1; a 1-pixel pen's stroke of 10-15 pixels
    stands far out (25 times, the shared tiny cases). Grain beside other marks is left: dropped
    there, it made a stain or a crease's dashes a digit more often than it saved one."""
    return np.count_nonzero(marks) < FEW_MARKS and float(ink[marks].max()) < NOISE_PEAK * threshold


def may_be_shaded(marked: np.ndarray) -> bool:
    """Whether the marks (boolean (h, w)) may hold a shadow worth looking for (``without_shadow``):
    over ``SHADOW_SHARE`` of the frame, or over ``WIDE_SHARE`` with a mark far wider than the strokes
    (``shading.has_wide_mark``: a hand's or a phone's shadow beside the digit). Ordinary photos, whose
    marks are the digit's strokes, skip the look (30-60 ms)."""
    count = np.count_nonzero(marked)
    return (
        count > SHADOW_SHARE * marked.size
        or (count > WIDE_SHARE * marked.size and shading.has_wide_mark(marked))
        or runs_along_border(marked)
    )


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
        relit = relit_ink(gray / edge.light(gray.shape), count, edge, lit=None if dark else marked)
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


def relit_ink(
    relit: np.ndarray, marked: int, edge: shadows.ShadowEdge | None = None, lit: np.ndarray | None = None
) -> np.ndarray | None:
    """The ink (h, w), 0-1, of an image ``relit`` with its shadow divided out (``without_shadow``),
    less what ``edge`` leaves along itself; None when it keeps over ``SHADOW_LEFT`` of the ``marked``
    pixels (the shadow was not what stood out). ``lit``: boolean (h, w), the marks when they were
    light: the lit side of a shadow covering most of the page. If the ink found now is dark, only
    what is left on that side counts: the dark writing in the shadow never was among those marks.

    Raises:
        ImageError: "no digit found" when nothing is left.
    """
    ink = ink_intensity(relit, relight=False)
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
