"""Image files, bytes and arrays to a float32 grayscale array, safely.

Large photos are decoded at reduced size: a JPEG through Pillow's ``draft`` (the decoder skips the
detail it would throw away), other formats reduced right after decoding. Decompression bombs are
refused from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from mnist_cnn.errors import ImageError

FIELD = 28
# A header larger than this is refused before decoding. Phone cameras reach 200 megapixels;
# JPEGs of that size decode at an eighth of their side through draft(), so they cost little.
MAX_PIXELS = 250_000_000
MAX_FULL_DECODE_PIXELS = 120_000_000  # formats without a reduced decode (PNG, TIFF, ...) decode whole
DECODE_SIDE = 2048  # longest side we need: the cleaning steps work at 1024 at most
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
ANIMATED_SUFFIXES = {".png", ".gif", ".webp", ".tif", ".tiff"}  # formats that may hold several frames
# Pillow refuses images over twice this on its own; ours is the limit that counts, checked below.
Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_PIXELS // 2 + 1)
# A colour image whose luminance spans fewer grey levels than this (1st to 99th percentile) ...
ISOLUMINANT = 24.0
# ... while its colours spread this many times wider along their first principal component is read
# along that component: a red brush on a green canvas of the same brightness has no grey-level ink.
COLOUR_GAIN = 3.0
COLOUR_SAMPLES = 16384  # pixels both spreads are measured on, at most (a 128x128 grid)


def open_image(source) -> np.ndarray:
    """Read a path, bytes or PIL image into a float32 grayscale array (h, w), values 0-255.

    Photos larger than 2048 pixels on their longest side come back reduced (area-averaged) so that
    side is 2048 to 4095 pixels; nothing a digit needs is lost at that size.

    Raises:
        ImageError: a missing, empty, truncated or non-image file, or a header over 250 megapixels
            (120 for formats other than JPEG).
    """
    if isinstance(source, Image.Image):
        return grayscale(source, "image")
    name = "image" if isinstance(source, (bytes, bytearray)) else str(source)
    if not isinstance(source, (bytes, bytearray)):
        path = Path(source)
        if not path.is_file():
            what = "not a regular file (a folder, a device or a pipe)" if path.exists() else "no such file"
            raise ImageError(f"{path}: {what}")
        if path.stat().st_size == 0:
            raise ImageError(f"{path}: empty file")
        source = path.read_bytes()
    if not source:
        raise ImageError(f"{name}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit follows
            image = Image.open(io.BytesIO(source))
        with image:
            check_size(image, name)
            reduce_while_decoding(image)
            image.load()
            return grayscale(reduce_after_decoding(image), name)
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


TRANSPOSED = {5, 6, 7, 8}  # EXIF orientations that turn the picture a quarter turn: rows and columns swap


def displayed_shape(source) -> tuple[int, int] | None:
    """(rows, cols) of the picture a path, bytes or PIL image holds, upright per EXIF, read from its
    header without decoding pixels: the size ``open_image`` reduces a large photo from, in which a
    number's digit boxes are given. None when the header cannot be read (reading it reports why)."""
    if isinstance(source, Image.Image):
        return header_shape(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source)) as image:
                return header_shape(image)
    except Exception:  # noqa: BLE001 - any failure here is reported when the image is read
        return None


def header_shape(image: Image.Image) -> tuple[int, int]:
    """(rows, cols) of an opened image, upright per its EXIF orientation."""
    width, height = image.size
    return (width, height) if image.getexif().get(0x0112) in TRANSPOSED else (height, width)


def frame_count(path: Path) -> int:
    """How many frames the image file at ``path`` holds (an animated GIF, PNG or WebP, a multi-page
    TIFF): Pillow's ``n_frames``, read from the file without decoding pixels. 1 for a file of one
    frame, of another format, or one that cannot be opened (reading it reports why)."""
    if Path(path).suffix.lower() not in ANIMATED_SUFFIXES:
        return 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                return int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - any failure here is reported when the image is read
        return 1


