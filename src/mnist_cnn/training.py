"""Training: a tf.data pipeline, Keras callbacks for checkpoints, history and resuming, then every artifact.

A run folder holds ``run.json`` (the settings that identify the run) from the start, a ``backup/``
folder while training is unfinished, and all artifacts once it is done. Rerunning the same command
finds the unfinished run and continues from its last finished epoch. A run folder is locked while it
trains, so a second command on it stops at once instead of mixing two runs' files.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from mnist_cnn import data, distillation, distributed, models
from mnist_cnn.errors import MnistCnnError, UsageError
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
TUNED_HISTORY = "tuned_history.csv"  # an interpolated run's copy of its fine-tuned run's history.csv
FEW_STEPS = 600  # below this, BatchNorm's moving averages (momentum 0.99) lag the weights: see train()
# Checked free before a run starts: the best model's .keras, .h5, backup and best-epoch weights, the plots.
RUN_FREE_BYTES = 50_000_000
TEACHER_WEIGHT = 0.5  # the teacher's share of each target, when --teacher is given without --teacher-weight
TEACHER_TEMPERATURE = 2.0  # Hinton et al. (2015) used 1-20; 2 keeps a calibrated teacher's ranking visible
MARKER_FILE = "marker_digits.npz"  # in a run folder: its marker-written training digits, made once
MARKER_VALIDATION_FILE = "marker_validation.npz"  # and its marker-written validation digits
DRAWN_FILE = "drawn_digits.npz"  # its training digits drawn with the page's pen (--drawn-digits), made once
DRAWN_VALIDATION_FILE = "drawn_validation.npz"  # and its validation digits so drawn
# Validation digits written with a marker that join the validation split of a --marker-digits run, so the
# epoch kept is the one that reads markers best as well as MNIST (selected on MNIST alone, a 32,000-digit
# run kept its first epoch: docs/BENCHMARKS.md, "Bold markers: the epoch kept").
MARKER_VALIDATION = 2000
MARKER_SECONDS = 0.045  # to write and preprocess one (markers.marker_digits), for the log
# Per pen of markers.PENS: the run folder's files of training and validation digits, the TrainConfig
# field counting them, and how the log says they are written.
PEN_SETS = {
    "marker": (MARKER_FILE, MARKER_VALIDATION_FILE, "marker_digits", "written with a thick marker"),
    "page": (DRAWN_FILE, DRAWN_VALIDATION_FILE, "drawn_digits", "drawn with the page's pen"),
}
VALIDATION_BATCH = 512  # images per batch of the per-epoch validation pass (inference only)
MAX_SEED = 2**32 - 1  # the largest seed NumPy's and Keras' random generators take
# The settings a recipe chooses (None in a TrainConfig: the recipe's value); `mnist-cnn tune` searches them.
RECIPE_SETTINGS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "warmup_epochs",
    "label_smoothing",
    "dropout",
    "affine",
    "pen_augmentation",
    "pen_closing",
    "pen_trace",
    "pen_contour",
    "pen_sheet_edge",
)


@dataclass
class TrainConfig:
    """What identifies a training run. ``None`` means: the recipe's own value."""

    model: str = "seed"  # a registry name; an ensemble may mix recipes: "best,seed" (members take them in turn)
    dataset: str = "mnist"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None  # peak of the warm-up + cosine schedule
    validation_fraction: float = 0.1  # the default; the test set never picks an epoch
    seed: int = 42
    limit: int | None = None  # train on a stratified subset of this many images (quick runs)
    ensemble: int = 1  # members trained with seeds seed, seed+1, ...; their probabilities are averaged
    # Which images are held out (and, with --limit, which are drawn). None: the run's seed. An ensemble's
    # members all take the ensemble's, so one validation split is held out from every member.
    split_seed: int | None = None
    pen_augmentation: float | None = None  # share of images given RandomPen; None: the recipe's
    warmup_epochs: float | None = None  # epochs of linear warm-up from a tenth of the peak learning rate
    label_smoothing: float | None = None  # 0-1, of the cross-entropy's one-hot targets
    dropout: float | None = None  # 0-1, the rate of the architecture's Dropout layers (models.py)
    # Strength of the random affine warps, 0 (none) to 5: 1 is rotation and shear up to 10 degrees,
    # zoom up to 10%, shift up to 2.5 pixels; the strength scales all four.
    affine: float | None = None
    pen_closing: float | None = None  # 0-1: share of RandomPen's images thickened then thinned; None: the recipe's
    pen_trace: float | None = None  # 0-1: share of RandomPen's images retraced with a round pen; None: the recipe's
    pen_contour: float | None = None  # 0-1: share of RandomPen's images as contours; None: the recipe's
    pen_sheet_edge: float | None = None  # 0-1: share of RandomPen's images with a sheet's edge; None: the recipe's
    marker_digits: int = 0  # training digits also written with a thick marker and preprocessed (markers.py)
    drawn_digits: int = 0  # training digits also drawn with the page's pen and preprocessed (markers.py)
    # A model (a shipped name or a .keras/.h5 file) of the same architecture whose weights training
    # starts from instead of random ones: fine-tuning. None: from scratch.
    init: str | None = None
    # A model (a shipped name or a .keras/.h5 file with 10 outputs) whose probabilities on the clean training
    # images are mixed into the targets: knowledge distillation (distillation.py). None: the labels alone.
    teacher: str | None = None
    teacher_weight: float | None = None  # 0-1, the teacher's share of each target; None: 0.5 with a teacher
    teacher_temperature: float | None = None  # > 0, softens the teacher's probabilities; None: 2 with a teacher

    @property
    def model_names(self) -> list[str]:
        return self.model.split(",")

    def resolved(self) -> TrainConfig:
        """The settings with the recipe's values filled in; a mixed ensemble's members fill in their own."""
        split_seed = self.seed if self.split_seed is None else self.split_seed
        if len(self.model_names) > 1:
            return replace(self, split_seed=split_seed)
        defaults = recipe_settings(self.model)
        chosen = {
            name: defaults[name] if getattr(self, name) is None else getattr(self, name) for name in RECIPE_SETTINGS
        }
        return replace(self, split_seed=split_seed, **chosen, **self.teacher_settings())

    def teacher_settings(self) -> dict:
        """The teacher's weight and temperature with their defaults filled in (None without a teacher)."""
        if self.teacher is None:
            return {"teacher_weight": self.teacher_weight, "teacher_temperature": self.teacher_temperature}
        weight, temperature = self.teacher_weight, self.teacher_temperature
        return {
            "teacher_weight": TEACHER_WEIGHT if weight is None else weight,
            "teacher_temperature": TEACHER_TEMPERATURE if temperature is None else temperature,
        }

    def check(self) -> None:
        """Raises UsageError for a setting out of range, ModelError for an unknown model name."""
        for name in self.model_names:
            models.recipe(name)
        if len(self.model_names) > 1 and self.ensemble < len(self.model_names):
            raise UsageError(
                f"--model {self.model} names {len(self.model_names)} models: mixing recipes needs --ensemble K "
                f"with at least one member each (K >= {len(self.model_names)}); received --ensemble {self.ensemble}"
            )
        for name in SETTING_RULES:
            check_setting(name, getattr(self, name), SETTING_RULES[name][0])
        if self.seed + self.ensemble - 1 > MAX_SEED:
            raise UsageError(
                f"--seed {self.seed} with --ensemble {self.ensemble} gives members seeds up to "
                f"{self.seed + self.ensemble - 1}; the largest seed is {MAX_SEED}"
            )
        if self.teacher is None and (self.teacher_weight is not None or self.teacher_temperature is not None):
            raise UsageError("--teacher-weight and --teacher-temperature need --teacher MODEL")


