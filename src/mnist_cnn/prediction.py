"""Loading shipped or trained models and predicting digits for a person's images."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import numpy as np

from mnist_cnn import preprocessing, readers
from mnist_cnn.bold_strokes import BOLD, is_bold
from mnist_cnn.errors import Failure, ImageError, MissingExtraError, ModelError
from mnist_cnn.low_resolution import is_low_resolution
from mnist_cnn.quiet import native_stderr_closed

SHIPPED_DIR = Path(__file__).parent / "shipped"
DEFAULT_MODEL = "best"  # the most accurate shipped model; "seed" stays available by name


@dataclass
class Prediction:
    """One image's answer. ``image``: the uint8 (28, 28) array the model saw.

    ``status``: "digit", "unsure" (a digit, but the model is not confident which) or "not_a_digit"
    (``mnist_cnn.rejection``); always "digit" when rejection is off. ``digit_probability``: the digit
    detector's probability (0-1) that the image is a digit, None without a detector.
    """

    digit: int
    confidence: float
    probabilities: list[float]
    image: np.ndarray = field(repr=False)
    path: str | None = None
    status: str = "digit"
    digit_probability: float | None = None
    box: list[int] | None = None  # a digit of a number: [left, top, right, bottom] in the image's pixels
    reader: str | None = None  # the specialist reader that read it (``readers.KINDS``); None: the model

    def top(self, count: int = 3) -> list[tuple[int, float]]:
        order = np.argsort(self.probabilities)[::-1][:count]
        return [(int(digit), float(self.probabilities[digit])) for digit in order]

    def describe(self) -> str:
        """One line for people: ``7 (99.1%)``, ``unsure: 4 or 9 (4 52.0%, 9 41.3%)`` or
        ``not a digit (digit detector 0.3%; nearest digit 4)``: a refused image's own confidence is the
        classifier's among the ten digits only, so it is not shown as if it were the answer's."""
        if self.status == "not_a_digit":
            if self.digit_probability is None:
                return f"not a digit (nearest digit {self.digit})"
            return f"not a digit (digit detector {self.digit_probability:.1%}; nearest digit {self.digit})"
        if self.status == "unsure":
            (first, p_first), (second, p_second) = self.top(2)
            return f"unsure: {first} or {second} ({first} {p_first:.1%}, {second} {p_second:.1%})"
        return f"{self.digit} ({self.confidence:.1%})"

    def to_json(self) -> dict:
        answer = {
            "path": self.path,
            "status": self.status,
            "digit": self.digit,
            "confidence": self.confidence,
            "digit_probability": self.digit_probability,
            "probabilities": self.probabilities,
        }
        if self.box is not None:
            answer["box"] = self.box
        if self.reader is not None:
            answer["reader"] = self.reader  # a specialist reader answered, not the model (``readers``)
        return answer


@dataclass
class NumberPrediction:
    """An image read as a number: its digits left to right (``segmentation``), each a Prediction with
    its ``box``. ``status``: "digit" when every digit is one, "not_a_digit" when at least half of them
    are not digits (a symbol or scribble in several pieces), else "unsure"."""

    digits: list[Prediction]
    path: str | None = None

    @property
    def number(self) -> str:
        return "".join(str(digit.digit) for digit in self.digits)

    @property
    def status(self) -> str:
        statuses = [digit.status for digit in self.digits]
        if 2 * statuses.count("not_a_digit") >= len(statuses):
            return "not_a_digit"
        return "digit" if set(statuses) == {"digit"} else "unsure"

    @property
    def confidence(self) -> float:
        """The probability that every digit is right, if the digits' errors are independent: their product."""
        return float(np.prod([digit.confidence for digit in self.digits]))

    def describe(self) -> str:
        """One line: ``2026 (digits 2 99.9%, 0 99.8%, 2 99.7%, 6 98.1%)``, or which digits are in doubt;
        ``not a digit (looks most like 4255: digits ...)`` when the status is not_a_digit, as for one
        digit: a blank page's shadow in pieces is no number to copy."""
        parts = ", ".join(
            f"{digit.digit} {digit.confidence:.1%}" + ("" if digit.status == "digit" else f" {digit.status}")
            for digit in self.digits
        )
        if self.status == "not_a_digit":
            return f"not a digit (looks most like {self.number}: digits {parts})"
        return f"{self.number} (digits {parts})"

    def to_json(self) -> dict:
        digits = [{key: value for key, value in digit.to_json().items() if key != "path"} for digit in self.digits]
        return {
            "path": self.path,
            "status": self.status,
            "number": self.number,
            "confidence": self.confidence,
            "digits": digits,
        }


RECENT = 256  # images whose outputs a loaded model keeps, to answer them again without a call
RECENT_BATCH = 64  # larger batches (an evaluation's) are run as they are, neither looked up nor kept


