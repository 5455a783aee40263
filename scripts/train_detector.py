"""Train the digit detector that rejection uses, choose its thresholds on validation data, and ship it.

Usage: MNIST_CNN_DATA=../shared/mnist .venv/bin/python scripts/train_detector.py --out runs/detector [--ship]
       ... --out runs/pair --combine runs/detector6 runs/detector7 [--ship]   (the shipped detector)

Outlier exposure (Hendrycks, Mazeika & Dietterich 2019) with a background class (Dhamija et al. 2018):
positives are MNIST training digits, as they are and as a person's inputs of every kind users report
(``benchmarks/digit_sets.py``, ``mnist_cnn.markers``, bold printed digits) after our preprocessing;
negatives are generated non-digits (``mnist_cnn.outliers``, training fonts only) after the same
preprocessing, and noise and filled objects given directly as 28x28 arrays. Everything is drawn from the
training split and seeds of its own: the MNIST test set, Fashion-MNIST and the rejection benchmark's
sets (other seeds, held-out fonts) are never seen. The MNIST validation split and a validation draw of
every kind choose the thresholds.

Generated images are cached in ``OUT/images.npz`` with the --scale and --touching-numbers that made
them (a later run with other values is refused); the fit keeps the best validation epoch. With
``--combine`` nothing is trained: the given runs' detectors become one whose output is the sigmoid of
their mean logit (``combine``), and its thresholds are chosen by the same rule. With
``--ship`` the detector, its ONNX and LiteRT exports, ``thresholds.json`` and its card go to
``src/mnist_cnn/detector/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import digit_sets  # noqa: E402
from mnist_cnn import data, markers, outliers, preprocessing  # noqa: E402
from mnist_cnn.errors import ImageError  # noqa: E402
from mnist_cnn.files import atomic_path  # noqa: E402

DETECTOR_DIR = ROOT / "src" / "mnist_cnn" / "detector"
# Non-digits per kind for training (validation: a tenth, from another seed). Letters and scribbles are
# what people most often hand a digit reader by mistake, so they get the most.
NEGATIVES = {
    "letters": 10000,
    "font_letters": 5000,
    "symbols": 5000,
    "shapes": 4000,
    "scribbles": 7000,
    "textures": 2000,
    "blank_paper": 2000,
    "digit_fragments": 5000,
    "objects": 5000,
    "garments": 4000,
    "polylines": 8000,
    "curves": 4000,
    "garment_files": 5000,
}
# 28x28 MNIST-format arrays, which skip preprocessing: noise, and filled objects as a program may send.
ARRAYS = {"noise": 3000, "object_arrays": 3000, "garment_arrays": 5000}
# Touching digits on one baseline (--touching-numbers, off in the shipped recipe): a number segmenter asks
# the detector whether "17" written fast is one digit. Drawn after all the other kinds (each chunk's seed
# comes from its kind's place in the order), so the images of the kinds above stay exactly detector7's.
TOUCHING_NUMBERS_TRIED = 6000  # detector10's; refused fewer Fashion-MNIST images (docs/BENCHMARKS.md)
FROM_DIGITS = ("digit_fragments", "touching_digits")  # kinds made from MNIST training digits
RENDERED_PER_KIND = 1500  # training digits as a person's inputs, per kind
# Strokes 2-4 times MNIST's proportion on a printed digit (``bold_printed``): a bold font or a
# felt-tip copy of one, which the shipped classifier reads but the detector refused (docs/BENCHMARKS.md).
BOLD_PRINT = (2.0, 4.0)
IMAGES_VERSION = 2  # kept with the cached images: 2 added the marker and bold printed kinds
# Printed digits (positives) come from fonts that no benchmark uses: Debian's fonts-liberation,
# fonts-freefont-ttf and fonts-urw-base35 (`apt-get install` them first), not the matplotlib fonts of
# benchmarks/own_digits.py. Symbol fonts are left out.
PRINTED_FONT_DIRS = ("truetype/liberation", "truetype/freefont", "opentype/urw-base35")
SYMBOL_FONTS = ("StandardSymbolsPS", "D050000L")
CHUNK = 500  # images per task: generation and preprocessing run in a process per core
# The digit threshold is the highest that still accepts MNIST_COVERAGE of the MNIST validation digits
# and refuses at most RIGHT_REFUSED more of the rendered validation digits of each kind that best reads
# right than the lowest threshold (0.01) does: choosing it may cost a person's digits of any kind at
# most a point of accuracy, MNIST's a few in 1,000. What the detector refuses even at 0.01 is its own
# limit, reported per kind (``digit_threshold``), not a reason to refuse nothing else.
MNIST_COVERAGE = 0.997
RIGHT_REFUSED = 0.01
LEVELS = np.round(np.arange(0.01, 1.0, 0.01), 2)  # the digit thresholds tried
FLOORS_KEY = f"read_right_refused_per_kind_at_{LEVELS[0]}"  # in thresholds.json: each kind's floor
UNSURE_SHARE = 0.002  # share of validation digits the shipped best may call unsure
# Rendered validation digits per kind that choose the thresholds: with 150, one refused digit was
# 0.7% of a kind and the 1% rule moved with two images; 500 make it a measurement.
VALIDATION_PER_KIND = 500


def printed_fonts() -> list[Path]:
    """The fonts printed training digits are set in (see PRINTED_FONT_DIRS); exits if none is installed."""
    fonts = [
        path
        for folder in PRINTED_FONT_DIRS
        for path in sorted(Path("/usr/share/fonts", folder).glob("*.[ot]tf"))
        if not path.name.startswith(SYMBOL_FONTS)
    ]
    if not fonts:
        sys.exit("No fonts for printed digits: apt-get install fonts-liberation fonts-freefont-ttf fonts-urw-base35")
    return fonts


def kind_makers(rng: np.random.Generator, fonts: list[Path]) -> dict:
    """The rendered kinds, by name, in ``render_digits``' order: each makes one image from an MNIST
    digit (uint8 (28, 28)) and its label; the last two print the label in one of ``fonts``."""
    return {
        "bold_marker": lambda d, _: digit_sets.bold_marker(d, rng, float(rng.uniform(1.5, 4.0))),
        "low_resolution": lambda d, _: digit_sets.low_resolution(d, rng),
        "dim_photo": lambda d, _: digit_sets.dim_photo(d, rng),
        "sheet_on_desk": lambda d, _: digit_sets.sheet_on_desk(d, rng),
        "lined_paper": lambda d, _: digit_sets.lined_paper(d, rng),
        "drawing": lambda d, _: digit_sets.as_drawing(d, rng),
        "small_drawing": lambda d, _: digit_sets.small_drawing(d, rng),
        "tiny_scan": lambda d, _: tiny_scan(d, rng),
        "hairline": lambda d, _: hairline(d, rng),
        "marker": lambda d, _: markers.marker_image(d, rng),
        "bold_printed": lambda _, label: bold_printed(label, rng, fonts),
        "printed": lambda _, label: digit_sets.printed(label, rng, fonts),
    }


KIND_NAMES = tuple(kind_makers(np.random.default_rng(0), []))  # names only: nothing is drawn
RENDERED_KINDS = len(KIND_NAMES)


def render_digits(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator, kind: int = 0) -> np.ndarray:
    """MNIST digits (with their ``labels``) as a person's inputs of each kind in turn (starting at
    ``kind``; ``kind_makers``), preprocessed as ``predict`` does: uint8 (n, 28, 28); those
    preprocessing finds blank are left out."""
    kinds = list(kind_makers(rng, printed_fonts()).values())
    made = []
    for index, (digit, label) in enumerate(zip(digits, labels)):
        try:
            made.append(preprocessing.prepare(kinds[(kind + index) % len(kinds)](digit, int(label))))
        except ImageError:
            pass
    return np.stack(made) if made else np.zeros((0, 28, 28), np.uint8)


def bold_printed(label: int, rng: np.random.Generator, fonts: list[Path]) -> Image.Image:
    """The digit ``label`` typeset in one of ``fonts`` (``outliers.font_glyph``, 60-200 pixels) and its
    strokes dilated (``scipy.ndimage``) to ``BOLD_PRINT`` times MNIST's proportion (12% of the glyph's
    height), on paper as ``digit_sets.printed`` lays it (``outliers.ink_on_paper``)."""
    from scipy import ndimage

    from mnist_cnn.preprocessing import digit
    from mnist_cnn.preprocessing.paper import bounding_box

    alpha = outliers.font_glyph(str(label), fonts[int(rng.integers(len(fonts)))], int(rng.integers(60, 201)), rng)
    mask = alpha > 0.5
    box = bounding_box(mask)
    wanted = float(rng.uniform(*BOLD_PRINT)) * digit.STROKE_RATIO * (box[0].stop - box[0].start if box else 1)
    radius = int(round((wanted - digit.stroke_width(mask)) / 2))
    if radius > 0:
        mask = ndimage.binary_dilation(np.pad(mask, radius + 2), structure=digit.disk(2 * radius + 1))
    soft = ndimage.gaussian_filter(mask.astype(np.float32), float(rng.uniform(0.5, 1.2)))
    shape = tuple(int(side * rng.uniform(1.2, 2.5)) for side in soft.shape)
    return Image.fromarray(outliers.ink_on_paper(outliers.place(soft, shape, rng), rng))


def tiny_scan(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The whole image 7-14 pixels square (area-averaged), either polarity: a thumbnail or a tiny scan."""
    size = int(rng.integers(7, 15))
    image = Image.fromarray(255 - digit if rng.random() < 0.7 else digit).resize((size, size), Image.Resampling.BOX)
    return image