# setting: (its option, whether a value is acceptable, what is expected). None always means "the default".
SETTING_RULES = {
    "seed": ("--seed", lambda value: 0 <= value <= MAX_SEED, f"in [0, {MAX_SEED}]"),
    "split_seed": ("--split-seed", lambda value: 0 <= value <= MAX_SEED, f"in [0, {MAX_SEED}]"),
    "validation_fraction": ("--validation-fraction", lambda value: 0 <= value < 1, "in [0, 1)"),
    "epochs": ("--epochs", lambda value: value >= 1, "a positive integer"),
    "batch_size": ("--batch-size", lambda value: value >= 1, "a positive integer"),
    "limit": ("--limit", lambda value: value >= 100, "at least 100 images so every class is represented"),
    "ensemble": ("--ensemble", lambda value: value >= 1, "a positive integer"),
    # Above 1 Adam learns nothing (1 already does not), and 1e30 made the loss NaN at once.
    "learning_rate": ("--learning-rate", lambda value: 0 < value <= 1, "in (0, 1]"),
    "pen_augmentation": ("--pen-augmentation", lambda value: 0 <= value <= 1, "in [0, 1]"),
    "pen_closing": ("--pen-closing", lambda value: 0 <= value <= 1, "in [0, 1]"),
    "pen_trace": ("--pen-trace", lambda value: 0 <= value <= 1, "in [0, 1]"),
    "pen_contour": ("--pen-contour", lambda value: 0 <= value <= 1, "in [0, 1]"),
    "pen_sheet_edge": ("--pen-sheet-edge", lambda value: 0 <= value <= 1, "in [0, 1]"),
    "marker_digits": ("--marker-digits", lambda value: value >= 0, "0 or more"),
    "drawn_digits": ("--drawn-digits", lambda value: value >= 0, "0 or more"),
    "teacher_weight": ("--teacher-weight", lambda value: 0 <= value <= 1, "in [0, 1]"),
    "teacher_temperature": ("--teacher-temperature", lambda value: value > 0, "positive and finite"),
    "warmup_epochs": ("warmup_epochs", lambda value: value >= 0, "0 or more and finite"),
    "label_smoothing": ("label_smoothing", lambda value: 0 <= value < 1, "in [0, 1)"),
    "dropout": ("dropout", lambda value: 0 <= value < 1, "in [0, 1)"),
    "affine": ("affine", lambda value: 0 <= value <= 5, "in [0, 5]"),
}
STRING_SETTINGS = {"model", "dataset", "init", "teacher"}  # names; init and teacher may be null (none)
INTEGER_SETTINGS = {"epochs", "batch_size", "limit", "ensemble", "seed", "split_seed", "marker_digits", "drawn_digits"}