class Classifier:
    """A loaded model: ``probabilities(images)`` maps uint8 (n, 28, 28) to float32 (n, 10).

    Subclasses wrap one runtime each. Only the Keras and SavedModel ones import TensorFlow.
    """

    runtime = ""

    def __init__(self, name: str, path: Path, outputs: int = 10):
        self.name = name
        self.path = path
        self.outputs = outputs  # values per image: 10 for a digit classifier, 1 for the digit detector
        self.input_name = "image"
        self.recent: dict[bytes, np.ndarray] = {}  # an image's bytes -> its outputs, oldest first
        self.recent_lock = threading.Lock()
        self.remembering_calls = 0  # ``remembering`` blocks open: the memory is used while any is

    @contextmanager
    def remembering(self):
        """Within this block (one ``predict`` call), images asked about again are answered from
        memory (``probabilities``); the memory is emptied when the last open block closes, so
        nothing is remembered from one call to the next (nor measured so by a benchmark)."""
        with self.recent_lock:
            self.remembering_calls += 1
        try:
            yield self
        finally:
            with self.recent_lock:
                self.remembering_calls -= 1
                if self.remembering_calls == 0:
                    self.recent.clear()

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """The model's outputs, float32 (n, outputs), for uint8 images (n, 28, 28), values 0-255.
        Within ``remembering``, images of a small batch (at most RECENT_BATCH) that were among the
        last RECENT asked are answered without running the model again: reading a number asks for
        each digit's image while cutting it and again when it is read (the same outputs up to float
        rounding: a runtime may add up a batch of another size in another order)."""
        images = np.asarray(images)
        small = images.dtype == np.uint8 and images.ndim == 3 and len(images) <= RECENT_BATCH
        if not (small and self.remembering_calls):
            return self.run(preprocessing.model_input(images))
        keys = [image.tobytes() for image in images]
        with self.recent_lock:
            known = [self.recent.get(key) for key in keys]
        missing = [index for index, row in enumerate(known) if row is None]
        if missing:
            outputs = np.asarray(self.run(preprocessing.model_input(images[missing])))
            with self.recent_lock:
                for index, row in zip(missing, outputs):
                    known[index] = self.recent[keys[index]] = row
                for key in list(self.recent)[: max(0, len(self.recent) - RECENT)]:
                    del self.recent[key]
        return np.stack(known).copy()

    def run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, runtime={self.runtime!r}, path='{self.path}')"


class KerasClassifier(Classifier):
    runtime = "keras"

    def __init__(self, name: str, path: Path, outputs: int = 10):
        super().__init__(name, path, outputs)
        self.model = load_digit_classifier(path, outputs)
        self.input_name = self.model.inputs[0].name

    def run(self, batch):
        if len(batch) <= 64:
            # Calling the model directly skips predict()'s per-call set-up, which dominates small batches.
            return np.asarray(self.model(batch, training=False))
        return np.asarray(self.model.predict(batch, batch_size=1024, verbose=0))


class SavedModelClassifier(Classifier):
    """A TensorFlow SavedModel's ``serving_default`` signature (what TensorFlow Serving runs)."""

    runtime = "savedmodel"

    def __init__(self, name: str, path: Path, outputs: int = 10):
        super().__init__(name, path, outputs)
        import_keras()
        import tensorflow as tf

        try:
            self.signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        except Exception as error:  # TensorFlow raises many types for a damaged SavedModel
            raise unreadable(path, "SavedModel", error) from None
        self.input_name = next(iter(self.signature.structured_input_signature[1]))

    def run(self, batch):
        outputs = self.signature(**{self.input_name: batch})
        return np.asarray(next(iter(outputs.values())))


class OnnxClassifier(Classifier):
    runtime = "onnx"

    def __init__(self, name: str, path: Path, outputs: int = 10):
        super().__init__(name, path, outputs)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # ONNX Runtime counts the machine's cores, not the ones this process may use: pinned to one core
        # (taskset, a container's CPU set), two spinning threads took 50% longer per batch than one.
        options.intra_op_num_threads = usable_cores()
        # Nor may its idle threads spin between calls: on this project's 2-core machine a spinning
        # thread slowed the preprocessing around each call, and `mnist_cnn.predict` of one drawn digit
        # took 16.8 ms with spinning against 9.2 ms without (a photo 41.8 against 30.3 ms); one
        # model call alone takes 0.37 ms instead of 0.23, batches of 64 or more the same.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors for a bad file
            raise unreadable(path, "ONNX model file", error) from None
        model_input, model_output = self.session.get_inputs()[0], self.session.get_outputs()[0]
        check_shapes(path, tuple(model_input.shape[1:]), tuple(model_output.shape[1:]), outputs)
        self.input_name = model_input.name

    def run(self, batch):
        return self.session.run(None, {self.input_name: batch})[0]


