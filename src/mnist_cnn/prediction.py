"""Loading shipped or trained models and predicting digits for a person's images."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_cnn import preprocessing
from mnist_cnn.errors import ImageError, MissingExtraError, ModelError

SHIPPED_DIR = Path(__file__).parent / "shipped"
DEFAULT_MODEL = "seed"
MODEL_SUFFIXES = (".keras", ".h5")


@dataclass
class Prediction:
    """One image's answer. ``image``: the uint8 (28, 28) array the model saw."""

    digit: int
    confidence: float
    probabilities: list[float]
    image: np.ndarray = field(repr=False)
    path: str | None = None

    def top(self, count: int = 3) -> list[tuple[int, float]]:
        order = np.argsort(self.probabilities)[::-1][:count]
        return [(int(digit), float(self.probabilities[digit])) for digit in order]

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "digit": self.digit,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
        }


class Classifier:
    """A loaded model: ``probabilities(images)`` maps uint8 (n, 28, 28) to float32 (n, 10)."""

    def __init__(self, keras_model, name: str, path: Path):
        self.keras_model = keras_model
        self.name = name
        self.path = path
        self.runtime = "keras"

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        batch = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1) / 255.0
        if len(batch) <= 64:
            # Calling the model directly skips predict()'s per-call set-up, which dominates small batches.
            return np.asarray(self.keras_model(batch, training=False))
        return np.asarray(self.keras_model.predict(batch, batch_size=1024, verbose=0))

    def __repr__(self) -> str:
        return f"Classifier(name={self.name!r}, runtime={self.runtime!r}, path='{self.path}')"


def shipped_models() -> list[str]:
    return (
        sorted(path.name for path in SHIPPED_DIR.iterdir() if (path / "model.keras").exists())
        if SHIPPED_DIR.is_dir()
        else []
    )


def resolve_model_path(name_or_path: str | Path | None) -> tuple[str, Path]:
    """A shipped model's name or a path to a .keras/.h5 file -> (display name, file path)."""
    name_or_path = name_or_path or DEFAULT_MODEL
    shipped = SHIPPED_DIR / str(name_or_path) / "model.keras"
    if isinstance(name_or_path, str) and "/" not in name_or_path and shipped.exists():
        return str(name_or_path), shipped
    path = Path(name_or_path)
    if path.is_dir() and (path / "model.keras").exists():
        path = path / "model.keras"  # a run folder
    if path.suffix not in MODEL_SUFFIXES:
        available = ", ".join(shipped_models()) or "none"
        raise ModelError(f"{name_or_path}: not a shipped model ({available}) nor a .keras or .h5 file")
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    return path.stem, path


RUNTIMES = ("keras",)


def load_model(name_or_path: str | Path | None = None, runtime: str | None = None) -> Classifier:
    """Load a shipped model by name (``seed``) or a ``.keras``/``.h5`` file; default: the shipped model.

    ``runtime``: one of RUNTIMES; None picks the fastest one installed.
    """
    if runtime is not None and runtime not in RUNTIMES:
        raise ModelError(f"unknown runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
    name, path = resolve_model_path(name_or_path)
    try:
        import keras
    except ImportError:
        raise MissingExtraError("the Keras runtime needs the training extra: pip install 'mnist-cnn[train]'") from None
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; the user only needs to know which file
        raise ModelError(
            f"{path}: cannot load the model ({type(error).__name__}: {str(error).splitlines()[0]})"
        ) from None
    shape = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    if shape not in ((28, 28, 1), (28, 28)) or tuple(model.output_shape[1:]) != (10,):
        raise ModelError(
            f"{path}: expects input {shape} and outputs {model.output_shape[1:]}; "
            f"a digit model takes (28, 28, 1) and outputs (10,)"
        )
    return Classifier(model, name, path)


def as_list(images) -> list:
    """Split the accepted input forms into a list of single images."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        return list(images)
    if isinstance(images, (list, tuple)):
        return list(images)
    return [images]


def predict(images, model: Classifier | str | Path | None = None) -> list[Prediction]:
    """Predict the digit in each image.

    Args:
        images: a path, a PIL image, an array (28, 28) or (n, 28, 28), or a list of these. Paths and
            PIL images go through MNIST-style preprocessing; (28, 28) arrays are taken as MNIST-format.
        model: a Classifier from ``load_model``, a shipped model's name or a model file (default: shipped).
    Returns:
        one Prediction per image, in order. Raises ImageError for the first image that cannot be read.
    """
    classifier = model if isinstance(model, Classifier) else load_model(model)
    items = as_list(images)
    prepared = [preprocessing.prepare(item) for item in items]
    return classify(classifier, prepared, [str(item) if isinstance(item, (str, Path)) else None for item in items])


def classify(classifier: Classifier, prepared: list[np.ndarray], paths: list[str | None]) -> list[Prediction]:
    """Predictions for already-preprocessed uint8 (28, 28) images."""
    if not prepared:
        return []
    probabilities = classifier.probabilities(np.stack(prepared))
    return [
        Prediction(
            digit=int(row.argmax()),
            confidence=float(row.max()),
            probabilities=[round(float(value), 6) for value in row],
            image=image,
            path=path,
        )
        for row, image, path in zip(probabilities, prepared, paths)
    ]


def prepare_many(sources: list) -> tuple[list[np.ndarray], list[str | None], list[str]]:
    """Preprocess what can be read; return (images, their paths, one error line per failure)."""
    prepared, paths, errors = [], [], []
    for source in sources:
        try:
            prepared.append(preprocessing.prepare(source))
            paths.append(str(source))
        except ImageError as error:
            message = str(error)
            errors.append(message if message.startswith(str(source)) else f"{source}: {message}")
    return prepared, paths, errors