def check_setting(name: str, value, label: str) -> None:
    """Raise UsageError naming ``label`` when ``value`` is not acceptable for setting ``name``; infinity
    and NaN never are (argparse's float and JSON both take them)."""
    if value is None or name not in SETTING_RULES:
        return
    _, acceptable, expected = SETTING_RULES[name]
    if not (math.isfinite(value) and acceptable(value)):
        raise UsageError(f"{label} must be {expected}; received {value}")


def recipe_settings(model: str) -> dict:
    """The values a recipe gives each of RECIPE_SETTINGS. Raises ModelError for an unknown name."""
    recipe = models.recipe(model)
    return {
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "learning_rate": recipe.learning_rate,
        "warmup_epochs": recipe.warmup_epochs,
        "label_smoothing": recipe.label_smoothing,
        "dropout": recipe.dropout,
        "affine": 1.0 if recipe.augment else 0.0,
        "pen_augmentation": recipe.pen_augmentation,
        "pen_closing": recipe.pen_closing,
        "pen_trace": recipe.pen_trace,
        "pen_contour": recipe.pen_contour,
        "pen_sheet_edge": recipe.pen_sheet_edge,
    }


def read_config_file(path: Path) -> dict:
    """The settings in a JSON file of TrainConfig fields (what `mnist-cnn tune` writes as best.json).

    Returns a dict of the file's settings, each of the field's type and in its range.
    Raises:
        UsageError: the file cannot be read, is not a JSON object, or names an unknown setting or a
            value of the wrong type or out of range (the message names the file and the setting).
    """
    path = Path(path)
    try:
        settings = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"--config {path}: cannot read ({error.strerror or error})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"--config {path}: not valid JSON ({error})") from None
    if not isinstance(settings, dict):
        raise UsageError(f'--config {path}: expected a JSON object of settings, e.g. {{"learning_rate": 0.01}}')
    fields = list(TrainConfig.__dataclass_fields__)
    for name, value in settings.items():
        if name not in fields:
            raise UsageError(f"--config {path}: unknown setting {name!r}; settings are: {', '.join(fields)}")
        if name in STRING_SETTINGS:
            if not (isinstance(value, str) or (value is None and name in ("init", "teacher"))):
                raise UsageError(f"--config {path}: {name} must be a string; received {value!r}")
            continue
        expected_type = int if name in INTEGER_SETTINGS else (int, float)
        if value is not None and (isinstance(value, bool) or not isinstance(value, expected_type)):
            kind = "a whole number" if name in INTEGER_SETTINGS else "a number"
            raise UsageError(f"--config {path}: {name} must be {kind}; received {value!r}")
        check_setting(name, value, f"--config {path}: {name}")
    return settings


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
    pen = ("pen_augmentation", "pen_closing", "pen_trace", "pen_contour", "pen_sheet_edge")
    for name in pen:  # runs started before RandomPen had these had none
        if name not in saved:
            config[name] = 0.0
    missing = [name for name in RECIPE_SETTINGS if name not in saved and name not in pen]
    if missing and "," not in str(config["model"]):  # runs started before these were settings used the recipe's
        try:
            defaults = recipe_settings(config["model"])
        except MnistCnnError:
            return config
        config.update({name: defaults[name] for name in missing})
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


