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
    build: Callable[[], object] = field(repr=False)
    description: str
    epochs: int  # chosen on the validation split, never on the test set
    batch_size: int
    learning_rate: float  # peak of the warm-up + cosine schedule
    label_smoothing: float = 0.0
    augment: bool = False
    warmup_epochs: float = 1.0  # linear warm-up from a tenth of the peak before the cosine decay


def seed_model():
    """The classic Keras MNIST notebook CNN (Conv2D 32-64-64-128, Dense 32), kept layer for layer.

    Kernels are 3x3 with the notebook's default "valid" padding: 28 -> 26 -> 24/2 -> 10/2 -> 3/2,
    so Flatten hands Dense(32) 128 features. Dropout is light (0.1) after convolutions, where
    BatchNormalization already regularises, and 0.2 before the 32-unit bottleneck's output.
    """
    import keras
    from keras import layers

    def block(x, filters, pool):
        x = layers.Conv2D(filters, kernel_size=3, activation="relu")(x)
        if pool:
            x = layers.MaxPooling2D(pool_size=2)(x)
        x = layers.Dropout(0.1)(x)
        return layers.BatchNormalization()(x)

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = block(inputs, 32, pool=False)
    x = block(x, 64, pool=True)
    x = block(x, 64, pool=True)
    x = block(x, 128, pool=True)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="seed")


def best_model():
    """Stacked 3x3 and strided 5x5 convolutions with BatchNorm and Dropout, as in the strongest single
    Kaggle MNIST CNNs (C. Deotte, "How to choose CNN architecture MNIST", 2018: 99.75% with augmentation).

    Strided 5x5 convolutions replace max-pooling (learned downsampling); a 4x4 convolution over the
    last 4x4 map acts as a dense layer with spatial weights.
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
    x = layers.Dropout(0.4)(x)
    x = conv(x, 64, 3)
    x = conv(x, 64, 3)
    x = conv(x, 64, 5, strides=2, padding="same")
    x = layers.Dropout(0.4)(x)
    x = conv(x, 128, 4)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="best")


def fast_model():
    """The keras.io "Simple MNIST convnet" (Conv 32, pool, Conv 64, pool, Dense 10) with BatchNorm
    after each convolution in place of its Dropout(0.5): BatchNorm is what lets it take a learning
    rate ten times higher and reach 99% in a fraction of the epochs.
    """
    import keras
    from keras import layers

    def batch_norm():
        # momentum 0.9, not Keras' 0.99: over a run of a few hundred steps the moving statistics
        # must catch up with the weights, or the model scores far below its training accuracy.
        return layers.BatchNormalization(momentum=0.9)

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, kernel_size=3, use_bias=False)(inputs)
    x = layers.Activation("relu")(batch_norm()(x))
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(64, kernel_size=3, use_bias=False)(x)
    x = layers.Activation("relu")(batch_norm()(x))
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Flatten()(x)
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
        augment=True,  # without it validation accuracy stalled near 98.9% by epoch 10 (see the model card)
    ),
    "fast": Recipe(
        name="fast",
        build=fast_model,
        description="the shortest wall time to 99%: keras.io's small convnet with BatchNorm, one-cycle, big batch",
        epochs=4,  # time-to-99 check runs ended at 98.8% (2 epochs) and 99.04% (3); 4 leaves a margin
        batch_size=256,
        learning_rate=1e-2,
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
        augment=True,
    ),
}


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(RECIPES)}")
    return RECIPES[name]


def build_model(name: str):
    """A fresh, uncompiled ``keras.Model`` of the named architecture."""
    return recipe(name).build()


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
