"""Train the seed model and print seconds per epoch, images per second and test accuracy per epoch.

Usage: .venv/bin/python benchmarks/train_seed.py [--epochs N] [--limit N] [--data-dir DIR]

The test set is scored after every epoch only to report the learning curve; the training itself
is exactly `mnist-cnn train --model seed` (same pipeline, schedule and seed).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import write_result  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the recipe's, 20)")
    parser.add_argument("--limit", type=int, default=None, help="training subset size (default: all)")
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (default: MNIST_CNN_DATA)")
    args = parser.parse_args()

    import keras
    import numpy as np

    from mnist_cnn import data
    from mnist_cnn.preprocessing import model_input
    from mnist_cnn.training import TrainConfig, build_for_training, compile_model, make_pipeline, seed_everything

    config = TrainConfig(model="seed", epochs=args.epochs, limit=args.limit).resolved()
    dataset = data.load_dataset("mnist", args.data_dir)
    seed_everything(config.seed)
    (train_images, train_labels), (val_images, val_labels) = data.training_split(
        dataset.train_images, dataset.train_labels, config.validation_fraction, config.seed, config.limit
    )
    pipeline = make_pipeline(train_images, train_labels, config.batch_size, shuffle_seed=config.seed)
    test_inputs = model_input(dataset.test_images)
    fit_model, model = build_for_training(config)
    compile_model(fit_model, config, steps_per_epoch=-(-len(train_images) // config.batch_size))
    rows = []

    class Report(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            accuracy = float(
                (model.predict(test_inputs, batch_size=1000, verbose=0).argmax(1) == dataset.test_labels).mean()
            )
            rows.append(
                {
                    "epoch": epoch + 1,
                    "seconds": round(seconds, 2),
                    "images_per_second": round(len(train_images) / seconds, 1),
                    "test_accuracy": accuracy,
                }
            )
            print(
                f"epoch {epoch + 1:3d}  {seconds:7.1f} s  {len(train_images) / seconds:8.0f} images/s  "
                f"test accuracy {accuracy:.2%}",
                flush=True,
            )

    print(f"seed model, {len(train_images):,} training images, batch {config.batch_size}, {config.epochs} epochs")
    fit_model.fit(pipeline, epochs=config.epochs, callbacks=[Report()], shuffle=False, verbose=0)
    seconds = [row["seconds"] for row in rows[1:]] or [rows[0]["seconds"]]  # epoch 1 includes tracing
    summary = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
        "command": "python benchmarks/train_seed.py"
        + (f" --epochs {args.epochs}" if args.epochs else "")
        + (f" --limit {args.limit}" if args.limit else ""),
        "train_images": len(train_images),
        "median_seconds_per_epoch": float(np.median(seconds)),
        "median_images_per_second": float(np.median([row["images_per_second"] for row in rows[1:] or rows])),
        "final_test_accuracy": rows[-1]["test_accuracy"],
        "epochs": rows,
    }
    print(
        f"median {summary['median_seconds_per_epoch']:.1f} s/epoch, "
        f"{summary['median_images_per_second']:.0f} images/s, final test accuracy {summary['final_test_accuracy']:.2%}"
    )
    write_result("train_seed", summary)


if __name__ == "__main__":
    main()
