"""Images of things that are not digits, as a person might hand them to `mnist-cnn predict`.

They train a "digit or not a digit" detector by outlier exposure (Hendrycks, Mazeika and Dietterich 2019,
"Deep Anomaly Detection with Outlier Exposure") and benchmark rejection. The kinds follow the failing inputs in
`../shared/cases/not-digits/` and `../shared/cases/blank-photos/`: pen-drawn letters, symbols, shapes and
scribbles, typeset letters, textures, photos of blank paper, and pieces or groups of MNIST digits.

Every generator takes a NumPy random generator and returns a uint8 grayscale array (h, w), values 0-255,
usually dark ink on light paper. Stroke drawings live in a unit box (x right, y down) until `draw_strokes`
poses and draws them; `ink_on_paper` then varies paper, ink, blur and JPEG the same way for every kind.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import interpolate, ndimage
from skimage.morphology import skeletonize

Strokes = list[np.ndarray]  # polylines of (x, y) points; a single point is a dot

# Letters whose shapes are also digits' shapes (0: O o Q D; 1: I l i j J; 2: Z z; 5: S s; 6: G b; 7: Γ;
# 8: B; 9: g q a; Ψ drawn with a wobbly cup reads as 4), left out so the detector is never taught to reject a digit.
DIGIT_LIKE_LETTERS = frozenset("OoQDIlijJSsZzBbGgqaΓΨ")


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, points: int = 16) -> np.ndarray:
    """Points on an elliptic arc; angles in degrees from 3 o'clock, growing clockwise (y points down)."""
    angles = np.radians(np.linspace(start, stop, points))
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


def path(*parts) -> np.ndarray:
    """One polyline joining arcs (arrays) and lists of (x, y) points in order."""
    return np.vstack([np.asarray(part, dtype=np.float64).reshape(-1, 2) for part in parts])


def closed(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return np.vstack([points, points[:1]])


def rotated(strokes: Strokes, degrees: float) -> Strokes:
    """The strokes turned by ``degrees`` clockwise about the centre of the unit box."""
    angle = np.radians(degrees)
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return [(stroke - 0.5) @ matrix.T + 0.5 for stroke in strokes]


def curve(function: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], points: int = 48) -> np.ndarray:
    """A closed parametric curve ``function(t) -> (x, y)`` for t in 0-2pi."""
    return np.column_stack(function(np.linspace(0, 2 * np.pi, points)))


def star_points(tips: int, inner: float) -> np.ndarray:
    angles = np.radians(-90 + np.arange(2 * tips) * 180 / tips)
    radius = np.where(np.arange(2 * tips) % 2 == 0, 0.5, 0.5 * inner)
    return closed(np.column_stack([0.5 + radius * np.cos(angles), 0.5 + radius * np.sin(angles)]))


_P_BOWL = path([(0, 1), (0, 0), (0.55, 0)], arc(0.55, 0.25, 0.4, 0.25, -90, 90), [(0, 0.5)])
_S_CURVE = path(arc(0.5, 0.27, 0.35, 0.25, -20, -270), arc(0.5, 0.76, 0.38, 0.24, -90, 160))

LETTER_STROKES: dict[str, Strokes] = {
    "A": [path([(0, 1), (0.5, 0), (1, 1)]), path([(0.22, 0.6), (0.78, 0.6)])],
    "C": [arc(0.55, 0.5, 0.45, 0.5, -45, -315)],
    "E": [path([(1, 0), (0, 0), (0, 1), (1, 1)]), path([(0, 0.5), (0.75, 0.5)])],
    "F": [path([(1, 0), (0, 0), (0, 1)]), path([(0, 0.5), (0.75, 0.5)])],
    "H": [path([(0, 0), (0, 1)]), path([(1, 0), (1, 1)]), path([(0, 0.5), (1, 0.5)])],
    "K": [path([(0, 0), (0, 1)]), path([(1, 0), (0, 0.6)]), path([(0.3, 0.4), (1, 1)])],
    "L": [path([(0, 0), (0, 1), (0.8, 1)])],
    "M": [path([(0, 1), (0.05, 0), (0.5, 0.7), (0.95, 0), (1, 1)])],
    "N": [path([(0, 1), (0, 0), (1, 1), (1, 0)])],
    "P": [_P_BOWL],
    "R": [_P_BOWL, path([(0.4, 0.5), (1, 1)])],
    "T": [path([(0, 0), (1, 0)]), path([(0.5, 0), (0.5, 1)])],
    "U": [path([(0, 0)], arc(0.5, 0.6, 0.5, 0.4, 180, 0), [(1, 0)])],
    "V": [path([(0, 0), (0.5, 1), (1, 0)])],
    "W": [path([(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)])],
    "X": [path([(0, 0), (1, 1)]), path([(1, 0), (0, 1)])],
    "Y": [path([(0, 0), (0.5, 0.5), (1, 0)]), path([(0.5, 0.5), (0.5, 1)])],
    "c": [arc(0.55, 0.7, 0.45, 0.3, -45, -315)],
    "d": [arc(0.45, 0.7, 0.45, 0.3, 0, 360, 24), path([(0.9, 0), (0.9, 1)])],
    "e": [path([(0.05, 0.7), (0.95, 0.7)], arc(0.5, 0.7, 0.45, 0.3, 0, -315, 20))],
    "f": [path(arc(0.8, 0.2, 0.3, 0.2, -20, -180), [(0.5, 1)]), path([(0.2, 0.45), (0.85, 0.45)])],
    "h": [path([(0, 0), (0, 1)]), path(arc(0.45, 0.7, 0.45, 0.3, -180, 0), [(0.9, 1)])],
    "k": [path([(0, 0), (0, 1)]), path([(0.8, 0.4), (0, 0.75), (0.85, 1)])],
    "m": [
        path([(0, 0.4), (0, 1)]),
        path(arc(0.25, 0.6, 0.25, 0.2, -180, 0), [(0.5, 1)]),
        path(arc(0.75, 0.6, 0.25, 0.2, -180, 0), [(1, 1)]),
    ],
    "n": [path([(0, 0.4), (0, 1)]), path(arc(0.5, 0.65, 0.5, 0.25, -180, 0), [(1, 1)])],
    "p": [path([(0, 0.4), (0, 1.4)]), arc(0.45, 0.7, 0.45, 0.3, 0, 360, 24)],
    "r": [path([(0, 0.4), (0, 1)]), arc(0.5, 0.7, 0.5, 0.3, -180, -50)],
    "t": [path([(0.4, 0.05)], arc(0.7, 0.85, 0.3, 0.15, 180, 60)), path([(0.05, 0.35), (0.85, 0.35)])],
    "u": [path([(0, 0.4)], arc(0.45, 0.75, 0.45, 0.25, 180, 0)), path([(0.9, 0.4), (0.9, 1)])],
    "v": [path([(0, 0.4), (0.5, 1), (1, 0.4)])],
    "w": [path([(0, 0.4), (0.25, 1), (0.5, 0.6), (0.75, 1), (1, 0.4)])],
    "x": [path([(0, 0.4), (1, 1)]), path([(1, 0.4), (0, 1)])],
    "y": [path([(0, 0.4), (0.5, 1)]), path([(1, 0.4), (0.25, 1.6)])],
    "Δ": [closed([(0.5, 0), (1, 1), (0, 1)])],
    "Π": [path([(0, 1), (0, 0), (1, 0), (1, 1)])],
    "Σ": [path([(1, 0), (0, 0), (0.5, 0.5), (0, 1), (1, 1)])],
    "Ω": [path([(0, 1), (0.3, 1)], arc(0.5, 0.45, 0.45, 0.45, 115, -295, 24), [(0.7, 1), (1, 1)])],
    "λ": [path([(0.1, 0), (1, 1)]), path([(0.55, 0.5), (0, 1)])],
    "π": [path([(0, 0.4), (1, 0.4)]), path([(0.3, 0.4), (0.25, 1)]), path([(0.7, 0.4), (0.75, 1)])],
    "μ": [
        path([(0, 0.4), (0, 1.4)]),
        path([(0, 0.75)], arc(0.45, 0.75, 0.45, 0.25, 180, 0)),
        path([(0.9, 0.4), (0.9, 1)]),
    ],
}

