"""Changing an image's size without losing a thin pen line."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

HAIRLINE_FACTOR = 3  # a 1-pixel pen's crop enlarged this many times or more is smoothed (``enlarge_small``)
HAIRLINE_SIGMA = 0.5  # of the enlargement factor: the Gaussian that rounds its pixel staircase


def shrink(gray: np.ndarray, longest: int) -> np.ndarray:
    """Downscale (area-averaging) so the longest side is at most ``longest``; small images are kept."""
    height, width = gray.shape
    scale = longest / max(height, width)
    if scale >= 1:
        return gray
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX), dtype=np.float32)


def enlarge(gray: np.ndarray, shortest: int) -> np.ndarray:
    """Upscale (bilinear) by the smallest integer factor that makes the shortest side at least
    ``shortest``: an 8x8 scan gets enough pixels for the cleaning steps to tell ink from paper."""
    factor = -(-shortest // min(gray.shape))
    return upscaled(gray, factor) if factor > 1 else gray


def upscaled(image: np.ndarray, factor: int) -> np.ndarray:
    """A float (h, w) image enlarged bilinearly (Pillow) by an integer ``factor``: float32 (h * factor, w * factor)."""
    size = (image.shape[1] * factor, image.shape[0] * factor)
    return np.asarray(Image.fromarray(image, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def max_pool(ink: np.ndarray, longest: int) -> np.ndarray:
    """Shrink by an integer factor taking block maxima, so a thin pen line survives as a 1-pixel line."""
    factor = -(-max(ink.shape) // longest)
    if factor <= 1:
        return ink
    height, width = -(-ink.shape[0] // factor) * factor, -(-ink.shape[1] // factor) * factor
    padded = np.zeros((height, width), dtype=ink.dtype)
    padded[: ink.shape[0], : ink.shape[1]] = ink
    # Every factor-th row, then column, maximised together: the same maxima as reducing the blocks of a
    # (h/f, f, w/f, f) reshape, 10x faster, since numpy reduces short strided axes slowly.
    rows = functools.reduce(np.maximum, [padded[offset::factor] for offset in range(factor)])
    return functools.reduce(np.maximum, [rows[:, offset::factor] for offset in range(factor)])


def enlarge_small(ink: np.ndarray, longest: int, speck: int = 8, hairline: bool = False) -> np.ndarray:
    """Upscale (bilinear, one pixel of background padded around first) a cropped digit's ink (h, w),
    float32 0-1, by the smallest integer factor that makes its longest side at least ``longest``;
    larger crops, and specks under ``speck`` pixels on their longest side, are kept. A digit drawn
    with a 1-pixel pen 8-20 pixels tall on a large canvas then has its strokes measured and widened
    to MNIST's width, smoothly: on 400 such validation digits (a `/work` script), right with status
    ``digit`` 92.0 -> 94.0% at 40 pixels. A speck of dust or show-through, a few pixels, enlarged
    so became a smooth bar the detector took for a 1; left small it is refused as before.

    ``hairline``: the crop is a 1-pixel pen's strokes (``preprocessing.is_hairline`` decides). Enlarged
    ``HAIRLINE_FACTOR`` times or more, such a digit kept its pixel staircase: a 0 or an 8 9-12
    pixels tall drawn with a 1-pixel pen came out a rectangle with square corners and a stub where
    the pen closed the loop, which the digit detector refused as a shape. It is smoothed by a
    Gaussian of ``HAIRLINE_SIGMA`` of the factor (half a pixel of the crop; scipy.ndimage) and
    brought back to full ink: on 600 such digits of every class 9-19 pixels tall (helper-37's
    renderer, a `/work` script), read right and accepted 563 -> 592 (docs/BENCHMARKS.md)."""
    factor = -(-longest // max(ink.shape))
    if factor <= 1 or max(ink.shape) < speck:
        return ink
    enlarged = upscaled(np.pad(ink, 1), factor)
    if not hairline or factor < HAIRLINE_FACTOR:
        return enlarged
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(enlarged, HAIRLINE_SIGMA * factor)
    along = smooth[enlarged >= 0.5]  # the strokes: their 90th percentile is brought back to full ink
    level = float(np.percentile(along, 90)) if along.size else float(smooth.max())
    return np.clip(smooth / max(level, 1e-6), 0.0, 1.0).astype(np.float32)
