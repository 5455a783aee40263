"""Rejection: how well "not a digit" separates digits from everything else, at the shipped thresholds.

Usage: MNIST_CNN_DATA=../shared/mnist python benchmarks/rejection.py [--count 2000] [--models best,seed]

Digits are the MNIST test set (as 28x28 arrays, like `mnist-cnn evaluate`) and the real-world sets of
`own_digits.py` (a person's inputs of every kind, as image files). Non-digits, all made in this run
and never used to train the detector or choose its thresholds (other seeds; letters also in fonts the
detector never saw):

- Fashion-MNIST's test set (Debian's dataset-fashion-mnist files), as 28x28 arrays and as image files;
- letters drawn with a pen and letters in held-out fonts; symbols and shapes;
- noise: i.i.d. uniform and Gaussian noise (Hendrycks & Gimpel 2017), as arrays and as photos;
- scribbles; blank paper photos (folds, gradients, vignettes, noise, dim light).

Every image is read as `mnist-cnn predict` reads it: preprocessed, segmented (several digits make a
number), classified by `best`, statuses at the shipped thresholds. For each set, the AUROC of the
shipped detector's digit probability and, side by side, of the maximum softmax probability of each
classifier (the baseline of Hendrycks & Gimpel 2017), with MNIST test as the positives; an image
preprocessing already finds blank scores lowest on both; a number scores the lower median over its
digits (its status is not_a_digit when half of its digits are). Then at the shipped
thresholds: the share refused (status not_a_digit, or "no digit found"), MNIST's coverage (status
"digit") and accuracy on what is accepted, and each real-world set's accuracy with and without
rejection (a right answer refused as not_a_digit counts as wrong; "unsure" answers still name their
digit, and the share right with status "digit" is given too).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from common import write_result  # noqa: E402

SEED = 31337  # not the detector's training seed (20261130)


def noise_arrays(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """i.i.d. uniform and Gaussian (mean 0.5, sd 0.25, clipped) noise, 28x28, as in Hendrycks & Gimpel 2017."""
    made = []
    for index in range(count):
        values = rng.uniform(0, 1, (28, 28)) if index % 2 else np.clip(rng.normal(0.5, 0.25, (28, 28)), 0, 1)
        made.append((values * 255).astype(np.uint8))
    return made


def noise_photos(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Noise photos, 100-400 px: i.i.d. noise around a random grey, sometimes blurred."""
    from scipy import ndimage

    made = []
    for _ in range(count):
        height, width = (int(v) for v in rng.integers(100, 400, 2))
        values = rng.normal(rng.uniform(60, 200), rng.uniform(5, 60), (height, width))
        if rng.random() < 0.5:
            values = ndimage.gaussian_filter(values, rng.uniform(0.5, 2))
        made.append(np.clip(values, 0, 255).astype(np.uint8))
    return made


def as_file(image: np.ndarray) -> Image.Image:
    """A 28x28 MNIST-format array as a person would have it as a file: dark on white, 4x larger."""
    return Image.fromarray(255 - image).resize((112, 112), Image.Resampling.BICUBIC)


def non_digit_sets(count: int, fashion) -> dict[str, list]:
    from mnist_cnn import outliers

    rng = np.random.default_rng(SEED)
    half = count // 2
    fashion_images = fashion.test_images[rng.choice(len(fashion.test_images), count, replace=False)]
    return {
        "fashion_mnist": list(fashion_images),
        "fashion_mnist_files": [as_file(image) for image in fashion_images[:half]],
        "letters": outliers.sample("letters", rng, half)
        + outliers.sample("font_letters", rng, count - half, fonts=outliers.HELD_OUT_FONTS),
        "symbols_and_shapes": outliers.sample("symbols", rng, half) + outliers.sample("shapes", rng, count - half),
        "noise": noise_arrays(rng, half) + noise_photos(rng, count - half),
        "scribbles": outliers.sample("scribbles", rng, count),
        "blank_paper": outliers.sample("blank_paper", rng, count),
    }


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]))


