"""Measure a run trained with digits drawn with the page's pen as the drawn reader, and ship it.

Usage: MNIST_CNN_DATA=../shared/mnist .venv/bin/python scripts/ship_drawn_reader.py RUN_DIR [--count 1500]
       [--numbers 100] [--ship]

The drawn reader (``mnist_cnn.readers``, kind "drawn") is ``best`` fine-tuned with digits drawn with
the served page's round pen and put through ``predict``'s preprocessing:

    mnist-cnn train --model best --init best --pen-trace 0.3 --pen-contour 0.15 --pen-sheet-edge 0.15 \\
        --drawn-digits 32000 --epochs 8 --learning-rate 0.0003 --out RUN_DIR

This script measures the run on validation-split digits only (split seed 42, held out by the run and
by every shipped model): MNIST validation as it is, and ``--count`` of them drawn by three renderers,
the package's own (``markers.drawn_image``, the kind the run trained on, another draw), the numbers
benchmark's (``benchmarks/number_reading.drawn``: a skeleton traced with a 22-pixel pen, made
independently) and the own-digits benchmark's page drawings (``digit_sets.as_drawing`` and
``small_drawing``), each read as ``predict`` reads one digit (``prediction.read_gray``): by the
shipped ``best``, by the run, and routed (a drawing's digit to the run, bold strokes to the bold
reader, the rest to ``best``). Then ``--numbers`` 4-digit numbers per spacing, drawn as the numbers
benchmark draws them from validation digits, read as ``predict --number`` reads them with and without
the run. Results go to ``RUN_DIR/drawn_measured.json``; ``--ship`` copies the run's model and its ONNX
and LiteRT exports into ``src/mnist_cnn/drawn_reader/`` with a model card. The MNIST test set is never used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from mnist_cnn import data, markers, prediction, preprocessing, readers  # noqa: E402

READER_DIR = readers.FOLDERS["drawn"]
SEED = 2026  # the measured draws' seed: not the run's (its drawn digits come from the training split)
RENDERERS = ("markers.py", "number_reading.drawn", "digit_sets.as_drawing", "digit_sets.small_drawing")


def rendered(kind: str, digits: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Each digit drawn by ``kind``'s renderer, as grayscale images (h, w), grey levels 0-255."""
    import digit_sets
    import number_reading

    if kind == "markers.py":
        return [markers.drawn_image(image, rng) for image in digits]
    if kind == "number_reading.drawn":
        drawings = [number_reading.drawn(number_reading.compose(image[None], False, rng))[-1] for image in digits]
    else:
        drawings = [getattr(digit_sets, kind.split(".")[1])(image, rng) for image in digits]
    return [preprocessing.open_image(drawing) for drawing in drawings]


def routed_probabilities(best, reader, bold, images: np.ndarray, kinds: list) -> np.ndarray:
    """Each image read by the reader for its kind: "drawn" by ``reader``, "bold" by ``bold``, else ``best``."""
    probabilities = best.probabilities(images)
    for kind, model in (("drawn", reader), ("bold", bold)):
        chosen = [index for index, each in enumerate(kinds) if each == kind]
        if chosen and model is not None:
            probabilities[chosen] = model.probabilities(images[chosen])
    return probabilities


def numbers(best, reader, images: np.ndarray, labels: np.ndarray, count: int, rng) -> dict:
    """``count`` separated and ``count`` touching 4-digit drawn numbers: exact reads by ``best`` and by ``reader``."""
    import number_reading

    detector = number_reading.detector_of(best)
    result = {}
    for spacing in ("separated", "touching"):
        right = {"best": 0, "reader": 0}
        for _ in range(count):
            chosen = rng.choice(len(images), 4, replace=False)
            layers = number_reading.compose(images[chosen], spacing == "touching", rng)
            gray = preprocessing.open_image(number_reading.drawn(layers)[-1])
            expected = "".join(str(int(label)) for label in labels[chosen])
            with best.remembering():
                reading = prediction.read_gray(gray, "number", best.probabilities, detector.one_digit_probabilities)
            stack = np.stack(reading.images)
            for name, model in (("best", best), ("reader", reader)):
                right[name] += "".join(str(int(d)) for d in model.probabilities(stack).argmax(1)) == expected
        result[spacing] = {"numbers": count, **{name: right[name] / count for name in right}}
    return result


def measure(run: Path, count: int, count_numbers: int) -> dict:
    """The run against the shipped ``best`` on validation digits (module docstring)."""
    dataset = data.load_dataset("mnist")
    _, (images, labels) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    best, reader = prediction.load_model("best", runtime="onnx"), prediction.load_model(run / "model.keras")
    bold = readers.load_reader("bold", "onnx")
    result = {
        "mnist_validation": {
            "images": len(labels),
            "best": float(np.mean(best.probabilities(images).argmax(1) == labels)),
            "reader": float(np.mean(reader.probabilities(images).argmax(1) == labels)),
        }
    }
    rng = np.random.default_rng(SEED)
    for kind in RENDERERS:
        chosen = rng.choice(len(images), count, replace=False)
        readings = [prediction.read_gray(gray, "single") for gray in rendered(kind, images[chosen], rng)]
        made, kinds = np.stack([reading.images[0] for reading in readings]), [reading.kind for reading in readings]
        truth = labels[chosen]
        result[kind] = {
            "images": count,
            "best": float(np.mean(best.probabilities(made).argmax(1) == truth)),
            "reader": float(np.mean(reader.probabilities(made).argmax(1) == truth)),
            "routed_share": float(np.mean([each == "drawn" for each in kinds])),
            "bold_share": float(np.mean([each == "bold" for each in kinds])),
            "best_with_bold_reader": float(
                np.mean(routed_probabilities(best, None, bold, made, kinds).argmax(1) == truth)
            ),
            "routed": float(np.mean(routed_probabilities(best, reader, bold, made, kinds).argmax(1) == truth)),
        }
        print(kind, result[kind], flush=True)
    if count_numbers:
        result["numbers_4_digits"] = numbers(best, reader, images, labels, count_numbers, rng)
    return result