def check_size(image: Image.Image, name: str) -> None:
    """Refuse a decompression bomb from its header: over 250 megapixels for a JPEG (decoded reduced),
    over 120 for other formats (decoded whole)."""
    pixels = image.width * image.height
    limit = MAX_PIXELS if image.format == "JPEG" else MAX_FULL_DECODE_PIXELS
    if pixels > limit:
        raise ImageError(f"{name}: {image.width}x{image.height} is over the {limit // 1_000_000} megapixel limit")


def reduce_while_decoding(image: Image.Image) -> None:
    """Ask a JPEG decoder for a 1/2, 1/4 or 1/8 scale image no smaller than 2048 on its longest side."""
    if image.format == "JPEG" and max(image.size) > 2 * DECODE_SIDE:
        scale = DECODE_SIDE / max(image.size)
        image.draft(image.mode, (round(image.width * scale), round(image.height * scale)))


def reduce_after_decoding(image: Image.Image) -> Image.Image:
    """Shrink by an integer factor (block averages) to at most twice 2048 on the longest side."""
    factor = max(image.size) // DECODE_SIDE
    if factor < 2 or image.mode not in ("L", "RGB", "RGBA", "LA", "I", "I;16", "F"):
        return image
    return image.reduce(factor)


def grayscale(image: Image.Image, name: str) -> np.ndarray:
    """Luminance of the first frame, upright per EXIF; transparency laid on a contrasting background;
    a colour image whose ink differs from its paper in hue alone read along its colours
    (``along_colour``)."""
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
        return along_colour(image, luminance)
    if image.mode in ("I", "I;16", "F"):
        array = np.asarray(image, dtype=np.float32)
        span = float(array.max() - array.min()) or 1.0
        return (array - array.min()) / span * 255.0
    luminance = np.asarray(image.convert("L"), dtype=np.float32)
    return luminance if image.mode in ("L", "1") else along_colour(image, luminance)


def along_colour(image: Image.Image, luminance: np.ndarray) -> np.ndarray:
    """``luminance`` (h, w), grey levels 0-255, of a colour ``image`` (a Pillow image of any colour
    mode); or, when its luminance spans under ``ISOLUMINANT`` grey levels (1st to 99th percentile) and its colours
    spread over ``COLOUR_GAIN`` times wider along their first principal component, the image along
    that component, stretched over the same percentiles to 0-255: ink that differs from its paper in
    hue alone (a red brush on a green canvas, Pillow's grey levels 101 and 107) still stands out.
    Both spreads are measured on every n-th pixel of every n-th row, at most ``COLOUR_SAMPLES``
    pixels. Which side is ink is decided later, as for any image (``paper.find_writing``: the
    minority)."""
    step = max(1, int(np.sqrt(luminance.size / COLOUR_SAMPLES)))
    low, high = np.percentile(luminance[::step, ::step], (1, 99))
    if high - low >= ISOLUMINANT:
        return luminance
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    sample = rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    centre = sample.mean(axis=0)
    _, _, axes = np.linalg.svd(sample - centre, full_matrices=False)
    first, last = np.percentile((sample - centre) @ axes[0], (1, 99))
    if last - first <= COLOUR_GAIN * max(high - low, 1.0):
        return luminance
    component = (rgb - centre.astype(np.float32)) @ axes[0].astype(np.float32)
    return np.clip((component - np.float32(first)) / np.float32(last - first), 0.0, 1.0) * np.float32(255.0)


def load_npy(path: Path) -> np.ndarray:
    """A ``.npy`` file holding one (28, 28) MNIST-format digit. Raises ImageError otherwise."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as error:
        raise ImageError(f"{path}: not a readable .npy array ({error})") from None
    if array.shape != (FIELD, FIELD):
        raise ImageError(f"{path}: expected an array of shape (28, 28); received {array.shape}")
    return array
