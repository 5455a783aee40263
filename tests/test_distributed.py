"""Training past one process (distributed.py): ensemble members as Ray tasks, one model data-parallel
across two JAX processes on loopback, and the JAX backend for train, evaluate and export."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import main_fails, partial_files, run_cli
from mnist_cnn.distributed import RayCluster

JAX = {"KERAS_BACKEND": "jax"}
QUICK = ["--epochs", "1", "--limit", "1000"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_share_of_the_cluster_always_fits_parallel_times():
    cluster = RayCluster(cpus=2.0, gpus=0.0, nodes=1)
    assert cluster.share(3) == {"num_cpus": 0.6666, "num_gpus": 0.0} and 3 * 0.6666 <= 2
    assert cluster.share(2)["num_cpus"] == 1.0 and cluster.threads(2) == 1 and cluster.threads(1) == 2
    assert RayCluster(cpus=1.0, gpus=0.0, nodes=1).threads(2) == 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        ("--parallel 2", "--parallel and --address train an ensemble's members side by side; add --ensemble K"),
        ("--ensemble 2 --parallel 0", "--parallel: expected a positive number, received 0"),
        ("--ensemble 2 --address 127.0.0.1:{closed}", "no Ray cluster answers there"),
        ("--ensemble 2 --address nowhere", "--address must be HOST:PORT"),
        ("--model fast,seed", "--model fast,seed names 2 models: mixing recipes needs --ensemble K"),
        ("--model fast,vgg --ensemble 2", "unknown model 'vgg'"),
        ("--processes 2", "--processes 2 needs --coordinator HOST:PORT and --process-id I"),
        ("--process-id 1", "--coordinator and --process-id go with --processes N (N >= 2)"),
        ("--processes 2 --coordinator 127.0.0.1:1234 --process-id 2", "--process-id must be in 0-1"),
        ("--processes 2 --coordinator 127.0.0.1 --process-id 0", "--coordinator must be HOST:PORT"),
        ("--processes 2 --coordinator 127.0.0.1:1234 --process-id 0", "--processes needs --out DIR"),
        ("--processes 2 --coordinator h:1 --process-id 0 --ensemble 2", "--processes trains one model"),
        ("--processes 2 --coordinator h:1 --process-id 0 --batch-size 33 --out {tmp}/run", "cannot be shared equally"),
        ("--processes 2 --coordinator h:1 --process-id 0 --out {tmp}/run", "set KERAS_BACKEND=jax"),
    ],
)
def test_a_wrong_scaling_option_exits_2_with_one_line_and_writes_nothing(
    arguments, message, tmp_path, mnist_dir, capfd, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--data-dir", str(mnist_dir), *arguments.format(tmp=tmp_path, closed=free_port()).split()]
    line = main_fails(argv, capfd)
    assert message in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_parallel_ensemble_of_mixed_recipes_on_ray_is_the_mean_of_its_members(mnist_dir, tmp_path):
    import keras

    from mnist_cnn import calibration

    run_dir = tmp_path / "ensemble"
    result = run_cli("train", "--model", "fast,seed", "--ensemble", "2", "--parallel", "2", *QUICK, "--batch-size",
                     "64", "--data-dir", str(mnist_dir), "--out", str(run_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Member 2 of 2 (seed, seed 43) sent to Ray" in result.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [(member["model"], member["seed"]) for member in metrics["members"]] == [("fast", 42), ("seed", 43)]
    # Every member held out the same images, so the average is scored on that split too.
    member_configs = [json.loads((run_dir / f"member-{k}" / "run.json").read_text())["config"] for k in (1, 2)]
    assert [config["split_seed"] for config in member_configs] == [42, 42]
    assert metrics["validation_accuracy"] is not None
    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    members = [keras.models.load_model(run_dir / f"member-{k}" / "model.keras") for k in (1, 2)]
    averaged = keras.models.load_model(run_dir / "model.keras")
    separate = np.stack([member.predict(images, verbose=0) for member in members])
    expected = calibration.with_temperature(separate, metrics["calibration"]["temperature"])
    np.testing.assert_allclose(averaged.predict(images, verbose=0), expected, atol=1e-5)
    assert partial_files(run_dir) == []


@pytest.mark.slow
def test_two_jax_processes_on_loopback_train_one_model_to_identical_weights(mnist_dir, tmp_path):
    import keras

    coordinator = f"127.0.0.1:{free_port()}"
    common = ["train", "--model", "fast", *QUICK, "--batch-size", "32", "--processes", "2"]
    common += ["--coordinator", coordinator]
    environment = {**os.environ, **JAX, "TF_CPP_MIN_LOG_LEVEL": "3"}
    processes = []
    for index in (0, 1):
        own = ["--process-id", str(index), "--data-dir", str(mnist_dir), "--out", str(tmp_path / f"process-{index}")]
        command = [sys.executable, "-m", "mnist_cnn.cli", *common, *own]
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env=environment))  # fmt: skip
    try:
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    weights = [keras.models.load_model(tmp_path / f"process-{k}" / "model.keras").get_weights() for k in (0, 1)]
    assert len(weights[0]) == 8  # two convolutions and two dense layers, kernels and biases
    for first, second in zip(*weights):
        np.testing.assert_array_equal(first, second)
    metrics = [json.loads((tmp_path / f"process-{k}" / "metrics.json").read_text()) for k in (0, 1)]
    assert metrics[0]["versions"]["keras_backend"] == "jax" and metrics[0]["test_accuracy"] > 0.5
    assert metrics[0]["test_accuracy"] == metrics[1]["test_accuracy"]


@pytest.mark.slow
def test_the_jax_backend_trains_evaluates_and_exports(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    trained = run_cli("train", "--model", "fast", *QUICK, "--data-dir", str(mnist_dir), "--out", str(run_dir), env=JAX)
    assert trained.returncode == 0, trained.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["versions"]["keras_backend"] == "jax" and "jax" in metrics["versions"]
    assert metrics["test_accuracy"] > 0.5

    scored = run_cli("evaluate", "--model", str(run_dir / "model.keras"), "--runtime", "keras", "--json",
                     "--data-dir", str(mnist_dir), env=JAX)  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-4)

    exported = run_cli("export", "--model", str(run_dir / "model.keras"), "--format", "onnx", "--out",
                       str(tmp_path / "exported"), "--data-dir", str(mnist_dir), env=JAX)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((tmp_path / "exported" / "manifest.json").read_text())
    assert manifest["exports"]["onnx"]["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-4)
