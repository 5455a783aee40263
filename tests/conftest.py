"""Shared fixtures: synthetic IDX files, the real data folder, and one short real training run."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (gzipped when ``compress``)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    content = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


@pytest.fixture
def synthetic_folder(tmp_path):
    """A folder with four small, well-formed IDX files (random digits, 20 train and 10 test)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(10))
    return folder


class Constant:
    """A stand-in classifier: every image gets probability 1 for ``digit`` (the specialist readers' tests)."""

    def __init__(self, digit: int, name: str = "stand-in"):
        self.digit, self.name, self.path, self.runtime = digit, name, Path("nowhere"), "onnx"

    def probabilities(self, images):
        rows = np.zeros((len(images), 10), np.float32)
        rows[:, self.digit] = 1
        return rows


def real_data_dir() -> Path:
    folder = Path(os.environ.get("MNIST_CNN_DATA") or ROOT.parent / "shared" / "mnist")
    if not (folder / "t10k-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the real MNIST data is missing from {folder}")
        pytest.skip(f"real MNIST data not found in {folder}; set MNIST_CNN_DATA")
    return folder


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return real_data_dir()


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 900):
    """Run the installed ``mnist-cnn`` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "mnist_cnn.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def quick_run(mnist_dir, tmp_path_factory) -> Path:
    """One short real training run on a subset (12,000 images, 2 epochs of batch 32: enough steps for
    BatchNorm's moving statistics to settle), shared by the integration tests."""
    run_dir = tmp_path_factory.mktemp("runs") / "quick"
    result = run_cli("train", "--model", "seed", "--epochs", "2", "--limit", "12000", "--batch-size", "32",
                     "--data-dir", str(mnist_dir), "--out", str(run_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return run_dir


def mount_tmpfs(folder: Path, size: str, read_only: bool = False) -> bool:
    """Mount a small tmpfs on ``folder`` (root only); False where the machine does not allow it."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    except OSError:
        return False
    return result.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A real 512 kB file system (tmpfs) to fill up; the test skips where mounting is not allowed
    (not root, no tmpfs), and the simulated tests in test_files.py cover the same paths."""
    folder = tmp_path / "small-disk"
    if not mount_tmpfs(folder, "512k"):
        pytest.skip("cannot mount a tmpfs here (needs root); the simulated full-disk tests still run")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def read_only_disk(tmp_path):
    """A real read-only file system (tmpfs mounted ro); skips where mounting is not allowed."""
    folder = tmp_path / "read-only-disk"
    if not mount_tmpfs(folder, "64k", read_only=True):
        pytest.skip("cannot mount a tmpfs here (needs root); the simulated read-only tests still run")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill_disk(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of ``folder`` until about ``leave_bytes`` are free."""
    import shutil

    free = shutil.disk_usage(folder).free
    (folder / "filler").write_bytes(bytes(max(0, free - leave_bytes)))


def partial_files(folder: Path) -> list[Path]:
    """Temporary files an atomic write left behind anywhere under ``folder``."""
    return [path for path in Path(folder).rglob("*") if "partial" in path.name]


def main_fails(argv: list[str], capfd) -> str:
    """Run ``mnist-cnn ARGV`` in this process; assert it exits 2 with one line on stderr and no
    traceback; return that line."""
    from mnist_cnn.cli import main

    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's errors end here
        code = exit.code
    captured = capfd.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (code, captured.err)
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]
