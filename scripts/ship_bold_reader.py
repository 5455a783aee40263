"""Measure a run trained with marker digits as the bold reader, and ship it into the package.

Usage: MNIST_CNN_DATA=../shared/mnist .venv/bin/python scripts/ship_bold_reader.py RUN_DIR [--count 1500] [--ship]

The bold reader (``mnist_cnn.bold_strokes``) is ``best`` fine-tuned with digits written with a thick
marker and put through ``predict``'s preprocessing:

    mnist-cnn train --model best --init best --pen-trace 0.3 --pen-contour 0.15 --pen-sheet-edge 0.15 \\
        --marker-digits 32000 --epochs 8 --learning-rate 0.0003 --out RUN_DIR

This script measures the run on validation-split digits only (split seed 42, held out by the run and
by every shipped model): MNIST validation as it is, and ``--count`` of them written with a marker by
two renderers, the package's own (``markers.marker_image``, the kind the run trained on, another
draw) and the own-digits benchmark's (``benchmarks/digit_sets.bold_marker``, made independently),
each made MNIST-style by ``preprocessing.to_mnist`` and read by the shipped ``best`` and by the run,
by stroke width and for the images ``bold_strokes.is_bold`` routes. Results go to
``RUN_DIR/bold_measured.json``; ``--ship`` copies the run's model and its ONNX and LiteRT exports into
``src/mnist_cnn/bold_reader/`` with a model card. The MNIST test set is never used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from mnist_cnn import data, markers, preprocessing  # noqa: E402
from mnist_cnn.bold_strokes import BOLD, READER_DIR, is_bold  # noqa: E402
from mnist_cnn.preprocessing import digit  # noqa: E402

WIDTH_BINS = ((1.0, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, 5.0))  # the marker's tip, in MNIST stroke widths
SEED = 2026  # the measured draws' seed: not the run's (its marker digits come from the training split)


def rendered(kind: str, digits: np.ndarray, rng: np.random.Generator) -> tuple[list, np.ndarray]:
    """Each digit written with a marker by ``kind``'s renderer: (grayscale images, tip widths in MNIST's)."""
    import digit_sets

    if kind == "markers.py":
        widths = rng.uniform(*markers.MARKER_WIDTHS, len(digits))
        return [markers.marker_image(image, rng, width) for image, width in zip(digits, widths)], widths
    widths = rng.uniform(2.0, 4.0, len(digits))
    images = [np.asarray(digit_sets.bold_marker(image, rng, width), np.float32) for image, width in zip(digits, widths)]
    return images, widths


def on_mnist_validation(best, reader) -> tuple[np.ndarray, np.ndarray, dict]:
    """(images uint8 (n, 28, 28), labels (n,), accuracies): the validation split every shipped model
    held out (seed 42, 10%) and ``best``'s and ``reader``'s accuracy on it, 0-1 (a reader must still
    read plain MNIST). Shared with ``measure_drawn_reader.py``."""
    dataset = data.load_dataset("mnist")
    _, (images, labels) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    accuracies = {
        "images": len(labels),
        "best": float(np.mean(best.probabilities(images).argmax(1) == labels)),
        "reader": float(np.mean(reader.probabilities(images).argmax(1) == labels)),
    }
    return images, labels, accuracies


def measure(run: Path, count: int) -> dict:
    """The run against the shipped ``best`` on validation digits (module docstring)."""
    from mnist_cnn.runtimes import load_model

    best, reader = load_model("best", runtime="onnx"), load_model(run / "model.keras")
    images, labels, accuracies = on_mnist_validation(best, reader)
    result = {"mnist_validation": accuracies}
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(len(images), count, replace=False)
    for kind in ("markers.py", "digit_sets.bold_marker"):
        photos, widths = rendered(kind, images[chosen], rng)
        inks = [preprocessing.find_ink(photo)[0] for photo in photos]
        crops = [preprocessing.crop_digit(ink) for ink in inks]
        made = np.stack([preprocessing.cropped_to_mnist(cropped) for cropped in crops])
        routed = np.array([is_bold(cropped) for cropped in crops])
        multiples = np.array([digit.stroke_multiple(cropped) for cropped in crops])
        by_best = best.probabilities(made).argmax(1) == labels[chosen]
        by_reader = reader.probabilities(made).argmax(1) == labels[chosen]
        result[kind] = {
            "images": count,
            "best": float(by_best.mean()),
            "reader": float(by_reader.mean()),
            "routed_share": float(routed.mean()),
            "routed": float(np.where(routed, by_reader, by_best).mean()),
            "measured_multiple_median": float(np.median(multiples)),
            "by_width": [
                {
                    "tip": f"{low:g}-{high:g}",
                    "images": int(inside.sum()),
                    "best": float(by_best[inside].mean()),
                    "reader": float(by_reader[inside].mean()),
                    "routed_share": float(routed[inside].mean()),
                }
                for low, high in WIDTH_BINS
                if (inside := (widths >= low) & (widths < high)).any()
            ],
        }
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
    rows = []
    for kind in ("markers.py", "digit_sets.bold_marker"):
        for row in measured[kind]["by_width"]:
            rows.append(
                f"| `{kind}` | {row['tip']} | {row['images']:,} | {row['best']:.1%} | {row['reader']:.1%} "
                f"| {row['routed_share']:.0%} |"
            )
        whole = measured[kind]
        rows.append(
            f"| `{kind}` | all | {whole['images']:,} | {whole['best']:.1%} | **{whole['reader']:.1%}** "
            f"| {whole['routed_share']:.0%} |"
        )
    table = "\n".join(rows)
    calibration = metrics.get("calibration", {})
    marked = metrics.get("marker_validation_images", 0)  # a run choosing its epoch on marker digits too
    selection = (
        f"{metrics['best_validation_accuracy']:.2%} right of the {metrics['validation_images']:,} MNIST validation "
        f"digits and {marked:,} of them written with a marker by `markers.py`, on which its epoch was chosen; "
        "some of those digits are measured below again, written anew"
        if marked
        else f"validation accuracy {metrics['best_validation_accuracy']:.2%} on the {metrics['validation_images']:,} "
        "validation digits"
    )
    return f"""# Model card: the bold reader

