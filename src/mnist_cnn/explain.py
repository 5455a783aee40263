"""Explaining a prediction: which pixels made the model say "3", and how a test set is laid out.

Attribution maps give each of an image's 28x28 pixels its contribution to one digit's (log-)probability:

- ``occlusion`` (Zeiler & Fergus 2014): blank a small patch, see how much the probability drops. It
  only calls the model, so it runs on every runtime, TensorFlow-free on ONNX Runtime and LiteRT;
- ``integrated_gradients`` (Sundararajan et al. 2017): gradients along the straight path from a
  black image, on a Keras model (``tf.GradientTape``).

``deletion_curve`` measures a map (Petsiuk et al. 2018); ``embed`` lays a set's penultimate-layer
features out in 2-D with t-SNE (van der Maaten & Hinton 2008) so a learner sees which digits sit close.
Neither TensorFlow, Keras nor scikit-learn is imported here until a function needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mnist_cnn.errors import UsageError
from mnist_cnn.preprocessing import model_input

METHODS = ("occlusion", "integrated-gradients")
FIELD = 28
# Both chosen on 200 validation digits of `best` by benchmarks/explain.py (docs/BENCHMARKS.md): the
# lowest deletion AUC of the settings costing at most 60 model calls an image (20 ms on one core).
OCCLUSION_PATCH = 7  # pixels: about a quarter of a digit's height, two strokes' width
OCCLUSION_STRIDE = 4  # pixels between patches: 7 x 7 = 49 positions, 32 of them on ink on average
IG_STEPS = 128  # path steps: the sums' median error 3% (64 steps: 11%), as Sundararajan et al. ask (5%)
IMAGES_PER_CALL = 32  # occlusion: 32 images' copies (a few thousand 28x28 arrays) per model call
IG_ROWS_PER_CALL = 256  # integrated gradients: path points per gradient call
EMBEDDING_SAMPLE = 2000  # digits t-SNE lays out: `evaluate --out` took 19 s of CPU in all; t-SNE grows as n log n
TINY = 1e-30  # a probability that underflowed to 0 still has a finite log
DELETION_STEP = 8  # pixels removed per step of the deletion curve: 98 steps over 784 pixels

Probabilities = Callable[[np.ndarray], np.ndarray]  # uint8 (n, 28, 28) -> float (n, 10)


def check_images(images) -> np.ndarray:
    """uint8 (n, 28, 28) or (28, 28) -> uint8 (n, 28, 28); ValueError naming what was received."""
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[np.newaxis]
    if images.ndim != 3 or images.shape[1:] != (FIELD, FIELD):
        raise ValueError(f"Expected images of shape (n, 28, 28) or (28, 28); received {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"Expected images of dtype uint8 (values 0-255); received {images.dtype}")
    return images


def check_targets(targets, count: int) -> np.ndarray:
    """One digit 0-9 per image; ValueError otherwise."""
    targets = np.atleast_1d(np.asarray(targets))
    if targets.shape != (count,) or targets.dtype.kind not in "iu" or (targets.size and not (0 <= targets).all()):
        raise ValueError(f"Expected one target digit (0-9) per image, {count} in all; received {targets.tolist()}")
    if targets.size and targets.max() > 9:
        raise ValueError(f"Expected target digits 0-9; received {targets.max()}")
    return targets.astype(np.int64)


def patch_corners(patch: int, stride: int) -> list[tuple[int, int]]:
    """The top-left corners of square patches of side ``patch`` every ``stride`` pixels, the last row and
    column moved in to end at the image's edge, so every pixel is covered. ValueError for bad sizes."""
    if not 1 <= patch <= FIELD:
        raise ValueError(f"Expected patch between 1 and 28 pixels; received {patch}")
    if not 1 <= stride <= patch:
        raise ValueError(f"Expected stride between 1 and patch ({patch}) pixels; received {stride}")
    starts = list(range(0, FIELD - patch + 1, stride))
    if starts[-1] != FIELD - patch:
        starts.append(FIELD - patch)
    return [(top, left) for top in starts for left in starts]


