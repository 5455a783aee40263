"""Run the application under uvicorn: the model loaded once, one log line per request."""

from __future__ import annotations

import copy
import os
import socket

from mnist_cnn.errors import MissingExtraError, UsageError


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, **settings) -> None:
    """Serve until interrupted. ``settings``: fields of ``mnist_cnn.serving.app.Settings`` (model, runtime, limits).

    The model is loaded here first, so a wrong name or a broken file is one error line, not a worker's
    traceback. With ``workers`` > 1 each worker process loads its own copy (uvicorn starts them afresh).
    """
    try:
        import uvicorn

        from mnist_cnn.serving import app as application
    except ImportError as error:
        raise MissingExtraError(
            f"`mnist-cnn serve` needs the serve extra ({error.name} is missing): pip install 'mnist-cnn[serve]'"
        ) from None
    from mnist_cnn.prediction import load_model

    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535; received {port}")
    settings = application.Settings(**settings)
    check_can_listen(host, port)
    classifier = load_model(settings.model, settings.runtime)
    options = {"host": host, "port": port, "log_config": log_config(uvicorn), "access_log": False}
    if workers == 1:
        uvicorn.run(application.create_app(settings, classifier), **options)
    else:
        del classifier
        os.environ.update(application.settings_environment(settings))
        uvicorn.run("mnist_cnn.serving.app:app_from_environment", factory=True, workers=workers, **options)


def check_can_listen(host: str, port: int) -> None:
    """Fail with one line when the address is taken or not this machine's, before the model loads."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def log_config(uvicorn) -> dict:
    """uvicorn's own logging set-up, plus our request log through the same handler and format."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["mnist_cnn"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
