"""Rejection: is the image a digit at all, and is the model sure which one?

Every prediction gets a status:

- ``"not_a_digit"``: the digit detector's probability that the 28x28 image the model saw is a
  handwritten digit is below ``Thresholds.digit``;
- ``"unsure"``: it is a digit, but the classifier's calibrated confidence is below
  ``Thresholds.confidence``;
- ``"digit"``: otherwise.

The shipped digit detector is two small CNNs of one shape (``detector_model``) whose logits are
averaged (``scripts/train_detector.py --combine``), each trained by outlier exposure (Hendrycks,
Mazeika & Dietterich 2019, "Deep Anomaly Detection with Outlier Exposure"): MNIST training digits,
also as a person's inputs after our preprocessing, against generated non-digits
(``mnist_cnn.outliers``: letters, symbols, shapes, scribbles, textures, blank paper, pieces of
digits) through the same preprocessing. Each is trained with a binary background-class objective
(Dhamija, Günther & Boult 2018, "Reducing Network Agnostophobia"), separately from the classifiers,
so one detector serves every classifier, including models a user trains, and none has to be
retrained. It ships in every runtime's format
(``detector/model.{keras,onnx,tflite}``) and runs in the classifier's runtime, TensorFlow-free on
ONNX Runtime and LiteRT. Why this and not the classifier's maximum softmax probability, energy or
feature-space Mahalanobis scores: ``detector/MODEL_CARD.md`` and docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DETECTOR_DIR = Path(__file__).parent / "detector"
PIECE_JUDGE_DIR = Path(__file__).parent / "piece_judge"
DIGIT, UNSURE, NOT_A_DIGIT = "digit", "unsure", "not_a_digit"
STATUSES = (DIGIT, UNSURE, NOT_A_DIGIT)
DETECTOR_RUNTIME = {"keras": "keras", "savedmodel": "keras", "onnx": "onnx", "litert": "litert"}


@dataclass(frozen=True)
class Thresholds:
    """Where the statuses change; both chosen on validation data (``detector/thresholds.json``).

    ``digit``: the detector's digit probability (0-1) below which an image is not a digit.
    ``confidence``: the classifier's calibrated top probability (0-1) below which it is unsure.
    """

    digit: float
    confidence: float

    @classmethod
    def shipped(cls) -> Thresholds:
        values = json.loads((DETECTOR_DIR / "thresholds.json").read_text())
        return cls(digit=float(values["digit"]), confidence=float(values["confidence"]))


def statuses(confidences: np.ndarray, digit_probabilities: np.ndarray | None, thresholds: Thresholds) -> list[str]:
    """Each prediction's status from its confidence and its digit probability (None: no detector).

    Args:
        confidences: float (n,), the classifier's top probability, 0-1.
        digit_probabilities: float (n,), the detector's probability of a digit, 0-1; or None.
        thresholds: where the statuses change.
    """
    confidences = np.asarray(confidences, dtype=np.float64)
    digit_like = np.ones(len(confidences), bool)
    if digit_probabilities is not None:
        digit_like = np.asarray(digit_probabilities) >= thresholds.digit
    return [
        NOT_A_DIGIT if not is_digit else UNSURE if confidence < thresholds.confidence else DIGIT
        for is_digit, confidence in zip(digit_like, confidences)
    ]


class Rejector:
    """The digit detector (or none) and the thresholds, for one classifier's runtime, and the piece
    judge that number segmentation asks instead of the detector (or none).

    ``detector``: a ``runtimes.Classifier`` whose model maps images to float32 (n, 1) digit
    probabilities, or None for a classifier not trained on MNIST (then only "unsure" applies).
    ``load_piece_judge``: a function giving the same for the probability that a piece cut from a
    number is one whole digit (``piece_judge/``, trained by ``scripts/train_piece_judge.py``), called
    when a number first needs it, so reading single digits never loads it; or None: the detector judges.
    """

    def __init__(self, detector, thresholds: Thresholds, load_piece_judge=None):
        self.detector = detector
        self.thresholds = thresholds
        self._load_piece_judge = load_piece_judge
        self._piece_judge = None

    @property
    def piece_judge(self):
        """The piece judge (a ``runtimes.Classifier``), loaded on first use; None without one."""
        if self._piece_judge is None and self._load_piece_judge is not None:
            self._piece_judge = self._load_piece_judge()
        return self._piece_judge

    def digit_probabilities(self, images: np.ndarray) -> np.ndarray | None:
        """uint8 (n, 28, 28) -> float (n,) probabilities that each is a digit; None without a detector."""
        return None if self.detector is None else last_output(self.detector, images)

    def one_digit_probabilities(self, images: np.ndarray) -> np.ndarray | None:
        """For ``segmentation.segment``: uint8 (n, 28, 28) candidate pieces of a number -> float (n,)
        probabilities that each is one whole digit (not a fragment, not two digits, not a digit with a
        neighbour's stroke), by the piece judge, else the detector; None with neither."""
        if self.piece_judge is None:
            return self.digit_probabilities(images)
        return last_output(self.piece_judge, images)

    def statuses(self, images: np.ndarray, probabilities: np.ndarray) -> tuple[list[str], np.ndarray | None]:
        """Statuses for uint8 (n, 28, 28) images the classifier gave float (n, 10) ``probabilities``."""
        digit_probabilities = self.digit_probabilities(images)
        return statuses(np.max(probabilities, axis=1), digit_probabilities, self.thresholds), digit_probabilities


def last_output(model, images: np.ndarray) -> np.ndarray:
    """A one-output model's float (n,) probabilities for uint8 (n, 28, 28) ``images``."""
    return np.asarray(model.probabilities(images)).reshape(len(images), -1)[:, -1]


def detector_path(runtime: str, folder: Path = DETECTOR_DIR) -> Path:
    """The shipped detector's (or piece judge's) file for a classifier's runtime (a SavedModel
    classifier uses Keras)."""
    from mnist_cnn.runtimes import RUNTIME_FILES

    return folder / RUNTIME_FILES[DETECTOR_RUNTIME[runtime]]


def load_rejector(classifier) -> Rejector:
    """The rejector for a loaded classifier: the detector (and the piece judge, loaded when first
    asked) in the classifier's runtime when the classifier reads MNIST digits, neither for a model
    trained on another dataset. The networks are loaded once per process and runtime (a rewritten
    file is loaded again), so calling ``mnist_cnn.predict`` image by image does not reload them."""
    from mnist_cnn.runtimes import load_network, trained_on

    thresholds = Thresholds.shipped()
    if trained_on(Path(classifier.path)) != "mnist":
        return Rejector(None, thresholds)
    runtime = DETECTOR_RUNTIME[classifier.runtime]
    detector = load_network("digit-detector", detector_path(runtime), runtime, outputs=1)
    judge_file = detector_path(runtime, PIECE_JUDGE_DIR)
    return Rejector(detector, thresholds, lambda: load_network("piece-judge", judge_file, runtime, outputs=1))


def detector_model():
    """One digit detector (the shipped one averages two of these): uint8-scaled float32 images
    (n, 28, 28, 1), values 0-1 -> float32 (n, 1), the probability that the image is a handwritten digit.

    A small VGG-style CNN: 3x3 convolutions with BatchNorm, downsampling by stride 2, one hidden
    Dense layer.
    """
    import keras
    from keras import layers

    def conv(x, filters, strides=1):
        x = layers.Conv2D(filters, kernel_size=3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = conv(inputs, 32)
    x = conv(x, 32, strides=2)
    x = conv(x, 64)
    x = conv(x, 64, strides=2)
    x = conv(x, 128)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="digit_probability")(x)
    return keras.Model(inputs, outputs, name="digit_detector")
