"""A whole number in one image to its digits, left to right, each made MNIST-style on its own.

The classic chain for handwritten numbers (Casey and Lecolinet 1996, "A survey of methods and
strategies in character segmentation", IEEE PAMI 18(7)): the ink's connected components are the
first guess at the digits; components that belong to one digit are merged by their overlap along
the writing direction (a 5's detached bar, a 4 drawn in two strokes, a broken pen line); components
too wide for one digit (touching digits) are cut at minima of the column ink projection, vertical
or slanted, and the cuts chosen by recognition (their "segmentation by recognition": the cuts, or
none, whose pieces the classifier reads with the highest joint confidence, found by dynamic
programming over the candidate cuts, so three or more touching digits are cut too).

Every step works on the ink map ``preprocessing.to_mnist`` makes, cut to its ink (``ink_map``), and every digit's
28x28 is made by the same steps as ``to_mnist``'s from that digit's ink alone
(``preprocessing.ink_to_mnist``), after it gets back the faint ink joined to its strokes and is
brought to its own ink level (``with_faint_ink``), as it would be photographed alone: an image
holding one digit gives one segment whose image is exactly ``to_mnist``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mnist_cnn.errors import ImageError
from mnist_cnn.preprocessing import digit, drawings, find_ink, ink_to_mnist, paper, to_mnist
from mnist_cnn.preprocessing.filters import percentile

SPECK = 0.03  # of the largest component's ink: smaller marks far from any digit are dust, not digits
STROKE = 0.3  # ink level: fainter pixels (blurred edges, JPEG halos) do not join two digits into one
NEAR = 0.15  # of the line's height: a small mark this close to a digit is part of it (a dot, a broken end)
SMALL = 0.15  # of the largest component's ink: marks up to this size join the digit they are near
CONTAINED = 0.8  # of the narrower's width: components overlapping this much along the line are one digit
OVERLAP = 0.4  # of the narrower's width: a short component overlapping this much joins (a 5's bar)
SHORT = 0.6  # of the line's height: a component this short is a part (a bar, a stroke), not a digit
WIDE = 0.7  # of the line's height: wider components are checked for several digits (57% of MNIST digits are)
# In a number, a component between NARROW and WIDE line heights wide is checked too when the piece judge
# doubts it is one digit (below DOUBTED): "17" written tight is no wider than many single digits.
NARROW = 0.45
DOUBTED = 0.5
WIDE_WITHOUT_CLASSIFIER = 1.5  # geometry alone cuts only what is clearly too wide (1 digit in 1,000 is)
SLANTS = (-0.3, -0.15, 0.0, 0.15, 0.3)  # columns sheared by this much per row: cuts between slanted digits
MAX_CUTS = 8  # candidate cuts per digit a component may hold: enough for touching pairs, fast enough
# How wide each digit is written: the mean and standard deviation of log(width / height) of the ink
# boxes of the 60,000 MNIST training digits, per class (`width_prior`; a test recomputes them from the
# data). A piece read as an 8 but as wide as an 8 and a 1 side by side is unlikely to be one 8.
WIDTH_PRIOR = (
    (-0.108, 0.200), (-0.943, 0.462), (-0.074, 0.222), (-0.240, 0.214), (-0.247, 0.216),
    (-0.077, 0.263), (-0.333, 0.219), (-0.270, 0.218), (-0.288, 0.224), (-0.403, 0.207),
)  # fmt: skip
WIDTH_WEIGHT = 0.3  # weight of a piece's width log-likelihood under its digit's prior
# Weight of the log of the probability that a piece is one whole digit: the piece judge's
# (rejection.Rejector.one_digit_probabilities; the digit detector's for a caller without a judge).
# Chosen with the detector; with the judge 3 and 4 read within two of 400 validation renderings.
DETECTOR_WEIGHT = 2.0
# The uncut blob is scored with the judge too only in a number's context: when the caller says
# the image is a number (``predict --number``) or the image holds several separate digits. Alone, a
# letter or a smiley is not a digit as a whole, but its strokes are digit-like ("M" would become
# "111"): refusing it is the rejection's job. On 200 touching validation renderings (100 numbers of
# 2-6 digits, drawn and photographed; benchmarks/number_reading.py --digits validation --count 40)
# the detector on the whole in a number read 88.5% against 79.5% without it; on every blob it also
# cut 2 of the 13 not-digit cases (M, a smiley) into numbers. Measured before the piece judge, and
# DETECTOR_WEIGHT chosen, with the one-network detector shipped before the pair; with the pair the
# test-digit numbers benchmark moved by at most 0.5 points.
CUT_PENALTY = 0.5  # log-confidence each cut costs: a digit is cut only when its pieces read far better
JOIN_GAP = 0.3  # of the line's height: neighbours this close along the line may be one digit's strokes
JOIN_DOUBT = 0.8  # one of two neighbours the piece judge doubts is a whole digit: only then is a join tried
JOIN_MARGIN = 1.0  # log-confidence: two neighbours are joined when as one digit they read this much better
LOWEST = 0.6  # of the line's height: a piece shorter than this is part of a digit (a bar, a loop), not one
ATTACH = 0.5  # of the line's height: a part (shorter than SHORT) this close to a digit joins it (a 5's far bar)
PART_INK = 0.4  # of the median digit's ink: a short group holding more is a small digit, not a part of one
# A found digit's faint ink (under STROKE: soft edges, the faint stretches of a hairline drawn beside bold
# digits) that joins its strokes is given back to it (hysteresis thresholding, as Canny's edges are
# traced): within FAINT_BOX line heights of its box, never within FAINT_REACH of another digit's strokes.
FAINT_BOX = 0.3
FAINT_REACH = 0.05
# A number's digits stand on one line of writing (``on_one_line``): neighbours share at least
# LINE_SHARE of the shorter's height. A line whose centres climb more steeply than LINE_RISE (tan 20
# degrees), a number photographed turned, must have every two boxes share that, or climb at most
# STEEPEST (tan 45 degrees) with no box over TALLEST times the shortest's height. A "%" (a ring, a
# slash twice its height, a ring, one above the other) read "010" or, its slash cut, "0110" is no
# number, nor is a fraction or a column.
LINE_SHARE = 0.25
LINE_RISE = 0.364
STEEPEST = 1.0
TALLEST = 1.6
# How far a stroke bows sideways (``bend``, in its height): a pair of 1s bowing apart this much or more,
# the left one's middle to the left and the right one's to the right, is a pair of brackets ("( )",
# "{ }", "[ ]"), not "11". Of 20,000 random pairs of the 674 MNIST validation 1s, 0.15% bow apart
# so; of 112 pairs of round, curly and square brackets drawn with a pen (``outliers``) and cut in two, 107.
BRACKET_BEND = 0.3


@dataclass(frozen=True)
class Segment:
    """One digit found in an image.

    Attributes:
        box: (left, top, right, bottom) of its ink in the original image's pixels, right and bottom
            exclusive.
        image: uint8 (28, 28), values 0-255, MNIST-style (light on dark, centred by mass).
        ink: its ink alone as the image was made from it (in the ink map's pixels, its box's
            size): float32 (h, w), values 0-1, light on dark; None when the segment is the whole image.
    """

    box: tuple[int, int, int, int]
    image: np.ndarray
    ink: np.ndarray | None = None


@dataclass(frozen=True)
class Placement:
    """Where the ink map lies in the original image: pixel (row, col) of the map is original pixel
    ((row + top) * scale_y, (col + left) * scale_x)."""

    top: int
    left: int
    scale_y: float
    scale_x: float
    reduced: bool = False  # a drawing cleaned smaller than ``preprocessing.to_mnist`` cleans it (``drawings``)

    def box(self, top: int, bottom: int, left: int, right: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in original pixels of a box (top, bottom, left, right) in the map's."""
        height, width = shape
        return (
            max(0, int(np.floor((left + self.left) * self.scale_x))),
            max(0, int(np.floor((top + self.top) * self.scale_y))),
            min(width, int(np.ceil((right + self.left) * self.scale_x))),
            min(height, int(np.ceil((bottom + self.top) * self.scale_y))),
        )


