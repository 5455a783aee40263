"""Helpers shared by the benchmark scripts: the machine's description and its measured peak."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def machine() -> dict:
    from mnist_cnn.runtimes import usable_cores

    model_name = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model_name = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": model_name or "unknown",
        "cores": usable_cores(),  # the cores this run may use (taskset pins a benchmark to one)
        "cores_on_machine": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def matmul_peak_gflops(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of the best of ``repeats`` float32 (size x size) @ (size x size) products.

    This is the compute limit every latency and throughput figure is held against.
    """
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b  # warm-up: thread pool start, page faults
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def write_result(name: str, result: dict) -> Path:
    """Write one benchmark's figures to benchmarks/results/NAME.json."""
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    target = results / f"{name}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    return target