_ARROW = [path([(0, 0.5), (1, 0.5)]), path([(0.7, 0.25), (1, 0.5), (0.7, 0.75)])]
_FACE = arc(0.5, 0.5, 0.5, 0.5, 0, 360, 40)
_EYES = [path([(0.33, 0.35)]), path([(0.67, 0.35)])]

SYMBOL_STROKES: dict[str, Strokes] = {
    "plus": [path([(0.5, 0), (0.5, 1)]), path([(0, 0.5), (1, 0.5)])],
    "minus": [path([(0, 0.5), (1, 0.5)])],
    "times": [path([(0, 0), (1, 1)]), path([(1, 0), (0, 1)])],
    "divide": [path([(0, 0.5), (1, 0.5)]), path([(0.5, 0.15)]), path([(0.5, 0.85)])],
    "equals": [path([(0, 0.35), (1, 0.35)]), path([(0, 0.65), (1, 0.65)])],
    "not equal": [path([(0, 0.35), (1, 0.35)]), path([(0, 0.65), (1, 0.65)]), path([(0.7, 0), (0.3, 1)])],
    "question": [path(arc(0.5, 0.28, 0.38, 0.28, -170, 60), [(0.5, 0.75)]), path([(0.5, 0.97)])],
    "exclamation": [path([(0.5, 0), (0.5, 0.72)]), path([(0.5, 0.97)])],
    "hash": [
        path([(0.35, 0), (0.25, 1)]),
        path([(0.75, 0), (0.65, 1)]),
        path([(0, 0.33), (1, 0.33)]),
        path([(0, 0.67), (1, 0.67)]),
    ],
    "percent": [path([(0.9, 0), (0.1, 1)]), arc(0.2, 0.2, 0.16, 0.18, 0, 360), arc(0.8, 0.8, 0.16, 0.18, 0, 360)],
    "ampersand": [
        path([(0.95, 1), (0.2, 0.35), (0.25, 0.1), (0.45, 0.02), (0.62, 0.12), (0.55, 0.3), (0.1, 0.65)]),
        path([(0.1, 0.65), (0.15, 0.9), (0.4, 1), (0.7, 0.85), (0.9, 0.6)]),
    ],
    "at": [
        arc(0.5, 0.5, 0.17, 0.2, 0, 360),
        path([(0.67, 0.3), (0.67, 0.65), (0.85, 0.68)], arc(0.5, 0.5, 0.48, 0.48, -10, -320, 28)),
    ],
    "asterisk": [path([(0.5, 0), (0.5, 1)]), path([(0.07, 0.25), (0.93, 0.75)]), path([(0.93, 0.25), (0.07, 0.75)])],
    "dollar": [_S_CURVE, path([(0.5, -0.12), (0.5, 1.12)])],
    "euro": [arc(0.6, 0.5, 0.45, 0.5, -50, -310), path([(0, 0.4), (0.65, 0.4)]), path([(0, 0.6), (0.6, 0.6)])],
    "pound": [
        path(arc(0.62, 0.22, 0.24, 0.2, -10, -180), [(0.38, 0.75), (0.15, 1), (0.95, 1)]),
        path([(0.12, 0.55), (0.7, 0.55)]),
    ],
    "yen": [*LETTER_STROKES["Y"], path([(0.2, 0.62), (0.8, 0.62)]), path([(0.2, 0.8), (0.8, 0.8)])],
    "cent": [arc(0.55, 0.5, 0.4, 0.35, -45, -315), path([(0.55, 0), (0.55, 1)])],
    "tilde": [path(np.column_stack([np.linspace(0, 1, 24), 0.5 - 0.15 * np.sin(np.linspace(0, 2 * np.pi, 24))]))],
    "arrow right": _ARROW,
    "arrow left": rotated(_ARROW, 180),
    "arrow up": rotated(_ARROW, -90),
    "arrow down": rotated(_ARROW, 90),
    "arrow up right": rotated(_ARROW, -45),
    "double arrow": [
        path([(0, 0.5), (1, 0.5)]),
        path([(0.7, 0.25), (1, 0.5), (0.7, 0.75)]),
        path([(0.3, 0.25), (0, 0.5), (0.3, 0.75)]),
    ],
    "check": [path([(0, 0.55), (0.35, 1), (1, 0)])],
    "cross": [path([(0.05, 0), (0.95, 1)]), path([(1, 0.05), (0, 0.9)])],
    "heart": [
        curve(
            lambda t: (16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)))
        )
    ],
    "star 5": [star_points(5, 0.4)],
    "star 6": [star_points(6, 0.58)],
    "hexagram": [closed(arc(0.5, 0.5, 0.5, 0.5, -90, 150, 3)), closed(arc(0.5, 0.5, 0.5, 0.5, 90, 330, 3))],
    "smiley": [_FACE, *_EYES, arc(0.5, 0.5, 0.28, 0.25, 20, 160)],
    "frowny": [_FACE, *_EYES, arc(0.5, 0.9, 0.25, 0.2, -155, -25)],
    "bare smiley": [*_EYES, arc(0.5, 0.45, 0.35, 0.35, 20, 160)],
    "note": [path([(0.65, 0.82), (0.65, 0)], [(1.0, 0.3)]), arc(0.45, 0.85, 0.22, 0.14, 0, 360)],
    "infinity": [curve(lambda t: (np.cos(t) / (1 + np.sin(t) ** 2), np.sin(t) * np.cos(t) / (1 + np.sin(t) ** 2)))],
    "round brackets": [arc(0.35, 0.5, 0.3, 0.5, 130, 230, 10), arc(0.65, 0.5, 0.3, 0.5, 50, -50, 10)],
    "square brackets": [
        path([(0.25, 0), (0.05, 0), (0.05, 1), (0.25, 1)]),
        path([(0.75, 0), (0.95, 0), (0.95, 1), (0.75, 1)]),
    ],
    "curly brackets": [
        path([(0.25, 0), (0.12, 0.05), (0.12, 0.45), (0, 0.5), (0.12, 0.55), (0.12, 0.95), (0.25, 1)]),
        path([(0.75, 0), (0.88, 0.05), (0.88, 0.45), (1, 0.5), (0.88, 0.55), (0.88, 0.95), (0.75, 1)]),
    ],
    "angle brackets": [path([(0.35, 0), (0, 0.5), (0.35, 1)]), path([(0.65, 0), (1, 0.5), (0.65, 1)])],
    "slashes": [path([(0.3, 0), (0, 1)]), path([(0.65, 0), (0.35, 1)]), path([(1, 0), (0.7, 1)])],
    "zigzag slashes": [path([(0, 1), (0.25, 0), (0.5, 1), (0.75, 0), (1, 1)])],
    "lightning": [closed([(0.6, 0), (0.1, 0.55), (0.45, 0.55), (0.3, 1), (0.9, 0.4), (0.55, 0.4), (0.75, 0)])],
    "house": [
        closed([(0.1, 0.45), (0.9, 0.45), (0.9, 1), (0.1, 1)]),
        path([(0, 0.5), (0.5, 0), (1, 0.5)]),
        path([(0.4, 1), (0.4, 0.7), (0.6, 0.7), (0.6, 1)]),
    ],
    "stick figure": [
        arc(0.5, 0.13, 0.13, 0.13, 0, 360),
        path([(0.5, 0.26), (0.5, 0.65)]),
        path([(0.15, 0.4), (0.5, 0.35), (0.85, 0.4)]),
        path([(0.2, 1), (0.5, 0.65), (0.8, 1)]),
    ],
    "sun": [arc(0.5, 0.5, 0.22, 0.22, 0, 360, 24)]
    + [
        path([(0.5 + 0.3 * np.cos(a), 0.5 + 0.3 * np.sin(a)), (0.5 + 0.48 * np.cos(a), 0.5 + 0.48 * np.sin(a))])
        for a in np.linspace(0, 2 * np.pi, 9)[:-1]
    ],
    "envelope": [closed([(0, 0.15), (1, 0.15), (1, 0.85), (0, 0.85)]), path([(0, 0.15), (0.5, 0.55), (1, 0.15)])],
    "tree": [
        path([(0.5, 0), (0.1, 0.7), (0.9, 0.7), (0.5, 0)]),
        path([(0.45, 0.7), (0.45, 1), (0.55, 1), (0.55, 0.7)]),
    ],
}
# Symbols that are sometimes drawn filled rather than outlined.
FILLABLE_SYMBOLS = frozenset({"heart", "star 5", "star 6", "lightning"})


