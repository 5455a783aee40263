import os
import subprocess
import sys

import numpy as np

from mnist_cnn.augmentation import RandomAffine


def digit_batch():
    """Eight synthetic digits: a vertical bar and a ring, centred like MNIST."""
    images = np.zeros((8, 28, 28, 1), dtype=np.float32)
    images[::2, 6:22, 12:16] = 1.0
    rows, cols = np.indices((28, 28))
    ring = np.abs(np.hypot(rows - 13.5, cols - 13.5) - 7) < 1.6
    images[1::2, ring] = 1.0
    return images


def test_augmentation_is_identity_at_inference():
    images = digit_batch()
    np.testing.assert_array_equal(np.asarray(RandomAffine(seed=0)(images, training=False)), images)


def test_augmented_digits_keep_shape_ink_and_stay_centred():
    images = digit_batch()
    augmented = np.asarray(RandomAffine(seed=0)(images, training=True))
    assert augmented.shape == images.shape and augmented.dtype == np.float32
    assert not np.allclose(augmented, images)
    ink_ratio = augmented.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert np.all((ink_ratio > 0.75) & (ink_ratio < 1.3))  # zoom of +-10% changes area by about 20%
    rows, cols = np.indices((28, 28))
    mass = augmented[..., 0].sum(axis=(1, 2))
    centre_y = (augmented[..., 0] * rows).sum(axis=(1, 2)) / mass
    centre_x = (augmented[..., 0] * cols).sum(axis=(1, 2)) / mass
    assert np.all(np.abs(centre_y - 13.5) < 3.5) and np.all(np.abs(centre_x - 13.5) < 3.5)


def test_augmented_digit_still_looks_like_its_digit():
    images = digit_batch()
    augmented = np.asarray(RandomAffine(seed=1)(images, training=True))
    for original, warped in zip(images, augmented):
        same = np.corrcoef(original.ravel(), warped.ravel())[0, 1]
        other = images[1] if original[13, 13, 0] else images[0]  # the other shape (the bar covers the centre)
        assert same > np.corrcoef(other.ravel(), warped.ravel())[0, 1]


def test_augmentation_leaves_labels_alone_in_training():
    from mnist_cnn.training import TrainConfig, build_for_training

    fit_model, model = build_for_training(TrainConfig(model="best").resolved())
    assert type(fit_model.layers[0]).__name__ == "RandomAffine" and fit_model.layers[-1] is model
    assert model.output_shape == fit_model.output_shape == (None, 10)


def test_pen_augmentation_is_identity_at_inference():
    from mnist_cnn.augmentation import RandomPen

    images = digit_batch()
    np.testing.assert_array_equal(np.asarray(RandomPen(rate=1.0, seed=0)(images, training=False)), images)


def test_pen_augmentation_at_rate_zero_changes_nothing_in_training():
    from mnist_cnn.augmentation import RandomPen

    images = digit_batch()
    np.testing.assert_array_equal(np.asarray(RandomPen(rate=0.0, seed=0)(images, training=True)), images)


def test_pen_augmentation_varies_digits_but_keeps_them_in_range_and_recognisable():
    from mnist_cnn.augmentation import RandomPen

    images = np.concatenate([digit_batch()] * 8)
    augmented = np.asarray(RandomPen(rate=1.0, seed=2)(images, training=True))
    assert augmented.shape == images.shape and augmented.dtype == np.float32
    assert augmented.min() >= 0 and augmented.max() <= 1
    changed = np.abs(augmented - images).max(axis=(1, 2, 3)) > 0.05
    assert changed.mean() > 0.8
    bar, ring = images[0].ravel(), images[1].ravel()
    closer = []
    for original, varied in zip(images, augmented):
        own, other = (bar, ring) if original[13, 13, 0] else (ring, bar)
        closer.append(np.corrcoef(own, varied.ravel())[0, 1] > np.corrcoef(other, varied.ravel())[0, 1])
    assert np.mean(closer) > 0.9  # a rare heavy mix (a line, noise, an outline) may hide the shape


def test_pen_augmentation_applies_to_about_its_rate_of_images():
    from mnist_cnn.augmentation import RandomPen

    images = np.concatenate([digit_batch()] * 32)
    augmented = np.asarray(RandomPen(rate=0.3, seed=4)(images, training=True))
    untouched = np.all(augmented == images, axis=(1, 2, 3)).mean()
    assert 0.55 < untouched < 0.85  # 70% are left alone; a few chosen ones draw no effect at all


