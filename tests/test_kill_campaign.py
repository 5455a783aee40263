"""A kill campaign: one short real training SIGKILLed at five moments (before the first epoch ends, during
an epoch, as an epoch ends, twice while the artifacts are written), rerun after each kill. The run must
finish with a continuous history, every artifact present and loadable, and at most one epoch redone per
kill. The moments are drawn from a seeded generator, so a failure can be replayed."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import partial_files

pytestmark = pytest.mark.slow

EPOCHS = 3
ARTIFACTS = ["model.keras", "CNN_mnist.h5", "history.csv", "accuracy_loss_plot.png", "confusion_matrix.png"]
ARTIFACTS += ["classification_report.txt", "misclassified.png", "metrics.json"]


def backup_epoch(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "backup" / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def history_rows(run_dir: Path) -> int:
    try:
        return max(0, len((run_dir / "history.csv").read_text().splitlines()) - 1)
    except OSError:
        return 0


def written_since(path: Path, started: float) -> bool:
    try:
        return path.stat().st_mtime >= started
    except OSError:
        return False


# (moment, whether it has come: f(run_dir, attempt start time, history rows at the start), longest extra delay in s)
MOMENTS = [
    ("before the first epoch ends", lambda run, started, rows: (run / ".mnist-cnn.lock").exists(), 4.0),
    ("during an epoch", lambda run, started, rows: backup_epoch(run) >= 1, 1.0),
    ("as an epoch ends", lambda run, started, rows: history_rows(run) > rows, 0.0),
    ("while saving the models", lambda run, started, rows: written_since(run / "model.keras", started), 0.3),
    ("while plotting", lambda run, started, rows: written_since(run / "accuracy_loss_plot.png", started), 0.3),
]


def start_training(run_dir: Path, mnist_dir: Path, log: Path) -> subprocess.Popen:
    # About 2 s an epoch on 2 busy cores: long enough to be killed inside, short enough for CI.
    args = ["train", "--model", "fast", "--epochs", str(EPOCHS), "--limit", "6000", "--batch-size", "32"]
    args += ["--data-dir", str(mnist_dir), "--out", str(run_dir)]
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "mnist_cnn.cli", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"},  # no lost lines on a kill
        )


def kill_when(process: subprocess.Popen, run_dir: Path, has_come, delay: float, timeout: float = 300) -> None:
    """SIGKILL ``process`` ``delay`` seconds after ``has_come`` first holds; fail if it ends before that."""
    started, rows = time.time(), history_rows(run_dir)
    while not has_come(run_dir, started, rows):
        assert process.poll() is None, "the run ended before the moment to kill it came"
        assert time.time() - started < timeout, "the moment to kill never came"
        time.sleep(0.01)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()


def epochs_begun(log: Path) -> int:
    return sum(line.startswith("Epoch ") for line in log.read_text().splitlines())


def test_a_training_killed_five_times_finishes_whole_with_a_continuous_history(mnist_dir, tmp_path):
    import keras
    from PIL import Image

    rng = random.Random(14)
    run_dir = tmp_path / "run"
    begun = 0
    for attempt, (moment, has_come, longest_delay) in enumerate(MOMENTS):
        log = tmp_path / f"attempt-{attempt}.log"
        kill_when(start_training(run_dir, mnist_dir, log), run_dir, has_come, rng.uniform(0, longest_delay))
        begun += epochs_begun(log)
        assert not (run_dir / "metrics.json").exists(), f"killed {moment}, but the run had already finished"

    log = tmp_path / "final.log"
    final = start_training(run_dir, mnist_dir, log)
    assert final.wait(timeout=600) == 0, log.read_text()
    begun += epochs_begun(log)

    assert "Resuming" in log.read_text()
    assert begun <= EPOCHS + len(MOMENTS), f"{begun} epochs begun for {EPOCHS} epochs and {len(MOMENTS)} kills"
    epochs = [line.split(",")[0] for line in (run_dir / "history.csv").read_text().splitlines()[1:]]
    assert epochs == [str(epoch) for epoch in range(EPOCHS)]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == EPOCHS and metrics["test_accuracy"] > 0.5
    for name in ARTIFACTS:
        assert (run_dir / name).stat().st_size > 0, name
    keras.models.load_model(run_dir / "model.keras")
    keras.models.load_model(run_dir / "CNN_mnist.h5", compile=False)
    for name in ("accuracy_loss_plot.png", "confusion_matrix.png", "misclassified.png"):
        Image.open(run_dir / name).verify()
    leftovers = {"backup", "best.weights.h5", ".mnist-cnn.lock"} & {path.name for path in run_dir.iterdir()}
    assert partial_files(run_dir) == [] and leftovers == set()
