"""A trained network loaded in one of its runtimes (ONNX Runtime, LiteRT, Keras, a SavedModel):
finding a shipped model's or a file's network, checking it is a digit classifier, and the
``Classifier`` that answers uint8 (n, 28, 28) images with float32 (n, outputs) values.

``prediction`` reads people's images with these; the specialist readers (``readers``) and the digit
detector (``rejection``) load their own networks with ``load_network``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np

from mnist_cnn import preprocessing
from mnist_cnn.errors import MissingExtraError, ModelError
from mnist_cnn.quiet import native_stderr_closed

SHIPPED_DIR = Path(__file__).parent / "shipped"
DEFAULT_MODEL = "best"  # the most accurate shipped model; "seed" stays available by name


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
