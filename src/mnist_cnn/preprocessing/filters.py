"""Exact stand-ins for ``scipy.ndimage`` filters where scipy is slow: the same values, bit for bit, at a
fraction of the cost (preprocessing runs per request in a server). Tests check them against scipy."""

from __future__ import annotations

import numpy as np


def neighbourhood_max(image: np.ndarray, size: int) -> np.ndarray:
    """The maximum over the ``size`` x ``size`` square (odd) around each pixel of a 2-D array, the square
    cut at the image's edge: ``scipy.ndimage.maximum_filter(image, size)``, whose default 'reflect' mode
    only repeats pixels already inside the square. Same dtype and shape as ``image``."""
    result = image
    for axis in (0, 1):
        source = np.moveaxis(result, axis, 0)
        spread = source.copy()
        for shift in range(1, size // 2 + 1):
            np.maximum(spread[shift:], source[:-shift], out=spread[shift:])
            np.maximum(spread[:-shift], source[shift:], out=spread[:-shift])
        result = np.moveaxis(spread, 0, axis)
    return result
