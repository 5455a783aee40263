"""Predicting digits and numbers for a person's images with a loaded model (``runtimes``).

``load_model`` and ``Classifier`` are ``runtimes``'; they stay importable from here, where the
Python API has always found them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from mnist_cnn import preprocessing, readers
from mnist_cnn.bold_strokes import BOLD, is_bold
from mnist_cnn.errors import Failure, ImageError
from mnist_cnn.low_resolution import is_low_resolution
from mnist_cnn.runtimes import Classifier, load_model  # noqa: F401  (the Python API's names, see above)


@dataclass
class Prediction:
    """One image's answer. ``image``: the uint8 (28, 28) array the model saw.

    ``status``: "digit", "unsure" (a digit, but the model is not confident which) or "not_a_digit"
    (``mnist_cnn.rejection``); always "digit" when rejection is off. ``digit_probability``: the digit
    detector's probability (0-1) that the image is a digit, None without a detector.
    """

    digit: int
    confidence: float
    probabilities: list[float]
    image: np.ndarray = field(repr=False)
    path: str | None = None
    status: str = "digit"
    digit_probability: float | None = None
    box: list[int] | None = None  # a digit of a number: [left, top, right, bottom] in the image's pixels
    reader: str | None = None  # the specialist reader that read it (``readers.KINDS``); None: the model

    def top(self, count: int = 3) -> list[tuple[int, float]]:
        order = np.argsort(self.probabilities)[::-1][:count]
        return [(int(digit), float(self.probabilities[digit])) for digit in order]

    def describe(self) -> str:
        """One line for people: ``7 (99.1%)``, ``unsure: 4 or 9 (4 52.0%, 9 41.3%)`` or
        ``not a digit (digit detector 0.3%; nearest digit 4)``: a refused image's own confidence is the
        classifier's among the ten digits only, so it is not shown as if it were the answer's."""
        if self.status == "not_a_digit":
            if self.digit_probability is None:
                return f"not a digit (nearest digit {self.digit})"
            return f"not a digit (digit detector {self.digit_probability:.1%}; nearest digit {self.digit})"
        if self.status == "unsure":
            (first, p_first), (second, p_second) = self.top(2)
            return f"unsure: {first} or {second} ({first} {p_first:.1%}, {second} {p_second:.1%})"
        return f"{self.digit} ({self.confidence:.1%})"

    def to_json(self) -> dict:
        answer = {
            "path": self.path,
            "status": self.status,
            "digit": self.digit,
            "confidence": self.confidence,
            "digit_probability": self.digit_probability,
            "probabilities": self.probabilities,
        }
        if self.box is not None:
            answer["box"] = self.box
        if self.reader is not None:
            answer["reader"] = self.reader  # a specialist reader answered, not the model (``readers``)
        return answer


@dataclass
class NumberPrediction:
    """An image read as a number: its digits left to right (``segmentation``), each a Prediction with
    its ``box``. ``status``: "digit" when every digit is one, "not_a_digit" when at least half of them
    are not digits (a symbol or scribble in several pieces), else "unsure"."""

    digits: list[Prediction]
    path: str | None = None

    @property
    def number(self) -> str:
        return "".join(str(digit.digit) for digit in self.digits)

    @property
    def status(self) -> str:
        statuses = [digit.status for digit in self.digits]
        if 2 * statuses.count("not_a_digit") >= len(statuses):
            return "not_a_digit"
        return "digit" if set(statuses) == {"digit"} else "unsure"

    @property
    def confidence(self) -> float:
        """The probability that every digit is right, if the digits' errors are independent: their product."""
        return float(np.prod([digit.confidence for digit in self.digits]))

    def describe(self) -> str:
        """One line: ``2026 (digits 2 99.9%, 0 99.8%, 2 99.7%, 6 98.1%)``, or which digits are in doubt
        (``4 51.0% unsure``; ``4 not_a_digit``, without the classifier's share, as for one digit);
        ``not a digit (nearest number 4255: digits ...)`` when the status is not_a_digit, as for one
        digit: a blank page's shadow in pieces is no number to copy."""
        parts = ", ".join(
            f"{digit.digit} not_a_digit"
            if digit.status == "not_a_digit"
            else f"{digit.digit} {digit.confidence:.1%}" + ("" if digit.status == "digit" else f" {digit.status}")
            for digit in self.digits
        )
        if self.status == "not_a_digit":
            return f"not a digit (nearest number {self.number}: digits {parts})"
        return f"{self.number} (digits {parts})"

    def to_json(self) -> dict:
        digits = [{key: value for key, value in digit.to_json().items() if key != "path"} for digit in self.digits]
        return {
            "path": self.path,
            "status": self.status,
            "number": self.number,
            "confidence": self.confidence,
            "digits": digits,
        }


