"""Wall-clock seconds of training until test accuracy first reaches 99.0%: keras.io's recipe vs ours.

Usage: .venv/bin/python benchmarks/time_to_accuracy.py [--target 0.99] [--check-every 50] [--data-dir DIR]
       [--config best.json] [--seed 42]

All run in this one process, on the same machine, one after the other:
- baseline: the keras.io "Simple MNIST convnet" exactly as published (Conv 32, pool, Conv 64, pool,
  Flatten, Dropout 0.5, Dense 10; Adam; batch 128; validation_split 0.1; 15 epochs);
- ours: `mnist-cnn train --model fast` (the same pipeline and schedule as the CLI);
- with --config FILE, also tuned: `mnist-cnn train --config FILE`, e.g. the best.json of
  `mnist-cnn tune --model fast --target 0.99` (settings chosen on the validation split).
Test accuracy is measured every --check-every training steps of 128 images (as many images between
checks at another batch size); the clock is paused while it is, and while Keras runs the baseline's
validation pass, so only training time counts. Each run stops when it first reaches the target.
Writes benchmarks/results/time_to_99.json and time_to_99.png (with --config: time_to_99-tuned.*; with
another --seed, -seedN added to the name).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

from common import machine, write_result  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def make_stopwatch_callback(test_inputs, test_labels, target, check_every):
    """The training clock of `mnist-cnn tune --target` (mnist_cnn.training.make_stopwatch), on the test
    set, printing each check."""
    from mnist_cnn.training import make_stopwatch

    def show(seconds, step, accuracy):
        print(f"    {seconds:7.1f} s  step {step:5d}  test accuracy {accuracy:.2%}", flush=True)

    return make_stopwatch(test_inputs, test_labels, target, check_every, on_check=show)


def keras_io_baseline():
    """keras.io/examples/vision/mnist_convnet, as published."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def train_keras_io(dataset, epochs: int = 15, callbacks=(), verbose: int = 0):
    """The keras.io convnet trained as published: Adam, categorical cross-entropy, batch 128, 10%
    validation split, inputs / 255, seed 42; ``epochs`` 15 as published. Returns the Keras model."""
    import keras

    keras.utils.set_random_seed(42)
    x_train = dataset.train_images[..., None].astype("float32") / 255
    y_train = keras.utils.to_categorical(dataset.train_labels, 10)
    model = keras_io_baseline()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(
        x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, callbacks=list(callbacks),
        verbose=verbose,
    )  # fmt: skip
    return model


def run_baseline(dataset, stopwatch):
    train_keras_io(dataset, callbacks=[stopwatch])