## What it is
A digit classifier (`models.best_model`'s network) for digits written with a marker or a wide pen, as
`preprocessing.to_mnist` makes them (fat strokes eroded towards MNIST's width): input float32
`(n, 28, 28, 1)`, values 0-1; output `(n, 10)` calibrated probabilities. `predict`, the Python API,
`evaluate --images` and the server read a one-digit image with it in place of the shipped `best` and
`best-ensemble` when its strokes are bold: solid and more than {BOLD:g} times MNIST's width once cropped
(`mnist_cnn.bold_strokes.is_bold`). A number's digits and everything else stay `best`'s; rejection
(the digit detector, the unsure threshold) is unchanged. Every runtime (`model.keras`, `model.onnx`,
`model.tflite`).

## How it was trained
`best` fine-tuned: `{metrics["command"]}`: the 54,000 MNIST training-split digits (split seed 42)
with `best`'s augmentation, and {config.get("marker_digits", 0):,} of them written with a round marker tip
of {markers.MARKER_WIDTHS[0]:g}-{markers.MARKER_WIDTHS[1]:g}x MNIST's stroke (`mnist_cnn.markers`) and put
through `to_mnist` ({metrics["train_images"]:,} training images), {metrics["epochs"]} epochs in
{metrics["seconds"] / 60:.0f} minutes on one core of a busy machine; kept epoch {metrics["best_epoch"]}
({selection}).
Temperature scaling on the MNIST validation digits: T = {calibration["temperature"]:.3f}, ECE
{calibration["ece_before"]:.2%} -> {calibration["ece_after"]:.2%}, baked into the weights.
Nothing was chosen on the MNIST test set; the training run's own report read it once at its end
({metrics["test_accuracy"]:.2%}).

## Measured
`scripts/ship_bold_reader.py`, validation-split digits only. MNIST validation ({mnist["images"]:,}):
shipped `best` {mnist["best"]:.2%}, this reader {mnist["reader"]:.2%}. Digits written with a marker of
the tip width shown (in MNIST's stroke widths) by the package's renderer (another draw than the
training digits') and by the own-digits benchmark's (made independently), read right, and the share
`is_bold` routes to this reader:

| renderer | tip | digits | shipped `best` | this reader | routed |
|---|---|---|---|---|---|
{table}

docs/BENCHMARKS.md gives the own-digits sets and the shared `bold-marker/` cases with and without it.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder of `mnist-cnn train ... --marker-digits`")
    parser.add_argument("--count", type=int, default=1500, help="validation digits per renderer (default: 1500)")
    parser.add_argument("--ship", action="store_true", help="copy the reader and its exports into the package")
    args = parser.parse_args()
    target = args.run / "bold_measured.json"
    if not target.exists():
        target.write_text(json.dumps(measure(args.run, args.count), indent=1))
    print(target.read_text(), flush=True)
    if args.ship:
        ship(args.run)
        (READER_DIR / "MODEL_CARD.md").write_text(card(args.run, json.loads(target.read_text())))


if __name__ == "__main__":
    main()