@dataclass
class Blob:
    """Ink pixels in the map: a boolean ``mask`` whose top-left corner is (top, left)."""

    top: int
    left: int
    mask: np.ndarray
    mass: float
    image: np.ndarray | None = None  # its MNIST-style 28x28 once made (``mnist_image``)
    gain: float = 1.0  # its ink is scaled by this (clipped to 1): a faint digit's own ink level made full
    probabilities: np.ndarray | None = None  # the classifier's (10,) on its image once asked (``read_all``)
    one_digit_probability: float | None = (
        None  # ``digit_probability``'s, that it is one digit, once asked (``read_all``)
    )
    faint: Blob | None = None  # itself with its faint ink given back (``with_faint_ink``), whose image is read

    @property
    def bottom(self) -> int:
        return self.top + self.mask.shape[0]

    @property
    def right(self) -> int:
        return self.left + self.mask.shape[1]

    @property
    def height(self) -> int:
        return self.mask.shape[0]

    @property
    def width(self) -> int:
        return self.mask.shape[1]

    def ink(self, ink: np.ndarray) -> np.ndarray:
        """This blob's ink alone, float32 (height, width), values 0-1, scaled by its ``gain``."""
        own = np.where(self.mask, ink[self.top : self.bottom, self.left : self.right], 0).astype(np.float32)
        return own if self.gain == 1.0 else np.minimum(own * np.float32(self.gain), np.float32(1.0))

    def mnist_image(self, ink: np.ndarray) -> np.ndarray:
        """This blob's ink alone made MNIST-style (``ink_to_mnist``), its ``faint`` one's when given:
        uint8 (28, 28), made once."""
        if self.image is None:
            self.image = ink_to_mnist((self.faint or self).ink(ink))
        return self.image


