"""A person's image to an MNIST-style digit, made the way MNIST itself was made.

MNIST digits are light ink on black, size-normalised to fit a 20x20 box with their aspect ratio kept,
then placed in a 28x28 field with their centre of mass at the centre. A photo, a scan or a drawing is
turned into the same thing by one chain of named steps (``to_mnist``):

1. ``fit_work_size``: photos shrunk to 1024 pixels, tiny scans enlarged to 64 (a drawing whose
   number is read, further: ``drawings.work_scale``);
2. ``sheets.crop_to_sheet``: a sheet of paper photographed on a darker desk is cut out, upright or
   turned, large or a small note, under even or uneven light, on a plain or a wooden desk, or on a
   patterned one (gingham, tiles, a keyboard: the flat region among the pattern), the desk left in
   its box covered with paper; or else a dark plaque with light writing on a lighter wall
   (a house number), the wall covered with the plaque's ground (``plaques.find_plaque``);
3. ``paper.find_writing``: the lighting fitted and removed (``lighting.illumination``: a quadratic;
   a quartic under a desk lamp's spot; a hard shadow's straight edge divided out first, ``shadows``;
   a hand's or a phone's shadow, a tight lamp spot or a phone flash's spot by a grey closing
   wider than the pen, ``shading``, or three times as wide when a squared page's lines set it;
   a plane for a tiny scan, whose faint grey levels are kept), the ink found on
   whichever side of the paper is the minority (dark on light or light on dark, any paper grey),
   noise and specks dropped (a speck or two of the paper's grain alone: blank; a photo found blank
   is looked at once more smoothed, where a dim room's sensor noise hid the strokes);
4. ``frames.without_frames``: a frame around the writing (a form field's box, a plaque's border, a
   meter's cells) erased, first when it stays clear of the image's edges (its top and bottom are no
   ruled lines), then again after ``lines.remove_ruled_lines`` has erased the lines of ruled and
   squared paper (level or turned a few degrees, fanning out in perspective, each line on its own
   when they converge so that no two share a tilt, or starting at a margin), what they leave, a
   dot grid (dots alike in size), folds and creases, while a pencil's strokes broken into specks
   by a noisy photo stay; a frame cut by the edge and a rule
   above or below the writing go then. When the lines were most of the ink and the writing left is
   mostly at full ink (``saturated``: a dark pen on a page of faint lines, whose ink set the
   scale), steps 3-6 run once more with the scale measured on that writing, so the lines' erasure
   tells the pen from them and a small loop stays open;
5. ``remnants.without_shade_remnants``: what relighting left of a shadow beside the digit erased
   (marks paler than the pen and wider than its strokes, a solid shadow taken whole, specks);
   ``remnants.without_joined_shade``: a shadow's pale part joined to the strokes, far thicker than
   them, erased (a hand's palm reaching into the digit, in a photo of any size);
6. ``lines.without_hairlines``: straight marks far thinner than the pen beside the writing (a
   margin line or a sheet's edge in pieces), or paler and far taller (a sticky note's edge), or
   far longer than it is tall (a margin line beside a small digit, ``lines.without_long_lines``),
   erased; ``blank.without_page_marks``: a blank page's
   lone crease, at any angle (grain specks beside it or not), its shaded corner or a soft shadow
   anywhere on it emptied: no digit;
7. ``dust.without_dust``: specks more than a digit's height from the writing (a shadow's
   fingertip, a blot) erased; ``digit.ink_bounding_box``, ``resize.enlarge_small`` and
   ``resize.max_pool``: cropped to the ink, enlarged to 40 pixels if smaller (a 1-pixel pen's tiny
   digit, its pixel staircase smoothed: ``is_hairline``), shrunk to 80 if larger;
8. ``digit.normalise_stroke_width``: strokes made MNIST-wide, thicker or thinner;
9. ``digit.fit_in_box`` and ``digit.centre_by_mass``: 20x20, centred by mass in 28x28.

NumPy, Pillow, SciPy and scikit-image only: prediction never needs TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_cnn.errors import ImageError
from mnist_cnn.preprocessing import blank, digit, dust, frames, lines, paper, plaques, remnants, resize, sheets
from mnist_cnn.preprocessing.decoding import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    displayed_shape,
    frame_count,
    grayscale,
    load_npy,
    open_image,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "displayed_shape",
    "frame_count",
    "grayscale",
    "model_input",
    "open_image",
    "prepare",
    "to_mnist",
]

FIELD = digit.FIELD
WORK_SIZE = 1024  # longest side the cleaning steps work at: a digit in a corner of a photo keeps its detail
SMALLEST_WORK_SIZE = 64  # shortest side: an 8x8 scan is enlarged to this before it is cleaned
DIGIT_SIZE = 4 * 20  # a cropped digit is shrunk to this before strokes are measured: exact enough, and fast
SMALLEST_DIGIT = 40  # a cropped digit smaller than this (a 1-pixel pen's on a large canvas) is enlarged to it
HAIRLINE_WIDTH = 1.5  # pixels: a tiny crop's strokes this thin on average are a 1-pixel pen's (``is_hairline``)


def model_input(images: np.ndarray) -> np.ndarray:
    """Digits (n, 28, 28) or one digit (28, 28), values 0-255, as every model takes them: float32
    (n, 28, 28, 1), values 0-1. Raises ValueError for any other shape."""
    images = np.asarray(images)
    if images.ndim not in (2, 3) or images.shape[-2:] != (FIELD, FIELD):
        raise ValueError(f"Expected images of shape (n, 28, 28) or (28, 28); received {images.shape}")
    return images.astype(np.float32).reshape(-1, FIELD, FIELD, 1) / np.float32(255.0)


def fit_work_size(gray: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Shrink a large photo to 1024 pixels on its longest side, or by ``scale`` (at most 1: a
    drawing's ``drawings.work_scale``, for reading a number) when that shrinks it more; enlarge a
    tiny scan to 64 on its shortest."""
    longest = max(1, min(WORK_SIZE, round(max(gray.shape) * scale)))
    return resize.enlarge(resize.shrink(gray, longest), SMALLEST_WORK_SIZE)


