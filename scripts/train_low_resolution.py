"""Train the low-resolution reader: the classifier `predict` asks about a digit scanned at 8-16 pixels.

Usage: MNIST_CNN_DATA=../shared/mnist .venv/bin/python scripts/train_low_resolution.py --out runs/lowres [--ship]

A digit scanned at 8 pixels a side keeps about six pixels of height: ``preprocessing.to_mnist``
enlarges it to the working size and makes it MNIST-style, and what reaches the model is a soft,
blocky shape no MNIST digit looks like. ``best`` was trained with low-resolution round trips of 11,
14 and 18 pixels and reads 94% of 8-pixel validation scans; what is left in the pixels is more than
that (a small network trained on them for 30 seconds read 96.7%). This script trains a network on
exactly what ``to_mnist`` makes of tiny scans of MNIST *training-split* digits (``render``: the whole
field or the digit cropped to its ink, ink 0-70 on paper 190-255 or the negative, shrunk to 8-16
pixels by a box filter or another resampling filter, sensor noise, JPEG for some), with the
classifier recipe of ``models.best_model``; the epoch with the best validation accuracy (scans of
validation-split digits) is kept. The MNIST test set is never used.

Generated images are cached in ``OUT/images.npz``. With ``--ship`` the reader and its ONNX and
LiteRT exports go to ``src/mnist_cnn/low_resolution_reader/`` with a card.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

from mnist_cnn import data, preprocessing  # noqa: E402
from mnist_cnn.errors import ImageError  # noqa: E402
from mnist_cnn.low_resolution import LARGEST_SIDE, LOST_DETAIL, READER_DIR  # noqa: E402

SIZES = (8, 16)  # the scan's longer side, pixels, both included
PAD = 3  # pixels of MNIST's field added or not at each side before the scan: where the digit sits, its size
CROP_MARGIN = 4  # pixels: the most paper left around a digit cropped to its ink, at each side
FILTERS = (
    Image.Resampling.BILINEAR,
    Image.Resampling.BICUBIC,
    Image.Resampling.LANCZOS,
    Image.Resampling.NEAREST,
)  # how other scanners and programs shrink, besides averaging each pixel's area (a box filter)
LIGHT_ON_DARK = 0.25  # of the scans: light ink on dark paper (a negative, a chalk board)
PAPER = (190, 255)
INK = (0, 70)
NOISE = 3.0  # grey levels: the largest standard deviation of the sensor noise
JPEG_SHARE = 0.3  # of the scans saved as JPEG, quality 50-95
CHUNK = 500  # digits per task
RENDERER = 2  # the version of ``render``, kept with the cached images: 1 made whole fields only, box-filtered
MEASURED_SIZES = (8, 10, 12, 14, 16, 20)  # pixels: the card's sizes (20: past the largest the reader reads)

_digits: np.ndarray | None = None  # the MNIST-format digits the workers render (set before forking)


def render(digit: np.ndarray, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """One MNIST digit, uint8 (28, 28) light on black, as a tiny scan: grayscale float32 (h, w),
    0-255, its longer side ``size`` pixels (default: drawn from ``SIZES``). Half are MNIST's whole
    field padded by 0-``PAD`` pixels a side, half the digit cropped to its ink with a margin of
    0-``CROP_MARGIN``; shrunk by a box filter (half) or one of ``FILTERS``; dark ink on light paper,
    or light on dark (``LIGHT_ON_DARK``)."""
    field = digit.astype(np.float32) / 255
    if rng.random() < 0.5:
        margins = rng.integers(0, PAD + 1, 4)
    else:
        rows, cols = np.nonzero(field)
        field = field[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        margins = rng.integers(0, CROP_MARGIN + 1, 4)
    field = np.pad(field, ((margins[0], margins[1]), (margins[2], margins[3])))
    paper, ink = rng.uniform(*PAPER), rng.uniform(*INK)
    if rng.random() < LIGHT_ON_DARK:
        paper, ink = 255 - paper, 255 - ink
    image = Image.fromarray((paper - (paper - ink) * field).astype(np.uint8))
    side = int(rng.integers(SIZES[0], SIZES[1] + 1)) if size is None else size
    height, width = field.shape
    shape = (max(1, round(side * width / max(height, width))), max(1, round(side * height / max(height, width))))
    resample = Image.Resampling.BOX if rng.random() < 0.5 else FILTERS[int(rng.integers(len(FILTERS)))]
    small = np.asarray(image.resize(shape, resample), np.float32)
    small = np.clip(small + rng.normal(0, rng.uniform(0, NOISE), small.shape), 0, 255).astype(np.uint8)
    if rng.random() < JPEG_SHARE:
        buffer = io.BytesIO()
        Image.fromarray(small).save(buffer, "JPEG", quality=int(rng.integers(50, 96)))
        small = np.asarray(Image.open(buffer))
    return small.astype(np.float32)


def chunk(task: tuple[int, int, int, int | None]) -> tuple[np.ndarray, np.ndarray]:
    """Digits ``start`` to ``stop`` of the shared ones rendered with seed ``seed``: their 28x28s and
    indices (a scan ``to_mnist`` finds blank is left out)."""
    seed, start, stop, size = task
    rng = np.random.default_rng(seed)
    images, kept = [], []
    for index in range(start, stop):
        try:
            images.append(preprocessing.to_mnist(render(_digits[index], rng, size)))
        except ImageError:
            continue
        kept.append(index)
    return np.asarray(images, np.uint8).reshape(-1, 28, 28), np.asarray(kept, np.int64)


def generate(digits: np.ndarray, seed: int, processes: int, size: int | None = None):
    """Every digit of ``digits`` rendered once (``render``) and made MNIST-style, in ``processes``
    worker processes: (uint8 (m, 28, 28), indices (m,) into ``digits``)."""
    global _digits
    _digits = digits
    starts = range(0, len(digits), CHUNK)
    tasks = [(seed * 100_000 + n, start, min(start + CHUNK, len(digits)), size) for n, start in enumerate(starts)]
    with Pool(processes) as pool:
        parts = pool.map(chunk, tasks)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def images(out: Path, copies: int, processes: int) -> dict:
    """The cached training and validation images, generated on first use: ``copies`` renders of every
    training-split digit; one of every validation-split digit at a random size and one at 8 pixels."""
    path = out / "images.npz"
    if path.exists():
        cached = np.load(path)
        if int(cached["copies"]) == copies and int(cached.get("renderer", 1)) == RENDERER:
            return dict(cached)
    dataset = data.load_dataset("mnist")
    (train, train_labels), (validation, validation_labels) = data.training_split(
        dataset.train_images, dataset.train_labels, 0.1, 42
    )
    started = time.time()
    parts = [generate(train, 1 + copy, processes) for copy in range(copies)]
    arrays = {
        "x_train": np.concatenate([p[0] for p in parts]),
        "y_train": np.concatenate([train_labels[p[1]] for p in parts]),
    }
    x_val, kept = generate(validation, 50, processes)
    x_val8, kept8 = generate(validation, 51, processes, size=8)
    arrays.update(x_val=x_val, y_val=validation_labels[kept], x_val8=x_val8, y_val8=validation_labels[kept8])
    arrays["copies"] = np.asarray(copies)
    arrays["renderer"] = np.asarray(RENDERER)
    arrays["seconds"] = np.asarray(time.time() - started)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def fit(sets: dict, out: Path, epochs: int):
    """Train the reader (``models.best_model``'s network, RandomAffine, label smoothing 0.05, Adam
    with warm-up and cosine decay); the epoch with the best validation accuracy is kept."""
    import keras

    from mnist_cnn.augmentation import RandomAffine
    from mnist_cnn.models import best_model

    keras.utils.set_random_seed(42)
    x = sets["x_train"][..., None].astype(np.float32) / 255
    y = keras.utils.to_categorical(sets["y_train"], 10)
    reader = best_model()
    model = keras.Sequential([keras.Input((28, 28, 1)), RandomAffine(seed=1), reader])
    peak = 2e-3
    steps = int(np.ceil(len(x) / 128)) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        peak / 20, steps, warmup_target=peak, warmup_steps=steps // epochs
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.05),
        metrics=["accuracy"],
    )
    keep = keras.callbacks.ModelCheckpoint(
        out / "best.weights.h5", monitor="val_accuracy", save_best_only=True, save_weights_only=True
    )
    history = model.fit(
        x,
        y,
        batch_size=128,
        epochs=epochs,
        shuffle=True,
        validation_data=(
            sets["x_val"][..., None].astype(np.float32) / 255,
            keras.utils.to_categorical(sets["y_val"], 10),
        ),
        callbacks=[keep, keras.callbacks.BackupAndRestore(out / "backup")],
        verbose=2,
    )
    model.load_weights(out / "best.weights.h5")
    reader.save(out / "model.keras")
    return history.history


def calibrate(sets: dict, out: Path) -> dict:
    """Temperature scaling (Guo et al. 2017) of the run's reader on its validation scans, baked into
    ``OUT/model.keras`` (``calibration.calibrate``); the fit's summary."""
    import keras

    from mnist_cnn.calibration import calibrate as fit_and_bake

    reader = keras.models.load_model(out / "model.keras", compile=False)
    summary, _ = fit_and_bake(reader, sets["x_val"], sets["y_val"])
    reader.save(out / "model.keras")
    return summary


