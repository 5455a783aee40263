"""Digits written with a thick marker, as ``predict`` shows them to the model: training images.

A marker 1.5-4.5 times MNIST's stroke width fills a digit's loops and notches. ``preprocessing.to_mnist``
thins such strokes back to 1.6 times MNIST's width (``digit.FAT``), and what is left (a 0 as a filled
oval with a slit, an 8 as two lumps) looks like no MNIST digit: ``best``, trained on MNIST with pen
augmentation at 28x28, read 89.5% of 1,500 validation digits drawn so (docs/BENCHMARKS.md). These
images are made the way a person makes them, at full size, and put through the very preprocessing
``predict`` runs, so a model trained with them learns the shapes it will be shown:

1. the MNIST digit enlarged 3-7 times (bicubic) and cut at a grey level of 90-140;
2. its pen path, the skeleton of those strokes (``skimage.morphology.skeletonize``, Zhang-Suen);
3. traced with a round tip ``MARKER_WIDTHS`` times MNIST's stroke (2.5 pixels on a 20-pixel digit):
   every pixel within the tip's radius of the path (a Euclidean distance transform,
   ``scipy.ndimage``), its edge softened by a Gaussian of 0.5-1.5 pixels;
4. laid on paper of grey 170-255 in ink of 0-70, with sensor noise of up to 5 grey levels;
5. ``preprocessing.to_mnist``.

The same path traced with the drawing page's pen (``drawn_image``: a tip of ``PAGE_PEN_WIDTHS`` times
MNIST's stroke, flat ink on flat paper either way round, an antialiased edge, no noise) gives the
digits a person draws on the page (``train --drawn-digits``; a reader so trained read drawings no
better than ``best``: docs/BENCHMARKS.md, "A reader for drawings, tried and not shipped").

The numbers benchmark's and own-digits benchmark's markers (``benchmarks/digit_sets.py``) trace the
same kind of path and are made from MNIST's test digits; these are made from the training split only.
"""

from __future__ import annotations

import numpy as np

MARKER_WIDTHS = (1.5, 4.5)  # the tip, in MNIST stroke widths: from a felt pen to a broad marker
# The page's round pen is 1/12 of its canvas: on a digit 35-85% of the canvas high, 0.8-1.9 MNIST stroke widths.
PAGE_PEN_WIDTHS = (0.6, 2.0)
PENS = ("marker", "page")
MNIST_STROKE = 2.5  # pixels: MNIST's stroke width on its 20-pixel digits
SCALES = (3, 8)  # the digit is drawn 3-7 times MNIST's size (84-196 pixels), as a phone or a scan gives it


def marker_image(digit: np.ndarray, rng: np.random.Generator, width: float | None = None) -> np.ndarray:
    """One MNIST digit, uint8 (28, 28), light ink on black, written with a thick marker: a grayscale
    image (h, w), float32, grey levels 0-255, dark ink on light paper, 100-400 pixels a side.
    ``rng`` draws the size, the tip's width (unless ``width`` gives it, in MNIST stroke widths), the
    paper, the ink and the noise."""
    scale = int(rng.integers(*SCALES))
    path, width = pen_path(digit, scale, rng), rng.uniform(*MARKER_WIDTHS) if width is None else width
    margin = int(rng.integers(10, 60))
    alpha = traced(path, width * MNIST_STROKE * scale / 2, rng.uniform(0.5, 1.5), margin)
    paper, ink = rng.uniform(170, 255), rng.uniform(0, 70)
    image = paper * (1 - alpha) + ink * alpha + rng.normal(0, rng.uniform(0, 5), alpha.shape)
    return np.clip(image, 0, 255).astype(np.float32)


def drawn_image(digit: np.ndarray, rng: np.random.Generator, width: float | None = None) -> np.ndarray:
    """One MNIST digit, uint8 (28, 28), light ink on black, drawn with the page's pen: a grayscale image
    (h, w), float32, grey levels 0-255, 100-400 pixels a side, flat ink on flat paper (white on black
    as the page draws, or black on white, as often), its edge antialiased. ``rng`` draws the size, the
    pen's width (unless ``width`` gives it, in MNIST stroke widths) and the way round."""
    scale = int(rng.integers(*SCALES))
    path, width = pen_path(digit, scale, rng), rng.uniform(*PAGE_PEN_WIDTHS) if width is None else width
    margin = int(rng.integers(10, 60))
    alpha = traced(path, width * MNIST_STROKE * scale / 2, rng.uniform(0.3, 0.8), margin)
    return np.round(255 * (alpha if rng.random() < 0.5 else 1 - alpha)).astype(np.float32)  # as a PNG holds it


def pen_path(digit: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """The pen's path of ``digit`` (uint8 (28, 28)) enlarged ``scale`` times (bicubic) and cut at a grey
    level of 90-140: its skeleton (``skimage.morphology.skeletonize``, Zhang-Suen), cropped to it; bool."""
    from PIL import Image
    from skimage.morphology import skeletonize

    from mnist_cnn.preprocessing.paper import bounding_box

    size = 28 * scale
    large = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC))
    strokes = large > rng.uniform(90, 140)
    if not strokes.any():
        strokes = large > 0
    path = skeletonize(strokes)
    return path[bounding_box(path)]


def traced(path: np.ndarray, radius: float, softness: float, margin: int) -> np.ndarray:
    """Ink cover, float32 0-1: every pixel within ``radius`` pixels of ``path`` (bool (h, w); a Euclidean
    distance transform, ``scipy.ndimage``), with ``margin`` more pixels of paper round the tip's reach,
    its edge softened by a Gaussian of ``softness`` pixels."""
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(~np.pad(path, int(np.ceil(radius)) + margin))
    return ndimage.gaussian_filter((distance <= radius).astype(np.float32), softness)


def marker_digits(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int, pen: str = "marker"
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` digits drawn at random (without replacement, with replacement past ``len(images)``)
    from ``images`` (uint8 (n, 28, 28), light on black) and ``labels`` ((n,) integers), written with
    ``pen`` (``"marker"``: a thick marker, ``marker_image``; ``"page"``: the drawing page's pen,
    ``drawn_image``) and put through ``preprocessing.to_mnist``: (uint8 (m, 28, 28),
    their labels (m,)), m <= count (an image the preprocessing finds blank is left out; none of
    16,000 training digits was). The same ``seed`` gives the same images. About 45 ms per digit.

    Raises:
        ValueError: ``images`` and ``labels`` differ in length, or are empty while ``count`` > 0, or
            ``pen`` is not one of ``PENS``.
    """
    from mnist_cnn import preprocessing
    from mnist_cnn.errors import ImageError

    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if pen not in PENS:
        raise ValueError(f"Expected a pen in {', '.join(PENS)}; received {pen!r}")
    write = marker_image if pen == "marker" else drawn_image
    if count <= 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.asarray(labels).dtype)
    if len(images) == 0:
        raise ValueError("no images to write with a marker")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), count, replace=count > len(images))
    made, kept = [], []
    for index in chosen:
        try:
            made.append(preprocessing.to_mnist(write(images[index], rng)))
        except ImageError:
            continue
        kept.append(labels[index])
    return np.asarray(made, np.uint8).reshape(-1, 28, 28), np.asarray(kept, np.asarray(labels).dtype)