def hairline(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The digit's pen path one pixel wide, 10-30 pixels tall, on a white canvas of 40-600 pixels."""
    height = int(rng.integers(10, 31))
    path = digit_sets.crop_mask(digit_sets.skeleton(digit_sets.ink_mask(digit, 4)))
    scale = height / path.shape[0]
    width = max(1, round(path.shape[1] * scale))
    small = np.asarray(Image.fromarray(path.astype(np.uint8) * 255).resize((width, height), Image.Resampling.BOX))
    line = digit_sets.skeleton(small > 40)
    side = max(int(rng.integers(max(40, height + 4), 601)), max(line.shape) + 4)  # a wide digit must fit
    canvas = np.full((side, side), 255, np.uint8)
    top, left = (int(rng.integers(0, canvas.shape[0] - size + 1)) for size in line.shape)
    canvas[top : top + line.shape[0], left : left + line.shape[1]][line] = int(rng.integers(0, 90))
    return Image.fromarray(canvas)


def noise_arrays(rng: np.random.Generator, count: int) -> np.ndarray:
    """28x28 noise as MNIST-format arrays: uniform, sparse, smoothed and blotchy."""
    from scipy import ndimage

    made = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            image = rng.uniform(0, 1, (28, 28)) * rng.uniform(0.2, 1)
        elif kind == 1:
            image = (rng.uniform(0, 1, (28, 28)) < rng.uniform(0.02, 0.3)).astype(float)
        elif kind == 2:
            image = ndimage.gaussian_filter(rng.normal(0, 1, (28, 28)), rng.uniform(0.7, 3))
            image = np.clip((image - image.mean()) / (image.std() + 1e-6) * 0.35 + 0.3, 0, 1)
        else:
            image = ndimage.gaussian_filter(rng.normal(0, 1, (28, 28)), rng.uniform(1.5, 4)) > rng.uniform(0, 0.5)
        made.append(np.clip(np.asarray(image, float) * 255, 0, 255).astype(np.uint8))
    return np.stack(made)


def garment_file(rng: np.random.Generator) -> np.ndarray:
    """A generated garment thumbnail (`outliers.garment_array`) saved as a person's small picture file:
    dark on white, upscaled to 56-224 pixels (bicubic), sometimes JPEG; uint8 (h, w)."""
    thumbnail = 255 - outliers.garment_array(rng)
    side = int(rng.integers(56, 225))
    image = np.asarray(Image.fromarray(thumbnail).resize((side, side), Image.Resampling.BICUBIC))
    return outliers.jpeg_round_trip(image, int(rng.integers(60, 95))) if rng.random() < 0.3 else image


def non_digits(kind: str, count: int, seed: int, digits: np.ndarray) -> np.ndarray:
    """``count`` generated non-digits of one kind after preprocessing, uint8 (n, 28, 28); those that
    preprocessing finds blank are refused before the detector runs, so they are left out."""
    rng = np.random.default_rng(seed)
    options = {"digits": digits} if kind in FROM_DIGITS else {}
    if kind == "font_letters":
        options = {"fonts": outliers.TRAINING_FONTS}
    if kind in ("polylines", "curves"):  # scribbles of a few strokes are the ones nearest a digit's shape
        kind, options = "scribbles", {"styles": ["polyline" if kind == "polylines" else "curve"]}
    if kind == "garment_files":
        images = [garment_file(rng) for _ in range(count)]
    else:
        images = outliers.sample(kind, rng, count, **options)
    made = []
    for image in images:
        try:
            made.append(preprocessing.prepare(image))
        except ImageError:
            pass
    return np.stack(made) if made else np.zeros((0, 28, 28), np.uint8)


def task(arguments: tuple) -> tuple[str, np.ndarray]:
    """One chunk of images: ("rendered", (digits, labels), seed) or (kind, count, seed, digits); returns
    (set part, images)."""
    part, *rest = arguments
    if part == "rendered":
        (digits, labels), seed = rest
        return part, render_digits(digits, labels, np.random.default_rng(seed))
    count, seed, digits = rest
    if part == "noise":
        return "negative", noise_arrays(np.random.default_rng(seed), count)
    if part == "object_arrays":
        rng = np.random.default_rng(seed)
        return "negative", np.stack([outliers.object_array(rng) for _ in range(count)])
    if part == "garment_arrays":
        rng = np.random.default_rng(seed)
        return "negative", np.stack([outliers.garment_array(rng) for _ in range(count)])
    return "negative", non_digits(part, count, seed, digits)


def tasks_for(digits: np.ndarray, labels: np.ndarray, share: float, seed: int, touching: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(digits), max(1, int(RENDERED_PER_KIND * RENDERED_KINDS * share)), replace=False)
    made = [
        ("rendered", (digits[chosen[start : start + CHUNK]], labels[chosen[start : start + CHUNK]]), seed + start)
        for start in range(0, len(chosen), CHUNK)
    ]
    later = {"touching_digits": touching} if touching else {}
    for index, (kind, total) in enumerate({**NEGATIVES, **ARRAYS, **later}.items()):
        total = max(1, int(total * share))
        for start in range(0, total, CHUNK):
            pieces = digits[rng.choice(len(digits), CHUNK)] if kind in FROM_DIGITS else None
            made.append((kind, min(CHUNK, total - start), seed + 1000 * (index + 1) + start, pieces))
    return made


def build_images(out: Path, scale: float, touching: int = 0) -> dict:
    """Every image the detector is trained and validated on, cached in ``out/images.npz``; made by a
    process per core, each chunk from its own seed, so the result does not depend on the core count."""
    from concurrent.futures import ProcessPoolExecutor

    cache = out / "images.npz"
    made_with = np.array([scale, touching, IMAGES_VERSION], np.float64)
    if cache.exists():
        return cached_images(cache, made_with)
    dataset = data.load_dataset("mnist")
    (train, train_labels), (validation, validation_labels) = data.training_split(
        dataset.train_images, dataset.train_labels, 0.1, 42
    )
    sets = {}
    with ProcessPoolExecutor() as pool:
        for split, digits, labels, share, seed in (
            ("train", train, train_labels, scale, 20261130),
            ("validation", validation, validation_labels, 0.1 * scale, 7),
        ):
            parts = {"rendered": [], "negative": []}
            for part, images in pool.map(task, tasks_for(digits, labels, share, seed, touching)):
                parts[part].append(images)
            sets.update({f"{split}_{part}": np.concatenate(chunks) for part, chunks in parts.items()})
            sets[f"{split}_mnist"] = digits
    with atomic_path(cache) as partial, partial.open("wb") as file:  # a killed run leaves no half cache
        np.savez_compressed(file, **sets, made_with=made_with)
    return sets


def cached_images(cache: Path, made_with: np.ndarray) -> dict:
    """The sets in ``cache``, if it was made with the same ``made_with`` ([scale, touching numbers,
    IMAGES_VERSION]); caches from before it was stored count as scale 1 without touching numbers, and
    from before the version as version 1. Exits with one line
    otherwise: reusing them would silently train on other images than the command asks for."""
    sets = dict(np.load(cache))
    stored = sets.pop("made_with", np.array([1.0, 0.0]))
    stored = np.append(stored, 1.0) if len(stored) == 2 else stored
    if stored[2] != made_with[2]:
        refuse(f"{cache} holds images of an older set of kinds (version {stored[2]:g}): use another --out")
    if not np.array_equal(stored, made_with):
        refuse(
            f"{cache} holds images made with --scale {stored[0]:g} --touching-numbers {stored[1]:g}, not "
            f"--scale {made_with[0]:g} --touching-numbers {made_with[1]:g}: use another --out or those options"
        )
    return sets


def refuse(message: str) -> None:
    """One line on stderr and exit code 2: the command asked for something that cannot be done."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def fit(sets: dict, out: Path, epochs: int, start: Path | None = None):
    """Train the detector (RandomAffine and RandomPen on every training image, digit or not, so the
    augmentation tells nothing about the label); the epoch with the best validation loss is kept.
    ``start``: a trained detector to go on from, at a quarter of the peak learning rate: one of
    ``detector_model``'s shape, or a combined one (``combine``), whose members then train together
    through their mean logit and stay one combined detector."""
    import keras

    from mnist_cnn.augmentation import RandomAffine, RandomPen
    from mnist_cnn.rejection import detector_model

    keras.utils.set_random_seed(42)
    positives = np.concatenate([sets["train_mnist"], sets["train_rendered"]])
    images = np.concatenate([positives, sets["train_negative"]])[..., None].astype(np.float32) / 255
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(sets["train_negative"]))]).astype(np.float32)
    weights = np.where(
        labels == 1, len(labels) / (2 * len(positives)), len(labels) / (2 * (len(labels) - len(positives)))
    )
    val_images, val_labels = validation_arrays(sets)
    detector = detector_model()
    peak = 2e-3
    if start is not None:
        trained = keras.models.load_model(start, compile=False)
        shapes = [weight.shape for weight in detector.get_weights()]
        if [weight.shape for weight in trained.get_weights()] == shapes:
            detector.set_weights(trained.get_weights())
        else:
            detector = trained
        peak /= 4
    model = keras.Sequential([keras.Input((28, 28, 1)), RandomAffine(seed=1), RandomPen(rate=0.3, seed=2), detector])
    steps = int(np.ceil(len(images) / 256)) * epochs
    warmup = steps // epochs
    schedule = keras.optimizers.schedules.CosineDecay(peak / 20, steps, warmup_target=peak, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy", metrics=["accuracy"])
    keep = keras.callbacks.ModelCheckpoint(out / "best.weights.h5", save_best_only=True, save_weights_only=True)
    history = model.fit(
        images,
        labels,
        sample_weight=weights,
        batch_size=256,
        epochs=epochs,
        shuffle=True,
        validation_data=(val_images[..., None].astype(np.float32) / 255, val_labels),
        callbacks=[keep],
        verbose=2,
    )
    model.load_weights(out / "best.weights.h5")
    detector.save(out / "model.keras")
    return detector, history.history


def combine(runs: list[Path]):
    """One detector from several trained ones (``RUN/model.keras`` each, of ``detector_model``'s
    shape: a Dense sigmoid last): the mean of their logits through a sigmoid, the geometric mean of
    their odds. An ensemble of independently trained networks (Lakshminarayanan, Pritzel & Blundell
    2017, who average probabilities) errs less than its members; averaged in logits, each member's
    confidence counts in proportion to its log-odds, either way. Plain Keras layers only: it saves,
    loads and exports like one detector.

    Returns the ``keras.Model``: float32 (n, 28, 28, 1), values 0-1 -> float32 (n, 1), 0-1.

    Raises:
        SystemExit: fewer than two runs, the same run twice, or a run whose model does not end in a
            Dense layer (a combined detector cannot be a member).
    """
    import keras
    from keras import layers

    if len(runs) < 2 or len({run.resolve() for run in runs}) < len(runs):
        sys.exit(f"--combine needs two or more different runs; received {[str(run) for run in runs]}")
    image = keras.Input(shape=(28, 28, 1), name="image")
    logits = []
    for index, run in enumerate(runs):
        member = keras.models.load_model(run / "model.keras", compile=False)
        if not isinstance(member.layers[-1], layers.Dense):
            sys.exit(f"{run / 'model.keras'}: its last layer is not a Dense layer; combine trained detectors only")
        features = keras.Model(member.inputs, member.layers[-1].input, name=f"member_{index}")
        logit = layers.Dense(1, name=f"logit_{index}")
        logits.append(logit(features(image)))
        logit.set_weights(member.layers[-1].get_weights())  # its sigmoid layer's weights, without the sigmoid
    mean = layers.Average(name="mean_logit")(logits)
    return keras.Model(image, layers.Activation("sigmoid", name="digit_probability")(mean), name="digit_detector")


def validation_arrays(sets: dict) -> tuple[np.ndarray, np.ndarray]:
    positives = np.concatenate([sets["validation_mnist"], sets["validation_rendered"]])
    images = np.concatenate([positives, sets["validation_negative"]])
    return images, np.concatenate([np.ones(len(positives)), np.zeros(len(sets["validation_negative"]))])


def labelled_rendered_validation() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validation digits drawn as a person's inputs of every kind and preprocessed, with their labels
    and kinds: uint8 (n, 28, 28), int (n,), int (n,). The training positives' kinds, other digits."""
    dataset = data.load_dataset("mnist")
    _, (digits, labels) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(digits), VALIDATION_PER_KIND * RENDERED_KINDS, replace=False)
    images, kept, kinds = [], [], []
    for position, index in enumerate(chosen):
        made = render_digits(digits[index : index + 1], labels[index : index + 1], rng, kind=position % RENDERED_KINDS)
        if len(made):
            images.append(made[0])
            kept.append(labels[index])
            kinds.append(position % RENDERED_KINDS)
    return np.stack(images), np.asarray(kept), np.asarray(kinds)