def make_pipeline(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffle_seed: int | None = None,
    drop_remainder: bool = False,
):
    """A tf.data pipeline of (float32 images (b, 28, 28, 1) in 0-1, targets (b, 10)).

    ``labels``: (n,) integer classes, made one-hot, or (n, 10) float targets used as they are
    (distillation's mixed targets).

    The uint8 arrays stay in memory; shuffling happens before batching and scaling after it, so
    the per-image work is vectorised per batch. ``drop_remainder``: every batch is full (data-parallel
    processes must each get the same number of equal shards).
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    soft = np.ndim(labels) == 2

    def scale(batch_images, batch_labels):
        targets = batch_labels if soft else tf.one_hot(tf.cast(batch_labels, tf.int32), 10)
        return tf.cast(batch_images, tf.float32)[..., None] / 255.0, targets

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
            if not finite_losses(logs):
                return  # a diverged epoch's weights are NaN: never the best, whatever its accuracy
            super().on_epoch_end(epoch, logs)
            if self.partial_path.exists():
                os.replace(self.partial_path, self.final_path)

    checkpoint = AtomicBestCheckpoint(
        run_dir / BEST_WEIGHTS, monitor="val_accuracy", mode="max", save_best_only=True, save_weights_only=True
    )
    if resumed_history:
        # A new callback forgets the best score so far; without this it would overwrite a better epoch.
        checkpoint.best = max(row["val_accuracy"] for row in resumed_history)
    callbacks = [
        EpochSeconds(),
        checkpoint,
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),  # a NaN loss stays NaN: stop rather than train on for hours
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    # The backup goes last, so an epoch counts as finished only once its history row and best-weights
    # file are written: a kill in between redoes the epoch instead of losing its row. It is kept after
    # fit and removed once every artifact is written, so a crash while writing them resumes straight
    # to writing them again instead of retraining.
    backup = keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True, delete_checkpoint=False)
    return [*callbacks, backup]


def make_stopwatch(
    inputs=None, labels=None, target: float | None = None, check_every: int = 50, on_check=None, seconds: float = 0.0
):
    """A Keras callback that clocks training alone and can stop it when held-out accuracy reaches ``target``.

    The clock runs during training steps and stops for Keras' validation passes and for its own
    checks. With ``inputs`` (float32 (n, 28, 28, 1), values 0-1) and ``labels`` (n,), every
    ``check_every`` training steps it scores them, records ``(seconds, accuracy)`` in ``points``,
    calls ``on_check(seconds, step, accuracy)`` if given, and stops training at the first check at or
    above ``target`` (0-1), keeping its training seconds in ``reached``; an epoch's own validation
    accuracy at or above ``target`` counts as such a check too. ``seconds``: training seconds already
    done before this fit (a resumed run). ``elapsed()`` is the training seconds so far.
    """
    import keras

    class Stopwatch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.points, self.trained_seconds, self.steps = [], seconds, 0
            self.reached, self.started = None, None

        def resume(self):
            self.started = time.perf_counter()

        def pause(self):
            if self.started is not None:
                self.trained_seconds += time.perf_counter() - self.started
                self.started = None

        def elapsed(self) -> float:
            return self.trained_seconds + (time.perf_counter() - self.started if self.started is not None else 0.0)

        # Keras validates after an epoch's last step, so the clock runs from an epoch's start to its
        # validation pass (or its end) and checkpoints, logs and validation are not counted.
        def on_epoch_begin(self, epoch, logs=None):
            self.resume()

        def on_test_begin(self, logs=None):
            self.pause()

        def on_train_end(self, logs=None):
            self.pause()

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if inputs is None or self.steps % check_every:
                return
            self.pause()
            probabilities = self.model.predict(inputs, batch_size=2000, verbose=0)
            accuracy = float((np.asarray(probabilities).argmax(axis=1) == labels).mean())
            self.points.append((self.trained_seconds, accuracy))
            if on_check is not None:
                on_check(self.trained_seconds, self.steps, accuracy)
            self.check(accuracy)
            self.resume()

        def on_epoch_end(self, epoch, logs=None):
            self.pause()
            if logs and "val_accuracy" in logs:
                self.check(float(logs["val_accuracy"]))

        def check(self, accuracy: float) -> None:
            if target is not None and accuracy >= target and self.reached is None:
                self.reached = self.elapsed()
                self.model.stop_training = True

    return Stopwatch()


# --- Training --------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def compile_model(model, config: TrainConfig, steps_per_epoch: int) -> None:
    """Adam on the warm-up + cosine schedule and label-smoothed cross-entropy, as ``config`` (resolved) sets."""
    import keras

    schedule = learning_rate_schedule(config.learning_rate, steps_per_epoch, config.epochs, config.warmup_epochs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
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
    ray: distributed.RayOptions | None = None,
    processes: distributed.ProcessGroup | None = None,
) -> TrainResult:
    """Train a registry model, resuming an unfinished run of the same settings, and write every artifact.

    The settings, the data, the split and the models named are checked before the run folder is made;
    the folder is then locked before anything is written. ``dataset``: already loaded data (an
    ensemble's members share one load); else read from ``data_dir``. ``ray``: train an ensemble's
    members as Ray tasks (``distributed.train_members``). ``processes``: train this one model
    data-parallel with the other processes of the group (each writes its own run folder).
    Raises:
        UsageError: bad settings, a split too small, or an --out folder that holds something else.
            BusyError: another process trains in that folder. OutputError: it cannot be written.
            DataError: bad data. MissingExtraError: ``ray`` or ``processes`` without the extra they need.
    """
    config.check()
    config = config.resolved()
    check_scaling(config, out_dir, ray, processes)
    run_dir = choose_run_dir(config, out_dir)
    if dataset is None:
        dataset = data.load_dataset(config.dataset, data_dir)
    check_split(config, len(dataset.train_images), len(dataset.class_names))
    if config.init is not None:
        init_weights(config.init, models.build_model(config.model, dropout=config.dropout))
    if config.teacher is not None:
        load_teacher(config.teacher)
    run_dir = ensure_folder(run_dir, "--out", RUN_FREE_BYTES)
    with folder_lock(run_dir, "trained"):
        choose_run_dir(config, run_dir)  # again, under the lock: another process may have finished it
        remove_partials(run_dir)  # what a killed run was writing
        repair_backup(run_dir)
        if config.ensemble > 1:
            return train_ensemble(config, run_dir, tensorboard, command, log, dataset, ray)
        return train_in(run_dir, config, tensorboard, command, log, dataset, processes)


def check_split(config: TrainConfig, available: int, classes: int) -> None:
    """Check that the run's images (``config.limit`` of the ``available`` training images, or all)
    split into a training and a validation part with at least one image of each of ``classes`` in each,
    as the stratified split needs (it holds out ceil(fraction x images) for validation).

    Raises:
        UsageError: ``config.limit`` is more than ``available``, there is no validation split, or a
            part would hold fewer than ``classes`` images (the message gives both counts).
    """
    if config.limit is not None and config.limit > available:
        raise UsageError(f"--limit {config.limit} is more than the {available:,} training images")
    if not config.validation_fraction:
        raise UsageError("training needs a validation split to pick the best epoch; use --validation-fraction > 0")
    images = available if config.limit is None else config.limit
    validation = math.ceil(config.validation_fraction * images)
    if min(validation, images - validation) < classes:
        raise UsageError(
            f"--validation-fraction {config.validation_fraction:g} of {images:,} images holds out {validation:,} "
            f"for validation and leaves {images - validation:,} for training; the stratified split needs at "
            f"least {classes} (one per class) in each: change --validation-fraction or --limit"
        )


def check_scaling(
    config: TrainConfig,
    out_dir: Path | None,
    ray: distributed.RayOptions | None,
    processes: distributed.ProcessGroup | None,
) -> None:
    """Raise UsageError for Ray or process options that do not fit the run (``config`` resolved), and
    MissingExtraError when their extra is not installed: before any folder is made."""
    if ray is not None:
        if config.ensemble == 1:
            raise UsageError("--parallel and --address train an ensemble's members side by side; add --ensemble K")
        ray.check()
        distributed.import_ray("train --parallel/--address")
    if processes is None:
        return
    processes.check()
    if config.ensemble > 1:
        raise UsageError("--processes trains one model across processes; train an ensemble without it")
    if out_dir is None:
        raise UsageError("--processes needs --out DIR: each process writes its own run folder")
    if config.batch_size % processes.processes:
        raise UsageError(
            f"--batch-size {config.batch_size} cannot be shared equally by --processes {processes.processes}; "
            f"choose a multiple of {processes.processes}"
        )
    distributed.require_jax_backend()


def train_in(
    run_dir: Path,
    config: TrainConfig,
    tensorboard: bool,
    command: str,
    log,
    dataset: data.Dataset,
    processes: distributed.ProcessGroup | None = None,
) -> TrainResult:
    """Train one model in a locked run folder, resuming from its backup, and write every artifact."""
    if processes is not None:
        distributed.join_processes(processes)  # before any computation: JAX's runtime spans the processes
    resumed_from = finished_epochs(run_dir)
    if processes is not None:
        resumed_from = distributed.agree_on_epoch(run_dir, resumed_from)
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

    seed_everything(config.seed)
    (train_images, train_labels), (val_images, val_labels) = split_for(config, dataset)
    val_count, marked_counts = len(val_labels), {}
    split = (train_images, train_labels), (val_images, val_labels)  # every pen writes the split's own digits
    for pen, (_, validation_file, field, written) in PEN_SETS.items():
        if not getattr(config, field):
            continue
        marked_images, marked_labels = marker_set(run_dir, config, *split[0], log, pen)
        train_images = np.concatenate([train_images, marked_images])
        train_labels = np.concatenate([train_labels, marked_labels])
        # A run resumed from before validation digits were so written keeps choosing without them: its
        # finished epochs' scores are MNIST's, and a mixed score could not be weighed against them.
        if not resumed_from or (run_dir / validation_file).exists():
            marked_images, marked_labels = marker_validation_set(run_dir, config, *split[1], log, pen)
            marked_counts[pen] = len(marked_labels)
            log(f"The epoch kept is chosen on the validation split and {len(marked_labels):,} of its digits {written}")
            val_images = np.concatenate([val_images, marked_images])
            val_labels = np.concatenate([val_labels, marked_labels])
    # Data-parallel processes each take an equal share of every batch, so every batch is full; the
    # per-epoch validation then skips its last partial batch (the kept model is scored on all of it).
    parts = processes.processes if processes else 1
    if parts > 1 and len(train_images) < config.batch_size:
        raise UsageError(f"--batch-size {config.batch_size} is more than the {len(train_images)} training images")
    if config.teacher is not None:
        log(f"Distilling from {config.teacher}: its probabilities on the {len(train_images):,} training images")
        train_labels = distillation.mixed_targets(
            train_labels,
            distillation.teacher_probabilities(load_teacher(config.teacher), train_images),
            config.teacher_weight,
            config.teacher_temperature,
        )
    train_pipeline = make_pipeline(
        train_images, train_labels, config.batch_size, shuffle_seed=config.seed, drop_remainder=parts > 1
    )
    val_batch = max(parts, min(VALIDATION_BATCH, len(val_images)) // parts * parts)
    val_pipeline = make_pipeline(val_images, val_labels, val_batch, drop_remainder=parts > 1)
    steps_per_epoch = (
        (len(train_images) // config.batch_size) if parts > 1 else -(-len(train_images) // config.batch_size)
    )
    fit_model, model = build_for_training(config)
    if config.init is not None and not resumed_from:
        model.set_weights(init_weights(config.init, model))
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
    if processes is not None:
        distributed.leave_processes()
    return finish_run(run_dir, config, dataset, command, len(train_images), val_count, log, resumed_from, marked_counts)


def marker_set(run_dir: Path, config: TrainConfig, images: np.ndarray, labels: np.ndarray, log, pen: str = "marker"):
    """``config.marker_digits`` (``pen`` "marker") or ``config.drawn_digits`` ("page") of the run's training
    digits written with that pen and put through the preprocessing (``markers.marker_digits``, seeded by
    the run's seed): uint8 (m, 28, 28) and (m,) labels. Made once and kept in the run folder
    (``PEN_SETS``' file, written whole or not at all), so a resumed run trains on the same images without
    making them again."""
    file, _, field, _ = PEN_SETS[pen]
    count = getattr(config, field)
    return kept_marker_digits(run_dir / file, count, config.seed, images, labels, "training", log, pen)


def marker_validation_set(
    run_dir: Path, config: TrainConfig, images: np.ndarray, labels: np.ndarray, log, pen: str = "marker"
):
    """``min(MARKER_VALIDATION, count, len(images))`` of the run's validation digits written with ``pen``
    and preprocessed, as ``marker_set`` makes its training digits (kept in ``PEN_SETS``' validation file):
    uint8 (m, 28, 28) and (m,) labels. They join the per-epoch validation pass, so the epoch kept is
    chosen on MNIST's validation digits and these together."""
    _, file, field, _ = PEN_SETS[pen]
    count = min(MARKER_VALIDATION, getattr(config, field), len(images))  # each validation digit once at most
    return kept_marker_digits(run_dir / file, count, config.seed, images, labels, "validation", log, pen)


def kept_marker_digits(
    path: Path, count: int, seed: int, images: np.ndarray, labels: np.ndarray, split: str, log, pen: str = "marker"
):
    """``markers.marker_digits(images, labels, count, seed, pen)``, read from ``path`` when it holds that
    count and seed (a damaged or other file is made again), else made and written there atomically."""
    from mnist_cnn import markers

    try:
        with np.load(path) as saved:
            if int(saved["count"]) == count and int(saved["seed"]) == seed:
                return saved["images"], saved["labels"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # none yet, or damaged by hand: made again
        pass
    log(
        f"Making {count:,} {split} digits {PEN_SETS[pen][3]} (markers.py), about "
        f"{count * MARKER_SECONDS / 60:.0f} minutes; kept in {path} for a resumed run"
    )
    marked_images, marked_labels = markers.marker_digits(images, labels, count, seed, pen)
    with atomic_path(path) as partial, open(partial, "wb") as file:
        np.savez(file, images=marked_images, labels=marked_labels, count=count, seed=seed)
    return marked_images, marked_labels


def member_config(config: TrainConfig, index: int) -> TrainConfig:
    """The settings of an ensemble's member ``index`` (from 0): seed ``seed + index``, the ensemble's
    split, and its recipe (a mix of recipes is taken in turn: "best,seed" gives best, seed, best, ...)."""
    names = config.model_names
    return replace(config, model=names[index % len(names)], seed=config.seed + index, ensemble=1)


def train_ensemble(
    config: TrainConfig,
    run_dir: Path,
    tensorboard: bool,
    command: str,
    log,
    dataset: data.Dataset,
    ray: distributed.RayOptions | None = None,
) -> TrainResult:
    """Train ``config.ensemble`` members (seeds seed, seed+1, ...; one shared validation split) in
    subfolders, each resumable on its own (one after another, or as Ray tasks with ``ray``), then save
    one model that averages their probabilities and write every artifact for it."""
    import keras

    if not (run_dir / "run.json").exists():
        write_json(run_dir / "run.json", {"config": asdict(config), "command": command})
    members, jobs = [], []
    for index in range(config.ensemble):
        member_dir = run_dir / f"member-{index + 1}"
        if is_finished(member_dir):
            log(f"Member {index + 1} of {config.ensemble} is already trained ({member_dir})")
        else:
            jobs.append((index + 1, config.ensemble, member_config(config, index), member_dir))
        members.append(member_dir)
    if ray is not None and jobs:
        distributed.train_members(jobs, dataset, ray, tensorboard, command, log)
    else:
        for number, count, settings, member_dir in jobs:
            log(f"Member {number} of {count} ({settings.model}, seed {settings.seed})")
            train(settings, member_dir, None, tensorboard, command, log, dataset)

    member_metrics = [json.loads((member_dir / "metrics.json").read_text()) for member_dir in members]
    inputs = keras.Input(shape=models.INPUT_SHAPE, name="image")
    outputs = []
    for index, member_dir in enumerate(members):
        member = keras.models.load_model(member_dir / "model.keras", compile=False)
        member.name = f"{member_metrics[index]['model']}_{index + 1}"
        outputs.append(member(inputs))
    averaged = keras.layers.Average(name="probabilities")(outputs)
    model = keras.Model(inputs, averaged, name=f"{'_'.join(config.model_names)}_ensemble_{config.ensemble}")
    member_configs = [read_run_config(member_dir) for member_dir in members]
    histories = {f"member {index + 1}": read_history(member_dir) for index, member_dir in enumerate(members)}
    extra = {
        "members": [
            {
                "model": m["model"],
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


def init_weights(init: str, model) -> list:
    """The weights of ``init`` (a shipped model's name or a .keras/.h5 file) for ``model``, to fine-tune
    it. A calibrated model's final layer carries its temperature (1/T on its kernel and bias); training
    re-learns that layer's scale, and the run is calibrated afresh at the end.

    Raises:
        ModelError: ``init`` is unknown or unreadable. UsageError: its architecture is not ``model``'s.
    """
    from mnist_cnn.runtimes import load_keras_model, resolve_model_path

    _, path = resolve_model_path(init, "keras")
    weights = load_keras_model(path).get_weights()
    if [w.shape for w in weights] != [tuple(w.shape) for w in model.get_weights()]:
        raise UsageError(f"--init {init}: its architecture is not {model.name}'s, so its weights cannot start this run")
    return weights


def load_teacher(teacher: str):
    """The Keras model ``teacher`` (a shipped name or a .keras/.h5 file) taking (n, 28, 28, 1) images and
    giving (n, 10) probabilities.

    Raises:
        ModelError: ``teacher`` is unknown or unreadable. UsageError: its input or output is not a digit
            classifier's.
    """
    from mnist_cnn.runtimes import load_keras_model, resolve_model_path

    _, path = resolve_model_path(teacher, "keras")
    model = load_keras_model(path)
    if tuple(model.input_shape[1:]) != models.INPUT_SHAPE or tuple(model.output_shape[1:]) != (10,):
        raise UsageError(
            f"--teacher {teacher}: takes {model.input_shape} and gives {model.output_shape}; "
            f"a teacher must take (None, 28, 28, 1) images and give (None, 10) probabilities"
        )
    return model


def build_for_training(config: TrainConfig):
    """(the model fit() trains, the model we keep). They differ when the recipe augments its data:
    augmentation then runs as the first layers, in the training graph, and is left out of what we keep,
    so a saved model needs nothing of ours to load."""
    import keras

    model = models.build_model(config.model, dropout=config.dropout)
    augmentation = []
    if config.affine:
        from mnist_cnn.augmentation import RandomAffine

        strength = config.affine  # 1: RandomAffine's own ranges
        warp = {"rotation": 10 * strength, "shear": 10 * strength, "zoom": 0.1 * strength, "shift": 2.5 * strength}
        augmentation.append(RandomAffine(**warp, seed=config.seed))
    if config.pen_augmentation:
        from mnist_cnn.augmentation import RandomPen

        effects = {
            "closing": config.pen_closing or 0.0,
            "trace": config.pen_trace or 0.0,
            "contour": config.pen_contour or 0.0,
            "sheet_edge": config.pen_sheet_edge or 0.0,
        }
        augmentation.append(RandomPen(rate=config.pen_augmentation, **effects, seed=config.seed + 1))
    if not augmentation:
        return model, model
    fit_model = keras.Sequential(
        [keras.Input(shape=models.INPUT_SHAPE), *augmentation, model], name=f"{model.name}_augmented"
    )
    return fit_model, model


def finite_losses(row: dict) -> bool:
    """Whether a history row's (or an epoch's Keras logs') training and validation losses are both finite."""
    return bool(np.isfinite(row["loss"]) and np.isfinite(row["val_loss"]))


def divergence(history: list[dict]) -> str | None:
    """Where a run's loss first became NaN or infinite ("the loss became nan in epoch 3"), from its
    history.csv rows; None when every loss is finite."""
    for row in history:
        for key, name in (("loss", "loss"), ("val_loss", "validation loss")):
            if not np.isfinite(row[key]):
                return f"the {name} became {row[key]:g} in epoch {int(row['epoch']) + 1}"
    return None


def finish_run(
    run_dir: Path,
    config: TrainConfig,
    dataset: data.Dataset,
    command: str,
    train_count: int,
    val_count: int,
    log,
    resumed_from: int,
    pen_validation_images: dict[str, int] | None = None,
) -> TrainResult:
    """Keep the best epoch on the validation split (and ``pen_validation_images``: per pen of ``PEN_SETS``,
    that many of its digits written with it; metrics.json records the counts as ``marker_validation_images``
    and ``drawn_validation_images``) and write every artifact for it.

    Raises:
        UsageError: the loss became NaN or infinite before any epoch finished with a finite loss
            (the learning rate is too high for the model): there is no epoch to keep.
    """
    history = read_history(run_dir)
    diverged = divergence(history)
    if diverged is not None and not (run_dir / BEST_WEIGHTS).exists():
        raise UsageError(
            f"training diverged: {diverged}, before any epoch finished with a finite loss, so there is no model to "
            f"keep; start again in a new --out with a lower --learning-rate (this run's: {config.learning_rate:g})"
        )
    if diverged is not None:
        log(
            f"note: {diverged} and training stopped there (keras TerminateOnNaN); the best epoch before it is kept. "
            f"A lower --learning-rate (this run's: {config.learning_rate:g}) may train further."
        )
    finite = [row for row in history if finite_losses(row)]
    fit_model, model = build_for_training(config)
    fit_model.load_weights(run_dir / BEST_WEIGHTS)
    extra = {
        "best_validation_accuracy": max(row["val_accuracy"] for row in finite),
        "epochs": len(history),
        "best_epoch": int(max(finite, key=lambda row: row["val_accuracy"])["epoch"]) + 1,
        "seconds": round(sum(row.get("seconds", 0.0) for row in history), 1),
    }
    for pen, count in (pen_validation_images or {}).items():
        extra[f"{PEN_SETS[pen][2].removesuffix('_digits')}_validation_images"] = count
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


def interpolate_run(
    start: str, tuned: Path, alpha: float, out_dir: Path, data_dir: Path | None = None, command: str = ""
) -> TrainResult:
    """WiSE-FT (``interpolation``): mix the weights of ``start`` (a shipped name or a .keras/.h5 file)
    and of the run folder ``tuned``, fine-tuned from it, and write a run folder of the mixture in
    ``out_dir``, with every artifact a trained run has: calibrated on ``tuned``'s validation split,
    evaluated on the test set, metrics.json last. ``alpha`` in [0, 1] is the fine-tuned model's share.

    Raises:
        UsageError: ``alpha`` outside [0, 1]; ``tuned`` is not a finished run folder, or not ``start``'s
            architecture; ``out_dir`` is not empty. ModelError: a model is unknown or unreadable.
            DataError: bad data. OutputError: ``out_dir`` cannot be written.
    """
    from mnist_cnn import evaluation, interpolation
    from mnist_cnn.runtimes import load_keras_model, resolve_model_path

    tuned = Path(tuned)
    tuned_dir = tuned.parent if tuned.suffix in (".keras", ".h5") else tuned
    saved = read_run_config(tuned_dir)
    if saved is None or not is_finished(tuned_dir):
        raise UsageError(f"--tuned {tuned}: not a finished run folder (run.json and metrics.json)")
    if not 0 <= alpha <= 1:
        raise UsageError(f"--alpha must be in [0, 1]; received {alpha}")
    out_dir = Path(out_dir)
    if holds_files(out_dir):
        raise UsageError(f"{out_dir} is not empty; choose another --out")
    config = TrainConfig(**{key: value for key, value in saved.items() if key in TrainConfig.__dataclass_fields__})
    _, start_path = resolve_model_path(start, "keras")
    start_model = load_keras_model(start_path)
    tuned_model = load_keras_model(tuned_dir / "model.keras")
    if [w.shape for w in start_model.get_weights()] != [w.shape for w in tuned_model.get_weights()]:
        raise UsageError(f"--tuned {tuned} is not --start {start}'s architecture: it was not fine-tuned from it")
    mixed = interpolation.interpolated_model(start_model, tuned_model, alpha)
    mixed.name = start_model.name
    dataset = data.load_dataset(config.dataset, data_dir)
    (train_images, _), (val_images, val_labels) = split_for(config, dataset)
    run_dir = ensure_folder(out_dir, "--out", RUN_FREE_BYTES)
    tuned_metrics, start_metrics = read_metrics(tuned_dir), read_metrics(start_path.parent)
    extra = {
        "interpolation": {
            "alpha": alpha,
            "start": str(start),
            "start_command": start_metrics.get("command", ""),
            "start_seconds": start_metrics.get("seconds", 0.0),
            "tuned": str(tuned_dir),
            "tuned_command": tuned_metrics.get("command", ""),
        },
        "best_validation_accuracy": evaluation.evaluate(mixed, val_images, val_labels, dataset.class_names).accuracy,
        "epochs": tuned_metrics.get("epochs"),
        "best_epoch": tuned_metrics.get("best_epoch"),
        "seconds": round(start_metrics.get("seconds", 0.0) + tuned_metrics.get("seconds", 0.0), 1),
    }
    with folder_lock(run_dir, "written"):
        history = read_history(tuned_dir)
        if (tuned_dir / "history.csv").exists():  # the fine-tuning's epochs, for the model card
            shutil.copyfile(tuned_dir / "history.csv", run_dir / TUNED_HISTORY)
        return write_artifacts(
            run_dir, mixed, config, dataset, command, {"the fine-tuned run": history}, extra,
            len(train_images), len(val_images), 0,
        )  # fmt: skip


def read_metrics(folder: Path) -> dict:
    """The metrics.json in ``folder`` (a run, or a shipped model's folder), or {} when it is missing or unreadable."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    return metrics if isinstance(metrics, dict) else {}


def save_model(model, target: Path) -> None:
    with atomic_path(target) as partial:
        model.save(partial)


def library_versions() -> dict:
    import platform

    import keras
    import sklearn
    import tensorflow as tf

    versions = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
    if versions["keras_backend"] == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions
