"""Write ``mnist_cnn.ipynb`` from the cells below, and optionally execute it with its outputs saved.

Usage:
    python notebooks/build_notebook.py            # rewrite the notebook from these cells (no outputs)
    python notebooks/build_notebook.py --execute  # rewrite it, run it top to bottom, save it with outputs

The notebook's source lives here so that a change to it is a reviewable diff; tests/test_notebook.py
checks that the committed notebook's cells are exactly these. ``--execute`` runs in a temporary working
directory (the notebook's model and plot files are not left in the repository) on the kernel of the
Python running this script; MNIST_CNN_NOTEBOOK_QUICK=1 makes it the one-minute CI version.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().with_name("mnist_cnn.ipynb")
REPOSITORY = "mnist-cnn/mnist-cnn"  # the GitHub owner/name the install cell and the Colab badge point at
COLAB_URL = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/mnist_cnn.ipynb"
FILES_URL = f"https://github.com/{REPOSITORY}/blob/main"
KERNEL_NAME = "python3"

CELLS = [
    (
        "markdown",
        f"""\
# Handwritten digits with a convolutional network

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({COLAB_URL})

This notebook walks through the whole workflow of the `mnist-cnn` package, top to bottom:

1. install the package;
2. look at the MNIST data;
3. build the `seed` model, the classic Keras MNIST notebook's CNN;
4. train it, holding out a validation set, and plot accuracy and loss per epoch;
5. evaluate it on the test set: accuracy, per-class report, confusion matrix, the digits it gets wrong;
6. save it, load it back and predict digits, including one we draw ourselves;
7. compare it with the shipped `best` model;
8. ask why: which pixels made each answer, and how the test set is laid out in the model's eyes.

Every step calls the package's public functions, so what you see here is exactly what
`mnist-cnn train`, `mnist-cnn evaluate` and `mnist-cnn predict` do.""",
    ),
    (
        "markdown",
        f"""\
## 1. Install