def crosses_itself(points: np.ndarray) -> bool:
    """Whether a polyline's non-adjacent segments intersect (orientation test on every pair)."""
    starts, ends = points[:-1], points[1:]
    count = len(starts)
    first, second = np.triu_indices(count, k=2)
    a, b, c, d = starts[first], ends[first], starts[second], ends[second]

    def side(p, q, r):
        return np.sign((q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0]))

    return bool(np.any((side(a, b, c) != side(a, b, d)) & (side(c, d, a) != side(c, d, b))))


def pose(
    strokes: Strokes,
    rng: np.random.Generator,
    rotation: float,
    slant: float,
    aspect: tuple[float, float],
    jitter: float,
) -> Strokes:
    """The strokes stretched, slanted, turned by up to ``rotation`` degrees, each vertex moved by a Gaussian
    of ``jitter`` times the drawing's size (a hand's wobble)."""
    angle = np.radians(rng.uniform(-rotation, rotation))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1.0, rng.uniform(-slant, slant)], [0.0, 1.0]])
    stretch = np.diag([rng.uniform(*aspect), 1.0])
    matrix = turn @ shear @ stretch
    extent = np.ptp(np.vstack(strokes), axis=0).max()
    return [stroke @ matrix.T + rng.normal(0, jitter * extent, stroke.shape) for stroke in strokes]


def canvas_shape(rng: np.random.Generator, low: int = 64, high: int = 400) -> tuple[int, int]:
    """A random image size, each side ``low``-``high`` pixels, aspect ratio within 0.7-1.4."""
    height = int(rng.integers(low, high + 1))
    width = int(np.clip(height * rng.uniform(0.7, 1.4), low, high))
    return height, width


def pen_width(rng: np.random.Generator, glyph_height: float) -> float:
    """A pen from a 1-pixel hairline to a marker 12% of the glyph's height, log-uniform."""
    return float(np.exp(rng.uniform(0, np.log(max(1.5, 0.12 * glyph_height)))))


def draw_strokes(
    strokes: Strokes,
    rng: np.random.Generator,
    fills: Strokes = (),
    rotation: float = 12.0,
    slant: float = 0.3,
    aspect: tuple[float, float] = (0.7, 1.3),
    jitter: float = 0.015,
) -> np.ndarray:
    """Polylines (and filled polygons ``fills``) posed at random, scaled to 30-90% of a 64-400 pixel canvas,
    placed anywhere and drawn with a round pen (joints and ends rounded), 2x supersampled.

    Returns:
        float32 ink opacity (h, w), values 0-1.
    """
    posed = pose([*strokes, *fills], rng, rotation, slant, aspect, jitter)
    corner = np.vstack(posed).min(axis=0)
    size = np.maximum(np.ptp(np.vstack(posed), axis=0), 1e-6)
    height, width = canvas_shape(rng)
    target = rng.uniform(0.3, 0.9) * min(height, width)
    pen = pen_width(rng, target)
    scale = min(target / size.max(), (width - 2 * pen - 4) / size[0], (height - 2 * pen - 4) / size[1])
    left = pen + 2 + rng.uniform(0, max(0.0, width - 2 * pen - 4 - size[0] * scale))
    top = pen + 2 + rng.uniform(0, max(0.0, height - 2 * pen - 4 - size[1] * scale))
    supersample = 2
    image = Image.new("L", (width * supersample, height * supersample), 0)
    draw = ImageDraw.Draw(image)
    line_width = max(1, round(pen * supersample))
    radius = line_width / 2
    for index, points in enumerate(posed):
        xy = [tuple(point) for point in ((points - corner) * scale + (left, top)) * supersample]
        if index >= len(strokes):
            draw.polygon(xy, fill=255)
        if len(xy) == 1:
            dot = max(radius * 1.3, supersample * 1.5)
            draw.ellipse((xy[0][0] - dot, xy[0][1] - dot, xy[0][0] + dot, xy[0][1] + dot), fill=255)
            continue
        draw.line(xy, fill=255, width=line_width, joint="curve")
        if line_width > 2:
            for x, y in (xy[0], xy[-1]):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image.reduce(supersample), dtype=np.float32) / 255