def test_morphology_helpers_thicken_thin_and_outline_a_bar():
    from mnist_cnn.augmentation import dilate, erode, gaussian_blur, outline

    bar = np.zeros((1, 28, 28, 1), dtype=np.float32)
    bar[0, 6:22, 11:16] = 1.0  # 5 pixels wide
    width = lambda image: int((np.asarray(image)[0, 13, :, 0] > 0.5).sum())  # noqa: E731
    assert (width(erode(bar)), width(bar), width(dilate(bar))) == (3, 5, 7)
    edges = np.asarray(outline(bar))[0, 13, :, 0]
    assert edges[13] == 0 and edges[11] == 1 and edges[10] == 1
    blurred = np.asarray(gaussian_blur(bar))
    assert abs(blurred.sum() - bar.sum()) < 1e-3 * bar.sum() + 1 and blurred.max() < 1


def test_recipe_pen_augmentation_is_in_the_training_model_only():
    from mnist_cnn.training import TrainConfig, build_for_training

    fit_model, model = build_for_training(TrainConfig(model="best").resolved())
    kinds = [type(layer).__name__ for layer in fit_model.layers]
    assert kinds[:2] == ["RandomAffine", "RandomPen"] and fit_model.layers[-1] is model
    _, plain = build_for_training(TrainConfig(model="best", pen_augmentation=0.0).resolved())
    assert all(type(layer).__name__ != "RandomPen" for layer in plain.layers)


def test_bilinear_sample_reads_whole_and_half_pixel_positions():
    from mnist_cnn.augmentation import bilinear_sample

    images = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28, 1)
    rows, cols = np.indices((28, 28)).astype(np.float32)
    same = np.asarray(bilinear_sample(images, np.stack([rows] * 2), np.stack([cols] * 2)))
    np.testing.assert_allclose(same, images)
    shifted = np.asarray(bilinear_sample(images, np.stack([rows + 0.5] * 2), np.stack([cols] * 2)))
    np.testing.assert_allclose(shifted[:, :27], (images[:, :27] + images[:, 1:]) / 2)
    assert np.all(shifted[:, 27] == images[:, 27] / 2)  # half of the last row comes from outside: zero


def test_area_shrink_is_tensorflows_area_resize():
    import tensorflow as tf

    from mnist_cnn.augmentation import area_shrink

    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    for size in (11, 14, 18):
        expected = tf.image.resize(images, (size, size), method="area").numpy()
        np.testing.assert_allclose(np.asarray(area_shrink(images, size)), expected, atol=2e-6)


def test_every_augmentation_effect_runs_on_the_jax_backend():
    """Each effect forced on, in a process whose Keras runs on JAX (the layers use keras.ops only)."""
    code = """
import numpy as np
from mnist_cnn.augmentation import RandomAffine, RandomPen
RandomPen.PROBABILITIES = {effect: 1.0 for effect in RandomPen.PROBABILITIES}
images = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
for layer in (RandomAffine(seed=0), RandomPen(rate=1.0, seed=0)):
    out = np.asarray(layer(images, training=True))
    assert out.shape == images.shape and np.isfinite(out).all() and not np.allclose(out, images), type(layer)
print("ok")
"""
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_the_fat_pen_closing_fills_a_loop_and_keeps_strokes_near_their_width():
    from mnist_cnn.augmentation import RandomPen

    images = digit_batch()[:2]
    distance = np.hypot(*(np.indices((28, 28)) - 13.5))
    images[1, ..., 0] = np.abs(distance - 4) < 1.3  # a small ring: a loop of 8, 9 or 6, 5 pixels across
    closed = np.asarray(RandomPen(rate=1.0, closing=1.0, seed=0)._closing(images, 2))
    assert closed.shape == images.shape and closed.min() >= 0 and closed.max() <= 1
    width = lambda image: int((image[13, :, 0] > 0.5).sum())  # noqa: E731
    assert width(images[0]) <= width(closed[0]) <= width(images[0]) + 2  # at most one dilation wider
    hole = distance < 2.5
    assert images[1][hole].max() == 0 and closed[1][hole].mean() > 0.5  # the loop closes up


def test_pen_closing_is_a_training_setting_off_by_default():
    from mnist_cnn.training import TrainConfig, build_for_training

    def pen(config):
        fit_model, _ = build_for_training(config.resolved())
        return next(layer for layer in fit_model.layers if type(layer).__name__ == "RandomPen")

    assert pen(TrainConfig(model="best")).closing == 0.0
    assert pen(TrainConfig(model="best", pen_closing=0.3)).closing == 0.3
    assert pen(TrainConfig(model="best", pen_closing=0.3)).get_config()["closing"] == 0.3


def test_thinning_leaves_one_pixel_centre_lines_that_match_scikit_image():
    from skimage.morphology import skeletonize

    from mnist_cnn.augmentation import thin

    images = digit_batch()[:2]
    images[0, 6:22, 10:18] = 1.0  # an 8-pixel-wide bar
    lines = np.asarray(thin(images))
    assert set(np.unique(lines)) <= {0.0, 1.0}
    rows = np.flatnonzero(lines[0].sum(axis=1))
    assert len(rows) >= 6 and (lines[0].sum(axis=1)[rows] == 1).all()  # a vertical line, one pixel wide
    ring = lines[1, ..., 0].astype(bool)
    assert ring[13, :].sum() == 2 and ring[:, 13].sum() == 2  # the ring stays closed, one pixel thick
    expected = np.stack([skeletonize(image[..., 0] > 0.5) for image in images])
    assert (lines[..., 0] == expected).mean() > 0.99


