"""Training and inference images per second for the seed, fast and best recipes, against the machine's peak.

Usage: .venv/bin/python benchmarks/throughput.py [--steps 60]

Each recipe trains for --steps steps at its own batch size (after 10 warm-up steps) on random
images, through the same compiled model and optimizer as `mnist-cnn train`; inference is Keras
`predict` at batch 1,024. GFLOP/s counts a training step as three forward passes (forward, and
the two products of the backward pass) and is shown as a fraction of a large float32 matmul's
GFLOP/s measured in the same run. Writes benchmarks/results/throughput.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

from common import machine, matmul_peak_gflops, write_result  # noqa: E402

RECIPE_NAMES = ("seed", "fast", "best")


def training_rate(name: str, steps: int) -> float:
    import tensorflow as tf

    from mnist_cnn.training import TrainConfig, build_for_training, compile_model

    config = TrainConfig(model=name).resolved()
    fit_model, _ = build_for_training(config)
    compile_model(fit_model, config, steps_per_epoch=1000)
    rng = np.random.default_rng(0)
    images = rng.random((config.batch_size, 28, 28, 1), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, config.batch_size)]
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat()
    fit_model.fit(dataset, steps_per_epoch=10, epochs=1, shuffle=False, verbose=0)
    started = time.perf_counter()
    fit_model.fit(dataset, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return steps * config.batch_size / (time.perf_counter() - started)


def inference_rate(name: str, seconds: float = 3.0) -> float:
    from mnist_cnn import models

    model = models.build_model(name)
    batch = np.random.default_rng(0).random((1024, 28, 28, 1), dtype=np.float32)
    model.predict(batch, batch_size=1024, verbose=0)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        model.predict(batch, batch_size=1024, verbose=0)
        done += len(batch)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed training steps per recipe (default: 60)")
    args = parser.parse_args()

    from mnist_cnn import models

    peak = matmul_peak_gflops()
    print(f"machine peak (float32 2048^3 matmul): {peak:.1f} GFLOP/s")
    rows = {}
    for name in RECIPE_NAMES:
        flops = models.forward_flops(models.build_model(name))
        train_rate, infer_rate = training_rate(name, args.steps), inference_rate(name)
        rows[name] = {
            "forward_mflops": flops / 1e6,
            "batch_size": models.recipe(name).batch_size,
            "train_images_per_second": train_rate,
            "train_gflops": train_rate * 3 * flops / 1e9,
            "train_fraction_of_peak": train_rate * 3 * flops / 1e9 / peak,
            "inference_images_per_second": infer_rate,
            "inference_gflops": infer_rate * flops / 1e9,
            "inference_fraction_of_peak": infer_rate * flops / 1e9 / peak,
        }
        row = rows[name]
        print(
            f"{name:5} {flops / 1e6:5.1f} MFLOP/image  train {train_rate:7.0f} img/s "
            f"({row['train_gflops']:5.1f} GFLOP/s, {row['train_fraction_of_peak']:.0%} of peak)  "
            f"inference {infer_rate:7.0f} img/s ({row['inference_gflops']:5.1f} GFLOP/s, "
            f"{row['inference_fraction_of_peak']:.0%} of peak)",
            flush=True,
        )
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python benchmarks/throughput.py" + (f" --steps {args.steps}" if args.steps != 60 else ""),
        "peak_gflops": peak,
        "recipes": rows,
    }
    write_result("throughput", result)


if __name__ == "__main__":
    main()
