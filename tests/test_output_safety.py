"""Commands on locked folders and on real full or read-only disks: one line, exit 2, nothing half-written."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import fill_disk, partial_files, run_cli
from mnist_cnn.cli import main
from mnist_cnn.data import cache_dir
from test_files import hold_lock


def one_line_error(capfd, argv) -> str:
    """Run the CLI in this process; assert exit 2 and one line on stderr; return that line."""
    code = main(argv)
    lines = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    return lines[0]


def test_train_into_a_folder_being_trained_names_the_process(tmp_path, mnist_dir, capfd):
    holder = hold_lock(tmp_path / "same")
    try:
        line = one_line_error(capfd, ["train", "--out", str(tmp_path / "same"), "--data-dir", str(mnist_dir)])
    finally:
        holder.kill()
        holder.wait()
    assert line == f"error: {tmp_path / 'same'}/ is being trained by process {holder.pid}; wait for it to end"


def test_export_into_a_locked_folder_is_refused(tmp_path, mnist_dir, capfd):
    holder = hold_lock(tmp_path / "exported")
    try:
        line = one_line_error(capfd, ["export", "--model", "seed", "--out", str(tmp_path / "exported")])
    finally:
        holder.kill()
        holder.wait()
    assert f"exported/ is being trained by process {holder.pid}" in line
    assert [path.name for path in (tmp_path / "exported").iterdir()] == [".mnist-cnn.lock"]  # the holder's


def test_a_second_download_into_the_cache_is_refused(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_CNN_DATA", "")
    (cache_dir("mnist")).mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", DOWNLOAD_HOLDER, str(cache_dir("mnist"))], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    try:
        line = one_line_error(capfd, ["data", "fetch"])
    finally:
        holder.kill()
        holder.wait()
    assert line == f"error: {cache_dir('mnist')}/ is being downloaded into by process {holder.pid}; wait for it to end"


DOWNLOAD_HOLDER = """
import sys, time
from mnist_cnn.files import folder_lock
with folder_lock(sys.argv[1], "downloaded into"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_evaluate_reports_on_a_real_full_disk_fail_in_one_line_and_leave_no_partial(small_disk, mnist_dir, capfd):
    fill_disk(small_disk, leave_bytes=16_000)  # the reports are about 150 kB
    line = one_line_error(
        capfd, ["evaluate", "--model", "seed", "--data-dir", str(mnist_dir), "--out", str(small_disk / "reports")]
    )
    assert "no space left on the disk; free some space or choose a folder on another disk" in line
    assert str(small_disk / "reports") in line and partial_files(small_disk) == []


def test_train_on_a_nearly_full_disk_is_refused_before_loading_data(small_disk, mnist_dir, capfd):
    line = one_line_error(capfd, ["train", "--out", str(small_disk / "run"), "--data-dir", str(mnist_dir)])
    assert "MB free on its disk and about 50 MB needed" in line


def test_predict_csv_on_a_read_only_disk_is_refused_before_reading_images(read_only_disk, tmp_path, capfd):
    line = one_line_error(capfd, ["predict", str(tmp_path / "any.png"), "--csv", str(read_only_disk / "out.csv")])
    assert line == f"error: cannot write {read_only_disk}: the disk is read-only; choose a folder on a writable disk"


@pytest.mark.slow
def test_two_trainings_into_one_folder_one_trains_the_other_stops_at_once(mnist_dir, tmp_path):
    run_dir = tmp_path / "same"
    args = ["train", "--epochs", "1", "--limit", "2000", "--batch-size", "64"]
    args += ["--data-dir", str(mnist_dir), "--out", str(run_dir)]
    first = subprocess.Popen(
        [sys.executable, "-m", "mnist_cnn.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    deadline = time.monotonic() + 120
    while not (run_dir / ".mnist-cnn.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    second = run_cli(*args)
    stdout, stderr = first.communicate(timeout=300)
    assert second.returncode == 2 and second.stderr.strip().splitlines() == [
        f"error: {run_dir}/ is being trained by process {first.pid}; wait for it to end"
    ]
    assert first.returncode == 0, stderr
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 1
    assert len((run_dir / "history.csv").read_text().splitlines()) == 2  # header and one epoch