def measure(out: Path, count: int, processes: int) -> dict:
    """Validation accuracy by size: the first ``count`` validation-split digits scanned at each of
    ``MEASURED_SIZES`` pixels (their own draw, not the training or choosing sets), made MNIST-style,
    read by the run's reader and by the shipped ``best`` (ONNX Runtime)."""
    from mnist_cnn.runtimes import OnnxClassifier, load_model

    dataset = data.load_dataset("mnist")
    _, (validation, labels) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    best = load_model("best", runtime="onnx")
    reader = OnnxClassifier("low-resolution-reader", out / "export" / "model.onnx")
    result = {}
    for size in MEASURED_SIZES:
        images, kept = generate(validation[:count], 700 + size, processes, size=size)
        truth = labels[:count][kept]
        result[str(size)] = {
            "images": int(len(truth)),
            "blank": int(count - len(truth)),
            "best": float(np.mean(best.probabilities(images).argmax(1) == truth)),
            "reader": float(np.mean(reader.probabilities(images).argmax(1) == truth)),
        }
    return result


def card(out: Path, copies: int) -> str:
    """The reader's model card from its run's images, history, calibration and measurements."""
    sets = np.load(out / "images.npz")
    history = json.loads((out / "history.json").read_text())
    calibration = json.loads((out / "calibration.json").read_text())
    measured = json.loads((out / "measured.json").read_text())
    kept = int(np.argmax(history["val_accuracy"]))
    rows = "\n".join(
        f"| {size} | {row['images']:,} | {bold(row['best'], row['reader'])} | {bold(row['reader'], row['best'])} |"
        for size, row in measured.items()
    )
    return f"""# Model card: the low-resolution reader

## What it is
A digit classifier (`models.best_model`'s network, 326,826 parameters) for digits scanned at
{SIZES[0]}-{SIZES[1]} pixels a side, as `preprocessing.to_mnist` makes them: input uint8-scaled float32
images `(n, 28, 28, 1)`, values 0-1; output `(n, 10)` calibrated probabilities. `predict`, the
Python API and the server read a one-digit image with it in place of the shipped `best` and
`best-ensemble` when the image is at most {LARGEST_SIDE} pixels on its longer side (the largest size
at which it read more validation scans than `best`) or such a scan enlarged (a round trip through
{LARGEST_SIDE} pixels loses under {LOST_DETAIL:.0%} of its detail; `mnist_cnn.low_resolution`);
rejection (the digit detector, the unsure threshold) is unchanged. Every runtime (`model.keras`,
`model.onnx`, `model.tflite`).

## How it was trained
`scripts/train_low_resolution.py --out {out} --copies {copies} --epochs {len(history["val_accuracy"])}`:
{copies} tiny scans of each of the 54,000 MNIST training-split digits (split seed 42): half MNIST's
whole field padded by 0-{PAD} pixels a side, half the digit cropped to its ink with 0-{CROP_MARGIN}
pixels of margin; dark ink {INK[0]}-{INK[1]} on paper {PAPER[0]}-{PAPER[1]}, or the negative
({LIGHT_ON_DARK:.0%}); shrunk to {SIZES[0]}-{SIZES[1]} pixels on the longer side by a box filter (half)
or bilinear, bicubic, Lanczos or nearest-neighbour resampling; sensor noise up to {NOISE:g} grey
levels; {JPEG_SHARE:.0%} saved as JPEG of quality 50-95; each put through `preprocessing.to_mnist`
({len(sets["y_train"]):,} kept).
RandomAffine; label smoothing 0.05; Adam with warm-up and cosine decay, batch 128,
{len(history["val_accuracy"])} epochs, kept epoch {kept + 1} (validation accuracy
{history["val_accuracy"][kept]:.2%} on {len(sets["y_val"]):,} scans of validation-split digits at random sizes).
Temperature scaling on those scans: T = {calibration["temperature"]:.3f}, ECE
{calibration["ece_before"]:.2%} -> {calibration["ece_after"]:.2%}, baked into the weights.
The MNIST test set was not used.

## Measured
Validation-split digits, each size its own draw (`measure`), made MNIST-style, read right:

| scan size (pixels) | digits | shipped `best` | this reader |
|---|---|---|---|
{rows}

docs/BENCHMARKS.md gives the shared `tiny/` cases' style and the own-digits sets with and without it.
"""


