"""A person's image to an MNIST-style digit, made the way MNIST itself was made.

MNIST digits are light ink on black, size-normalised to fit a 20x20 box with their aspect ratio kept,
then placed in a 28x28 field with their centre of mass at the centre. A photo or a drawing is turned
into the same thing: grayscale, light ink on dark, background (including uneven lighting) removed,
cropped to the ink, strokes thickened when they are too thin to survive the downscale, scaled to fit
20x20, centred by mass. Only NumPy and Pillow are used, so prediction never needs TensorFlow.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from mnist_cnn.errors import ImageError

MAX_PIXELS = 40_000_000  # decompression-bomb guard: 40 megapixels
FIELD = 28
BOX = 20
WORK_SIZE = 1024  # longest side the cleaning steps work at: a digit in a corner of a photo keeps its detail
DIGIT_SIZE = 4 * 20  # a cropped digit is shrunk to this before strokes are measured: exact enough, and fast
STROKE_RATIO = 0.12  # MNIST strokes are about 2.5 pixels on a 20-pixel digit
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def model_input(images: np.ndarray) -> np.ndarray:
    """Digits (n, 28, 28) or one digit (28, 28), values 0-255, as every model takes them: float32
    (n, 28, 28, 1), values 0-1."""
    images = np.asarray(images)
    if images.ndim not in (2, 3) or images.shape[-2:] != (FIELD, FIELD):
        raise ValueError(f"Expected images of shape (n, 28, 28) or (28, 28); received {images.shape}")
    return images.astype(np.float32).reshape(-1, FIELD, FIELD, 1) / np.float32(255.0)


def open_image(source) -> np.ndarray:
    """Read a path, bytes or PIL image into a float32 grayscale array (h, w), values 0-255.

    Raises ImageError for a missing, empty, truncated, non-image or over-40-megapixel file.
    """
    if isinstance(source, Image.Image):
        return grayscale(source, "image")
    name = "image" if isinstance(source, (bytes, bytearray)) else str(source)
    if not isinstance(source, (bytes, bytearray)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise ImageError(f"{path}: empty file")
        source = path.read_bytes()
    if not source:
        raise ImageError(f"{name}: empty file")
    try:
        with Image.open(io.BytesIO(source)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(
                    f"{name}: {image.width}x{image.height} is over the {MAX_PIXELS // 1_000_000} megapixel limit"
                )
            image.load()
            return grayscale(image, name)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: over the {MAX_PIXELS // 1_000_000} megapixel limit") from None
    except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as error:
        reason = (
            "not an image Pillow can read"
            if isinstance(error, Image.UnidentifiedImageError)
            else f"unreadable or truncated image ({error})"
        )
        raise ImageError(f"{name}: {reason}") from None


def grayscale(image: Image.Image, name: str) -> np.ndarray:
    """Luminance of the first frame, upright per EXIF; transparency laid on a contrasting background."""
    image.seek(0)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        luminance = np.asarray(image.convert("L"), dtype=np.float32)
        if alpha.min() < 0.5:
            # Ink drawn on a transparent canvas: only alpha says where the ink is. Lay the strokes on
            # a background of the opposite brightness so the polarity step sees them.
            ink_level = float((luminance * alpha).sum() / max(alpha.sum(), 1e-6))
            background = 0.0 if ink_level > 127 else 255.0
            return luminance * alpha + background * (1 - alpha)
        return luminance
    if image.mode in ("I", "I;16", "F"):
        array = np.asarray(image, dtype=np.float32)
        span = float(array.max() - array.min()) or 1.0
        return (array - array.min()) / span * 255.0
    return np.asarray(image.convert("L"), dtype=np.float32)


def to_mnist(gray: np.ndarray) -> np.ndarray:
    """Turn a grayscale image (h, w), values 0-255, of one digit into uint8 (28, 28) MNIST style.

    Raises ImageError when the image holds no ink at all (a blank page).
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ImageError(f"expected a 2-D grayscale image; received shape {gray.shape}")
    work = shrink(gray, WORK_SIZE)
    if border_level(work) > 127:
        work = 255.0 - work  # dark ink on light paper -> light ink on dark, as in MNIST
    ink = remove_background(work)
    box = ink_bounding_box(ink)
    if box is None:
        raise ImageError("no digit found: the image is blank")
    top, bottom, left, right = box
    digit = thicken_strokes(max_pool(ink[top:bottom, left:right], DIGIT_SIZE))
    return centre_by_mass(fit_in_box(digit, BOX))


def shrink(gray: np.ndarray, longest: int) -> np.ndarray:
    """Downscale (area-averaging) so the longest side is at most ``longest``; small images are kept."""
    height, width = gray.shape
    scale = longest / max(height, width)
    if scale >= 1:
        return gray
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX), dtype=np.float32)