def enlarged(gray: np.ndarray) -> bool:
    """Whether ``fit_work_size`` enlarges this image (h, w): a tiny scan, whose faint grey levels are
    the shape of its strokes, not a halo (``paper.ink_intensity``'s ``faint``)."""
    return min(gray.shape) < SMALLEST_WORK_SIZE


def to_mnist(gray: np.ndarray) -> np.ndarray:
    """Turn a grayscale image (h, w), values 0-255, of one digit into uint8 (28, 28) MNIST style.

    Raises:
        ImageError: the image is not 2-D, or holds no ink at all (a blank page).
    """
    ink, _, _ = find_ink(gray)
    return ink_to_mnist(ink)


def find_ink(
    gray: np.ndarray, scale: float = 1.0, relight: bool = True
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """The chain's first steps (1-6), shared by ``to_mnist`` and ``segmentation``: a grayscale image
    (h, w), values 0-255, shrunk first by ``scale`` if that is under 1 (``fit_work_size``), to (ink,
    work_shape, sheet_origin). ``relight``: look for a shadow to divide out (``paper.find_writing``);
    a drawing on flat paper (``drawings.work_scale``) has none. ``ink``: float32, values 0-1, light on
    dark, the size of the sheet cut from the image at work size; ``work_shape``: (rows, cols) of the
    image at work size (``fit_work_size``); ``sheet_origin``: (top, left) of the sheet in it, (0, 0)
    when there is none.

    Raises:
        ImageError: the image is not 2-D, or holds no ink at all (a blank page).
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ImageError(f"expected a 2-D grayscale image; received shape {gray.shape}")
    work = fit_work_size(gray, scale)
    sheet = sheets.sheet_in(work) or plaques.find_plaque(work)
    origin = (0, 0) if sheet is None else (sheet.box[0], sheet.box[2])
    paper_only = work if sheet is None else sheet.cut(work)
    ink, relit = paper.find_writing(paper_only, relight=relight, faint=enlarged(gray))
    writing, lined = cleaned(ink, relit, paper_only)
    if lined and saturated(writing):  # the page's lines set the ink's scale: measure it on the writing
        ink, relit = paper.find_writing(paper_only, relight=relight, faint=enlarged(gray), pen=writing > 0)
        writing, _ = cleaned(ink, relit, paper_only)
    return writing, work.shape, origin


LINED = 0.5  # of the ink's mass erased as ruled lines at least: the page's lines were most of the ink
SATURATED = 0.5  # of the writing's marked pixels at full ink: the scale was the lines', not the pen's


def cleaned(ink: np.ndarray, relit: bool, paper_only: np.ndarray) -> tuple[np.ndarray, bool]:
    """Steps 4-6 on ``paper.find_writing``'s ink (h, w), float32 0-1: (the writing, float32 (h, w),
    values 0-1; whether ruled lines were over ``LINED`` of the ink's mass)."""
    ink = frames.without_frames(ink, clear_of_edges=True)
    without_lines = lines.remove_ruled_lines(ink)
    lined = float(without_lines.sum()) < (1 - LINED) * float(ink.sum())
    ink = frames.without_frames(without_lines)
    ink = remnants.without_joined_shade(remnants.without_shade_remnants(ink, relit=relit))
    ink = lines.without_hairlines(ink)
    return blank.without_page_marks(ink, paper_only), lined


def saturated(writing: np.ndarray) -> bool:
    """Whether over ``SATURATED`` of the marked pixels of ``writing`` (h, w), float 0-1, are at full
    ink: a pen far darker than the page's faint lines, scaled by them (``paper.find_writing``), so the
    lines' erasure could not tell it from them, and a loop's paler inside is filled."""
    marked = writing[writing > 0]
    return marked.size > 0 and float(np.mean(marked >= 0.999)) > SATURATED


def ink_to_mnist(ink: np.ndarray) -> np.ndarray:
    """One digit's ink (h, w), float 0-1, light on dark, to uint8 (28, 28) by the chain's last steps:
    dust far from it erased, cropped to the ink, enlarged to 40 pixels or shrunk to 80
    (``crop_digit``), strokes made MNIST-wide, fitted in 20x20, centred by mass.

    Raises:
        ImageError: the ink is all zero (a blank page).
    """
    return cropped_to_mnist(crop_digit(ink))


def cropped_to_mnist(cropped: np.ndarray) -> np.ndarray:
    """Steps 8-9 on a digit cropped by ``crop_digit`` (float (h, w), values 0-1): strokes made
    MNIST-wide, fitted in 20x20, centred by mass; uint8 (28, 28)."""
    return digit.centre_by_mass(digit.fit_in_box(digit.normalise_stroke_width(cropped)))


def crop_digit(ink: np.ndarray) -> np.ndarray:
    """Step 7 on one digit's ink (h, w), float 0-1, light on dark: dust far from it erased, cropped
    to the ink, enlarged to 40 pixels on its longer side if smaller or shrunk to 80 if larger:
    float32 (h', w'), values 0-1, where strokes are measured (``digit.stroke_multiple``).

    Raises:
        ImageError: the ink is all zero (a blank page).
    """
    ink = dust.without_dust(ink)
    box = digit.ink_bounding_box(ink)
    if box is None:
        raise ImageError("no digit found: the image is blank")
    top, bottom, left, right = box
    crop = ink[top:bottom, left:right]
    return resize.max_pool(resize.enlarge_small(crop, SMALLEST_DIGIT, hairline=is_hairline(crop)), DIGIT_SIZE)


def is_hairline(crop: np.ndarray) -> bool:
    """Whether a cropped digit's ink (h, w), float 0-1, is a 1-pixel pen's tiny digit: enlarged to
    ``SMALLEST_DIGIT`` by ``resize.HAIRLINE_FACTOR`` or more (under 20 pixels on its longer side),
    its strokes (over half ink) at most ``HAIRLINE_WIDTH`` pixels wide on average
    (``digit.mean_stroke_width``; a 1-pixel pen's 0, 6 or 8 measures 1.1-1.4). A blank page's grain
    found as a few soft blobs measures wider (1.8 on the one of a rejection set's 600 blank pages
    that this would have made a 7), and is not smoothed into a stroke."""
    if -(-SMALLEST_DIGIT // max(crop.shape)) < resize.HAIRLINE_FACTOR:
        return False
    return digit.mean_stroke_width(crop > 0.5) <= HAIRLINE_WIDTH


def prepare(source) -> np.ndarray:
    """Any supported input to the uint8 (28, 28) array the model sees.

    ``source``: a path (image file or ``.npy``), bytes, a PIL image, or an array. Arrays of shape
    (28, 28) are taken as already MNIST-format (light ink on dark, 0-255 or 0-1) and only rescaled;
    other 2-D arrays are treated as grayscale photos. Raises ImageError for anything unreadable or blank.
    """
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".npy":
        source = load_npy(Path(source))
    if isinstance(source, np.ndarray):
        return prepare_array(source)
    return to_mnist(open_image(source))


def prepare_array(array: np.ndarray) -> np.ndarray:
    """A numeric 2-D array: (28, 28) is MNIST format already and only rescaled; any other size is a photo."""
    if np.shape(array) != (FIELD, FIELD):
        return to_mnist(array_to_gray(array))
    values = checked_values(array)
    if values.max() <= 0:
        raise ImageError("no digit found: the image is blank")  # as for a blank image file
    if values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def array_to_gray(array: np.ndarray) -> np.ndarray:
    """A numeric 2-D array of any size taken as a grayscale photo: float32 (h, w), values 0-255 (an
    array whose values are at most 1 is taken as 0-1 and scaled). Raises ImageError for any other
    array, an empty one, or one holding NaN or infinite values."""
    values = checked_values(array)
    return values * np.float32(255.0 if values.max() <= 1.0 else 1.0)


def checked_values(array: np.ndarray) -> np.ndarray:
    """A numeric 2-D array's values as float32. Raises ImageError for any other array, an empty one,
    or one holding NaN or infinite values."""
    array = np.asarray(array)
    if array.dtype.kind not in "buif" or array.ndim != 2:
        raise ImageError(f"expected a 2-D numeric array; received dtype {array.dtype}, shape {array.shape}")
    values = array.astype(np.float32)
    if not values.size:
        raise ImageError(f"expected a 2-D image; received an empty array of shape {array.shape}")
    if not np.isfinite(values).all():
        raise ImageError("array holds NaN or infinite values")
    return values
