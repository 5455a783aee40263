"""A drawing on flat paper (the served page's canvas, a drawing program's PNG): the size its number is
cleaned at.

A photo's paper is never one exact grey level; a drawing's is, over most of the image, and its ink
then tells itself from the paper alone, with its height and its pen's width. A number drawn 200
pixels high with a 22-pixel pen holds no detail that 64 rows and a 7-pixel pen lose: each digit
ends up 20 pixels high in MNIST's field. ``segmentation.ink_map`` cleans it at that size instead of
1024 pixels wide (several cleaning steps look only at larger images), which reads a drawn 4-digit
number about 3 times faster; one digit is still read at full size, exactly as ``to_mnist`` reads it
(docs/BENCHMARKS.md, "Reading numbers").
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.preprocessing.filters import neighbourhood_max
from mnist_cnn.preprocessing.resize import max_pool

FLAT_SHARE = 0.5  # the paper's one grey level covers at least this share of a drawing
SAMPLED = 65536  # pixels looked at to tell a drawing from a photo
INK_CONTRAST = 64.0  # grey levels a drawing's darkest-against-paper ink differs from its paper, at least
EDGE_PAPER = 0.97  # share of the image's edge that is paper (within PAPER_NOISE levels), at least
PAPER_NOISE = 8
OTHER_SIDE = 0.01  # share of what is not paper that lies on the other side of it from the ink, at most
THIRD_TONE = 0.02  # pixels of a third tone (``drawn``), as a share of the ink's, at most
FLAT_INK = 0.7  # share of neighbouring ink pixels (along rows) of exactly one level, at least
INK_ROWS = 64  # a drawing is cleaned at the size where its ink spans this many rows, at least ...
DIGIT_ROWS = 48  # ... its pieces (digits, not a frame around them) this many, its pen PEN pixels
PEN = 4.0
SMALLEST_PIECE = 8  # sampled pixels: smaller pieces of ink (a dot, a speck) have no pen width to go by


def sampled(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """(sample, step): every ``step``-th pixel of every ``step``-th row of ``gray``, at most about
    SAMPLED pixels, as uint8."""
    step = max(1, int(np.sqrt(gray.size / SAMPLED)))
    return np.clip(gray[::step, ::step], 0, 255).astype(np.uint8), step


def paper_level(sample: np.ndarray) -> int | None:
    """The grey level of a drawing's flat paper, or None for a photo or a scan: the one level that
    FLAT_SHARE of ``sample`` (uint8 (h, w), ``sampled``) holds."""
    counts = np.bincount(sample.ravel(), minlength=256)
    level = int(counts.argmax())
    return level if counts[level] >= FLAT_SHARE * sample.size else None


def strokes(mask: np.ndarray) -> tuple[float, float]:
    """(pen, height) of a boolean ink mask (h, w), in pixels, from its connected pieces (8-connected,
    of at least SMALLEST_PIECE pixels; (0, 0) without one). ``pen``: the thinnest piece's stroke
    width (a hairline digit beside bold ones sets it), each twice its area over its outline, the
    outline counted as ink/paper changes along rows and columns times pi/4 (a stroke at a random
    angle crosses 4/pi more pixel edges than its length). ``height``: the pieces' median height,
    a digit's and not a frame's around a number of them, nor a detached bar's alone."""
    from scipy import ndimage

    padded = np.pad(mask, 1)
    labels, count = ndimage.label(padded, structure=np.ones((3, 3)))
    if count == 0:
        return 0.0, 0.0
    changes = np.zeros(count + 1)
    for a, b, in_a, in_b in (
        (labels[1:], labels[:-1], padded[1:], padded[:-1]),
        (labels[:, 1:], labels[:, :-1], padded[:, 1:], padded[:, :-1]),
    ):
        # An ink/paper change has one ink pixel (8-connected ink beside ink is one piece): the sum
        # of the two labels is that pixel's piece.
        edge = in_a != in_b
        changes += np.bincount(a[edge] + b[edge], minlength=count + 1)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    pieces = np.flatnonzero(areas[1:] >= SMALLEST_PIECE) + 1
    if len(pieces) == 0:
        return 0.0, 0.0
    boxes = ndimage.find_objects(labels)
    heights = [boxes[piece - 1][0].stop - boxes[piece - 1][0].start for piece in pieces]
    return float(np.min(2.0 * areas[pieces] / (changes[pieces] * np.pi / 4))), float(np.median(heights))


