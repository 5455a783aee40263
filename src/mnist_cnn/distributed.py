"""Training past one process: Ray for many runs at once, JAX's distributed runtime for one run on many.

Ray (the ``scale`` extra) runs ensemble members as tasks and search trials (``tuning.py``) on an
embedded local Ray sized to this machine, or on an existing cluster given its address. The driver
loads and checks the data once and puts it in Ray's object store; workers read it from there, on this
machine or another, and never look for data files or download them.

JAX (the ``jax`` extra) trains one model data-parallel across processes: every process holds a full
replica, takes an equal share of each batch, and the gradients are summed across processes
(``keras.distribution.DataParallel`` over ``jax.distributed``; CPU collectives here, GPUs elsewhere).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mnist_cnn.errors import MissingExtraError, MnistCnnError, UsageError

# Environment variables a Ray worker gets from the command that started the work.
FORWARDED_ENVIRONMENT = ("KERAS_BACKEND", "MNIST_CNN_VERBOSE")
CONNECT_TIMEOUT_SECONDS = 5  # to find out whether anything listens at --address before Ray tries for minutes
COORDINATOR_TIMEOUT_SECONDS = 300  # how long the processes of a data-parallel run wait for each other to start


# --- Ray -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide Ray work runs: ``parallel`` runs at once (each gets 1/parallel of the CPUs
    and GPUs), on a local Ray (``address`` None) or on the cluster at ``address`` ("HOST:PORT" of
    its head, or "auto" for the cluster this machine belongs to)."""

    parallel: int = 1
    address: str | None = None

    def check(self) -> None:
        """Raises UsageError for --parallel below 1, or an --address that is not HOST:PORT or auto or
        where nothing answers."""
        if self.parallel < 1:
            raise UsageError(f"--parallel must be a positive integer; received {self.parallel}")
        if self.address is not None:
            check_reachable(self.address)


@dataclass(frozen=True)
class RayCluster:
    """What a Ray session runs on: its CPUs and GPUs (counts, possibly fractional) and node count."""

    cpus: float
    gpus: float
    nodes: int

    def share(self, parallel: int) -> dict:
        """Ray resources for one of ``parallel`` runs at once: {"num_cpus": ..., "num_gpus": ...}.

        Rounded down to Ray's resolution (1/10,000) so that ``parallel`` shares always fit.
        """

        def part(total: float) -> float:
            return math.floor(total / parallel * 10_000) / 10_000

        return {"num_cpus": part(self.cpus), "num_gpus": part(self.gpus)}

    def threads(self, parallel: int) -> int:
        """Compute threads for one of ``parallel`` runs at once (at least 1)."""
        return max(1, int(self.cpus / parallel))


def import_ray(command: str):
    """The ``ray`` module. Raises MissingExtraError naming ``command`` and the extra when it is missing."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError(f"`mnist-cnn {command}` runs on Ray: pip install 'mnist-cnn[scale]'") from None
    return ray


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a "HOST:PORT" --address; None for "auto". Raises UsageError for anything else."""
    if address == "auto":
        return None
    if address.startswith("ray://"):
        raise UsageError(
            f"--address {address}: Ray Client addresses are not supported; run the command on a node of the "
            f"cluster (e.g. with `ray job submit -- mnist-cnn ...`) and give the head's HOST:PORT, or auto"
        )
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--address must be HOST:PORT (the Ray head's GCS address, e.g. 10.0.0.5:6379) or auto; "
                         f"received {address!r}")  # fmt: skip
    return host.strip("[]"), int(port)


