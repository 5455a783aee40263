"""Changing an image's size without losing a thin pen line."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image


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


def enlarge_small(ink: np.ndarray, longest: int, speck: int = 8) -> np.ndarray:
    """Upscale (bilinear, one pixel of background padded around first) a cropped digit's ink (h, w),
    float32 0-1, by the smallest integer factor that makes its longest side at least ``longest``;
    larger crops, and specks under ``speck`` pixels on their longest side, are kept. A digit drawn
    with a 1-pixel pen 8-20 pixels tall on a large canvas then has its strokes measured and widened
    to MNIST's width, smoothly: on 400 such validation digits (a `/work` script), right with status
    ``digit`` 92.0 -> 94.0% at 40 pixels. A speck of dust or show-through, a few pixels, enlarged
    so became a smooth bar the detector took for a 1; left small it is refused as before."""
    factor = -(-longest // max(ink.shape))
    if factor <= 1 or max(ink.shape) < speck:
        return ink
    return upscaled(np.pad(ink, 1), factor)
