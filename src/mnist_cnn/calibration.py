"""Calibration: how far a model's confidence can be trusted, and temperature scaling to make it so.

Measures follow Guo et al. (2017), "On Calibration of Modern Neural Networks": expected calibration
error (ECE) over equal-width confidence bins, negative log-likelihood (NLL) and the Brier score.
Temperature scaling divides a model's logits by one number T, fitted on held-out data by minimising
the NLL; it changes confidences, never the predicted digit. A Keras model is calibrated by scaling
the kernel and bias of its final softmax layer by 1/T, so every saved format (.keras, .h5,
SavedModel, ONNX, LiteRT) returns calibrated probabilities with nothing to remember at run time.

Probabilities are float arrays (n, classes) whose rows sum to 1; labels are integers (n,).
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15  # Guo et al. 2017
TINY = 1e-12


def confidence_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width confidence bin (0-1/bins, ...): ``lower``, ``upper``, ``count``, mean
    ``confidence`` and ``accuracy`` of the predictions whose top probability falls in it (None when empty)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    rows = []
    for index in range(bins):
        inside = which == index
        count = int(inside.sum())
        rows.append(
            {
                "lower": index / bins,
                "upper": (index + 1) / bins,
                "count": count,
                "confidence": float(confidence[inside].mean()) if count else None,
                "accuracy": float(correct[inside].mean()) if count else None,
            }
        )
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE, 0-1: the count-weighted mean gap between confidence and accuracy over ``bins`` bins."""
    total = len(labels)
    return float(
        sum(
            row["count"] / total * abs(row["accuracy"] - row["confidence"])
            for row in confidence_bins(probabilities, labels, bins)
            if row["count"]
        )
    )


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean -log p(true class), in nats (the cross-entropy loss)."""
    true_probability = probabilities[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.log(np.clip(true_probability, TINY, 1.0)).mean())


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean over images of the squared distance between the probabilities and the one-hot label, 0-2."""
    one_hot = np.eye(probabilities.shape[1])[np.asarray(labels)]
    return float(((probabilities - one_hot) ** 2).sum(axis=1).mean())


