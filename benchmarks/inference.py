"""Inference speed of every shipped model on every runtime, held against the machine's compute limit.

Usage: .venv/bin/python benchmarks/inference.py [--calls 1000] [--data-dir DIR]

For each shipped model and runtime: one-image latency (p50, p99 over --calls calls after warm-up),
throughput at batch 1, 32 and 1,024, the model file's size; Keras `model.predict` on one image for
comparison; the cold wall time of `mnist-cnn predict digit.png` against `python -c "import tensorflow"`;
a large float32 matmul's GFLOP/s, so every figure is also a fraction of what the hardware allows.
Writes benchmarks/results/inference.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

from common import machine, matmul_peak_gflops, percentile_ms, write_result  # noqa: E402

BATCHES = (1, 32, 1024)


def one_image_latency(classifier, images: np.ndarray, calls: int) -> list[float]:
    for image in images[:50]:
        classifier.probabilities(image[None])
    timings = []
    for index in range(calls):
        image = images[index % len(images)][None]
        started = time.perf_counter()
        classifier.probabilities(image)
        timings.append(time.perf_counter() - started)
    return timings


def throughput(classifier, images: np.ndarray, batch: int, seconds: float = 2.0) -> float:
    batch_images = images[:batch]
    classifier.probabilities(batch_images)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        classifier.probabilities(batch_images)
        done += batch
    return done / (time.perf_counter() - started)


def keras_predict_latency(path: Path, images: np.ndarray, calls: int = 100) -> list[float]:
    import keras

    model = keras.models.load_model(path, compile=False)
    batch = images[:1, ..., None].astype(np.float32) / 255
    for _ in range(5):
        model.predict(batch, verbose=0)
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        model.predict(batch, verbose=0)
        timings.append(time.perf_counter() - started)
    return timings


def cold_wall_seconds(command: list[str], runs: int = 5) -> float:
    timings = []
    for _ in range(runs + 1):  # the first run warms the page cache and is not counted
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="one-image calls per runtime (default: 1000)")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    args = parser.parse_args()

    import keras

    from mnist_cnn import data, models
    from mnist_cnn.prediction import RUNTIME_FILES, RUNTIMES, SHIPPED_DIR, installed, load_model, shipped_models

    images = data.load_dataset("mnist", args.data_dir).test_images
    peak = matmul_peak_gflops()
    print(f"machine peak (float32 2048^3 matmul): {peak:.1f} GFLOP/s")
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python benchmarks/inference.py" + (f" --calls {args.calls}" if args.calls != 1000 else ""),
        "peak_gflops": peak,
        "models": {},
    }
    for name in shipped_models():
        flops = models.forward_flops(keras.models.load_model(SHIPPED_DIR / name / "model.keras", compile=False))
        limit_ms = flops / (peak * 1e9) * 1000
        entry = {"forward_flops": flops, "compute_limit_ms": limit_ms, "runtimes": {}}
        keras_timings = keras_predict_latency(SHIPPED_DIR / name / "model.keras", images)
        entry["keras_model_predict_p50_ms"] = percentile_ms(keras_timings, 50)
        print(
            f"\n{name}: {flops / 1e6:.1f} MFLOP per image, compute limit {limit_ms:.3f} ms; "
            f"Keras model.predict on one image: p50 {entry['keras_model_predict_p50_ms']:.2f} ms"
        )
        for runtime in RUNTIMES:
            if not installed(runtime):
                continue
            classifier = load_model(name, runtime=runtime)
            timings = one_image_latency(classifier, images, args.calls)
            rates = {batch: throughput(classifier, images, batch) for batch in BATCHES}
            row = {
                "file_bytes": (SHIPPED_DIR / name / RUNTIME_FILES[runtime]).stat().st_size,
                "p50_ms": percentile_ms(timings, 50),
                "p99_ms": percentile_ms(timings, 99),
                "images_per_second": {str(batch): rate for batch, rate in rates.items()},
                "gflops_at_batch": {str(batch): rate * flops / 1e9 for batch, rate in rates.items()},
            }
            row["p50_over_limit"] = row["p50_ms"] / limit_ms
            row["speedup_over_keras_predict"] = entry["keras_model_predict_p50_ms"] / row["p50_ms"]
            row["fraction_of_peak_at_batch_1024"] = row["gflops_at_batch"]["1024"] / peak
            entry["runtimes"][runtime] = row
            print(
                f"  {runtime:7} p50 {row['p50_ms']:.3f} ms ({row['p50_over_limit']:.1f}x limit, "
                f"{row['speedup_over_keras_predict']:.0f}x faster than model.predict)  p99 {row['p99_ms']:.3f} ms  "
                + "  ".join(f"b{batch} {rate:,.0f}/s" for batch, rate in rates.items())
                + f"  ({row['fraction_of_peak_at_batch_1024']:.0%} of peak at b1024)  "
                f"{row['file_bytes'] / 1e6:.2f} MB"
            )
        results["models"][name] = entry

    with tempfile.TemporaryDirectory() as scratch:
        digit = Path(scratch) / "digit.png"
        from PIL import Image

        Image.fromarray(255 - images[0]).resize((280, 280)).save(digit)
        cli = str(Path(sys.executable).parent / "mnist-cnn")
        predict_seconds = cold_wall_seconds([cli, "predict", str(digit)])
        import_seconds = cold_wall_seconds([sys.executable, "-c", "import tensorflow"])
    results["cold_cli_predict_seconds"] = predict_seconds
    results["cold_import_tensorflow_seconds"] = import_seconds
    results["cold_ratio"] = predict_seconds / import_seconds
    print(
        f"\ncold `mnist-cnn predict digit.png`: {predict_seconds:.2f} s; `import tensorflow`: {import_seconds:.2f} s "
        f"(ratio {results['cold_ratio']:.2f})"
    )
    write_result("inference", results)


if __name__ == "__main__":
    main()
