"""Explanations: does a map find the pixels that matter (the deletion test), and what does one cost?

Usage: MNIST_CNN_DATA=../shared/mnist taskset -c 1 .venv/bin/python benchmarks/explain.py
       [--model best] [--count 1000] [--choose-count 200] [--timing-count 100]

1. The choice, on validation digits (the 10% of the training set that seed 42 holds out, which the
   shipped models never trained on; never the test set): occlusion's deletion AUC and milliseconds per
   image on ONNX Runtime for each patch size and stride; integrated gradients' completeness error
   (|sum of the map - (log p(image) - log p(black))|, relative) for each number of steps. The defaults in
   `mnist_cnn.explain` are read off this table.
2. The deletion test (Petsiuk et al. 2018) on --count MNIST test digits (a seeded random draw): pixels
   set to 0 in the order a map ranks them, 8 at a time, the predicted digit's probability after each
   step; the area under that curve (0-1, lower is better) for occlusion, integrated gradients, a random
   order and plain pixel intensity (brightest first). Ties are broken at random for every order.
3. Milliseconds per explanation, one image per call (the median over --timing-count test digits after
   warm-up): occlusion on every runtime, integrated gradients on Keras.

Writes benchmarks/results/explain.json and explain.png (the mean deletion curves).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

from common import machine, write_result  # noqa: E402

SEED = 20261201
PATCHES = (3, 4, 5, 6, 7, 8)
STRIDES = (2, 3, 4)  # stride 1 costs 441-676 copies an image, ten times the budget
IG_STEPS = (16, 32, 64, 128)
# The goal is 20 ms an image on ONNX Runtime and LiteRT. One core of this machine runs about
# 3,300 copies a second through `best` (inference.py: 6,543/s on two), so 20 ms is about 65 copies;
# settings averaging at most 60 (a patch with no ink is not run) are within budget. Counting copies
# rather than timing them keeps the choice independent of whatever else shares the machine.
BUDGET_COPIES = 60


def timed_maps(explain_one, images, targets) -> tuple[np.ndarray, list[float]]:
    """Maps one image per call, and each call's seconds."""
    maps, seconds = [], []
    for image, target in zip(images, targets):
        started = time.perf_counter()
        maps.append(explain_one(image[None], [target])[0])
        seconds.append(time.perf_counter() - started)
    return np.stack(maps), seconds


def inked_patches(images, patch: int, stride: int) -> float:
    """Occluded copies per image, on average: the patches holding some ink."""
    from mnist_cnn import explain

    ink = images > 0
    corners = explain.patch_corners(patch, stride)
    per_image = sum(ink[:, top : top + patch, left : left + patch].any(axis=(1, 2)) for top, left in corners)
    return float(per_image.mean())


def median_ms(seconds: list[float]) -> float:
    return 1000 * statistics.median(seconds)


def auc(classifier, images, targets, attributions, rng) -> float:
    from mnist_cnn import explain

    order = explain.deletion_order(attributions, rng)
    return float(explain.deletion_auc(explain.deletion_curve(classifier.probabilities, images, targets, order)).mean())


def choose(onnx, keras_classifier, images, rng) -> dict:
    """Occlusion's patch and stride, integrated gradients' steps, on validation digits."""
    from mnist_cnn import explain

    targets = onnx.probabilities(images).argmax(axis=1)
    explain.occlusion(onnx.probabilities, images[:20], targets[:20])  # warm-up
    occlusion_rows = []
    for patch in PATCHES:
        for stride in (stride for stride in STRIDES if stride <= patch):
            with_setting = functools.partial(explain.occlusion, onnx.probabilities, patch=patch, stride=stride)
            maps, seconds = timed_maps(with_setting, images, targets)
            row = {
                "patch": patch,
                "stride": stride,
                "positions": len(explain.patch_corners(patch, stride)),
                "copies_per_image": inked_patches(images, patch, stride),
                "deletion_auc": auc(onnx, images, targets, maps, rng),
                "ms_per_image_onnx": median_ms(seconds),
            }
            occlusion_rows.append(row)
            print("choose occlusion", row, flush=True)

    def log_probability(images):
        return np.log(np.maximum(keras_classifier.probabilities(images), explain.TINY))

    black = log_probability(np.zeros((1, 28, 28), np.uint8))[0]
    expected = log_probability(images)[np.arange(len(images)), targets] - black[targets]
    ig_rows = []
    for steps in IG_STEPS:
        maps = explain.integrated_gradients(keras_classifier.model, images, targets, steps)
        error = np.abs(maps.sum(axis=(1, 2)) - expected) / np.maximum(np.abs(expected), 1e-6)
        row = {
            "steps": steps,
            "completeness_error_median": float(np.median(error)),
            "completeness_error_p95": float(np.percentile(error, 95)),
        }
        ig_rows.append(row)
        print("choose integrated gradients", row, flush=True)
    within = [row for row in occlusion_rows if row["copies_per_image"] <= BUDGET_COPIES]
    best = min(within, key=lambda row: row["deletion_auc"])
    return {
        "count": len(images),
        "rule": f"lowest deletion AUC among settings averaging at most {BUDGET_COPIES} occluded copies an image",
        "chosen": {"patch": best["patch"], "stride": best["stride"]},
        "occlusion": occlusion_rows,
        "integrated_gradients": ig_rows,
    }


