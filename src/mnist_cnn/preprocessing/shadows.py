"""Hard shadows: the straight edge of a hand's or a phone's shadow across a photographed page.

A shadow multiplies the light on the page beyond its edge by a constant factor, so it darkens the paper
and the ink alike; its edge is one straight step across the frame, soft over a few pixels. A lighting
surface (``lighting.illumination``) cannot follow a step, and what it leaves is a region of "ink" as large
as the shadow. ``find_shadow_edge`` finds the edge, ``ShadowEdge.light`` divides the shadow out
(``paper.without_shadow``), and ``without_edge`` drops what a ragged edge leaves.

Float32 grayscale arrays (h, w), values 0-255, as in ``paper``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from mnist_cnn.preprocessing.resize import shrink

SEARCH_SIZE = 256  # longest side the edge is searched at
BAND = 0.08  # of the search image's shorter side: the paper each side of an edge that is compared
SEGMENTS = 4  # pieces along the edge: each must show the step, as a pen's stroke along part of it does not
MAX_RATIO = 0.85  # shadow paper at most this bright against lit paper: a weaker step is left to the lighting fit
MIN_STEP = 10.0  # grey levels the shadow takes off the paper at least, as paper.MIN_CONTRAST for ink
REACH = 0.06  # of the image's longer side: the profile across the edge a penumbra is fitted on
SOFTNESS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 18.0, 27.0, 40.0)  # pixels: the edge's logistic widths tried
EDGE_BAND = 0.015  # of the image's longer side: how far a ragged edge's leftovers reach from the fitted line
EDGE_SHARE = 0.8  # of a mark's pixels along the edge: it is the edge's leftover, not ink
RIM_SHADED = 50  # percent of the frame's rim beyond a shadow's edge that must be in its shadow (median)
CANDIDATES = 10  # straight-line peaks tried, strongest first


@dataclass(frozen=True)
class ShadowEdge:
    """A straight shadow edge: points p (row, col) with ``p . normal = offset`` in the full image's
    pixels; the shadow lies where ``p . normal > offset``; ``depth`` (0-1) is the share of the light the
    shadow takes away and ``softness`` the logistic width of its edge, in pixels."""

    normal: tuple[float, float]
    offset: float
    depth: float
    softness: float

    def light(self, shape: tuple[int, int]) -> np.ndarray:
        """float32 (h, w): the share of the light reaching each pixel, 1 - depth in the shadow."""
        rows, cols = np.ogrid[0 : shape[0], 0 : shape[1]]
        across = rows * self.normal[0] + cols * self.normal[1] - self.offset
        return (1 - self.depth * special.expit(across / self.softness)).astype(np.float32)


def without_edge(ink: np.ndarray, edge: ShadowEdge) -> np.ndarray:
    """``ink`` (h, w), 0-1, without the marks a divided-out shadow edge leaves along itself: connected
    components of the ink (scipy.ndimage.label) with ``EDGE_SHARE`` of their pixels within twice the
    edge's softness plus ``EDGE_BAND`` of the image of it (a torn or ragged edge, a slightly misfitted
    one). A digit crossing the edge is mostly off it and stays whole."""
    marks = ink > 0
    labels, count = ndimage.label(marks, structure=np.ones((3, 3)))
    if not count:
        return ink
    rows, cols = np.ogrid[0 : ink.shape[0], 0 : ink.shape[1]]
    across = np.abs(rows * edge.normal[0] + cols * edge.normal[1] - edge.offset)
    along = across <= 2 * edge.softness + EDGE_BAND * max(ink.shape) + 2
    on_edge = ndimage.sum_labels(along & marks, labels, index=np.arange(1, count + 1))
    sizes = ndimage.sum_labels(marks, labels, index=np.arange(1, count + 1))
    drop = np.concatenate([[False], on_edge >= EDGE_SHARE * sizes])
    return np.where(drop[labels], 0, ink).astype(ink.dtype)


def find_shadow_edge(gray: np.ndarray) -> ShadowEdge | None:
    """The straight edge of a shadow across ``gray`` (h, w), or None.

    Nothing is looked for when the frame's rim is evenly lit (its 10th percentile not ``in_shadow``
    beside its 90th). Candidates are the strongest straight lines through Canny edges (Canny 1986;
    Hough transform, Duda and Hart 1972; both scikit-image) of a copy at most ``SEARCH_SIZE`` pixels
    long. The first candidate that ``step_side`` takes is the shadow's edge: in each of ``SEGMENTS``
    pieces along it, the paper on one side (the median of a band three times ``BAND`` wide: ink is
    the minority) is ``in_shadow`` beside the other, the same side throughout, and so is the paper
    past the first ``BAND`` (a pen's stroke, ending inside the frame, has lit paper past it); and
    ``RIM_SHADED`` percent of the rim beyond it is in shadow (``shadow_reaches_rim``). Its position,
    depth and softness are then fitted on the full image (``fit_edge``).
    """
    small = shrink(np.asarray(gray, dtype=np.float32), SEARCH_SIZE)
    rim = np.concatenate([small[[0, -1]].ravel(), small[:, [0, -1]].ravel()])
    if not in_shadow(np.percentile(rim, 10), np.percentile(rim, 90)):
        return None  # the frame's edge is evenly lit: no shadow crosses it
    scale = gray.shape[0] / small.shape[0], gray.shape[1] / small.shape[1]
    for normal, offset in candidate_lines(small):
        side = step_side(small, normal, offset)
        if side is None:
            continue
        normal = (side * normal[0], side * normal[1])
        return fit_edge(gray, (normal[0] / scale[0], normal[1] / scale[1]), side * offset)
    return None


def candidate_lines(small: np.ndarray) -> list[tuple[tuple[float, float], float]]:
    """(unit normal (row, col), offset) of the strongest straight lines through ``small``'s edges."""
    from skimage.feature import canny
    from skimage.transform import hough_line, hough_line_peaks

    edges = canny(small, sigma=2.0, low_threshold=0.8, high_threshold=0.9, use_quantiles=True)
    accumulator, angles, distances = hough_line(edges, theta=np.linspace(-np.pi / 2, np.pi / 2, 360, endpoint=False))
    _, angles, distances = hough_line_peaks(
        accumulator, angles, distances, num_peaks=CANDIDATES, threshold=0.15 * min(small.shape)
    )
    # scikit-image's line: x cos(angle) + y sin(angle) = distance, x the column and y the row.
    return [((float(np.sin(a)), float(np.cos(a))), float(d)) for a, d in zip(angles, distances)]


def step_side(small: np.ndarray, normal: tuple[float, float], offset: float) -> int | None:
    """+1 when the paper beyond the line (``p . normal > offset``) is the shadow, -1 when the paper
    before it is, None when the line is no step along its whole length (``find_shadow_edge``)."""
    rows, cols = np.indices(small.shape)
    across = rows * normal[0] + cols * normal[1] - offset
    along = -rows * normal[1] + cols * normal[0]
    band = BAND * min(small.shape)
    near = (np.abs(across) <= band) & (np.abs(across) >= 2)
    if not near.any():
        return None
    low, high = along[near].min(), along[near].max()
    sides = []
    far = (np.abs(across) > band) & (np.abs(across) <= 3 * band)
    for piece in range(SEGMENTS):
        start = low + (high - low) * piece / SEGMENTS
        length = (along >= start) & (along <= start + (high - low) / SEGMENTS)
        # Each side's paper over the whole band: ink on the edge itself (a digit across the shadow's
        # edge) is the minority there.
        before, beyond = small[(near | far) & length & (across < 0)], small[(near | far) & length & (across > 0)]
        if before.size < 20 or beyond.size < 20:
            return None
        side = 1 if np.median(beyond) < np.median(before) else -1
        lit, shade = (np.median(before), beyond) if side == 1 else (np.median(beyond), before)
        # The shadow goes on: past the band its paper is as dark. Past a pen's stroke the paper is lit.
        further = small[far & length & (side * across > 0)]
        if further.size < 20 or not (in_shadow(np.median(shade), lit) and in_shadow(np.median(further), lit)):
            return None
        sides.append(side)
    if len(set(sides)) != 1 or not shadow_reaches_rim(small, sides[0] * across):
        return None
    return sides[0]


def shadow_reaches_rim(small: np.ndarray, across: np.ndarray) -> bool:
    """Whether the frame's rim beyond a line (``across`` > 0: signed distances (h, w) from it) is paper
    in shadow (``RIM_SHADED`` percent of it) beside the rim before it: a shadow runs on to the frame's
    edge, a digit's stroke or blob, inside the frame, leaves lit paper around it."""
    rim = np.zeros(small.shape, dtype=bool)
    rim[[0, 1, -2, -1]] = True
    rim[:, [0, 1, -2, -1]] = True
    shade, lit = small[rim & (across > 2)], small[rim & (across < -2)]
    # Half of it at least: a shadow with a corner (two edges) leaves lit paper beyond one of its edges
    # (whose division is then refused, ``paper.relit_ink``); a lamp's spot near the edge lights the
    # rest of the shadow's rim nearly as bright as the lit paper (75% failed 2 of 200 validation
    # shadow photos, which read right at 50%).
    return shade.size >= 10 and lit.size >= 10 and in_shadow(np.percentile(shade, RIM_SHADED), np.median(lit))


def in_shadow(level: float, lit: float) -> bool:
    """Whether paper at grey ``level`` is shadowed beside paper at ``lit``: at most ``MAX_RATIO`` as
    bright and ``MIN_STEP`` grey levels darker (black paper in both is no shadow)."""
    return level <= MAX_RATIO * lit and lit - level >= MIN_STEP


def fit_edge(gray: np.ndarray, normal: tuple[float, float], offset: float) -> ShadowEdge:
    """The shadow edge near the line ``p . normal = offset`` of ``gray``, fitted: in each of 8 pieces
    along it, the step's position and softness by least squares on the median profile across it; the
    line through those positions; its depth from the paper each side."""
    length = np.hypot(*normal)
    normal, offset = (normal[0] / length, normal[1] / length), offset / length
    rows, cols = np.indices(gray.shape)
    across = rows * normal[0] + cols * normal[1] - offset
    along = -rows * normal[1] + cols * normal[0]
    reach = max(6.0, REACH * max(gray.shape))
    near = np.abs(across) <= reach
    points, softness, depths = [], [], []
    low, high = along[near].min(), along[near].max()
    for piece in range(8):
        start = low + (high - low) * piece / 8
        inside = near & (along >= start) & (along <= start + (high - low) / 8)
        if inside.sum() < 50:
            continue
        bins = np.round(across[inside]).astype(int)
        levels = ndimage.median(gray[inside], bins, index=np.arange(int(-reach), int(reach) + 1))
        position, width, depth = fit_step(np.arange(int(-reach), int(reach) + 1), np.asarray(levels))
        centre = start + (high - low) / 16
        points.append((centre, position))
        softness.append(width)
        depths.append(depth)
    centres, positions = np.array(points).T
    slope, intercept = np.polyfit(centres, positions, 1) if len(points) > 1 else (0.0, positions[0])
    # across' = across - (slope * along + intercept): a turned line, renormalised.
    new_normal = np.array(normal) + slope * np.array([normal[1], -normal[0]])
    size = np.linalg.norm(new_normal)
    return ShadowEdge(
        normal=(float(new_normal[0] / size), float(new_normal[1] / size)),
        offset=float((offset + intercept) / size),
        depth=float(np.clip(np.median(depths), 0.0, 0.9)),
        softness=float(max(np.median(softness), 0.3)),
    )


def fit_step(positions: np.ndarray, levels: np.ndarray) -> tuple[float, float, float]:
    """(position, softness, depth) of the logistic step ``lit * (1 - depth * expit((x - position) /
    softness))`` that best fits the median ``levels`` (NaN where no pixel fell) at ``positions``
    (pixels across the edge, increasing into the shadow): least squares over a grid of positions in
    half pixels and of softness up to a sixth of the profile's length; lit and shadowed paper are the
    medians of its first and last quarters."""
    known = np.isfinite(levels)
    positions, levels = positions[known], levels[known]
    quarter = max(len(levels) // 4, 1)
    lit, dark = np.median(levels[:quarter]), np.median(levels[-quarter:])
    depth = 1 - dark / max(lit, 1e-6)
    reach = (positions[-1] - positions[0]) / 2
    centres = np.arange(-reach / 2, reach / 2 + 0.25, 0.5)[:, None]
    best, choice = np.inf, (0.0, 1.0)
    for softness in SOFTNESS:
        if softness > reach / 3:
            break
        model = lit * (1 - depth * special.expit((positions[None, :] - centres) / softness))
        errors = np.sum((levels[None, :] - model) ** 2, axis=1)
        index = int(np.argmin(errors))
        if errors[index] < best:
            best, choice = float(errors[index]), (float(centres[index, 0]), softness)
    return choice[0], choice[1], depth
