"""Wall time of Ray searches and ensembles with 1 and 2 runs at once, and TensorFlow against JAX training throughput.

Usage: .venv/bin/python benchmarks/scale.py [--quick] [--out FILE] [--data-dir DIR]

Run it with every core free: the parallel figures need all of them. In one run, on this machine:
- search: `mnist-cnn tune --model fast --trials 8` with --parallel 1, then --parallel 2, on a local
  Ray; every trial does the same work (one epoch of the full training split at batch 128, no
  augmentation: the space file below fixes what costs time and searches the learning rate, warm-up,
  label smoothing and dropout), so ASHA cannot stop one run's trials and not the other's;
- ensemble: `mnist-cnn train --model fast --ensemble 2` one member after the other (no Ray), then
  --parallel 2 (two Ray tasks);
- throughput: training images per second of `fast` and `best` (benchmarks/throughput.py's measure)
  with KERAS_BACKEND=tensorflow and KERAS_BACKEND=jax, each backend in its own process.
Each command is timed as a user would see it, from start to exit. --quick runs the same on a subset
(2 trials, 2,000 images, 10 timed steps) to check the script; its figures mean nothing.
Writes benchmarks/results/scale.json (or --out FILE).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import machine  # noqa: E402

RESULTS = Path(__file__).parent / "results"
# What costs time is fixed, so every trial of both searches does the same work.
EQUAL_WORK_SPACE = {"epochs": 1, "batch_size": 128, "affine": 0.0, "pen_augmentation": 0.0, "pen_closing": 0.0}


def run_command(arguments: list[str], environment: dict | None = None) -> float:
    """Run `mnist-cnn ARGUMENTS` to completion; its wall seconds. Raises RuntimeError if it fails."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mnist_cnn.cli", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(environment or {})},
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"mnist-cnn {' '.join(arguments)} failed:\n{result.stderr[-2000:]}")
    return seconds


def time_search(parallel: int, trials: int, limit: list[str], data: list[str], folder: Path) -> dict:
    out = folder / f"search-parallel-{parallel}"
    space = folder / "space.json"
    space.write_text(json.dumps(EQUAL_WORK_SPACE))
    seconds = run_command(["tune", "--model", "fast", "--trials", str(trials), "--parallel", str(parallel),
                           "--space", str(space), "--out", str(out), *limit, *data])  # fmt: skip
    with (out / "trials.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    return {
        "wall_seconds": seconds,
        "trials": len(rows),
        "epochs_trained": sum(int(row["epochs_run"]) for row in rows),
        "trial_training_seconds": sum(float(row["seconds"]) for row in rows),
        "best_val_accuracy": max(float(row["best_val_accuracy"]) for row in rows),
    }


def time_ensemble(parallel: int, limit: list[str], epochs: list[str], data: list[str], folder: Path) -> dict:
    out = folder / f"ensemble-parallel-{parallel}"
    extra = ["--parallel", str(parallel)] if parallel > 1 else []
    seconds = run_command(["train", "--model", "fast", "--ensemble", "2", *extra, "--out", str(out), *limit, *epochs,
                           *data])  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "wall_seconds": seconds,
        "member_training_seconds": [member["seconds"] for member in metrics["members"]],
        "test_accuracy": metrics["test_accuracy"],
    }


def training_rate(backend: str, name: str, steps: int) -> float:
    """Training images/s of recipe ``name`` on Keras' ``backend``, measured in a fresh process."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"from throughput import training_rate; print(training_rate({name!r}, {steps}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{name} on {backend} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def compare(entry: dict, label: str, timed) -> None:
    """``timed(parallel)`` with 1 and then 2 runs at once into ``entry["parallel_1"]`` and ``["parallel_2"]``,
    and the ratio of their wall times into ``entry["ratio"]``."""
    for parallel in (1, 2):
        entry[f"parallel_{parallel}"] = timed(parallel)
        print(f"{label}, {parallel} at a time: {entry[f'parallel_{parallel}']['wall_seconds']:.1f} s", flush=True)
    entry["ratio"] = entry["parallel_2"]["wall_seconds"] / entry["parallel_1"]["wall_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run that checks the script (default: off)")
    parser.add_argument("--out", type=Path, help="result file (default: benchmarks/results/scale.json)")
    parser.add_argument("--data-dir", type=Path, help="MNIST folder (default: MNIST_CNN_DATA)")
    args = parser.parse_args()

    trials = 2 if args.quick else 8
    limit = ["--limit", "2000"] if args.quick else []
    epochs = ["--epochs", "1"] if args.quick else []  # the ensemble's members; fast's own is 3
    steps = 10 if args.quick else 60
    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "command": "python benchmarks/scale.py" + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "search": {"model": "fast", "trials": trials, "space": EQUAL_WORK_SPACE},
        "ensemble": {"model": "fast", "members": 2},
        "throughput": {"steps": steps},
    }
    with tempfile.TemporaryDirectory(prefix="mnist-cnn-scale-") as scratch:
        folder = Path(scratch)
        compare(result["search"], f"search, {trials} trials", lambda p: time_search(p, trials, limit, data, folder))
        compare(result["ensemble"], "ensemble of 2", lambda p: time_ensemble(p, limit, epochs, data, folder))
    for name in ("fast", "best"):
        rates = {backend: training_rate(backend, name, steps) for backend in ("tensorflow", "jax")}
        result["throughput"][name] = {**rates, "jax_to_tensorflow": rates["jax"] / rates["tensorflow"]}
        print(f"{name}: TensorFlow {rates['tensorflow']:.0f} images/s, JAX {rates['jax']:.0f} images/s", flush=True)
    print(f"search: 2 at a time took {result['search']['ratio']:.2f}x the wall time of 1 (goal: at most 0.6)")
    print(f"ensemble: 2 at a time took {result['ensemble']['ratio']:.2f}x the wall time of 1")
    target = args.out or RESULTS / "scale.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {target}")


if __name__ == "__main__":
    main()
