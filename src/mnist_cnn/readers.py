"""Specialist readers: networks that read one kind of input in place of the shipped ``best``.

Some inputs reach the model as shapes no MNIST digit has, and ``best``, which must keep its MNIST test
accuracy, reads them worse than a network trained on what preprocessing makes of them. Such a
network ships in a folder of its own with a model card and its runtimes' files, and reads a
one-digit image of its kind in place of the shipped models in ``READ_FOR``:

- ``"low_resolution"``: a scan of a few pixels a side, or such a scan enlarged (``low_resolution``);
- ``"bold"``: strokes far wider than MNIST's, a marker's or a wide pen's (``bold_strokes``), also a
  number's digit by digit (``prediction.number_kinds``).

The modules named there tell an image's kind; this one finds and loads the networks. A model the
user names by its file is never replaced: only the shipped models' own folders count.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
FOLDERS = {"low_resolution": PACKAGE_DIR / "low_resolution_reader", "bold": PACKAGE_DIR / "bold_reader"}
KINDS = tuple(FOLDERS)
READ_FOR = ("best", "best-ensemble")  # the shipped models whose inputs of these kinds the readers read


def reader_for(classifier, kind: str):
    """The ``kind`` reader (a ``runtimes.Classifier``: uint8 (n, 28, 28) -> float32 (n, 10)
    calibrated probabilities) in ``classifier``'s runtime when ``classifier`` is one of the shipped
    models in ``READ_FOR`` and the reader ships a file for that runtime; None otherwise.

    Raises:
        ValueError: ``kind`` is not one of ``KINDS``.
    """
    from mnist_cnn.runtimes import SHIPPED_DIR

    check_kind(kind)
    path = Path(classifier.path).resolve()
    if classifier.name not in READ_FOR or path.parent != (SHIPPED_DIR / classifier.name).resolve():
        return None
    return load_reader(kind, classifier.runtime)


def load_reader(kind: str, runtime: str):
    """The shipped ``kind`` reader for ``runtime`` ("onnx", "litert", "keras" or "savedmodel", which
    uses the Keras file), loaded once per process (``runtimes.load_network``, also when several
    threads ask at once); None when it has no file for that runtime.

    Raises:
        ValueError: ``kind`` is not one of ``KINDS``.
    """
    from mnist_cnn.runtimes import RUNTIME_FILES, load_network

    check_kind(kind)
    runtime = "keras" if runtime == "savedmodel" else runtime
    path = FOLDERS[kind] / RUNTIME_FILES[runtime]
    return load_network(f"{kind.replace('_', '-')}-reader", path, runtime) if path.is_file() else None


def check_kind(kind: str) -> None:
    """Raise ValueError unless ``kind`` is one of ``KINDS``."""
    if kind not in FOLDERS:
        raise ValueError(f"Expected a reader kind in {', '.join(KINDS)}; received {kind!r}")
