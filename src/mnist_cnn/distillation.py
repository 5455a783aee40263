"""Knowledge distillation: training targets that mix the true labels with a trained teacher's probabilities.

Follows Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network": the teacher's
probabilities are softened with a temperature T (softmax of log-probabilities / T) and mixed with the
one-hot labels. As in Furlanello et al. (2018), "Born-Again Neural Networks", the teacher may have the
student's own architecture. The student here is not softened (its loss is the ordinary cross-entropy on
the mixed targets), and the teacher sees the clean training images once, before training, while the
student sees them augmented: the targets are a fixed array, so distillation costs one inference pass.
"""

from __future__ import annotations

import numpy as np

from mnist_cnn.errors import UsageError

CLASSES = 10
PREDICT_BATCH = 512  # images per teacher inference batch


def soften(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``probabilities`` (n, k) float, rows summing to 1, raised to 1/``temperature`` and renormalised:
    softmax(log p / T). T > 1 flattens them, T < 1 sharpens them, T = 1 returns them as they are.

    Raises:
        UsageError: ``temperature`` is not positive and finite.
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise UsageError(f"--teacher-temperature must be positive and finite; received {temperature}")
    logits = np.log(np.clip(probabilities.astype(np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    softened = np.exp(logits)
    return (softened / softened.sum(axis=1, keepdims=True)).astype(np.float32)


def mixed_targets(labels: np.ndarray, teacher_probabilities: np.ndarray, weight: float, temperature: float):
    """float32 (n, 10) targets: (1 - ``weight``) x one-hot(``labels``) + ``weight`` x the softened teacher.

    ``labels``: (n,) integers 0-9. ``teacher_probabilities``: (n, 10) floats, rows summing to 1.
    ``weight`` in [0, 1]: 0 gives the one-hot labels, 1 the teacher alone. Each row sums to 1.

    Raises:
        UsageError: ``weight`` outside [0, 1], a non-positive ``temperature``, or shapes that do not match.
    """
    if not 0 <= weight <= 1:
        raise UsageError(f"--teacher-weight must be in [0, 1]; received {weight}")
    labels = np.asarray(labels)
    if teacher_probabilities.shape != (len(labels), CLASSES):
        raise UsageError(
            f"the teacher gave probabilities of shape {teacher_probabilities.shape} for {len(labels)} images; "
            f"expected ({len(labels)}, {CLASSES})"
        )
    one_hot = np.eye(CLASSES, dtype=np.float32)[labels.astype(np.int64)]
    return ((1 - weight) * one_hot + weight * soften(teacher_probabilities, temperature)).astype(np.float32)


def teacher_probabilities(teacher, images: np.ndarray) -> np.ndarray:
    """The Keras model ``teacher``'s probabilities, float32 (n, 10), for uint8 ``images`` (n, 28, 28)
    in 0-255 (scaled to 0-1 by ``preprocessing.model_input``, as every model takes them)."""
    from mnist_cnn.preprocessing import model_input

    if len(images) == 0:
        return np.zeros((0, CLASSES), np.float32)
    return np.asarray(teacher.predict(model_input(images), batch_size=PREDICT_BATCH, verbose=0), np.float32)