def digit_threshold(mnist: np.ndarray, rendered: np.ndarray, kinds: np.ndarray, read_right: np.ndarray) -> dict:
    """The highest of LEVELS that accepts MNIST_COVERAGE of ``mnist`` and refuses, of each kind's
    rendered digits read right, at most RIGHT_REFUSED more than LEVELS[0] refuses.

    The budget is counted from each kind's floor (its share refused at LEVELS[0]): counted from 0, a
    kind the detector already refuses nearly RIGHT_REFUSED of at the lowest level left no room above
    it (one-pixel pen lines: 0.89% of those read right at 0.01, 1.33% at 0.02, for the shipped pair),
    and the rule fell back to LEVELS[0] for every detector. Kinds with no digit read right are left
    out (they have nothing to lose).

    Args:
        mnist: float (n,) detector scores of the MNIST validation digits, 0-1.
        rendered: float (m,) scores of the rendered validation digits.
        kinds: int (m,) each rendered digit's kind; read_right: bool (m,) whether best reads it right.
    Returns:
        {"digit": the threshold, "floors": {kind: share of its digits read right refused at LEVELS[0]},
        "refused": {kind: that share at the threshold}}; LEVELS[0] when no level accepts enough MNIST.
    """

    right_by_kind = {int(kind): rendered[read_right & (kinds == kind)] for kind in np.unique(kinds[read_right])}

    def refused(level: float) -> dict[int, float]:
        return {kind: float((scores < level).mean()) for kind, scores in right_by_kind.items()}

    floors = refused(LEVELS[0])
    allowed = [
        level
        for level in LEVELS
        if (mnist >= level).mean() >= MNIST_COVERAGE
        and all(share <= floors[kind] + RIGHT_REFUSED + 1e-9 for kind, share in refused(level).items())
    ]
    digit = float(max(allowed, default=LEVELS[0]))
    return {"digit": digit, "floors": floors, "refused": refused(digit)}


