"""Hyperparameter search (tuning.py): the search space and its file, wrong invocations, and real searches
of `fast` on a small subset under a local Ray and on a two-node Ray cluster on this machine's loopback."""

import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import main_fails, partial_files, run_cli
from mnist_cnn import tuning
from mnist_cnn.errors import ModelError, UsageError
from mnist_cnn.training import RECIPE_SETTINGS, TrainConfig

# One epoch per trial and no pen augmentation: the quickest trials that still run the whole path.
QUICK_SPACE = {"epochs": 1, "pen_augmentation": 0.0, "pen_closing": 0.0}  # no RandomPen: nothing to close


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The space -------------------------------------------------------------------------------------


def test_the_default_space_searches_every_recipe_setting_around_the_recipes_own():
    space = tuning.default_space("fast")
    assert set(space) == set(RECIPE_SETTINGS)
    assert space["epochs"] == {"int": [1, 4]} and space["batch_size"] == {"choice": [64, 128, 256]}
    low, high = space["learning_rate"]["log_uniform"]
    assert low < 0.01 < high
    # The recipe's own settings are inside it, so they are the first trial.
    assert tuning.recipe_point(space, "fast") == {
        name: value for name, value in tuning.recipe_settings("fast").items() if isinstance(space[name], dict)
    }


def test_a_space_file_replaces_the_ranges_it_names_and_fixes_plain_values(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"learning_rate": {"log_uniform": [0.001, 0.1]}, "dropout": 0.1}))
    space = tuning.read_space(path, "fast")
    assert space["learning_rate"] == {"log_uniform": [0.001, 0.1]} and space["dropout"] == 0.1
    assert space["batch_size"] == tuning.default_space("fast")["batch_size"]
    assert "dropout" not in tuning.searched(space)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object of settings"),
        ('{"momentum": 0.9}', "unknown setting 'momentum'; settings are: epochs, batch_size"),
        ('{"dropout": {"normal": [0, 1]}}', "dropout: expected a value or one of 'log_uniform'"),
        ('{"dropout": {"uniform": [0.5, 0.1]}}', "dropout: low must be below high"),
        ('{"dropout": {"uniform": [0.1]}}', "dropout: uniform takes [low, high]"),
        ('{"dropout": {"uniform": [0, 1.5]}}', "dropout must be in [0, 1); received 1.5"),
        ('{"learning_rate": {"log_uniform": [0, 0.1]}}', "learning_rate must be in (0, 1]; received 0"),
        ('{"epochs": {"uniform": [1, 3]}}', 'epochs: a whole number: use {"int": [low, high]}'),
        ('{"batch_size": {"choice": [64, 64]}}', "batch_size: choice lists a value twice"),
        ('{"batch_size": 12.5}', "batch_size: expected a whole number; received 12.5"),
        ('{"label_smoothing": "high"}', 'label_smoothing: expected a number; received "high"'),
    ],
)
def test_a_bad_space_file_is_refused_naming_the_file_and_the_setting(tmp_path, content, message):
    path = tmp_path / "space.json"
    path.write_text(content)
    with pytest.raises(UsageError) as raised:
        tuning.read_space(path, "fast")
    assert str(raised.value).startswith(f"--space {path}") and message in str(raised.value)


def test_a_search_names_one_known_recipe_and_a_reachable_target():
    with pytest.raises(ModelError, match="unknown model 'vgg'"):
        tuning.SearchConfig(model="vgg").check()
    with pytest.raises(UsageError, match="a search tunes one recipe"):
        tuning.SearchConfig(model="fast,seed").check()
    with pytest.raises(UsageError, match="--target must be a validation accuracy between 0 and 1"):
        tuning.SearchConfig(target=99.0).check()


@pytest.mark.parametrize(
    "arguments, message",
    [
        ("--model vgg", "unknown model 'vgg'"),
        ("--model fast --space {tmp}/missing.json", "missing.json: cannot read"),
        ("--model fast --target 1.5", "--target must be a validation accuracy between 0 and 1; received 1.5"),
        ("--model fast --parallel 0", "--parallel: expected a positive number, received 0"),
        ("--model fast --address 127.0.0.1:{closed}", "no Ray cluster answers there"),
        ("--model fast --address ray://127.0.0.1:10001", "Ray Client addresses are not supported"),
        ("--model fast --address nowhere", "--address must be HOST:PORT"),
        ("--model fast --out {tmp}/afile", "afile is a file, not a folder; choose another --out"),
        ("--model fast --out {tmp}/cluttered", "cluttered is not empty and holds no search"),
    ],
)
def test_a_wrong_tune_invocation_exits_2_with_one_line_and_writes_nothing(
    arguments, message, tmp_path, mnist_dir, capfd
):
    (tmp_path / "afile").write_text("a file where a folder belongs")
    (tmp_path / "cluttered").mkdir()
    (tmp_path / "cluttered" / "notes.txt").write_text("not a search")
    before = sorted(tmp_path.rglob("*"))
    argv = ["tune", "--trials", "2", "--out", str(tmp_path / "search"), "--data-dir", str(mnist_dir)]
    argv += arguments.format(tmp=tmp_path, closed=free_port()).split()
    line = main_fails(argv, capfd)
    assert message.format(tmp=tmp_path) in line, line
    assert sorted(tmp_path.rglob("*")) == before and partial_files(tmp_path) == []