def ink_map(gray: np.ndarray) -> tuple[np.ndarray, Placement]:
    """(ink, placement): the ink map of a grayscale image (h, w), values 0-255, made by the same steps
    as ``preprocessing.to_mnist`` (work size, sheet, ink, ruled lines), cut to its ink's box
    (``crop_to_ink``): float32 (H, W), values 0-1, light on dark; and where it lies in the original
    image. A drawing on flat paper is cleaned at the size its ink and pen need
    (``drawings.work_scale``): a drawn 4-digit number about 3 times faster (``Placement.reduced``),
    and without looking for a shadow, which flat paper cannot hold.

    Raises:
        ImageError: the image is not 2-D, or holds no ink at all.
    """
    gray = np.asarray(gray, dtype=np.float32)
    scale = drawings.work_scale(gray) if gray.ndim == 2 and gray.size else 1.0
    # Under 1 only for a drawing (flat paper, two tones, ``drawings.drawn``): no shadow to look for.
    ink, (rows, cols), (top, left) = find_ink(gray, scale, relight=scale == 1.0)
    height, width = np.shape(gray)
    return crop_to_ink(ink, Placement(top, left, height / rows, width / cols, scale < 1))


def crop_to_ink(ink: np.ndarray, placement: Placement) -> tuple[np.ndarray, Placement]:
    """The ink map cut to the box of its non-zero pixels, and its placement moved with it: every later
    step sees the same ink (nothing outside the box is ink) on a third to a half of a number's frame,
    which makes labelling and the per-digit steps that much faster. A map without ink is kept whole."""
    box = paper.bounding_box(ink > 0)
    if box is None:
        return ink, placement
    rows, cols = box
    moved = Placement(
        placement.top + int(rows.start),
        placement.left + int(cols.start),
        placement.scale_y,
        placement.scale_x,
        placement.reduced,
    )
    return ink[box], moved


def components(ink: np.ndarray) -> list[Blob]:
    """The ink's connected components (8-connected), largest first, as blobs."""
    from scipy import ndimage

    labels, count = ndimage.label(ink > STROKE, structure=np.ones((3, 3)))
    if count == 0:
        return []
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]  # sum_labels, 10x faster
    blobs = [
        Blob(where[0].start, where[1].start, labels[where] == label, float(masses[label - 1]))
        for label, where in enumerate(ndimage.find_objects(labels), start=1)
    ]
    return sorted(blobs, key=lambda blob: -blob.mass)


def union(blobs: list[Blob]) -> Blob:
    """One blob holding the pixels of all ``blobs``."""
    top, left = min(blob.top for blob in blobs), min(blob.left for blob in blobs)
    bottom, right = max(blob.bottom for blob in blobs), max(blob.right for blob in blobs)
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    for blob in blobs:
        mask[blob.top - top : blob.bottom - top, blob.left - left : blob.right - left] |= blob.mask
    return Blob(top, left, mask, sum(blob.mass for blob in blobs))


def line_height(blobs: list[Blob]) -> float:
    """The height of a digit in this line: the median height of the components holding at least a
    third of the largest one's ink (bars, dots and fragments left out)."""
    largest = max(blob.mass for blob in blobs)
    return float(np.median([blob.height for blob in blobs if blob.mass >= largest / 3]))


def x_overlap(a: Blob, b: Blob) -> float:
    """How much two blobs overlap along the line, as a share of the narrower's width (0 when apart)."""
    return max(0, min(a.right, b.right) - max(a.left, b.left)) / min(a.width, b.width)


def distance(a: Blob, b: Blob) -> float:
    """The gap between two blobs' boxes, in pixels (0 when the boxes overlap)."""
    across = max(0, max(a.left, b.left) - min(a.right, b.right))
    down = max(0, max(a.top, b.top) - min(a.bottom, b.bottom))
    return float(np.hypot(across, down))


def belong_together(a: Blob, b: Blob, height: float, largest: float) -> bool:
    """Whether two components are parts of one digit, by geometry: one lies over the other along the
    line (a 4 drawn in two strokes, a broken stroke), a short one overlaps the other (a 5's bar), or a
    small one is near it (a dot, a broken-off end)."""
    overlap = x_overlap(a, b)
    narrow, wide = (a, b) if a.width <= b.width else (b, a)
    centre = (narrow.left + narrow.right) / 2
    inside = wide.left + 0.15 * wide.width <= centre <= wide.right - 0.15 * wide.width
    short = min(a.height, b.height) < SHORT * height
    if overlap >= CONTAINED and (short or inside):
        return True
    if overlap >= OVERLAP and short:
        return True
    return min(a.mass, b.mass) <= SMALL * largest and distance(a, b) <= NEAR * height


def merge(blobs: list[Blob], height: float) -> list[Blob]:
    """Components grouped into digits by ``belong_together`` (transitively), specks far from any
    digit dropped."""
    largest = blobs[0].mass
    parent = list(range(len(blobs)))

    def root(index: int) -> int:
        while parent[index] != index:
            index = parent[index]
        return index

    for i in range(len(blobs)):
        for j in range(i + 1, len(blobs)):
            if root(i) != root(j) and belong_together(blobs[i], blobs[j], height, largest):
                parent[root(j)] = root(i)
    groups: dict[int, list[Blob]] = {}
    for index, blob in enumerate(blobs):
        groups.setdefault(root(index), []).append(blob)
    merged = [union(group) for group in groups.values()]
    return attach_parts([blob for blob in merged if blob.mass >= SPECK * largest], height)