def occlusion(
    probabilities: Probabilities,
    images,
    targets,
    patch: int = OCCLUSION_PATCH,
    stride: int = OCCLUSION_STRIDE,
) -> np.ndarray:
    """Occlusion sensitivity (Zeiler & Fergus 2014): each pixel's share of the drop in the target
    digit's probability when a ``patch`` x ``patch`` square around it is blanked (set to 0, MNIST's
    background), patches every ``stride`` pixels.

    A patch's drop is shared by the pixels it changed, in proportion to their ink, and a pixel's value
    is the mean of its shares over the patches covering it: a pixel already at 0 is changed by no
    occlusion and gets 0, as deleting it would change nothing. Patches holding no ink are not run
    (their drop is exactly 0), and every other copy of up to IMAGES_PER_CALL images goes to the model
    in one call. Patch 7, stride 4 were chosen by deletion AUC on validation digits
    (``benchmarks/explain.py``).

    Args:
        probabilities: uint8 (n, 28, 28) -> float (n, 10), e.g. ``Classifier.probabilities``.
        images: uint8 (n, 28, 28) or (28, 28), values 0-255, light ink on dark (MNIST format).
        targets: the digit (0-9) to explain per image, e.g. the predicted one.
        patch, stride: in pixels; 1 <= stride <= patch <= 28.
    Returns:
        float32 (n, 28, 28), in units of probability: positive where ink supports the target digit,
        negative where it speaks against it; 0 on every pixel at 0.
    Raises:
        ValueError: images not uint8 (n, 28, 28), one target per image missing, or bad patch or stride.
    """
    images = check_images(images)
    targets = check_targets(targets, len(images))
    corners = patch_corners(patch, stride)
    masks = np.zeros((len(corners), FIELD, FIELD), dtype=bool)
    for mask, (top, left) in zip(masks, corners):
        mask[top : top + patch, left : left + patch] = True
    coverage = masks.sum(axis=0)
    maps = np.zeros(images.shape, dtype=np.float32)
    for start in range(0, len(images), IMAGES_PER_CALL):
        chunk = slice(start, start + IMAGES_PER_CALL)
        maps[chunk] = occlusion_chunk(probabilities, images[chunk], targets[chunk], masks, coverage)
    return maps


def occlusion_chunk(probabilities, images, targets, masks, coverage) -> np.ndarray:
    """``occlusion`` for a few images, all their copies in one model call."""
    ink = images.astype(np.float32)
    inked = [np.flatnonzero((ink[index][None] * masks).any(axis=(1, 2))) for index in range(len(images))]
    copies = [images]
    for index, patches in enumerate(inked):
        copies.append(np.where(masks[patches], 0, images[index]).astype(np.uint8))
    outputs = np.asarray(probabilities(np.concatenate(copies)), dtype=np.float32)
    original, occluded = outputs[: len(images)], outputs[len(images) :]
    maps = np.zeros(images.shape, dtype=np.float32)
    row = 0
    for index, patches in enumerate(inked):
        target = targets[index]
        drops = original[index, target] - occluded[row : row + len(patches), target]
        row += len(patches)
        changed = masks[patches] * ink[index]  # how much each patch changed each pixel
        shares = changed / changed.sum(axis=(1, 2), keepdims=True)
        maps[index] = np.tensordot(drops, shares, axes=1) / coverage
    return maps


