"""Why an ensemble does or does not beat its members: how many members miss each test digit.

Usage: .venv/bin/python benchmarks/ensemble_errors.py RUN_DIR [--data-dir DIR]

RUN_DIR is a finished `mnist-cnn train --ensemble K` run. Averaging can only rescue a digit that
few members miss; a digit that most members miss stays wrong however many more members with the same
recipe are added. The script prints and saves, for every number of members m, how many test digits
exactly m members miss and how many of those the averaged model misses, plus the test accuracy of
every ensemble of the first k members (k = 1..K), so the gain per added member is visible.
Writes benchmarks/results/ensemble_errors-<RUN_DIR name>.json.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from common import machine, write_result  # noqa: E402


def member_probabilities(run_dir: Path, images: np.ndarray) -> np.ndarray:
    """Probabilities (members, n, 10) of each member-* model in the run, in member order."""
    import keras

    from mnist_cnn.preprocessing import model_input

    folders = sorted(run_dir.glob("member-*"), key=lambda folder: int(folder.name.split("-")[1]))
    if not folders:
        raise SystemExit(f"{run_dir}: no member-* folders; is it an ensemble run?")
    inputs = model_input(images)
    return np.stack(
        [
            np.asarray(keras.models.load_model(folder / "model.keras", compile=False).predict(inputs, verbose=0))
            for folder in folders
        ]
    )


def error_structure(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Members' and the average's errors, the digits each number of members misses, the first-k curve."""
    members = len(probabilities)
    member_wrong = probabilities.argmax(axis=2) != labels  # (members, n)
    missed_by = member_wrong.sum(axis=0)  # per test digit
    ensemble_wrong = probabilities.mean(axis=0).argmax(axis=1) != labels
    return {
        "members": members,
        "member_errors": member_wrong.sum(axis=1).tolist(),
        "ensemble_errors": int(ensemble_wrong.sum()),
        "digits_missed_by": {
            str(m): {
                "digits": int((missed_by == m).sum()),
                "ensemble_misses": int((ensemble_wrong & (missed_by == m)).sum()),
            }
            for m in range(1, members + 1)
        },
        "accuracy_of_first_k": [
            float((probabilities[:k].mean(axis=0).argmax(axis=1) == labels).mean()) for k in range(1, members + 1)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished --ensemble run folder")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    args = parser.parse_args()

    from mnist_cnn.data import load_dataset

    dataset = load_dataset("mnist", args.data_dir)
    result = error_structure(member_probabilities(args.run_dir, dataset.test_images), dataset.test_labels)
    print(f"member errors on 10,000 test digits: {result['member_errors']}; averaged: {result['ensemble_errors']}")
    for m, row in result["digits_missed_by"].items():
        misses = row["ensemble_misses"]
        print(f"  missed by {m} of {result['members']} members: {row['digits']:3} digits, the average misses {misses}")
    print("accuracy of the first k members averaged:", ", ".join(f"{a:.2%}" for a in result["accuracy_of_first_k"]))
    write_result(
        f"ensemble_errors-{args.run_dir.resolve().name}",
        {
            "date": datetime.now().isoformat(timespec="seconds"),
            "command": f"python benchmarks/ensemble_errors.py {args.run_dir}",
            "machine": machine(),
            **result,
        },
    )


if __name__ == "__main__":
    main()