def attach_parts(blobs: list[Blob], height: float) -> list[Blob]:
    """Groups too short to be digits (a 5's bar written well to the right of its body, a stray
    stroke) joined to the nearest group within ATTACH line heights. A short group holding more than
    PART_INK of the median digit's ink (of the groups at least SHORT line heights tall) is a digit
    written small (a flat 5 between tall digits) and stays one: joined to its neighbour, a "5" and
    a "1" were read as one "2"."""
    tall = [blob.mass for blob in blobs if blob.height >= SHORT * height]
    heaviest_part = PART_INK * float(np.median(tall)) if tall else float("inf")
    blobs = sorted(blobs, key=lambda blob: blob.height)  # shortest first: a bar joins a small digit first
    small_digits = []
    while len(blobs) > 1 and blobs[0].height < SHORT * height:
        part, others = blobs[0], blobs[1:]
        if part.mass > heaviest_part:
            small_digits.append(part)
            blobs = others
            continue
        nearest = min(others, key=lambda other: distance(part, other))
        if distance(part, nearest) > ATTACH * height:
            break
        others.remove(nearest)
        blobs = sorted([*others, union([part, nearest])], key=lambda blob: blob.height)
    return blobs + small_digits


def cut_candidates(blob: Blob, ink: np.ndarray, height: float, count: int) -> list[tuple[float, float]]:
    """Up to ``count`` cuts (x at the blob's mid-height, slant in columns per row) through a blob,
    at local minima of its ink projected along vertical and slanted columns, lowest ink first; cuts
    closer than 0.1 line heights to the blob's ends or to a better cut are left out."""
    rows, cols = np.nonzero(blob.mask)
    weights = ink[blob.top + rows, blob.left + cols]
    middle = (blob.height - 1) / 2
    found = []
    for slant in SLANTS:
        position = cols - slant * (rows - middle)
        offset = int(np.floor(position.min()))
        profile = np.bincount(np.round(position - offset).astype(int), weights=weights)
        profile = np.convolve(profile, np.ones(3) / 3, mode="same")
        for index in range(1, len(profile) - 1):
            if profile[index] <= profile[index - 1] and profile[index] <= profile[index + 1]:
                found.append((float(profile[index]), index + offset, slant))
    margin = 0.1 * height
    cuts: list[tuple[float, float]] = []
    for _, x, slant in sorted(found):
        if margin <= x <= blob.width - margin and all(abs(x - other) >= margin for other, _ in cuts):
            cuts.append((float(x), slant))
        if len(cuts) == count:
            break
    return sorted(cuts)


def between(blob: Blob, left_cut: tuple[float, float] | None, right_cut: tuple[float, float] | None) -> Blob | None:
    """The part of a blob right of ``left_cut`` and left of ``right_cut`` (None: the blob's end),
    cropped to its pixels; None when empty."""
    rows, cols = np.indices(blob.mask.shape)
    middle = (blob.height - 1) / 2
    keep = blob.mask.copy()
    if left_cut is not None:
        keep &= cols - left_cut[1] * (rows - middle) >= left_cut[0]
    if right_cut is not None:
        keep &= cols - right_cut[1] * (rows - middle) < right_cut[0]
    if not keep.any():
        return None
    kept_rows, kept_cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    top, bottom, left, right = kept_rows[0], kept_rows[-1] + 1, kept_cols[0], kept_cols[-1] + 1
    part = Blob(blob.top + int(top), blob.left + int(left), keep[top:bottom, left:right], 0.0)
    return part


def split(
    blob: Blob, ink: np.ndarray, height: float, classify, digit_probability=None, in_number: bool = False
) -> list[Blob]:
    """A blob too wide for one digit cut into digits: by recognition when ``classify`` is given (the
    cuts maximising the summed log-confidence of the pieces, less a penalty for pieces wider than a
    digit, by dynamic programming over candidate cuts), else at the lowest-ink cuts nearest to equal
    widths. ``in_number``: the blob is part of a number, so ``digit_probability`` judges the uncut whole too."""
    digits = digits_across(blob, height)
    if classify is None:
        cuts = cut_candidates(blob, ink, height, 4 * digits)
        return split_evenly(blob, cuts, digits) if cuts else [blob]
    whole = scores_of([blob], ink, height, classify, digit_probability if in_number else None)
    if whole[0] > -CUT_PENALTY:
        return [blob]  # every cut costs more than the whole loses: no split can read better
    ends, spans, pieces = cut_pieces(blob, ink, height)
    if not pieces:
        return [blob]  # no cut, or none leaving pieces tall enough to be digits
    scores = scores_of(pieces, ink, height, classify, digit_probability) - CUT_PENALTY
    spans, pieces = [*spans, (0, len(ends) - 1)], [*pieces, blob]
    scores = np.append(scores, whole[0] - CUT_PENALTY)
    best = {0: (0.0, [])}
    for (start, stop), piece, piece_score in sorted(zip(spans, pieces, scores), key=lambda item: item[0][1]):
        if start in best:
            total = best[start][0] + piece_score
            if stop not in best or total > best[stop][0]:
                best[stop] = (total, [*best[start][1], piece])
    return best.get(len(ends) - 1, (0.0, [blob]))[1]