# --- Real searches ---------------------------------------------------------------------------------


def search_arguments(out: Path, space: Path, data_dir: Path, *extra: str) -> list[str]:
    space.write_text(json.dumps(QUICK_SPACE))
    return ["tune", "--model", "fast", "--trials", "2", "--limit", "1000", "--space", str(space), "--out", str(out),
            "--data-dir", str(data_dir), *extra]  # fmt: skip


@pytest.mark.slow
def test_a_search_under_local_ray_continues_after_an_interruption_and_its_best_trains(mnist_dir, tmp_path):
    out = tmp_path / "search"
    args = search_arguments(out, tmp_path / "space.json", mnist_dir)
    # Interrupt (Ctrl-C) once the first trial has finished; what finished is kept.
    process = subprocess.Popen([sys.executable, "-m", "mnist_cnn.cli", *args], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    deadline = time.monotonic() + 600
    for line in process.stdout:
        if line.startswith("trial ") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=300)
    assert process.returncode == 130
    interrupted = read_rows(out / "trials.csv")
    assert [row["status"] for row in interrupted].count("finished") == 1

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Continuing the search in" in result.stdout and "1 of 2 trials finished" in result.stdout
    rows = read_rows(out / "trials.csv")
    assert [row["status"] for row in rows] == ["finished", "finished"]
    assert rows[0]["trial_id"] == next(row["trial_id"] for row in interrupted if row["status"] == "finished")
    # The first trial is the recipe's own settings; the other is Optuna's.
    assert (float(rows[0]["learning_rate"]), int(rows[0]["batch_size"]), float(rows[0]["label_smoothing"])) == (
        0.01, 128, 0.1)  # fmt: skip
    assert rows[1]["learning_rate"] != rows[0]["learning_rate"]
    for row in rows:
        assert 0.5 < float(row["best_val_accuracy"]) <= 1 and float(row["seconds"]) > 0
    curves = read_rows(out / "curves.csv")
    assert [(row["trial"], row["epoch"]) for row in curves] == [("1", "1"), ("2", "1")]
    assert (out / "search.png").stat().st_size > 10_000 and partial_files(out) == []
    summary = json.loads((out / "search.json").read_text())
    assert summary["trials_finished"] == 2 and summary["search"]["limit"] == 1000

    best = json.loads((out / "best.json").read_text())
    assert set(best) == {"model", "dataset", *RECIPE_SETTINGS} and best["model"] == "fast"
    run_dir = tmp_path / "trained"
    trained = run_cli("train", "--config", str(out / "best.json"), "--limit", "1000", "--batch-size", "64",
                      "--data-dir", str(mnist_dir), "--out", str(run_dir))  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    config = json.loads((run_dir / "metrics.json").read_text())["config"]
    # The file's settings, except where the command line says otherwise.
    assert config == TrainConfig(**{**best, "limit": 1000, "batch_size": 64}).resolved().__dict__


@pytest.fixture
def loopback_cluster(tmp_path):
    """A two-node Ray cluster on this machine's loopback, each node with 1 CPU, token authentication on
    with a token made for the test. Yields (its address, the environment to reach it with).

    Ray replaces 127.0.0.1 given as a node's address with the machine's network address, so the head
    takes 127.0.0.2; the worker node and the driver find their own address from the head's: 127.0.0.1.
    Both nodes are stopped by their process groups at the end, and the head's session folder removed."""
    ray = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    address = f"127.0.0.2:{port}"
    environment = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",  # stop at once when the test is done
    }
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    nodes = []

    def start(name, *arguments):
        command = [ray, "start", "--num-cpus", "1", "--block", "--disable-usage-stats", *arguments]
        log = (tmp_path / f"{name}.log").open("w")
        node = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
        nodes.append(node)

    try:
        start("head", "--head", "--node-ip-address", "127.0.0.2", "--port", str(port), "--include-dashboard", "false",
              "--temp-dir", temp_dir)  # fmt: skip
        start("worker", "--address", address)
        deadline = time.monotonic() + 180
        status = ""
        while status.count(" node_") < 2:
            if time.monotonic() > deadline:
                pytest.fail(f"the two-node cluster did not come up: {status}")
            time.sleep(2)
            status = subprocess.run([ray, "status", "--address", address], capture_output=True, text=True,
                                    env=environment).stdout  # fmt: skip
        yield address, environment
    finally:
        for node in reversed(nodes):
            os.killpg(node.pid, signal.SIGTERM)
        for node in reversed(nodes):
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_a_search_runs_on_a_two_node_ray_cluster_given_its_address(loopback_cluster, mnist_dir, tmp_path):
    address, environment = loopback_cluster
    out = tmp_path / "search"
    args = search_arguments(out, tmp_path / "space.json", mnist_dir, "--parallel", "2", "--address", address)
    result = subprocess.run([sys.executable, "-m", "mnist_cnn.cli", *args], capture_output=True, text=True,
                            env=environment, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 at a time, on 2 Ray nodes (2 CPUs)" in result.stdout
    rows = read_rows(out / "trials.csv")
    assert [row["status"] for row in rows] == ["finished", "finished"]
    # One trial on each node: each has 1 CPU and each trial takes 1.
    assert {row["node_ip"] for row in rows} == {"127.0.0.1", "127.0.0.2"}
    assert (out / "best.json").exists()
