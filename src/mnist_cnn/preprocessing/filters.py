"""Small image filters shared by the preprocessing steps.

Mostly exact stand-ins for ``scipy.ndimage`` filters (and ``np.median``, ``np.percentile``, ``np.histogram``) where
they are slow: the same values, bit for bit, at a fraction of the cost (preprocessing runs per
request in a server); tests check them against scipy. Also Otsu's threshold (Otsu 1979;
scikit-image's ``threshold_otsu``) with how well it splits the values."""

from __future__ import annotations

import numpy as np


def neighbourhood_max(image: np.ndarray, size: int) -> np.ndarray:
    """The maximum over the ``size`` x ``size`` square (odd) around each pixel of a 2-D array, the square
    cut at the image's edge: ``scipy.ndimage.maximum_filter(image, size)``, whose default 'reflect' mode
    only repeats pixels already inside the square. Same dtype and shape as ``image``."""
    result = image
    for axis in (0, 1):
        spread = result.copy()
        for shift in range(1, size // 2 + 1):
            # Shifted slices along ``axis`` of the C-ordered arrays themselves: a transposed view for the
            # columns (np.moveaxis) made every pass strided, 9x slower on a 1024-pixel page.
            later = (slice(None),) * axis + (slice(shift, None),)
            earlier = (slice(None),) * axis + (slice(None, -shift),)
            np.maximum(spread[later], result[earlier], out=spread[later])
            np.maximum(spread[earlier], result[later], out=spread[earlier])
        result = spread
    return result


def neighbourhood_count(mask: np.ndarray) -> np.ndarray:
    """uint8 (h, w): how many True pixels a boolean 2-D ``mask`` holds in the 3x3 square around each
    pixel, itself included, the square cut at the image's edge:
    ``scipy.ndimage.correlate(mask.astype(np.uint8), np.ones((3, 3)), mode="constant")``."""
    counts = mask.astype(np.uint8)
    for axis in (0, 1):
        spread = counts.copy()
        later = (slice(None),) * axis + (slice(1, None),)
        earlier = (slice(None),) * axis + (slice(None, -1),)
        spread[later] += counts[earlier]
        spread[earlier] += counts[later]
        counts = spread
    return counts


def median(values: np.ndarray) -> float:
    """np.median of a non-empty, NaN-free array, without the checks and dispatch that cost more than
    the partition itself on the small arrays preprocessing works on (it runs per request in a server)."""
    flat = values.ravel()
    middle = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, middle)[middle])
    lower, upper = np.partition(flat, (middle - 1, middle))[middle - 1 : middle + 1]
    return (float(lower) + float(upper)) / 2


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (its default "linear" method: Hyndman and Fan's 7th) of a
    non-empty, NaN-free array, bit for bit and with its dtype (float32 for float32 values), from one
    partition: a tenth of np.percentile's cost on the few hundred values a digit's ink holds, where
    its checks and dispatch cost more than the partition. ``q``: 0-100."""
    flat = np.asarray(values).ravel()
    virtual = (flat.size - 1) * (q / 100)
    lower = int(virtual)
    upper = min(lower + 1, flat.size - 1)
    ordered = np.partition(flat, (lower, upper) if upper != lower else lower)
    below, above = ordered[lower], ordered[upper]
    weight, difference = virtual - lower, above - below
    # numpy's lerp: from the nearer end, so that a weight of 1 gives ``above`` exactly
    return above - difference * (1 - weight) if weight >= 0.5 else below + difference * weight


def robust_std(values: np.ndarray, centre: float | None = None) -> float:
    """A standard deviation that outliers (ink among paper) do not inflate: 1.4826 times the median
    absolute deviation of ``values`` (any shape, non-empty) from ``centre`` (default: their median),
    the normal distribution's standard deviation (Rousseeuw and Croux 1993)."""
    centre = median(values) if centre is None else centre
    return 1.4826 * median(np.abs(values - centre))


def level_counts(values: np.ndarray, bins: int) -> np.ndarray:
    """``np.histogram(values, bins, range=(0, 256))[0]`` for ``bins`` a power of two up to 256: the
    same counts (int64, values outside 0-256 left out, 256 itself in the last bin), found by
    np.bincount at a tenth of np.histogram's cost on the few thousand values preprocessing bins."""
    width = 256 // bins  # a power of two: the division below is exact, as np.histogram's is
    inside = values[(values >= 0) & (values <= 256)]
    return np.bincount(np.minimum(np.floor(inside / width), bins - 1).astype(np.intp), minlength=bins)


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