def join_by_recognition(blobs: list[Blob], ink: np.ndarray, height: float, classify, digit_probability) -> list[Blob]:
    """Neighbours along the line (within JOIN_GAP line heights) joined while one digit reads better
    than two, by ``scores_of`` (the classifier's confidence, the width prior and the piece judge's
    probability that a piece is one whole digit), the best join first: a 4 drawn in two strokes that
    do not overlap along the line, a 5 whose bar stands apart, which geometry (``merge``) leaves as
    a "6" and a "1" or a "2" and an "8". Two pieces cost CUT_PENALTY more than one, as in ``split``,
    so two digits side by side stay apart only when they read better so by more than JOIN_MARGIN.
    Only pairs one of which the judge doubts is a whole digit (under JOIN_DOUBT) are tried: a
    number of clear digits costs one call of the judge, and without a judge (a model not trained on
    MNIST, whose rejector gives None) nothing is tried. All reads of a round go to each model in one
    call (``read_all``); a pair's join is made and read once, not again in each later round (a
    noisy photo's hundred specks cost over a thousand reads so)."""
    blobs = sorted(blobs, key=lambda blob: blob.left + blob.right)
    joins: dict[tuple[int, int], tuple[Blob, Blob, Blob]] = {}  # (id, id) -> (left, right, joined)
    while len(blobs) > 1:
        read_all(blobs, ink, None, digit_probability)
        if any(blob.one_digit_probability is None for blob in blobs):
            break  # no judge (a model not trained on MNIST): no doubt to go by, nothing is tried
        pairs = [
            (index, joined_pair(blobs[index], blobs[index + 1], joins))
            for index in range(len(blobs) - 1)
            if blobs[index + 1].left - blobs[index].right <= JOIN_GAP * height
            and min(blobs[index].one_digit_probability, blobs[index + 1].one_digit_probability) < JOIN_DOUBT
        ]
        if not pairs:
            break
        read_all([*blobs, *(joined for _, joined in pairs)], ink, classify, digit_probability)
        alone = scores_of(blobs, ink, height, classify, digit_probability)
        together = scores_of([joined for _, joined in pairs], ink, height, classify, digit_probability)
        gains = [together[k] - (alone[index] + alone[index + 1] - CUT_PENALTY) for k, (index, _) in enumerate(pairs)]
        best = int(np.argmax(gains))
        if gains[best] <= JOIN_MARGIN:
            break
        index, joined = pairs[best]
        blobs[index : index + 2] = [joined]
    return blobs


def joined_pair(left: Blob, right: Blob, joins: dict) -> Blob:
    """``union([left, right])``, made once: kept in ``joins`` by the two blobs' ids, with the blobs
    themselves, so that an id a freed blob's successor reuses is not taken for it."""
    key = (id(left), id(right))
    if key not in joins or joins[key][0] is not left or joins[key][1] is not right:
        joins[key] = (left, right, union([left, right]))
    return joins[key][2]


def digits_across(blob: Blob, height: float) -> int:
    """How many digits, at least 2, a blob too wide for one is likely to hold: its width in 0.8 line heights."""
    return max(2, int(round(blob.width / (0.8 * height))))


def cut_pieces(
    blob: Blob, ink: np.ndarray, height: float
) -> tuple[list[tuple[float, float] | None], list[tuple[int, int]], list[Blob]]:
    """(ends, spans, pieces): the blob's candidate cuts with its two ends (None), and every piece
    between two of them, blob uncut left out, tall and wide enough to be a digit, with the (start,
    stop) indices into ``ends`` it spans."""
    ends = [None, *cut_candidates(blob, ink, height, MAX_CUTS * (digits_across(blob, height) - 1)), None]
    spans, pieces = [], []
    for start in range(len(ends) - 1):
        for stop in range(start + 1, len(ends)):
            if (start, stop) == (0, len(ends) - 1):
                continue  # the blob uncut
            piece = between(blob, ends[start], ends[stop])
            if piece is not None and piece.width >= 0.05 * height and piece.height >= LOWEST * height:
                piece.mass = float(piece.ink(ink).sum())
                spans.append((start, stop))
                pieces.append(piece)
    return ends, spans, pieces


def candidate_pieces(ink: np.ndarray) -> list[Blob]:
    """Everything ``find_digits`` may ask whether it is one digit, for an ink map (``ink_map``): each
    merged component, and for those wider than NARROW line heights every piece between two of their
    candidate cuts (``cut_pieces``). What ``scripts/train_piece_judge.py`` learns from."""
    blobs = components(ink)
    if not blobs:
        return []
    merged = merge(blobs, line_height(blobs))
    height = line_height(merged)
    found = []
    for blob in merged:
        found.append(blob)
        if blob.width > NARROW * height:
            found += cut_pieces(blob, ink, height)[2]
    return found


