"""Wall-clock seconds of training until test accuracy first reaches 99.0%: keras.io's recipe vs ours.

Usage: .venv/bin/python benchmarks/time_to_accuracy.py [--target 0.99] [--check-every 50] [--data-dir DIR]

Both run in this one process, on the same machine, one after the other:
- baseline: the keras.io "Simple MNIST convnet" exactly as published (Conv 32, pool, Conv 64, pool,
  Flatten, Dropout 0.5, Dense 10; Adam; batch 128; validation_split 0.1; 15 epochs);
- ours: `mnist-cnn train --model fast` (the same pipeline and schedule as the CLI).
Test accuracy is measured every --check-every training steps; the clock is paused while it is, and
while Keras runs the baseline's validation pass, so only training time counts. Each run stops
when it first reaches the target. Writes benchmarks/results/time_to_99.json and time_to_99.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

from common import machine, write_result  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def make_stopwatch_callback(test_inputs, test_labels, target, check_every):
    import keras

    class TimeToAccuracy(keras.callbacks.Callback):
        """Checks test accuracy every few steps with the clock paused; stops at the target."""

        def __init__(self):
            super().__init__()
            self.points, self.trained_seconds, self.steps = [], 0.0, 0
            self.reached = None

        def on_train_begin(self, logs=None):
            self.resume()

        def resume(self):
            self.started = time.perf_counter()

        def pause(self):
            self.trained_seconds += time.perf_counter() - self.started

        def on_test_begin(self, logs=None):  # the baseline's validation pass is not training
            self.pause()

        def on_test_end(self, logs=None):
            self.resume()

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if self.steps % check_every:
                return
            self.pause()
            probabilities = self.model.predict(test_inputs, batch_size=2000, verbose=0)
            accuracy = float((probabilities.argmax(axis=1) == test_labels).mean())
            self.points.append((self.trained_seconds, accuracy))
            print(f"    {self.trained_seconds:7.1f} s  step {self.steps:5d}  test accuracy {accuracy:.2%}", flush=True)
            if accuracy >= target and self.reached is None:
                self.reached = self.trained_seconds
                self.model.stop_training = True
            self.resume()

    return TimeToAccuracy()


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


def run_fast(dataset, stopwatch):
    from mnist_cnn import data
    from mnist_cnn.training import TrainConfig, build_for_training, compile_model, make_pipeline, seed_everything

    config = TrainConfig(model="fast").resolved()
    seed_everything(config.seed)
    (train_images, train_labels), _ = data.training_split(
        dataset.train_images, dataset.train_labels, config.validation_fraction, config.seed
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
    args = parser.parse_args()

    from mnist_cnn import data
    from mnist_cnn.preprocessing import model_input

    dataset = data.load_dataset("mnist", args.data_dir)
    test_inputs = model_input(dataset.test_images)
    runs = {}
    for name, run in (("baseline", run_baseline), ("ours", run_fast)):
        print(f"{name}:", flush=True)
        stopwatch = make_stopwatch_callback(test_inputs, dataset.test_labels, args.target, args.check_every)
        run(dataset, stopwatch)
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
        + (f" --target {args.target}" if args.target != 0.99 else ""),
        "target": args.target,
        "check_every_steps": args.check_every,
        "baseline_seconds": baseline,
        "ours_seconds": ours,
        "ratio": ours / baseline if baseline and ours else None,
        "baseline_accuracy_reached": runs["baseline"].points[-1][1],
        "ours_accuracy_reached": runs["ours"].points[-1][1],
        "curves": {name: stopwatch.points for name, stopwatch in runs.items()},
    }
    write_result("time_to_99", result)
    plot(result, RESULTS / "time_to_99.png")
    ratio = f"{result['ratio']:.3f}" if result["ratio"] else "n/a"
    print(f"baseline {baseline} s, ours {ours} s, ratio {ratio}")


def plot(result: dict, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    labels = {"baseline": "keras.io Simple MNIST convnet", "ours": "mnist-cnn fast"}
    for name, points in result["curves"].items():
        seconds, accuracy = zip(*points)
        axes.plot(seconds, np.asarray(accuracy) * 100, marker=".", label=labels[name])
    axes.axhline(result["target"] * 100, color="grey", linestyle="--", linewidth=1, label=f"{result['target']:.0%}")
    axes.set_ylim(97, 99.6)
    axes.set_xlabel("training seconds (evaluation excluded)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(f"Time to {result['target']:.0%} on {result['machine']['cores']} CPU cores")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.savefig(target, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
