"""One digit's ink to MNIST's proportions: cropped, strokes MNIST-wide, fitted to 20x20, centred by mass.

Ink maps are float32 (h, w), values 0-1, light on dark. MNIST digits were size-normalised to fit a
20x20 box keeping their aspect ratio, then placed in a 28x28 field by their centre of mass (LeCun et
al. 1998); their strokes are about 2.5 pixels wide on a 20-pixel digit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_cnn.preprocessing.filters import median, neighbourhood_max

FIELD = 28
BOX = 20
STROKE_RATIO = 0.12  # MNIST strokes are about 2.5 pixels on a 20-pixel digit
THIN, FAT = 0.7, 1.6  # strokes within these multiples of MNIST's width are left as they are; fatter ones eroded to FAT
# A digit this narrow (width / height of its ink, once upright) is also read stretched to WIDENED
# (``is_narrow``, ``widened``; ``prediction.widened_if_read_better`` chooses): MNIST has few condensed
# digits, and ``best`` reads validation digits squeezed to 0.35 of their height 86.6% right, to 0.25
# 50.7% (a thin 0 as a 1); 95.3% and 84.6% so (docs/BENCHMARKS.md, "Condensed digits").
NARROW_DIGIT = 0.5
WIDENED = 0.6
TALL_LOOP = 0.5  # of a digit's height: a hole in its strokes this tall is a loop no 1 has (``has_tall_loop``)
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


def ridge_distances(mask: np.ndarray) -> np.ndarray:
    """float64 (n,): the Euclidean distance to the background (scipy.ndimage; the frame's edge counts
    as background) at the n points of a boolean image's ridge, the local maxima of that distance (the
    strokes' centre lines); empty for an empty mask."""
    from scipy import ndimage

    if not mask.any():
        return np.zeros(0)
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    ridge = mask & (distance >= neighbourhood_max(distance, 3))  # maximum_filter's values, faster
    return distance[ridge]


def stroke_width(mask: np.ndarray) -> float:
    """The typical stroke width of a boolean image, in pixels: twice the median of its
    ``ridge_distances``, minus one so a one-pixel line measures 1. 0 for an empty mask."""
    distances = ridge_distances(mask)
    return 2.0 * median(distances) - 1.0 if len(distances) else 0.0