def integrated_gradients(model, images, targets, steps: int = IG_STEPS) -> np.ndarray:
    """Integrated gradients (Sundararajan et al. 2017) of the log of the target digit's probability,
    from a black image (all 0, MNIST's background) to each image, by the midpoint rule in ``steps`` steps.

    The log, not the probability itself: a calibrated softmax saturates, jumping from near 0 to near 1
    over a short stretch of the path that a few dozen steps miss; its log changes about as smoothly as
    the logits. By completeness a map sums to about log p(image) - log p(black); see
    ``benchmarks/explain.py`` for the error at each number of steps. No maintained attribution library
    supports Keras 3 models (alibi and tf-explain stop at tf.keras 2), so this is the paper's formula on
    ``tf.GradientTape``.

    Args:
        model: a Keras model taking float32 (n, 28, 28, 1), values 0-1, returning (n, 10) probabilities.
        images: uint8 (n, 28, 28) or (28, 28), values 0-255, light ink on dark.
        targets: the digit (0-9) to explain per image.
        steps: points on the path, at least 1.
    Returns:
        float32 (n, 28, 28), in units of log probability (nats): positive where ink supports the target
        digit, negative where it speaks against it; 0 wherever a pixel is 0.
    Raises:
        ValueError: images not uint8 (n, 28, 28), one target per image missing, or steps below 1.
    """
    import tensorflow as tf

    images = check_images(images)
    targets = check_targets(targets, len(images))
    if steps < 1:
        raise ValueError(f"Expected at least 1 step; received {steps}")
    inputs = model_input(images)
    alphas = ((np.arange(steps, dtype=np.float32) + 0.5) / steps)[:, None, None, None]
    maps = np.zeros(images.shape, dtype=np.float32)
    per_call = max(1, IG_ROWS_PER_CALL // steps)
    for start in range(0, len(images), per_call):
        chunk = inputs[start : start + per_call]
        path = tf.constant((alphas[None] * chunk[:, None]).reshape(-1, FIELD, FIELD, 1))
        rows = tf.constant(np.stack([np.arange(len(path)), np.repeat(targets[start : start + per_call], steps)], 1))
        with tf.GradientTape() as tape:
            tape.watch(path)
            chosen = tf.gather_nd(model(path, training=False), rows)
            outputs = tf.math.log(tf.maximum(chosen, TINY))
        gradients = tape.gradient(outputs, path).numpy().reshape(len(chunk), steps, FIELD, FIELD, 1)
        maps[start : start + len(chunk)] = (chunk * gradients.mean(axis=1))[..., 0]
    return maps


def keras_model_of(classifier):
    """The Keras model behind a Classifier: its own, or the ``model.keras`` beside its file (shipped
    models carry one beside their ONNX and LiteRT files); None when there is none."""
    from mnist_cnn.runtimes import load_keras_model

    if getattr(classifier, "runtime", None) == "keras":
        return classifier.model
    beside = classifier.path.parent / "model.keras"
    return load_keras_model(beside) if beside.is_file() else None


def check_method(classifier, method: str) -> None:
    """Raises UsageError for an unknown method, or integrated gradients asked of a model not on Keras."""
    if method not in METHODS:
        raise UsageError(f"unknown explanation method {method!r}; choose one of: {', '.join(METHODS)}")
    runtime = getattr(classifier, "runtime", "another")
    if method == "integrated-gradients" and runtime != "keras":
        raise UsageError(
            f"integrated gradients need the model's gradients, which only the Keras runtime has (this model "
            f"runs on {runtime}); use --runtime keras with a shipped or .keras/.h5 model, or --method occlusion"
        )


def explain(classifier, images, targets, method: str = "occlusion") -> np.ndarray:
    """Attribution maps for a loaded model (``runtimes.load_model``): float32 (n, 28, 28).

    ``method``: "occlusion" (every runtime; ``occlusion``) or "integrated-gradients" (the Keras runtime
    only; ``integrated_gradients``). ``images``: uint8 (n, 28, 28); ``targets``: a digit 0-9 per image.
    Raises:
        UsageError: an unknown method, or integrated gradients asked of a model not on Keras.
        ValueError: images or targets malformed (see ``occlusion``).
    """
    check_method(classifier, method)
    if method == "occlusion":
        return occlusion(classifier.probabilities, images, targets)
    return integrated_gradients(classifier.model, images, targets)


def explain_predictions(classifier, predictions: list, method: str = "occlusion") -> list[list[np.ndarray]]:
    """A map of each answer's digit (``prediction.Prediction``) or of each digit of a number
    (``NumberPrediction``), for the digit it was read as, by the network that read it (``classifier``,
    or the specialist reader that read a low-resolution scan's or a bold digit, ``readers.reader_for``):
    one list of float32 (28, 28) per answer, computed together. Raises as ``explain``."""
    from mnist_cnn.readers import reader_for

    digits = [getattr(answer, "digits", [answer]) for answer in predictions]
    flat = [digit for answer_digits in digits for digit in answer_digits]
    maps: list = [None] * len(flat)
    for kind in dict.fromkeys(digit.reader for digit in flat):
        chosen = [index for index, digit in enumerate(flat) if digit.reader == kind]
        model = classifier if kind is None else reader_for(classifier, kind)
        images = np.stack([flat[index].image for index in chosen])
        for index, attribution in zip(chosen, explain(model, images, [flat[i].digit for i in chosen], method)):
            maps[index] = attribution
    ordered = iter(maps)
    return [[next(ordered) for _ in answer_digits] for answer_digits in digits]


def explanation_json(attribution: np.ndarray, digit: int, method: str) -> dict:
    """What ``--json`` and the API return for one map: the method, the digit explained and the 28 rows of
    28 contributions (6 decimals; probability for occlusion, log probability for integrated gradients)."""
    return {"method": method, "digit": int(digit), "map": np.round(attribution.astype(np.float64), 6).tolist()}


def method_runtime(method: str, runtime: str | None) -> str | None:
    """The runtime to load a model on for ``method``: integrated gradients pick Keras when none is asked."""
    return "keras" if method == "integrated-gradients" and runtime is None else runtime


# --- The deletion test ------------------------------------------------------------------------------


def deletion_order(attributions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pixel indices (n, 784), most important first; ties in random order."""
    flat = np.asarray(attributions, dtype=np.float64).reshape(len(attributions), -1)
    tie_breaks = rng.random(flat.shape)
    return np.lexsort((tie_breaks, -flat), axis=-1)


def deletion_curve(
    probabilities: Probabilities, images, targets, order: np.ndarray, step: int = DELETION_STEP
) -> np.ndarray:
    """The deletion test (Petsiuk et al. 2018): set pixels to 0 in ``order`` (n, 784), ``step`` at a time,
    and record the target digit's probability after each step, from the whole image to none.

    Returns float32 (n, steps + 1), values 0-1; its mean over steps (``deletion_auc``) is the area under
    the curve against the share of pixels removed: the lower, the better the order found what mattered.
    """
    images = check_images(images)
    targets = check_targets(targets, len(images))
    counts = np.r_[np.arange(0, FIELD * FIELD, step), FIELD * FIELD]
    curves = np.zeros((len(images), len(counts)), dtype=np.float32)
    for index, (image, target, pixels) in enumerate(zip(images, targets, order)):
        removed = np.zeros((len(counts), FIELD * FIELD), dtype=bool)
        for row, count in enumerate(counts):
            removed[row, pixels[:count]] = True
        copies = np.where(removed, 0, image.reshape(1, -1)).reshape(-1, FIELD, FIELD).astype(np.uint8)
        curves[index] = np.asarray(probabilities(copies))[:, target]
    return curves


def deletion_auc(curves: np.ndarray) -> np.ndarray:
    """Area under each deletion curve (n, k) over the share of pixels removed, 0-1 (trapezoidal rule)."""
    curves = np.asarray(curves, dtype=np.float64)
    return (curves[:, :-1] + curves[:, 1:]).sum(axis=1) / (2 * (curves.shape[1] - 1))


# --- The test set in 2-D ------------------------------------------------------------------------------


@dataclass
class Embedding:
    """Digits laid out in 2-D. ``points``: float (m, 2), t-SNE units (only distances between points
    mean anything); ``labels``, ``predicted``: int (m,); ``total``: images in the set sampled from."""

    points: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    total: int

    @property
    def misclassified(self) -> np.ndarray:
        return self.labels != self.predicted


def embedding_sample(labels, predicted, size: int = EMBEDDING_SAMPLE, seed: int = 0) -> np.ndarray:
    """Indices of at most ``size`` images: every misclassified one (up to ``size``), the rest at random
    (seeded), sorted. ValueError when labels and predictions differ in length."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape or labels.ndim != 1:
        raise ValueError(
            f"Expected labels and predictions of one shape (n,); received {labels.shape}, {predicted.shape}"
        )
    rng = np.random.default_rng(seed)
    wrong = np.flatnonzero(labels != predicted)
    right = np.flatnonzero(labels == predicted)
    wrong = rng.permutation(wrong)[:size]
    others = rng.choice(right, size=min(len(right), size - len(wrong)), replace=False)
    return np.sort(np.r_[wrong, others]).astype(np.int64)


def feature_model(model):
    """A Keras model giving the input of ``model``'s last layer (its penultimate-layer features); for an
    ensemble averaging its members, every member's features side by side."""
    import keras

    last = model.layers[-1]
    if isinstance(last, keras.layers.Average):
        members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        features = [feature_model(member)(model.inputs[0]) for member in members]
        return keras.Model(model.inputs, keras.layers.Concatenate()(features))
    return keras.Model(model.inputs, last.input)


def penultimate_features(model, images) -> np.ndarray:
    """float32 (n, d): what ``model``'s last layer receives for uint8 images (n, 28, 28)."""
    features = feature_model(model).predict(model_input(check_images(images)), batch_size=500, verbose=0)
    return np.asarray(features, dtype=np.float32).reshape(len(features), -1)


def embed(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE (scikit-learn, PCA start, perplexity 30 or less for small sets) of features (n, d) to (n, 2).

    Raises ValueError for fewer than 2 rows."""
    from sklearn.manifold import TSNE

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"Expected features of shape (n, d) with n >= 2; received {features.shape}")
    perplexity = min(30.0, max(1.0, (len(features) - 1) / 3))
    init = "pca" if min(features.shape) >= 2 else "random"
    tsne = TSNE(n_components=2, perplexity=perplexity, init=init, random_state=seed)
    return tsne.fit_transform(features).astype(np.float32)


def embed_set(model, images, labels, predicted, size: int = EMBEDDING_SAMPLE, seed: int = 0) -> Embedding:
    """A labelled set in 2-D: ``embedding_sample`` of it (every mistake kept), its penultimate-layer
    features from the Keras ``model``, laid out by ``embed``. images: uint8 (n, 28, 28), n >= 2."""
    chosen = embedding_sample(labels, predicted, size, seed)
    points = embed(penultimate_features(model, np.asarray(images)[chosen]), seed)
    return Embedding(points, np.asarray(labels)[chosen], np.asarray(predicted)[chosen], total=len(labels))
