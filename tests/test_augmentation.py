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
