import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_cnn import preprocessing
from mnist_cnn.errors import ImageError


def draw_seven(size=(400, 400), box=(100, 80, 260, 320), stroke=24, ink=0, paper=255, mode="L"):
    """A hand-drawn-looking 7: a bar and a slanted stem, as a PIL image."""
    image = Image.new(mode, size, paper)
    left, top, right, bottom = box
    pen = ImageDraw.Draw(image)
    pen.line([(left, top), (right, top), (left + (right - left) * 0.35, bottom)], fill=ink, width=stroke, joint="curve")
    return image


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return (rows * image).sum() / mass, (cols * image).sum() / mass


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_output_is_mnist_shaped_light_on_dark_with_centred_mass():
    result = preprocessing.prepare(draw_seven())
    assert result.shape == (28, 28) and result.dtype == np.uint8 and result.max() == 255
    assert result[0].max() == 0 and result[-1].max() == 0 and result[:, 0].max() == 0 and result[:, -1].max() == 0
    centre_y, centre_x = centre_of_mass(result.astype(float))
    assert abs(centre_y - 13.5) <= 0.75 and abs(centre_x - 13.5) <= 0.75


def test_digit_fits_a_20_pixel_box_keeping_aspect_ratio():
    result = preprocessing.prepare(draw_seven(box=(100, 80, 220, 320)))  # twice as tall as wide
    rows = np.flatnonzero(result.max(axis=1) > 30)
    cols = np.flatnonzero(result.max(axis=0) > 30)
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert 18 <= height <= 21 and 8 <= width <= 13


def test_inverted_image_gives_the_same_digit():
    dark_on_light = preprocessing.prepare(draw_seven(ink=0, paper=255))
    light_on_dark = preprocessing.prepare(draw_seven(ink=255, paper=0))
    assert correlation(dark_on_light, light_on_dark) > 0.98


def test_shifted_digit_on_a_big_canvas_is_centred():
    centred = preprocessing.prepare(draw_seven())
    corner = preprocessing.prepare(draw_seven(size=(1600, 1200), box=(1300, 900, 1460, 1140)))
    assert correlation(centred, corner) > 0.9  # the same 7; resampling differs at 1024 pixels


def test_scale_does_not_matter():
    small = preprocessing.prepare(draw_seven(size=(60, 60), box=(15, 12, 39, 48), stroke=4))
    large = preprocessing.prepare(draw_seven(size=(2000, 2000), box=(500, 400, 1300, 1600), stroke=120))
    assert correlation(small, large) > 0.85


def test_thin_pen_line_on_a_large_photo_is_thickened_to_mnist_proportions():
    thin = preprocessing.prepare(draw_seven(size=(3000, 3000), box=(750, 600, 1950, 2400), stroke=8))
    # MNIST strokes cover roughly 10-25% of the 28x28 field; a 1-pixel-wide line would cover ~5%.
    assert 0.08 < (thin > 127).mean() < 0.3


def test_photo_with_uneven_lighting_and_grey_paper_keeps_a_clean_background():
    rng = np.random.default_rng(0)
    gradient = np.linspace(120, 230, 600)[None, :] * np.ones((600, 1))  # a shadow across the page
    photo = gradient + rng.normal(0, 6, gradient.shape)
    stroke = np.asarray(draw_seven(size=(600, 600), box=(150, 120, 390, 480), stroke=30)) < 128
    photo[stroke] = 40 + rng.normal(0, 6, stroke.sum())
    clean = preprocessing.prepare(np.clip(photo, 0, 255).astype(np.uint8)[:, :])
    reference = preprocessing.prepare(draw_seven(size=(600, 600), box=(150, 120, 390, 480), stroke=30))
    assert correlation(clean, reference) > 0.85  # noise roughens the edges
    assert (clean > 64).mean() < 0.35