def smooth_noise(shape: tuple[int, int], length: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with features about ``length`` pixels across (bicubic upscaling of a coarse grid),
    float32 (h, w), roughly zero mean and unit spread."""
    coarse = (max(2, int(shape[0] / length) + 2), max(2, int(shape[1] / length) + 2))
    grid = Image.fromarray(rng.standard_normal(coarse, dtype=np.float32), mode="F")
    return np.asarray(grid.resize((shape[1], shape[0]), Image.Resampling.BICUBIC), dtype=np.float32)


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


def finish(photo: np.ndarray, rng: np.random.Generator, blur: float, jpeg_chance: float) -> np.ndarray:
    """Mild blur (Gaussian, sigma up to ``blur`` pixels, half the time), then uint8, then a JPEG round
    trip (quality 40-95) with probability ``jpeg_chance``."""
    if rng.random() < 0.5:
        photo = ndimage.gaussian_filter(photo, rng.uniform(0.2, blur))
    image = np.clip(photo, 0, 255).astype(np.uint8)
    if rng.random() < jpeg_chance:
        image = jpeg_round_trip(image, int(rng.integers(40, 96)))
    return image


def ink_on_paper(alpha: np.ndarray, rng: np.random.Generator, light_on_dark: float = 0.1) -> np.ndarray:
    """Lay ink of opacity ``alpha`` (float (h, w), 0-1) on paper, varied as digits are in
    `benchmarks/digit_sets.py`: paper grey 60-255 (mostly 200-255) with a lighting gradient, ink at least
    half the paper's level darker, sensor noise, mild blur, JPEG; light ink on dark with probability
    ``light_on_dark``.

    Returns:
        uint8 (h, w), values 0-255.
    """
    shape = alpha.shape
    paper = rng.uniform(200, 255) if rng.random() < 0.7 else rng.uniform(60, 200)
    ink = paper * rng.uniform(0, 0.5)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * cols / shape[1] + np.sin(angle) * rows / shape[0]) * rng.uniform(0, 0.15) * paper
    ground = (paper + ramp - ramp.mean()).astype(np.float32)
    photo = ground * (1 - alpha) + ink * alpha
    photo += rng.standard_normal(shape, dtype=np.float32) * rng.uniform(0, 3)
    image = finish(photo, rng, blur=0.8, jpeg_chance=0.5)
    return 255 - image if rng.random() < light_on_dark else image


def place(alpha: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """``alpha`` (shrunk if it does not fit with a 2-pixel border) at a random place on an empty canvas."""
    room = min((shape[0] - 4) / alpha.shape[0], (shape[1] - 4) / alpha.shape[1])
    if room < 1:
        size = (max(1, int(alpha.shape[1] * room)), max(1, int(alpha.shape[0] * room)))
        alpha = np.asarray(Image.fromarray(alpha.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))
    canvas = np.zeros(shape, dtype=np.float32)
    top = int(rng.integers(2, shape[0] - alpha.shape[0] - 1))
    left = int(rng.integers(2, shape[1] - alpha.shape[1] - 1))
    canvas[top : top + alpha.shape[0], left : left + alpha.shape[1]] = np.clip(alpha, 0, 1)
    return canvas


def letters(rng: np.random.Generator, alphabet: Sequence[str] | None = None) -> np.ndarray:
    """A hand-drawn letter: one of `LETTER_STROKES` (Latin upper and lower case, some Greek, none of
    `DIGIT_LIKE_LETTERS`) drawn as pen strokes with jittered vertices, random slant, aspect, size and pen.

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    letter = str(rng.choice(list(alphabet or LETTER_STROKES)))
    return ink_on_paper(draw_strokes(LETTER_STROKES[letter], rng, jitter=rng.uniform(0.005, 0.025)), rng)


FONT_CHARACTERS = "".join(
    character for character in "ACEFHKLMNPRTUVWXYcdefhkmnprtuvwxy&?#%@*+=$" if character not in DIGIT_LIKE_LETTERS
)


def matplotlib_fonts(held_out: bool) -> list[Path]:
    """Text fonts bundled with matplotlib: DejaVu for training; STIX General and the Computer Modern text
    fonts (not the size variants or cmex10/cmsy10, which map letters to symbols) held out."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts/ttf"
    if not held_out:
        return sorted(path for path in folder.glob("DejaVu*.ttf") if "Display" not in path.name)
    computer_modern = [folder / f"{name}.ttf" for name in ("cmb10", "cmmi10", "cmr10", "cmss10", "cmti10", "cmtt10")]
    return sorted(folder.glob("STIXGeneral*.ttf")) + [path for path in computer_modern if path.exists()]


def __getattr__(name: str) -> list[Path]:
    # TRAINING_FONTS and HELD_OUT_FONTS are looked up on first use: matplotlib is not a base dependency.
    if name in ("TRAINING_FONTS", "HELD_OUT_FONTS"):
        return matplotlib_fonts(held_out=name == "HELD_OUT_FONTS")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def font_glyph(character: str, font_path: str | Path, size: int, rng: np.random.Generator) -> np.ndarray:
    """One character typeset in a TrueType/OpenType font at ``size`` pixels, sheared by up to 0.25 and
    turned by up to 12 degrees: float32 ink opacity (h, w), values 0-1, the glyph with a small margin."""
    font = ImageFont.truetype(str(font_path), size)
    left, top, right, bottom = font.getbbox(character)
    glyph = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(glyph).text((4 - left, 4 - top), character, font=font, fill=255)
    shear = rng.uniform(-0.25, 0.25)
    glyph = glyph.transform(
        (glyph.width + int(abs(shear) * glyph.height), glyph.height),
        Image.Transform.AFFINE,
        (1, shear, -abs(shear) * glyph.height if shear > 0 else 0, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    ).rotate(rng.uniform(-12, 12), resample=Image.Resampling.BILINEAR, expand=True)
    return np.asarray(glyph, dtype=np.float32) / 255


def traced(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The glyph's skeleton (Zhang-Suen, `skimage.morphology.skeletonize`) redrawn with a random round pen,
    as a person copying it would: float32 ink opacity, the shape of ``alpha`` plus the pen's margin."""
    skeleton = skeletonize(alpha > 0.5)
    radius = pen_width(rng, alpha.shape[0]) / 2
    distance = ndimage.distance_transform_edt(~np.pad(skeleton, int(radius) + 2))
    return np.clip(radius + 0.5 - distance, 0, 1).astype(np.float32)


def font_letters(
    rng: np.random.Generator, fonts: Sequence[str | Path] | None = None, traced_share: float = 0.5
) -> np.ndarray:
    """A typeset letter or sign (`FONT_CHARACTERS`, none of `DIGIT_LIKE_LETTERS`) from one of ``fonts``
    (TrueType paths; default `TRAINING_FONTS`) at a random size, turned and slanted a little (`font_glyph`);
    with probability ``traced_share`` redrawn along its skeleton with a random pen (`traced`).

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    fonts = list(fonts) if fonts is not None else matplotlib_fonts(held_out=False)
    shape = canvas_shape(rng)
    size = int(rng.uniform(0.35, 1.1) * min(shape))
    font = fonts[int(rng.integers(len(fonts)))]
    while np.count_nonzero((alpha := font_glyph(str(rng.choice(list(FONT_CHARACTERS))), font, size, rng)) > 0.5) <= 8:
        pass
    if rng.random() < traced_share:
        alpha = traced(alpha, rng)
    return ink_on_paper(place(alpha, shape, rng), rng)


DIGIT_HEIGHT = 20  # pixels: an MNIST digit's height, and a capital's or a tall lower-case letter's in a word
SMALL_LETTER = (0.55, 0.75)  # of DIGIT_HEIGHT: a lower-case letter without ascender or descender
TALL_LETTERS = frozenset("bdfhkltgjpqy")  # lower-case letters as tall as a digit (ascenders, descenders)


def hand_letter(letter: str, rng: np.random.Generator) -> np.ndarray:
    """``letter`` (one of `LETTER_STROKES`) posed (`pose`) and drawn with a round pen 2-3.5 pixels wide
    at MNIST's scale (drawn 4x larger and shrunk): float32 ink opacity (h, w), values 0-1, about
    DIGIT_HEIGHT pixels high."""
    posed = pose(LETTER_STROKES[letter], rng, 8.0, 0.25, (0.7, 1.2), 0.015)
    corner = np.vstack(posed).min(axis=0)
    size = np.maximum(np.ptp(np.vstack(posed), axis=0), 1e-6)
    pen = 4 * rng.uniform(2.0, 3.5)
    scale = 4 * DIGIT_HEIGHT / size[1]
    canvas = Image.new("L", (int(size[0] * scale + 2 * pen + 4), int(size[1] * scale + 2 * pen + 4)), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in posed:
        xy = [tuple(point) for point in (stroke - corner) * scale + pen + 2]
        draw.line(xy, fill=255, width=int(pen), joint="curve")
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(canvas.reduce(4), dtype=np.float32) / 255


def mnist_scale_letter(rng: np.random.Generator, fonts: Sequence[str | Path] | None = None) -> np.ndarray:
    """A letter that shares no digit's shape, for composing words as numbers are composed of MNIST
    digits: half the time hand-drawn (`hand_letter`, the Latin letters of `LETTER_STROKES`), else one
    of `FONT_CHARACTERS`' letters typeset in one of ``fonts`` (default `TRAINING_FONTS`; `font_glyph`).
    Capitals and tall lower-case letters (`TALL_LETTERS`) are DIGIT_HEIGHT pixels high, the other
    lower-case letters SMALL_LETTER of that, as on a line of writing.

    Returns:
        uint8 (h, w), white on black, values 0-255, cropped to the ink.
    """
    if rng.random() < 0.5:
        letter = str(rng.choice([c for c in LETTER_STROKES if c.isascii()]))
        glyph = hand_letter(letter, rng)
    else:
        letter = str(rng.choice([c for c in FONT_CHARACTERS if c.isalpha()]))
        fonts = list(fonts) if fonts is not None else matplotlib_fonts(held_out=False)
        glyph = font_glyph(letter, fonts[int(rng.integers(len(fonts)))], 96, rng)
    rows, cols = np.nonzero(glyph > 0.1)
    glyph = glyph[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    small = letter.islower() and letter not in TALL_LETTERS
    height = DIGIT_HEIGHT * (rng.uniform(*SMALL_LETTER) if small else 1.0)
    size = (max(1, round(glyph.shape[1] * height / glyph.shape[0])), max(1, round(height)))
    shrunk = Image.fromarray(glyph, mode="F").resize(size, Image.Resampling.BOX)
    return np.clip(np.asarray(shrunk) * 255, 0, 255).astype(np.uint8)


def symbols(rng: np.random.Generator) -> np.ndarray:
    """A sign drawn with a pen: one of `SYMBOL_STROKES` (arithmetic and punctuation signs, currency,
    arrows, check mark, stars, hearts, faces, a note, brackets, a house, a stick figure...); stars, hearts
    and lightning are sometimes filled.

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    name = str(rng.choice(list(SYMBOL_STROKES)))
    strokes = SYMBOL_STROKES[name]
    fills = strokes if name in FILLABLE_SYMBOLS and rng.random() < 0.4 else []
    alpha = draw_strokes([] if fills else strokes, rng, fills=fills, jitter=rng.uniform(0.003, 0.015))
    return ink_on_paper(alpha, rng)


def polygon(sides: int, rng: np.random.Generator) -> np.ndarray:
    start = rng.uniform(0, 360 / sides) - 90
    return closed(arc(0.5, 0.5, 0.5, 0.5, start, start + 360, sides + 1)[:-1])


SHAPE_OUTLINES: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "triangle": lambda rng: polygon(3, rng),
    "square": lambda rng: closed([(0, 0), (1, 0), (1, 1), (0, 1)]),
    "rectangle": lambda rng: closed([(0, 0.2), (1, 0.2), (1, 0.8), (0, 0.8)]),
    "diamond": lambda rng: closed([(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5)]),
    "pentagon": lambda rng: polygon(5, rng),
    "hexagon": lambda rng: polygon(6, rng),
    "cross": lambda rng: closed(
        [(0.35, 0), (0.65, 0), (0.65, 0.35), (1, 0.35), (1, 0.65), (0.65, 0.65), (0.65, 1), (0.35, 1)]
        + [(0.35, 0.65), (0, 0.65), (0, 0.35), (0.35, 0.35)]
    ),
    "block arrow": lambda rng: closed(
        [(0, 0.35), (0.6, 0.35), (0.6, 0.1), (1, 0.5), (0.6, 0.9), (0.6, 0.65), (0, 0.65)]
    ),
    "star": lambda rng: star_points(int(rng.integers(4, 8)), rng.uniform(0.35, 0.6)),
}


