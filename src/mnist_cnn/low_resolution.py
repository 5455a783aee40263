"""Digits scanned at a few pixels a side, read by a network trained on what preprocessing makes of them.

An 8x8 scan keeps about six pixels of a digit's height. ``preprocessing.to_mnist`` enlarges it and
makes it MNIST-style, and the soft, blocky shape that reaches the model looks like no MNIST digit.
``best`` learnt low-resolution round trips of 11-18 pixels and reads about 94% of 8-pixel scans of
validation digits. The low-resolution reader (``low_resolution_reader/``: ``models.best_model``'s
network trained by ``scripts/train_low_resolution.py`` on tiny scans of MNIST training-split digits
put through ``to_mnist``) reads a one-digit image in place of the shipped models in ``READ_FOR``
when the image is a low-resolution scan (``is_low_resolution``): at most ``LARGEST_SIDE`` pixels on
its longer side, or such a scan enlarged (``lost_detail``). Its figures: its ``MODEL_CARD.md`` and
docs/BENCHMARKS.md. A model the user names by its file is never replaced.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

READER_DIR = Path(__file__).resolve().parent / "low_resolution_reader"
# pixels: an image no larger on its longer side is a tiny scan. On 6,000 validation digits scanned
# at each size the reader read 98.73/99.02/98.78/98.55% at 14/15/16/17 pixels, ``best``
# 98.60/98.87/98.82/98.95% (docs/BENCHMARKS.md): 15 is the largest size where the reader reads more.
LARGEST_SIDE = 15
READ_FOR = ("best", "best-ensemble")  # the shipped models whose tiny scans the reader reads
LOOK_SIDE = 64  # pixels: an image is shrunk to this on its longer side to tell whether it was enlarged
COARSE_SIDE = 3  # pixels: a round trip through this keeps only the lighting, none of the digit
# Of an image's detail, an enlarged tiny scan loses less than this in a round trip through a
# LARGEST_SIDE image. On 200 validation images of each own-digits set, the low-resolution scans
# (8-16 pixels enlarged 4-12x, JPEG) lost 0.09-0.39 of it, every other kind 0.25-0.98 (bold markers
# the least), tiny scans kept at their size aside; at 0.2 61% of 1,000 enlarged scans are taken,
# and that set reads 97.4% -> 98.6% (docs/BENCHMARKS.md).
LOST_DETAIL = 0.2
NO_DETAIL = 1.0  # grey levels, L2 norm over the looked-at image: less is no detail at all


def is_tiny(shape: tuple[int, ...]) -> bool:
    """Whether an image of ``shape`` (rows, cols) is a tiny scan: 2-D, not empty, and at most
    ``LARGEST_SIDE`` pixels on its longer side. A (28, 28) MNIST-format array is not."""
    return len(shape) == 2 and min(shape) > 0 and max(shape) <= LARGEST_SIDE


def reader_for(classifier):
    """The low-resolution reader (a ``prediction.Classifier``: uint8 (n, 28, 28) -> float32 (n, 10)
    calibrated probabilities) in ``classifier``'s runtime when ``classifier`` is one of the shipped
    models in ``READ_FOR`` and the reader ships a file for that runtime; None otherwise."""
    from mnist_cnn.prediction import SHIPPED_DIR

    path = Path(classifier.path).resolve()
    if classifier.name not in READ_FOR or path.parent != (SHIPPED_DIR / classifier.name).resolve():
        return None
    return load_reader(classifier.runtime)


@cache
def load_reader(runtime: str):
    """The shipped reader for ``runtime`` ("onnx", "litert", "keras" or "savedmodel", which uses the
    Keras file), loaded once per process; None when it has no file for that runtime."""
    from mnist_cnn.prediction import CLASSIFIERS, RUNTIME_FILES

    runtime = "keras" if runtime == "savedmodel" else runtime
    path = READER_DIR / RUNTIME_FILES[runtime]
    return CLASSIFIERS[runtime]("low-resolution-reader", path) if path.is_file() else None


def is_low_resolution(gray) -> bool:
    """Whether a grayscale image (h, w), values 0-255, is a low-resolution scan: tiny (``is_tiny``),
    or enlarged from one (``lost_detail`` under ``LOST_DETAIL``)."""
    shape = np.shape(gray)
    if len(shape) != 2 or min(shape) == 0:
        return False
    return is_tiny(shape) or lost_detail(gray) < LOST_DETAIL


def lost_detail(gray) -> float:
    """The share of a grayscale image's detail, 0 or more (about 1: all of it), that a round trip
    through ``LARGEST_SIDE`` pixels on its longer side loses: the L2 norm of the image minus that
    round trip, over the L2 norm of the image minus a round trip through ``COARSE_SIDE`` pixels
    (the lighting alone), both on the image shrunk to ``LOOK_SIDE`` pixels (box filter; the round
    trips down by box filter and back by bicubic interpolation, Pillow). A tiny scan enlarged loses
    almost nothing; a photo, a drawing or a print loses its strokes' edges. ``gray``: (h, w), any
    size; 1.0 for an image with no detail to tell by (under ``NO_DETAIL``: a blank page, or a 1-pixel
    line between the pixels a large image is looked at by)."""
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
    detail = np.linalg.norm(looked - round_trip(image, COARSE_SIDE))
    lost = np.linalg.norm(looked - round_trip(image, LARGEST_SIDE))
    return float(lost / detail) if detail > NO_DETAIL else 1.0


def round_trip(image, side: int) -> np.ndarray:
    """A Pillow "F" image shrunk to ``side`` pixels on its longer side by a box filter and enlarged
    back to its size by bicubic interpolation, as float32 (h, w)."""
    from PIL import Image

    small = image.resize(resized(image.size, side / max(image.size)), Image.Resampling.BOX)
    return np.asarray(small.resize(image.size, Image.Resampling.BICUBIC))


def resized(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """A Pillow (width, height) scaled by ``scale``, each side at least 1 pixel."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