def deletion(classifiers, images, rng) -> tuple[dict, dict]:
    """Deletion AUC per method on test digits, and the mean curves."""
    from mnist_cnn import explain

    onnx, keras_classifier = classifiers["onnx"], classifiers["keras"]
    targets = onnx.probabilities(images).argmax(axis=1)
    maps = {
        "occlusion": explain.explain(onnx, images, targets, "occlusion"),
        "integrated-gradients": explain.explain(keras_classifier, images, targets, "integrated-gradients"),
        "random": rng.random(images.shape),
        "intensity": images.astype(np.float32),
    }
    methods, curves = {}, {}
    for method, attributions in maps.items():
        order = explain.deletion_order(attributions, rng)
        curve = explain.deletion_curve(onnx.probabilities, images, targets, order)
        scores = explain.deletion_auc(curve)
        methods[method] = {
            "deletion_auc": float(scores.mean()),
            "deletion_auc_median": float(np.median(scores)),
            "deletion_auc_sd": float(scores.std()),
        }
        curves[method] = curve.mean(axis=0).tolist()
        print("deletion", method, methods[method], flush=True)
    for method in methods:
        methods[method]["ratio_to_random"] = methods[method]["deletion_auc"] / methods["random"]["deletion_auc"]
    return methods, curves


def timings(classifiers, images) -> dict:
    from mnist_cnn import explain

    result = {"occlusion": {}, "integrated-gradients": {}}
    targets = classifiers["onnx"].probabilities(images).argmax(axis=1)
    for runtime, classifier in classifiers.items():
        explain.explain(classifier, images[:10], targets[:10], "occlusion")  # warm-up at the batch sizes used
        _, seconds = timed_maps(functools.partial(explain.explain, classifier), images, targets)
        result["occlusion"][runtime] = median_ms(seconds)
        print("ms per occlusion map", runtime, result["occlusion"][runtime], flush=True)
    keras_classifier = classifiers["keras"]
    explain.explain(keras_classifier, images[:3], targets[:3], "integrated-gradients")
    gradients = functools.partial(explain.explain, keras_classifier, method="integrated-gradients")
    _, seconds = timed_maps(gradients, images, targets)
    result["integrated-gradients"]["keras"] = median_ms(seconds)
    print("ms per integrated-gradients map keras", result["integrated-gradients"]["keras"], flush=True)
    return result


def plot_curves(curves: dict, methods: dict, step: int, target: Path) -> None:
    from matplotlib.figure import Figure

    from mnist_cnn.plots import save_figure

    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    for method, curve in curves.items():
        removed = np.minimum(np.arange(len(curve)) * step, 784) / 784
        axes.plot(removed, curve, label=f"{method} (AUC {methods[method]['deletion_auc']:.3f})")
    axes.set_xlabel("Share of pixels set to 0")
    axes.set_ylabel("Probability of the predicted digit (mean)")
    axes.set_title("Deletion test on MNIST test digits (lower is better)")
    axes.grid(alpha=0.3)
    axes.legend()
    save_figure(figure, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="best", help="shipped model to explain (default: best)")
    parser.add_argument("--count", type=int, default=1000, help="test digits for the deletion test (default: 1000)")
    parser.add_argument("--choose-count", type=int, default=200, help="validation digits for the choice (default: 200)")
    parser.add_argument("--timing-count", type=int, default=100, help="test digits timed per runtime (default: 100)")
    args = parser.parse_args()

    import mnist_cnn
    from mnist_cnn import data, explain

    dataset = data.load_dataset("mnist")
    rng = np.random.default_rng(SEED)
    _, (validation_images, _) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, seed=42)
    classifiers = {
        runtime: mnist_cnn.load_model(args.model, runtime=runtime) for runtime in ("onnx", "litert", "keras")
    }
    started = time.perf_counter()
    choice = choose(
        classifiers["onnx"],
        classifiers["keras"],
        validation_images[rng.choice(len(validation_images), args.choose_count, replace=False)],
        rng,
    )
    test_images = dataset.test_images[rng.choice(len(dataset.test_images), args.count, replace=False)]
    methods, curves = deletion(classifiers, test_images, rng)
    methods["occlusion"] |= {"patch": explain.OCCLUSION_PATCH, "stride": explain.OCCLUSION_STRIDE, "runtime": "onnx"}
    methods["integrated-gradients"] |= {"steps": explain.IG_STEPS, "runtime": "keras"}
    ms = timings(classifiers, test_images[: args.timing_count])
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/explain.py", *sys.argv[1:]]),
        "machine": machine(),
        "model": args.model,
        "count": args.count,
        "deletion_step_pixels": explain.DELETION_STEP,
        "methods": methods,
        "ms_per_explanation": ms,
        "mean_deletion_curves": curves,
        "choice_on_validation": choice,
        "seconds": time.perf_counter() - started,
    }
    plot_curves(curves, methods, explain.DELETION_STEP, Path(__file__).parent / "results" / "explain.png")
    print(write_result("explain", results))


if __name__ == "__main__":
    main()