def ship(run: Path) -> None:
    """The run's model and its ONNX and LiteRT exports into ``READER_DIR``."""
    from mnist_cnn.export import export_model_files

    export_model_files(run / "model.keras", READER_DIR)


def card(run: Path, measured: dict) -> str:
    """The reader's model card from the run's metrics and the measurements."""
    metrics = json.loads((run / "metrics.json").read_text())
    config = metrics.get("config", {})
    mnist = measured["mnist_validation"]
    rows = "\n".join(
        f"| `{kind}` | {measured[kind]['images']:,} | {measured[kind]['best_with_bold_reader']:.1%} "
        f"| {measured[kind]['reader']:.1%} | {measured[kind]['routed_share']:.0%} "
        f"| **{measured[kind]['routed']:.1%}** |"
        for kind in RENDERERS
    )
    number_rows = "\n".join(
        f"| {spacing} | {row['numbers']} | {row['best']:.1%} | **{row['reader']:.1%}** |"
        for spacing, row in measured.get("numbers_4_digits", {}).items()
    )
    calibration = metrics.get("calibration", {})
    drawn = metrics.get("drawn_validation_images", 0)
    return f"""# Model card: the drawn reader

## What it is
A digit classifier (`models.best_model`'s network) for digits drawn on flat paper with a pen of
constant width, the served page's drawings above all, as `preprocessing.to_mnist` makes them: input
float32 `(n, 28, 28, 1)`, values 0-1; output `(n, 10)` calibrated probabilities. `predict`, the Python
API, `evaluate --images` and the server read with it, in place of the shipped `best` and
`best-ensemble`, a one-digit image and a number's digits when the image is a drawing
(`preprocessing.drawings.is_drawing`: one exact paper grey over half of it, flat ink, no third tone)
and the digit's strokes are not bold (bold strokes go to the bold reader). Segmentation, rejection
(the digit detector, the unsure threshold) and everything else are unchanged. Every runtime
(`model.keras`, `model.onnx`, `model.tflite`).

## How it was trained
`best` fine-tuned: `{metrics["command"]}`: the 54,000 MNIST training-split digits (split seed 42)
with `best`'s augmentation, and {config.get("drawn_digits", 0):,} of them drawn with a round pen of
{markers.PAGE_PEN_WIDTHS[0]:g}-{markers.PAGE_PEN_WIDTHS[1]:g}x MNIST's stroke along their skeleton, flat ink either way
round (`mnist_cnn.markers.drawn_image`), and put through `to_mnist` ({metrics["train_images"]:,} training
images), {metrics["epochs"]} epochs in {metrics["seconds"] / 60:.0f} minutes on one core; kept epoch
{metrics["best_epoch"]} ({metrics["best_validation_accuracy"]:.2%} right of the {metrics["validation_images"]:,}
MNIST validation digits and {drawn:,} of them drawn so, on which its epoch was chosen).
Temperature scaling on the MNIST validation digits: T = {calibration["temperature"]:.3f}, ECE
{calibration["ece_before"]:.2%} -> {calibration["ece_after"]:.2%}, baked into the weights.
Nothing was chosen on the MNIST test set; the training run's own report read it once at its end
({metrics["test_accuracy"]:.2%}).

## Measured
`scripts/ship_drawn_reader.py`, validation-split digits only. MNIST validation ({mnist["images"]:,}):
shipped `best` {mnist["best"]:.2%}, this reader {mnist["reader"]:.2%}. Digits drawn by the package's
renderer (another draw than the training digits'), the numbers benchmark's and the own-digits
benchmark's (both made independently), read as `predict` reads one digit: by `best` (with the bold
reader for bold strokes, as before), by this reader alone, the share `is_drawing` routes to it (the
rest are bold), and routed:

| renderer | digits | before (`best`, bold reader) | this reader alone | routed here | routed |
|---|---|---|---|---|---|
{rows}

4-digit numbers drawn as the numbers benchmark draws them, from validation digits, read exactly as
`predict --number` reads them (the same segmentation), the digits read by `best` or by this reader:

| spacing | numbers | `best` | this reader |
|---|---|---|---|
{number_rows}

docs/BENCHMARKS.md gives the own-digits sets and the numbers benchmark with it.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder of `mnist-cnn train ... --drawn-digits`")
    parser.add_argument("--count", type=int, default=1500, help="validation digits per renderer (default: 1500)")
    parser.add_argument("--numbers", type=int, default=100, help="4-digit numbers per spacing (default: 100)")
    parser.add_argument("--ship", action="store_true", help="copy the reader and its exports into the package")
    args = parser.parse_args()
    target = args.run / "drawn_measured.json"
    if not target.exists():
        target.write_text(json.dumps(measure(args.run, args.count, args.numbers), indent=1))
    print(target.read_text(), flush=True)
    if args.ship:
        ship(args.run)
        (READER_DIR / "MODEL_CARD.md").write_text(card(args.run, json.loads(target.read_text())))


if __name__ == "__main__":
    main()
