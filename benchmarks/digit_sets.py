"""MNIST test digits (writers the models never saw) as a person's inputs of each kind that users report.

Each function takes one MNIST digit (uint8 (28, 28), light ink on black) and a NumPy random generator
and returns a PIL image as a person would hand it to `mnist-cnn predict`. The kinds follow
`../shared/cases/README.md`: bold marker (and a bold brush, light on dark), low-resolution scans,
dim photos, a sheet of paper on a desk (plain or patterned), squared and ruled paper, small
drawings with the served page's pen.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage, special


def ink_mask(digit: np.ndarray, scale: int) -> np.ndarray:
    """The digit's strokes, upscaled ``scale`` times (bicubic), as a boolean mask."""
    size = 28 * scale
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)) > 110


def crop_mask(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def on_paper(alpha: np.ndarray, paper: np.ndarray, ink_level: float, rng: np.random.Generator) -> np.ndarray:
    """Lay ink of opacity ``alpha`` (h, w) 0-1 anywhere on ``paper`` (H, W) grey levels; returns float."""
    top = int(rng.integers(0, paper.shape[0] - alpha.shape[0] + 1))
    left = int(rng.integers(0, paper.shape[1] - alpha.shape[1] + 1))
    region = paper[top : top + alpha.shape[0], left : left + alpha.shape[1]]
    region[...] = region * (1 - alpha) + ink_level * alpha
    return paper


def as_jpeg(image: np.ndarray, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def bold_marker(digit: np.ndarray, rng: np.random.Generator, multiple: float) -> Image.Image:
    """Written with a thick marker: the digit's pen path (its skeleton) traced with a round tip
    ``multiple`` times MNIST's stroke width (2.5 pixels on a 20-pixel digit), black on white, 100-450 pixels."""
    scale = int(rng.integers(4, 12))
    path = crop_mask(skeleton(ink_mask(digit, scale)))
    radius = max(1, int(round(multiple * 2.5 * scale / 2)))
    mask = ndimage.binary_dilation(np.pad(path, radius + 2), structure=disk(radius))
    alpha = ndimage.gaussian_filter(mask.astype(np.float32), 0.8)
    margin = int(rng.integers(10, 80))
    paper = np.full((alpha.shape[0] + 2 * margin, alpha.shape[1] + 2 * margin), float(rng.uniform(225, 255)))
    return Image.fromarray(np.clip(on_paper(alpha, paper, float(rng.uniform(0, 40)), rng), 0, 255).astype(np.uint8))


def bold_brush(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Drawn with a drawing app's bold brush, light on a dark ground: a ``bold_marker`` 2-4x MNIST's
    stroke width turned negative, the ground 0-60 grey, the brush 200-255, as PNG."""
    marker = np.asarray(bold_marker(digit, rng, float(rng.uniform(2.0, 4.0))), np.float32)
    ink = (255 - marker) / 255  # 1 on the strokes
    ground, brush = float(rng.uniform(0, 60)), float(rng.uniform(200, 255))
    return Image.fromarray(np.clip(ground + (brush - ground) * ink, 0, 255).astype(np.uint8))


def board_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Chalk on a board, photographed: the digit light (chalk 170-235) on a dark board (25-80 grey)
    lit from one side (up to 60 levels brighter across it), enlarged 6-16x so its strokes are soft
    as chalk is, noise, blur, JPEG."""
    scale = int(rng.integers(6, 17))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    height, width = (int(rng.integers(alpha.shape[0] + 20, alpha.shape[0] + 500)) for _ in range(2))
    level = float(rng.uniform(25, 80))
    ramp = np.linspace(0, 1, width)[None, :] * float(rng.uniform(0, 60))
    board = level + (ramp if rng.random() < 0.5 else ramp[:, ::-1]) + rng.normal(0, 4, (height, width))
    photo = on_paper(alpha, board, float(rng.uniform(170, 235)), rng)
    photo = ndimage.gaussian_filter(photo, float(rng.uniform(0.5, 1.5)))
    return as_jpeg(photo, int(rng.integers(60, 95)))


def disk(radius: int) -> np.ndarray:
    rows, cols = np.indices((2 * radius + 1, 2 * radius + 1))
    return np.hypot(rows - radius, cols - radius) <= radius


def low_resolution(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A tiny scan: the digit, dark on white, rendered at 8-16 pixels, upscaled 4-12x, saved as JPEG."""
    size = int(rng.integers(8, 17))
    small = Image.fromarray(255 - digit).resize((size, size), Image.Resampling.BOX)
    upscale = int(rng.integers(4, 13))
    large = small.resize((size * upscale, size * upscale), Image.Resampling.BICUBIC)
    return as_jpeg(np.asarray(large, dtype=np.float32), int(rng.integers(50, 90)))


def tiny_scan(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A tiny scan kept at its size: the digit, dark on white, box-filtered to 8-12 pixels, as PNG
    (the shared cases' ``tiny/`` 8x8 scans are made this way, at 8)."""
    size = int(rng.integers(8, 13))
    return Image.fromarray(255 - np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BOX)))


def dim_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo in a dim room: paper 80-140 grey with a lighting gradient, ink 15-45, noise, blur."""
    scale = int(rng.integers(6, 16))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    height, width = (int(rng.integers(alpha.shape[0] + 20, alpha.shape[0] + 500)) for _ in range(2))
    level = float(rng.uniform(80, 140))
    ramp = np.linspace(-1, 1, width)[None, :] * float(rng.uniform(0, 15))
    paper = level + ramp + rng.normal(0, 3, (height, width))
    photo = on_paper(alpha, paper, float(rng.uniform(15, 45)), rng)
    photo = ndimage.gaussian_filter(photo, float(rng.uniform(0.5, 1.5)))
    return as_jpeg(photo, int(rng.integers(60, 95)))


def write_on_sheet(digit: np.ndarray, sheet: np.ndarray, smallest: float, rng: np.random.Generator) -> None:
    """Write the MNIST ``digit`` on ``sheet`` (grey levels, in place): from ``smallest`` to 60% of the
    sheet's shorter side high, ink 10-50, anywhere at least a tenth of that side from its edges."""
    scale = max(3, int(min(sheet.shape) * rng.uniform(smallest, 0.6) / 28))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    margin = int(0.1 * min(sheet.shape))
    inner = sheet[margin:-margin, margin:-margin]
    if inner.shape[0] > alpha.shape[0] and inner.shape[1] > alpha.shape[1]:
        on_paper(alpha, inner, float(rng.uniform(10, 50)), rng)


def lay_turned(sheet: np.ndarray, angle: float, desk: np.ndarray, rng: np.random.Generator) -> None:
    """Lay ``sheet`` (grey levels) turned ``angle`` degrees anywhere on ``desk`` (in place), its
    edges blended (a bilinear cover); a sheet wider than the desk runs off it."""
    turned = np.asarray(
        Image.fromarray(sheet.astype(np.float32), "F").rotate(angle, Image.Resampling.BICUBIC, expand=True)
    )
    cover = np.asarray(
        Image.fromarray(np.ones(sheet.shape, np.float32), "F").rotate(angle, Image.Resampling.BILINEAR, expand=True)
    )
    height, width = desk.shape
    turned, cover = turned[:height, :width], cover[:height, :width]
    top = int(rng.integers(0, height - turned.shape[0] + 1))
    left = int(rng.integers(0, width - turned.shape[1] + 1))
    region = desk[top : top + turned.shape[0], left : left + turned.shape[1]]
    region[...] = region * (1 - cover) + turned * cover


def photographed(desk: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A desk scene (grey levels) as a phone photo: noise of 3 levels, a Gaussian blur of 1 pixel,
    JPEG quality 70-95."""
    photo = ndimage.gaussian_filter(desk + rng.normal(0, 3, desk.shape), 1.0)
    return as_jpeg(photo, int(rng.integers(70, 95)))


def sheet_on_desk(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A sheet of paper on a darker table, 50-85% of the frame each way, with the digit written on it."""
    height, width = int(rng.integers(600, 1200)), int(rng.integers(600, 1200))
    desk = float(rng.uniform(30, 120)) + ndimage.gaussian_filter(rng.normal(0, 12, (height, width)), 3)
    sheet_h, sheet_w = int(height * rng.uniform(0.5, 0.85)), int(width * rng.uniform(0.5, 0.85))
    top, left = int(rng.integers(0, height - sheet_h)), int(rng.integers(0, width - sheet_w))
    sheet = np.full((sheet_h, sheet_w), float(rng.uniform(190, 245)))
    write_on_sheet(digit, sheet, 0.25, rng)
    desk[top : top + sheet_h, left : left + sheet_w] = sheet
    return photographed(desk, rng)


def tilted_sheet(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A sheet of paper turned 2-15 degrees either way on a darker table, as a phone photo of it
    usually is, 30-80% of the frame each way, its light sometimes uneven, the digit written on it."""
    height, width = int(rng.integers(600, 1200)), int(rng.integers(600, 1200))
    desk = float(rng.uniform(30, 120)) + ndimage.gaussian_filter(rng.normal(0, 12, (height, width)), 3)
    sheet_h, sheet_w = int(height * rng.uniform(0.3, 0.8)), int(width * rng.uniform(0.3, 0.8))
    ramp = float(rng.uniform(-30, 30)) * np.linspace(-1, 1, sheet_w)[None, :]
    sheet = np.clip(float(rng.uniform(190, 240)) + ramp, 150, 250) * np.ones((sheet_h, 1))
    write_on_sheet(digit, sheet, 0.3, rng)
    angle = float(rng.uniform(2, 15) * rng.choice([-1, 1]))
    lay_turned(sheet, angle, desk, rng)
    return photographed(desk, rng)


def desk_pattern(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A patterned desk's grey levels (h, w): a gingham tablecloth (checks 2-6% of the frame's
    shorter side, in two tones that darken where bands cross), tiles (8-20% of the shorter side, grout
    lines darker or lighter), a wooden desk with strong grain (warped streaks 30-60 levels deep) or
    a keyboard (dark keys in a grid, lighter gaps), chosen at random."""
    height, width = shape
    rows, cols = np.indices(shape, dtype=np.float32)
    short = min(shape)
    kind = rng.choice(["gingham", "tiles", "wood", "keyboard"])
    if kind == "gingham":
        check = short * float(rng.uniform(0.02, 0.06))
        light, step = float(rng.uniform(190, 240)), float(rng.uniform(40, 80))
        return light - step * ((rows // check) % 2) - step * ((cols // check) % 2)
    if kind == "tiles":
        tile, grout = short * float(rng.uniform(0.08, 0.2)), max(2.0, short * float(rng.uniform(0.008, 0.02)))
        level = float(rng.uniform(90, 200)) + ndimage.gaussian_filter(rng.normal(0, 15, shape), tile / 4)
        lines = ((rows % tile) < grout) | ((cols % tile) < grout)
        return np.where(lines, level + float(rng.choice([-1, 1]) * rng.uniform(40, 70)), level)
    if kind == "wood":
        warp = ndimage.gaussian_filter(rng.normal(0, 1, shape), short / 10)
        warp *= short / 8 / max(float(np.abs(warp).max()), 1e-6)
        period = short * float(rng.uniform(0.02, 0.06))
        grain = np.sin(2 * np.pi * (rows + warp) / period)
        return float(rng.uniform(80, 170)) + float(rng.uniform(30, 60)) * grain
    key, gap = short * float(rng.uniform(0.06, 0.12)), short * float(rng.uniform(0.01, 0.025))
    gaps = ((rows % key) < gap) | ((cols % key) < gap)
    return np.where(gaps, float(rng.uniform(90, 150)), float(rng.uniform(15, 60)))


def patterned_desk(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A sheet of paper turned up to 15 degrees either way on a patterned desk (``desk_pattern``:
    gingham, tiles, strong wood grain, a keyboard), 25-60% of the frame each way, 500-1400 pixels,
    the digit written on it, as a JPEG."""
    height, width = int(rng.integers(500, 1400)), int(rng.integers(500, 1400))
    desk = desk_pattern((height, width), rng)
    sheet_h, sheet_w = int(height * rng.uniform(0.25, 0.6)), int(width * rng.uniform(0.25, 0.6))
    ramp = float(rng.uniform(-20, 20)) * np.linspace(-1, 1, sheet_w)[None, :]
    sheet = np.clip(float(rng.uniform(200, 250)) + ramp, 170, 252) * np.ones((sheet_h, 1))
    write_on_sheet(digit, sheet, 0.3, rng)
    angle = float(rng.uniform(-15, 15))
    lay_turned(sheet, angle, desk, rng)
    return photographed(desk, rng)


def lined_paper(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A digit on squared or ruled notebook paper (blue or grey lines, sometimes a red margin), RGB."""
    size = int(rng.integers(300, 800))
    spacing = int(size * rng.uniform(0.05, 0.12))
    paper = np.ones((size, size, 3)) * np.array([rng.uniform(235, 255)] * 3)
    line_colour = np.array([150, 180, 230]) if rng.random() < 0.6 else np.array([160, 160, 160])
    thickness = int(rng.integers(1, 3))
    squared = rng.random() < 0.5
    offset = int(rng.integers(0, spacing))
    for position in range(offset, size, spacing):
        paper[position : position + thickness] = line_colour
        if squared:
            paper[:, position : position + thickness] = line_colour
    if not squared and rng.random() < 0.5:
        margin = int(size * rng.uniform(0.05, 0.2))
        paper[:, margin : margin + 2] = np.array([220, 90, 90])
    scale = max(3, int(spacing * rng.uniform(1.2, 3.0) / 20))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    top, left = (int(rng.integers(0, size - alpha.shape[0])) for _ in range(2))
    ink = np.array([rng.uniform(0, 60)] * 3)
    region = paper[top : top + alpha.shape[0], left : left + alpha.shape[1]]
    region[...] = region * (1 - alpha[..., None]) + ink * alpha[..., None]
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "RGB")


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to one-pixel-wide lines (the path a pen would follow)."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            # neighbours P2..P9, clockwise from north
            p = [
                np.roll(np.roll(image, dy, 0), dx, 1)
                for dy, dx in ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))
            ]
            count = sum(p)
            transitions = sum((p[k] == 0) & (p[(k + 1) % 8] == 1) for k in range(8))
            if step == 0:
                keep_out = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                keep_out = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (image == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & keep_out
            if remove.any():
                image[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def as_drawing(digit: np.ndarray, rng: np.random.Generator, extent: tuple[float, float] = (0.35, 0.85)) -> Image.Image:
    """An MNIST digit as drawn on the served page: its skeleton traced with the page's round pen
    (560x560 canvas, white on black, pen 1/12 of the canvas) at a random size (``extent``: its
    larger side as a share of the canvas) and place, so small digits get fat strokes and large ones
    thin strokes, and most are off-centre."""
    size, pen = 560, 560 / 12
    path = skeleton(np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)) > 128)
    rows, cols = np.nonzero(path)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    scale = float(rng.uniform(*extent)) * (size - pen) / max(height, width)
    top = float(rng.uniform(pen / 2, size - pen / 2 - height * scale))
    left = float(rng.uniform(pen / 2, size - pen / 2 - width * scale))
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for row, col in zip(rows, cols):
        y, x = top + (row - rows.min()) * scale, left + (col - cols.min()) * scale
        draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return canvas


def condensed(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Written condensed: the digit's skeleton squeezed across to 25-45% of its height (a digit already
    that narrow, a 1, is left as it is), retraced with a pen of MNIST's proportion (12% of the
    digit's height), as dark ink on uneven grey paper, photographed soft, noisy and as a JPEG."""
    path = skeleton(ink_mask(digit, 8))
    rows, cols = np.nonzero(path)
    rows, cols = rows - rows.min(), cols - cols.min()
    height = float(rows.max() + 1)
    squeeze = min(1.0, float(rng.uniform(0.25, 0.45)) * height / float(cols.max() + 1))
    scale = float(rng.uniform(1.0, 2.5))  # a digit 220-560 pixels high
    pen = 0.12 * height * scale
    width = int((cols.max() + 1) * squeeze * scale + 2 * pen + 4)
    alpha = Image.new("L", (width, int(height * scale + 2 * pen + 4)), 0)
    draw = ImageDraw.Draw(alpha)
    for row, col in zip(rows * scale + pen + 2, cols * squeeze * scale + pen + 2):
        draw.ellipse((col - pen / 2, row - pen / 2, col + pen / 2, row + pen / 2), fill=255)
    ink = np.asarray(alpha, dtype=np.float32) / 255
    paper_height, paper_width = (int(side * rng.uniform(1.3, 2.5)) for side in ink.shape)
    paper_width = max(paper_width, int(paper_height * 0.75))
    paper = np.linspace(170, 235, paper_width)[None, :] * np.ones((paper_height, 1))
    paper = on_paper(ink, paper + rng.normal(0, 4, paper.shape), float(rng.uniform(20, 60)), rng)
    soft = np.asarray(Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)))
    return as_jpeg(soft.astype(np.float32), int(rng.integers(60, 95)))


def small_drawing(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Drawn small on the served page: the digit spans 20-50% of the canvas, so the page's fixed pen
    makes its strokes 2-4x too fat for its size; softened as a browser's canvas scaling would."""
    return as_drawing(digit, rng, extent=(0.2, 0.5)).filter(ImageFilter.SMOOTH)


def printed(label: int, rng: np.random.Generator, fonts: list) -> Image.Image:
    """The digit ``label`` typeset in one of ``fonts`` (font file paths), as a photo or scan of print: a
    random size, shear and turn (`mnist_cnn.outliers.font_glyph`), on paper of every kind the
    outliers get (`mnist_cnn.outliers.ink_on_paper`); the same for digits and non-digits, so the detector
    learns the shape and not the paper."""
    from mnist_cnn import outliers

    shape = outliers.canvas_shape(rng)
    size = int(rng.uniform(0.35, 1.1) * min(shape))
    alpha = outliers.font_glyph(str(label), fonts[int(rng.integers(len(fonts)))], size, rng)
    return Image.fromarray(outliers.ink_on_paper(outliers.place(alpha, shape, rng), rng))


def lined_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo of a digit on squared or ruled notebook paper (as ``lined_paper``'s): the page
    turned 1-6 degrees either way and cropped inside its corners, lit unevenly, noisy, soft, JPEG."""
    page = np.asarray(lined_paper(np.zeros_like(digit), rng), dtype=np.float32).copy()  # the paper alone
    size = page.shape[0]
    angle = float(rng.uniform(1, 6) * rng.choice([-1, 1]))
    inset = int(np.ceil(np.sin(np.deg2rad(abs(angle))) * size)) + 2  # past the corners the turn leaves empty
    scale = max(3, int(size * rng.uniform(0.1, 0.3) / 20))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    low, high = inset + size // 10, size - inset - size // 10 - alpha.shape[0]
    top, left = (int(rng.integers(low, max(low + 1, high))) for _ in range(2))
    region = page[top : top + alpha.shape[0], left : left + alpha.shape[1]]
    region[...] = region * (1 - alpha[..., None]) + float(rng.uniform(0, 60)) * alpha[..., None]
    photo = turned_rgb(page, angle)[inset:-inset, inset:-inset]
    light = 1 + float(rng.uniform(-0.15, 0.15)) * np.linspace(-1, 1, photo.shape[1])[None, :, None]
    photo = ndimage.gaussian_filter(photo * light + rng.normal(0, 3, photo.shape), (0.8, 0.8, 0))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB").save(
        buffer, "JPEG", quality=int(rng.integers(70, 95))
    )
    return Image.open(io.BytesIO(buffer.getvalue()))


def turned_rgb(page: np.ndarray, angle: float) -> np.ndarray:
    """``page`` (rows, cols, channels), any real dtype, turned ``angle`` degrees anticlockwise about its
    centre, each channel by Pillow's bicubic rotation, the same size (corners left 0): float32."""
    channels = [Image.fromarray(page[..., c].astype(np.float32), "F") for c in range(page.shape[-1])]
    return np.stack([np.asarray(channel.rotate(angle, Image.Resampling.BICUBIC)) for channel in channels], -1)


def lamp_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo in a dim room under a desk lamp: paper 40-110 grey with a bright spot of light
    40-110 brighter, anywhere in or near the frame, falling off over a fifth to over half of the frame's
    diagonal. Light multiplies the page (ink 15-40% of the paper's reflectance). Noise, blur, JPEG."""
    return lit_photo(digit, rng, spot=True, shadow=False)


def shadow_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo with the hard shadow of a hand or phone across part of the page: straight, 30-60%
    darker, its edge 1-10 pixels soft, paper 40-110 grey, under an even light or a lamp's spot."""
    return lit_photo(digit, rng, spot=bool(rng.random() < 0.5), shadow=True)


def lit_photo(digit: np.ndarray, rng: np.random.Generator, spot: bool, shadow: bool) -> Image.Image:
    """``lamp_photo`` and ``shadow_photo``: the digit on a page lit by a spot of light, a shadow or both."""
    scale = int(rng.integers(5, 14))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    height, width = (int(rng.integers(alpha.shape[0] + 40, alpha.shape[0] + 600)) for _ in range(2))
    page = on_paper(alpha, np.ones((height, width)), float(rng.uniform(0.15, 0.4)), rng)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    light = np.full((height, width), float(rng.uniform(40, 110)))
    if spot:
        centre_y, centre_x = rng.uniform(-0.2, 1.2) * height, rng.uniform(-0.2, 1.2) * width
        spread = rng.uniform(0.2, 0.6) * np.hypot(height, width)
        light += rng.uniform(40, 110) * np.exp(-((y - centre_y) ** 2 + (x - centre_x) ** 2) / (2 * spread**2))
    if shadow:
        angle = rng.uniform(0, 2 * np.pi)
        across = (x - rng.uniform(0.2, 0.8) * width) * np.cos(angle) + (y - rng.uniform(0.2, 0.8) * height) * np.sin(
            angle
        )
        light *= 1 - rng.uniform(0.3, 0.6) * special.expit(across / rng.uniform(0.5, 5))
    photo = ndimage.gaussian_filter(page * light + rng.normal(0, 3, (height, width)), float(rng.uniform(0.5, 1.5)))
    return as_jpeg(photo, int(rng.integers(60, 95)))


def shade_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo with a compact shadow on the page beside the digit: a hand's (a palm and four
    fingers) or a phone's (a rectangle, a corner or a side in the frame), 25-60% darker, its edge 1-12
    pixels soft, turned any way; paper 60-140 grey, under an even light or a lamp's spot half the
    time. The shadow may touch the digit but not cover its middle. Noise, blur, JPEG."""
    scale = int(rng.integers(5, 12))
    alpha = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)) / 255.0
    height, width = (int(rng.integers(alpha.shape[0] + 250, alpha.shape[0] + 700)) for _ in range(2))
    page = on_paper(alpha, np.ones((height, width)), float(rng.uniform(0.15, 0.4)), rng)
    rows, cols = np.nonzero(page < 0.9)
    middle = np.array([rows.mean(), cols.mean()]) if len(rows) else np.array([height / 2, width / 2])
    size = 28 * scale
    for _ in range(50):  # the shadow's anchor: in the frame, at least a digit's size from its middle
        anchor = rng.uniform([0, 0], [height, width])
        if np.hypot(*(anchor - middle)) > 1.1 * size:
            break
    shade = Image.new("F", (width, height), 0.0)
    pen = ImageDraw.Draw(shade)
    angle = rng.uniform(0, 2 * np.pi)
    along, across = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    if rng.random() < 0.5:  # a hand: a palm, fingers reaching out along ``along``
        palm = rng.uniform(0.5, 0.9) * size
        y, x = anchor
        pen.ellipse((x - palm, y - palm, x + palm, y + palm), fill=1.0)
        for finger in range(4):
            spread = (finger - 1.5) * 0.45 * palm
            base = anchor + across * spread
            tip = base + along * rng.uniform(1.2, 2.0) * palm
            pen.line((base[1], base[0], tip[1], tip[0]), fill=1.0, width=max(3, int(rng.uniform(0.25, 0.4) * palm)))
    else:  # a phone: a rectangle from the anchor out past the frame's edge
        long, short = rng.uniform(2.0, 4.0) * size, rng.uniform(0.8, 1.5) * size
        corners = [
            anchor + along * a + across * b
            for a, b in ((0, -short / 2), (long, -short / 2), (long, short / 2), (0, short / 2))
        ]
        pen.polygon([(c[1], c[0]) for c in corners], fill=1.0)
    shadow = ndimage.gaussian_filter(np.asarray(shade, dtype=np.float64), float(rng.uniform(1, 12)))
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    light = np.full((height, width), float(rng.uniform(60, 140)))
    if rng.random() < 0.5:
        centre_y, centre_x = rng.uniform(-0.2, 1.2) * height, rng.uniform(-0.2, 1.2) * width
        spread = rng.uniform(0.2, 0.6) * np.hypot(height, width)
        light += rng.uniform(30, 90) * np.exp(-((y - centre_y) ** 2 + (x - centre_x) ** 2) / (2 * spread**2))
    light *= 1 - rng.uniform(0.25, 0.6) * shadow
    photo = ndimage.gaussian_filter(page * light + rng.normal(0, 3, (height, width)), float(rng.uniform(0.5, 1.5)))
    return as_jpeg(photo, int(rng.integers(60, 95)))


def notebook_page(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A phone photo of a whole notebook page: squared (two times in three) or ruled lines every
    1.8-3.5% of the frame's width (5 mm squares on a page photographed whole), blue or grey, 1-2
    pixels, sometimes a red margin line; the digit written 2-5 squares high in ink 0-70, anywhere
    clear of the frame's edges; the page turned up to 3 degrees either way and cropped inside its
    corners, lit unevenly, noisy, soft, JPEG; 600-1,400 by 500-1,200 pixels, RGB."""
    height, width = int(rng.integers(500, 1200)), int(rng.integers(600, 1400))
    angle = float(rng.uniform(-3, 3))
    inset = int(np.ceil(np.sin(np.deg2rad(abs(angle))) * max(height, width))) + 2
    big_h, big_w = height + 2 * inset, width + 2 * inset
    page = np.ones((big_h, big_w, 3)) * float(rng.uniform(225, 252))
    spacing = width * rng.uniform(0.018, 0.035)
    colour = np.array([150, 180, 230]) if rng.random() < 0.6 else np.array([165, 165, 170])
    colour = colour + float(rng.uniform(-20, 40))  # a faint or a strong ruling
    thickness = int(rng.integers(1, 3))
    squared = rng.random() < 2 / 3
    for position in np.arange(rng.uniform(0, spacing), max(big_h, big_w), spacing).astype(int):
        page[position : position + thickness] = colour
        if squared:
            page[:, position : position + thickness] = colour
    if rng.random() < 0.3:
        margin = inset + int(width * rng.uniform(0.05, 0.2))
        page[:, margin : margin + 2] = np.array([220, 90, 90])
    mask = ink_mask(digit, 8)
    mask = (crop_mask(mask) if mask.any() else np.zeros((28, 28), bool)).astype(np.float32)  # a blank page
    tall = spacing * rng.uniform(2, 5)
    alpha = np.asarray(Image.fromarray(mask * 255).resize(size_for(mask.shape, tall), Image.Resampling.BILINEAR)) / 255
    top = int(rng.integers(inset + height // 10, inset + height - height // 10 - alpha.shape[0]))
    left = int(rng.integers(inset + width // 10, inset + width - width // 10 - alpha.shape[1]))
    region = page[top : top + alpha.shape[0], left : left + alpha.shape[1]]
    region[...] = region * (1 - alpha[..., None]) + float(rng.uniform(0, 70)) * alpha[..., None]
    turned = turned_rgb(page, angle)[inset : inset + height, inset : inset + width]
    ramp = np.linspace(-1, 1, width)[None, :, None] * float(rng.uniform(-0.15, 0.15))
    ramp = ramp + np.linspace(-1, 1, height)[:, None, None] * float(rng.uniform(-0.1, 0.1))
    photo = turned * (1 + ramp) + rng.normal(0, 3, turned.shape)
    photo = ndimage.gaussian_filter(photo, (float(rng.uniform(0.5, 1.1)),) * 2 + (0,))
    return as_jpeg(photo, int(rng.integers(70, 92))).convert("RGB")


def size_for(shape: tuple[int, int], tall: float) -> tuple[int, int]:
    """(width, height) of a crop of ``shape`` (rows, cols) resized to ``tall`` pixels high."""
    return max(1, round(shape[1] * tall / shape[0])), max(1, round(tall))
