"""A dark plaque with light writing on a lighter wall, found in a photo and cut out: a house number,
a dark meter's face.

A house number is often light digits on a dark plaque. Read as a page, the plaque is the ink and its
digits are its holes: a helper's 8 photographed plaques all read "0" or nothing. The plaque is found
as ``sheets.find_sheet`` finds a sheet of paper on a desk, with the colours swapped, and cut out whole
(``Plaque.cut``), so that the steps after it see light writing on a dark ground, whose side
``paper.ink_intensity`` takes for the ink as it would chalk on a board.

Grayscale images are float32 (h, w), values 0-255. Image processing comes from ``scipy.ndimage`` and
``skimage.morphology``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_cnn.preprocessing.filters import median, otsu_threshold
from mnist_cnn.preprocessing.resize import shrink
from mnist_cnn.preprocessing.sheets import Sheet, mask_at, sheet_region

WALL_CONTRAST = 40.0  # grey levels: the wall's median stands this far above the darkest pixels (a sheet's desk too)
PLAQUE_SMALLEST = 64  # pixels on an image's shorter side: smaller ones hold no plaque to cut out
PLAQUE_RIM = 1.5  # pixels of the 128-pixel copy: a plaque's blurred rim, covered with its ground
PLAQUE_REACH = 6  # pixels of the 128-pixel copy: a plaque's own dark rim beyond a light border, at most
PLAQUE_ALONE = 0.01  # of a dark plaque's area: the dark pixels beside it, all together, at most (no writing)
LIGHT_WRITING = 0.35  # of a dark plaque: light marks are the writing on it up to this share
LIGHT_CONTRAST = 40.0  # grey levels: light writing stands this far above a plaque's ground, as a sheet above a desk
LIGHT_STROKE = 0.15  # of a dark plaque's shorter side: light writing's strokes are thinner than this


@dataclass(frozen=True)
class Plaque(Sheet):
    """A dark plaque found in a photo (``find_plaque``): ``box`` its bounding box, a pixel of the
    128-pixel copy wider, and ``desk`` the box's pixels that show the wall or the plaque's blurred
    rim (boolean, some False)."""

    def cut_afresh(self, gray: np.ndarray) -> np.ndarray:
        """``gray`` (h, w), float32 0-255, cut to the box: float32 (bottom - top, right - left), the
        wall and the rim covered by the median of the plaque's other pixels, its ground (the nearest
        pixel may be a light border on it)."""
        top, bottom, left, right = self.box
        cropped = gray[top:bottom, left:right]
        return np.where(self.desk, median(cropped[~self.desk]), cropped).astype(np.float32)


def find_plaque(gray: np.ndarray) -> Plaque | None:
    """A dark plaque with light writing on a lighter wall (a house number, a dark meter's face) in a
    grayscale image (h, w), float32 0-255, or None. Images under ``PLAQUE_SMALLEST`` (64) pixels on
    a side: None (a scan enlarged from a few pixels is the paper itself); a house number cropped
    from a photo may be smaller than ``sheets.sheet_in``'s 128 (helper-45's 218x110 plaque "19"
    read as "0" when it was not looked for).

    The plaque is a sheet (``sheets.sheet_region``: the largest region, holes filled, nearly a rectangle,
    clear of the frame's edges, sharply two-toned) in the negative of a 128-pixel copy whose light
    marks that do not reach the frame's edge (the writing, a light border on the plaque) are first
    levelled to the plaque's grey by morphological reconstruction (``skimage.morphology.reconstruction``
    by dilation from the frame's edge: grey hole filling, Soille 2003). It counts only when it is the
    one dark region (``alone``) and light writing is on it (``light_writing``): a bold dark digit
    has no light writing inside it, a shadow or a phone lying on the page holds none and has the
    digit beside it. The frame's rim (the wall) must stand WALL_CONTRAST grey levels above the
    copy's darkest pixels (5th percentile): a light-on-dark drawing's canvas is as dark as they are,
    and is let go after a shrink. Unlike a sheet, which is cut inside its edges, the plaque is cut
    whole, a pixel of the copy wider, its blurred rim (PLAQUE_RIM) and the wall covered with its
    ground (``Plaque.cut``): a light border near its edge stays whole, clear of the cut's edges, for
    ``frames``.

    On a helper's 8 photographed house-number plaques (fonts, colours, light borders), none was read
    before and all 8 after; ``benchmarks/number_reading.py --framed`` draws such plaques from MNIST
    test digits (docs/BENCHMARKS.md, "Numbers in frames").
    """
    from scipy import ndimage
    from skimage.morphology import reconstruction

    if min(gray.shape) < PLAQUE_SMALLEST:
        return None
    small = shrink(gray, 128)
    rim = np.concatenate([small[[0, -1]].ravel(), small[1:-1, [0, -1]].ravel()])
    if median(rim) < np.percentile(small, 5) + WALL_CONTRAST:
        return None  # a rim as dark as the darkest pixels: a light-on-dark drawing, no lighter wall
    seed = np.full_like(small, small.min())
    seed[[0, -1]] = small[[0, -1]]
    seed[:, [0, -1]] = small[:, [0, -1]]
    face = reconstruction(seed, small, method="dilation")  # light marks that do not reach the edge levelled
    region = sheet_region(255.0 - face.astype(np.float32))
    if region is None or not alone(region, face):
        return None
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    scale = (gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1])
    top, bottom = max(rows[0] - 1, 0), min(rows[-1] + 2, small.shape[0])
    left, right = max(cols[0] - 1, 0), min(cols[-1] + 2, small.shape[1])
    box = (
        int(top * scale[0]),
        min(int(np.ceil(bottom * scale[0])), gray.shape[0]),
        int(left * scale[1]),
        min(int(np.ceil(right * scale[1])), gray.shape[1]),
    )
    inner = ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1] > PLAQUE_RIM
    desk = ~mask_at(inner, box, scale)
    if desk.all():
        return None
    plaque = Plaque(box, desk)
    return plaque if light_writing(plaque.cut(gray)) else None


def alone(region: np.ndarray, face: np.ndarray) -> bool:
    """Whether a plaque's ``region`` (boolean, like ``face``, a grayscale copy with its writing
    levelled, values 0-255) is the one dark region: all pixels beyond it, PLAQUE_REACH pixels out
    (past its own rim outside a light border on its edge, which the levelling may have cut off), darker
    than halfway between its ground and the wall, are at most PLAQUE_ALONE of its area together. A
    meter's dark cells on a lighter housing are dark regions apart (one taken for the plaque would
    drop the others' digits); a phone lying on a page has the digit beside it."""
    from scipy import ndimage

    halfway = (median(face[region]) + median(face[~region])) / 2
    beyond = ~ndimage.binary_dilation(region, iterations=PLAQUE_REACH)
    return np.count_nonzero(beyond & (face < halfway)) <= PLAQUE_ALONE * np.count_nonzero(region)


def light_writing(gray: np.ndarray) -> bool:
    """Whether a grayscale image (h, w), values 0-255, holds light writing on dark ground: at a
    128-pixel copy's Otsu threshold, the light pixels are 1-35% of it (the minority), LIGHT_CONTRAST
    grey levels lighter than the rest (their medians), their strokes (twice the 90th percentile of
    their distance transform) at most 15% of its shorter side. A bold 0's hole cut out alone is one
    wide light blob; a shadow's paper is the majority. A light panel in the plaque with dark digits
    on it (``sheets.sheet_region``: a sheet, the plaque its frame) is no light writing either."""
    from scipy import ndimage

    small = shrink(gray, 128)
    light = small > otsu_threshold(small)[0]
    if not 0.01 <= light.mean() <= LIGHT_WRITING or sheet_region(small) is not None:
        return False  # no light marks, a light ground, or a light panel with dark writing on it
    if median(small[light]) - median(small[~light]) < LIGHT_CONTRAST:
        return False  # the noise of a shadow's or a blank plaque's even grey
    distance = ndimage.distance_transform_edt(light)
    return 2 * float(np.percentile(distance[light], 90)) <= LIGHT_STROKE * min(small.shape)
