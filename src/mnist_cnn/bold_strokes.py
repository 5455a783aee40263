"""Digits written with a marker or a wide pen, read by a network trained on what preprocessing makes of them.

A marker 2-4x as wide as MNIST's strokes fills a digit's loops and joins its parts.
``preprocessing.to_mnist`` erodes fat strokes towards MNIST's width (``digit.normalise_stroke_width``),
but what is left of a filled 9 or a merged 8 is a shape no MNIST writer made, and ``best``, which must
keep its MNIST test accuracy, reads it wrong about one time in ten. The bold reader
(``bold_reader/``: ``best`` fine-tuned by ``mnist-cnn train --marker-digits`` on MNIST training
digits and training digits written with a marker (``markers``) and put through ``to_mnist``) reads a
one-digit image in place of the shipped models in ``readers.READ_FOR`` when its strokes are bold
(``is_bold``): solid, and more than ``BOLD`` times MNIST's width. Its figures: its ``MODEL_CARD.md``
and docs/BENCHMARKS.md. A model the user names by its file is never replaced.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn import readers
from mnist_cnn.preprocessing.digit import FAT

READER_DIR = readers.FOLDERS["bold"]
# stroke widths in MNIST's: fatter, solid strokes are a marker's, exactly those preprocessing erodes. On
# 200 validation digits of each own-digits set, asking the reader for digits over 1.2-2.0 read the same.
BOLD = FAT


def reader_for(classifier):
    """The bold reader in ``classifier``'s runtime, or None (``readers.reader_for``)."""
    return readers.reader_for(classifier, "bold")


def is_bold(cropped: np.ndarray) -> bool:
    """Whether a digit cropped by the chain (``preprocessing.crop_digit``: float (h, w), values 0-1,
    light on dark) is written with bold strokes: solid (``digit.is_solid``) and more than ``BOLD``
    times MNIST's width (``digit.stroke_multiple``). False when it holds no ink."""
    from mnist_cnn.preprocessing import digit

    cropped = np.asarray(cropped, dtype=np.float32)
    return digit.is_solid(cropped) and digit.stroke_multiple(cropped) > BOLD