def check_reachable(address: str) -> None:
    """Raise UsageError unless something accepts TCP connections at a HOST:PORT --address."""
    parsed = parse_address(address)
    if parsed is None:
        return
    try:
        with socket.create_connection(parsed, timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(
            f"--address {address}: no Ray cluster answers there ({reason}); start one with `ray start --head "
            f"--port {parsed[1]}`, or leave --address out to run on this machine"
        ) from None


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, which `taskset` narrows)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextlib.contextmanager
def ray_session(command: str, address: str | None = None, log_to_driver: bool = True) -> Iterator[RayCluster]:
    """Start a local Ray sized to this machine (``address`` None) or connect to the cluster at
    ``address``; yield what it runs on; shut the local Ray down (or disconnect) at the end.

    ``log_to_driver``: forward what workers print to this process's output.
    Raises:
        MissingExtraError: Ray is not installed. UsageError: the cluster at ``address`` cannot be
            joined (none runs there, or it runs another Ray or Python version) or has no CPUs.
    """
    ray = import_ray(command)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report, and no prompt about it
    os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # workers' lines forwarded without terminal colour codes
    environment = {name: os.environ[name] for name in FORWARDED_ENVIRONMENT if name in os.environ}
    if not os.environ.get("MNIST_CNN_VERBOSE"):
        environment.update({"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    options = {
        "runtime_env": {"env_vars": environment},
        "logging_level": logging.ERROR,
        "log_to_driver": log_to_driver,
    }
    if address is None:
        # "local": a new Ray of its own, even where RAY_ADDRESS names a cluster.
        ray.init(address="local", num_cpus=available_cpus(), include_dashboard=False, **options)
    else:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UsageError(f"--address {address}: cannot join the Ray cluster there ({first_line})") from None
    try:
        resources = ray.cluster_resources()
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        if not resources.get("CPU"):
            raise UsageError(f"--address {address}: the Ray cluster has no CPUs yet; start its worker nodes first")
        yield RayCluster(cpus=resources["CPU"], gpus=resources.get("GPU", 0.0), nodes=nodes)
    finally:
        ray.shutdown()


def prepare_worker(threads: int) -> None:
    """In a Ray worker: import TensorFlow without its start-up noise (as the command line does) and keep
    its compute to ``threads`` threads, as the worker shares its machine with other runs (possible only
    before TensorFlow's first operation; a reused worker keeps its setting)."""
    from mnist_cnn.quiet import quiet_python_logs

    quiet_python_logs(needs_tensorflow=True)
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(threads)


def train_member(config, member_dir: str, dataset, tensorboard: bool, command: str, threads: int) -> float:
    """A Ray task: train one ensemble member into ``member_dir`` (resuming it when it has a backup) with
    the dataset from the object store; returns its test accuracy (0-1)."""
    from mnist_cnn import training

    prepare_worker(threads)
    result = training.train(config, Path(member_dir), None, tensorboard, command, print, dataset)
    return result.metrics["test_accuracy"]


def train_members(jobs: list, dataset, options: RayOptions, tensorboard: bool, command: str, log) -> None:
    """Train ensemble members as Ray tasks, ``options.parallel`` at once, each into its own folder.

    ``jobs``: (member number from 1, member count, TrainConfig, folder) for each member to train.
    Every folder must be on storage the workers share with this process (one machine, or NFS and the
    like on a cluster), so that members resume there and the ensemble reads them.
    Raises:
        MissingExtraError, UsageError: as ``ray_session``; UsageError also when a member's folder is
            not visible here after its task finished. MnistCnnError: as ``training.train`` in a member.
    """
    ray = import_ray("train --parallel/--address")
    with ray_session("train --parallel/--address", options.address) as cluster:
        dataset_ref = ray.put(dataset)  # once, for every member: workers read it from the object store
        member_task = ray.remote(train_member).options(**cluster.share(options.parallel), max_retries=0)
        threads = cluster.threads(options.parallel)
        pending = {}
        for number, count, config, member_dir in jobs:
            folder = str(Path(member_dir).resolve())  # a worker's working folder is not this one
            task = member_task.remote(config, folder, dataset_ref, tensorboard, command, threads)
            pending[task] = (number, count, config, member_dir)
            log(f"Member {number} of {count} ({config.model}, seed {config.seed}) sent to Ray")
        while pending:
            (done,), _ = ray.wait(list(pending), num_returns=1)
            number, count, config, member_dir = pending.pop(done)
            try:
                accuracy = ray.get(done)
            except ray.exceptions.RayTaskError as error:
                cause = getattr(error, "cause", None)
                if isinstance(cause, MnistCnnError):
                    raise cause from None
                raise
            if not (Path(member_dir) / "metrics.json").exists():
                raise UsageError(
                    f"member {number} finished on a Ray node whose {member_dir} this machine cannot see: put --out "
                    f"on storage every node shares"
                )
            log(f"Member {number} of {count} finished: test accuracy {accuracy:.2%}")


# --- JAX data parallelism --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessGroup:
    """The processes that train one model together: ``processes`` of them, this one numbered
    ``process_id`` (0 to processes - 1), meeting at ``coordinator`` ("HOST:PORT" that process 0 listens on)."""

    processes: int
    coordinator: str
    process_id: int

    def check(self) -> None:
        """Raises UsageError for fewer than 2 processes, a process id out of range or a bad coordinator."""
        if self.processes < 2:
            raise UsageError(f"--processes must be at least 2 to train across processes; received {self.processes}")
        if not 0 <= self.process_id < self.processes:
            raise UsageError(
                f"--process-id must be in 0-{self.processes - 1} for --processes {self.processes}; "
                f"received {self.process_id}"
            )
        host, _, port = self.coordinator.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"--coordinator must be HOST:PORT (process 0's address); received {self.coordinator!r}")