def shapes(rng: np.random.Generator) -> np.ndarray:
    """Geometric shapes (`SHAPE_OUTLINES`: polygons, diamonds, crosses, block arrows, stars), outlined or
    filled, at any rotation; a third of the images hold 2-4 shapes, which may include circles and ellipses
    (a lone circle reads as 0 and a lone line as 1, so neither is drawn alone).

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    count = 1 if rng.random() < 0.67 else int(rng.integers(2, 5))
    strokes, fills = [], []
    cells = rng.permutation(4)[:count]
    for cell in cells:
        if strokes + fills and rng.random() < 0.3:  # a circle only beside another shape
            outline = arc(0.5, 0.5, 0.5, rng.uniform(0.3, 0.5), 0, 360, 32)
        else:
            outline = SHAPE_OUTLINES[str(rng.choice(list(SHAPE_OUTLINES)))](rng)
        outline = rotated([outline], rng.uniform(0, 360))[0]
        if count > 1:
            outline = outline * rng.uniform(0.5, 0.9) + (cell % 2, cell // 2) * np.array([1.1, 1.1])
        (fills if rng.random() < 0.4 else strokes).append(outline)
    alpha = draw_strokes(strokes, rng, fills=fills, rotation=20, slant=0.2, aspect=(0.6, 1.6), jitter=0.004)
    return ink_on_paper(alpha, rng)


def scribble_polyline(rng: np.random.Generator) -> Strokes:
    segments = int(rng.integers(3, 13))
    for _ in range(50):
        points = rng.uniform(0, 1, (segments + 1, 2))
        if crosses_itself(points):
            break
    return [points]


def scribble_curve(rng: np.random.Generator) -> Strokes:
    knots = rng.uniform(0, 1, (int(rng.integers(6, 12)), 2))
    spline = interpolate.make_interp_spline(np.arange(len(knots)), knots, k=3)
    return [spline(np.linspace(0, len(knots) - 1, 30 * len(knots)))]


def scribble_zigzag(rng: np.random.Generator) -> Strokes:
    teeth = int(rng.integers(5, 16))
    x = np.linspace(0, 1, teeth + 1) + rng.normal(0, 0.2 / teeth, teeth + 1)
    y = np.where(np.arange(teeth + 1) % 2 == 0, 0.0, rng.uniform(0.15, 0.6)) + rng.normal(0, 0.03, teeth + 1)
    return [np.column_stack([x, y])]


def scribble_spiral(rng: np.random.Generator) -> Strokes:
    turns = rng.uniform(2.5, 5)
    angle = np.linspace(0, 2 * np.pi * turns, int(40 * turns)) * rng.choice([-1, 1])
    radius = np.abs(angle) / (2 * np.pi * turns) * (1 + rng.normal(0, 0.03, angle.size))
    return [np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])]


def scribble_tangle(rng: np.random.Generator) -> Strokes:
    steps = int(rng.integers(120, 400))
    heading = ndimage.gaussian_filter1d(np.cumsum(rng.normal(0, 0.6, steps)), 3)
    walk = np.cumsum(np.column_stack([np.cos(heading), np.sin(heading)]), axis=0)
    pull = ndimage.gaussian_filter1d(walk, 40, axis=0)
    return [walk - pull * rng.uniform(0.6, 1.0)]


def scribble_hatching(rng: np.random.Generator) -> Strokes:
    lines = []
    for angle in [0.0, rng.uniform(50, 130)] if rng.random() < 0.5 else [0.0]:
        count = int(rng.integers(5, 20))
        offsets = np.linspace(0, 1, count) + rng.normal(0, 0.15 / count, count)
        hatch = [
            np.array([(rng.normal(0, 0.05), y), (1 + rng.normal(0, 0.05), y + rng.normal(0, 0.02))]) for y in offsets
        ]
        lines += rotated(hatch, angle)
    return lines


def scribble_crossed_out(rng: np.random.Generator) -> Strokes:
    passes = int(rng.integers(8, 30))
    y = np.repeat(np.linspace(0, 0.6, passes), 2)[1:] + rng.normal(0, 0.01, 2 * passes - 1)
    x = np.where(np.arange(2 * passes - 1) % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.06, 2 * passes - 1)
    strokes = [np.column_stack([x, y])]
    if rng.random() < 0.5:
        strokes += [np.array([(-0.1, -0.1), (1.1, 0.7)]), np.array([(1.1, -0.1), (-0.1, 0.7)])]
    return strokes


SCRIBBLES: dict[str, Callable[[np.random.Generator], Strokes]] = {
    "polyline": scribble_polyline,
    "curve": scribble_curve,
    "zigzag": scribble_zigzag,
    "spiral": scribble_spiral,
    "tangle": scribble_tangle,
    "hatching": scribble_hatching,
    "crossed out": scribble_crossed_out,
}


def scribbles(rng: np.random.Generator, styles: Sequence[str] | None = None) -> np.ndarray:
    """A scribble in one of ``styles`` (default: all of `SCRIBBLES`): a random polyline of 3-12 segments
    that crosses itself (as in `cases/not-digits/scribble_*.png`), a cubic spline through 6-11 random
    points, a zigzag, a spiral, a tangled random walk, hatching or cross-hatching, or back-and-forth
    crossing out.

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.

    Raises:
        ValueError: a style that is not one of `SCRIBBLES`.
    """
    styles = list(SCRIBBLES) if styles is None else list(styles)
    if unknown := set(styles) - set(SCRIBBLES):
        raise ValueError(f"Unknown scribble styles {sorted(unknown)}; expected some of {', '.join(SCRIBBLES)}.")
    strokes = SCRIBBLES[str(rng.choice(styles))](rng)
    return ink_on_paper(draw_strokes(strokes, rng, rotation=180, slant=0.2, aspect=(0.6, 1.6), jitter=0.003), rng)


def texture_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A pattern of ink opacity filling ``shape``, float32 0-1: noise, gratings, checkerboards, spots,
    woven cloth, wood grain or a grid of dots, at a random scale and angle."""
    rows, cols = np.indices(shape, dtype=np.float32)
    angle = rng.uniform(0, np.pi)
    along = cols * np.cos(angle) + rows * np.sin(angle)
    across = -cols * np.sin(angle) + rows * np.cos(angle)
    period = rng.uniform(4, max(6.0, min(shape) / 6))
    kind = str(rng.choice(["noise", "grating", "checkerboard", "spots", "cloth", "wood", "dots"]))
    if kind == "noise":
        field = smooth_noise(shape, rng.uniform(1, min(shape) / 10), rng)
        if rng.random() < 0.4:
            field = field > rng.uniform(-0.5, 0.5)
    elif kind == "grating":
        field = np.sin(2 * np.pi * along / period)
        if rng.random() < 0.4:
            field = field > 0
    elif kind == "checkerboard":
        field = (np.floor(along / period) + np.floor(across / period)) % 2
    elif kind == "spots":
        image = Image.new("L", (shape[1], shape[0]), 0)
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(5, 80))):
            x, y = rng.uniform(0, shape[1]), rng.uniform(0, shape[0])
            rx, ry = rng.uniform(2, min(shape) / 8, 2)
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=255)
        field = np.asarray(image, dtype=np.float32)
    elif kind == "cloth":
        weave = np.sin(2 * np.pi * along / period) * np.sin(2 * np.pi * across / period)
        field = weave + 0.5 * smooth_noise(shape, period * 4, rng)
    elif kind == "wood":
        distance = np.hypot(along - rng.uniform(-2, 2) * shape[1], across - rng.uniform(-2, 2) * shape[0])
        field = np.sin(2 * np.pi * distance / period + rng.uniform(1, 4) * smooth_noise(shape, period * 6, rng))
    else:
        spacing = rng.uniform(8, max(10.0, min(shape) / 5))
        radius = spacing * rng.uniform(0.15, 0.4)
        field = np.hypot(along % spacing - spacing / 2, across % spacing - spacing / 2) < radius
    field = np.asarray(field, dtype=np.float32)
    return (field - field.min()) / max(float(np.ptp(field)), 1e-6)