def with_temperature(member_probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities after dividing the logits by ``temperature``. ``member_probabilities``: (n, classes)
    for one model, or (members, n, classes) for an ensemble, whose members' tempered probabilities are
    averaged (the ensemble is calibrated as a whole, with one temperature)."""
    logits = np.log(np.clip(np.asarray(member_probabilities, dtype=np.float64), TINY, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    tempered = np.exp(logits)
    tempered /= tempered.sum(axis=-1, keepdims=True)
    return tempered.mean(axis=0) if tempered.ndim == 3 else tempered


def fit_temperature(member_probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T (0.05-20) that minimises the NLL of ``with_temperature`` on held-out images;
    Brent's method on log T (scipy.optimize.minimize_scalar)."""
    from scipy.optimize import minimize_scalar

    def loss(log_temperature: float) -> float:
        return negative_log_likelihood(with_temperature(member_probabilities, float(np.exp(log_temperature))), labels)

    result = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def softmax_layers(model) -> list:
    """The final softmax Dense layers of a Keras model: its own, or each ensemble member's."""
    layers = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            layers += softmax_layers(layer)
        elif type(layer).__name__ == "Dense" and getattr(layer.activation, "__name__", "") == "softmax":
            layers.append(layer)
    return layers


def apply_temperature(model, temperature: float) -> None:
    """Calibrate a Keras model in place: scale the kernel and bias of each final softmax Dense layer by
    1/temperature, so softmax(z) becomes softmax(z / T).

    Raises:
        ValueError: the model has no softmax Dense layer to scale.
    """
    layers = softmax_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no softmax Dense layer whose logits could be scaled")
    for layer in layers:
        layer.set_weights([weight / temperature for weight in layer.get_weights()])


def member_probabilities(model, batch: np.ndarray) -> np.ndarray:
    """Probabilities (n, classes) of a Keras model on float32 images (n, 28, 28, 1), or (members, n,
    classes) of an ensemble's members (nested models averaged by its last layer)."""
    members = [layer for layer in model.layers if hasattr(layer, "layers")]
    if len(members) > 1:
        return np.stack([np.asarray(member.predict(batch, batch_size=1000, verbose=0)) for member in members])
    return np.asarray(model.predict(batch, batch_size=1000, verbose=0))


def calibrate(model, images: np.ndarray, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """Fit a temperature on held-out uint8 images (n, 28, 28) with integer labels (n,) and bake it into
    the Keras ``model`` (see ``apply_temperature``). An ensemble gets one temperature for all members.

    Returns (``temperature`` and the held-out ECE and NLL before and after, for the run's metrics;
    the held-out probabilities (n, classes) the calibrated model gives).
    """
    from mnist_cnn.preprocessing import model_input

    probabilities = member_probabilities(model, model_input(images))
    temperature = fit_temperature(probabilities, labels)
    before, after = with_temperature(probabilities, 1.0), with_temperature(probabilities, temperature)
    apply_temperature(model, temperature)
    summary = {
        "temperature": temperature,
        "held_out_images": int(len(labels)),
        "ece_before": expected_calibration_error(before, labels),
        "ece_after": expected_calibration_error(after, labels),
        "nll_before": negative_log_likelihood(before, labels),
        "nll_after": negative_log_likelihood(after, labels),
    }
    return summary, after


def calibrate_saved_model(name_or_path, out_dir, data_dir=None, dataset_name: str | None = None) -> dict:
    """``mnist-cnn calibrate``: load a shipped model or a .keras/.h5 file, fit its temperature on the
    validation split it was trained with (its run's settings when run.json is beside it, else the
    default: 10% stratified, split seed 42) and write ``out_dir``/model.keras, calibration.json and
    reliability_diagram.png (the validation split, after). Returns what calibration.json holds.

    Raises:
        ModelError: the model is unknown, unreadable, not a digit classifier or has no softmax Dense
            layer to scale. DataError: the data is missing or corrupt. OutputError: ``out_dir`` cannot be
            written.
    """
    from pathlib import Path

    from mnist_cnn import data, files, plots
    from mnist_cnn.errors import ModelError
    from mnist_cnn.runtimes import load_digit_classifier, resolve_model_path, trained_on

    name, path = resolve_model_path(name_or_path, "keras")
    model = load_digit_classifier(path)
    if not softmax_layers(model):
        raise ModelError(f"{path}: has no softmax Dense layer whose logits a temperature could scale")
    dataset_name = dataset_name or trained_on(path)
    dataset = data.load_dataset(dataset_name, data_dir)
    images, labels, split = validation_split(dataset, path.parent)
    out_dir = files.ensure_folder(Path(out_dir), "--out")
    summary, after = calibrate(model, images, labels)
    result = {"model": name, "source": str(path), "dataset": dataset_name, **split, **summary}
    with files.atomic_path(out_dir / "model.keras") as partial:
        model.save(partial)
    title = f"{name}, calibrated (validation split)"
    plots.save_reliability_diagram(after, labels, out_dir / "reliability_diagram.png", title)
    files.write_json(out_dir / "calibration.json", result)
    return result


def validation_split(dataset, folder) -> tuple[np.ndarray, np.ndarray, dict]:
    """(images, labels, settings) of the validation split a model in ``folder`` was trained with."""
    from mnist_cnn import data

    split = split_settings(folder)
    _, (images, labels) = data.training_split(
        dataset.train_images, dataset.train_labels, split["validation_fraction"], split["split_seed"], split["limit"]
    )
    return images, labels, split


def split_settings(folder) -> dict:
    """The validation split a model in ``folder`` was trained with: its run.json's, else the default."""
    from mnist_cnn.training import read_run_config

    config = read_run_config(folder)
    if config is None:
        return {"validation_fraction": 0.1, "split_seed": 42, "limit": None}
    return {key: config[key] for key in ("validation_fraction", "split_seed", "limit")}
