"""Training: a tf.data pipeline, Keras callbacks for checkpoints, history and resuming, then every artifact.

A run folder holds ``run.json`` (the settings that identify the run) from the start, a ``backup/``
folder while training is unfinished, and all artifacts once it is done. Rerunning the same command
finds the unfinished run and continues from its last finished epoch. A run folder is locked while it
trains, so a second command on it stops at once instead of mixing two runs' files.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from mnist_cnn import data, models
from mnist_cnn.errors import UsageError
from mnist_cnn.files import (
    LOCK_NAME,
    PARTIAL_PATTERN,
    atomic_path,
    ensure_folder,
    folder_lock,
    remove_partials,
    write_json,
)

RUNS_DIR = Path("runs")
LEGACY_MODEL_NAME = "CNN_mnist.h5"
BEST_WEIGHTS = "best.weights.h5"
FEW_STEPS = 600  # below this, BatchNorm's moving averages (momentum 0.99) lag the weights: see train()
# Checked free before a run starts: the best model's .keras, .h5, backup and best-epoch weights, the plots.
RUN_FREE_BYTES = 50_000_000


@dataclass
class TrainConfig:
    """What identifies a training run. ``None`` means: the recipe's own value."""

    model: str = "seed"
    dataset: str = "mnist"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    validation_fraction: float = 0.1  # the default; the test set never picks an epoch
    seed: int = 42
    limit: int | None = None  # train on a stratified subset of this many images (quick runs)
    ensemble: int = 1  # members trained with seeds seed, seed+1, ...; their probabilities are averaged
    # Which images are held out (and, with --limit, which are drawn). None: the run's seed. An ensemble's
    # members all take the ensemble's, so one validation split is held out from every member.
    split_seed: int | None = None
    pen_augmentation: float | None = None  # share of images given RandomPen; None: the recipe's

    def resolved(self) -> TrainConfig:
        recipe = models.recipe(self.model)
        return TrainConfig(
            model=self.model,
            dataset=self.dataset,
            epochs=self.epochs or recipe.epochs,
            batch_size=self.batch_size or recipe.batch_size,
            learning_rate=self.learning_rate or recipe.learning_rate,
            validation_fraction=self.validation_fraction,
            seed=self.seed,
            limit=self.limit,
            ensemble=self.ensemble,
            split_seed=self.seed if self.split_seed is None else self.split_seed,
            pen_augmentation=recipe.pen_augmentation if self.pen_augmentation is None else self.pen_augmentation,
        )

    def check(self) -> None:
        if not 0 <= self.validation_fraction < 1:
            raise UsageError(f"--validation-fraction must be in [0, 1); received {self.validation_fraction}")
        for option, value in (("--epochs", self.epochs), ("--batch-size", self.batch_size), ("--limit", self.limit)):
            if value is not None and value < 1:
                raise UsageError(f"{option} must be a positive integer; received {value}")
        if self.ensemble < 1:
            raise UsageError(f"--ensemble must be a positive integer; received {self.ensemble}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise UsageError(f"--learning-rate must be positive; received {self.learning_rate}")
        if self.pen_augmentation is not None and not 0 <= self.pen_augmentation <= 1:
            raise UsageError(f"--pen-augmentation must be in [0, 1]; received {self.pen_augmentation}")
        if self.limit is not None and self.limit < 100:
            raise UsageError(
                f"--limit must be at least 100 images so every class is represented; received {self.limit}"
            )


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict
    resumed_from_epoch: int


# --- Run folders -----------------------------------------------------------------------------------


def is_finished(run_dir: Path) -> bool:
    return (run_dir / "metrics.json").exists()


def read_run_config(run_dir: Path) -> dict | None:
    """The settings a run folder was started with; settings added since then take their defaults."""
    try:
        saved = json.loads((run_dir / "run.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    config = {**asdict(TrainConfig()), **saved}
    if saved.get("split_seed") is None:  # runs started before --split-seed split by their own seed
        config["split_seed"] = config["seed"]
    if "pen_augmentation" not in saved:  # runs started before RandomPen had none
        config["pen_augmentation"] = 0.0
    return config


def holds_files(folder: Path) -> bool:
    """Whether ``folder`` holds anything besides a lock file and what a killed writer left half-written."""
    leftovers = {LOCK_NAME, *(path.name for path in folder.glob(PARTIAL_PATTERN))} if folder.is_dir() else set()
    return folder.is_dir() and any(path.name not in leftovers for path in folder.iterdir())


def choose_run_dir(config: TrainConfig, out_dir: Path | None) -> Path:
    """The folder for this run: ``out_dir``, or an unfinished run of the same settings, or a new one.

    Raises:
        UsageError: ``out_dir`` holds a finished run, a run of other settings, or other files.
        OutputError: ``out_dir`` (or ``runs/``) is a file.
    """
    wanted = asdict(config)
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            ensure_folder(out_dir, "--out")  # raises: a file is in the way
        existing = read_run_config(out_dir)
        if existing is not None and existing != wanted:
            raise UsageError(f"{out_dir} holds a run with other settings; choose another --out")
        if existing is not None and is_finished(out_dir):
            raise UsageError(f"{out_dir} holds a finished run; choose another --out")
        if existing is None and holds_files(out_dir):
            raise UsageError(f"{out_dir} is not empty and holds no run; choose another --out")
        return out_dir
    if RUNS_DIR.exists() and not RUNS_DIR.is_dir():
        ensure_folder(RUNS_DIR, "--out")
    for candidate in sorted(RUNS_DIR.glob(f"*-{config.model}"), reverse=True):
        if read_run_config(candidate) == wanted and not is_finished(candidate):
            return candidate
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    candidate, number = RUNS_DIR / f"{stamp}-{config.model}", 1
    while candidate.exists():  # two runs started in the same second
        number += 1
        candidate = RUNS_DIR / f"{stamp}-{number}-{config.model}"
    return candidate


def backup_epoch(metadata_path: Path) -> int | None:
    """The epoch count in a Keras backup's metadata file; None when it is missing or cut off."""
    try:
        return int(json.loads(metadata_path.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def repair_backup(run_dir: Path) -> None:
    """Fall back to the backup's previous copy (Keras keeps one) when a kill cut off its metadata.

    Keras writes the weights, then the metadata; a process killed in between leaves metadata that
    neither we nor Keras can read. Its ``.bkp`` copies are the epoch before, whole.
    """
    backup = run_dir / "backup"
    metadata = backup / "training_metadata.json"
    if not metadata.exists() or backup_epoch(metadata) is not None:
        return
    previous = Path(f"{metadata}.bkp")
    if backup_epoch(previous) is None:
        shutil.rmtree(backup)  # nothing whole to resume from: the run starts again
        return
    shutil.copyfile(backup / "latest.weights.h5.bkp", backup / "latest.weights.h5")
    shutil.copyfile(previous, metadata)


def finished_epochs(run_dir: Path) -> int:
    """Epochs whose state the backup holds (0 for a new run)."""
    return backup_epoch(run_dir / "backup" / "training_metadata.json") or 0


def read_history(run_dir: Path) -> list[dict]:
    """The rows of history.csv as floats; a row a killed process left half-written is dropped."""
    path = run_dir / "history.csv"
    if not path.exists():
        return []
    rows = []
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            try:
                rows.append({key: float(value) for key, value in row.items()})
            except (TypeError, ValueError):  # a cut-off last line: a missing (None) or partial value
                continue
    return rows


def trim_history(run_dir: Path, epochs: int) -> list[dict]:
    """Keep only the history rows the backup covers (an epoch can be logged after the last backup)."""
    rows = [row for row in read_history(run_dir) if row["epoch"] < epochs]
    if rows:
        with atomic_path(run_dir / "history.csv") as partial, partial.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(
                {key: repr(value) if key != "epoch" else int(value) for key, value in row.items()} for row in rows
            )
    else:
        (run_dir / "history.csv").unlink(missing_ok=True)
    return rows


# --- Input pipeline --------------------------------------------------------------------------------


def make_pipeline(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle_seed: int | None = None):
    """A tf.data pipeline of (float32 images (b, 28, 28, 1) in 0-1, one-hot labels (b, 10)).

    The uint8 arrays stay in memory; shuffling happens before batching and scaling after it, so
    the per-image work is vectorised per batch.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)

    def scale(batch_images, batch_labels):
        return tf.cast(batch_images, tf.float32)[..., None] / 255.0, tf.one_hot(tf.cast(batch_labels, tf.int32), 10)

    dataset = dataset.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def learning_rate_schedule(peak: float, steps_per_epoch: int, epochs: int, warmup_epochs: float = 1.0):
    """Linear warm-up from peak/10 over ``warmup_epochs``, then cosine decay to peak/100 (one cycle)."""
    import keras

    total_steps = steps_per_epoch * epochs
    warmup_steps = min(int(steps_per_epoch * warmup_epochs), total_steps // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 10 if warmup_steps else peak,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=0.01,
        warmup_target=peak if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


# --- Callbacks -------------------------------------------------------------------------------------


def make_callbacks(run_dir: Path, resumed_history: list[dict], tensorboard: bool):
    import keras

    class EpochSeconds(keras.callbacks.Callback):
        """Adds each epoch's wall time to the logs, so history.csv records it."""

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs["seconds"] = time.perf_counter() - self.started

    class AtomicBestCheckpoint(keras.callbacks.ModelCheckpoint):
        """ModelCheckpoint that saves under a temporary name and renames, so a kill never leaves half a file."""

        def __init__(self, final_path: Path, **kwargs):
            self.final_path = final_path
            self.partial_path = final_path.with_name(f".partial-{final_path.name}")
            super().__init__(str(self.partial_path), **kwargs)

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.partial_path.exists():
                os.replace(self.partial_path, self.final_path)

    checkpoint = AtomicBestCheckpoint(
        run_dir / BEST_WEIGHTS, monitor="val_accuracy", mode="max", save_best_only=True, save_weights_only=True
    )
    if resumed_history:
        # A new callback forgets the best score so far; without this it would overwrite a better epoch.
        checkpoint.best = max(row["val_accuracy"] for row in resumed_history)
    callbacks = [EpochSeconds(), checkpoint, keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True)]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    # The backup goes last, so an epoch counts as finished only once its history row and best-weights
    # file are written: a kill in between redoes the epoch instead of losing its row. It is kept after
    # fit and removed once every artifact is written, so a crash while writing them resumes straight
    # to writing them again instead of retraining.
    backup = keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True, delete_checkpoint=False)
    return [*callbacks, backup]


# --- Training --------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def compile_model(model, config: TrainConfig, steps_per_epoch: int) -> None:
    import keras

    recipe = models.recipe(config.model)
    schedule = learning_rate_schedule(config.learning_rate, steps_per_epoch, config.epochs, recipe.warmup_epochs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )


def train(
    config: TrainConfig,
    out_dir: Path | None = None,
    data_dir: Path | None = None,
    tensorboard: bool = False,
    command: str = "",
    log=print,
    dataset: data.Dataset | None = None,
) -> TrainResult:
    """Train a registry model, resuming an unfinished run of the same settings, and write every artifact.

    The run folder is checked and locked before anything else. ``dataset``: already loaded data (an
    ensemble's members share one load); else read from ``data_dir``.
    Raises:
        UsageError: bad settings or an --out folder that holds something else. BusyError: another
            process trains in that folder. OutputError: it cannot be written. DataError: bad data.
    """
    config.check()
    config = config.resolved()
    run_dir = ensure_folder(choose_run_dir(config, out_dir), "--out", RUN_FREE_BYTES)
    with folder_lock(run_dir, "trained"):
        choose_run_dir(config, run_dir)  # again, under the lock: another process may have finished it
        remove_partials(run_dir)  # what a killed run was writing
        repair_backup(run_dir)
        if config.ensemble > 1:
            return train_ensemble(config, run_dir, data_dir, tensorboard, command, log)
        return train_in(run_dir, config, data_dir, tensorboard, command, log, dataset)


def train_in(
    run_dir: Path,
    config: TrainConfig,
    data_dir: Path | None,
    tensorboard: bool,
    command: str,
    log,
    dataset: data.Dataset | None,
) -> TrainResult:
    """Train one model in a locked run folder, resuming from its backup, and write every artifact."""
    if dataset is None:
        dataset = data.load_dataset(config.dataset, data_dir)
    resumed_from = finished_epochs(run_dir)
    history = trim_history(run_dir, resumed_from) if resumed_from else []
    if resumed_from >= config.epochs:
        log(f"Resuming {run_dir}: all {config.epochs} epochs are finished, writing the artifacts")
    elif resumed_from:
        log(
            f"Resuming {run_dir}: epochs 1-{resumed_from} of {config.epochs} are finished, "
            f"continuing from epoch {resumed_from + 1}"
        )
    else:
        (run_dir / "history.csv").unlink(missing_ok=True)
        write_json(run_dir / "run.json", {"config": asdict(config), "command": command})
        log(f"Training {config.model} on {config.dataset} into {run_dir}")

    if config.limit is not None and config.limit > len(dataset.train_images):
        raise UsageError(f"--limit {config.limit} is more than the {len(dataset.train_images):,} training images")
    seed_everything(config.seed)
    (train_images, train_labels), (val_images, val_labels) = split_for(config, dataset)
    if len(val_images) == 0:
        raise UsageError("training needs a validation split to pick the best epoch; use --validation-fraction > 0")
    train_pipeline = make_pipeline(train_images, train_labels, config.batch_size, shuffle_seed=config.seed)
    val_pipeline = make_pipeline(val_images, val_labels, 512)
    steps_per_epoch = -(-len(train_images) // config.batch_size)
    fit_model, _ = build_for_training(config)
    if steps_per_epoch * config.epochs < FEW_STEPS and has_batch_norm(fit_model):
        log(
            f"note: only {steps_per_epoch * config.epochs} training steps; BatchNormalization's running statistics "
            f"need several hundred to settle, so test accuracy may stay near chance. For a quick look use e.g. "
            f"--epochs 2 --limit 12000 --batch-size 32"
        )
    compile_model(fit_model, config, steps_per_epoch)
    fit_model.fit(
        train_pipeline,
        validation_data=val_pipeline,
        epochs=config.epochs,
        shuffle=False,
        callbacks=make_callbacks(run_dir, history, tensorboard),
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return finish_run(run_dir, config, dataset, command, len(train_images), len(val_images), log, resumed_from)


def train_ensemble(
    config: TrainConfig, run_dir: Path, data_dir: Path | None, tensorboard: bool, command: str, log
) -> TrainResult:
    """Train ``config.ensemble`` members (seeds seed, seed+1, ...; one shared validation split) in
    subfolders, each resumable on its own, then save one model that averages their probabilities and
    write every artifact for it."""
    import keras

    dataset = data.load_dataset(config.dataset, data_dir)
    if not (run_dir / "run.json").exists():
        write_json(run_dir / "run.json", {"config": asdict(config), "command": command})
    members = []
    for index in range(config.ensemble):
        member_config = replace(config, seed=config.seed + index, ensemble=1)
        member_dir = run_dir / f"member-{index + 1}"
        if is_finished(member_dir):
            log(f"Member {index + 1} of {config.ensemble} is already trained ({member_dir})")
        else:
            log(f"Member {index + 1} of {config.ensemble} (seed {member_config.seed})")
            train(member_config, member_dir, data_dir, tensorboard, command, log, dataset)
        members.append(member_dir)

    inputs = keras.Input(shape=models.INPUT_SHAPE, name="image")
    outputs = []
    for index, member_dir in enumerate(members):
        member = keras.models.load_model(member_dir / "model.keras", compile=False)
        member.name = f"{config.model}_{index + 1}"
        outputs.append(member(inputs))
    averaged = keras.layers.Average(name="probabilities")(outputs)
    model = keras.Model(inputs, averaged, name=f"{config.model}_ensemble_{config.ensemble}")
    member_metrics = [json.loads((member_dir / "metrics.json").read_text()) for member_dir in members]
    member_configs = [read_run_config(member_dir) for member_dir in members]
    histories = {f"member {index + 1}": read_history(member_dir) for index, member_dir in enumerate(members)}
    extra = {
        "members": [
            {
                "seed": m["seed"],
                "test_accuracy": m["test_accuracy"],
                "best_validation_accuracy": m["best_validation_accuracy"],
                "epochs": m["epochs"],
                "best_epoch": m.get("best_epoch"),
                "seconds": m["seconds"],
            }
            for m in member_metrics
        ],
        "seconds": round(sum(m["seconds"] for m in member_metrics), 1),
        "epochs": sum(m["epochs"] for m in member_metrics),
        "best_validation_accuracy": None,
        "validation_accuracy": shared_validation_accuracy(model, config, dataset, member_configs),
    }
    return write_artifacts(
        run_dir,
        model,
        config,
        dataset,
        command,
        histories,
        extra,
        member_metrics[0]["train_images"],
        member_metrics[0]["validation_images"],
        0,
    )


def split_for(config: TrainConfig, dataset: data.Dataset):
    """(train, validation) images and labels of a run: its split seed, validation fraction and limit."""
    return data.training_split(
        dataset.train_images, dataset.train_labels, config.validation_fraction, config.split_seed, config.limit
    )


def shared_validation_accuracy(model, config: TrainConfig, dataset: data.Dataset, member_configs: list[dict]):
    """The averaged model's accuracy on the validation split every member held out, or None where the
    members split by their own seeds (ensembles trained before members shared one split)."""
    from mnist_cnn import evaluation

    split_keys = ("split_seed", "validation_fraction", "limit")
    if any(
        member is None or any(member[key] != getattr(config, key) for key in split_keys) for member in member_configs
    ):
        return None
    _, (val_images, val_labels) = split_for(config, dataset)
    return evaluation.evaluate(model, val_images, val_labels, dataset.class_names).accuracy


def has_batch_norm(model) -> bool:
    """Whether ``model`` or a model nested in it has a BatchNormalization layer."""
    return any(
        type(layer).__name__ == "BatchNormalization" or (hasattr(layer, "layers") and has_batch_norm(layer))
        for layer in model.layers
    )


def build_for_training(config: TrainConfig):
    """(the model fit() trains, the model we keep). They differ when the recipe augments its data:
    augmentation then runs as the first layers, in the training graph, and is left out of what we keep,
    so a saved model needs nothing of ours to load."""
    import keras

    model = models.build_model(config.model)
    augmentation = []
    if models.recipe(config.model).augment:
        from mnist_cnn.augmentation import RandomAffine

        augmentation.append(RandomAffine(seed=config.seed))
    if config.pen_augmentation:
        from mnist_cnn.augmentation import RandomPen

        augmentation.append(RandomPen(rate=config.pen_augmentation, seed=config.seed + 1))
    if not augmentation:
        return model, model
    fit_model = keras.Sequential(
        [keras.Input(shape=models.INPUT_SHAPE), *augmentation, model], name=f"{model.name}_augmented"
    )
    return fit_model, model


def finish_run(
    run_dir: Path,
    config: TrainConfig,
    dataset: data.Dataset,
    command: str,
    train_count: int,
    val_count: int,
    log,
    resumed_from: int,
) -> TrainResult:
    """Keep the best epoch on the validation split and write every artifact for it."""
    history = read_history(run_dir)
    fit_model, model = build_for_training(config)
    fit_model.load_weights(run_dir / BEST_WEIGHTS)
    extra = {
        "best_validation_accuracy": max(row["val_accuracy"] for row in history),
        "epochs": len(history),
        "best_epoch": int(max(history, key=lambda row: row["val_accuracy"])["epoch"]) + 1,
        "seconds": round(sum(row.get("seconds", 0.0) for row in history), 1),
    }
    result = write_artifacts(
        run_dir, model, config, dataset, command, {"": history}, extra, train_count, val_count, resumed_from
    )
    (run_dir / BEST_WEIGHTS).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return result


def write_artifacts(
    run_dir: Path,
    model,
    config: TrainConfig,
    dataset: data.Dataset,
    command: str,
    histories: dict[str, list[dict]],
    extra: dict,
    train_count: int,
    val_count: int,
    resumed_from: int,
) -> TrainResult:
    """Calibrate the model on the validation split (temperature scaling), save it in both formats,
    plot, evaluate on the test set and write metrics.json last."""
    from mnist_cnn import calibration, evaluation, plots

    _, (val_images, val_labels) = split_for(config, dataset)
    calibrated, _ = calibration.calibrate(model, val_images, val_labels)
    save_model(model, run_dir / "model.keras")
    save_model(model, run_dir / LEGACY_MODEL_NAME)
    title = f"{model.name} on {config.dataset}"
    plots.save_history_plot(histories, run_dir / "accuracy_loss_plot.png", title=title)
    result = evaluation.evaluate(model, dataset.test_images, dataset.test_labels, dataset.class_names)
    evaluation.write_reports(result, run_dir, dataset.test_images, title=f"{title} (test set)")
    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
        "test_count": result.count,
        "test_ece": result.ece,
        "test_nll": result.loss,
        "test_brier": result.brier,
        "per_class_accuracy": result.per_class_accuracy,
        "calibration": {**calibrated, "held_out": "the validation split"},
        **extra,
        "train_images": train_count,
        "validation_images": val_count,
        "parameters": int(model.count_params()),
        "config": asdict(config),
        "seed": config.seed,
        "command": command,
        "versions": library_versions(),
        "finished": datetime.now().isoformat(timespec="seconds"),
    }
    write_json(run_dir / "metrics.json", metrics)  # written last: its presence marks the run finished
    return TrainResult(run_dir=run_dir, metrics=metrics, resumed_from_epoch=resumed_from)


def save_model(model, target: Path) -> None:
    with atomic_path(target) as partial:
        model.save(partial)


def library_versions() -> dict:
    import platform

    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