def by_kind_name(per_kind: dict[int, float]) -> dict[str, float]:
    """``digit_threshold``'s shares keyed by kind number, keyed by ``KIND_NAMES`` instead (for JSON)."""
    return {KIND_NAMES[kind]: share for kind, share in per_kind.items()}


def choose_thresholds(detector, sets: dict) -> dict:
    """The digit threshold (``digit_threshold``) on a 0.01 grid, and the confidence threshold calling
    at most UNSURE_SHARE of the validation digits unsure with best."""
    from mnist_cnn.runtimes import load_model

    def scores(images):
        return detector.predict(images[..., None].astype(np.float32) / 255, batch_size=1024, verbose=0)[:, 0]

    best = load_model("best", runtime="onnx")
    rendered_images, rendered_labels, kinds = labelled_rendered_validation()
    read_right = best.probabilities(rendered_images).argmax(axis=1) == rendered_labels
    mnist, rendered, negative = (
        scores(sets["validation_mnist"]),
        scores(rendered_images),
        scores(sets["validation_negative"]),
    )
    chosen = digit_threshold(mnist, rendered, kinds, read_right)
    digit = chosen["digit"]
    confidences = best.probabilities(np.concatenate([sets["validation_mnist"], rendered_images])).max(1)
    confidence = round(float(np.floor(np.quantile(confidences, UNSURE_SHARE) * 100) / 100), 2)
    return {
        "digit": digit,
        "confidence": confidence,
        "chosen_on": "the MNIST validation split (split seed 42, 10%) and a validation draw of rendered digits "
        "and generated non-digits, never the MNIST test set or the rejection benchmark's sets",
        "validation": {
            "mnist_accepted": float((mnist >= digit).mean()),
            "rendered_accepted": float((rendered >= digit).mean()),
            "rendered_read_right_refused": float((rendered[read_right] < digit).mean()),
            "non_digits_refused": float((negative < digit).mean()),
            "digits": int(len(mnist) + len(rendered)),
            "non_digits": int(len(negative)),
            "best_unsure_share": float((confidences < confidence).mean()),
            "read_right_refused_per_kind": by_kind_name(chosen["refused"]),
            FLOORS_KEY: by_kind_name(chosen["floors"]),
        },
    }