def normalise_stroke_width(digit: np.ndarray) -> np.ndarray:
    """Bring strokes thinner than 0.7x or fatter than 1.6x MNIST's proportion (12% of the digit's
    longer side) towards it: thin ones (a pen line on a big photo) are redrawn from their skeleton
    (Zhang and Suen 1984, scikit-image) with a round pen of that width; fat ones (a marker, a small drawing
    with a wide pen) are eroded with a disk down to 1.6x (on the bold-marker and small-drawing sets
    of 1,500 validation digits with `best`: 88.5% and 96.2% eroded to 1.4x, 89.9% and 96.5% to
    1.6x, 90.2-90.5% and 96.4-96.5% to 1.7-2x, but there the shared bold-marker cases' thick 1s
    read wrong; docs/BENCHMARKS.md), and any thin part erosion would wipe out
    (a serif font's hairline) is redrawn from its skeleton instead, so no stroke breaks. Fat strokes
    that are only blurred (under 70% of them at full ink, a tiny scan enlarged) and digits already
    in proportion come back unchanged. The result is cropped to its ink."""
    from scipy import ndimage

    mask = digit > 0.5
    width = stroke_width(mask)  # full width at half maximum, for blurred strokes too
    wanted = STROKE_RATIO * max(digit.shape)
    if width <= 0 or THIN * wanted <= width <= FAT * wanted:
        return digit
    if width > FAT * wanted and not is_solid(digit):
        return digit  # wide because blurred: erosion and skeletons would lose its loops
    margin = int(np.ceil(wanted))
    padded, mask = np.pad(digit, margin), np.pad(mask, margin)
    path = skeleton(mask)
    if width < wanted:
        changed = redraw(path, wanted)
    else:
        radius = (width - FAT * wanted) / 2
        eroded = ndimage.grey_erosion(padded, footprint=disk(2 * int(round(radius)) + 1))
        distance = ndimage.distance_transform_edt(mask)
        thin_parts = path & (distance <= radius + 1)
        changed = np.maximum(eroded, redraw(thin_parts, wanted)) if thin_parts.any() else eroded
    rows, cols = np.flatnonzero(changed.max(axis=1) > 0.05), np.flatnonzero(changed.max(axis=0) > 0.05)
    if not len(rows):
        return digit
    return changed[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def mean_stroke_width(mask: np.ndarray) -> float:
    """The mean stroke width of a boolean image (h, w), in pixels: twice its area over its outline,
    the outline counted as ink/paper changes along rows and columns times pi/4 (a stroke at a random
    angle crosses 4/pi more pixel edges than its length; as ``drawings.strokes`` measures a piece).
    Cheaper than ``stroke_width`` (no distance transform) and rougher. 0 for an empty mask."""
    padded = np.pad(mask, 1)
    changes = np.count_nonzero(padded[1:] != padded[:-1]) + np.count_nonzero(padded[:, 1:] != padded[:, :-1])
    return 2.0 * np.count_nonzero(mask) / (changes * np.pi / 4) if changes else 0.0


def stroke_multiple(digit: np.ndarray) -> float:
    """A cropped digit's stroke width (``stroke_width`` of its pixels over 0.5, half of full ink: the
    full width at half maximum of a stroke at full ink) in multiples of MNIST's proportion
    (``STROKE_RATIO`` of its longer side): about 1 for an MNIST digit, 2-4 for a marker's.
    ``digit``: float (h, w), values 0-1, cropped to its ink; 0 for no ink."""
    return stroke_width(digit > 0.5) / (STROKE_RATIO * max(digit.shape))


def is_solid(digit: np.ndarray) -> bool:
    """Whether a digit's strokes are mostly at full ink (over 90% on at least ``SOLID`` of the pixels
    over half), as a marker's or a pen's are, and not wide because blurred (a tiny scan enlarged).
    ``digit``: float (h, w), values 0-1; False for no ink."""
    inked = int((digit > 0.5).sum())
    return inked > 0 and int((digit > 0.9).sum()) >= SOLID * inked


def skeleton(mask: np.ndarray) -> np.ndarray:
    """The one-pixel-wide centre lines of a boolean image (Zhang and Suen 1984, via scikit-image)."""
    from skimage.morphology import skeletonize

    return skeletonize(mask)


def redraw(path: np.ndarray, width: float) -> np.ndarray:
    """Ink (h, w), values 0-1, of a round pen ``width`` pixels wide drawn along the boolean ``path``,
    anti-aliased by each pixel's distance to the path."""
    from scipy import ndimage

    if not path.any():
        return np.zeros(path.shape, dtype=np.float32)
    return np.clip(width / 2 + 0.5 - ndimage.distance_transform_edt(~path), 0, 1).astype(np.float32)


def disk(diameter: int) -> np.ndarray:
    """A round pen tip: a boolean disk ``diameter`` pixels across (odd)."""
    radius = (diameter - 1) / 2
    rows, cols = np.indices((diameter, diameter))
    return np.hypot(rows - radius, cols - radius) <= radius + 0.5


def is_narrow(cropped: np.ndarray) -> bool:
    """Whether a digit cropped to its ink (``preprocessing.crop_digit``'s, float (h, w)) is under
    NARROW_DIGIT times as wide as it is tall: a 1, or any digit written condensed (a tall, thin 0)."""
    return cropped.shape[1] < NARROW_DIGIT * cropped.shape[0]


def upright(cropped: np.ndarray) -> np.ndarray:
    """A digit cropped to its ink (float (h, w), values 0-1) with its slant sheared away: each row
    moved across by the slope of its ink's second moments (covariance of column and row over the
    variance of the row, the classic deskewing of MNIST digits), cropped to its ink again; float32
    (h, w'), values 0-1. An upright digit comes back as it was."""
    rows, cols = np.indices(cropped.shape, dtype=np.float64)
    mass = float(cropped.sum())
    if mass <= 0:
        return cropped.astype(np.float32)
    row_mean, col_mean = (rows * cropped).sum() / mass, (cols * cropped).sum() / mass
    variance = ((rows - row_mean) ** 2 * cropped).sum() / mass
    slope = float(((rows - row_mean) * (cols - col_mean) * cropped).sum() / mass / max(variance, 1e-6))
    height, width = cropped.shape
    margin = int(np.ceil(abs(slope) * height / 2)) + 1
    sheared = Image.fromarray(cropped.astype(np.float32), mode="F").transform(
        (width + 2 * margin, height),
        Image.Transform.AFFINE,
        (1, slope, -margin - slope * row_mean, 0, 1, 0),
        Image.Resampling.BILINEAR,
    )
    straight = np.clip(np.asarray(sheared, dtype=np.float32), 0, 1)
    columns = np.flatnonzero(straight.max(axis=0) > 0.05)
    return straight[:, columns[0] : columns[-1] + 1] if len(columns) else straight


def widened(cropped: np.ndarray) -> np.ndarray:
    """A digit cropped to its ink (float (h, w), values 0-1) stretched across to WIDENED times its
    height (linear interpolation), as a person reading a condensed hand sees it: float32 (h, w'),
    values 0-1."""
    height = cropped.shape[0]
    size = (max(1, round(WIDENED * height)), height)
    stretched = Image.fromarray(cropped.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(stretched, dtype=np.float32), 0, 1)


def has_tall_loop(cropped: np.ndarray) -> bool:
    """Whether a digit cropped to its ink (float (h, w), values 0-1) encloses a hole in its strokes
    (pixels over 0.5; ``scipy.ndimage.binary_fill_holes``) at least TALL_LOOP of its height tall: a
    0's loop (helper-46's thin 0s: 0.68-0.90), or a 6's or a 9's, never a 1's pinholes (a dim
    photo's fat 1: 0.12 at most)."""
    from scipy import ndimage

    strokes = cropped > 0.5
    holes, count = ndimage.label(ndimage.binary_fill_holes(strokes) & ~strokes)
    return any(rows.stop - rows.start >= TALL_LOOP * cropped.shape[0] for rows, _ in ndimage.find_objects(holes))


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