class LiteRTClassifier(Classifier):
    runtime = "litert"

    def __init__(self, name: str, path: Path, outputs: int = 10):
        super().__init__(name, path, outputs)
        from ai_edge_litert.interpreter import Interpreter

        try:
            with native_stderr_closed():  # hides "Created TensorFlow Lite XNNPACK delegate for CPU"
                self.interpreter = Interpreter(model_path=str(path), num_threads=usable_cores())
        except (ValueError, RuntimeError) as error:
            raise unreadable(path, "LiteRT model file", error) from None
        details = self.interpreter.get_input_details()[0]
        self.input_index = details["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.input_name = details["name"]
        self.batch_size = 0
        self.lock = threading.Lock()  # an interpreter holds its tensors: one call at a time

    def run(self, batch):
        with self.lock:
            if len(batch) != self.batch_size:
                # LiteRT fixes the batch size at allocation; resize for each new one. (Allocation is
                # where it announces its XNNPACK delegate on stderr.)
                with native_stderr_closed():
                    self.interpreter.resize_tensor_input(self.input_index, [len(batch), 28, 28, 1])
                    self.interpreter.allocate_tensors()
                self.batch_size = len(batch)
            self.interpreter.set_tensor(self.input_index, batch)
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.output_index).copy()


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


CLASSIFIERS = {cls.runtime: cls for cls in (OnnxClassifier, LiteRTClassifier, KerasClassifier, SavedModelClassifier)}
RUNTIMES = ("litert", "onnx", "keras")  # fastest first, as measured by benchmarks/inference.py
RUNTIME_MODULES = {"onnx": "onnxruntime", "litert": "ai_edge_litert", "keras": "keras", "savedmodel": "tensorflow"}
RUNTIME_FILES = {"onnx": "model.onnx", "litert": "model.tflite", "keras": "model.keras"}
SUFFIX_RUNTIMES = {".keras": "keras", ".h5": "keras", ".onnx": "onnx", ".tflite": "litert"}
EXTRA_FOR_RUNTIME = {"keras": "train", "savedmodel": "train", "litert": "litert", "onnx": "onnx"}


def load_network(name: str, path: Path, runtime: str, outputs: int = 10) -> Classifier:
    """The network at ``path`` as a ``Classifier`` of ``runtime`` giving ``outputs`` values per image,
    loaded once per process for each (path, runtime, file modification time): the shipped digit
    detector, piece judge and specialist readers, asked for on every ``predict`` call. Safe to call
    from several threads (ONNX Runtime's sessions are; the LiteRT classifier holds a lock).

    Raises:
        OSError: ``path`` cannot be read.
    """
    with _loading_network:
        return _load_network(name, str(path), runtime, outputs, path.stat().st_mtime_ns)


_loading_network = threading.Lock()


@cache
def _load_network(name: str, path: str, runtime: str, outputs: int, modified: int) -> Classifier:
    return CLASSIFIERS[runtime](name, Path(path), outputs=outputs)


def import_keras():
    from mnist_cnn.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    try:
        import keras
    except ImportError:
        raise MissingExtraError(
            "the Keras runtime needs the training extra: pip install 'mnist-cnn[train]' "
            "(or use --runtime onnx or litert)"
        ) from None
    return keras


KERAS_SIGNATURES = {".keras": (b"PK\x03\x04", "a zip archive"), ".h5": (b"\x89HDF\r\n\x1a\n", "an HDF5 file")}


def unreadable(path: Path, kind: str, error: Exception) -> ModelError:
    """The ModelError for a model file its runtime cannot load: the path, the kind, the runtime's reason."""
    first_line = (str(error).splitlines() or [""])[0][:200]
    return ModelError(f"{path}: not a readable {kind} ({type(error).__name__}: {first_line})")


def load_keras_model(path: Path):
    """A Keras model from a ``.keras`` (zip) or ``.h5`` (HDF5) file, uncompiled.

    Raises:
        ModelError: the file cannot be read, does not start as its format must, or Keras cannot load it.
    """
    keras = import_keras()
    path = Path(path)
    signature, format_name = KERAS_SIGNATURES.get(path.suffix, (b"", ""))
    try:
        with path.open("rb") as file:
            head = file.read(len(signature))
    except OSError as error:
        raise ModelError(f"{path}: cannot read ({error.strerror or error})") from None
    if head != signature:
        raise ModelError(f"{path}: not a readable Keras model file (it is not {format_name})")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged file; the user needs to know which file
        raise unreadable(path, "Keras model file", error) from None


def check_shapes(path: Path, input_shape: tuple, output_shape: tuple, outputs: int = 10) -> None:
    """Raises ModelError naming ``path`` unless the model takes (28, 28, 1) or (28, 28) images (batch
    axis left out) and gives ``outputs`` values per image."""
    if tuple(input_shape) not in ((28, 28, 1), (28, 28)) or tuple(output_shape) != (outputs,):
        raise ModelError(
            f"{path}: expects input {input_shape} and outputs {output_shape}; "
            f"a digit model takes (28, 28, 1) and outputs ({outputs},)"
        )


def load_digit_classifier(path: Path, outputs: int = 10):
    """The Keras model in ``path`` (``load_keras_model``), checked to be a digit classifier: (28, 28, 1)
    images in, ``outputs`` values out (10 classes; 1 for a detector).

    Raises:
        ModelError: the file cannot be loaded, or its input or output is not a digit classifier's.
    """
    model = load_keras_model(path)
    check_shapes(path, tuple(model.input_shape[1:]), tuple(model.output_shape[1:]), outputs)
    return model


