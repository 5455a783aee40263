"""Hyperparameter search: Optuna's sampler inside Ray Tune, with ASHA stopping poor trials early.

Each trial trains the recipe's model with settings the sampler proposes (``training.RECIPE_SETTINGS``:
learning rate, batch size, epochs, warm-up, label smoothing, dropout, augmentation strengths) on the
training split and reports its validation accuracy after every epoch; ASHA (Li et al. 2020,
"A System for Massively Parallel Hyperparameter Tuning") stops trials that trail the others at the
same epoch. The test set is never loaded into a trial. The first trial is the recipe's own settings,
so the search's best is never worse than today's on its objective.

The objective (``score``, higher is better) is the best validation accuracy so far; with a ``target``
it is how soon training reaches that validation accuracy: a trial checks every 6,400 training images
with its clock paused, stops at the first check at or above the target, and scores
``1 + 1 / seconds`` (above 1: reached, sooner is higher), or its best validation accuracy (below 1)
while it has not.

An output folder holds ``search.json`` (the search's settings), ``search/`` (Ray Tune's experiment,
for resuming: a rerun of the same command continues it), ``trials.csv`` (every trial's settings and
result), ``curves.csv`` (every trial's per-epoch figures), ``best.json`` (the best trial's settings,
for ``mnist-cnn train --config``) and ``search.png``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mnist_cnn import data, distributed
from mnist_cnn.errors import MissingExtraError, MnistCnnError, UsageError
from mnist_cnn.files import ensure_folder, folder_lock, remove_partials, write_json, write_text
from mnist_cnn.training import (
    INTEGER_SETTINGS,
    RECIPE_SETTINGS,
    VALIDATION_BATCH,
    TrainConfig,
    check_setting,
    holds_files,
    recipe_settings,
)

SPACE_KINDS = ("log_uniform", "uniform", "int", "choice")
CHECK_IMAGES = 6_400  # training images between a target trial's checks: benchmarks/time_to_accuracy.py's 50 x 128
EXPERIMENT_NAME = "search"
SEARCH_FREE_BYTES = 100_000_000  # Ray Tune's experiment state and each running trial's latest checkpoint


@dataclass
class SearchConfig:
    """What identifies a search. ``space``: setting -> a fixed value or {"log_uniform"|"uniform"|"int"|
    "choice": [...]} (``default_space`` fills what is not given)."""

    model: str = "fast"
    trials: int = 8
    space: dict = field(default_factory=dict)
    target: float | None = None  # a validation accuracy (0-1) to reach as soon as possible; None: the most accuracy
    dataset: str = "mnist"
    validation_fraction: float = 0.1
    seed: int = 42  # every trial's seed and the split's: trials differ only in their settings
    limit: int | None = None  # search on a stratified subset of this many training images

    def check(self) -> None:
        """Raises UsageError for a bad setting, ModelError for an unknown model."""
        if "," in self.model:
            raise UsageError(f"--model: a search tunes one recipe; received {self.model!r}")
        recipe_settings(self.model)
        if self.trials < 1:
            raise UsageError(f"--trials must be a positive integer; received {self.trials}")
        if self.target is not None and not 0 < self.target < 1:
            raise UsageError(f"--target must be a validation accuracy between 0 and 1; received {self.target}")
        TrainConfig(
            model=self.model, validation_fraction=self.validation_fraction, limit=self.limit, seed=self.seed
        ).check()
        if not self.validation_fraction:
            raise UsageError("a search scores trials on the validation split; use --validation-fraction > 0")
        check_space(self.space, "--space")


@dataclass
class SearchResult:
    """A search's outcome: ``trials`` (one dict per trial, as trials.csv), ``best_trial`` (the row of
    the highest score) and ``best`` (the settings best.json holds), both None while no trial has a
    score, and how many trials had finished before this run."""

    out_dir: Path
    trials: list[dict]
    best_trial: dict | None
    best: dict | None
    finished: int
    resumed_with: int


@dataclass
class TrialData:
    """What a trial trains and validates on (uint8 images (n, 28, 28), labels (n,)); never the test set."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray


@dataclass
class TrialPlan:
    """What every trial shares: the search, the settings that are not searched, its compute threads."""

    search: SearchConfig
    fixed: dict
    threads: int


# --- The search space ------------------------------------------------------------------------------


