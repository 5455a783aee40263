"""WiSE-FT weight interpolation: the mixing on small arrays and models, the command's errors before any
folder, and on the real data a short run, a copy fine-tuned from it and their mixture as a run folder."""

import json

import numpy as np
import pytest

from conftest import main_fails
from mnist_cnn import interpolation, training
from mnist_cnn.errors import UsageError


def test_alpha_moves_every_weight_from_the_start_to_the_tuned_model_keeping_dtypes():
    start = [np.zeros((2, 3), np.float32), np.array([1.0, 3.0], np.float32)]
    tuned = [np.ones((2, 3), np.float32), np.array([3.0, 5.0], np.float32)]
    assert all((a == b).all() for a, b in zip(interpolation.interpolate_weights(start, tuned, 0.0), start))
    assert all((a == b).all() for a, b in zip(interpolation.interpolate_weights(start, tuned, 1.0), tuned))
    mixed = interpolation.interpolate_weights(start, tuned, 0.25)
    np.testing.assert_allclose(mixed[0], 0.25)
    np.testing.assert_allclose(mixed[1], [1.5, 3.5])
    assert [w.dtype for w in mixed] == [np.float32, np.float32]


def test_a_bad_alpha_or_another_architecture_is_refused():
    weights = [np.zeros(3, np.float32)]
    with pytest.raises(UsageError, match=r"--alpha must be in \[0, 1\]; received 1.5"):
        interpolation.interpolate_weights(weights, weights, 1.5)
    with pytest.raises(UsageError, match="not one architecture"):
        interpolation.interpolate_weights(weights, [np.zeros(4, np.float32)], 0.5)


def test_the_mixed_model_is_new_and_leaves_both_models_as_they_were():
    import keras

    def dense(value: float):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.set_weights([np.full((2, 1), value, np.float32), np.full(1, value, np.float32)])
        return model

    start, tuned = dense(1.0), dense(3.0)
    mixed = interpolation.interpolated_model(start, tuned, 0.5)
    assert mixed is not start and mixed is not tuned
    np.testing.assert_allclose(mixed.get_weights()[0], 2.0)
    np.testing.assert_allclose(start.get_weights()[0], 1.0)
    np.testing.assert_allclose(tuned.get_weights()[0], 3.0)


def test_wrong_runs_alphas_and_folders_exit_2_before_any_folder(tmp_path, capfd):
    out = str(tmp_path / "mixed")
    line = main_fails(["interpolate", "--tuned", str(tmp_path), "--alpha", "0.5", "--out", out], capfd)
    assert line == f"error: --tuned {tmp_path}: not a finished run folder (run.json and metrics.json)"
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"config": {"model": "best"}}))
    (run / "metrics.json").write_text("{}")
    line = main_fails(["interpolate", "--tuned", str(run), "--alpha", "-0.1", "--out", out], capfd)
    assert line == "error: --alpha must be in [0, 1]; received -0.1"
    line = main_fails(["interpolate", "--tuned", str(run), "--alpha", "0.5", "--out", str(run)], capfd)
    assert line == f"error: {run} is not empty; choose another --out"
    line = main_fails(["interpolate", "--tuned", str(run), "--alpha", "0.5", "--start", "seed", "--out", out], capfd)
    assert "model.keras" in line  # the run holds no model
    import keras

    other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    other.save(run / "model.keras")
    line = main_fails(["interpolate", "--tuned", str(run), "--alpha", "0.5", "--out", out], capfd)
    assert line == f"error: --tuned {run} is not --start best's architecture: it was not fine-tuned from it"
    assert not (tmp_path / "mixed").exists()


@pytest.mark.slow
def test_a_mixed_run_holds_every_artifact_and_the_mean_of_the_two_models(mnist_dir, tmp_path):
    from mnist_cnn.runtimes import load_keras_model

    quick = {"model": "fast", "epochs": 1, "limit": 6000, "batch_size": 32}
    start = training.train(training.TrainConfig(**quick), tmp_path / "start", mnist_dir, log=lambda *_: None)
    start_model = start.run_dir / "model.keras"
    tuned = training.train(
        training.TrainConfig(**quick, init=str(start_model), learning_rate=1e-3), tmp_path / "tuned", mnist_dir,
        log=lambda *_: None,
    )  # fmt: skip
    result = training.interpolate_run(str(start_model), tuned.run_dir, 0.5, tmp_path / "mixed", mnist_dir)
    for name in ("model.keras", "CNN_mnist.h5", "metrics.json", "confusion_matrix.png", "accuracy_loss_plot.png"):
        assert (result.run_dir / name).exists(), name
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["interpolation"]["alpha"] == 0.5 and metrics["test_accuracy"] > 0.9
    assert metrics["calibration"]["temperature"] > 0
    assert metrics["interpolation"]["start_command"] == start.metrics["command"]
    assert (result.run_dir / "tuned_history.csv").read_text() == (tuned.run_dir / "history.csv").read_text()
    first = [load_keras_model(path).get_weights()[0] for path in (start_model, tuned.run_dir / "model.keras")]
    mixed = load_keras_model(result.run_dir / "model.keras").get_weights()[0]  # the first kernel: not calibrated
    np.testing.assert_allclose(mixed, (first[0] + first[1]) / 2, rtol=1e-5, atol=1e-7)
    assert not np.allclose(first[0], first[1])
