"""Calibration measures, temperature scaling and `mnist-cnn calibrate`."""

import json

import numpy as np
import pytest

from conftest import run_cli
from mnist_cnn import calibration


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def sampled(temperature: float, count: int = 20000, seed: int = 0):
    """Logits and labels drawn from softmax(logits / temperature): a model whose confidences are
    calibrated only after dividing its logits by ``temperature``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, (count, 10))
    probabilities = softmax(logits / temperature)
    labels = (probabilities.cumsum(axis=1) > rng.random((count, 1))).argmax(axis=1)
    return logits, labels


def test_ece_is_zero_for_calibrated_predictions_and_the_gap_for_overconfident_ones():
    probabilities = np.tile([0.8] + [0.2 / 9] * 9, (1000, 1))
    labels = np.where(np.arange(1000) < 800, 0, 1)  # right 80% of the time at 80% confidence
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-9)
    labels = np.where(np.arange(1000) < 500, 0, 1)  # right half the time at 80%
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(0.3)


def test_nll_and_brier_of_certain_right_and_wrong_answers():
    right = np.eye(10)[[3, 4]]
    assert calibration.negative_log_likelihood(right, np.array([3, 4])) == pytest.approx(0.0, abs=1e-9)
    assert calibration.brier_score(right, np.array([3, 4])) == 0.0
    assert calibration.brier_score(right, np.array([4, 3])) == 2.0


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_that_generated_the_labels(true_temperature):
    logits, labels = sampled(true_temperature)
    fitted = calibration.fit_temperature(softmax(logits), labels)
    assert fitted == pytest.approx(true_temperature, rel=0.08)
    tempered = calibration.with_temperature(softmax(logits), fitted)
    assert calibration.expected_calibration_error(tempered, labels) < 0.015
    np.testing.assert_array_equal(tempered.argmax(axis=1), logits.argmax(axis=1))  # the answers never change


def tiny_model(seed: int, name: str):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs, name=name)


def test_apply_temperature_bakes_the_temperature_into_the_final_layer():
    model = tiny_model(0, "single")
    images = np.random.default_rng(1).random((64, 28, 28, 1)).astype(np.float32)
    before = np.asarray(model(images))
    calibration.apply_temperature(model, 0.5)
    np.testing.assert_allclose(np.asarray(model(images)), calibration.with_temperature(before, 0.5), atol=1e-5)


def test_an_ensemble_is_calibrated_as_a_whole_with_one_temperature():
    import keras

    members = [tiny_model(seed, f"member_{seed}") for seed in (0, 1)]
    inputs = keras.Input(shape=(28, 28, 1))
    ensemble = keras.Model(inputs, keras.layers.Average()([member(inputs) for member in members]))
    images = np.random.default_rng(2).random((64, 28, 28, 1)).astype(np.float32)
    separate = calibration.member_probabilities(ensemble, images)
    assert separate.shape == (2, 64, 10)
    calibration.apply_temperature(ensemble, 2.0)
    np.testing.assert_allclose(np.asarray(ensemble(images)), calibration.with_temperature(separate, 2.0), atol=1e-5)


def test_a_model_without_a_softmax_layer_is_refused():
    import keras

    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match="no softmax Dense layer"):
        calibration.apply_temperature(model, 2.0)


@pytest.mark.slow
def test_calibrate_command_finds_the_shipped_best_model_calibrated_and_keeps_it_so(mnist_dir, tmp_path):
    out = tmp_path / "calibrated"
    result = run_cli("calibrate", "--model", "best", "--out", str(out), "--data-dir", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    saved = json.loads((out / "calibration.json").read_text())
    assert saved["held_out_images"] == 6000 and 0.8 < saved["temperature"] < 1.25  # shipped calibrated
    assert saved["ece_before"] < 0.01 and saved["ece_after"] < 0.01
    assert (out / "model.keras").stat().st_size > 0 and (out / "reliability_diagram.png").stat().st_size > 0
    evaluated = run_cli("evaluate", "--model", str(out / "model.keras"), "--json", "--data-dir", str(mnist_dir))
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert metrics["ece"] < 0.01 and metrics["nll"] < 0.03 and 0 < metrics["brier"] < 0.02


@pytest.mark.slow
def test_training_calibrates_the_kept_model_on_its_validation_split(quick_run):
    metrics = json.loads((quick_run / "metrics.json").read_text())
    calibrated = metrics["calibration"]
    assert calibrated["held_out_images"] == 1200 and calibrated["held_out"] == "the validation split"
    assert calibrated["nll_after"] <= calibrated["nll_before"] + 1e-6  # the fit minimises it; T = 1 is allowed
    assert 0 <= metrics["test_ece"] < 0.05 and metrics["test_nll"] == metrics["test_loss"]
    assert (quick_run / "reliability_diagram.png").stat().st_size > 0