def require_jax_backend():
    """The ``jax`` module, once it is certain Keras runs on it.

    Raises:
        MissingExtraError: JAX is not installed. UsageError: Keras runs on another backend.
    """
    try:
        import jax
    except ImportError:
        raise MissingExtraError("`mnist-cnn train --processes` trains with JAX: pip install 'mnist-cnn[jax]'") from None
    import keras

    if keras.backend.backend() != "jax":
        raise UsageError(
            f"--processes trains with JAX's distributed runtime, but Keras runs on {keras.backend.backend()}: "
            f"set KERAS_BACKEND=jax"
        )
    return jax


def join_processes(group: ProcessGroup) -> None:
    """Meet the other processes at the coordinator and make Keras train data-parallel across all of
    them. Call before any JAX computation.

    Raises:
        MissingExtraError: JAX is not installed. UsageError: Keras runs on another backend, or the
            processes could not meet (the coordinator's port is taken or no other process came in time).
    """
    jax = require_jax_backend()
    import keras

    try:
        jax.distributed.initialize(
            coordinator_address=group.coordinator,
            num_processes=group.processes,
            process_id=group.process_id,
            initialization_timeout=COORDINATOR_TIMEOUT_SECONDS,
        )
    except Exception as error:  # JAX raises RuntimeError, XlaRuntimeError, ... for a failed rendezvous
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(
            f"--coordinator {group.coordinator}: the {group.processes} processes could not meet ({first_line})"
        ) from None
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))


def leave_processes() -> None:
    """Back to computing in this process alone (the replicas are identical): for evaluating and saving."""
    import keras

    keras.distribution.set_distribution(None)


def agree_on_epoch(run_dir: Path, finished: int) -> int:
    """The epoch every process resumes from, given this one's ``finished`` epochs in ``run_dir``.

    A kill can land between two processes' end-of-epoch backups, leaving one an epoch ahead; it then
    goes back to its backup's previous copy (Keras keeps one), so all continue from the same state.
    Raises:
        UsageError: the processes' run folders are further apart than that (folders of other runs).
    """
    import numpy as np
    from jax.experimental import multihost_utils

    epochs = [int(epoch) for epoch in np.ravel(multihost_utils.process_allgather(np.int32(finished)))]
    lowest = min(epochs)
    if finished == lowest:
        return lowest
    from mnist_cnn.training import backup_epoch

    backup = run_dir / "backup"
    previous = backup / "training_metadata.json.bkp"
    if finished == 1 and lowest == 0:  # the first epoch's backup has no previous copy: start again
        shutil.rmtree(backup)
        return 0
    if finished != lowest + 1 or backup_epoch(previous) != lowest:
        raise UsageError(
            f"the processes' run folders hold different epochs ({', '.join(map(str, epochs))}); "
            f"give every process a run folder of this same run"
        )
    shutil.copyfile(backup / "latest.weights.h5.bkp", backup / "latest.weights.h5")
    shutil.copyfile(previous, backup / "training_metadata.json")
    return lowest