def work_scale(gray: np.ndarray) -> float:
    """The factor, at most 1, a drawing (h, w), grey levels 0-255, may be shrunk by before it is
    cleaned: its ink (over half its contrast with the paper) kept INK_ROWS rows high, its pieces'
    median height DIGIT_ROWS (a frame drawn around small digits) and its pen PEN pixels wide
    (``strokes``), whichever shrinks least. Whether it is a drawing is judged
    on about SAMPLED pixels (``sampled``); its strokes are measured on the maxima of blocks twice as
    wide as the sample's step (``resize.max_pool``), where a hairline beside bold strokes stays a
    line. 1 for a photo (``paper_level`` None, or not ``drawn``), for ink under INK_CONTRAST grey
    levels from the paper, and for a drawing already that small."""
    sample, step = sampled(gray)
    level = paper_level(sample)
    if level is None:
        return 1.0
    signed = sample.astype(np.int16) - level
    strongest = int(np.abs(signed).max())
    if strongest < INK_CONTRAST or not drawn(sample, signed, np.abs(signed) > strongest / 2):
        return 1.0
    dark = signed.min() < -strongest / 2  # dark ink on light paper (drawn checked it is all on one side)
    ink = gray < level - strongest / 2 if dark else gray > level + strongest / 2
    pooled_longest = -(-max(ink.shape) // (2 * step))  # blocks twice the sample's step
    factor = -(-max(ink.shape) // pooled_longest)  # what max_pool pools by: 4 for a 1040x390 number
    pen, height = strokes(max_pool(ink, pooled_longest))
    pen, height = (size * factor - (factor - 1) for size in (pen, height))  # pooling widens by factor - 1
    rows = np.flatnonzero(ink.any(axis=1))
    wanted = (INK_ROWS / (rows[-1] - rows[0] + 1), DIGIT_ROWS / max(height, 1.0), PEN / max(pen, 1e-6))
    return float(min(1.0, max(wanted)))


def drawn(sample: np.ndarray, signed: np.ndarray, ink: np.ndarray) -> bool:
    """Whether a sample (uint8 (h, w), ``sampled``) of an image with flat paper is a drawing: two
    tones, paper and ink, and the edges between them. ``signed``: int (h, w), each pixel's grey
    levels above the paper; ``ink``: boolean (h, w), the ink. Its edge is all but 3% paper (at most
    PAPER_NOISE levels from it), all that is not paper lies on the ink's side of it (a white sheet
    on a flat grey desk, its writing darker than the desk, is no drawing), no third tone (grey
    levels between paper and ink, 2 sample pixels or more from the paper, under THIRD_TONE of the
    ink: light writing on a dark plaque on a lighter wall is no drawing), and its ink is flat:
    FLAT_INK of ink pixels the same level as their right-hand neighbour. A phone photo whose paper
    came out pure white fails: a hand's shadow reaches the frame's edge, and its dark parts keep the
    sensor's noise (on 300 validation shade photos, the 20 with flat paper had 66-95% of their edge
    paper; the served page's drawings and bold markers on flat paper 98-100%)."""
    edge = np.concatenate([signed[0], signed[-1], signed[:, 0], signed[:, -1]])
    if np.mean(np.abs(edge) <= PAPER_NOISE) < EDGE_PAPER:
        return False
    first_ink = signed.flat[int(np.argmax(ink))]  # the first ink pixel's side of the paper
    paper = np.abs(signed) <= PAPER_NOISE
    # Off the paper (over PAPER_NOISE from it) on the other side than that ink: counted directly.
    other_side = signed < -PAPER_NOISE if first_ink > 0 else signed > PAPER_NOISE
    if np.count_nonzero(other_side) > OTHER_SIDE * np.count_nonzero(~paper):
        return False
    between = ~paper & ~ink & ~neighbourhood_max(paper, 5)  # neither ink nor its soft edge on the paper
    if np.count_nonzero(between) > THIRD_TONE * np.count_nonzero(ink):
        return False
    both = ink[:, 1:] & ink[:, :-1]
    pairs = np.count_nonzero(both)
    same = np.count_nonzero(both & (sample[:, 1:] == sample[:, :-1]))
    return bool(pairs == 0 or same / pairs >= FLAT_INK)
