"""The registry of architectures, each with the training recipe it was tuned with.

Models take float32 images of shape (n, 28, 28, 1) with values 0-1 and return softmax
probabilities of shape (n, 10).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mnist_cnn.errors import ModelError

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


@dataclass(frozen=True)
class Recipe:
    """An architecture and the training settings that go with it."""

    name: str
    build: Callable[..., object] = field(repr=False)  # build(dropout=...) returns an uncompiled keras.Model
    description: str
    epochs: int  # chosen on the validation split, never on the test set
    batch_size: int
    learning_rate: float  # peak of the warm-up + cosine schedule
    label_smoothing: float = 0.0
    dropout: float = 0.0  # the rate of the architecture's Dropout layers (see each builder)
    augment: bool = False  # random affine warps (rotation, shear, zoom, shift) in training
    # Share of training images that also get RandomPen (stroke width, blur, low resolution, elastic
    # distortion, contrast, lines, noise): people's pens and cameras, not only MNIST's scanner.
    pen_augmentation: float = 0.0
    # Probability, per RandomPen-augmented image, of a fat pen thinned again (a morphological closing):
    # bold markers and small drawings with a wide pen, as preprocessing leaves them.
    pen_closing: float = 0.0
    # Probability, per RandomPen-augmented image, of strokes retraced with a round pen of constant
    # width: drawings on the served page, felt pens.
    pen_trace: float = 0.0
    # Probability, per RandomPen-augmented image, of strokes replaced by their contours (edge maps).
    pen_contour: float = 0.0
    # Probability, per RandomPen-augmented image, of a sheet's edge left in the crop (a bright band at a side).
    pen_sheet_edge: float = 0.0
    warmup_epochs: float = 1.0  # linear warm-up from a tenth of the peak before the cosine decay


def seed_model(dropout: float = 0.2):
    """The classic Keras MNIST notebook CNN (Conv2D 32-64-64-128, Dense 32), kept layer for layer.

    Kernels are 3x3 with the notebook's default "valid" padding: 28 -> 26 -> 24/2 -> 10/2 -> 3/2,
    so Flatten hands Dense(32) 128 features. ``dropout`` (0-1) is the rate before the 32-unit
    bottleneck's output; after convolutions, where BatchNormalization already regularises, it is half
    that (the recipe's 0.2: 0.1 and 0.2).
    """
    import keras
    from keras import layers

    def block(x, filters, pool):
        x = layers.Conv2D(filters, kernel_size=3, activation="relu")(x)
        if pool:
            x = layers.MaxPooling2D(pool_size=2)(x)
        x = layers.Dropout(dropout / 2)(x)
        return layers.BatchNormalization()(x)

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = block(inputs, 32, pool=False)
    x = block(x, 64, pool=True)
    x = block(x, 64, pool=True)
    x = block(x, 128, pool=True)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="seed")


def best_model(dropout: float = 0.4):
    """Stacked 3x3 and strided 5x5 convolutions with BatchNorm and Dropout, as in the strongest single
    Kaggle MNIST CNNs (C. Deotte, "How to choose CNN architecture MNIST", 2018; 15 averaged: 99.75%).

    Strided 5x5 convolutions replace max-pooling (learned downsampling); a 4x4 convolution over the
    last 4x4 map acts as a dense layer with spatial weights. ``dropout`` (0-1) is the rate of all
    three Dropout layers.
    """
    import keras
    from keras import layers

    def conv(x, filters, kernel_size, strides=1, padding="valid"):
        x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = conv(inputs, 32, 3)
    x = conv(x, 32, 3)
    x = conv(x, 32, 5, strides=2, padding="same")
    x = layers.Dropout(dropout)(x)
    x = conv(x, 64, 3)
    x = conv(x, 64, 3)
    x = conv(x, 64, 5, strides=2, padding="same")
    x = layers.Dropout(dropout)(x)
    x = conv(x, 128, 4)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="best")


def fast_model(dropout: float = 0.0):
    """A small convnet cut to what a 2-core CPU trains fastest: a strided 5x5 first convolution (a
    quarter of the positions of a 3x3 one at full size), one 3x3 convolution, max-pooling and a
    128-unit dense layer. 4.3 MFLOPs per image, a tenth less than the keras.io convnet (4.9).

    No BatchNorm and no Dropout: on this CPU BatchNorm cost 40% of the training throughput, and in a
    run of three epochs Adam with a one-cycle schedule does not need either to reach 99%. A ``dropout``
    above 0 (for a search to try) adds one Dropout layer of that rate before the dense layer.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, kernel_size=5, strides=2, activation="relu")(inputs)  # 28 -> 12
    x = layers.Conv2D(64, kernel_size=3, activation="relu")(x)  # 12 -> 10
    x = layers.MaxPooling2D(pool_size=2)(x)  # 10 -> 5
    x = layers.Flatten()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="fast")


RECIPES = {
    "seed": Recipe(
        name="seed",
        build=seed_model,
        description="the classic notebook CNN: Conv2D 32-64-64-128 with BatchNorm and Dropout, Dense 32",
        epochs=20,
        batch_size=128,
        learning_rate=3e-3,
        dropout=0.2,
        augment=True,  # without it validation accuracy stalled near 98.9% by epoch 10 (see the model card)
    ),
    "fast": Recipe(
        name="fast",
        build=fast_model,
        description="the shortest wall time to 99%: a strided small convnet, one-cycle Adam, label smoothing",
        # On the validation split (seeds 42 and 1): 2 epochs ended at 98.90-98.92% without label
        # smoothing; 3 epochs with it ended at 99.12-99.13%, passing 99.0% after 1.4-1.8 epochs.
        epochs=3,
        batch_size=128,  # 256 trained 2% faster per image but needs more epochs
        learning_rate=1e-2,
        label_smoothing=0.1,
        warmup_epochs=0.3,
    ),
    "best": Recipe(
        name="best",
        build=best_model,
        description="stacked 3x3 + strided 5x5 convolutions, BatchNorm, Dropout; random affine augmentation",
        epochs=40,
        batch_size=128,
        learning_rate=2e-3,
        label_smoothing=0.05,
        dropout=0.4,
        augment=True,
        pen_augmentation=0.5,
    ),
}


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(RECIPES)}")
    return RECIPES[name]


def build_model(name: str, dropout: float | None = None):
    """A fresh, uncompiled ``keras.Model`` of the named architecture; ``dropout`` None: the recipe's.

    Raises:
        ModelError: ``name`` is not in the registry.
    """
    chosen = recipe(name)
    return chosen.build(dropout=chosen.dropout if dropout is None else dropout)


def forward_flops(model) -> int:
    """Floating-point operations of one image's forward pass (a multiply-add counts as two).

    Counts convolutions and dense layers, which are all but a fraction of a percent of the work.
    """
    flops = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, height, width, filters = layer.output.shape
            kernel_height, kernel_width = layer.kernel_size
            flops += 2 * height * width * filters * kernel_height * kernel_width * layer.input.shape[-1]
        elif kind == "Dense":
            flops += 2 * layer.input.shape[-1] * layer.units
        elif hasattr(layer, "layers"):  # a nested model, e.g. an ensemble member
            flops += forward_flops(layer)
    return int(flops)