def installed(runtime: str) -> bool:
    return importlib.util.find_spec(RUNTIME_MODULES[runtime]) is not None


def shipped_models() -> list[str]:
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(path.name for path in SHIPPED_DIR.iterdir() if (path / "MODEL_CARD.md").exists())


def resolve_model_path(name_or_path: str | Path | None, runtime: str | None = None) -> tuple[str, Path]:
    """A shipped model's name or a model file -> (display name, the file for ``runtime``).

    Shipped models carry a file per runtime; with no runtime the fastest installed one is chosen.
    A path picks its runtime from its suffix (.keras/.h5, .onnx, .tflite, or a SavedModel folder).
    """
    name_or_path = name_or_path or DEFAULT_MODEL
    shipped = SHIPPED_DIR / str(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path and (shipped / "MODEL_CARD.md").exists():
        candidates = [runtime] if runtime else [r for r in RUNTIMES if installed(r)]
        for candidate in candidates:
            if (shipped / RUNTIME_FILES.get(candidate, "")).is_file():
                return str(name_or_path), shipped / RUNTIME_FILES[candidate]
        if runtime in ("onnx", "litert"):
            raise ModelError(
                f"shipped model {name_or_path!r} has no {runtime} file; make one with "
                f"`mnist-cnn export --model {name_or_path} --format {runtime} --out DIR` and pass DIR's file"
            )
        raise ModelError(f"shipped model {name_or_path!r} has no file for runtime {runtime or 'installed'}")
    path = Path(name_or_path)
    if path.is_dir() and (path / "model.keras").exists():
        path = path / "model.keras"  # a run folder
    if not path.exists():
        if path.suffix in SUFFIX_RUNTIMES or "/" in str(name_or_path):
            raise ModelError(f"{path}: no such model file")
        available = ", ".join(shipped_models()) or "none"
        raise ModelError(f"{name_or_path}: not a shipped model ({available}) nor a model file")
    if path_runtime(path) is None:
        raise ModelError(f"{path}: not a model file (.keras, .h5, .onnx, .tflite or a SavedModel folder)")
    return path.stem, path


def trained_on(model_path: Path) -> str:
    """The dataset named by the metrics.json beside a model file; mnist when there is none."""
    try:
        return json.loads((model_path.parent / "metrics.json").read_text())["dataset"]
    except (OSError, ValueError, KeyError, TypeError):
        return "mnist"


def path_runtime(path: Path) -> str | None:
    if path.is_dir():
        return "savedmodel" if (path / "saved_model.pb").exists() else None
    return SUFFIX_RUNTIMES.get(path.suffix)


def load_model(name_or_path: str | Path | None = None, runtime: str | None = None) -> Classifier:
    """Load a shipped model by name (``seed``) or a model file; default: the shipped model.

    ``runtime``: "onnx", "litert" or "keras"; None picks the fastest one installed for a shipped
    model, or the file's own runtime for a path. Raises ModelError or MissingExtraError.
    """
    if runtime is not None and runtime not in CLASSIFIERS:
        raise ModelError(f"unknown runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
    name, path = resolve_model_path(name_or_path, runtime)
    file_runtime = path_runtime(path)
    if runtime is not None and runtime != file_runtime:
        if file_runtime == "keras" and runtime in ("onnx", "litert"):
            remedy = f"convert it with `mnist-cnn export --model {path} --format {runtime} --out DIR`"
        else:
            remedy = f"use --runtime {file_runtime}, or give the .keras file this model was exported from"
        raise ModelError(f"{path} runs on the {file_runtime} runtime, not {runtime}; {remedy}")
    if not installed(file_runtime):
        extra = EXTRA_FOR_RUNTIME[file_runtime]
        raise MissingExtraError(f"the {file_runtime} runtime is not installed: pip install 'mnist-cnn[{extra}]'")
    return CLASSIFIERS[file_runtime](name, path)


def as_list(images) -> list:
    """Split the accepted input forms into a list of single images."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        return list(images)
    if isinstance(images, (list, tuple)):
        return list(images)
    return [images]


def predict(
    images, model: Classifier | str | Path | None = None, accept_all: bool = False, mode: str = "auto"
) -> list[Prediction | NumberPrediction]:
    """Predict the digit, or the number, in each image, and whether it is a digit at all.

    Args:
        images: a path, a PIL image, an array (28, 28) or (n, 28, 28), or a list of these. Paths and
            PIL images go through MNIST-style preprocessing; (28, 28) arrays are taken as MNIST-format.
        model: a Classifier from ``load_model``, a shipped model's name or a model file (default: shipped).
        accept_all: turn rejection off: every prediction's status is "digit".
        mode: "auto" (a number when an image holds several digits), "single" or "number" (see ``read``).
    Returns:
        one Prediction per image holding one digit, a NumberPrediction per number, in order. Raises
        ImageError for the first image that cannot be read or holds no ink at all (a blank page, or an
        all-zero array), ValueError for an unknown ``mode``.
    """
    from mnist_cnn.rejection import load_rejector

    if mode not in READING_MODES:
        raise ValueError(f"Expected mode to be one of {', '.join(READING_MODES)}; received {mode!r}")
    classifier = model if isinstance(model, Classifier) else load_model(model)
    items = as_list(images)
    rejector = load_rejector(classifier)  # its piece judge also checks the cuts between touching digits
    with classifier.remembering():
        readings = [read(item, mode, classifier.probabilities, rejector.one_digit_probabilities) for item in items]
        paths = [str(item) if isinstance(item, (str, Path)) else None for item in items]
        return classify_readings(classifier, readings, paths, None if accept_all else rejector)


def classify(
    classifier: Classifier,
    prepared: list[np.ndarray],
    paths: list[str | None],
    rejector=None,
    kinds: Sequence[str | None] | None = None,
) -> list[Prediction]:
    """Predictions for already-preprocessed uint8 (28, 28) images; ``rejector`` (a
    ``rejection.Rejector``) gives each its status, None leaves every status "digit". ``kinds``: per
    image, the kind of input its digit is (``readers.KINDS``, or None), read by that kind's reader
    when ``classifier`` has one (``read_digits``)."""
    if not prepared:
        return []
    images = np.stack(prepared)
    probabilities, read_by = read_digits(classifier, images, kinds)
    statuses, digit_probabilities = ["digit"] * len(images), [None] * len(images)
    if rejector is not None:
        statuses, scores = rejector.statuses(images, probabilities)
        if scores is not None:
            digit_probabilities = [round(float(score), 6) for score in scores]
    return [
        Prediction(
            digit=int(row.argmax()),
            confidence=float(row.max()),
            probabilities=[round(float(value), 6) for value in row],
            image=image,
            path=path,
            status=status,
            digit_probability=digit_probability,
            reader=reader,
        )
        for row, image, path, status, digit_probability, reader in zip(
            probabilities, prepared, paths, statuses, digit_probabilities, read_by
        )
    ]


def read_digits(
    classifier: Classifier, images: np.ndarray, kinds: Sequence[str | None] | None = None
) -> tuple[np.ndarray, list[str | None]]:
    """float32 (n, 10) probabilities for uint8 (n, 28, 28) ``images``, and which specialist reader
    gave each row in place of ``classifier`` (a kind in ``readers.KINDS``, or None): each image
    ``kinds`` marks with a kind (None: none is) is read by that kind's reader
    (``readers.reader_for``) when ``classifier`` has one.

    Raises:
        ValueError: ``kinds`` does not hold one value per image, or holds an unknown kind.
    """
    if kinds is not None and len(kinds) != len(images):
        raise ValueError(f"{len(images)} images but {len(kinds)} kinds")
    kinds = list(kinds) if kinds is not None else [None] * len(images)
    specialists = {kind: readers.reader_for(classifier, kind) for kind in set(kinds) - {None}}
    read_by = [kind if kind is not None and specialists[kind] is not None else None for kind in kinds]
    if not any(read_by):
        return classifier.probabilities(images), read_by
    probabilities = np.zeros((len(images), 10), np.float32)  # readers exist for shipped MNIST models only
    for model, kind in [(classifier, None), *((reader, kind) for kind, reader in specialists.items())]:
        chosen = [index for index, by in enumerate(read_by) if by == kind]
        if chosen:
            probabilities[chosen] = model.probabilities(images[chosen])
    return probabilities, read_by


CSV_COLUMNS = ("path", "digit", "confidence", "status", "error")


def write_csv(
    predictions: Sequence[Prediction | NumberPrediction],
    target: Path,
    failures: Sequence[Failure] = (),
    order: Sequence[str] | None = None,
) -> Path:
    """One row per image, written atomically: path, digit (or the number read), confidence 0-1, status
    and error. ``status``: "digit", "unsure" or "not_a_digit" (see ``Prediction``), or "error" for each
    of ``failures``, whose digit and confidence are empty and whose error says why. ``order``: the
    paths as given, a path given twice listed twice, for rows in that order (default: predictions,
    then failures); rows of paths not in it come last.

    Raises:
        OutputError: ``target`` cannot be written.
    """
    import csv

    from mnist_cnn.files import atomic_path

    rows = [
        [
            prediction.path,
            prediction.number if isinstance(prediction, NumberPrediction) else prediction.digit,
            f"{prediction.confidence:.6f}",
            prediction.status,
            "",
        ]
        for prediction in predictions
    ] + [[failure.path, "", "", "error", failure.message] for failure in failures]
    if order is not None:
        positions: dict[str, list[int]] = {}
        for index, path in enumerate(order):
            positions.setdefault(path, []).append(index)
        # Each row takes its path's next position: predictions and failures each keep the input's order.
        taken = [positions[row[0]].pop(0) if positions.get(row[0]) else len(order) for row in rows]
        rows = [row for _, row in sorted(zip(taken, rows), key=lambda pair: pair[0])]
    with atomic_path(target) as partial, partial.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return Path(target)


@dataclass
class Reading:
    """What an image holds, made MNIST-style: one digit (``boxes`` None), or a number's digits left to
    right with their boxes in the image's pixels. ``images``: uint8 (28, 28) each. ``whole``: in the
    "auto" mode, for a number, the whole image as one digit, which wins if it is read as a digit."""

    images: list[np.ndarray]
    boxes: list[list[int]] | None = None
    whole: np.ndarray | None = None
    kind: str | None = None  # the one digit's (or the whole's) kind with a reader of its own (``readers.KINDS``)
    digit_kinds: list[str | None] | None = None  # a number's digits' kinds (``number_kinds``), or None: the model's
    # In the "auto" mode, for one mark at least as wide as it is tall: makes the number mode's reading of
    # the image (or None), which wins if the whole is refused and each of its digits is surely one
    # (``pieces_if_refused``); made only then, since few wholes are refused.
    pieces: Callable[[], Reading | None] | None = None


READING_MODES = ("auto", "single", "number")
# A number whose strokes, over its whole ink map, are under this share of the bold width is not measured
# digit by digit (``number_kinds``). On 100 numbers of validation digits each, as the numbers benchmark
# renders them, the whole measured 0.53-0.71 of it drawn, 0.43-0.81 photographed, 0.67-2.40 written with
# a marker 2-4x MNIST's stroke (1 of those 100 numbers has a digit measured bold under the gate).
THIN_NUMBER = 0.75
# of a number's digits' median height: a gap this wide along the line between two of them is no digit's own
# (``written_apart``; a 5's loose bar overlaps its body along the line, a 4's two strokes nearly touch)
APART = 0.1
# of its height: one mark this wide may be two digits touching, and the "auto" mode also reads it as a number
# (``pieces_if_refused``). 20% of MNIST's training digits are as wide by their ink boxes (0s, 2s and 5s: 39-46%).
TOUCHING_WIDTH = 1.0
# the digit detector's probability: each digit of such a number is this sure a digit, or the whole stays
# refused (helper-38's heart cut into "17": 0.44 for its "1"; helper-39's touching "45" and "97": 0.94-1.0)
SURE_PIECE = 0.9


def read(source, mode: str = "auto", classify=None, digit_probability=None) -> Reading:
    """One source to a Reading. ``mode``: "single" treats it as one digit (``preprocessing.prepare``);
    "number" always reads a number; "auto" reads a number when segmentation finds several digits on
    one line of writing (``segmentation.on_one_line``), and one digit exactly as "single" otherwise.
    Arrays and ``.npy`` files are one digit: MNIST format at (28, 28), a grayscale image otherwise
    (``preprocessing.prepare``).
    ``classify``: uint8 (n, 28, 28) -> (n, 10) probabilities, for cutting touching digits;
    ``digit_probability``: uint8 (n, 28, 28) -> (n,) probabilities of being one whole digit (or None),
    the digit detector's, to check the cuts (``segmentation.segment``).
    Raises ImageError for what cannot be read or holds no ink."""
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".npy":
        source = preprocessing.load_npy(Path(source))
    if isinstance(source, np.ndarray) and source.shape == (preprocessing.FIELD, preprocessing.FIELD):
        return Reading([preprocessing.prepare(source)])  # MNIST format already (the array checked first)
    if isinstance(source, np.ndarray):
        gray, mode = preprocessing.array_to_gray(source), "single"
    else:
        gray = preprocessing.open_image(source)
    return read_gray(gray, mode, classify, digit_probability)


def read_gray(gray: np.ndarray, mode: str = "auto", classify=None, digit_probability=None) -> Reading:
    """``read`` of a decoded grayscale image (h, w), grey levels 0-255 (``preprocessing.open_image``'s),
    in any ``mode``. Raises ImageError for an image that holds no ink."""
    from mnist_cnn import segmentation

    if mode == "single":
        return one_digit(preprocessing.find_ink(gray)[0], is_low_resolution(gray))
    ink, placement = segmentation.ink_map(gray)
    segments = segmentation.find_digits(ink, placement, gray.shape, classify, digit_probability, mode == "number")
    images, boxes = [segment.image for segment in segments], [list(segment.box) for segment in segments]
    if mode == "number":
        return Reading(images, boxes, digit_kinds=number_kinds(segments, ink))
    scan = is_low_resolution(gray)  # what a one-digit reading's kind needs, not a number's digits
    if len(segments) == 1:
        if placement.reduced:  # a drawing cleaned smaller to find a number's digits: one digit is read at full size
            single = one_digit(preprocessing.find_ink(gray)[0], scan)
        else:
            single = one_digit(ink, scan, segments[0].image)  # the same array to_mnist() makes
        left, top, right, bottom = segments[0].box
        if classify is not None and digit_probability is not None and right - left >= TOUCHING_WIDTH * (bottom - top):
            single.pieces = partial(touching_pieces, ink, placement, gray.shape, classify, digit_probability)
        return single
    if not segmentation.on_one_line([segment.box for segment in segments]):
        return one_digit(ink, scan)  # no line of writing (a "%"): one thing
    kinds = number_kinds(segments, ink)
    # to_mnist's (a reduced drawing's at that size), from the same ink map: it wins if read as one digit
    whole = one_digit(ink, scan)
    return Reading(images, boxes, whole.images[0], whole.kind, kinds)


def touching_pieces(ink: np.ndarray, placement, shape: tuple[int, int], classify, digit_probability) -> Reading | None:
    """The number mode's Reading of an image of ``shape`` (h, w) whose ink map ``ink`` (with its
    ``placement``, ``segmentation.ink_map``'s) holds one mark at least TOUCHING_WIDTH times as wide
    as it is tall: two or more digits on one line when segmentation, told it is a number, cuts it so
    with ``classify`` and the piece judge's ``digit_probability``; else None."""
    from mnist_cnn import segmentation

    segments = segmentation.find_digits(ink, placement, shape, classify, digit_probability, number=True)
    boxes = [list(segment.box) for segment in segments]
    if len(segments) < 2 or not segmentation.on_one_line(boxes):
        return None
    return Reading([segment.image for segment in segments], boxes, digit_kinds=number_kinds(segments, ink))


def number_kinds(segments: list, ink: np.ndarray) -> list[str | None]:
    """Per digit of a number (``segmentation.Segment``s found in the ink map ``ink``): "bold" when its
    own ink, cropped as one digit's is (``preprocessing.crop_digit``), has bold strokes
    (``bold_strokes.is_bold``: a number written with a marker; docs/BENCHMARKS.md, "Reading
    numbers"), else None. A number whose strokes, measured once over the whole map
    (``digit.mean_stroke_width``), are under THIN_NUMBER of the bold width for its digits' size has
    no bold digit: none is measured alone."""
    from mnist_cnn.preprocessing import digit

    sizes = [max(segment.ink.shape) for segment in segments if segment.ink is not None]
    if len(sizes) == len(segments) > 1:
        multiple = digit.mean_stroke_width(ink > 0.5) / (digit.STROKE_RATIO * float(np.median(sizes)))
        if multiple < THIN_NUMBER * BOLD:
            return [None] * len(segments)
    kinds = []
    for segment in segments:
        try:
            bold = is_bold(preprocessing.crop_digit(ink if segment.ink is None else segment.ink))
        except ImageError:
            bold = False
        kinds.append("bold" if bold else None)
    return kinds


def one_digit(ink: np.ndarray, low_resolution: bool, image: np.ndarray | None = None) -> Reading:
    """A one-digit Reading of an ink map (``preprocessing.find_ink``'s, or ``segmentation.ink_map``'s):
    its 28x28 (``preprocessing.ink_to_mnist``, or ``image`` when already made from it) and its kind,
    "low_resolution" for a low-resolution scan's, "bold" for bold strokes (``bold_strokes.is_bold``
    on the same crop), or None. Raises ImageError for an ink map that holds no ink."""
    cropped = preprocessing.crop_digit(ink)
    image = preprocessing.cropped_to_mnist(cropped) if image is None else image
    kind = "low_resolution" if low_resolution else "bold" if is_bold(cropped) else None
    return Reading([image], kind=kind)


def read_many(sources: list, names: list[str], mode: str = "auto", classify=None, digit_probability=None):
    """``read`` for each source; return (readings, their names, a Failure per source that could not be
    read, whose ``str`` is its error line)."""
    readings, read_names, failures = [], [], []
    for source, name in zip(sources, names):
        try:
            readings.append(read(source, mode, classify, digit_probability))
            read_names.append(name)
        except ImageError as error:
            message = str(error).removeprefix("image: ")  # bytes are called "image" by the decoder
            message = message.removeprefix(f"{name}: ")
            if isinstance(source, (str, Path)):  # the decoder names a path as Path prints it: ./a.png as a.png
                message = message.removeprefix(f"{Path(source)}: ")
            failures.append(Failure(name, message))
    return readings, read_names, failures


def classify_readings(
    classifier: Classifier, readings: list[Reading], paths: list[str | None], rejector=None
) -> list[Prediction | NumberPrediction]:
    """A Prediction per one-digit reading, a NumberPrediction per number; one classifier call for all
    their digits, after the auto mode's wholes are judged (one call each; a pair of brackets,
    ``brackets_as_one``, costs one more).

    A number found by the "auto" mode whose whole image the rejector accepts as one digit, and finds
    at least as likely a digit as the least likely of its digits (``one_digit_if_accepted``), is read
    as that digit: a digit in pieces (a broken stroke, a bold marker's gap) stays one digit, while
    several digits side by side, which the detector learnt are not one digit, stay a number."""
    if rejector is not None:
        readings = [brackets_as_one(classifier, reading) for reading in readings]
        readings = [one_digit_if_accepted(classifier, reading, rejector) for reading in readings]
        readings = [pieces_if_refused(classifier, reading, rejector) for reading in readings]
    images = [image for reading in readings for image in reading.images]
    kinds = [
        kind
        for reading in readings
        for kind in ([reading.kind] if reading.boxes is None else reading.digit_kinds or [None] * len(reading.images))
    ]
    flat = iter(classify(classifier, images, [None] * len(images), rejector, kinds))
    answers = []
    for reading, path in zip(readings, paths):
        digits = [next(flat) for _ in reading.images]
        if reading.boxes is None:
            digits[0].path = path
            answers.append(digits[0])
        else:
            for digit, box in zip(digits, reading.boxes):
                digit.box = box
            answers.append(NumberPrediction(digits, path))
    return answers


def brackets_as_one(classifier: Classifier, reading: Reading) -> Reading:
    """``reading``, or its whole image as one thing when the "auto" mode found a number of two digits
    that the classifier reads as 1s and that bow apart as a pair of brackets does
    (``segmentation.is_bracket_pair``): "( )" is then judged whole (and refused as no digit, as 119
    of 120 pairs of brackets drawn with a pen were), not read "11". Every other reading is left as it is."""
    from mnist_cnn import segmentation

    if reading.whole is None or len(reading.images) != 2 or not segmentation.is_bracket_pair(*reading.images):
        return reading
    if (classifier.probabilities(np.stack(reading.images)).argmax(axis=1) != 1).any():
        return reading
    return Reading([reading.whole], kind=reading.kind)


def one_digit_if_accepted(classifier: Classifier, reading: Reading, rejector) -> Reading:
    """``reading``, or its whole image as one digit when the rejector gives that the status "digit"
    and its detector finds the whole at least as likely a digit as the least likely of the number's
    digits: a 5 whose bar came apart (the bar is no digit) stays a 5, while "31" written close, whose
    whole the detector accepts at 0.49 against 0.99 for its 3 and its 1, stays "31". Without a
    detector (a model trained on another dataset) an accepted whole is taken, as before. Digits
    written apart (``written_apart``) stay a number whatever the whole reads: "51" with a gap of a
    quarter of its height, its whole one 5 to the detector (0.74) beside a plain 1 it is less sure
    of (helper-38), was read "5"."""
    if reading.whole is None or written_apart(reading.boxes):
        return reading
    (whole,) = classify(classifier, [reading.whole], [None], rejector, [reading.kind])
    if whole.status != "digit":
        return reading
    pieces = rejector.digit_probabilities(np.stack(reading.images))
    if pieces is not None and whole.digit_probability < round(float(pieces.min()), 6):  # as classify rounds
        return reading
    return Reading([reading.whole], kind=reading.kind)


def pieces_if_refused(classifier: Classifier, reading: Reading, rejector) -> Reading:
    """``reading``, or its number mode's reading (``Reading.pieces``) when the rejector refuses the
    whole as no digit and gives each of the number's digits the status "digit" at a digit
    probability of SURE_PIECE at least, not all of them 1s: two digits written touching ("45",
    "97": helper-39) are no one digit, while a symbol's or a letter's strokes cut apart are unsure
    digits (a heart's "1" at 0.44), or read as 1s ("M" as "111"), and stay refused. Every other
    reading is left as it is."""
    if reading.pieces is None:
        return reading
    (whole,) = classify(classifier, reading.images, [None], rejector, [reading.kind])
    pieces = reading.pieces() if whole.status == "not_a_digit" else None
    if pieces is None:
        return reading
    count = len(pieces.images)
    digits = classify(classifier, pieces.images, [None] * count, rejector, pieces.digit_kinds or [None] * count)
    sure = all(digit.status == "digit" and (digit.digit_probability or 0.0) >= SURE_PIECE for digit in digits)
    return pieces if sure and any(digit.digit != 1 for digit in digits) else reading


def written_apart(boxes: list[list[int]] | None) -> bool:
    """Whether a number's digit boxes (``[left, top, right, bottom]`` each, in pixels) hold two
    neighbours with a gap along the line of at least APART of the digits' median height: digits
    written apart, never the pieces of one digit, which overlap along the line or nearly touch (a
    5's loose bar, a 4 in two strokes, a marker's gap)."""
    if not boxes or len(boxes) < 2:
        return False
    ordered = sorted(boxes, key=lambda box: box[0] + box[2])
    height = float(np.median([box[3] - box[1] for box in ordered]))
    return any(right[0] - left[2] >= APART * height for left, right in zip(ordered, ordered[1:]))


def prepare_many(
    sources: list, names: list[str] | None = None
) -> tuple[list[np.ndarray], list[str], list[str], list[str | None]]:
    """Preprocess what can be read, one digit each; return (images, their names, one error line per
    failure, each one's kind: ``Reading.kind``, for ``read_digits``). ``names``: what each source is
    called in messages (default: the source itself, a path)."""
    readings, read_names, failures = read_many(sources, names or [str(source) for source in sources], "single")
    images = [reading.images[0] for reading in readings]
    kinds = [reading.kind for reading in readings]
    return images, read_names, [str(failure) for failure in failures], kinds
