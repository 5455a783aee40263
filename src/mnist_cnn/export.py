"""Exports through Keras 3's own ``model.export``: TensorFlow SavedModel, ONNX and LiteRT.

Every export is checked after it is written: the exported artifact, run in its own runtime, is
scored on the full test set, and that accuracy goes into the folder's ``manifest.json``. The output
folder is checked before the model is loaded and locked while exports are written into it.

Exports are written from Keras' TensorFlow backend whatever KERAS_BACKEND says: Keras 3 writes
LiteRT only from TensorFlow (or PyTorch), and ONNX from JAX only through jax2onnx (Flax, Optax,
Orbax and more), while a .keras file is the same on every backend. On another backend the export
runs in a child process on TensorFlow, so a model trained on JAX gets the same files as one
trained on TensorFlow.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np

from mnist_cnn import data
from mnist_cnn.errors import OutputError, UsageError
from mnist_cnn.files import atomic_path, ensure_folder, folder_lock, remove_partials, write_json
from mnist_cnn.preprocessing import model_input
from mnist_cnn.quiet import native_stderr_closed

FORMATS = ("savedmodel", "onnx", "litert")
QUANTIZATIONS = ("float16", "int8")
FILE_NAMES = {"savedmodel": "savedmodel", "onnx": "model.onnx", "litert": "model.tflite"}
REPRESENTATIVE_IMAGES = 500  # training images that calibrate int8 activation ranges
EXPORT_FREE_BYTES = 50_000_000  # checked before starting: the best-ensemble's SavedModel is the largest, ~30 MB


def litert_options(quantize: str | None, train_images: np.ndarray | None) -> dict:
    """TFLite converter settings for a quantisation mode (float input and output are kept)."""
    if quantize is None:
        return {}
    import tensorflow as tf

    options = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "float16":
        options["target_spec"] = {"supported_types": [tf.float16]}
    else:
        sample = train_images[np.random.default_rng(0).choice(len(train_images), REPRESENTATIVE_IMAGES, replace=False)]

        def representative_dataset():
            for image in sample:
                yield [model_input(image[None])]

        options["representative_dataset"] = representative_dataset
    return options


def export_one(model, fmt: str, out_dir: Path, quantize: str | None, train_images: np.ndarray | None) -> Path:
    """Write one format into ``out_dir`` under a temporary name, then rename it into place.

    Raises:
        OutputError: the file cannot be written (full or read-only disk, no permission).
    """
    import tensorflow as tf

    target = out_dir / FILE_NAMES[fmt]
    with atomic_path(target) as partial:
        try:
            write_export(model, fmt, partial, quantize, train_images)
        except tf.errors.OpError as error:  # TensorFlow's file writes fail with its own errors, not OSError
            raise OutputError(f"cannot write {target}: {error.message.splitlines()[0]}") from None
        if target.is_dir():
            shutil.rmtree(target)  # os.replace cannot replace a non-empty folder
    return target


def export_model_files(source: Path, folder: Path, formats: tuple[str, ...] = ("onnx", "litert")) -> None:
    """A Keras model file ``source`` saved into ``folder`` as ``model.keras``, with an unquantised export
    in each of ``formats`` beside it (``FILE_NAMES``), each written atomically; no accuracy check: for
    networks that ship beside the models (the specialist readers, the piece judge), whose scripts
    measure them on their own sets.

    Raises:
        OutputError: a file cannot be written.
    """
    import keras

    model = keras.models.load_model(source, compile=False)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.keras") as partial:
        model.save(partial)
    model(np.zeros((1, *model.input_shape[1:]), np.float32))  # the exporters trace a model that has been called
    for fmt in formats:
        export_one(model, fmt, folder, None, None)


def write_export(model, fmt: str, path: Path, quantize: str | None, train_images: np.ndarray | None) -> None:
    if fmt == "savedmodel":
        model.export(str(path), format="tf_saved_model", verbose=False)
    elif fmt == "onnx":
        model.export(str(path), format="onnx", verbose=False)
    else:
        with native_stderr_closed():  # the converter logs its quantisation settings from C++
            model.export(str(path), format="litert", verbose=False, **litert_options(quantize, train_images))


def export(
    model_name_or_path,
    formats: list[str],
    out_dir: Path,
    quantize: str | None = None,
    data_dir: Path | None = None,
    log=print,
    dataset_name: str | None = None,
) -> dict:
    """Export a model into ``out_dir`` in each format and write the manifest; return the manifest.

    ``dataset_name``: what the model was trained on, for int8 calibration and the accuracy check;
    None reads it from the metrics.json beside the model (a run folder or a shipped model), else mnist.
    Raises:
        UsageError: bad options. ModelError: the model is unknown, unreadable or not a digit classifier
            ((28, 28, 1) in, 10 out). DataError: bad data.
        OutputError: ``out_dir`` cannot be written. BusyError: another export writes into it.
    """
    import keras

    from mnist_cnn.runtimes import load_digit_classifier, resolve_model_path, trained_on

    if keras.backend.backend() != "tensorflow":
        return export_on_tensorflow(model_name_or_path, formats, out_dir, quantize, data_dir, log, dataset_name)
    if quantize and formats != ["litert"]:
        raise UsageError("--quantize applies to the litert format only; use --format litert")
    name, source = resolve_model_path(model_name_or_path, runtime="keras")
    if source.suffix not in (".keras", ".h5"):
        raise UsageError(f"{source}: export starts from a Keras model (.keras or .h5)")
    model = load_digit_classifier(source)  # the model and the data are checked before any folder is made
    dataset = data.load_dataset(dataset_name or trained_on(source), data_dir)
    out_dir = ensure_folder(out_dir, "--out", EXPORT_FREE_BYTES)
    with folder_lock(out_dir, "exported into"):
        remove_partials(out_dir)  # what a killed export was writing
        # Keras only exports a model it has called; one trained inside a wrapper (augmentation) was
        # never called on its own.
        model(np.zeros((1, *model.input_shape[1:]), dtype=np.float32), training=False)
        manifest = {
            "source_model": name,
            "source_path": str(source),
            "quantize": quantize,
            "created": datetime.now().isoformat(timespec="seconds"),
            "exports": {fmt: export_checked(model, fmt, out_dir, quantize, dataset, log) for fmt in formats},
        }
        write_json(out_dir / "manifest.json", manifest)
    return manifest


def export_on_tensorflow(*arguments) -> dict:
    """``export(*arguments)`` in a child process whose Keras runs on TensorFlow; its manifest. The
    child's errors are raised here as they were raised there."""
    import multiprocessing

    backend = os.environ.get("KERAS_BACKEND")
    os.environ["KERAS_BACKEND"] = "tensorflow"  # what the child starts with; Keras here keeps its backend
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(export_quietly, *arguments).result()
    finally:
        if backend is None:
            del os.environ["KERAS_BACKEND"]
        else:
            os.environ["KERAS_BACKEND"] = backend


