"""Random affine augmentation (rotation, shear, zoom, shift) as one Keras layer.

One affine warp per image instead of a chain of RandomRotation, RandomZoom and RandomTranslation:
the same distortions for a quarter of the resampling work. It is active only in training, so a
model that contains it predicts exactly as one that does not. Written with ``keras.ops`` only.
"""

from __future__ import annotations

import math

import keras
from keras import ops

CENTRE = 13.5  # the centre of a 28x28 image in pixel coordinates


@keras.saving.register_keras_serializable(package="mnist_cnn")
class RandomAffine(keras.layers.Layer):
    """Warp each image (b, 28, 28, 1) by a random rotation, shear, zoom and shift during training.

    Args:
        rotation: largest rotation in degrees, either way.
        shear: largest shear angle in degrees, either way.
        zoom: largest relative change of scale, either way (0.1 = 90% to 110%).
        shift: largest shift in pixels along each axis, either way.
    """

    def __init__(self, rotation=10.0, shear=10.0, zoom=0.1, shift=2.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.shear, self.zoom, self.shift = rotation, shear, zoom, shift
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        batch = ops.shape(images)[0]

        def uniform(limit):
            return keras.random.uniform((batch,), -limit, limit, seed=self.seed_generator)

        angle = uniform(math.radians(self.rotation))
        shear = uniform(math.radians(self.shear))
        scale = 1.0 / (1.0 + uniform(self.zoom))  # output -> input, so zooming in means scale < 1
        shift_x, shift_y = uniform(self.shift), uniform(self.shift)
        cos, sin = ops.cos(angle), ops.sin(angle)
        # Output-to-input map: rotate, then shear along x, then scale, about the image centre.
        a0 = scale * cos
        a1 = scale * (cos * ops.tan(shear) - sin)
        b0 = scale * sin
        b1 = scale * (sin * ops.tan(shear) + cos)
        a2 = CENTRE - a0 * CENTRE - a1 * CENTRE + shift_x
        b2 = CENTRE - b0 * CENTRE - b1 * CENTRE + shift_y
        zeros = ops.zeros_like(a0)
        transform = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rotation": self.rotation,
            "shear": self.shear,
            "zoom": self.zoom,
            "shift": self.shift,
            "seed": self.seed,
        }
