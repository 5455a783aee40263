"""Digits scanned at a few pixels a side, read by a network trained on what preprocessing makes of them.

An 8x8 scan keeps about six pixels of a digit's height. ``preprocessing.to_mnist`` enlarges it and
makes it MNIST-style, and the soft, blocky shape that reaches the model looks like no MNIST digit.
``best`` learnt low-resolution round trips of 11-18 pixels and reads about 94% of 8-pixel scans of
validation digits. The low-resolution reader (``low_resolution_reader/``: ``models.best_model``'s
network trained by ``scripts/train_low_resolution.py`` on tiny scans of MNIST training-split digits
put through ``to_mnist``) reads a one-digit image in place of the shipped models in ``readers.READ_FOR``
when the image is a low-resolution scan (``is_low_resolution``): at most ``LARGEST_SIDE`` pixels on
its longer side, or such a scan enlarged (``lost_detail``). Its figures: its ``MODEL_CARD.md`` and
docs/BENCHMARKS.md. A model the user names by its file is never replaced.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn import readers

READER_DIR = readers.FOLDERS["low_resolution"]
# pixels: an image no larger on its longer side is a tiny scan. On 6,000 validation digits scanned
# at each size (whole fields, box-filtered), a first reader trained on such scans alone read more
# than ``best`` up to 15 pixels and fewer from 16; the shipped one, trained on crops and other
# filters too, reads more up to 18 on its own renderer's scans (98.93/99.08/99.10/98.98% at
# 15/16/17/18 pixels against 98.67/98.90/99.05/98.90%), by a hair past 16 (docs/BENCHMARKS.md).
LARGEST_SIDE = 15
LOOK_SIDE = 64  # pixels: an image is shrunk to this on its longer side to tell whether it was enlarged
COARSE_SIDE = 3  # pixels: a round trip through this keeps only the lighting, none of the digit
# Of an image's detail, an enlarged tiny scan loses less than this in a round trip through a
# LARGEST_SIDE image (``lost_detail``). On 200 validation images of each own-digits set, the
# enlarged scans (8-16 pixels enlarged 4-12x, JPEG) lost 0.11-0.49 of it (median 0.25), every other
# kind 0.39-1.45 (shadow photos the least), 200 pages with a vignette 0.61-1.02; tiny scans kept at
# their size aside. Below 0.3, 60% of 1,000 enlarged validation scans are taken, and that set reads
# 97.4% -> 98.7% (docs/BENCHMARKS.md).
LOST_DETAIL = 0.3
NO_DETAIL = 0.01  # of the image's value range: detail under this is none at all


def is_tiny(shape: tuple[int, ...]) -> bool:
    """Whether an image of ``shape`` (rows, cols) is a tiny scan: 2-D, not empty, and at most
    ``LARGEST_SIDE`` pixels on its longer side. A (28, 28) MNIST-format array is not."""
    return len(shape) == 2 and min(shape) > 0 and max(shape) <= LARGEST_SIDE


def reader_for(classifier):
    """The low-resolution reader in ``classifier``'s runtime, or None (``readers.reader_for``)."""
    return readers.reader_for(classifier, "low_resolution")


def is_low_resolution(gray) -> bool:
    """Whether a grayscale image (h, w), any value range, is a low-resolution scan: tiny
    (``is_tiny``), or enlarged from one (``lost_detail`` under ``LOST_DETAIL``). False for anything
    not 2-D or empty."""
    shape = np.shape(gray)
    if len(shape) != 2 or min(shape) == 0:
        return False
    return is_tiny(shape) or lost_detail(gray) < LOST_DETAIL


def lost_detail(gray) -> float:
    """The share of a grayscale image's detail, 0 or more (about 1: all of it), that a round trip
    through ``LARGEST_SIDE`` pixels on its longer side loses: the largest difference between the
    image and that round trip, over the largest between the image and a round trip through
    ``COARSE_SIDE`` pixels (the lighting alone), both on the image shrunk to ``LOOK_SIDE`` pixels
    (box filter; the round trips down by box filter and back by bicubic interpolation, Pillow).
    Largest differences, not sums: a vignette or a shadow is smooth, and summed over the frame it
    outweighs a small digit's strokes, whose edges a photo loses and an enlarged scan keeps.
    ``gray``: (h, w), any size and value range; 1.0 for an image with no detail to tell by (under
    ``NO_DETAIL`` of its value range: a blank page, or a 1-pixel line between the pixels a large
    image is looked at by)."""
    from PIL import Image

    gray = np.asarray(gray)
    step = max(gray.shape) // (4 * LOOK_SIDE)
    if step > 1:  # every step-th pixel of a large image: an enlarged scan is smooth at that spacing, and
        gray = gray[::step, ::step]  # what aliasing adds to a photo's detail a round trip loses too
    image = Image.fromarray(np.ascontiguousarray(gray, np.float32), mode="F")
    scale = LOOK_SIDE / max(image.size)
    if scale < 1:
        image = image.resize(resized(image.size, scale), Image.Resampling.BOX)
    looked = np.asarray(image)
    detail = float(np.max(np.abs(looked - round_trip(image, COARSE_SIDE))))
    lost = float(np.max(np.abs(looked - round_trip(image, LARGEST_SIDE))))
    span = float(looked.max() - looked.min())
    return lost / detail if span > 0 and detail > NO_DETAIL * span else 1.0


def round_trip(image, side: int) -> np.ndarray:
    """A Pillow "F" image shrunk to ``side`` pixels on its longer side by a box filter and enlarged
    back to its size by bicubic interpolation, as float32 (h, w)."""
    from PIL import Image

    small = image.resize(resized(image.size, side / max(image.size)), Image.Resampling.BOX)
    return np.asarray(small.resize(image.size, Image.Resampling.BICUBIC))


def resized(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """A Pillow (width, height) scaled by ``scale``, each side at least 1 pixel."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
