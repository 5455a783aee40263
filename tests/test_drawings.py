"""preprocessing.drawings: a drawing on flat paper is cleaned at the size its ink and pen need; a photo
at full size."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_cnn import preprocessing
from mnist_cnn.preprocessing import drawings


def drawing(size=(400, 1000), pen=22, height=200, paper=0, ink=255) -> np.ndarray:
    """Three rings ``height`` pixels high drawn with a ``pen``-pixel round pen on flat paper, as the page draws."""
    canvas = Image.new("L", size[::-1], paper)
    draw = ImageDraw.Draw(canvas)
    top = (size[0] - height) // 2
    for left in (100, 400, 700):
        draw.ellipse((left, top, left + height * 0.7, top + height), outline=ink, width=pen)
    return np.asarray(canvas, dtype=np.float32)


def test_paper_level_is_the_flat_papers_grey_or_none_for_a_photo():
    assert drawings.paper_level(drawings.sampled(drawing(paper=0))[0]) == 0
    assert drawings.paper_level(drawings.sampled(drawing(paper=246, ink=20))[0]) == 246
    noisy = drawing(paper=200, ink=30) + np.random.default_rng(0).normal(0, 3, (400, 1000))
    assert drawings.paper_level(drawings.sampled(noisy)[0]) is None


@pytest.mark.parametrize("pen", [1, 3, 8, 22, 40])
def test_strokes_measure_the_pen_of_rings_and_bars(pen):
    rings = drawing(pen=pen, height=300) > 127
    assert drawings.strokes(rings)[0] == pytest.approx(pen, rel=0.25, abs=0.6)
    bar = np.zeros((300, 300), dtype=bool)
    bar[20:280, 100 : 100 + pen] = True
    assert pen <= drawings.strokes(bar)[0] <= 4 / np.pi * pen  # along an axis it crosses no diagonal edges
    assert drawings.strokes(np.zeros((5, 5), dtype=bool))[0] == 0.0


def test_a_drawing_is_shrunk_until_its_ink_is_ink_rows_high_or_its_pen_pen_wide():
    # 200 rows of ink, a 22-pixel pen: the ink's height decides (64/200), the pen stays 7 pixels.
    assert drawings.work_scale(drawing()) == pytest.approx(drawings.INK_ROWS / 200, rel=0.05)
    # A thin pen decides: 4 pixels of an 8-pixel pen.
    assert drawings.work_scale(drawing(pen=8)) == pytest.approx(drawings.PEN / 8, rel=0.2)
    # A frame twice the digits' height around them: the digits are kept 48 rows high.
    framed = drawing(height=150)
    framed[45:67, 20:980] = framed[333:355, 20:980] = framed[45:355, 20:42] = framed[45:355, 958:980] = 255
    assert drawings.work_scale(framed) == pytest.approx(drawings.DIGIT_ROWS / 150, rel=0.05)
    # A pen of 3 pixels or ink already small: kept as it is.
    assert drawings.work_scale(drawing(pen=3)) == 1.0
    assert drawings.work_scale(drawing(size=(100, 300), height=60, pen=8)) == 1.0


def test_photos_and_faint_drawings_are_not_shrunk():
    noisy = drawing(paper=200, ink=30) + np.random.default_rng(0).normal(0, 3, (400, 1000))
    assert drawings.work_scale(noisy) == 1.0
    assert drawings.work_scale(drawing(paper=200, ink=160)) == 1.0  # 40 grey levels: no clear ink
    assert drawings.work_scale(np.zeros((50, 50), dtype=np.float32)) == 1.0  # blank: nothing to measure


def test_fit_work_size_shrinks_a_drawing_only_when_asked_and_keeps_a_photo_at_1024():
    image = drawing()
    assert preprocessing.fit_work_size(image).shape == (400, 1000)  # to_mnist's size: unchanged
    assert preprocessing.fit_work_size(image, drawings.work_scale(image)).shape == pytest.approx((128, 320), abs=4)
    photo = np.random.default_rng(1).normal(200, 5, (1200, 1600)).astype(np.float32)
    assert preprocessing.fit_work_size(photo, drawings.work_scale(photo)).shape == (768, 1024)


def one_stroke_digit() -> np.ndarray:
    """A "1" with a flag, 380 pixels high with a 40-pixel pen, on a black 500x500 canvas."""
    canvas = Image.new("L", (500, 500), 0)
    ImageDraw.Draw(canvas).line((250, 60, 250, 440), fill=255, width=40)
    ImageDraw.Draw(canvas).line((250, 60, 190, 130), fill=255, width=40)
    return np.asarray(canvas)


def test_a_drawing_cleaned_small_gives_nearly_the_full_size_digit():
    gray = one_stroke_digit()
    scale = drawings.work_scale(gray.astype(np.float32))
    assert scale < 0.25
    small = preprocessing.ink_to_mnist(preprocessing.find_ink(gray, scale)[0])
    assert np.abs(small.astype(int) - preprocessing.to_mnist(gray).astype(int)).mean() < 12


def test_a_number_is_segmented_small_and_one_digit_at_full_size():
    from mnist_cnn import segmentation

    digit = one_stroke_digit()
    number = np.concatenate([digit, digit], axis=1)
    ink, placement = segmentation.ink_map(number)
    assert placement.reduced and ink.shape[0] < 100
    boxes = [segment.box for segment in segmentation.segment(number)]
    assert len(boxes) == 2 and boxes[0][2] <= 500 <= boxes[1][0]  # in the original image's pixels
    (one,) = segmentation.segment(digit)
    assert np.array_equal(one.image, preprocessing.to_mnist(digit))


def test_a_photo_with_pure_white_paper_is_no_drawing():
    """Paper burnt out to 255 is flat, but a hand's shadow reaching the frame's edge, or ink that
    keeps the sensor's noise, tells a photo from a drawing."""
    rng = np.random.default_rng(3)
    ink = drawing(paper=255, ink=20)
    assert drawings.work_scale(ink) < 1.0
    shadow = ink.copy()
    shadow[:, :150] = np.minimum(shadow[:, :150], 90 + rng.normal(0, 4, (400, 150)))
    assert drawings.work_scale(shadow) == 1.0
    noisy_ink = np.where(ink < 128, ink + rng.normal(0, 4, ink.shape), ink).clip(0, 255)
    assert drawings.work_scale(noisy_ink) == 1.0


@pytest.mark.parametrize("column", [50, 51])
def test_a_hairline_beside_bold_strokes_keeps_the_drawing_at_full_size(column):
    """A 1-pixel line in any column (a stride would skip every other one) sets the pen: no shrinking."""
    image = drawing()
    image[100:300, column] = 255
    assert drawings.work_scale(image) == 1.0


def test_light_writing_on_a_dark_plaque_on_a_lighter_wall_is_no_drawing():
    """Three tones: the wall (the paper, most of the image), the plaque (the ink) and the writing
    between them, lighter than the plaque and darker than the wall."""
    image = np.full((600, 1000), 235, dtype=np.float32)
    image[200:400, 250:750] = 40  # the plaque
    writing = drawing(size=(600, 1000), height=150, pen=12) > 127
    image[writing & (image == 40)] = 180
    assert drawings.paper_level(drawings.sampled(image)[0]) == 235
    assert drawings.work_scale(image) == 1.0