def test_the_round_pen_retrace_draws_strokes_three_or_five_pixels_wide():
    from mnist_cnn.augmentation import RandomPen

    images = np.zeros((16, 28, 28, 1), dtype=np.float32)
    images[:, 6:22, 11:18] = 1.0  # a 7-pixel-wide bar: thinned, then redrawn
    traced = np.asarray(RandomPen(rate=1.0, trace=1.0, seed=0)._trace(images, 16))
    assert traced.shape == images.shape and traced.min() >= 0 and traced.max() <= 1
    widths = (traced[:, 14, :, 0] > 0.5).sum(axis=1)
    assert set(widths) <= {3, 4, 5} and {3, 5} <= set(widths), widths  # both pen sizes are drawn


def test_pen_trace_is_a_training_setting_off_by_default_with_unchanged_draws():
    from mnist_cnn.augmentation import RandomPen
    from mnist_cnn.training import TrainConfig, build_for_training

    def pen(config):
        fit_model, _ = build_for_training(config.resolved())
        return next(layer for layer in fit_model.layers if type(layer).__name__ == "RandomPen")

    assert pen(TrainConfig(model="best")).trace == 0.0
    assert pen(TrainConfig(model="best", pen_trace=0.3)).get_config()["trace"] == 0.3
    images = digit_batch()
    off = np.asarray(RandomPen(rate=1.0, seed=5)(images, training=True))
    explicit = np.asarray(RandomPen(rate=1.0, trace=0.0, seed=5)(images, training=True))
    np.testing.assert_array_equal(off, explicit)
    assert not np.allclose(np.asarray(RandomPen(rate=1.0, trace=1.0, seed=5)(images, training=True)), off)


def test_a_sheet_edge_is_a_bright_band_along_one_or_two_opposite_sides():
    from mnist_cnn.augmentation import RandomPen

    bands = np.asarray(RandomPen(rate=1.0, sheet_edge=1.0, seed=0)._sheet_edge(64))
    assert bands.shape == (64, 28, 28, 1) and bands.min() >= 0 and bands.max() <= 1
    lit = bands[..., 0] > 0.2
    assert lit.any(axis=(1, 2)).all() and (lit.mean(axis=(1, 2)) <= 0.7).all()  # never the whole field
    assert not lit[:, 11:17, 11:17].any()  # the centre, where the digit is, stays clear
    sides = [lit[:, :, 0].all(axis=1), lit[:, :, -1].all(axis=1), lit[:, 0, :].all(axis=1), lit[:, -1, :].all(axis=1)]
    assert np.logical_or.reduce(sides).all()  # each runs the length of a side
    assert (np.sum(sides, axis=0) == 2).any() and (np.sum(sides, axis=0) == 1).any()


def test_contours_are_thin_lines_along_both_edges_of_a_stroke():
    from mnist_cnn.augmentation import contour

    images = digit_batch()[:1]  # a bar 4 pixels wide, columns 12-15
    lines = np.asarray(contour(images))[0, 14, :, 0]
    assert list(np.flatnonzero(lines > 0.5)) == [11, 16]


def test_contour_and_sheet_edge_are_training_settings_off_by_default(tmp_path):
    import json

    from mnist_cnn.augmentation import RandomPen
    from mnist_cnn.training import TrainConfig, build_for_training, read_run_config

    def pen(config):
        fit_model, _ = build_for_training(config.resolved())
        return next(layer for layer in fit_model.layers if type(layer).__name__ == "RandomPen")

    assert (pen(TrainConfig(model="best")).contour, pen(TrainConfig(model="best")).sheet_edge) == (0.0, 0.0)
    configured = pen(TrainConfig(model="best", pen_contour=0.2, pen_sheet_edge=0.1)).get_config()
    assert (configured["contour"], configured["sheet_edge"]) == (0.2, 0.1)
    images = digit_batch()
    default = np.asarray(RandomPen(rate=1.0, seed=5)(images, training=True))
    explicit = np.asarray(RandomPen(rate=1.0, contour=0.0, sheet_edge=0.0, seed=5)(images, training=True))
    np.testing.assert_array_equal(default, explicit)
    saved = {key: value for key, value in TrainConfig(model="best").__dict__.items() if not key.startswith("pen_")}
    (tmp_path / "run.json").write_text(json.dumps({"config": saved}))
    old = read_run_config(tmp_path)  # a run from before these settings resumes with the mix it had
    assert (old["pen_contour"], old["pen_sheet_edge"], old["pen_trace"]) == (0.0, 0.0, 0.0)
