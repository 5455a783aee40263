"""Measure a run trained with digits drawn with the page's pen as a reader of drawings, against ``best``.

Usage: MNIST_CNN_DATA=../shared/mnist .venv/bin/python scripts/measure_drawn_reader.py RUN_DIR [--count 1500]
       [--numbers 100]

A drawn reader would be ``best`` fine-tuned with digits drawn with the served page's round pen and
put through ``predict``'s preprocessing, to read drawings' digits as the bold reader reads bold ones:

    mnist-cnn train --model best --init best --pen-trace 0.3 --pen-contour 0.15 --pen-sheet-edge 0.15 \\
        --drawn-digits 32000 --epochs 8 --learning-rate 0.0003 --out RUN_DIR

This script measures the run on validation-split digits only (split seed 42, held out by the run and
by every shipped model): MNIST validation as it is, and ``--count`` of them drawn by three renderers,
the package's own (``markers.drawn_image``, the kind the run trained on, another draw), the numbers
benchmark's (``benchmarks/number_reading.drawn``: a skeleton traced with a 22-pixel pen, made
independently) and the own-digits benchmark's page drawings (``digit_sets.as_drawing`` and
``small_drawing``), each read as ``predict`` reads one digit (``prediction.read_gray``): by the
shipped ``best`` (alone, and with the bold reader for bold strokes, as ``predict`` reads them), by
the run alone, and routed (bold strokes to the bold reader, the rest to the run). Then ``--numbers``
4-digit numbers per spacing, drawn as the numbers benchmark draws them from validation digits,
segmented as ``predict --number`` does, their digits read by ``best`` and by the run. Results go to
``RUN_DIR/drawn_measured.json``. The MNIST test set is never used. The run of 2026-12-04 read no
better than ``best`` and was not shipped (docs/BENCHMARKS.md, "A reader for drawings, tried").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from ship_bold_reader import on_mnist_validation  # noqa: E402  (this script's folder is on sys.path)

from mnist_cnn import markers, prediction, preprocessing, readers  # noqa: E402

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


def routed_probabilities(first, bold, images: np.ndarray, kinds: list) -> np.ndarray:
    """Each image read by ``bold`` when its kind is "bold", else by ``first``."""
    probabilities = np.array(first.probabilities(images))  # a copy: a model may hand back its memory
    chosen = [index for index, kind in enumerate(kinds) if kind == "bold"]
    if chosen:
        probabilities[chosen] = bold.probabilities(images[chosen])
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
    best, reader = prediction.load_model("best", runtime="onnx"), prediction.load_model(run / "model.keras")
    bold = readers.load_reader("bold", "onnx")
    images, labels, accuracies = on_mnist_validation(best, reader)
    result = {"mnist_validation": accuracies}
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
            "bold_share": float(np.mean([each == "bold" for each in kinds])),
            "best_with_bold_reader": float(np.mean(routed_probabilities(best, bold, made, kinds).argmax(1) == truth)),
            "routed": float(np.mean(routed_probabilities(reader, bold, made, kinds).argmax(1) == truth)),
        }
        print(kind, result[kind], flush=True)
    if count_numbers:
        result["numbers_4_digits"] = numbers(best, reader, images, labels, count_numbers, rng)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder of `mnist-cnn train ... --drawn-digits`")
    parser.add_argument("--count", type=int, default=1500, help="validation digits per renderer (default: 1500)")
    parser.add_argument("--numbers", type=int, default=100, help="4-digit numbers per spacing (default: 100)")
    args = parser.parse_args()
    target = args.run / "drawn_measured.json"
    if not target.exists():
        target.write_text(json.dumps(measure(args.run, args.count, args.numbers), indent=1))
    print(target.read_text(), flush=True)


if __name__ == "__main__":
    main()