def scores_of(pieces: list[Blob], ink: np.ndarray, height: float, classify, digit_probability=None) -> np.ndarray:
    """Each piece's score as one digit, at most 0: the log of the classifier's top probability, plus
    WIDTH_WEIGHT times the log-likelihood (up to a constant) of the piece's width, relative to the
    line height, under the read digit's WIDTH_PRIOR, plus DETECTOR_WEIGHT times the log of the
    probability that the piece is one whole digit (``digit_probability``, when given: the piece
    judge learnt that pieces of digits and several digits side by side are not one digit). Pieces not yet
    read are read first, in one call of each model (``read_all``)."""
    read_all(pieces, ink, classify, digit_probability)
    probabilities = np.stack([piece.probabilities for piece in pieces])
    read = probabilities.argmax(axis=1)
    prior = np.asarray(WIDTH_PRIOR)[read]
    ratios = np.array([max(piece.width, 1) for piece in pieces]) / max(height, 1.0)
    z = (np.log(ratios) - prior[:, 0]) / prior[:, 1]
    scores = np.log(np.maximum(probabilities.max(axis=1), 1e-6)) - WIDTH_WEIGHT * z * z / 2
    if digit_probability is not None and pieces[0].one_digit_probability is not None:
        judged = np.array([piece.one_digit_probability for piece in pieces], np.float64)
        scores += DETECTOR_WEIGHT * np.log(np.maximum(judged, 1e-6))
    return scores


def read_all(blobs: list[Blob], ink: np.ndarray, classify=None, digit_probability=None) -> None:
    """Fill in, for the blobs that lack them, each blob's ``probabilities`` with ``classify`` and its
    ``one_digit_probability`` with ``digit_probability`` (either may be None: not asked): one call
    of each for all blobs, since a call costs far more than a digit in it (ONNX Runtime's overhead).
    A detector that gives None (a model without one) leaves ``one_digit_probability`` None."""
    unread = [blob for blob in blobs if blob.probabilities is None] if classify is not None else []
    if unread:
        probabilities = classify(np.stack([blob.mnist_image(ink) for blob in unread]))
        for blob, row in zip(unread, probabilities):
            blob.probabilities = row
    unjudged = [blob for blob in blobs if blob.one_digit_probability is None] if digit_probability is not None else []
    if unjudged:
        judged = digit_probability(np.stack([blob.mnist_image(ink) for blob in unjudged]))
        if judged is not None:
            for blob, value in zip(unjudged, np.asarray(judged)):
                blob.one_digit_probability = float(value)


def width_prior(images: np.ndarray, labels: np.ndarray, level: int = 76) -> tuple[tuple[float, float], ...]:
    """Per class 0-9, the mean and standard deviation of log(width / height) of the digits' ink boxes
    (pixels above ``level``, 0.3 of full ink, as STROKE): how `WIDTH_PRIOR` is measured.

    Args:
        images: uint8 (n, 28, 28), MNIST-format digits, each with some ink above ``level``.
        labels: int (n,), values 0-9, every class present.
    """
    mask = images > level
    rows, cols = mask.any(axis=2), mask.any(axis=1)
    height = images.shape[1] - rows[:, ::-1].argmax(axis=1) - rows.argmax(axis=1)
    width = images.shape[2] - cols[:, ::-1].argmax(axis=1) - cols.argmax(axis=1)
    ratios = np.log(width / height)
    return tuple((float(ratios[labels == c].mean()), float(ratios[labels == c].std())) for c in range(10))


def too_wide(blobs: list[Blob], ink: np.ndarray, height: float, classify, digit_probability=None) -> list[bool]:
    """Which blobs may hold several digits and go to ``split``: those wider than WIDE line heights
    (WIDE_WITHOUT_CLASSIFIER without a classifier), and, when ``digit_probability`` is given (a number's
    context), those wider than NARROW whose whole ``digit_probability`` gives under DOUBTED (one call for all).
    Fills in the wide blobs' ``probabilities`` and, in a number, their and the doubtful blobs'
    ``one_digit_probability`` (``read_all``)."""
    if classify is None:
        return [blob.width > WIDE_WITHOUT_CLASSIFIER * height for blob in blobs]
    wide = [blob.width > WIDE * height for blob in blobs]
    doubtful = [i for i, blob in enumerate(blobs) if not wide[i] and blob.width > NARROW * height]
    # The judge judges the wide and the doubtful blobs in one call, then the classifier reads all
    # that are found wide in one call: ``split`` finds their wholes read.
    read_all([blob for i, blob in enumerate(blobs) if wide[i] or i in doubtful], ink, None, digit_probability)
    for i in doubtful:
        if blobs[i].one_digit_probability is not None:
            wide[i] = bool(blobs[i].one_digit_probability < DOUBTED)
    read_all([blob for blob, cut in zip(blobs, wide) if cut], ink, classify)
    return wide