def ship(out: Path, thresholds: dict) -> None:
    """The detector, its ONNX and LiteRT exports, thresholds.json and the card into the package."""
    import keras

    from mnist_cnn.export import export_one

    detector = keras.models.load_model(out / "model.keras", compile=False)
    DETECTOR_DIR.mkdir(exist_ok=True)
    detector.save(DETECTOR_DIR / "model.keras")
    detector(np.zeros((1, 28, 28, 1), np.float32))  # the exporters trace a model that has been called
    for fmt in ("onnx", "litert"):
        export_one(detector, fmt, DETECTOR_DIR, None, None)
    shipped = {key: value for key, value in thresholds.items() if key != "history"}
    (DETECTOR_DIR / "thresholds.json").write_text(json.dumps(shipped, indent=2) + "\n")
    (DETECTOR_DIR / "MODEL_CARD.md").write_text(card(thresholds, detector))


def measured() -> str:
    """The card's "Measured" section from benchmarks/results/rejection.json when that run measured the
    shipped detector (its ONNX file's SHA-256 matches), else a pointer to the benchmark."""
    import hashlib

    results_path = ROOT / "benchmarks" / "results" / "rejection.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    shipped = hashlib.sha256((DETECTOR_DIR / "model.onnx").read_bytes()).hexdigest()
    if results.get("detector_sha256") != shipped:
        return "Not measured yet: run `benchmarks/rejection.py`, then `scripts/train_detector.py --out RUN --card`.\n"
    auroc, refused, test = results["auroc"], results["refused"], results["mnist_test"]
    world = results["real_world"]
    lost = ", ".join(
        f"{name.replace('_', ' ')} {100 * (row['accuracy_without_rejection'] - row['accuracy_with_rejection']):.1f}"
        for name, row in world.items()
    )
    return (
        f"`{results['command']}` ({results['date'][:10]}), sets the detector never saw:\n"
        + "".join(
            f"- {name.replace('_', ' ')}: AUROC {auroc[name]['detector']:.4f} (max softmax of best "
            f"{auroc[name]['msp_best']:.3f}), {refused[name]['refused']:.1%} refused of {refused[name]['count']:,}\n"
            for name in auroc
        )
        + f"- MNIST test digits: {test['accepted_as_digit']:.2%} accepted as digits, {test['not_a_digit']:.2%} "
        f"refused; accuracy on those accepted {test['accuracy_on_accepted']:.2%}\n"
        f"- A person's digits (benchmarks/own_digits.py sets), points of accuracy lost to rejection: {lost}\n"
    )