def textures(rng: np.random.Generator) -> np.ndarray:
    """A patterned surface with no writing (`texture_field`) filling the image, as ink on paper.

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    return ink_on_paper(texture_field(rng, canvas_shape(rng)), rng)


def blank_paper(rng: np.random.Generator) -> np.ndarray:
    """A photo of a blank sheet (as `cases/blank-photos/`): flat paper at grey 60-250, with chances of a
    lighting gradient, a vignette, a soft shadow, stains, paper texture, one faint straight crease across
    the whole sheet (a dark line with a light band on one side), then sensor noise, blur and JPEG.

    Returns:
        uint8 (h, w), 200-800 pixels a side, values 0-255.
    """
    width = int(rng.integers(200, 801))
    height = int(np.clip(width * rng.uniform(0.6, 1.0), 200, 800))
    if rng.random() < 0.3:
        height, width = width, height
    level = rng.uniform(60, 250)
    # Lighting varies slowly, so gradient, vignette, shadow and stains are built at a quarter of the size.
    low_shape = (height // 4 + 1, width // 4 + 1)
    rows, cols = np.indices(low_shape, dtype=np.float32)
    rows, cols = rows / low_shape[0] - 0.5, cols / low_shape[1] - 0.5
    light = np.ones(low_shape, dtype=np.float32)
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        light += (np.cos(angle) * cols + np.sin(angle) * rows) * rng.uniform(0.05, 0.35)
    if rng.random() < 0.35:
        light *= 1 - rng.uniform(0.1, 0.55) * 2 * (rows**2 + cols**2)
    if rng.random() < 0.25:
        angle = rng.uniform(0, 2 * np.pi)
        signed = np.cos(angle) * cols + np.sin(angle) * rows - rng.uniform(-0.3, 0.3)
        light *= 1 - rng.uniform(0.1, 0.45) / (1 + np.exp(-signed / rng.uniform(0.01, 0.1)))
    if rng.random() < 0.25:
        for _ in range(int(rng.integers(1, 5))):
            spread = rng.uniform(0.03, 0.15)
            blotch = np.exp(
                -((rows - rng.uniform(-0.5, 0.5)) ** 2 + (cols - rng.uniform(-0.5, 0.5)) ** 2) / (2 * spread**2)
            )
            ragged = 1 + 0.4 * smooth_noise(low_shape, 6, rng)
            light -= rng.uniform(-0.05, 0.12) * blotch * ragged
    full = Image.fromarray(light, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    photo = level * np.asarray(full, dtype=np.float32)
    if rng.random() < 0.6:
        photo += smooth_noise((height, width), rng.uniform(2, 30), rng) * rng.uniform(0.5, 5)
    if rng.random() < 0.3:
        angle = rng.uniform(0, np.pi) if rng.random() < 0.5 else rng.choice([0, np.pi / 2]) + rng.normal(0, 0.02)
        row = (np.arange(height, dtype=np.float32)[:, None] - rng.uniform(0.1, 0.9) * height) * float(np.sin(angle))
        col = (np.arange(width, dtype=np.float32) - rng.uniform(0.1, 0.9) * width) * float(np.cos(angle))
        signed = row + col  # distance from the crease, in pixels
        core = np.exp(-((signed / rng.uniform(0.5, 2)) ** 2)) * rng.uniform(0.02, 0.12)
        band_width = rng.uniform(3, 15)
        band = np.exp(-(((signed - rng.choice([-1, 1]) * band_width) / band_width) ** 2)) * rng.uniform(-0.04, 0.04)
        photo *= 1 - core + band
    photo += rng.standard_normal((height, width), dtype=np.float32) * rng.uniform(0.3, 4)
    return finish(photo, rng, blur=1.5, jpeg_chance=0.8)


def digit_fragments(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """Not one whole digit, made from MNIST digits: a piece of one (top or left half, a corner, a random
    crop showing 30-60% of its ink), two or three digits side by side (a number), or two digits overlapping.

    Args:
        digits: uint8 array of shape (n, 28, 28), values 0-255, light ink on black (MNIST).

    Returns:
        uint8 (h, w), dark ink on light paper (sometimes inverted), 64-400 pixels a side, values 0-255.
    """
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (28, 28) or len(digits) == 0:
        raise ValueError(f"Expected `digits` of shape (n, 28, 28) with n >= 1; received {digits.shape}.")

    def pick() -> np.ndarray:
        return digits[int(rng.integers(len(digits)))].astype(np.float32) / 255

    kind = str(rng.choice(["piece", "number", "overlap"]))
    if kind == "number":
        count = int(rng.integers(2, 4))
        gaps = rng.integers(-4, 6, count)
        width = 28 * count + int(gaps.sum()) + 8
        alpha = np.zeros((40, width), dtype=np.float32)
        left = 0
        for gap in gaps:
            top = int(rng.integers(0, 12))
            alpha[top : top + 28, left : left + 28] = np.maximum(alpha[top : top + 28, left : left + 28], pick())
            left += 28 + int(gap)
    elif kind == "overlap":
        alpha = np.zeros((48, 48), dtype=np.float32)
        for top, left in ((0, 0), (int(rng.integers(0, 20)), int(rng.integers(8, 20)))):
            alpha[top : top + 28, left : left + 28] = np.maximum(alpha[top : top + 28, left : left + 28], pick())
    else:
        for _ in range(20):
            digit = pick()
            window = str(rng.choice(["top half", "left half", "corner", "random"]))
            if window == "random":
                height, width = (int(side) for side in rng.integers(10, 22, 2))
                top, left = int(rng.integers(0, 29 - height)), int(rng.integers(0, 29 - width))
            else:
                height, width = {"top half": (14, 28), "left half": (28, 14), "corner": (16, 16)}[window]
                top, left = (0, 0) if window != "corner" else (int(rng.choice([0, 12])), int(rng.choice([0, 12])))
            crop = digit[top : top + height, left : left + width]
            share = crop.sum() / max(digit.sum(), 1e-6)
            ink = np.argwhere(crop > 0.4)
            # a piece of one straight stroke would read as 1: keep pieces whose ink spreads both ways
            spread = np.sqrt(np.linalg.eigvalsh(np.cov(ink.T))) if len(ink) > 2 else np.zeros(2)
            if 0.3 <= share <= 0.6 and spread[0] > 0.35 * spread[1]:
                alpha = crop
                break
        else:  # no piece passed: two digits overlapping instead
            alpha = np.maximum(pick(), np.roll(pick(), int(rng.integers(8, 20)), axis=1))
    rows, cols = np.nonzero(alpha > 0.05)
    alpha = alpha[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    shape = canvas_shape(rng)
    scale = rng.uniform(0.3, 0.9) * min(shape) / max(alpha.shape)
    size = (max(1, int(alpha.shape[1] * scale)), max(1, int(alpha.shape[0] * scale)))
    large = np.asarray(Image.fromarray(alpha, mode="F").resize(size, Image.Resampling.BICUBIC))
    return ink_on_paper(place(large, shape, rng), rng)


def touching_digits(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """Not one digit: two or three MNIST digits written on one baseline with their ink touching or
    overlapping (gaps of 0 to -3 pixels between their ink boxes at 28 pixels high, at most 30% of the
    narrower digit's width), heights within 20%, as a number is when written fast. Half of them hold
    a narrow digit (ink under 0.45 as wide as high: a 1, mostly), the pair a classifier most often
    reads as its wider neighbour alone ("17" as 7).

    Args:
        digits: uint8 array of shape (n, 28, 28), values 0-255, light ink on black (MNIST).

    Returns:
        uint8 (h, w), dark ink on light paper (sometimes inverted), 64-400 pixels a side, values 0-255.

    Raises:
        ValueError: ``digits`` is not (n, 28, 28) with n >= 1.
    """
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (28, 28) or len(digits) == 0:
        raise ValueError(f"Expected `digits` of shape (n, 28, 28) with n >= 1; received {digits.shape}.")
    crops = [crop_to_ink(digit.astype(np.float32) / 255) for digit in digits]
    narrow = [index for index, crop in enumerate(crops) if crop.shape[1] < 0.45 * crop.shape[0]]
    count = int(rng.choice([2, 2, 3]))
    chosen = [crops[int(rng.integers(len(crops)))] for _ in range(count)]
    if narrow and rng.random() < 0.5:
        chosen[int(rng.integers(count))] = crops[narrow[int(rng.integers(len(narrow)))]]
    height = 28
    scaled = []
    for crop in chosen:
        target = max(4, int(round(height * rng.uniform(0.85, 1.05))))
        scale = target / crop.shape[0]
        size = (max(1, int(round(crop.shape[1] * scale))), target)
        scaled.append(np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BILINEAR)))
    # overlap at most 3 pixels and 30% of the narrower neighbour: two 1s overlapping more are one thick 1
    gaps = [
        -int(round(rng.uniform(0, 1) * min(3.0, 0.3 * min(a.shape[1], b.shape[1])))) for a, b in zip(scaled, scaled[1:])
    ]
    width = sum(piece.shape[1] for piece in scaled) + 8
    alpha = np.zeros((height + 8, width), dtype=np.float32)
    left = 2
    for index, piece in enumerate(scaled):
        bottom = height + 4 + int(rng.integers(-2, 3))  # one baseline, drifting a little
        top = bottom - piece.shape[0]
        region = alpha[top:bottom, left : left + piece.shape[1]]
        np.maximum(region, piece, out=region)
        left += piece.shape[1] + (int(gaps[index]) if index < count - 1 else 0)
    alpha = crop_to_ink(alpha)
    shape = canvas_shape(rng)
    scale = rng.uniform(0.3, 0.9) * min(shape) / max(alpha.shape)
    size = (max(1, int(alpha.shape[1] * scale)), max(1, int(alpha.shape[0] * scale)))
    large = np.asarray(Image.fromarray(alpha, mode="F").resize(size, Image.Resampling.BICUBIC))
    return ink_on_paper(place(large, shape, rng), rng)


def crop_to_ink(alpha: np.ndarray, level: float = 0.05) -> np.ndarray:
    """``alpha`` (h, w) cropped to the box of its values above ``level`` (unchanged when none are)."""
    rows, cols = np.nonzero(alpha > level)
    if not len(rows):
        return alpha
    return alpha[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def silhouette(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A filled object filling most of ``shape``, as ink opacity float32 (h, w), 0-1: a smooth random
    outline (a blob, a union of 2-4 boxes and ellipses, or a mirror-symmetric blob), filled with a flat
    tone plus a pattern (`texture_field`), sometimes with a hole. Things photographed, not written."""
    height, width = shape
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    kind = str(rng.choice(["blob", "union", "symmetric"]))
    if kind == "union":
        for _ in range(int(rng.integers(2, 5))):
            x0, x1 = sorted(rng.uniform(0.05, 0.95, 2) * width)
            y0, y1 = sorted(rng.uniform(0.05, 0.95, 2) * height)
            box = (x0, y0, max(x1, x0 + width / 5), max(y1, y0 + height / 5))
            (draw.ellipse if rng.random() < 0.4 else draw.rectangle)(box, fill=255)
    else:
        count = int(rng.integers(6, 15))
        angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radii = rng.uniform(0.25, 0.48, count)
        xs, ys = np.cos(angles) * radii, np.sin(angles) * radii
        if kind == "symmetric":
            xs = np.abs(xs)
            order = np.argsort(np.arctan2(ys, xs))
            xs, ys = np.r_[xs[order], -xs[order][::-1]], np.r_[ys[order], ys[order][::-1]]
        draw.polygon(list(zip((0.5 + xs) * width, (0.5 + ys) * height)), fill=255)
    if rng.random() < 0.25:
        cx, cy, r = rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height, rng.uniform(0.05, 0.15)
        draw.ellipse((cx - r * width, cy - r * height, cx + r * width, cy + r * height), fill=0)
    mask = ndimage.gaussian_filter(np.asarray(image, np.float32) / 255, min(shape) / 60) > 0.5
    fill = rng.uniform(0.4, 1.0) + rng.uniform(0, 0.5) * (texture_field(rng, shape) - 0.5)
    return (mask * np.clip(fill, 0.1, 1)).astype(np.float32)


def objects(rng: np.random.Generator) -> np.ndarray:
    """A photo of a thing, not writing: a filled, patterned silhouette (`silhouette`) over 40-95% of
    the frame, as a photo (dark on light, or light on dark half the time).

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    return photographed(silhouette, rng, (0.4, 0.95))


def photographed(
    thing: Callable[[np.random.Generator, tuple[int, int]], np.ndarray],
    rng: np.random.Generator,
    extent: tuple[float, float],
) -> np.ndarray:
    """``thing(rng, shape)`` (ink opacity, float (h, w), 0-1) drawn over ``extent`` (low, high) of a random
    canvas each way, as a photo: dark on light, or light on dark half the time. uint8 (h, w), 0-255."""
    shape = canvas_shape(rng)
    share = rng.uniform(*extent)
    inner = (max(8, int(shape[0] * share)), max(8, int(shape[1] * share)))
    return ink_on_paper(place(thing(rng, inner), shape, rng), rng, light_on_dark=0.5)


def thumbnail(
    thing: Callable[[np.random.Generator, tuple[int, int]], np.ndarray],
    rng: np.random.Generator,
    smallest: int,
    aspect: tuple[float, float],
) -> np.ndarray:
    """``thing(rng, shape)`` drawn 4x large and area-shrunk (anti-aliased) to ``smallest``-28 pixels tall,
    its width that times ``aspect`` (low, high), at most 28: ink opacity float32 (h, w), 0-1."""
    size = int(rng.integers(smallest, 29))
    width = int(np.clip(size * rng.uniform(*aspect), 10, 28))
    large = Image.fromarray(thing(rng, (4 * size, 4 * width)), mode="F")
    return np.asarray(large.resize((width, size), Image.Resampling.BOX), np.float32)


def object_array(rng: np.random.Generator) -> np.ndarray:
    """A filled, patterned silhouette as a 28x28 MNIST-format array (light on black, 16-28 pixels across),
    as a program might send any small grey image.

    Returns:
        uint8 (28, 28), values 0-255.
    """
    alpha = thumbnail(silhouette, rng, 16, (0.7, 1.3))
    field = np.zeros((28, 28), np.float32)
    top, left = (int(rng.integers(0, 29 - extent)) for extent in alpha.shape)
    field[top : top + alpha.shape[0], left : left + alpha.shape[1]] = alpha
    return np.clip(field * rng.uniform(150, 256), 0, 255).astype(np.uint8)


def _trousers(draw: ImageDraw.ImageDraw, width: float, height: float, rng: np.random.Generator) -> None:
    waist, crotch, hem = rng.uniform(0.5, 0.8), rng.uniform(0.2, 0.45), rng.uniform(0.25, 0.45)
    left, right = 0.5 - waist / 2, 0.5 + waist / 2
    gap = rng.uniform(0.0, 0.12)
    for side in (-1, 1):
        outer = left if side < 0 else right
        inner_top, inner_bottom = 0.5 + side * gap / 2, 0.5 + side * rng.uniform(0.02, 0.2)
        outer_bottom = inner_bottom + side * hem * rng.uniform(0.6, 1.2)
        points = [(outer, 0), (0.5, 0), (inner_top, crotch), (inner_bottom, 1), (outer_bottom, 1)]
        draw.polygon([(x * width, y * height) for x, y in points], fill=255)


def _dress(draw: ImageDraw.ImageDraw, width: float, height: float, rng: np.random.Generator) -> None:
    neck, waist, hem = rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.45), rng.uniform(0.5, 1.0)
    waist_y = rng.uniform(0.25, 0.5)
    points = [
        (0.5 - neck / 2, 0), (0.5 + neck / 2, 0), (0.5 + waist / 2, waist_y),
        (0.5 + hem / 2, 1), (0.5 - hem / 2, 1), (0.5 - waist / 2, waist_y),
    ]  # fmt: skip
    draw.polygon([(x * width, y * height) for x, y in points], fill=255)


def _top(draw: ImageDraw.ImageDraw, width: float, height: float, rng: np.random.Generator) -> None:
    """A T-shirt, shirt, pullover or coat: a body and two sleeves, short or long."""
    body = rng.uniform(0.4, 0.65)
    left, right = 0.5 - body / 2, 0.5 + body / 2
    draw.polygon([(left * width, 0.05 * height), (right * width, 0.05 * height),
                  (right * width, height), (left * width, height)], fill=255)  # fmt: skip
    length, spread = rng.uniform(0.25, 0.95), rng.uniform(0.1, 0.5)
    sleeve = rng.uniform(0.12, 0.22)
    for side, shoulder in ((-1, left), (1, right)):
        end_x = np.clip(shoulder + side * spread, 0, 1)
        points = [(shoulder, 0.05), (end_x, 0.05 + length), (end_x - side * sleeve, 0.05 + length),
                  (shoulder, 0.05 + sleeve * 1.5 + length * 0.3)]  # fmt: skip
        draw.polygon([(x * width, y * height) for x, y in points], fill=255)
    neck = rng.uniform(0.1, 0.25)
    draw.ellipse(((0.5 - neck / 2) * width, -0.06 * height, (0.5 + neck / 2) * width, 0.1 * height), fill=0)


def _shoe(draw: ImageDraw.ImageDraw, width: float, height: float, rng: np.random.Generator) -> None:
    """A sneaker, a sandal (a sole and thin straps) or an ankle boot, seen from the side."""
    sole_top = rng.uniform(0.75, 0.9)
    draw.rectangle((0, sole_top * height, width, height), fill=255)
    kind = rng.choice(["sneaker", "sandal", "boot"])
    if kind == "sandal":
        strap = max(1.0, rng.uniform(0.03, 0.07) * height)
        for _ in range(int(rng.integers(2, 6))):
            x0, x1 = sorted(rng.uniform(0, 1, 2))
            y0 = rng.uniform(0.1, sole_top)
            draw.line((x0 * width, y0 * height, x1 * width, sole_top * height), fill=255, width=round(strap))
        return
    heel_top = rng.uniform(0.0, 0.3) if kind == "boot" else rng.uniform(0.35, 0.6)
    shaft = rng.uniform(0.3, 0.5)
    toe = rng.uniform(0.5, 0.75)
    points = [(0, sole_top), (0, heel_top), (shaft, heel_top), (shaft + 0.1, toe), (1, sole_top - 0.05), (1, sole_top)]
    draw.polygon([(x * width, y * height) for x, y in points], fill=255)


def _bag(draw: ImageDraw.ImageDraw, width: float, height: float, rng: np.random.Generator) -> None:
    top = rng.uniform(0.25, 0.5)
    inset = rng.uniform(0, 0.1)
    draw.polygon([(inset * width, top * height), ((1 - inset) * width, top * height),
                  (width, height), (0, height)], fill=255)  # fmt: skip
    handle = rng.uniform(0.3, 0.7)
    pen = max(1, round(rng.uniform(0.03, 0.08) * height))
    box = ((0.5 - handle / 2) * width, 0, (0.5 + handle / 2) * width, 2 * top * height)
    draw.arc(box, 180, 360, fill=255, width=pen)


GARMENTS: dict[str, Callable[[ImageDraw.ImageDraw, float, float, np.random.Generator], None]] = {
    "trousers": _trousers,
    "dress": _dress,
    "top": _top,
    "shoe": _shoe,
    "bag": _bag,
}


def garment(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Clothing or a bag filling ``shape`` (`GARMENTS`: trousers, a dress, a shirt or coat with short or
    long sleeves, a shoe, sandal or boot, a bag), filled with a flat tone plus a pattern (`texture_field`)
    and a few darker seams: the things product photos show, to be told from digits. Generated; nothing
    from Fashion-MNIST, which the rejection benchmark holds out.

    Returns:
        float32 ink opacity (h, w), values 0-1.
    """
    height, width = shape
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    GARMENTS[str(rng.choice(list(GARMENTS)))](draw, width, height, rng)
    mask = np.asarray(image, np.float32) / 255
    fill = rng.uniform(0.35, 1.0) + rng.uniform(0, 0.6) * (texture_field(rng, shape) - 0.5)
    seams = Image.new("L", (width, height), 0)
    for _ in range(int(rng.integers(0, 4))):
        x0, y0, x1, y1 = rng.uniform(0, 1, 4) * (width, height, width, height)
        ImageDraw.Draw(seams).line((x0, y0, x1, y1), fill=255, width=max(1, round(min(shape) / 40)))
    fill = fill - rng.uniform(0.2, 0.5) * (np.asarray(seams, np.float32) / 255)
    return (mask * np.clip(fill, 0.1, 1)).astype(np.float32)


def garments(rng: np.random.Generator) -> np.ndarray:
    """A photo of clothing, shoes or a bag (`garment`) over 50-95% of the frame, light on dark half
    the time.

    Returns:
        uint8 (h, w), 64-400 pixels a side, values 0-255.
    """
    return photographed(garment, rng, (0.5, 0.95))


def garment_array(rng: np.random.Generator) -> np.ndarray:
    """Clothing, shoes or a bag (`garment`) as a 28x28 product thumbnail: light on black, centred, 20-28
    pixels across, as a program might send any small grey image.

    Returns:
        uint8 (28, 28), values 0-255.
    """
    alpha = thumbnail(garment, rng, 20, (0.6, 1.4))
    field = np.zeros((28, 28), np.float32)
    top, left = ((28 - extent) // 2 + int(rng.integers(-1, 2)) for extent in alpha.shape)
    top, left = int(np.clip(top, 0, 28 - alpha.shape[0])), int(np.clip(left, 0, 28 - alpha.shape[1]))
    field[top : top + alpha.shape[0], left : left + alpha.shape[1]] = alpha
    return np.clip(field * rng.uniform(150, 256), 0, 255).astype(np.uint8)


KINDS: dict[str, Callable[..., np.ndarray]] = {
    "letters": letters,
    "font_letters": font_letters,
    "symbols": symbols,
    "shapes": shapes,
    "scribbles": scribbles,
    "textures": textures,
    "blank_paper": blank_paper,
    "digit_fragments": digit_fragments,
    "touching_digits": touching_digits,
    "objects": objects,
    "garments": garments,
}


def sample(kind: str, rng: np.random.Generator, count: int, **options) -> list[np.ndarray]:
    """``count`` images of one of `KINDS`, each uint8 (h, w), values 0-255; ``options`` go to the generator
    (``digits=`` for "digit_fragments" and "touching_digits", ``fonts=`` for "font_letters", ``styles=`` for
    "scribbles")."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
    return [KINDS[kind](rng, **options) for _ in range(count)]
