"""One digit's ink to MNIST's proportions: cropped, strokes MNIST-wide, fitted to 20x20, centred by mass.

Ink maps are float32 (h, w), values 0-1, light on dark. MNIST digits were size-normalised to fit a
20x20 box keeping their aspect ratio, then placed in a 28x28 field by their centre of mass (LeCun et
al. 1998); their strokes are about 2.5 pixels wide on a 20-pixel digit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FIELD = 28
BOX = 20
STROKE_RATIO = 0.12  # MNIST strokes are about 2.5 pixels on a 20-pixel digit
THIN, FAT = 0.7, 1.4  # strokes within these multiples of MNIST's width are left as they are
SOLID = 0.7  # share of a stroke at full ink (over 90%) that makes it a marker's, not a blur's


def ink_bounding_box(ink: np.ndarray, trim: float = 0.003) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) holding all but ``trim`` of the ink mass on each side: specks don't count."""
    total = float(ink.sum())
    if total <= 0:
        return None

    def span(profile: np.ndarray) -> tuple[int, int]:
        cumulative = np.cumsum(profile) / total
        start = int(np.searchsorted(cumulative, trim))
        stop = int(np.searchsorted(cumulative, 1 - trim)) + 1
        return start, max(stop, start + 1)

    top, bottom = span(ink.sum(axis=1))
    left, right = span(ink.sum(axis=0))
    return top, bottom, left, right


def stroke_width(mask: np.ndarray) -> float:
    """The typical stroke width of a boolean image, in pixels: twice the median distance to the
    background along the strokes' ridge (local maxima of the Euclidean distance transform), minus one
    so a one-pixel line measures 1. 0 for an empty mask."""
    from scipy import ndimage

    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    ridge = mask & (distance >= ndimage.maximum_filter(distance, size=3))
    return 2.0 * float(np.median(distance[ridge])) - 1.0


def normalise_stroke_width(digit: np.ndarray) -> np.ndarray:
    """Redraw strokes thinner than 0.7x MNIST's proportion (a pen line on a big photo) or fatter than
    1.4x (a marker, a small drawing with a wide pen) with a round pen 12% of the digit's longer side
    wide: the strokes' skeleton (Zhang and Suen 1984, scikit-image) is kept, so hairlines of a serif
    font and the loops of an 8 survive, and each pixel is inked by its distance to it (anti-aliased).
    Other digits, and fat strokes that are only blurred (less than 70% of them at full ink), come back
    unchanged. The result is cropped to its ink."""
    from scipy import ndimage
    from skimage.morphology import skeletonize

    mask = digit > 0.5
    width = stroke_width(mask)  # full width at half maximum, for blurred strokes too
    wanted = STROKE_RATIO * max(digit.shape)
    if width <= 0 or THIN * wanted <= width <= FAT * wanted:
        return digit
    if width > FAT * wanted and (digit > 0.9).sum() < SOLID * mask.sum():
        return digit  # wide because blurred (a tiny scan enlarged): its skeleton would lose the loops
    margin = int(np.ceil(wanted))
    path = skeletonize(np.pad(mask, margin))
    redrawn = np.clip(wanted / 2 + 0.5 - ndimage.distance_transform_edt(~path), 0, 1).astype(np.float32)
    rows, cols = np.flatnonzero(redrawn.max(axis=1) > 0), np.flatnonzero(redrawn.max(axis=0) > 0)
    return redrawn[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_in_box(digit: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (anti-aliased)."""
    height, width = digit.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place in a 28x28 field so the centre of mass lands on the centre; return uint8 0-255, peak 255."""
    height, width = digit.shape
    rows, cols = np.indices(digit.shape)
    mass = float(digit.sum()) or 1.0
    centre_y, centre_x = float((rows * digit).sum() / mass), float((cols * digit).sum() / mass)
    top = int(np.clip(round(FIELD / 2 - 0.5 - centre_y), 0, FIELD - height))
    left = int(np.clip(round(FIELD / 2 - 0.5 - centre_x), 0, FIELD - width))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    peak = float(field.max()) or 1.0
    return np.round(field / peak * 255).astype(np.uint8)
