"""Keep TensorFlow's start-up noise off a user's terminal (``--verbose`` brings it back)."""

from __future__ import annotations

import contextlib
import os
import sys

VERBOSE_ENV_VAR = "MNIST_CNN_VERBOSE"


@contextlib.contextmanager
def native_stderr_closed():
    """Close file descriptor 2 for a block: C++ libraries log there before Python can filter anything."""
    if os.environ.get(VERBOSE_ENV_VAR):
        yield
        return
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved_stderr, 2)
        os.close(devnull)
        os.close(saved_stderr)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its C++ start-up lines, which ignore TF_CPP_MIN_LOG_LEVEL."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_closed():
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass  # the caller reports which extra to install


def quiet_python_logs(needs_tensorflow: bool) -> None:
    """Hide Python warnings, absl's and TensorFlow's log records and (with ``needs_tensorflow``)
    TensorFlow's start-up lines, unless MNIST_CNN_VERBOSE is set."""
    if os.environ.get(VERBOSE_ENV_VAR):
        return
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if needs_tensorflow:
        import_tensorflow_quietly()
