"""Integration tests on the real data: short runs on a subset, every artifact, reloads, resuming."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import run_cli
from mnist_cnn.errors import UsageError
from mnist_cnn.training import TrainConfig, choose_run_dir

ARTIFACTS = [
    "model.keras",
    "CNN_mnist.h5",
    "history.csv",
    "accuracy_loss_plot.png",
    "confusion_matrix.png",
    "classification_report.txt",
    "misclassified.png",
    "metrics.json",
]

pytestmark = pytest.mark.slow


def test_short_run_writes_every_artifact_and_beats_chance_by_far(quick_run):
    for name in ARTIFACTS:
        assert (quick_run / name).stat().st_size > 0, name
    leftovers = [path.name for path in quick_run.iterdir() if "partial" in path.name or path.name == "backup"]
    assert leftovers == []
    metrics = json.loads((quick_run / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.85  # chance is 0.10
    assert metrics["epochs"] == 2 and metrics["seed"] == 42 and metrics["parameters"] == 135_338
    assert metrics["command"].startswith("mnist-cnn train --model seed")
    assert set(metrics["versions"]) >= {"tensorflow", "keras", "numpy", "python"}
    assert len(metrics["per_class_accuracy"]) == 10
    report = (quick_run / "classification_report.txt").read_text()
    assert "precision" in report and "recall" in report


def test_history_has_train_and_validation_curves(quick_run):
    header = (quick_run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "accuracy", "loss", "val_accuracy", "val_loss"} <= set(header)


def test_keras_and_h5_files_reload_to_identical_predictions(quick_run, mnist_dir):
    import keras

    from mnist_cnn.data import load_dataset

    images = load_dataset("mnist", mnist_dir).test_images[:500, ..., None].astype("float32") / 255
    native = keras.models.load_model(quick_run / "model.keras").predict(images, verbose=0)
    legacy = keras.models.load_model(quick_run / "CNN_mnist.h5").predict(images, verbose=0)
    np.testing.assert_allclose(native, legacy, atol=1e-6)


def test_evaluate_a_run_folder_model_as_json_and_with_reports(quick_run, mnist_dir, tmp_path):
    result = run_cli(
        "evaluate",
        "--model",
        str(quick_run / "CNN_mnist.h5"),
        "--data-dir",
        str(mnist_dir),
        "--json",
        "--out",
        str(tmp_path / "reports"),
    )
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    expected = json.loads((quick_run / "metrics.json").read_text())["test_accuracy"]
    assert scores["count"] == 10_000 and abs(scores["accuracy"] - expected) < 1e-9
    assert len(scores["per_class_accuracy"]) == 10 and scores["loss"] > 0
    assert sorted(path.name for path in (tmp_path / "reports").iterdir()) == [
        "classification_report.txt",
        "confusion_matrix.png",
        "embedding.png",
        "misclassified.png",
        "reliability_diagram.png",
    ]


def test_same_seed_gives_the_same_result(mnist_dir, tmp_path):
    histories = []
    for name in ("a", "b"):
        result = run_cli(
            "train", "--epochs", "1", "--limit", "1000", "--data-dir", str(mnist_dir), "--out", str(tmp_path / name)
        )
        assert result.returncode == 0, result.stderr
        histories.append((tmp_path / name / "history.csv").read_text().splitlines()[1].split(",")[:3])
    assert histories[0] == histories[1]


def test_killed_run_resumes_from_the_last_finished_epoch(mnist_dir, tmp_path):
    run_dir = tmp_path / "resumable"
    args = ["train", "--epochs", "3", "--limit", "3000", "--data-dir", str(mnist_dir), "--out", str(run_dir)]
    process = subprocess.Popen(
        [sys.executable, "-m", "mnist_cnn.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    metadata = run_dir / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if metadata.exists() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 1:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run_dir / "metrics.json").exists()

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout and "continuing from epoch 2" in result.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 3
    epochs = [line.split(",")[0] for line in (run_dir / "history.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


def test_same_command_without_out_finds_the_unfinished_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(epochs=3, batch_size=64, learning_rate=0.01).resolved()
    first = choose_run_dir(config, None)
    first.mkdir(parents=True)
    (first / "run.json").write_text(json.dumps({"config": config.__dict__}))
    assert choose_run_dir(config, None) == first
    other = TrainConfig(epochs=4, batch_size=64, learning_rate=0.01).resolved()
    assert choose_run_dir(other, None) != first


def test_split_seed_defaults_to_the_seed_and_old_runs_still_resume(tmp_path):
    assert TrainConfig(seed=7).resolved().split_seed == 7
    assert TrainConfig(seed=7, split_seed=3).resolved().split_seed == 3
    config = TrainConfig(epochs=3, seed=7).resolved()
    saved = {key: value for key, value in config.__dict__.items() if key != "split_seed"}  # before --split-seed
    (tmp_path / "run.json").write_text(json.dumps({"config": saved}))
    assert choose_run_dir(config, tmp_path) == tmp_path
    with pytest.raises(UsageError, match="holds a run with other settings"):
        choose_run_dir(TrainConfig(epochs=3, seed=7, split_seed=8).resolved(), tmp_path)


def test_out_folder_with_another_run_is_refused(tmp_path):
    config = TrainConfig(epochs=3).resolved()
    (tmp_path / "run.json").write_text(json.dumps({"config": {**config.__dict__, "seed": 7}}))
    with pytest.raises(UsageError, match="holds a run with other settings"):
        choose_run_dir(config, tmp_path)


def test_ensemble_averages_its_members_and_reuses_finished_ones(mnist_dir, tmp_path):
    import keras

    from mnist_cnn import calibration

    run_dir = tmp_path / "ensemble"
    args = ["train", "--model", "fast", "--ensemble", "2", "--epochs", "1", "--limit", "3000"]
    args += ["--batch-size", "32", "--data-dir", str(mnist_dir), "--out", str(run_dir)]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [member["seed"] for member in metrics["members"]] == [42, 43]
    assert metrics["test_accuracy"] > 0.85
    # Both members held out the same images, so the average has a validation figure of its own.
    member_configs = [json.loads((run_dir / f"member-{k}" / "metrics.json").read_text())["config"] for k in (1, 2)]
    assert [config["split_seed"] for config in member_configs] == [42, 42]
    assert metrics["validation_accuracy"] > 0.85

    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    members = [keras.models.load_model(run_dir / f"member-{k}" / "model.keras") for k in (1, 2)]
    averaged = keras.models.load_model(run_dir / "model.keras")
    # The average of the members, calibrated as a whole: one temperature on every member's logits.
    temperature = metrics["calibration"]["temperature"]
    separate = np.stack([member.predict(images, verbose=0) for member in members])
    expected = calibration.with_temperature(separate, temperature)
    np.testing.assert_allclose(averaged.predict(images, verbose=0), expected, atol=1e-5)

    # An interrupted ensemble keeps its finished members: only the missing one trains again.
    (run_dir / "metrics.json").unlink()
    first_member_model = (run_dir / "member-1" / "model.keras").stat().st_mtime_ns
    shutil.rmtree(run_dir / "member-2")
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Member 1 of 2 is already trained" in result.stdout
    assert (run_dir / "member-1" / "model.keras").stat().st_mtime_ns == first_member_model
    assert json.loads((run_dir / "metrics.json").read_text())["members"][1]["seed"] == 43


def nan_after(monkeypatch, steps: int) -> None:
    """Make training's loss turn NaN once the optimizer has taken ``steps`` steps (as a learning rate
    too high for the model does, but at a known step)."""
    import keras

    from mnist_cnn import training

    compile_model = training.compile_model

    def compile_with_a_diverging_loss(model, config, steps_per_epoch):
        compile_model(model, config, steps_per_epoch)
        cross_entropy = model.loss

        def loss(y_true, y_pred):
            diverged = keras.ops.greater_equal(model.optimizer.iterations, steps)
            return keras.ops.where(diverged, np.nan, cross_entropy(y_true, y_pred))

        model.compile(optimizer=model.optimizer, loss=loss, metrics=["accuracy"])

    monkeypatch.setattr(training, "compile_model", compile_with_a_diverging_loss)


def test_a_run_whose_loss_turns_nan_stops_and_keeps_the_best_epoch_before_it(mnist_dir, tmp_path, monkeypatch, capsys):
    from mnist_cnn import cli

    nan_after(monkeypatch, 40)  # 1,000 images in batches of 32: epoch 1 is 29 steps, epoch 2 diverges
    run_dir = tmp_path / "diverged"
    code = cli.main(["train", "--model", "seed", "--epochs", "5", "--limit", "1000", "--batch-size", "32",
                     "--data-dir", str(mnist_dir), "--out", str(run_dir)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "the loss became nan in epoch 2 and training stopped there" in out
    rows = (run_dir / "history.csv").read_text().splitlines()[1:]
    assert len(rows) == 2  # stopped in epoch 2 of 5
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["best_epoch"] == 1 and np.isfinite(metrics["test_loss"])
    assert (run_dir / "accuracy_loss_plot.png").exists()


def test_a_run_whose_loss_is_nan_from_the_start_fails_with_one_line(mnist_dir, tmp_path, monkeypatch, capsys):
    from mnist_cnn import cli

    nan_after(monkeypatch, 0)
    run_dir = tmp_path / "diverged"
    code = cli.main(["train", "--model", "seed", "--epochs", "3", "--limit", "1000", "--batch-size", "32",
                     "--learning-rate", "0.5", "--data-dir", str(mnist_dir), "--out", str(run_dir)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: training diverged: the loss became nan in epoch 1, before any epoch")
    assert err[-1].endswith("lower --learning-rate (this run's: 0.5)")
    assert not (run_dir / "model.keras").exists() and not (run_dir / "metrics.json").exists()