def as_list(images) -> list:
    """Split the accepted input forms into a list of single images."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        return list(images)
    if isinstance(images, (list, tuple)):
        return list(images)
    return [images]


def predict(
    images, model: Classifier | str | Path | None = None, accept_all: bool = False, mode: str = "auto"
) -> list[Prediction | NumberPrediction]:
    """Predict the digit, or the number, in each image, and whether it is a digit at all.

    Args:
        images: a path, a PIL image, an array (28, 28) or (n, 28, 28), or a list of these. Paths and
            PIL images go through MNIST-style preprocessing; (28, 28) arrays are taken as MNIST-format.
        model: a Classifier from ``load_model``, a shipped model's name or a model file (default: shipped).
        accept_all: turn rejection off: every prediction's status is "digit".
        mode: "auto" (a number when an image holds several digits), "single" or "number" (see ``read``).
    Returns:
        one Prediction per image holding one digit, a NumberPrediction per number, in order. Raises
        ImageError for the first image that cannot be read or holds no ink at all (a blank page, or an
        all-zero array), ValueError for an unknown ``mode``.
    """
    from mnist_cnn.rejection import load_rejector

    if mode not in READING_MODES:
        raise ValueError(f"Expected mode to be one of {', '.join(READING_MODES)}; received {mode!r}")
    classifier = model if isinstance(model, Classifier) else load_model(model)
    items = as_list(images)
    rejector = load_rejector(classifier)  # its piece judge also checks the cuts between touching digits
    with classifier.remembering():
        readings = [read(item, mode, classifier.probabilities, rejector.one_digit_probabilities) for item in items]
        paths = [str(item) if isinstance(item, (str, Path)) else None for item in items]
        return classify_readings(classifier, readings, paths, None if accept_all else rejector)


def classify(
    classifier: Classifier,
    prepared: list[np.ndarray],
    paths: list[str | None],
    rejector=None,
    kinds: Sequence[str | None] | None = None,
) -> list[Prediction]:
    """Predictions for already-preprocessed uint8 (28, 28) images; ``rejector`` (a
    ``rejection.Rejector``) gives each its status, None leaves every status "digit". ``kinds``: per
    image, the kind of input its digit is (``readers.KINDS``, or None), read by that kind's reader
    when ``classifier`` has one (``read_digits``)."""
    if not prepared:
        return []
    images = np.stack(prepared)
    probabilities, read_by = read_digits(classifier, images, kinds)
    statuses, digit_probabilities = ["digit"] * len(images), [None] * len(images)
    if rejector is not None:
        statuses, scores = rejector.statuses(images, probabilities)
        if scores is not None:
            digit_probabilities = [round(float(score), 6) for score in scores]
    return [
        Prediction(
            digit=int(row.argmax()),
            confidence=float(row.max()),
            probabilities=[round(float(value), 6) for value in row],
            image=image,
            path=path,
            status=status,
            digit_probability=digit_probability,
            reader=reader,
        )
        for row, image, path, status, digit_probability, reader in zip(
            probabilities, prepared, paths, statuses, digit_probabilities, read_by
        )
    ]


def read_digits(
    classifier: Classifier, images: np.ndarray, kinds: Sequence[str | None] | None = None
) -> tuple[np.ndarray, list[str | None]]:
    """float32 (n, 10) probabilities for uint8 (n, 28, 28) ``images``, and which specialist reader
    gave each row in place of ``classifier`` (a kind in ``readers.KINDS``, or None): each image
    ``kinds`` marks with a kind (None: none is) is read by that kind's reader
    (``readers.reader_for``) when ``classifier`` has one.

    Raises:
        ValueError: ``kinds`` does not hold one value per image, or holds an unknown kind.
    """
    if kinds is not None and len(kinds) != len(images):
        raise ValueError(f"{len(images)} images but {len(kinds)} kinds")
    kinds = list(kinds) if kinds is not None else [None] * len(images)
    specialists = {kind: readers.reader_for(classifier, kind) for kind in set(kinds) - {None}}
    read_by = [kind if kind is not None and specialists[kind] is not None else None for kind in kinds]
    if not any(read_by):
        return classifier.probabilities(images), read_by
    probabilities = np.zeros((len(images), 10), np.float32)  # readers exist for shipped MNIST models only
    for model, kind in [(classifier, None), *((reader, kind) for kind, reader in specialists.items())]:
        chosen = [index for index, by in enumerate(read_by) if by == kind]
        if chosen:
            probabilities[chosen] = model.probabilities(images[chosen])
    return probabilities, read_by


CSV_COLUMNS = ("path", "digit", "confidence", "status", "error")


def write_csv(
    predictions: Sequence[Prediction | NumberPrediction],
    target: Path,
    failures: Sequence[Failure] = (),
    order: Sequence[str] | None = None,
) -> Path:
    """One row per image, written atomically: path, digit (or the number read), confidence 0-1, status
    and error. ``status``: "digit", "unsure" or "not_a_digit" (see ``Prediction``), or "error" for each
    of ``failures``, whose digit and confidence are empty and whose error says why. ``order``: the
    paths as given, a path given twice listed twice, for rows in that order (default: predictions,
    then failures); rows of paths not in it come last.

    Raises:
        OutputError: ``target`` cannot be written.
    """
    import csv

    from mnist_cnn.files import atomic_path

    rows = [
        [
            prediction.path,
            prediction.number if isinstance(prediction, NumberPrediction) else prediction.digit,
            f"{prediction.confidence:.6f}",
            prediction.status,
            "",
        ]
        for prediction in predictions
    ] + [[failure.path, "", "", "error", failure.message] for failure in failures]
    if order is not None:
        positions: dict[str, list[int]] = {}
        for index, path in enumerate(order):
            positions.setdefault(path, []).append(index)
        # Each row takes its path's next position: predictions and failures each keep the input's order.
        taken = [positions[row[0]].pop(0) if positions.get(row[0]) else len(order) for row in rows]
        rows = [row for _, row in sorted(zip(taken, rows), key=lambda pair: pair[0])]
    with atomic_path(target) as partial, partial.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return Path(target)


@dataclass
class Reading:
    """What an image holds, made MNIST-style: one digit (``boxes`` None), or a number's digits left to
    right with their boxes in the image's pixels. ``images``: uint8 (28, 28) each. ``whole``: in the
    "auto" mode, for a number, the whole image as one digit, which wins if it is read as a digit."""

    images: list[np.ndarray]
    boxes: list[list[int]] | None = None
    whole: np.ndarray | None = None
    kind: str | None = None  # the one digit's (or the whole's) kind with a reader of its own (``readers.KINDS``)
    digit_kinds: list[str | None] | None = None  # a number's digits' kinds (``number_kinds``), or None: the model's
    # In the "auto" mode, for one mark at least as wide as it is tall: makes the number mode's reading of
    # the image (or None), which wins if the whole is refused and each of its digits is surely one
    # (``pieces_if_refused``); made only then, since few wholes are refused.
    pieces: Callable[[], Reading | None] | None = None
    # One narrow digit (``digit.is_narrow``, once upright: ``digit.upright``) stretched across
    # (``digit.widened``), MNIST-style, and whether it encloses a loop as tall as a 0's
    # (``digit.has_tall_loop``): read in its place when it reads better (``widened_if_read_better``).
    widened: np.ndarray | None = None
    looped: bool = False


READING_MODES = ("auto", "single", "number")
# A number whose strokes, over its whole ink map, are under this share of the bold width is not measured
# digit by digit (``number_kinds``). On 100 numbers of validation digits each, as the numbers benchmark
# renders them, the whole measured 0.53-0.71 of it drawn, 0.43-0.81 photographed, 0.67-2.40 written with
# a marker 2-4x MNIST's stroke (1 of those 100 numbers has a digit measured bold under the gate).
THIN_NUMBER = 0.75
# of a number's digits' median height: a gap this wide along the line between two of them is no digit's own
# (``written_apart``; a 5's loose bar overlaps its body along the line, a 4's two strokes nearly touch)
APART = 0.1
# of its height: one mark this wide may be two digits touching, and the "auto" mode also reads it as a number
# (``pieces_if_refused``). 20% of MNIST's training digits are as wide by their ink boxes (0s, 2s and 5s: 39-46%).
TOUCHING_WIDTH = 1.0
# the digit detector's probability: each digit of such a number is this sure a digit, or the whole stays
# refused (helper-38's heart cut into "17": 0.44 for its "1"; helper-39's touching "45" and "97": 0.94-1.0)
SURE_PIECE = 0.9


def read(source, mode: str = "auto", classify=None, digit_probability=None) -> Reading:
    """One source to a Reading. ``mode``: "single" treats it as one digit (``preprocessing.prepare``);
    "number" always reads a number; "auto" reads a number when segmentation finds several digits on
    one line of writing (``segmentation.on_one_line``), and one digit exactly as "single" otherwise.
    Arrays and ``.npy`` files are one digit: MNIST format at (28, 28), a grayscale image otherwise
    (``preprocessing.prepare``).
    ``classify``: uint8 (n, 28, 28) -> (n, 10) probabilities, for cutting touching digits;
    ``digit_probability``: uint8 (n, 28, 28) -> (n,) probabilities of being one whole digit (or None),
    the digit detector's, to check the cuts (``segmentation.segment``).
    Raises ImageError for what cannot be read or holds no ink."""
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".npy":
        source = preprocessing.load_npy(Path(source))
    if isinstance(source, np.ndarray) and source.shape == (preprocessing.FIELD, preprocessing.FIELD):
        return Reading([preprocessing.prepare(source)])  # MNIST format already (the array checked first)
    if isinstance(source, np.ndarray):
        gray, mode = preprocessing.array_to_gray(source), "single"
    else:
        gray = preprocessing.open_image(source)
        shape = preprocessing.displayed_shape(source)
        return in_pixels_of(read_gray(gray, mode, classify, digit_probability), gray.shape, shape)
    return read_gray(gray, mode, classify, digit_probability)


def in_pixels_of(reading: Reading, decoded: tuple[int, int], shape: tuple[int, int] | None) -> Reading:
    """``reading`` of an image decoded at ``decoded`` (rows, cols) with its number's boxes (and those
    of the number its ``pieces`` may make) given in the pixels of the picture's own ``shape`` (rows,
    cols; ``preprocessing.displayed_shape``): a large photo is decoded reduced (``open_image``)."""
    if shape is None or tuple(shape) == tuple(decoded):
        return reading
    rows, cols = shape[0] / decoded[0], shape[1] / decoded[1]
    boxes = None
    if reading.boxes is not None:
        boxes = [
            [round(left * cols), round(top * rows), round(right * cols), round(bottom * rows)]
            for left, top, right, bottom in reading.boxes
        ]
    pieces = reading.pieces
    if pieces is not None:
        pieces = partial(scaled_pieces, pieces, decoded, shape)
    return replace(reading, boxes=boxes, pieces=pieces)


def scaled_pieces(pieces: Callable[[], Reading | None], decoded, shape) -> Reading | None:
    """``pieces()`` with its boxes in the pixels of ``shape`` (``in_pixels_of``)."""
    reading = pieces()
    return None if reading is None else in_pixels_of(reading, decoded, shape)


def read_gray(gray: np.ndarray, mode: str = "auto", classify=None, digit_probability=None) -> Reading:
    """``read`` of a decoded grayscale image (h, w), grey levels 0-255 (``preprocessing.open_image``'s),
    in any ``mode``. Raises ImageError for an image that holds no ink."""
    from mnist_cnn import segmentation

    if mode == "single":
        return one_digit(preprocessing.find_ink(gray)[0], is_low_resolution(gray))
    ink, placement = segmentation.ink_map(gray)
    segments = segmentation.find_digits(ink, placement, gray.shape, classify, digit_probability, mode == "number")
    images, boxes = [segment.image for segment in segments], [list(segment.box) for segment in segments]
    if mode == "number":
        return Reading(images, boxes, digit_kinds=number_kinds(segments, ink))
    scan = is_low_resolution(gray)  # what a one-digit reading's kind needs, not a number's digits
    if len(segments) == 1:
        if placement.reduced:  # a drawing cleaned smaller to find a number's digits: one digit is read at full size
            single = one_digit(preprocessing.find_ink(gray)[0], scan)
        else:
            single = one_digit(ink, scan, segments[0].image)  # the same array to_mnist() makes
        left, top, right, bottom = segments[0].box
        if classify is not None and digit_probability is not None and right - left >= TOUCHING_WIDTH * (bottom - top):
            single.pieces = partial(touching_pieces, ink, placement, gray.shape, classify, digit_probability)
        return single
    if not segmentation.on_one_line([segment.box for segment in segments]):
        return one_digit(ink, scan)  # no line of writing (a "%"): one thing
    kinds = number_kinds(segments, ink)
    # to_mnist's (a reduced drawing's at that size), from the same ink map: it wins if read as one digit
    whole = one_digit(ink, scan)
    return Reading(images, boxes, whole.images[0], whole.kind, kinds)


def touching_pieces(ink: np.ndarray, placement, shape: tuple[int, int], classify, digit_probability) -> Reading | None:
    """The number mode's Reading of an image of ``shape`` (h, w) whose ink map ``ink`` (with its
    ``placement``, ``segmentation.ink_map``'s) holds one mark at least TOUCHING_WIDTH times as wide
    as it is tall: two or more digits on one line when segmentation, told it is a number, cuts it so
    with ``classify`` and the piece judge's ``digit_probability``; else None."""
    from mnist_cnn import segmentation

    segments = segmentation.find_digits(ink, placement, shape, classify, digit_probability, number=True)
    boxes = [list(segment.box) for segment in segments]
    if len(segments) < 2 or not segmentation.on_one_line(boxes):
        return None
    return Reading([segment.image for segment in segments], boxes, digit_kinds=number_kinds(segments, ink))


def number_kinds(segments: list, ink: np.ndarray) -> list[str | None]:
    """Per digit of a number (``segmentation.Segment``s found in the ink map ``ink``): "bold" when its
    own ink, cropped as one digit's is (``preprocessing.crop_digit``), has bold strokes
    (``bold_strokes.is_bold``: a number written with a marker; docs/BENCHMARKS.md, "Reading
    numbers"), else None. A number whose strokes, measured once over the whole map
    (``digit.mean_stroke_width``), are under THIN_NUMBER of the bold width for its digits' size has
    no bold digit: none is measured alone."""
    from mnist_cnn.preprocessing import digit

    sizes = [max(segment.ink.shape) for segment in segments if segment.ink is not None]
    if len(sizes) == len(segments) > 1:
        multiple = digit.mean_stroke_width(ink > 0.5) / (digit.STROKE_RATIO * float(np.median(sizes)))
        if multiple < THIN_NUMBER * BOLD:
            return [None] * len(segments)
    kinds = []
    for segment in segments:
        try:
            bold = is_bold(preprocessing.crop_digit(ink if segment.ink is None else segment.ink))
        except ImageError:
            bold = False
        kinds.append("bold" if bold else None)
    return kinds


def one_digit(ink: np.ndarray, low_resolution: bool, image: np.ndarray | None = None) -> Reading:
    """A one-digit Reading of an ink map (``preprocessing.find_ink``'s, or ``segmentation.ink_map``'s):
    its 28x28 (``preprocessing.ink_to_mnist``, or ``image`` when already made from it) and its kind,
    "low_resolution" for a low-resolution scan's, "bold" for bold strokes (``bold_strokes.is_bold``
    on the same crop), or None. Raises ImageError for an ink map that holds no ink."""
    cropped = preprocessing.crop_digit(ink)
    image = preprocessing.cropped_to_mnist(cropped) if image is None else image
    kind = "low_resolution" if low_resolution else "bold" if is_bold(cropped) else None
    upright = preprocessing.digit.upright(cropped)
    if not preprocessing.digit.is_narrow(upright):
        return Reading([image], kind=kind)
    stretched = preprocessing.cropped_to_mnist(preprocessing.digit.widened(upright))
    return Reading([image], kind=kind, widened=stretched, looped=preprocessing.digit.has_tall_loop(cropped))


def read_many(sources: list, names: list[str], mode: str = "auto", classify=None, digit_probability=None):
    """``read`` for each source; return (readings, their names, a Failure per source that could not be
    read, whose ``str`` is its error line)."""
    readings, read_names, failures = [], [], []
    for source, name in zip(sources, names):
        try:
            readings.append(read(source, mode, classify, digit_probability))
            read_names.append(name)
        except ImageError as error:
            message = str(error).removeprefix("image: ")  # bytes are called "image" by the decoder
            message = message.removeprefix(f"{name}: ")
            if isinstance(source, (str, Path)):  # the decoder names a path as Path prints it: ./a.png as a.png
                message = message.removeprefix(f"{Path(source)}: ")
            failures.append(Failure(name, message))
    return readings, read_names, failures


def classify_readings(
    classifier: Classifier, readings: list[Reading], paths: list[str | None], rejector=None
) -> list[Prediction | NumberPrediction]:
    """A Prediction per one-digit reading, a NumberPrediction per number; one classifier call for all
    their digits, after the auto mode's wholes are judged (one call each; a pair of brackets,
    ``brackets_as_one``, costs one more).

    A number found by the "auto" mode whose whole image the rejector accepts as one digit, and finds
    at least as likely a digit as the least likely of its digits (``one_digit_if_accepted``), is read
    as that digit: a digit in pieces (a broken stroke, a bold marker's gap) stays one digit, while
    several digits side by side, which the detector learnt are not one digit, stay a number."""
    readings = widened_if_read_better(classifier, readings, rejector)
    if rejector is not None:
        readings = [brackets_as_one(classifier, reading) for reading in readings]
        readings = [one_digit_if_accepted(classifier, reading, rejector) for reading in readings]
        readings = [pieces_if_refused(classifier, reading, rejector) for reading in readings]
    images = [image for reading in readings for image in reading.images]
    kinds = [
        kind
        for reading in readings
        for kind in ([reading.kind] if reading.boxes is None else reading.digit_kinds or [None] * len(reading.images))
    ]
    flat = iter(classify(classifier, images, [None] * len(images), rejector, kinds))
    answers = []
    for reading, path in zip(readings, paths):
        digits = [next(flat) for _ in reading.images]
        if reading.boxes is None:
            digits[0].path = path
            answers.append(digits[0])
        else:
            for digit, box in zip(digits, reading.boxes):
                digit.box = box
            answers.append(NumberPrediction(digits, path))
    return answers


def widened_if_read_better(classifier: Classifier, readings: list[Reading], rejector=None) -> list[Reading]:
    """``readings``, each narrow digit's (``Reading.widened``) read stretched across in its place when,
    so, it reads as another digit than 1 (and, if it reads as a 1 as written, than 7), and either
    with a higher top probability or, as written, it reads as a 1 though it encloses a loop half its
    height tall (``Reading.looped``), which no 1 does; read by its kind's reader, as ``read_digits``
    reads, in one call for all of them. A thin, tall 0 that ``best`` reads as a 1 at 99.9% reads as a
    0 at 99.8% stretched, while a 1 stretched is still a 1, or with a flag a 7: four 1s of helper-45's
    photos read so at 99.8-99.9%. Any loop (``remnants.has_loop``) took two dim photos' fat 1s,
    pinholes in their strokes, for an 8 and a 9 (docs/BENCHMARKS.md, "Condensed digits"). A digit
    of a kind a specialist reader reads (``Reading.kind``: bold strokes, a tiny scan) is read as
    written: the bold reader read a 1 of a marker's stretched as a 3. With ``rejector``, the
    stretched image must not be refused where the image as written is not: a 1-pixel pen's 8 twelve
    pixels tall and five wide, accepted as written, was refused stretched (digit probability 0.02)."""
    narrow = [index for index, reading in enumerate(readings) if reading.widened is not None and reading.kind is None]
    if not narrow:
        return readings
    images = np.stack([image for index in narrow for image in (readings[index].images[0], readings[index].widened)])
    kinds = [readings[index].kind for index in narrow for _ in range(2)]
    probabilities = read_digits(classifier, images, kinds)[0]
    detected = rejector.digit_probabilities(images) if rejector is not None else None
    refused = [False] * len(narrow)
    if detected is not None:
        level = rejector.thresholds.digit
        refused = [stretched < level <= as_drawn for as_drawn, stretched in zip(detected[0::2], detected[1::2])]
    chosen = list(readings)
    for index, as_drawn, stretched, worse in zip(narrow, probabilities[0::2], probabilities[1::2], refused):
        one = as_drawn.argmax() == 1
        if worse or stretched.argmax() in ((1, 7) if one else (1,)):
            continue  # refused only stretched; a 1 stretched is still a 1, and a 1 with a flag reads as a 7
        if stretched.max() > as_drawn.max() or (one and readings[index].looped):
            chosen[index] = replace(readings[index], images=[readings[index].widened], widened=None)
    return chosen


def brackets_as_one(classifier: Classifier, reading: Reading) -> Reading:
    """``reading``, or its whole image as one thing when the "auto" mode found a number of two digits
    that the classifier reads as 1s and that bow apart as a pair of brackets does
    (``segmentation.is_bracket_pair``): "( )" is then judged whole (and refused as no digit, as 119
    of 120 pairs of brackets drawn with a pen were), not read "11". Every other reading is left as it is."""
    from mnist_cnn import segmentation

    if reading.whole is None or len(reading.images) != 2 or not segmentation.is_bracket_pair(*reading.images):
        return reading
    if (classifier.probabilities(np.stack(reading.images)).argmax(axis=1) != 1).any():
        return reading
    return Reading([reading.whole], kind=reading.kind)


def one_digit_if_accepted(classifier: Classifier, reading: Reading, rejector) -> Reading:
    """``reading``, or its whole image as one digit when the rejector gives that the status "digit"
    and its detector finds the whole at least as likely a digit as the least likely of the number's
    digits: a 5 whose bar came apart (the bar is no digit) stays a 5, while "31" written close, whose
    whole the detector accepts at 0.49 against 0.99 for its 3 and its 1, stays "31". Without a
    detector (a model trained on another dataset) an accepted whole is taken, as before. Digits
    written apart (``written_apart``) stay a number whatever the whole reads: "51" with a gap of a
    quarter of its height, its whole one 5 to the detector (0.74) beside a plain 1 it is less sure
    of (helper-38), was read "5"."""
    if reading.whole is None or written_apart(reading.boxes):
        return reading
    (whole,) = classify(classifier, [reading.whole], [None], rejector, [reading.kind])
    if whole.status != "digit":
        return reading
    pieces = rejector.digit_probabilities(np.stack(reading.images))
    if pieces is not None and whole.digit_probability < round(float(pieces.min()), 6):  # as classify rounds
        return reading
    return Reading([reading.whole], kind=reading.kind)


def pieces_if_refused(classifier: Classifier, reading: Reading, rejector) -> Reading:
    """``reading``, or its number mode's reading (``Reading.pieces``) when the rejector refuses the
    whole as no digit and gives each of the number's digits the status "digit" at a digit
    probability of SURE_PIECE at least, not all of them 1s: two digits written touching ("45",
    "97": helper-39) are no one digit, while a symbol's or a letter's strokes cut apart are unsure
    digits (a heart's "1" at 0.44), or read as 1s ("M" as "111"), and stay refused. Every other
    reading is left as it is."""
    if reading.pieces is None:
        return reading
    (whole,) = classify(classifier, reading.images, [None], rejector, [reading.kind])
    pieces = reading.pieces() if whole.status == "not_a_digit" else None
    if pieces is None:
        return reading
    count = len(pieces.images)
    digits = classify(classifier, pieces.images, [None] * count, rejector, pieces.digit_kinds or [None] * count)
    sure = all(digit.status == "digit" and (digit.digit_probability or 0.0) >= SURE_PIECE for digit in digits)
    return pieces if sure and any(digit.digit != 1 for digit in digits) else reading


def written_apart(boxes: list[list[int]] | None) -> bool:
    """Whether a number's digit boxes (``[left, top, right, bottom]`` each, in pixels) hold two
    neighbours with a gap along the line of at least APART of the digits' median height: digits
    written apart, never the pieces of one digit, which overlap along the line or nearly touch (a
    5's loose bar, a 4 in two strokes, a marker's gap)."""
    if not boxes or len(boxes) < 2:
        return False
    ordered = sorted(boxes, key=lambda box: box[0] + box[2])
    height = float(np.median([box[3] - box[1] for box in ordered]))
    return any(right[0] - left[2] >= APART * height for left, right in zip(ordered, ordered[1:]))


def prepare_many(
    sources: list, names: list[str] | None = None, classifier: Classifier | None = None
) -> tuple[list[np.ndarray], list[str], list[str], list[str | None]]:
    """Preprocess what can be read, one digit each; return (images, their names, one error line per
    failure, each one's kind: ``Reading.kind``, for ``read_digits``). ``names``: what each source is
    called in messages (default: the source itself, a path). With ``classifier``, a narrow digit's
    image is the one ``predict`` reads (``widened_if_read_better``)."""
    readings, read_names, failures = read_many(sources, names or [str(source) for source in sources], "single")
    if classifier is not None:
        readings = widened_if_read_better(classifier, readings)
    images = [reading.images[0] for reading in readings]
    kinds = [reading.kind for reading in readings]
    return images, read_names, [str(failure) for failure in failures], kinds
