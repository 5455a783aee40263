import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_cnn import outliers


def fake_digits(count=6):
    """MNIST-like digits (uint8 (n, 28, 28), light on black): open loops and hooks of varied sizes."""
    digits = np.zeros((count, 28, 28), dtype=np.uint8)
    for index in range(count):
        image = Image.new("L", (28, 28), 0)
        draw = ImageDraw.Draw(image)
        draw.arc((6, 4 + index % 3, 22, 16 + index % 3), 180, 60 + 40 * index, fill=255, width=3)
        draw.line((20, 12, 9 + index, 24), fill=255, width=3)
        digits[index] = np.asarray(image)
    return digits


def options(kind):
    return {"digits": fake_digits()} if kind in ("digit_fragments", "touching_digits") else {}


def ink_pixels(image):
    """Pixels standing out from their surroundings (a 20-pixel Gaussian), which gradients and noise do not."""
    smooth = ndimage.gaussian_filter(image.astype(np.float32), 20)
    return int(np.count_nonzero(np.abs(image - smooth) > 15))


@pytest.mark.parametrize("kind", list(outliers.KINDS))
def test_every_kind_returns_grayscale_uint8_images_in_range(kind):
    for image in outliers.sample(kind, np.random.default_rng(0), 20, **options(kind)):
        assert image.dtype == np.uint8 and image.ndim == 2
        assert 64 <= min(image.shape) and max(image.shape) <= 800


@pytest.mark.parametrize("kind", [kind for kind in outliers.KINDS if kind != "blank_paper"])
def test_every_kind_but_blank_paper_shows_visible_ink(kind):
    for image in outliers.sample(kind, np.random.default_rng(1), 40, **options(kind)):
        assert ink_pixels(image) >= 10


def test_blank_paper_has_no_writing_on_it():
    for image in outliers.sample("blank_paper", np.random.default_rng(2), 20):
        assert 200 <= min(image.shape) and max(image.shape) <= 800
        assert np.std(image.astype(np.float32) - ndimage.gaussian_filter(image.astype(np.float32), 20)) < 8


@pytest.mark.parametrize("kind", list(outliers.KINDS))
def test_same_seed_gives_same_images_and_different_seeds_differ(kind):
    first, again, other = (outliers.sample(kind, np.random.default_rng(seed), 4, **options(kind)) for seed in (7, 7, 8))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other))


def test_letters_never_include_digit_like_letters():
    assert outliers.DIGIT_LIKE_LETTERS.isdisjoint(outliers.LETTER_STROKES)
    assert outliers.DIGIT_LIKE_LETTERS.isdisjoint(outliers.FONT_CHARACTERS)
    assert {"A", "C", "E", "H", "K", "M", "W", "X"} <= set(outliers.LETTER_STROKES)


def test_training_and_held_out_fonts_are_disjoint_and_not_empty():
    pytest.importorskip("matplotlib")
    training, held_out = outliers.TRAINING_FONTS, outliers.HELD_OUT_FONTS
    assert training and held_out and set(training).isdisjoint(held_out)
    assert all(path.suffix == ".ttf" and path.exists() for path in training + held_out)


def test_font_letters_render_held_out_fonts():
    pytest.importorskip("matplotlib")
    images = outliers.sample("font_letters", np.random.default_rng(3), 10, fonts=outliers.HELD_OUT_FONTS)
    assert all(ink_pixels(image) >= 10 for image in images)


def test_digit_fragments_rejects_digits_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"digits.*\(n, 28, 28\).*\(4, 32, 32\)"):
        outliers.digit_fragments(np.random.default_rng(0), np.zeros((4, 32, 32), dtype=np.uint8))


def test_sample_rejects_an_unknown_kind_naming_the_valid_kinds():
    with pytest.raises(ValueError, match="'digits'.*letters, font_letters, symbols"):
        outliers.sample("digits", np.random.default_rng(0), 1)


def test_object_arrays_are_mnist_format_silhouettes_filling_much_of_the_field():
    rng = np.random.default_rng(3)
    arrays = [outliers.object_array(rng) for _ in range(20)]
    assert all(array.shape == (28, 28) and array.dtype == np.uint8 for array in arrays)
    coverage = np.array([(array > 40).mean() for array in arrays])
    assert coverage.min() > 0.05 and coverage.mean() > 0.15, coverage  # a thing, not a stroke


def test_garment_arrays_are_centred_mnist_format_things_filling_much_of_the_field():
    rng = np.random.default_rng(4)
    arrays = [outliers.garment_array(rng) for _ in range(30)]
    assert all(array.shape == (28, 28) and array.dtype == np.uint8 for array in arrays)
    coverage = np.array([(array > 40).mean() for array in arrays])
    assert coverage.mean() > 0.2, coverage  # clothing fills the thumbnail, as Fashion-MNIST's do
    rows, cols = np.nonzero(np.sum(arrays, axis=0))
    assert abs(rows.mean() - 13.5) < 3 and abs(cols.mean() - 13.5) < 3


@pytest.mark.parametrize("name", list(outliers.GARMENTS))
def test_every_garment_draws_inside_its_frame(name):
    rng = np.random.default_rng(5)
    image = Image.new("L", (60, 80), 0)
    outliers.GARMENTS[name](ImageDraw.Draw(image), 60, 80, rng)
    assert 0.1 < (np.asarray(image) > 0).mean() < 0.95


def test_scribbles_keep_to_the_styles_asked_for_and_reject_unknown_ones():
    rng = np.random.default_rng(6)
    polylines = [outliers.scribbles(rng, styles=["polyline"]) for _ in range(5)]
    assert all(ink_pixels(image) >= 10 for image in polylines)
    with pytest.raises(ValueError, match=r"styles \['loop'\].*polyline, curve"):
        outliers.scribbles(rng, styles=["loop"])


def test_font_glyph_renders_a_character_as_ink_opacity():
    pytest.importorskip("matplotlib")
    alpha = outliers.font_glyph("H", outliers.TRAINING_FONTS[0], 60, np.random.default_rng(0))
    assert alpha.dtype == np.float32 and 0 <= alpha.min() and alpha.max() <= 1
    assert alpha.shape[0] >= 40 and (alpha > 0.5).sum() > 100


def test_touching_digits_rejects_digits_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        outliers.touching_digits(np.random.default_rng(0), np.zeros((0, 28, 28), dtype=np.uint8))


def test_touching_digits_are_two_or_three_digits_side_by_side_on_one_baseline():
    from mnist_cnn import preprocessing

    digits = fake_digits()  # each about 16 pixels wide and 20 high: side by side, wider than high
    for seed in range(10):
        seen = preprocessing.prepare(outliers.touching_digits(np.random.default_rng(seed), digits)) > 76
        rows, cols = np.nonzero(seen)
        assert np.ptp(cols) > 1.3 * np.ptp(rows)


@pytest.mark.parametrize("seed", range(6))
def test_a_letter_glyph_is_mnist_scale_and_small_letters_are_shorter(seed):
    rng = np.random.default_rng(seed)
    heights = []
    for _ in range(20):
        glyph = outliers.mnist_scale_letter(rng)
        assert glyph.dtype == np.uint8 and glyph.ndim == 2 and glyph.max() > 128
        assert glyph.shape[0] <= outliers.DIGIT_HEIGHT + 1
        heights.append(glyph.shape[0])
    assert max(heights) >= outliers.DIGIT_HEIGHT - 1  # a capital or a tall lower-case letter
    assert min(heights) <= outliers.DIGIT_HEIGHT * max(outliers.SMALL_LETTER) + 1  # an x-height one