The next cell installs the package from its GitHub repository
([{REPOSITORY}](https://github.com/{REPOSITORY})), with the `train` extra (TensorFlow, Keras,
scikit-learn, Matplotlib, Seaborn), when it is not installed yet: in a fresh Colab runtime it takes a
minute or two. Where the package is already installed (your own clone after
`pip install -e ".[train]"`), it does nothing. If Colab asks you to restart the session after the
install, do so and carry on from the next cell.""",
    ),
    (
        "code",
        f"""\
import importlib
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("mnist_cnn") is None:
    package = "mnist-cnn[train] @ git+https://github.com/{REPOSITORY}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=True)
    importlib.invalidate_caches()  # lets this running Python find the package it just installed""",
    ),
    (
        "markdown",
        f"""\
### Settings

In **full mode** (the default) the model trains with its own recipe (augmentation, one-cycle learning
rate, seed 42) over all 54,000 training images for `EPOCHS = 6` epochs: about 6 minutes on a 2-core CPU
(Colab's free runtime has 2). The shipped `seed` model is the same recipe run for 20 epochs; set
`EPOCHS = 20` below to reproduce it exactly (about 17 minutes; its
[model card]({FILES_URL}/src/mnist_cnn/shipped/seed/MODEL_CARD.md) shows what to expect).

**Quick mode** trains for 2 epochs on 12,000 images, about a minute in all: enough to see every
step work (it reaches about 97% on the test set). Change the line below to `QUICK = True`, or set the
environment variable `MNIST_CNN_NOTEBOOK_QUICK=1` (that is how CI runs this notebook).

Files the notebook writes (the model, the plots) go into the current folder.""",
    ),
    (
        "code",
        """\
import logging
import os

import matplotlib.pyplot as plt
import numpy as np

import mnist_cnn
from mnist_cnn import data, evaluation, models, plots, training

# TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL; import it once with them hidden.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from mnist_cnn.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()
logging.getLogger("absl").setLevel(logging.ERROR)  # hides Keras' note that .h5 is legacy: we save it on purpose
QUICK = os.environ.get("MNIST_CNN_NOTEBOOK_QUICK") == "1"

if QUICK:
    # Small batches give BatchNormalization enough steps to settle in so few epochs.
    config = training.TrainConfig(model="seed", epochs=2, limit=12000, batch_size=32)
else:
    EPOCHS = 6  # 20 reproduces the shipped seed model exactly
    config = training.TrainConfig(model="seed", epochs=EPOCHS)
config = config.resolved()  # fill in the recipe's epochs, batch size and learning rate
print("quick mode" if QUICK else "full mode", config)""",
    ),
    (
        "markdown",
        """\
## 2. The data

MNIST holds 70,000 handwritten digits: 60,000 for training and 10,000 for testing, each a 28x28
grayscale image with values 0-255, light ink on a dark background. `data.load_dataset` finds the
four files (in the folder named by the environment variable `MNIST_CNN_DATA`, in the cache, or by
downloading them from the public mirrors), checks their format and SHA-256 checksums, and returns
them as NumPy arrays.""",
    ),
    (
        "code",
        """\
dataset = data.load_dataset("mnist")

print("train images", dataset.train_images.shape, dataset.train_images.dtype)
print("train labels", dataset.train_labels.shape, "values", sorted(set(dataset.train_labels.tolist())))
print("test images ", dataset.test_images.shape)""",
    ),
    (
        "code",
        """\
figure, axes_grid = plt.subplots(3, 10, figsize=(12, 4))
for axes, image, label in zip(axes_grid.flat, dataset.train_images, dataset.train_labels):
    axes.imshow(image, cmap="gray")
    axes.set_title(dataset.class_names[label])
    axes.axis("off")
figure.suptitle("The first 30 training images and their labels")
plt.show()""",
    ),
    (
        "markdown",
        """\
Are the ten digits equally common? If one were rare, a model could ignore it and still score well,
and accuracy alone would hide that.""",
    ),
    (
        "code",
        """\
train_counts = np.bincount(dataset.train_labels, minlength=10)
test_counts = np.bincount(dataset.test_labels, minlength=10)

figure, axes = plt.subplots(figsize=(8, 3))
digits = np.arange(10)
axes.bar(digits - 0.2, train_counts / train_counts.sum(), width=0.4, label="train")
axes.bar(digits + 0.2, test_counts / test_counts.sum(), width=0.4, label="test")
axes.set_xticks(digits, dataset.class_names)
axes.set_xlabel("Digit")
axes.set_ylabel("Share of images")
axes.set_ylim(0, 0.14)
axes.set_title("Class balance")
axes.legend(ncol=2)
plt.show()
print("training images per digit:", dict(zip(dataset.class_names, train_counts.tolist())))""",
    ),
    (
        "markdown",
        """\
The classes are close to balanced (from about 9% of the images for 5 to 11% for 1), in the
training and the test set alike, so plain accuracy is a fair summary.

We hold out 10% of the training images as a **validation set**. The model never trains on them; after
each epoch they tell us how well it does on digits it has not seen, which is what we use to judge
training. The test set stays untouched until the very end. `training_split` draws the split
stratified (every digit keeps its share) and seeded, the same split `mnist-cnn train` uses, and
`make_pipeline` turns the arrays into batches of float images in 0-1 with one-hot labels.""",
    ),
    (
        "code",
        """\
training.seed_everything(config.seed)  # the same weights and batches every run

(train_images, train_labels), (val_images, val_labels) = data.training_split(
    dataset.train_images, dataset.train_labels, config.validation_fraction, config.seed, config.limit
)
train_pipeline = training.make_pipeline(train_images, train_labels, config.batch_size, shuffle_seed=config.seed)
val_pipeline = training.make_pipeline(val_images, val_labels, batch_size=512)
print(f"{len(train_images)} training images, {len(val_images)} validation images")""",
    ),
    (
        "markdown",
        """\
## 3. The model

The `seed` model is the classic notebook's CNN, layer for layer: four 3x3 convolutions with 32, 64,
64 and 128 filters, each followed by Dropout and BatchNormalization, max-pooling to shrink the image
28 -> 12 -> 5 -> 1, then a 32-unit dense layer and a 10-way softmax that gives one probability per digit.

Its recipe trains it on randomly rotated, sheared, zoomed and shifted copies of the digits
(*augmentation*). That runs as an extra first layer of `fit_model`, the model we train; `model`, the
one we keep, is the CNN alone, so the saved file needs nothing of ours to load.""",
    ),
    (
        "code",
        """\
fit_model, model = training.build_for_training(config)
model.summary()
recipe = models.recipe(config.model)
print(f"recipe: {recipe.epochs} epochs, batch {recipe.batch_size}, peak learning rate {recipe.learning_rate}, "
      f"augmentation {'on' if recipe.augment else 'off'}")""",
    ),
    (
        "markdown",
        """\
## 4. Train

`compile_model` sets up the Adam optimiser with a learning rate that warms up over the first epoch
and then decays along a cosine to 1% of its peak, and categorical cross-entropy as the loss. `fit`
then goes through the training images once per epoch and reports accuracy and loss on the training
batches and on the validation set.

Like `mnist-cnn train`, we keep the weights of the epoch with the best validation accuracy:
`EarlyStopping` with a patience of every epoch never stops training early, and restores those weights
at the end. In full mode this cell is the long one (about 17 minutes on 2 idle CPU cores).""",
    ),
    (
        "code",
        """\
import keras

steps_per_epoch = -(-len(train_images) // config.batch_size)  # ceiling division: the last batch is smaller
training.compile_model(fit_model, config, steps_per_epoch)
keep_best_epoch = keras.callbacks.EarlyStopping(
    monitor="val_accuracy", mode="max", patience=config.epochs, restore_best_weights=True
)
history = fit_model.fit(
    train_pipeline,
    validation_data=val_pipeline,
    epochs=config.epochs,
    shuffle=False,  # the pipeline already shuffles, with its own seed
    callbacks=[keep_best_epoch],
    verbose=2,
)""",
    ),
    (
        "code",
        """\
from IPython.display import Image, display

rows = [{"epoch": epoch, **{key: values[epoch] for key, values in history.history.items()}} for epoch in history.epoch]
plots.save_history_plot({"": rows}, "accuracy_loss_plot.png", title=f"{model.name} on MNIST")
display(Image("accuracy_loss_plot.png"))""",
    ),
    (
        "markdown",
        """\
How to read the curves: both accuracies should rise and both losses fall. Validation accuracy above
training accuracy is normal here: the training batches are augmented and pass through Dropout, which
makes them harder than the clean validation images. In the first epoch the validation accuracy can
sit near chance (10%): evaluation uses BatchNormalization's running averages, which lag behind weights
that are still changing fast. The warning sign would be training accuracy still climbing while
validation accuracy falls (*overfitting*).""",
    ),
    (
        "markdown",
        """\
## 5. Evaluate on the test set

Now, once, the 10,000 test images. `evaluation.evaluate` returns plain data (accuracy, loss, a
confusion matrix, the probabilities); the report and the plots are made from it.""",
    ),
    (
        "code",
        """\
result = evaluation.evaluate(model, dataset.test_images, dataset.test_labels, dataset.class_names)
wrong = int((result.probabilities.argmax(axis=1) != result.labels).sum())
print(f"Test accuracy: {result.accuracy:.2%} ({wrong} of {result.count} wrong), test loss {result.loss:.4f}\\n")
print(result.report())""",
    ),
    (
        "markdown",
        """\
*Precision* for a digit: of the images the model called a 3, the share that really are 3s.
*Recall*: of the real 3s, the share it found. The confusion matrix shows every pair: row = true
digit, column = predicted digit; everything off the diagonal is a mistake.""",
    ),
    (
        "code",
        """\
title = f"{model.name} on the MNIST test set"
plots.save_confusion_matrix(np.asarray(result.confusion_matrix), dataset.class_names, "confusion_matrix.png", title)
display(Image("confusion_matrix.png"))""",
    ),
    (
        "markdown",
        """\
The mistakes it was most sure of (drawn dark on light, for easier reading). Many are digits a person
would hesitate over too; some are genuinely mislabelled in MNIST.""",
    ),
    (
        "code",
        """\
plots.save_misclassified_grid(
    dataset.test_images, result.labels, result.probabilities, dataset.class_names, "misclassified.png"
)
display(Image("misclassified.png"))""",
    ),
    (
        "markdown",
        """\
## 6. Save, load back and predict

`model.keras` is Keras 3's own format; `CNN_mnist.h5` is the legacy HDF5 file the original notebook
saved (Keras warns that HDF5 is a legacy format; it still loads with `keras.models.load_model`).
`mnist_cnn.load_model` loads either, and `mnist_cnn.predict` takes arrays, image files or PIL images.""",
    ),
    (
        "code",
        """\
model.save("model.keras")
model.save("CNN_mnist.h5")

loaded = mnist_cnn.load_model("model.keras")
legacy = mnist_cnn.load_model("CNN_mnist.h5")

sample_images, sample_labels = dataset.test_images[:10], dataset.test_labels[:10]
predictions = mnist_cnn.predict(sample_images, model=loaded)
for label, prediction in zip(sample_labels, predictions):
    print(f"true {label}  predicted {prediction.digit}  ({prediction.confidence:.1%})")
same = [p.digit for p in mnist_cnn.predict(sample_images, model=legacy)] == [p.digit for p in predictions]
print("the .h5 file gives the same answers:", same)""",
    ),
    (
        "markdown",
        """\
Now a digit that is not from MNIST: we draw a 7 with thick black strokes on a white canvas. Change
the strokes to draw your own (a crossbar on the 7, say, which MNIST's writers rarely used). A drawing
looks nothing like an MNIST image, so `predict` first makes it one, exactly as
`mnist-cnn predict my_digit.png` does: light ink on dark, cropped to the ink, scaled into a 20x20 box
and centred by its mass in 28x28. `prediction.image` is what the model saw.""",
    ),
    (
        "code",
        """\
import PIL.Image
from PIL import ImageDraw

strokes = [[(70, 70), (230, 60), (180, 150), (130, 250)]]  # each stroke: the (x, y) points the pen passes
drawing = PIL.Image.new("L", (300, 300), color=255)
pen = ImageDraw.Draw(drawing)
for stroke in strokes:
    pen.line(stroke, fill=0, width=22, joint="curve")
drawing.save("drawn_digit.png")

drawn = mnist_cnn.predict("drawn_digit.png", model=loaded)[0]
top = ", ".join(f"{digit} {probability:.1%}" for digit, probability in drawn.top(3))
print(f"drawn_digit.png: {drawn.digit} ({drawn.confidence:.1%})  top 3: {top}")

figure, (drawing_axes, seen_axes) = plt.subplots(1, 2, figsize=(6, 3))
drawing_axes.imshow(drawing, cmap="gray", vmin=0, vmax=255)
drawing_axes.set_title("what we drew")
seen_axes.imshow(drawn.image, cmap="gray", vmin=0, vmax=255)
seen_axes.set_title(f"what the model saw: {drawn.digit}")
for axes in (drawing_axes, seen_axes):
    axes.axis("off")
plt.show()""",
    ),
    (
        "markdown",
        f"""\
## 7. Compare with the shipped `best` model

The package ships a stronger model, `best`: stacked 3x3 and strided 5x5 convolutions with
BatchNormalization, whose recipe trains twice as long, with augmentation and label smoothing. Its
[model card]({FILES_URL}/src/mnist_cnn/shipped/best/MODEL_CARD.md)
says exactly how it was trained. Shipped models run on ONNX Runtime when it is installed (faster, and no
TensorFlow needed); `evaluation.score` turns their probabilities into the same metrics as above.""",
    ),
    (
        "code",
        """\
import json

best = mnist_cnn.load_model("best")
best_result = evaluation.score(best.probabilities(dataset.test_images), dataset.test_labels, dataset.class_names)
best_card = json.loads((best.path.parent / "metrics.json").read_text())
best_wrong = int((best_result.probabilities.argmax(axis=1) != best_result.labels).sum())

print(f"{'':24}{'ours (' + model.name + ')':>16}{'shipped best':>16}")
print(f"{'parameters':24}{model.count_params():>16,}{best_card['parameters']:>16,}")
print(f"{'epochs':24}{len(history.epoch):>16}{best_card['epochs']:>16}")
print(f"{'test accuracy':24}{result.accuracy:>16.2%}{best_result.accuracy:>16.2%}")
print(f"{'test images wrong':24}{wrong:>16}{best_wrong:>16}")
for digit in dataset.class_names:
    ours, theirs = result.per_class_accuracy[digit], best_result.per_class_accuracy[digit]
    print(f"{'accuracy on ' + digit:24}{ours:>16.2%}{theirs:>16.2%}")

best_drawn = mnist_cnn.predict("drawn_digit.png", model=best)[0]
print(f"\\ndrawn_digit.png: ours says {drawn.digit} ({drawn.confidence:.1%}), "
      f"best says {best_drawn.digit} ({best_drawn.confidence:.1%})")""",
    ),
    (
        "markdown",
        """\
## 8. Why did it say that?

Accuracy says how often the model is right, not why. An *attribution map* gives each of the 784
pixels of the image the model saw a share of the answer: red where the ink made the model say its
digit, blue where the ink spoke against it. `explain.explain` makes one in two ways:

- **occlusion** (Zeiler & Fergus 2014): blank a 7x7 patch, see how far the digit's probability
  drops, and share that drop among the ink the patch covered. It only asks the model for answers,
  so it works on every runtime, ONNX Runtime and LiteRT too;
- **integrated gradients** (Sundararajan et al. 2017): follow a straight path from a black image to the
  digit, add up the gradients of the digit's log-probability along it. It needs the Keras model.

Below: three test digits and the 7 we drew.""",
    ),
    (
        "code",
        """\
from mnist_cnn import explain

examples = np.stack([*dataset.test_images[:3], drawn.image])
answers = loaded.probabilities(examples).argmax(axis=1)
maps = {method: explain.explain(loaded, examples, answers, method) for method in explain.METHODS}

figure, axes_grid = plt.subplots(3, len(examples), figsize=(2.4 * len(examples), 7.5))
for column, (image, answer) in enumerate(zip(examples, answers)):
    axes_grid[0, column].imshow(image, cmap="gray")
    axes_grid[0, column].set_title(f"the model says {answer}")
    for row, method in enumerate(explain.METHODS, start=1):
        axes_grid[row, column].imshow(plots.attribution_overlay(image, maps[method][column]))
        axes_grid[row, column].set_title(method, fontsize=9)
for axes in axes_grid.flat:
    axes.axis("off")
plt.show()""",
    ),
    (
        "markdown",
        """\
The two methods mostly agree: the strokes that tell a digit from its neighbours (the top bar of a 7,
the foot of a 2) matter most. Both only ever credit ink: a missing stroke, blank in the image, gets no
colour, however much its absence matters. To check a map rather than trust it, delete pixels in the
order it ranks them and watch the probability fall: a good map makes it fall far faster than a
random order (the *deletion test*, Petsiuk et al. 2018; `benchmarks/explain.py` measures both
methods). On your own images: `mnist-cnn explain my_digit.jpg --out why/`.

And the whole test set? The layer before the softmax turns each digit into a feature vector, from
which the last layer reads the answer. *t-SNE* (van der Maaten & Hinton 2008) lays those vectors out
in 2-D, keeping close what is close. Each colour is a true label; circled digits are the ones the model
gets wrong. Classes the model finds alike sit side by side, and its mistakes sit on the borders. (We
take 2,000 of the 10,000 digits, every mistake among them, to keep t-SNE under a minute;
`mnist-cnn evaluate --out DIR` draws the same `embedding.png`.)""",
    ),
    (
        "code",
        """\
embedding = explain.embed_set(model, dataset.test_images, result.labels, result.probabilities.argmax(axis=1))
plots.save_embedding(embedding, dataset.class_names, "embedding.png", title)
display(Image("embedding.png"))""",
    ),
    (
        "markdown",
        """\
## Where next

- Your own digits: photograph or draw one and run `mnist-cnn predict my_digit.jpg`, or
  `mnist_cnn.predict("my_digit.jpg")` here (upload it with Colab's file browser first).
- The whole training run from the command line: `mnist-cnn train --model seed` writes every file this
  notebook made, plus `history.csv` and `metrics.json`; `--model best` trains the stronger model.
- Why an answer: `mnist-cnn explain my_digit.jpg --out why/`, or the "Why?" switch of `mnist-cnn serve`'s page.
- Deployment: `mnist-cnn export` writes SavedModel, ONNX and LiteRT files.""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs."""
    make_cell = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    notebook = nbformat.v4.new_notebook(
        cells=[make_cell[kind](source) for kind, source in CELLS],
        metadata={
            "kernelspec": {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
        },
    )
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"  # stable ids, so rebuilding does not churn the diff
    return notebook


def execute(notebook: nbformat.NotebookNode, working_dir: Path, timeout: int = 3600) -> nbformat.NotebookNode:
    """Run every cell in ``working_dir`` on a kernel of this very Python, filling in the outputs.

    The kernel spec is written here rather than looked up, so a fresh virtualenv with ipykernel
    installed is enough and no other Python's "python3" kernel can be picked up by mistake.
    Raises nbclient.exceptions.CellExecutionError at the first cell that fails.
    """
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    kernels_dir = Path(working_dir) / ".kernels"
    (kernels_dir / KERNEL_NAME).mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (kernels_dir / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
    kernel_manager = KernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    )
    client = NotebookClient(
        notebook, km=kernel_manager, timeout=timeout, resources={"metadata": {"path": str(working_dir)}}
    )
    return client.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description="Write notebooks/mnist_cnn.ipynb from build_notebook.py.")
    parser.add_argument(
        "--execute",
        action="store_true",
        help="run it top to bottom in a temporary folder and save it with outputs (default: no outputs)",
    )
    args = parser.parse_args()
    notebook = build()
    if args.execute:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as working_dir:
            execute(notebook, Path(working_dir))
        print(f"executed in {time.perf_counter() - started:.0f} s")
    nbformat.write(notebook, NOTEBOOK)
    print(f"wrote {NOTEBOOK}")


if __name__ == "__main__":
    main()