def with_faint_ink(blob: Blob, digits: list[Blob], ink: np.ndarray, height: float) -> Blob:
    """``blob`` as ``preprocessing.to_mnist`` would see its digit alone: with the faint ink (above 0,
    at most STROKE) connected to its strokes (hysteresis thresholding: its strokes above STROKE are
    the seeds) within FAINT_BOX line heights of its box and not within FAINT_REACH of any other of
    ``digits``, and its ink scaled so that its own 90th percentile is full ink (a gain of 1 to 4).
    Without them each digit of a number lost its soft edges, and a hairline digit beside bold ones,
    whose ink set the map's scale, became a dim dashed line ("0" read as "5")."""
    from scipy import ndimage

    pad, reach = int(round(FAINT_BOX * height)), max(1, int(round(FAINT_REACH * height)))
    top, left = max(0, blob.top - pad), max(0, blob.left - pad)
    bottom, right = min(ink.shape[0], blob.bottom + pad), min(ink.shape[1], blob.right + pad)
    region = ink[top:bottom, left:right]

    def place(other: Blob, mask: np.ndarray) -> bool:
        """Set ``other``'s pixels in ``mask`` (the region's frame); whether any lie in the region."""
        rows = slice(max(other.top, top), min(other.bottom, bottom))
        cols = slice(max(other.left, left), min(other.right, right))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return False
        mask[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] |= other.mask[
            rows.start - other.top : rows.stop - other.top, cols.start - other.left : cols.stop - other.left
        ]
        return True

    own = mask = np.zeros(region.shape, dtype=bool)
    place(blob, own)
    if ((region > 0) & (region <= STROKE)).any():  # a clean drawing has no faint ink to give back
        others = np.zeros(region.shape, dtype=bool)
        if any([place(other, others) for other in digits if other is not blob]):
            others = ndimage.binary_dilation(others, ndimage.generate_binary_structure(2, 1), iterations=reach)
        labels, count = ndimage.label((region > 0) & ~others, structure=np.ones((3, 3)))
        touched = np.zeros(count + 1, dtype=bool)
        touched[labels[own]] = True  # the pieces its strokes lie in (np.isin's answer, as a lookup)
        touched[0] = False
        mask = own | (touched[labels] & (region <= STROKE))
    gain = float(min(4.0, 1.0 / max(float(percentile(region[mask], 90)), 0.25)))
    if gain == 1.0 and mask.sum() == own.sum():
        return blob
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return Blob(top + int(rows[0]), left + int(cols[0]), mask, blob.mass, gain=gain)


def read_whole(blob: Blob, digits: list[Blob], ink: np.ndarray, height: float) -> Blob:
    """A found digit with its faint ink (``with_faint_ink``), and its image when already made from it."""
    if blob.faint is None:
        return with_faint_ink(blob, digits, ink, height)
    blob.faint.image = blob.image
    return blob.faint


def split_evenly(blob: Blob, cuts: list[tuple[float, float]], digits: int) -> list[Blob]:
    """A blob cut into ``digits`` pieces at the candidate cuts nearest to equal widths."""
    chosen = []
    for index in range(1, digits):
        wanted = index * blob.width / digits
        chosen.append(min(cuts, key=lambda cut: abs(cut[0] - wanted)))
    chosen = sorted(set(chosen))
    ends = [None, *chosen, None]
    pieces = [between(blob, ends[i], ends[i + 1]) for i in range(len(ends) - 1)]
    return [piece for piece in pieces if piece is not None]


def on_one_line(boxes: list[tuple[int, int, int, int]]) -> bool:
    """Whether digits' boxes, (left, top, right, bottom) in pixels, stand on one line of writing, as a
    number's digits do: taken left to right by their centres, each two neighbours share at least
    LINE_SHARE of the shorter's height; and if the centres' least-squares line climbs more than
    LINE_RISE per pixel across (20 degrees), every two boxes do, or the line climbs at most STEEPEST
    (45 degrees) with no box over TALLEST times as tall as the shortest (a number photographed
    turned, whose first and last digits share no height). A level line, a descending 7, a small
    digit beside tall ones and a number turned up to 45 degrees pass; a "%" (rings one above the
    other, a slash twice their height), a fraction and a column do not. One or no box is one line."""
    boxes = sorted(boxes, key=lambda box: box[0] + box[2])
    if any(not share_height(a, b) for a, b in zip(boxes, boxes[1:])):
        return False
    if len(boxes) < 2:
        return True
    lefts, tops, rights, bottoms = (np.asarray(side, dtype=np.float64) for side in zip(*boxes))
    across, down = (lefts + rights) / 2, (tops + bottoms) / 2
    spread = across - across.mean()
    rise = abs(float(spread @ (down - down.mean()))) / max(float(spread @ spread), 1e-9)
    if rise <= LINE_RISE or all(share_height(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]):
        return True
    heights = bottoms - tops
    return rise <= STEEPEST and heights.max() <= TALLEST * heights.min()


def bend(image: np.ndarray) -> float:
    """How far a digit's stroke bows sideways: the quadratic coefficient of the least-squares parabola
    x = a y^2 + b y + c through its rows' ink centroids (each row weighted by the square root of its
    ink), x and y in units of the ink's height, y from about -0.5 (top) to 0.5 (bottom). Positive when
    the middle lies left of the ends ("(", "[", "<"), negative when right (")"); a straight stroke,
    upright or slanted, gives about 0 (MNIST's validation 1s: median -0.01, 90% within -0.26..0.32).

    Args:
        image: uint8 or float (28, 28), light ink on dark (MNIST-style), with ink in at least 3 rows.
    Raises:
        ValueError: the image has ink in fewer than 3 rows (no parabola is fitted through them).
    """
    image = np.asarray(image, dtype=np.float64)
    ink = image.sum(axis=1)
    rows = np.flatnonzero(ink > 0)
    if len(rows) < 3:
        raise ValueError(f"Expected ink in at least 3 rows; found {len(rows)}")
    height = rows[-1] - rows[0] + 1
    centres = (image[rows] * np.arange(image.shape[1])).sum(axis=1) / ink[rows]
    across = (rows - rows.mean()) / height
    return float(np.polyfit(across, (centres - centres.mean()) / height, 2, w=np.sqrt(ink[rows]))[0])