def default_space(model: str) -> dict:
    """The recipe's search space: ranges around its own settings, wide enough to move them.

    Learning rate: a third to three times the recipe's, log-uniform; batch size 64, 128 or 256;
    epochs: a third to four thirds of the recipe's (fast: 1-4); warm-up 0.1-1 epoch; label smoothing
    0-0.2; dropout 0 to 1.5 times the recipe's (at least 0-0.3); affine strength 0-1.5; pen
    augmentation 0 to 1.5 times the recipe's share (at least 0-0.3); pen closing 0-0.5 of those
    images. The round-pen retrace, contours and sheet edges are fixed at the recipe's shares, so
    the searches made before they existed draw the same trials.
    """
    own = recipe_settings(model)
    return {
        "learning_rate": {"log_uniform": [round(own["learning_rate"] / 3, 6), round(own["learning_rate"] * 3, 6)]},
        "batch_size": {"choice": [64, 128, 256]},
        "epochs": {"int": [max(1, math.ceil(own["epochs"] / 3)), math.ceil(own["epochs"] * 4 / 3)]},
        "warmup_epochs": {"uniform": [0.1, 1.0]},
        "label_smoothing": {"uniform": [0.0, 0.2]},
        "dropout": {"uniform": [0.0, round(max(0.3, 1.5 * own["dropout"]), 3)]},
        "affine": {"uniform": [0.0, 1.5]},
        "pen_augmentation": {"uniform": [0.0, round(min(1.0, max(0.3, 1.5 * own["pen_augmentation"])), 3)]},
        "pen_closing": {"uniform": [0.0, 0.5]},
        "pen_trace": own["pen_trace"],
        "pen_contour": own["pen_contour"],
        "pen_sheet_edge": own["pen_sheet_edge"],
    }