def started_from(start: Path) -> dict:
    """What ``--start`` was: its path and, when it is the shipped detector or a run folder's, the
    command that made it (from the thresholds.json beside it)."""
    made = start.parent / "thresholds.json"
    command = json.loads(made.read_text()).get("command") if made.exists() else None
    return {
        "path": str(start.resolve().relative_to(ROOT) if start.resolve().is_relative_to(ROOT) else start),
        "command": command,
    }


def training_text(history: dict) -> str:
    """The card's "Training" bullet: one run's epochs, or each combined member's command and epochs."""
    recipe = (
        "Adam, warm-up then cosine decay from 0.002, a quarter of that going on from a trained detector "
        "with `--start`; batch 256"
    )
    if "combined" not in history:
        losses = history["val_loss"]
        start = history.get("start")
        went_on = (
            f" Went on from `{start['path']}`"
            + (f" (made by `{start['command']}`)" if start.get("command") else "")
            + ", its weights all trained further."
            if start
            else ""
        )
        return (
            f"- **Training.** {recipe}, {len(losses)} epochs; the epoch with the lowest validation loss "
            f"({int(np.argmin(losses)) + 1}) is kept.{went_on}\n"
        )
    members = "".join(
        f"  - `{name}`: `{member['command']}`, {len(member['val_loss'])} epochs, epoch "
        f"{int(np.argmin(member['val_loss'])) + 1} kept (lowest validation loss)\n"
        for name, member in history["combined"].items()
    )
    return (
        f"- **Training.** {len(history['combined'])} detectors, each trained by the script of its day\n"
        "  (`git log scripts/train_detector.py`; the data above is the newest member's, an earlier\n"
        f"  member's a part of it): {recipe}.\n"
        "  Combined by `--combine`: the mean of their logits through a sigmoid (`combine`), so the\n"
        "  digit probability is the geometric mean of their odds; the members err on different images.\n" + members
    )


