"""The paper's lighting: a smooth surface fitted robustly to a photo's paper, the ink its outliers.

Gradients, vignettes, dim rooms and a desk lamp's spot are smooth; a digit's strokes are not. A
quadratic surface (a quartic for a lamp's spot) fitted by iteratively reweighted least squares on a
grid of samples follows the light and leaves the ink, dark or light and of any stroke width, as
outliers. ``paper.ink_intensity`` subtracts it. Grayscale images are float32 (h, w), values 0-255.
"""

from __future__ import annotations

import functools

import numpy as np

from mnist_cnn.preprocessing.filters import level_counts, median, robust_std

REFINE_ITERATIONS = 4  # reweightings of the lighting fits
LAMP_DEGREE = 4  # a desk lamp's spot of light is a bump a quartic follows and a quadratic cannot
LAMP_MIN_SIZE = 128  # pixels: no lamp lights a scan or a thumbnail this small
LAMP_GAIN = 0.02  # of the samples, in the frame and on its rim: what a quartic must explain beyond a quadratic
SURFACE_BAND = 64  # rows of the lighting surface computed at once: two float64 buffers that fit in cache


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