def test_colour_and_transparent_images_are_read(tmp_path):
    colour = draw_seven(mode="RGB", ink=(20, 40, 200), paper=(250, 240, 200))
    transparent = draw_seven(mode="RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))
    reference = preprocessing.prepare(draw_seven())
    for image in (colour, transparent):
        assert correlation(preprocessing.prepare(image), reference) > 0.95


@pytest.mark.parametrize(
    "ink, paper",
    [((220, 50, 50), (60, 140, 60)), ((255, 140, 0), (100, 170, 230)), ((60, 140, 60, 255), (220, 50, 50, 255))],
)
def test_a_brush_of_another_hue_but_the_same_brightness_as_its_canvas_is_read(ink, paper):
    """Red on green (Pillow's grey levels 101 and 107), orange on sky blue (158 and 157), green on red
    with an opaque alpha channel: in grey levels there is no ink, along the colours' first principal
    component there is (a helper's drawing-app digits were found blank)."""
    image = draw_seven(mode="RGBA" if len(ink) == 4 else "RGB", ink=ink, paper=paper)
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    assert np.ptp(gray) < 10  # Pillow's luminance alone
    assert correlation(preprocessing.prepare(image), preprocessing.prepare(draw_seven())) > 0.95


def test_a_blank_coloured_page_keeps_its_grey_levels():
    """A yellow sticky note with sensor noise and no writing: its colours spread no wider than its
    grey levels, so nothing is stretched into ink."""
    from mnist_cnn.preprocessing import decoding

    rng = np.random.default_rng(0)
    note = np.clip(np.array([250, 235, 120], np.float32) + rng.normal(0, 4, (300, 400, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(note)
    luminance = np.asarray(image.convert("L"), dtype=np.float32)
    np.testing.assert_array_equal(decoding.open_image(image), luminance)
    with pytest.raises(ImageError, match="blank"):
        preprocessing.prepare(image)


@pytest.mark.parametrize("format_name", ["PNG", "JPEG", "BMP", "GIF", "WEBP"])
def test_every_common_format_is_read_from_a_file(tmp_path, format_name):
    path = tmp_path / f"seven.{format_name.lower()}"
    draw_seven().convert("RGB").save(path, format=format_name)
    assert correlation(preprocessing.prepare(path), preprocessing.prepare(draw_seven())) > 0.95


def test_mnist_format_arrays_pass_through_unchanged():
    array = np.zeros((28, 28), dtype=np.uint8)
    array[5:20, 10:14] = 200
    np.testing.assert_array_equal(preprocessing.prepare(array), array)
    np.testing.assert_array_equal(preprocessing.prepare(array / 255.0), array)


def test_npy_file_of_wrong_shape_is_rejected(tmp_path):
    path = tmp_path / "digit.npy"
    np.save(path, np.zeros((32, 32)))
    with pytest.raises(ImageError, match=r"digit.npy: expected an array of shape \(28, 28\); received \(32, 32\)"):
        preprocessing.prepare(path)


def test_blank_page_is_an_image_error():
    with pytest.raises(ImageError, match="blank"):
        preprocessing.prepare(Image.new("L", (200, 200), 255))
    with pytest.raises(ImageError, match="blank"):  # an MNIST-format array with no ink says the same
        preprocessing.prepare(np.zeros((28, 28), dtype=np.uint8))


def test_not_an_image_is_an_image_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("just text")
    with pytest.raises(ImageError, match="notes.png: not an image Pillow can read"):
        preprocessing.prepare(path)


def test_empty_file_is_an_image_error(tmp_path):
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageError, match="empty.png: empty file"):
        preprocessing.prepare(path)


def test_truncated_image_is_an_image_error(tmp_path):
    buffer = io.BytesIO()
    draw_seven().save(buffer, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="cut.png: unreadable or truncated image"):
        preprocessing.prepare(path)


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (12000, 11000), 1).save(path)  # 132 MP in a tiny file: PNG decodes whole, so it is refused
    with pytest.raises(ImageError, match="huge.png: 12000x11000 is over the 120 megapixel limit"):
        preprocessing.prepare(path)


def test_a_50_megapixel_phone_photo_is_read_at_reduced_size(tmp_path):
    path = tmp_path / "phone.jpg"
    draw_seven(size=(8160, 6120), box=(3000, 1500, 5000, 4500), stroke=160).save(path, quality=85)  # 50 MP
    gray = preprocessing.open_image(path)
    assert 2048 <= max(gray.shape) < 4096  # decoded at an eighth or a quarter of its size by the JPEG decoder
    assert correlation(preprocessing.prepare(path), preprocessing.prepare(draw_seven())) > 0.9


def test_a_small_digit_on_a_large_page_is_found():
    page = draw_seven(size=(2000, 1600), box=(900, 700, 930, 760), stroke=5)  # 0.1% of the page is ink
    reference = preprocessing.prepare(draw_seven())
    assert correlation(preprocessing.prepare(page), reference) > 0.6  # found, though thinner: 15x31 pixels at work size


def test_model_input_scales_a_batch_or_one_digit_to_what_models_take():
    digits = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    batch = preprocessing.model_input(digits)
    assert batch.shape == (3, 28, 28, 1) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[..., 0], digits / 255.0, rtol=1e-6)
    assert preprocessing.model_input(digits[0]).shape == (1, 28, 28, 1)


@pytest.mark.parametrize("shape", [(4, 56, 28), (3, 784), (28,), (2, 28, 28, 1)])
def test_model_input_refuses_shapes_that_are_not_digits(shape):
    with pytest.raises(ValueError, match=r"Expected images of shape \(n, 28, 28\)"):
        preprocessing.model_input(np.zeros(shape, dtype=np.uint8))