def run_fast(dataset, stopwatch, config=None):
    """`mnist-cnn train --model fast`, or the resolved TrainConfig ``config``, on the full training split."""
    from mnist_cnn import data
    from mnist_cnn.training import TrainConfig, build_for_training, compile_model, make_pipeline, seed_everything

    config = config or TrainConfig(model="fast").resolved()
    seed_everything(config.seed)
    (train_images, train_labels), _ = data.training_split(
        dataset.train_images, dataset.train_labels, config.validation_fraction, config.split_seed
    )
    pipeline = make_pipeline(train_images, train_labels, config.batch_size, shuffle_seed=config.seed)
    fit_model, _ = build_for_training(config)
    compile_model(fit_model, config, steps_per_epoch=-(-len(train_images) // config.batch_size))
    fit_model.fit(pipeline, epochs=config.epochs, callbacks=[stopwatch], shuffle=False, verbose=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.99, help="test accuracy to reach (default: 0.99)")
    parser.add_argument("--check-every", type=int, default=50, help="training steps between checks (default: 50)")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    parser.add_argument(
        "--config", type=Path, help="also train with these settings, e.g. a search's best.json (default: none)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed of ours and the tuned run (weights, split, shuffling); the baseline keeps keras.io's 42. "
        "Another seed writes its own result files, *-seedN (default: 42)",
    )
    args = parser.parse_args()

    from mnist_cnn import data
    from mnist_cnn.preprocessing import model_input
    from mnist_cnn.training import TrainConfig, read_config_file

    dataset = data.load_dataset("mnist", args.data_dir)
    test_inputs = model_input(dataset.test_images)
    seeded = args.seed != parser.get_default("seed")  # another seed: named in the command and the files
    ours_config = TrainConfig(model="fast", seed=args.seed).resolved()
    contenders = [  # (name, batch size, run)
        ("baseline", 128, lambda stopwatch: run_baseline(dataset, stopwatch)),
        ("ours", 128, lambda stopwatch: run_fast(dataset, stopwatch, ours_config)),
    ]
    if args.config:
        tuned = TrainConfig(**{**read_config_file(args.config), "seed": args.seed}).resolved()
        contenders.append(("tuned", tuned.batch_size, lambda stopwatch: run_fast(dataset, stopwatch, tuned)))
    runs = {}
    for name, batch_size, run in contenders:
        print(f"{name}:", flush=True)
        # The same number of images between checks whatever the batch size: --check-every steps of 128.
        check_every = max(1, round(args.check_every * 128 / batch_size))
        stopwatch = make_stopwatch_callback(test_inputs, dataset.test_labels, args.target, check_every)
        run(stopwatch)
        runs[name] = stopwatch
        print(
            f"  {name}: {'reached' if stopwatch.reached else 'did NOT reach'} {args.target:.1%} "
            f"after {stopwatch.reached or stopwatch.trained_seconds:.1f} s of training",
            flush=True,
        )
    baseline, ours = runs["baseline"].reached, runs["ours"].reached
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python benchmarks/time_to_accuracy.py"
        + (f" --target {args.target}" if args.target != 0.99 else "")
        + (f" --config {args.config}" if args.config else "")
        + (f" --seed {args.seed}" if seeded else ""),
        "seed": args.seed,
        "target": args.target,
        "check_every_steps": args.check_every,
        "baseline_seconds": baseline,
        "ours_seconds": ours,
        "ratio": ours / baseline if baseline and ours else None,
        "baseline_accuracy_reached": runs["baseline"].points[-1][1],
        "ours_accuracy_reached": runs["ours"].points[-1][1],
        "curves": {name: stopwatch.points for name, stopwatch in runs.items()},
    }
    if args.config:
        tuned_seconds = runs["tuned"].reached
        result["tuned_settings"] = asdict(tuned)
        result["tuned_seconds"] = tuned_seconds
        result["tuned_accuracy_reached"] = runs["tuned"].points[-1][1] if runs["tuned"].points else None
        result["tuned_to_ours"] = tuned_seconds / ours if tuned_seconds and ours else None
    name = ("time_to_99-tuned" if args.config else "time_to_99") + (f"-seed{args.seed}" if seeded else "")
    write_result(name, result)
    plot(result, RESULTS / f"{name}.png")
    ratio = f"{result['ratio']:.3f}" if result["ratio"] else "n/a"
    print(f"baseline {baseline} s, ours {ours} s, ratio {ratio}")
    if args.config:
        print(f"tuned {result['tuned_seconds']} s (tuned / ours: {result['tuned_to_ours']})")


def plot(result: dict, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    labels = {"baseline": "keras.io Simple MNIST convnet", "ours": "mnist-cnn fast", "tuned": "mnist-cnn fast, tuned"}
    for name, points in result["curves"].items():
        seconds, accuracy = zip(*points)
        axes.plot(seconds, np.asarray(accuracy) * 100, marker=".", label=labels[name])
    axes.axhline(result["target"] * 100, color="grey", linestyle="--", linewidth=1, label=f"{result['target']:.0%}")
    axes.set_ylim(97, 99.6)
    axes.set_xlabel("training seconds (evaluation excluded)")
    axes.set_ylabel("test accuracy (%)")
    cores = result["machine"]["cores"]
    axes.set_title(f"Time to {result['target']:.0%} on {cores} CPU core{'s' if cores > 1 else ''}")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.savefig(target, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
