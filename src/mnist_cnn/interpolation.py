"""Weight-space interpolation of a model and a fine-tuned copy of it (WiSE-FT).

Follows Wortsman et al. (2022), "Robust fine-tuning of zero-shot models" (CVPR): a model fine-tuned
from another sits in the same basin of the loss, so every weight may be mixed linearly,
(1 - alpha) x start + alpha x fine-tuned, and the mixture trades the start's accuracy for the
fine-tuned model's robustness smoothly, often keeping most of both. Here the start is `best`, trained
on MNIST with geometric and pen augmentation, and the fine-tuned model is `best` trained further with
retraced strokes, contours and sheet edges (`train --init best --pen-trace ...`). Every weight is
mixed, BatchNormalization's moving statistics too; the result needs calibrating again
(``training.write_artifacts`` does it), as the two final layers carry different temperatures.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.errors import UsageError


def interpolate_weights(start: list[np.ndarray], tuned: list[np.ndarray], alpha: float) -> list[np.ndarray]:
    """(1 - ``alpha``) x ``start`` + ``alpha`` x ``tuned``, array by array, in each array's dtype.

    ``start`` and ``tuned``: a model's weights (``keras.Model.get_weights()``), the same shapes in the
    same order. ``alpha`` in [0, 1]: 0 gives ``start``, 1 gives ``tuned``.

    Raises:
        UsageError: ``alpha`` outside [0, 1], or the two lists do not have the same shapes.
    """
    if not 0 <= alpha <= 1:
        raise UsageError(f"--alpha must be in [0, 1]; received {alpha}")
    if [np.shape(w) for w in start] != [np.shape(w) for w in tuned]:
        raise UsageError("the two models' weights do not have the same shapes: they are not one architecture")
    return [((1 - alpha) * a + alpha * b).astype(np.asarray(a).dtype) for a, b in zip(start, tuned)]


def interpolated_model(start, tuned, alpha: float):
    """A new Keras model with ``start``'s architecture and the interpolated weights of the Keras models
    ``start`` and ``tuned`` (``interpolate_weights``); neither is changed.

    Raises:
        UsageError: ``alpha`` outside [0, 1], or ``tuned`` is not ``start``'s architecture.
    """
    import keras

    weights = interpolate_weights(start.get_weights(), tuned.get_weights(), alpha)
    model = keras.models.clone_model(start)
    model.set_weights(weights)
    return model
