"""Inference speed of every shipped model on every runtime, held against the machine's compute limit.

Usage: .venv/bin/python benchmarks/inference.py [--calls 1000] [--repeat 3] [--data-dir DIR]

For each shipped model and runtime: one-image latency (p50, p99 over --calls calls after warm-up),
throughput at batch 1, 32 and 1,024, the model file's size; Keras `model.predict` on one image for
comparison; the cold wall time of `mnist-cnn predict digit.png` against `python -c "import tensorflow"`;
a large float32 matmul's GFLOP/s, so every figure is also a fraction of what the hardware allows.
A shared machine is noisy: latency and throughput run --repeat rounds, each with its own peak
measurement; each reported figure is the median over the rounds of that figure (a p99 is the median
of the rounds' p99s, a fraction of peak the median of the rounds' fractions, kept per round too).
Keras model.predict and the cold starts are measured once; they are slower by orders of magnitude.
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

    from mnist_cnn.preprocessing import model_input

    model = keras.models.load_model(path, compile=False)
    batch = model_input(images[:1])
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


def measure_round(classifiers: dict, images: np.ndarray, calls: int) -> dict:
    """One pass over every (model, runtime): the machine's peak first, then each one's figures."""
    peak = matmul_peak_gflops()
    print(f"  machine peak (float32 2048^3 matmul): {peak:.1f} GFLOP/s")
    rows = {}
    for (name, runtime), (classifier, flops) in classifiers.items():
        timings = one_image_latency(classifier, images, calls)
        rates = {batch: throughput(classifier, images, batch) for batch in BATCHES}
        rows[name, runtime] = {
            "p50_ms": percentile_ms(timings, 50),
            "p99_ms": percentile_ms(timings, 99),
            "rates": rates,
            "fraction_of_peak_at_batch_1024": rates[1024] * flops / 1e9 / peak,
        }
        print(
            f"  {name:14} {runtime:7} p50 {rows[name, runtime]['p50_ms']:.3f} ms  "
            + "  ".join(f"b{batch} {rate:,.0f}/s" for batch, rate in rates.items())
            + f"  ({rows[name, runtime]['fraction_of_peak_at_batch_1024']:.0%} of peak at b1024)"
        )
    return {"peak": peak, "rows": rows}


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="one-image calls per runtime (default: 1000)")
    parser.add_argument(
        "--repeat", type=positive, default=3, help="measurement rounds; every figure is their median (default: 3)"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    args = parser.parse_args()

    import keras

    from mnist_cnn import data, models
    from mnist_cnn.runtimes import RUNTIME_FILES, RUNTIMES, SHIPPED_DIR, installed, load_model, shipped_models

    images = data.load_dataset("mnist", args.data_dir).test_images
    command = "python benchmarks/inference.py" + (f" --calls {args.calls}" if args.calls != 1000 else "")
    command += f" --repeat {args.repeat}" if args.repeat != 3 else ""
    results = {"date": datetime.now().isoformat(timespec="seconds"), "machine": machine(), "command": command}
    entries, classifiers = {}, {}
    for name in shipped_models():
        flops = models.forward_flops(keras.models.load_model(SHIPPED_DIR / name / "model.keras", compile=False))
        keras_timings = keras_predict_latency(SHIPPED_DIR / name / "model.keras", images)
        entries[name] = {
            "forward_flops": flops,
            "keras_model_predict_p50_ms": percentile_ms(keras_timings, 50),
            "runtimes": {},
        }
        print(
            f"{name}: {flops / 1e6:.1f} MFLOP per image; Keras model.predict on one image: p50 "
            f"{entries[name]['keras_model_predict_p50_ms']:.2f} ms"
        )
        for runtime in RUNTIMES:
            if installed(runtime) and (SHIPPED_DIR / name / RUNTIME_FILES[runtime]).is_file():  # ensemble: no ONNX
                classifiers[name, runtime] = (load_model(name, runtime=runtime), flops)

    rounds = []
    for index in range(args.repeat):
        print(f"round {index + 1} of {args.repeat}")
        rounds.append(measure_round(classifiers, images, args.calls))

    peak = statistics.median(round_["peak"] for round_ in rounds)
    results["peak_gflops"] = peak
    results["peak_gflops_per_round"] = [round_["peak"] for round_ in rounds]
    print(f"\nmedians of {args.repeat} rounds; peak {peak:.1f} GFLOP/s")
    for entry in entries.values():
        entry["compute_limit_ms"] = entry["forward_flops"] / (peak * 1e9) * 1000
    for name, runtime in classifiers:
        entry = entries[name]
        flops, limit_ms = entry["forward_flops"], entry["compute_limit_ms"]
        measured = [round_["rows"][name, runtime] for round_ in rounds]
        rates = {batch: statistics.median(row["rates"][batch] for row in measured) for batch in BATCHES}
        fractions = [row["fraction_of_peak_at_batch_1024"] for row in measured]
        row = {
            "file_bytes": (SHIPPED_DIR / name / RUNTIME_FILES[runtime]).stat().st_size,
            "p50_ms": statistics.median(row["p50_ms"] for row in measured),
            "p99_ms": statistics.median(row["p99_ms"] for row in measured),
            "images_per_second": {str(batch): rate for batch, rate in rates.items()},
            "gflops_at_batch": {str(batch): rate * flops / 1e9 for batch, rate in rates.items()},
            "fraction_of_peak_at_batch_1024": statistics.median(fractions),
            "fraction_of_peak_at_batch_1024_per_round": fractions,
        }
        row["p50_over_limit"] = row["p50_ms"] / limit_ms
        row["speedup_over_keras_predict"] = entry["keras_model_predict_p50_ms"] / row["p50_ms"]
        entry["runtimes"][runtime] = row
        print(
            f"  {name:14} {runtime:7} p50 {row['p50_ms']:.3f} ms ({row['p50_over_limit']:.1f}x limit "
            f"{limit_ms:.3f} ms, {row['speedup_over_keras_predict']:.0f}x faster than model.predict)  "
            f"p99 {row['p99_ms']:.3f} ms  "
            + "  ".join(f"b{batch} {rate:,.0f}/s" for batch, rate in rates.items())
            + f"  ({row['fraction_of_peak_at_batch_1024']:.0%} of peak at b1024; rounds "
            + ", ".join(f"{fraction:.0%}" for fraction in fractions)
            + f")  {row['file_bytes'] / 1e6:.2f} MB"
        )
    results["models"] = entries

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