def lower_median(values: list[float]) -> float:
    """The value at or below which half of ``values`` lie: a number's status is not_a_digit when at
    least half of its digits are, so this is the score that status thresholds."""
    return float(sorted(values)[(len(values) - 1) // 2])


def scored(images: list, classifiers: dict, rejector) -> dict:
    """Every image as `mnist-cnn predict` reads it (one digit, or a number when segmentation finds
    several): its status with `best` at the shipped thresholds, the digit `best` answers (None for a
    number), and its scores: the detector's digit probability and each classifier's top probability
    (for a number, the lower median over its digits). An image preprocessing finds blank scores -1."""
    from mnist_cnn.errors import ImageError
    from mnist_cnn.prediction import Prediction, classify_readings, read

    best = classifiers["best"]
    result = {"status": [], "answer": [], "digit_probability": [], **{f"msp_{name}": [] for name in classifiers}}
    for image in images:
        try:
            reading = read(image, "auto", best.probabilities)
        except ImageError:
            result["status"].append("not_a_digit")
            result["answer"].append(None)
            for key in result.keys() - {"status", "answer"}:
                result[key].append(-1.0)
            continue
        (answer,) = classify_readings(best, [reading], [None], rejector)
        result["status"].append(answer.status)
        result["answer"].append(answer.digit if isinstance(answer, Prediction) else None)
        stack = np.stack(reading.images)
        result["digit_probability"].append(lower_median(list(rejector.digit_probabilities(stack))))
        for name, classifier in classifiers.items():
            result[f"msp_{name}"].append(lower_median(list(classifier.probabilities(stack).max(axis=1))))
    return {key: np.asarray(values) for key, values in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="images per non-digit set (default: 2000)")
    parser.add_argument("--digits", type=int, default=500, help="MNIST test digits per real-world set (default: 500)")
    parser.add_argument(
        "--models",
        default="best,seed",
        help="classifiers for the MSP baseline; the first one answers at the thresholds (default: best,seed)",
    )
    parser.add_argument(
        "--fashion-dir",
        type=Path,
        default=Path("/usr/share/datasets/fashion-mnist"),
        help="Fashion-MNIST files (default: Debian's dataset-fashion-mnist package)",
    )
    args = parser.parse_args()

    import mnist_cnn
    from mnist_cnn.data import load_dataset
    from mnist_cnn.rejection import detector_path, load_rejector
    from own_digits import build_sets

    mnist, fashion = load_dataset("mnist"), load_dataset("fashion-mnist", args.fashion_dir)
    classifiers = {name: mnist_cnn.load_model(name, runtime="onnx") for name in args.models.split(",")}
    rejector = load_rejector(classifiers["best"])
    thresholds = rejector.thresholds
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/rejection.py", *sys.argv[1:]]),
        "thresholds": {"digit": thresholds.digit, "confidence": thresholds.confidence},
        "detector_sha256": hashlib.sha256(detector_path("onnx").read_bytes()).hexdigest(),  # which one was measured
        "auroc": {},
        "refused": {},
        "mnist_test": {},
        "real_world": {},
    }
    digits = scored(list(mnist.test_images), classifiers, rejector)
    status = digits["status"]
    answered = status == "digit"
    right = digits["answer"] == mnist.test_labels
    results["mnist_test"] = {
        "count": int(len(status)),
        "accepted_as_digit": float(answered.mean()),
        "unsure": float((status == "unsure").mean()),
        "not_a_digit": float((status == "not_a_digit").mean()),
        "accuracy_without_rejection": float(right.mean()),
        "accuracy_on_accepted": float(right[answered].mean()),
    }
    print("mnist_test", results["mnist_test"], flush=True)
    methods = ["digit_probability", *(f"msp_{name}" for name in classifiers)]
    for set_name, images in non_digit_sets(args.count, fashion).items():
        others = scored(images, classifiers, rejector)
        results["auroc"][set_name] = {
            ("detector" if method == "digit_probability" else method): auroc(digits[method], others[method])
            for method in methods
        }
        results["refused"][set_name] = {
            "count": len(images),
            "refused": float((others["status"] == "not_a_digit").mean()),
            "unsure": float((others["status"] == "unsure").mean()),
            "blank_before_model": float((others["digit_probability"] == -1).mean()),
        }
        print(set_name, results["auroc"][set_name], results["refused"][set_name], flush=True)
    sets, _ = build_sets(mnist, args.digits)
    for set_name, (images, labels) in sets.items():
        world = scored(images, {"best": classifiers["best"]}, rejector)
        right = world["answer"] == np.asarray(labels)
        kept = world["status"] != "not_a_digit"
        results["real_world"][set_name] = {
            "count": len(labels),
            "accuracy_without_rejection": float(right.mean()),
            "accuracy_with_rejection": float((right & kept).mean()),
            "right_with_status_digit": float((right & (world["status"] == "digit")).mean()),
            "not_a_digit": float((world["status"] == "not_a_digit").mean()),
            "unsure": float((world["status"] == "unsure").mean()),
        }
        print(set_name, results["real_world"][set_name], flush=True)
    write_result("rejection", results)


if __name__ == "__main__":
    main()
