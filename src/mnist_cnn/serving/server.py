"""Run the application under uvicorn: the model loaded once, one log line per request."""

from __future__ import annotations

import copy
import multiprocessing
import signal
import socket
from dataclasses import asdict
from multiprocessing.connection import wait

from mnist_cnn.errors import MissingExtraError, MnistCnnError, UsageError


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, **settings) -> None:
    """Serve until interrupted. ``settings``: fields of ``mnist_cnn.serving.app.Settings`` (model, runtime, limits).

    The model is loaded here first, so a wrong name or a broken file is one error line, not a worker's
    traceback. With ``workers`` > 1 each worker process loads its own copy (see ``run_workers``).
    """
    try:
        import uvicorn

        from mnist_cnn.serving import app as application
    except ImportError as error:
        raise MissingExtraError(
            f"`mnist-cnn serve` needs the serve extra ({error.name} is missing): pip install 'mnist-cnn[serve]'"
        ) from None
    from mnist_cnn.runtimes import load_model

    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535; received {port}")
    settings = application.Settings(**settings)
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        raise UsageError("--workers above 1 needs SO_REUSEPORT sockets (Linux, BSD, macOS); use --workers 1")
    check_can_listen(host, port)
    classifier = load_model(settings.model, settings.runtime)
    options = {"host": host, "port": port, "log_config": log_config(uvicorn), "access_log": False}
    if workers == 1:
        uvicorn.run(application.create_app(settings, classifier), **options)
    else:
        del classifier
        run_workers(host, port, workers, asdict(settings), options["log_config"])


def run_workers(host: str, port: int, workers: int, settings: dict, log_config: dict) -> None:
    """Run ``workers`` server processes, each listening on its own SO_REUSEPORT socket, until interrupted.

    Not uvicorn's ``--workers``: its processes share one socket, and whichever wakes first accepts every
    waiting connection, which keep-alive then pins there. In our load test 16 clients split 14/2, 1/15,
    15/1 and 10/6, and the p99 latency of the lopsided runs was twice that of the even ones. With a socket
    each, the kernel spreads connections over the processes by address (p99 33-41 ms in five runs).
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: no TensorFlow or threads copied
    processes = [
        context.Process(target=run_worker, args=(host, port, settings, log_config), name=f"worker-{index + 1}")
        for index in range(workers)
    ]
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    try:
        for process in processes:
            process.start()
        wait([process.sentinel for process in processes])  # returns when any worker ends
        failed = [process for process in processes if process.exitcode not in (None, 0)]
        if failed:
            raise MnistCnnError(f"server {failed[0].name} stopped with exit code {failed[0].exitcode}; see the log")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        for process in processes:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()
                process.join()


def run_worker(host: str, port: int, settings: dict, log_config: dict) -> None:
    import uvicorn

    from mnist_cnn.serving import app as application

    listener = bound_socket(host, port, reuse_port=True)
    app = application.create_app(application.Settings(**settings))
    config = uvicorn.Config(app, log_config=log_config, access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:  # Ctrl-C reaches every process of the terminal's group; the parent reports
        pass


def check_can_listen(host: str, port: int) -> None:
    """Fail with one line when the address is taken or not this machine's, before the model loads."""
    try:
        bound_socket(host, port).close()
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def bound_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host:port`` with SO_REUSEADDR as uvicorn sets it (and SO_REUSEPORT if asked)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    bound = socket.socket(family, socket.SOCK_STREAM)
    try:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        bound.bind((host, port))
    except OSError:
        bound.close()
        raise
    return bound


def log_config(uvicorn) -> dict:
    """uvicorn's own logging set-up, plus our request log through the same handler and format."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["mnist_cnn"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