def read_space(path: Path | None, model: str) -> dict:
    """The search space: the recipe's default, with the settings a JSON ``path`` names replaced.

    The file maps settings to a fixed value or to one of {"log_uniform": [low, high]}, {"uniform":
    [low, high]}, {"int": [low, high]} (both included) or {"choice": [value, ...]}.
    Raises:
        UsageError: the file cannot be read or is not such an object (the message names the file and
            the setting). ModelError: ``model`` is unknown.
    """
    space = default_space(model)
    if path is None:
        return space
    label = f"--space {path}"
    try:
        given = json.loads(Path(path).read_text())
    except OSError as error:
        raise UsageError(f"{label}: cannot read ({error.strerror or error})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"{label}: not valid JSON ({error})") from None
    if not isinstance(given, dict):
        raise UsageError(f'{label}: expected a JSON object of settings, e.g. {{"learning_rate": {{"log_uniform": '
                         f"[0.001, 0.03]}}}}")  # fmt: skip
    check_space(given, label)
    return {**space, **given}


def check_space(space: dict, label: str) -> None:
    """Raise UsageError, naming ``label`` and the setting, for anything in ``space`` that is not a
    known setting with a fixed value or a range of acceptable values."""
    for name, spec in space.items():
        where = f"{label}: {name}"
        if name not in RECIPE_SETTINGS:
            raise UsageError(f"{label}: unknown setting {name!r}; settings are: {', '.join(RECIPE_SETTINGS)}")
        if not isinstance(spec, dict):
            check_value(name, spec, where)
            continue
        if len(spec) != 1 or next(iter(spec)) not in SPACE_KINDS:
            raise UsageError(
                f"{where}: expected a value or one of {', '.join(repr(kind) for kind in SPACE_KINDS)} with its "
                f"list; received {json.dumps(spec)}"
            )
        kind, values = next(iter(spec.items()))
        if not isinstance(values, list) or not values:
            raise UsageError(f"{where}: {kind} takes a list; received {json.dumps(values)}")
        if kind in ("log_uniform", "uniform", "int") and len(values) != 2:
            raise UsageError(f"{where}: {kind} takes [low, high]; received {json.dumps(values)}")
        if name in INTEGER_SETTINGS and kind in ("log_uniform", "uniform"):
            raise UsageError(f'{where}: a whole number: use {{"int": [low, high]}} or {{"choice": [...]}}')
        if kind != "int" and name not in INTEGER_SETTINGS:
            values = [check_value(name, value, where, whole=False) for value in values]
        else:
            values = [check_value(name, value, where, whole=True) for value in values]
        if kind != "choice" and not values[0] < values[1]:
            raise UsageError(f"{where}: low must be below high; received {json.dumps(spec[kind])}")
        if kind == "log_uniform" and values[0] <= 0:
            raise UsageError(f"{where}: log_uniform needs a positive low; received {values[0]}")
        if kind == "choice" and len(set(values)) != len(values):
            raise UsageError(f"{where}: choice lists a value twice: {json.dumps(values)}")


def check_value(name: str, value, where: str, whole: bool | None = None):
    """``value`` if it is a number (a whole one for whole settings) in ``name``'s range; else UsageError."""
    whole = name in INTEGER_SETTINGS if whole is None else whole
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        raise UsageError(f"{where}: expected {'a whole number' if whole else 'a number'}; received {json.dumps(value)}")
    check_setting(name, value, where)
    return value


def searched(space: dict) -> dict:
    """The settings of ``space`` that vary (name -> {kind: values})."""
    return {name: spec for name, spec in space.items() if isinstance(spec, dict)}


def optuna_space(space: dict) -> dict:
    """Optuna distributions for the varying settings of ``space``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    distributions = {}
    for name, spec in searched(space).items():
        kind, values = next(iter(spec.items()))
        if kind == "choice":
            distributions[name] = CategoricalDistribution(values)
        elif kind == "int":
            distributions[name] = IntDistribution(values[0], values[1])
        else:
            distributions[name] = FloatDistribution(values[0], values[1], log=kind == "log_uniform")
    return distributions


def recipe_point(space: dict, model: str) -> dict | None:
    """The recipe's own settings as a first trial, where they lie inside ``space``; else None."""
    own = recipe_settings(model)
    point = {}
    for name, spec in searched(space).items():
        kind, values = next(iter(spec.items()))
        inside = own[name] in values if kind == "choice" else values[0] <= own[name] <= values[1]
        if not inside or (kind == "log_uniform" and own[name] <= 0):
            return None
        point[name] = own[name]
    return point


# --- A trial ---------------------------------------------------------------------------------------


def run_trial(settings: dict, data: TrialData, plan: TrialPlan) -> None:
    """One trial, run by Ray Tune on a worker: train with ``settings`` (the sampled ones) and the plan's
    fixed settings, report after every epoch, resume from Tune's checkpoint after an interruption."""
    import keras
    from ray import tune

    from mnist_cnn.preprocessing import model_input
    from mnist_cnn.training import build_for_training, compile_model, make_pipeline, make_stopwatch, seed_everything

    search = plan.search
    keras.backend.clear_session()  # a reused worker keeps the last trial's graph otherwise
    distributed.prepare_worker(plan.threads)
    config = TrainConfig(
        model=search.model,
        dataset=search.dataset,
        validation_fraction=search.validation_fraction,
        seed=search.seed,
        limit=search.limit,
        **{**plan.fixed, **settings},
    ).resolved()
    seed_everything(config.seed)
    work = Path(tempfile.mkdtemp(prefix="mnist-cnn-trial-"))
    try:
        backup = work / "backup"
        state = {"history": [], "seconds": 0.0, "checks": []}
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            checkpoint.to_directory(str(backup))
            state = json.loads((backup / "trial.json").read_text())
        steps_per_epoch = -(-len(data.train_images) // config.batch_size)
        fit_model, _ = build_for_training(config)
        compile_model(fit_model, config, steps_per_epoch)
        stopwatch = make_stopwatch(
            model_input(data.val_images) if search.target else None,
            data.val_labels,
            search.target,
            check_every=max(1, round(CHECK_IMAGES / config.batch_size)),
            seconds=state["seconds"],
        )
        fit_model.fit(
            make_pipeline(data.train_images, data.train_labels, config.batch_size, shuffle_seed=config.seed),
            validation_data=make_pipeline(data.val_images, data.val_labels, VALIDATION_BATCH),
            epochs=config.epochs,
            shuffle=False,
            verbose=0,
            # The backup is written before the report that hands it to Tune as the trial's checkpoint.
            callbacks=[
                stopwatch,
                keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False),
                make_reporter(state, stopwatch, backup, search.target),
            ],
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_reporter(state: dict, stopwatch, backup: Path, target: float | None):
    """A Keras callback that reports each epoch to Ray Tune with the backup as the trial's checkpoint."""
    import keras
    from ray import tune

    class Reporter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            row = {
                "epoch": epoch + 1,
                **{key: float(logs[key]) for key in ("accuracy", "loss", "val_accuracy", "val_loss")},
                "seconds": stopwatch.elapsed(),
            }
            state["history"].append(row)
            state["seconds"] = row["seconds"]
            state["checks"] += [accuracy for _, accuracy in stopwatch.points[len(state["checks"]) :]]
            best = max([entry["val_accuracy"] for entry in state["history"]] + state["checks"])
            reached = stopwatch.reached
            score = 1 + 1 / max(reached, 1e-3) if reached is not None else best
            (backup / "trial.json").write_text(json.dumps(state))
            metrics = {**row, "best_val_accuracy": best, "seconds_to_target": reached, "score": score}
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(backup)))

    return Reporter()