def is_bracket_pair(left: np.ndarray, right: np.ndarray) -> bool:
    """Whether two neighbouring digits' images (MNIST-style, uint8 (28, 28)), left and right, bow
    apart as a pair of brackets does: the left one's middle at least BRACKET_BEND to the left of its
    ends, the right one's as far to the right (``bend``). Images with ink in fewer than 3 rows never are."""
    try:
        return bend(left) >= BRACKET_BEND and bend(right) <= -BRACKET_BEND
    except ValueError:
        return False


def share_height(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two boxes (left, top, right, bottom) share at least LINE_SHARE of the shorter's height."""
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared >= LINE_SHARE * min(a[3] - a[1], b[3] - b[1])


def segment(
    gray: np.ndarray,
    classify: Callable[[np.ndarray], np.ndarray] | None = None,
    digit_probability: Callable[[np.ndarray], np.ndarray] | None = None,
    number: bool = False,
) -> list[Segment]:
    """The digits in a grayscale image (h, w), values 0-255, left to right.

    Args:
        gray: a person's image of a number (or of one digit), as ``preprocessing.open_image`` gives.
        classify: maps uint8 (n, 28, 28) to float (n, 10) probabilities (e.g. a loaded model's
            ``probabilities``); with it, touching digits are cut where the pieces read best. Without
            it, geometry alone decides.
        digit_probability: maps uint8 (n, 28, 28) to float (n,) probabilities that each is one whole
            digit, or to None (``rejection.Rejector.one_digit_probabilities``: the piece judge's, None
            for a model not trained on MNIST); with ``classify``, cuts whose pieces
            are fragments of digits score lower, and in a number, wholes that are several digits.
        number: the image is known to be a number (``predict --number``): a blob that is no digit
            is taken for touching digits, not for a letter or a drawing.
    Returns:
        one Segment per digit, ordered by their boxes' centres, left to right. An image holding one
        digit gives one Segment whose image is ``preprocessing.to_mnist(gray)``.
    Raises:
        ImageError: the image is not 2-D, or holds no ink at all.
    """
    gray = np.asarray(gray)
    ink, placement = ink_map(gray)
    segments = find_digits(ink, placement, gray.shape, classify, digit_probability, number)
    if len(segments) == 1 and placement.reduced:  # one digit: read at full size, exactly as to_mnist reads it
        return [Segment(segments[0].box, to_mnist(gray))]
    return segments


def find_digits(
    ink: np.ndarray,
    placement: Placement,
    shape: tuple[int, int],
    classify: Callable[[np.ndarray], np.ndarray] | None = None,
    digit_probability: Callable[[np.ndarray], np.ndarray] | None = None,
    number: bool = False,
) -> list[Segment]:
    """``segment``'s work on an ink map already made (``ink_map``): the digits in ``ink``, left to
    right, boxed in the original image of ``shape`` (h, w) through ``placement``. A caller that also
    wants the whole image as one digit gets it from the same map with ``preprocessing.ink_to_mnist(ink)``.

    Raises:
        ImageError: the ink map holds no ink.
    """
    blobs = components(ink)
    if not blobs:
        raise ImageError("no digit found: the image is blank")
    height = line_height(blobs)
    digits = merge(blobs, height)
    height = line_height(digits)
    if len(digits) > 1:  # what will be read of each, its faint ink with it, is what is judged: made once
        for blob in digits:
            blob.faint = with_faint_ink(blob, digits, ink, height)
    if classify is not None and digit_probability is not None and len(digits) > 1:
        digits = join_by_recognition(digits, ink, height, classify, digit_probability)
        height = line_height(digits)
    in_number = number or len(digits) > 1
    wide = too_wide(digits, ink, height, classify, digit_probability if in_number else None)
    digits = [
        piece
        for blob, cut in zip(digits, wide)
        for piece in (split(blob, ink, height, classify, digit_probability, in_number) if cut else [blob])
    ]
    if len(digits) == 1:
        top, bottom, left, right = digit.ink_bounding_box(ink)
        return [Segment(placement.box(top, bottom, left, right, shape), ink_to_mnist(ink))]
    digits.sort(key=lambda blob: blob.left + blob.right)
    digits = [read_whole(blob, digits, ink, height) for blob in digits]
    segments = []
    for blob in digits:
        top, bottom, left, right = digit.ink_bounding_box(blob.ink(ink))
        box = placement.box(blob.top + top, blob.top + bottom, blob.left + left, blob.left + right, shape)
        segments.append(Segment(box, blob.mnist_image(ink), (blob.faint or blob).ink(ink)))
    return segments