def bold(value: float, other: float) -> str:
    """``value`` as a percentage, in bold when it is above ``other``."""
    return f"**{value:.2%}**" if value > other else f"{value:.2%}"


def export(out: Path, folder: Path) -> None:
    """The reader of run ``out`` and its ONNX and LiteRT exports into ``folder``."""
    from mnist_cnn.export import export_model_files

    export_model_files(out / "model.keras", folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=2, help="renders of every training-split digit")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--ship", action="store_true", help="copy the reader and its exports into the package")
    parser.add_argument("--card", action="store_true", help="only rewrite the shipped reader's card")
    args = parser.parse_args()
    if args.card:
        (READER_DIR / "MODEL_CARD.md").write_text(card(args.out, args.copies))
        return
    sets = images(args.out, args.copies, args.processes)
    print(
        f"images: {len(sets['y_train'])} training, {len(sets['y_val'])} validation, "
        f"made in {float(sets['seconds']):.0f} s",
        flush=True,
    )
    if not (args.out / "history.json").exists():
        history = fit(sets, args.out, args.epochs)
        (args.out / "history.json").write_text(json.dumps(history, indent=1))
    if not (args.out / "calibration.json").exists():
        (args.out / "calibration.json").write_text(json.dumps(calibrate(sets, args.out), indent=1))
    export(args.out, args.out / "export")
    if not (args.out / "measured.json").exists():
        (args.out / "measured.json").write_text(json.dumps(measure(args.out, 2000, args.processes), indent=1))
    print((args.out / "measured.json").read_text(), flush=True)
    if args.ship:
        export(args.out, READER_DIR)
        (READER_DIR / "MODEL_CARD.md").write_text(card(args.out, args.copies))


if __name__ == "__main__":
    main()