# --- The search ------------------------------------------------------------------------------------


def tune(
    search: SearchConfig,
    out_dir: Path,
    parallel: int = 1,
    address: str | None = None,
    data_dir: Path | None = None,
    log=print,
    command: str = "",
) -> SearchResult:
    """Run (or continue) a search into ``out_dir``, ``parallel`` trials at once, on a local Ray or the
    cluster at ``address``; write the trials, their curves, the best settings and the plot.

    Raises:
        UsageError: bad settings, options or --space, an --out folder that holds something else,
            an unreachable --address. ModelError: an unknown model. DataError: bad data.
        MissingExtraError: Ray or Optuna is not installed. BusyError: another search writes into
            ``out_dir``. OutputError: ``out_dir`` cannot be written. KeyboardInterrupt: interrupted
            (what finished is written; a rerun continues).
    """
    search.check()
    options = distributed.RayOptions(parallel=parallel, address=address)
    options.check()
    import_optuna()
    distributed.import_ray("tune")
    out_dir = ensure_folder(Path(out_dir), "--out", SEARCH_FREE_BYTES)
    with folder_lock(out_dir, "searched"):
        remove_partials(out_dir)
        previous = check_out_dir(out_dir, search)
        dataset = data.load_dataset(search.dataset, data_dir)
        if search.limit is not None and search.limit > len(dataset.train_images):
            raise UsageError(f"--limit {search.limit} is more than the {len(dataset.train_images):,} training images")
        (train_images, train_labels), (val_images, val_labels) = data.training_split(
            dataset.train_images, dataset.train_labels, search.validation_fraction, search.seed, search.limit
        )
        trial_data = TrialData(train_images, train_labels, val_images, val_labels)
        if previous is None:
            write_json(out_dir / "search.json", {"search": asdict(search), "command": command, "parallel": parallel})
        elif previous.get("parallel", parallel) != parallel:
            # Ray Tune restores a search with the concurrency it started with; its trials' shares follow suit.
            log(f"note: the search continues {previous['parallel']} trials at a time, as it started")
            options = distributed.RayOptions(parallel=previous["parallel"], address=address)
        started = time.perf_counter()
        with distributed.ray_session("tune", address, log_to_driver=False) as cluster:
            results, resumed_with = run_search(search, out_dir, trial_data, options, cluster, log)
        rows, curves = collect(results, search)
        best_row = best_trial(rows)
        best = None if best_row is None else best_settings(best_row, search)
        write_outputs(out_dir, search, rows, curves, best_row, best, time.perf_counter() - started, command)
    if rows and all(row["status"] == "error" for row in rows):
        raise MnistCnnError(f"every trial failed, the first with: {rows[0]['error']} (see {out_dir}/trials.csv)")
    finished = sum(row["status"] != "interrupted" for row in rows)
    if finished < search.trials:
        raise KeyboardInterrupt
    return SearchResult(out_dir, rows, best_row, best, finished, resumed_with)


def import_optuna():
    try:
        import optuna
    except ImportError:
        raise MissingExtraError("`mnist-cnn tune` samples with Optuna: pip install 'mnist-cnn[scale]'") from None
    return optuna