def export_quietly(*arguments) -> dict:
    """``export`` in a fresh process, with TensorFlow's start-up lines hidden as the command line hides them."""
    from mnist_cnn.quiet import quiet_python_logs

    quiet_python_logs(needs_tensorflow=True)
    return export(*arguments)


def export_checked(model, fmt: str, out_dir: Path, quantize: str | None, dataset: data.Dataset, log) -> dict:
    """Write one format into ``out_dir``, score it in its own runtime on the test set; its manifest entry."""
    from mnist_cnn import evaluation
    from mnist_cnn.runtimes import load_model

    target = export_one(model, fmt, out_dir, quantize, dataset.train_images)
    classifier = load_model(target, runtime={"savedmodel": "savedmodel"}.get(fmt, fmt))
    result = evaluation.score(classifier.probabilities(dataset.test_images), dataset.test_labels, dataset.class_names)
    log(f"{fmt:10} {target}  test accuracy {result.accuracy:.2%}")
    return {
        "path": target.name,
        "format": {"savedmodel": "tf_saved_model"}.get(fmt, fmt),
        "input_name": classifier.input_name,
        "input_shape": [None, 28, 28, 1],
        "input_dtype": "float32",
        "input_range": "0-1 (pixel / 255), light ink on dark",
        "output": "probabilities, float32 (n, 10)",
        "bytes": folder_size(target),
        "test_accuracy": result.accuracy,
        "test_count": result.count,
    }


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