def max_pool(ink: np.ndarray, longest: int) -> np.ndarray:
    """Shrink by an integer factor taking block maxima, so a thin pen line survives as a 1-pixel line."""
    factor = -(-max(ink.shape) // longest)
    if factor <= 1:
        return ink
    height, width = -(-ink.shape[0] // factor) * factor, -(-ink.shape[1] // factor) * factor
    padded = np.zeros((height, width), dtype=ink.dtype)
    padded[: ink.shape[0], : ink.shape[1]] = ink
    return padded.reshape(height // factor, factor, width // factor, factor).max(axis=(1, 3))


def border_level(gray: np.ndarray) -> float:
    """The median of the outer 5% frame: the paper's (or canvas') brightness."""
    height, width = gray.shape
    band_y, band_x = max(1, height // 20), max(1, width // 20)
    frame = np.concatenate(
        [gray[:band_y].ravel(), gray[-band_y:].ravel(), gray[:, :band_x].ravel(), gray[:, -band_x:].ravel()]
    )
    return median(frame)


def median(values: np.ndarray) -> float:
    """np.median of a non-empty, NaN-free array, without the NaN checks and dispatch that cost more
    than the sort itself on a small image."""
    flat = values.ravel()
    middle = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, middle)[middle])
    lower, upper = np.partition(flat, (middle - 1, middle))[middle - 1 : middle + 1]
    return (float(lower) + float(upper)) / 2


def remove_background(gray: np.ndarray) -> np.ndarray:
    """Light-on-dark image to ink intensity 0-1: subtract the (possibly uneven) background and noise."""
    height, width = gray.shape
    if min(height, width) >= 32:
        # A median over a window much wider than a stroke sees only paper: it follows shadows and
        # gradients across a photo but not the digit itself.
        small = shrink(gray, 48)
        size = max(3, (min(small.shape) // 3) | 1)
        background = Image.fromarray(small, mode="F").filter(ImageFilter.MedianFilter(size))
        background = np.asarray(background.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
        ink = gray - np.minimum(background, gray.max())
    else:
        ink = gray - median(gray)
    ink = np.clip(ink, 0, None)
    # The 20th brightest pixel, not the brightest: a few hot pixels can't set the scale, and a digit
    # that fills a tiny part of a large photo still does (a percentile would miss it).
    brightest = min(20, ink.size)
    peak = float(np.partition(ink.ravel(), -brightest)[-brightest])
    if peak <= 0:
        return np.zeros_like(ink)
    residual = ink[ink < 0.5 * peak]
    noise_floor = 0.0
    if residual.size:
        centre = median(residual)
        noise_floor = centre + 3 * median(np.abs(residual - centre))  # median + 3 MADs
    noise_floor = max(noise_floor, 0.15 * peak)
    return np.clip((ink - noise_floor) / max(peak - noise_floor, 1e-6), 0, 1)


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


def thicken_strokes(digit: np.ndarray) -> np.ndarray:
    """Dilate strokes that are too thin for their size (a pen line on a big photo) to MNIST's proportion."""
    mask = digit > 0.3
    area = int(mask.sum())
    if area == 0:
        return digit
    interior = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    edge = max(area - int(interior.sum()), 1)
    stroke_width = 2.0 * area / edge  # area / (perimeter / 2) for a long thin shape
    wanted = STROKE_RATIO * max(digit.shape)
    grow = int(round(wanted - stroke_width))
    if grow < 2:
        return digit
    size = grow | 1  # MaxFilter needs an odd size
    padded = np.pad(digit, size)
    thick = Image.fromarray(padded, mode="F").filter(ImageFilter.MaxFilter(size))
    return np.asarray(thick, dtype=np.float32)[size // 2 : -(size // 2) or None, size // 2 : -(size // 2) or None]


def fit_in_box(digit: np.ndarray, box: int) -> np.ndarray:
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


def prepare(source) -> np.ndarray:
    """Any supported input to the uint8 (28, 28) array the model sees.

    ``source``: a path (image file or ``.npy``), bytes, a PIL image, or an array. Arrays of shape
    (28, 28) are taken as already MNIST-format (light ink on dark, 0-255 or 0-1) and only rescaled;
    other 2-D arrays are treated as grayscale photos.
    """
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".npy":
        source = load_npy(Path(source))
    if isinstance(source, np.ndarray):
        return prepare_array(source)
    return to_mnist(open_image(source))


def load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as error:
        raise ImageError(f"{path}: not a readable .npy array ({error})") from None
    if array.shape != (FIELD, FIELD):
        raise ImageError(f"{path}: expected an array of shape (28, 28); received {array.shape}")
    return array


def prepare_array(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind not in "buif" or array.ndim != 2:
        raise ImageError(f"expected a 2-D numeric array; received dtype {array.dtype}, shape {array.shape}")
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise ImageError("array holds NaN or infinite values")
    if array.shape != (FIELD, FIELD):
        return to_mnist(values * (255.0 if values.max() <= 1.0 else 1.0))
    if values.max() <= 0:
        raise ImageError("no digit found: the image is blank")  # as for a blank image file
    if values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)