def check_out_dir(out_dir: Path, search: SearchConfig) -> dict | None:
    """The search.json of an earlier run of this search in ``out_dir`` (None for a new search).

    Raises:
        UsageError: ``out_dir`` holds a search of other settings, or other files.
    """
    path = out_dir / "search.json"
    if not path.exists():
        if holds_files(out_dir):
            raise UsageError(f"{out_dir} is not empty and holds no search; choose another --out")
        return None
    try:
        previous = json.loads(path.read_text())
        settings = previous["search"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{path} is not a search's settings file; choose another --out") from None
    if settings != json.loads(json.dumps(asdict(search))):
        raise UsageError(f"{out_dir} holds a search with other settings; choose another --out")
    return previous


def run_search(search: SearchConfig, out_dir: Path, trial_data: TrialData, options, cluster, log):
    """Start or continue the Ray Tune experiment in ``out_dir``/search; (its ResultGrid, the number of
    trials that had finished before)."""
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's older reporter, which verbose=0 silences
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plan = TrialPlan(
        search=search,
        fixed={name: value for name, value in search.space.items() if not isinstance(value, dict)},
        threads=cluster.threads(options.parallel),
    )
    share = cluster.share(options.parallel)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, data=trial_data, plan=plan),
        {"cpu": share["num_cpus"], "gpu": share["num_gpus"]},
    )
    experiment = out_dir.resolve() / EXPERIMENT_NAME
    if tune.Tuner.can_restore(str(experiment)):
        finished_before = count_finished(experiment)
        log(f"Continuing the search in {out_dir}: {finished_before} of {search.trials} trials finished")
        tuner = tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True, resume_errored=True)
        return tuner.fit(), finished_before
    log(
        f"Searching {search.model}: {search.trials} trials, {options.parallel} at a time, on "
        f"{cluster.nodes} Ray node{'s' if cluster.nodes != 1 else ''} ({cluster.cpus:g} CPUs"
        + (f", {cluster.gpus:g} GPUs" if cluster.gpus else "")
        + f"), into {out_dir}"
    )
    varying = searched(search.space)
    epochs = search.space["epochs"]
    most_epochs = epochs if not isinstance(epochs, dict) else max(next(iter(epochs.values())))
    first = recipe_point(search.space, search.model)
    searcher = OptunaSearch(
        space=optuna_space(search.space) if varying else None,
        metric="score",
        mode="max",
        points_to_evaluate=[first] if first and varying else None,
        # Random proposals first, a third of the trials (at most Optuna's 10), then TPE's.
        sampler=optuna.samplers.TPESampler(seed=search.seed, n_startup_trials=max(1, min(10, search.trials // 3))),
    )
    scheduler = ASHAScheduler(
        time_attr="training_iteration",  # one report per epoch
        metric="score",
        mode="max",
        max_t=most_epochs,
        grace_period=1,
        reduction_factor=2,
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher if varying else None,
            scheduler=scheduler,
            num_samples=search.trials,
            max_concurrent_trials=options.parallel,
            # A fresh worker per trial: Ray 2.60 sometimes fails to reuse a function trainable's actor
            # ("reuse requires reset_config()"), errors the trial and, under the concurrency limit, never
            # proposes the next one: an 8-trial search of `fast` on the full data hung after 3-5 trials.
            reuse_actors=False,
        ),
        run_config=tune.RunConfig(
            name=EXPERIMENT_NAME,
            storage_path=str(out_dir.resolve()),
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[make_trial_log(log, search.trials)],
        ),
    )
    return tuner.fit(), 0


def count_finished(experiment: Path) -> int:
    """Trials of a Tune experiment that had finished (or failed) when its state was last saved."""
    from ray.tune import ExperimentAnalysis

    try:
        analysis = ExperimentAnalysis(str(experiment))
    except Exception:  # an unreadable state file: Tune's restore says what is wrong
        return 0
    return sum(trial.status in ("TERMINATED", "ERROR") for trial in analysis.trials)


def make_trial_log(log, total: int):
    """A Ray Tune callback that logs one line per finished trial: its number (the order Tune created
    it in, as trials.csv), how many have finished, its outcome."""
    from ray import tune

    def describe(trials, trial) -> str:
        number = str(trial.experiment_tag).split("_")[0]
        # Counted from the trials' states, so a continued search counts on from where it stopped.
        finished = 1 + sum(other.status in ("TERMINATED", "ERROR") for other in trials if other is not trial)
        return f"trial {number} of {total} ({finished} finished)"

    class TrialLog(tune.Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):
            result = trial.last_result or {}
            reached = result.get("seconds_to_target")
            outcome = (
                f"reached the target after {reached:.1f} s"
                if reached is not None
                else f"best validation accuracy {result.get('best_val_accuracy', float('nan')):.2%}"
            )
            log(f"{describe(trials, trial)}: {outcome} in {result.get('epoch', 0)} epochs")

        def on_trial_error(self, iteration, trials, trial, **info):
            log(f"{describe(trials, trial)}: failed; see {trial.path}")

    return TrialLog()


# --- Results ---------------------------------------------------------------------------------------


def collect(results, search: SearchConfig) -> tuple[list[dict], list[dict]]:
    """(one row per trial, one row per trial and epoch) from Tune's ResultGrid."""
    from ray.tune import ExperimentAnalysis

    trials = ExperimentAnalysis(results.experiment_path).trials
    statuses = {trial.trial_id: trial.status for trial in trials}
    # Tune numbers trials in the order it created them ("3_batch_size=..."): the order to show them in.
    order = {trial.trial_id: int(str(trial.experiment_tag).split("_")[0]) for trial in trials}
    outcomes = []
    for result in results:
        frame = result.metrics_dataframe
        history = [] if frame is None or frame.empty else frame.to_dict("records")
        trial_id = history[-1]["trial_id"] if history else Path(str(result.path)).name.split("_")[2]
        outcomes.append((order.get(trial_id, len(order) + 1), trial_id, result, history))
    rows, curves = [], []
    for number, (_, trial_id, result, history) in enumerate(sorted(outcomes, key=lambda outcome: outcome[0]), 1):
        settings = {**{name: value for name, value in search.space.items() if not isinstance(value, dict)}}
        settings.update({name: result.config[name] for name in searched(search.space) if name in result.config})
        resolved = TrainConfig(model=search.model, **settings).resolved()
        settings = {name: getattr(resolved, name) for name in RECIPE_SETTINGS}
        last = history[-1] if history else {}
        reached = last.get("seconds_to_target")
        reached = None if reached is None or (isinstance(reached, float) and math.isnan(reached)) else reached
        status = trial_status(statuses.get(trial_id), result.error, last, reached, settings["epochs"])
        rows.append(
            {
                "trial": number,
                "trial_id": trial_id,
                "status": status,
                **settings,
                "epochs_run": int(last.get("epoch", 0)),
                "best_val_accuracy": last.get("best_val_accuracy"),
                "seconds": last.get("seconds"),
                "seconds_to_target": reached,
                "score": last.get("score") if status != "error" else None,
                "node_ip": last.get("node_ip"),  # the Ray node the trial last ran on
                "error": error_line(result.error) if result.error is not None else None,
            }
        )
        keys = ("epoch", "accuracy", "loss", "val_accuracy", "val_loss", "seconds")
        curves += [{"trial": number, **{key: entry[key] for key in keys}} for entry in history]
    return rows, curves


def error_line(error: BaseException) -> str:
    """The line of an error (a worker's traceback ends with it) that says what went wrong."""
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__


def trial_status(tune_status: str | None, error, last: dict, reached, epochs: int) -> str:
    """error, interrupted (a rerun continues it), reached target, finished (every epoch) or stopped
    early (by ASHA)."""
    if error is not None or tune_status == "ERROR":
        return "error"
    if tune_status != "TERMINATED":
        return "interrupted"
    if reached is not None:
        return "reached target"
    return "finished" if last.get("epoch", 0) >= epochs else "stopped early"


def best_settings(row: dict, search: SearchConfig) -> dict:
    """best.json: the model, the dataset and every setting of a trial's row."""
    return {"model": search.model, "dataset": search.dataset, **{name: row[name] for name in RECIPE_SETTINGS}}


def best_trial(rows: list[dict]) -> dict | None:
    """The row of the highest-scoring trial (the earliest of equals); None if no trial scored."""
    scored = [row for row in rows if row["score"] is not None and not math.isnan(row["score"])]
    return max(scored, key=lambda row: row["score"], default=None)


def csv_text(rows: list[dict]) -> str:
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)
    return buffer.getvalue()


def write_outputs(
    out_dir: Path,
    search: SearchConfig,
    rows: list[dict],
    curves: list[dict],
    best_row: dict | None,
    best: dict | None,
    seconds: float,
    command: str,
) -> None:
    """trials.csv, curves.csv, best.json (when a trial scored), search.png and search.json's summary."""
    from mnist_cnn import plots

    write_text(out_dir / "trials.csv", csv_text(rows))
    write_text(out_dir / "curves.csv", csv_text(curves))
    if best is not None:
        write_json(out_dir / "best.json", best)
    plots.save_search_plot(rows, curves, searched(search.space), search.target, out_dir / "search.png",
                           title=f"Search over {search.model} ({len(rows)} trials)")  # fmt: skip
    previous = json.loads((out_dir / "search.json").read_text())
    write_json(
        out_dir / "search.json",
        {
            "search": asdict(search),
            "command": previous.get("command") or command,
            "parallel": previous.get("parallel"),
            "trials_finished": sum(row["status"] != "interrupted" for row in rows),
            "best_trial": best_row["trial"] if best_row else None,
            "best_score": best_row["score"] if best_row else None,
            "best_val_accuracy": best_row["best_val_accuracy"] if best_row else None,
            "best_seconds_to_target": best_row["seconds_to_target"] if best_row else None,
            "wall_seconds": round(previous.get("wall_seconds", 0.0) + seconds, 1),
        },
    )