def floors_text(validation: dict) -> str:
    """The kinds the detector refuses over RIGHT_REFUSED of (read right) at every threshold, for the
    card; "" when none is, or the thresholds predate the per-kind figures."""
    floors = validation.get(FLOORS_KEY, {})
    over = [f"{kind.replace('_', ' ')} {share:.1%}" for kind, share in floors.items() if share > RIGHT_REFUSED]
    if not over:
        return ""
    return f"\n  Refused of those read right even at {LEVELS[0]} (the detector's own limit): {', '.join(over)}."


def card(thresholds: dict, detector) -> str:
    """The detector's model card: every figure from this run's thresholds and validation."""
    import keras

    from mnist_cnn.models import forward_flops
    from mnist_cnn.runtimes import SHIPPED_DIR

    parameters, flops = detector.count_params(), forward_flops(detector)
    best_flops = forward_flops(keras.models.load_model(SHIPPED_DIR / "best" / "model.keras", compile=False))
    v = thresholds["validation"]
    training = training_text(thresholds["history"])
    members = sum(layer.name.startswith("member_") for layer in detector.layers) or 1  # combined, or trained on
    scale = thresholds["history"].get("scale", 1.0)
    shape = (
        f"A small CNN (`mnist_cnn.rejection.detector_model`, {parameters:,} parameters) outputs the\n"
        "probability that it is."
        if members == 1
        else f"{members} small CNNs of one shape (`mnist_cnn.rejection.detector_model`, {parameters:,} parameters in\n"
        "all) answer together: a sigmoid of their mean logit is the probability that it is."
    )
    return f"""# Model card: digit detector (rejection)

Is the 28x28 image the classifier saw a handwritten digit at all? {shape} Every
prediction's status comes from it and the classifier's calibrated confidence
(`src/mnist_cnn/rejection.py`): **not_a_digit** when the digit probability is below
{thresholds["digit"]:.4f}, **unsure** when the classifier's top probability is below
{thresholds["confidence"]:.2f}, **digit** otherwise. `--accept-all` turns it off. It runs in the
classifier's runtime: `model.keras`, `model.onnx` and `model.tflite` here, TensorFlow-free on ONNX
Runtime and LiteRT. A model trained on another dataset (its metrics.json says so) gets no detector,
only "unsure".

Made by `{thresholds["command"]}`.

## Method, and why
- **Outlier exposure** (Hendrycks, Mazeika & Dietterich 2019) with a **background class** (Dhamija,
  Günther & Boult 2018, "Reducing Network Agnostophobia"): trained on digits against generated
  non-digits, both after the same preprocessing a person's image gets, so it judges exactly what the
  classifier is shown.
- **A detector of its own rather than a score of the classifier's.** The maximum softmax probability
  (Hendrycks & Gimpel 2017, the baseline) is high for letters and symbols that share a digit's
  strokes: an A reads as 4 at 99.8% and a smiley as 0 at 99.7% with the shipped `best`. Energy scores
  (Liu et al. 2020) and feature-space Mahalanobis distances (Lee et al. 2018) need the classifier's
  logits or features, a second output in every exported format of every model, and still only know
  digits; exposure to outliers is what the literature finds moves letters and scribbles most. One
  detector serves `seed`, `best`, the ensemble and any model a user trains, none retrained; it costs
  {flops / 1e6:.1f} MFLOPs per image, {flops / best_flops:.0%} of `best`'s. The benchmark (docs/BENCHMARKS.md,
  `benchmarks/rejection.py`) measures it against the maximum softmax probability of `best` and `seed`
  on sets it never saw.
- **Data.** Positives: the 54,000 MNIST training digits (the validation split held out) and
  {int(RENDERED_PER_KIND * RENDERED_KINDS * scale):,} of them drawn as a person's inputs (bold markers, low-resolution
  scans, dim photos, sheets on a desk, lined paper, page drawings large and small, 7-14 pixel
  thumbnails, one-pixel pen lines, a thick marker as `markers.py` writes it) or printed in one of
  {len(printed_fonts())} fonts that no benchmark uses (Liberation, FreeFont, URW base 35), plain or with
  strokes dilated to 2-4 times MNIST's proportion, and preprocessed. Negatives
  (`mnist_cnn.outliers`, training fonts only): pen-drawn letters that are not digit shapes, letters in
  the DejaVu fonts, symbols, shapes, scribbles (extra polylines and spline curves of a few strokes,
  the nearest to a digit's shape), textures, blank paper photos, pieces of digits and several digits
  side by side or touching on one baseline, filled objects, clothing, shoes and bags (also as small
  upscaled picture files), all preprocessed (those preprocessing finds blank are refused before the
  detector), and noise, filled objects and clothing thumbnails as 28x28 arrays. Digits
  and non-digits get the same random affine and pen/paper augmentation, and equal weight.
{training}
## Thresholds (chosen on validation data only)
Chosen on {thresholds["chosen_on"]}.
- Digit threshold: the highest (on a 0.01 grid) that accepts {MNIST_COVERAGE:.1%} of the MNIST
  validation digits and refuses, of the rendered validation digits of each kind that `best` reads
  right, at most {RIGHT_REFUSED:.0%} more than the lowest threshold (0.01) does (choosing it costs a
  person's digits of any kind a point of accuracy, no more):
  {v["mnist_accepted"]:.2%} of MNIST's accepted; {v["rendered_read_right_refused"]:.2%} of the rendered
  digits read right refused, {v["rendered_accepted"]:.2%} of all rendered accepted ({v["digits"]:,}
  validation digits in all); {v["non_digits_refused"]:.2%} of {v["non_digits"]:,} validation
  non-digits refused.{floors_text(v)}
- Confidence threshold: `best` is unsure of {v["best_unsure_share"]:.2%} of the validation digits
  (at most {UNSURE_SHARE:.1%} allowed); its probabilities are calibrated (temperature scaling), so the
  same threshold means the same for every shipped model.

## Measured (benchmarks/rejection.py; docs/BENCHMARKS.md)
{measured()}
## Limits
- Letters that are also digit shapes (O, I, l, S, Z, B, g, q, ...) are digits to it: they were left out
  of training on purpose. A digit with a stray mark, or two touching digits, may be refused.
- It knows the non-digits it was shown and their relatives; a new kind of input (a photo of a face,
  a chart) is judged by resemblance. The benchmark's held-out fonts and other seeds measure how far
  that carries.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "detector")
    parser.add_argument("--epochs", type=int, help="epochs to train (default: 10)")
    parser.add_argument("--start", type=Path, help="a trained detector (.keras) to go on training from")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="RUN",
        help="instead of training, average the logits of these trained detectors' run folders (see combine)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="share of the image counts, for a quick trial")
    parser.add_argument(
        "--touching-numbers",
        type=int,
        default=0,
        metavar="N",
        help=f"add N touching numbers of 2-3 digits to the training negatives, a tenth to validation "
        f"(default: 0, the shipped recipe; detector10 tried {TOUCHING_NUMBERS_TRIED})",
    )
    parser.add_argument("--ship", action="store_true", help="copy the detector and thresholds into the package")
    parser.add_argument(
        "--card", action="store_true", help="only rewrite the shipped detector's card (after benchmarks/rejection.py)"
    )
    args = parser.parse_args()
    if args.card:
        import keras

        thresholds = json.loads((args.out / "thresholds.json").read_text())
        detector = keras.models.load_model(DETECTOR_DIR / "model.keras", compile=False)
        (DETECTOR_DIR / "MODEL_CARD.md").write_text(card(thresholds, detector))
        return
    if args.touching_numbers < 0:
        parser.error(f"--touching-numbers must be 0 or more; received {args.touching_numbers}")
    if args.combine and (args.out / "model.keras").exists():  # checked before the images are made
        refuse(f"{args.out / 'model.keras'} exists: combine into a new --out folder")
    if args.combine and (args.start is not None or args.epochs is not None):
        refuse("--combine trains nothing: --epochs and --start do not apply")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sets = build_images(args.out, args.scale, args.touching_numbers)
    print({name: len(images) for name, images in sets.items()}, f"{time.perf_counter() - start:.0f} s", flush=True)
    if args.combine:
        detector = combine(args.combine)
        detector.save(args.out / "model.keras")
        history = {
            "combined": {
                str(run): {
                    "command": json.loads((run / "thresholds.json").read_text())["command"],
                    "val_loss": json.loads((run / "history.json").read_text())["val_loss"],
                }
                for run in args.combine
            }
        }
    elif (args.out / "history.json").exists():  # trained already: never train over it
        import keras

        detector = keras.models.load_model(args.out / "model.keras", compile=False)
        history = json.loads((args.out / "history.json").read_text())
    else:
        detector, history = fit(sets, args.out, 10 if args.epochs is None else args.epochs, args.start)
        history = {key: [round(float(v), 5) for v in values] for key, values in history.items()}
        if args.start is not None:
            history["start"] = started_from(args.start)
        (args.out / "history.json").write_text(json.dumps(history) + "\n")
    if not args.combine:
        history.setdefault("scale", args.scale)  # the share of the image counts it was trained on
    thresholds = choose_thresholds(detector, sets)
    thresholds["command"] = "python scripts/train_detector.py " + " ".join(sys.argv[1:]).replace(" --ship", "")
    thresholds["history"] = history
    (args.out / "thresholds.json").write_text(json.dumps(thresholds, indent=2) + "\n")
    print(json.dumps({key: thresholds[key] for key in ("digit", "confidence", "validation")}, indent=2))
    if args.ship:
        ship(args.out, thresholds)


if __name__ == "__main__":
    main()
