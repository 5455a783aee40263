"""Marker-written training digits: drawn at full size with a thick tip, then preprocessed as predict does."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn import markers, training
from mnist_cnn.files import PARTIAL_PATTERN
from mnist_cnn.preprocessing import digit


def ring_and_bar() -> tuple[np.ndarray, np.ndarray]:
    """Two MNIST-style digits, uint8 (28, 28) light on black: a 0 (a ring 2-3 pixels wide) and a 1 (a bar)."""
    rows, cols = np.indices((28, 28))
    radius = np.hypot((rows - 14) / 1.4, cols - 14)
    zero = np.where((radius >= 5) & (radius <= 7.5), 255, 0).astype(np.uint8)
    one = np.zeros((28, 28), np.uint8)
    one[4:24, 13:16] = 255
    return np.stack([zero, one]), np.array([0, 1])


def test_a_marker_writes_dark_strokes_far_wider_than_mnists_on_light_paper():
    images, _ = ring_and_bar()
    rng = np.random.default_rng(3)
    for _ in range(6):
        image = markers.marker_image(images[0], rng)
        assert image.dtype == np.float32 and image.ndim == 2 and 0 <= image.min() and image.max() <= 255
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        assert np.median(border) - image.min() > 80  # light paper all round, dark ink
        ink = image < (image.max() + image.min()) / 2
        rows = np.flatnonzero(ink.any(axis=1))
        height = rows[-1] - rows[0] + 1
        # MNIST's stroke is 2.5 pixels on a 20-pixel digit: a marker 1.5-4.5 times as wide, less the
        # part of the tip that overhangs the digit's ends (the height grows with the tip too)
        assert digit.stroke_width(ink) / height >= 1.5 * 2.5 / 20 * 0.6


def test_marker_digits_are_preprocessed_28x28_with_the_chosen_digits_labels():
    images, labels = ring_and_bar()
    made, made_labels = markers.marker_digits(images, labels, 6, seed=1)
    assert made.shape == (6, 28, 28) and made.dtype == np.uint8 and made_labels.shape == (6,)
    chosen = np.random.default_rng(1).choice(2, 6, replace=True)
    np.testing.assert_array_equal(made_labels, labels[chosen])
    for image, label in zip(made, made_labels):
        centre = image[10:18, 12:17].mean()
        # to_mnist's field: light ink on black; the 1's middle is ink, the 0's hole stays darker than a bar
        assert image.max() == 255 and (centre > 100 if label == 1 else True)
    again, _ = markers.marker_digits(images, labels, 6, seed=1)
    np.testing.assert_array_equal(made, again)


def test_marker_digits_refuse_mismatched_inputs_and_make_none_for_zero():
    images, labels = ring_and_bar()
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        markers.marker_digits(images, labels[:1], 3, seed=0)
    with pytest.raises(ValueError, match="no images"):
        markers.marker_digits(images[:0], labels[:0], 3, seed=0)
    made, made_labels = markers.marker_digits(images, labels, 0, seed=0)
    assert made.shape == (0, 28, 28) and made_labels.shape == (0,)


def test_a_run_makes_its_marker_digits_once_and_a_resumed_run_reuses_them(tmp_path, monkeypatch):
    images, labels = ring_and_bar()
    config = training.TrainConfig(marker_digits=4, seed=5)
    calls, make = [], markers.marker_digits

    def counted(*args):
        calls.append(args)
        return make(*args)

    monkeypatch.setattr(markers, "marker_digits", counted)
    first = training.marker_set(tmp_path, config, images, labels, lambda message: None)
    second = training.marker_set(tmp_path, config, images, labels, lambda message: None)
    assert len(calls) == 1
    np.testing.assert_array_equal(first[0], second[0])
    assert not list(tmp_path.glob(PARTIAL_PATTERN))
    training.marker_set(tmp_path, training.TrainConfig(marker_digits=3, seed=5), images, labels, lambda m: None)
    assert len(calls) == 2  # another count: made afresh


def test_a_damaged_marker_file_is_made_again(tmp_path, monkeypatch):
    images, labels = ring_and_bar()
    config = training.TrainConfig(marker_digits=2, seed=5)
    (tmp_path / training.MARKER_FILE).write_bytes(b"PK\x03\x04 not a zip archive")
    made, made_labels = training.marker_set(tmp_path, config, images, labels, lambda message: None)
    assert made.shape == (2, 28, 28) and made_labels.shape == (2,)
    with np.load(tmp_path / training.MARKER_FILE) as saved:
        assert int(saved["count"]) == 2


def test_marker_digits_must_not_be_negative():
    from mnist_cnn.errors import UsageError

    with pytest.raises(UsageError, match="--marker-digits must be 0 or more"):
        training.TrainConfig(marker_digits=-1).check()


def test_a_marker_run_makes_its_validation_markers_once_from_the_validation_digits(tmp_path, monkeypatch):
    images, labels = ring_and_bar()
    images, labels = np.concatenate([images, images]), np.concatenate([labels, labels])  # 4 validation digits
    calls, make = [], markers.marker_digits

    def counted(*args):
        calls.append(args)
        return make(*args)

    monkeypatch.setattr(markers, "marker_digits", counted)
    config = training.TrainConfig(marker_digits=3, seed=5)
    made, made_labels = training.marker_validation_set(tmp_path, config, images, labels, lambda message: None)
    again, _ = training.marker_validation_set(tmp_path, config, images, labels, lambda message: None)
    assert made.shape == (3, 28, 28) and set(made_labels) <= {0, 1} and len(calls) == 1
    np.testing.assert_array_equal(made, again)
    assert (tmp_path / training.MARKER_VALIDATION_FILE).exists() and not (tmp_path / training.MARKER_FILE).exists()
    monkeypatch.setattr(training, "MARKER_VALIDATION", 2)
    fewer, _ = training.marker_validation_set(tmp_path, config, images, labels, lambda message: None)
    assert len(fewer) == 2 and len(calls) == 2  # at most MARKER_VALIDATION, made afresh for another count
    monkeypatch.setattr(training, "MARKER_VALIDATION", 2000)
    many = training.TrainConfig(marker_digits=500, seed=5)
    capped, _ = training.marker_validation_set(tmp_path, many, images, labels, lambda message: None)
    assert len(capped) == len(images)  # never more than the validation digits: none written twice


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "count", "file", "key", "written", "other_key"),
    [
        ("--marker-digits", 12, training.MARKER_VALIDATION_FILE, "marker_validation_images", "", None),
        ("--drawn-digits", 10, training.DRAWN_VALIDATION_FILE, "drawn_validation_images", " drawn with the page's pen",
         "marker_validation_images"),
    ],
)  # fmt: skip
def test_a_pen_run_chooses_its_epoch_on_validation_digits_written_with_that_pen_too(
    mnist_dir, tmp_path, flag, count, file, key, written, other_key
):
    import json

    from conftest import run_cli

    run_dir = tmp_path / "run"
    args = ["train", "--epochs", "1", "--limit", "1000", flag, str(count), "--data-dir", str(mnist_dir)]
    result = run_cli(*args, "--out", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert f"chosen on the validation split and {count} of its digits{written}" in result.stdout
    with np.load(run_dir / file) as saved:
        assert saved["images"].shape == (count, 28, 28) and int(saved["count"]) == count
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["validation_images"] == 100 and metrics[key] == count and other_key not in metrics
    assert metrics["train_images"] == 900 + count


def test_the_page_pen_draws_flat_strokes_of_about_mnists_width_either_way_round():
    images, _ = ring_and_bar()
    rng = np.random.default_rng(4)
    ratios, light_ink = [], []
    for _ in range(12):
        image = markers.drawn_image(images[0], rng)
        assert image.dtype == np.float32 and image.ndim == 2 and image.min() == 0 and image.max() == 255
        assert np.array_equal(image, np.round(image))  # whole grey levels, as a PNG from the page holds
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        assert np.ptp(border) == 0  # flat paper all round: no noise, no shading
        paper = border[0]
        assert np.mean((image == 0) | (image == 255)) > 0.85  # two tones but for the antialiased edge
        ink = image > 127 if paper == 0 else image < 128
        rows = np.flatnonzero(ink.any(axis=1))
        ratios.append(digit.stroke_width(ink) / (rows[-1] - rows[0] + 1) / (2.5 / 20))
        light_ink.append(paper == 0)
    # a pen of 0.6-2x MNIST's stroke (less the overhang of the tip at the digit's ends), never a marker's
    assert 0.4 <= min(ratios) and max(ratios) <= 2.2 and max(ratios) > 1.2
    assert any(light_ink) and not all(light_ink)  # white on black as the page draws, black on white too


def test_page_pen_digits_are_preprocessed_like_marker_digits_and_an_unknown_pen_is_refused():
    images, labels = ring_and_bar()
    made, made_labels = markers.marker_digits(images, labels, 6, seed=2, pen="page")
    assert made.shape == (6, 28, 28) and made.dtype == np.uint8 and set(made_labels) <= {0, 1}
    again, _ = markers.marker_digits(images, labels, 6, seed=2, pen="page")
    np.testing.assert_array_equal(made, again)
    marked, _ = markers.marker_digits(images, labels, 6, seed=2)
    assert not np.array_equal(made, marked)  # another pen: thinner, flat
    with pytest.raises(ValueError, match="pen"):
        markers.marker_digits(images, labels, 2, seed=0, pen="crayon")


def test_drawn_digits_are_kept_in_their_own_files_and_must_not_be_negative(tmp_path):
    images, labels = ring_and_bar()
    config = training.TrainConfig(drawn_digits=3, seed=5)
    made, _ = training.marker_set(tmp_path, config, images, labels, lambda message: None, "page")
    assert made.shape == (3, 28, 28)
    assert (tmp_path / training.DRAWN_FILE).exists() and not (tmp_path / training.MARKER_FILE).exists()
    with pytest.raises(training.UsageError, match="--drawn-digits"):
        training.TrainConfig(drawn_digits=-1).check()


@pytest.mark.slow
def test_a_run_with_both_pens_writes_each_from_the_splits_own_digits(mnist_dir, tmp_path, monkeypatch):
    """The page's pen draws the split's MNIST digits, never the marker digits already added to it."""
    calls, make = [], markers.marker_digits

    def counted(images, labels, count, seed, pen="marker"):
        calls.append((pen, len(images)))
        return make(images, labels, count, seed, pen)

    monkeypatch.setattr(markers, "marker_digits", counted)
    config = training.TrainConfig(epochs=1, limit=1000, marker_digits=6, drawn_digits=4)
    result = training.train(config, out_dir=tmp_path / "both", data_dir=mnist_dir, log=lambda message: None)
    assert sorted(calls) == [("marker", 100), ("marker", 900), ("page", 100), ("page", 900)]
    assert result.metrics["marker_validation_images"] == 6 and result.metrics["drawn_validation_images"] == 4
