"""Dust: small marks far from the writing, erased before the digit is cropped.

What a shade, a shadow's edge or the paper leaves after relighting (``paper.ink_intensity``,
``remnants``) can be a few bright specks: a fingertip of a hand's shadow, a corner of a phone's,
a blot. Cropped with the digit they shrink it in its 20x20 box and add dots beside it, and the
model reads a "0" with three dots as a "9". Segmentation drops such specks when it groups marks
into digits (``segmentation.SPECK``), but a single digit's 28x28 is made from the whole map
(``preprocessing.to_mnist``); this step erases them there too, when they lie farther than a digit's
height from the writing, so the dot of a "?" or a "!" (a symbol to refuse, not a 7 or a 1) stays.

Takes and returns float32 ink maps (h, w), values 0-1, light ink on dark.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing.paper import bounding_box

STROKE = 0.3  # ink level: marks are the connected pixels above it (as segmentation labels them)
SHARE = 0.03  # of the largest mark's ink: smaller marks may be dust (segmentation.SPECK)
REACH = 1.0  # of the largest mark's height: dust lies farther than this from every larger mark
EDGE = 2  # pixels: a speck's soft edge, below STROKE, erased with it


def without_dust(ink: np.ndarray) -> np.ndarray:
    """``ink`` (h, w), float32 0-1, less its dust: every mark (8-connected pixels above STROKE,
    ``scipy.ndimage.label``) holding under SHARE of the largest mark's ink whose box lies farther
    than REACH of the largest mark's height from the box of every mark holding at least that share,
    erased with EDGE pixels around it. A broken stroke's piece, a 5's bar, a marker's blot and a
    question mark's dot lie near their mark and stay; a map of one mark, or of marks all alike in
    size (a dotted pen), is returned unchanged. Chosen on 200 validation shade photos and 600
    symbols and shapes (docs/BENCHMARKS.md): a reach of 0.15 read one more shade photo but took the
    dots off "?" and "!", which were then accepted as digits."""
    from scipy import ndimage

    frame = bounding_box(ink > STROKE, margin=EDGE)
    if frame is None:
        return ink
    near = ink[frame]  # the marks' box and their soft edges: the rest of the map holds no mark
    labels, count = ndimage.label(near > STROKE, structure=np.ones((3, 3)))
    if count < 2:
        return ink
    masses = np.bincount(labels.ravel(), weights=near.ravel(), minlength=count + 1)[1:]
    boxes = ndimage.find_objects(labels)
    largest = int(np.argmax(masses))
    reach = REACH * (boxes[largest][0].stop - boxes[largest][0].start)
    spans = np.array([(box[0].start, box[0].stop, box[1].start, box[1].stop) for box in boxes])
    small = masses < SHARE * masses[largest]
    nearest = nearest_gaps(spans[small], spans[~small])  # one array op, not a loop over pairs (noise: 1,000s)
    dust = [int(label) for label, distance in zip(np.flatnonzero(small) + 1, nearest) if distance > reach]
    if not dust:
        return ink
    cleaned = ink.copy()
    erased = ndimage.binary_dilation(np.isin(labels, dust), iterations=EDGE)  # with their soft edges
    cleaned[frame][erased] = 0
    return cleaned


def nearest_gaps(spans: np.ndarray, others: np.ndarray, chunk: int = 512) -> np.ndarray:
    """For each box in ``spans`` (int (n, 4): row start, row stop, column start, column stop), the
    distance in pixels to the nearest box in ``others`` (int (m, 4)), 0 where they overlap; inf when
    there is none: float (n,). Array
    operations on ``chunk`` boxes at a time, so a noisy map's thousands of specks stay cheap in time
    and memory."""
    nearest = np.full(len(spans), np.inf)
    for start in range(0, len(spans) if len(others) else 0, chunk):
        part = spans[start : start + chunk, None, :]
        down = np.maximum(0, np.maximum(part[..., 0], others[:, 0]) - np.minimum(part[..., 1], others[:, 1]))
        across = np.maximum(0, np.maximum(part[..., 2], others[:, 2]) - np.minimum(part[..., 3], others[:, 3]))
        nearest[start : start + chunk] = np.hypot(down, across).min(axis=1)
    return nearest
