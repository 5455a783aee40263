"""Segmentation: a number's digits found, merged, split and ordered; one digit behaves as today."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_cnn import preprocessing, segmentation
from mnist_cnn.errors import ImageError

CASES = Path(__file__).resolve().parents[2] / "shared" / "cases" / "numbers"

# Digits as pen strokes on a 100x160 cell (x, y): polylines a person might draw.
GLYPHS = {
    "0": [[(50, 10), (85, 40), (85, 120), (50, 150), (15, 120), (15, 40), (50, 10)]],
    "1": [[(40, 30), (60, 10), (60, 150)]],
    "2": [[(15, 40), (50, 10), (85, 40), (15, 150), (90, 150)]],
    "4": [[(60, 10), (10, 100), (90, 100)], [(70, 50), (70, 150)]],
    "5": [[(80, 10), (25, 10)], [(25, 12), (20, 70), (75, 75), (80, 130), (45, 150), (15, 135)]],
    "7": [[(10, 10), (90, 10), (40, 150)]],
}


def draw(text: str, gap: int = 40, pen: int = 14, heights=None, slant: float = 0.0, size=None) -> np.ndarray:
    """Dark strokes on white paper, one 100x160 cell per character ``gap`` pixels apart (negative:
    overlapping), each scaled by ``heights``; ``slant``: columns per row; float32 (h, w), 0-255."""
    heights = heights or [1.0] * len(text)
    width = 60 + sum(100 + gap for _ in text)
    image = Image.new("L", (width, 260), 255)
    pen_draw = ImageDraw.Draw(image)
    left = 30
    for char, scale in zip(text, heights):
        for stroke in GLYPHS[char]:
            points = [
                (left + x * scale + slant * (200 - (50 + y * scale)), 50 + (160 - 160 * scale) + y * scale)
                for x, y in stroke
            ]
            pen_draw.line(points, fill=0, width=pen, joint="curve")
            for x, y in points:
                pen_draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
        left += 100 * scale + gap
    if size is not None:
        image = image.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def test_separated_digits_come_back_left_to_right():
    segments = segmentation.segment(draw("1207"))
    assert len(segments) == 4
    lefts = [segment.box[0] for segment in segments]
    assert lefts == sorted(lefts)
    assert all(segment.image.shape == (28, 28) and segment.image.dtype == np.uint8 for segment in segments)


def test_a_single_digit_gives_exactly_to_mnists_image():
    gray = draw("4")
    [segment] = segmentation.segment(gray)
    assert np.array_equal(segment.image, preprocessing.to_mnist(gray))


def test_a_five_with_a_detached_bar_stays_one_digit():
    assert len(segmentation.segment(draw("5"))) == 1
    assert len(segmentation.segment(draw("57"))) == 2


def test_a_four_drawn_in_two_strokes_stays_one_digit():
    assert len(segmentation.segment(draw("4", pen=10))) == 1


def test_a_broken_stroke_stays_one_digit():
    gray = draw("1")
    gray[110:116] = 255  # a gap across the 1's stem
    assert len(segmentation.segment(gray)) == 1


def test_digits_of_different_heights_and_slant_are_all_found():
    assert len(segmentation.segment(draw("2710", heights=[1.0, 0.8, 1.1, 0.9]))) == 4
    assert len(segmentation.segment(draw("2710", slant=0.2))) == 4


def test_a_digit_written_small_between_tall_ones_is_no_part_of_its_neighbour():
    """A 5 at 55% of its neighbours' height is as short as a 5's detached bar, but holds a digit's
    ink: it stays a digit of its own, not a part joined to the 1 or the 7."""
    assert len(segmentation.segment(draw("157", heights=[1.0, 0.55, 1.0]))) == 3


def test_overlapping_boxes_of_slanted_digits_are_two_digits():
    gray = draw("71", gap=-15, slant=0.25)
    assert len(segmentation.segment(gray)) == 2


def fake_classify(images: np.ndarray) -> np.ndarray:
    """Confident for digit-shaped pieces (ink at most 0.8 times as wide as tall), unsure for wider ones."""
    probabilities = np.full((len(images), 10), 0.02)
    for index, image in enumerate(images):
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        probabilities[index, 0] = 0.9 if cols[-1] - cols[0] <= 0.8 * (rows[-1] - rows[0]) else 0.1
    return probabilities


def test_touching_digits_are_cut_by_recognition(monkeypatch):
    monkeypatch.setattr(segmentation, "WIDTH_WEIGHT", 0.0)  # these drawn 0s are narrower than MNIST's
    gray = draw("00", gap=-30)
    assert len(segmentation.segment(gray)) == 1  # one component, and geometry alone cannot tell
    segments = segmentation.segment(gray, fake_classify)
    assert len(segments) == 2
    assert segments[0].box[0] < segments[1].box[0]
    assert all(segment.box[2] - segment.box[0] < 130 for segment in segments)  # the pair is 155 wide


def test_a_cut_between_digits_leaning_half_as_far_as_the_steepest_follows_their_gap():
    """Two strokes 22 pixels wide, 4 apart, both leaning 0.15 columns per row (a number written with a
    slight slant), touching by a 4-pixel bridge: the best cut runs down the gap at their lean and
    leaves the left stroke whole. With cuts only upright or at 0.3, it sliced 560 pixels off one."""
    height = 120
    mask = np.zeros((height, 120), dtype=bool)
    for row in range(height):
        shift = int(round(0.15 * (row - (height - 1) / 2)))
        mask[row, 30 + shift : 52 + shift] = True
        mask[row, 56 + shift : 78 + shift] = True
    middle = int(round(0.15 * (height // 2 - (height - 1) / 2)))
    mask[height // 2, 52 + middle : 56 + middle] = True
    blob = segmentation.Blob(0, 0, mask, float(mask.sum()))
    [cut] = segmentation.cut_candidates(blob, mask.astype(np.float32), float(height), 1)
    left = segmentation.between(blob, None, cut)
    assert abs(int(left.mask.sum()) - 22 * height) <= 4


def confident_zero(images: np.ndarray) -> np.ndarray:
    """Reads everything as 0 at 95%, whatever its shape."""
    probabilities = np.full((len(images), 10), 0.05 / 9)
    probabilities[:, 0] = 0.95
    return probabilities


def is_whole_digit_if(rule):
    """A digit detector stand-in: probability 0.95 for images whose ink box passes ``rule(width, height)``,
    0.01 for the others."""

    def digit_probability(images: np.ndarray) -> np.ndarray:
        boxes = [(np.flatnonzero(image.any(axis=0)), np.flatnonzero(image.any(axis=1))) for image in images]
        return np.array(
            [0.95 if rule(cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1) else 0.01 for cols, rows in boxes]
        )

    return digit_probability


def test_the_digit_detector_vetoes_cuts_into_pieces_that_are_not_whole_digits(monkeypatch):
    monkeypatch.setattr(segmentation, "WIDTH_WEIGHT", 0.0)  # these drawn 0s are narrower than MNIST's
    gray = draw("00", gap=-30)
    # The classifier is unsure of the wide whole and sure of the halves: cut, unless the detector
    # says the halves are not whole digits.
    assert len(segmentation.segment(gray, fake_classify, is_whole_digit_if(lambda width, height: True))) == 2
    vetoed = segmentation.segment(gray, fake_classify, is_whole_digit_if(lambda width, height: width > 0.9 * height))
    assert len(vetoed) == 1
    # A model without a detector (digit_probability gives None) cuts by the classifier alone.
    assert len(segmentation.segment(gray, fake_classify, lambda images: None)) == 2


def test_a_whole_the_classifier_is_sure_of_is_not_cut_even_if_the_detector_refuses_it():
    # A letter A is not a digit, and neither stroke of it is refused: cutting it would make it "11".
    # The whole is judged by the classifier; the detector's refusal of it is the rejection's to make.
    gray = draw("00", gap=-30)
    refuses_wide = is_whole_digit_if(lambda width, height: width < 0.9 * height)
    assert len(segmentation.segment(gray, confident_zero, refuses_wide)) == 1


def test_in_a_number_the_detector_judges_the_uncut_whole_too(monkeypatch):
    # Touching digits the classifier reads as one sure digit are cut when the image is known to be a
    # number (--number) or holds other digits beside them; alone, the whole stays whole (as for a letter).
    from mnist_cnn import prediction

    monkeypatch.setattr(segmentation, "WIDTH_WEIGHT", 0.0)  # these drawn 0s are narrower than MNIST's
    gray = draw("00", gap=-30)
    refuses_wide = is_whole_digit_if(lambda width, height: width < 0.9 * height)
    assert len(segmentation.segment(gray, confident_zero, refuses_wide)) == 1
    assert len(segmentation.segment(gray, confident_zero, refuses_wide, number=True)) == 2
    assert len(segmentation.segment(np.hstack([draw("0"), gray]), confident_zero, refuses_wide)) == 3
    photo = Image.fromarray(gray.astype(np.uint8))
    assert len(prediction.read(photo, "auto", confident_zero, refuses_wide).images) == 1
    assert len(prediction.read(photo, "number", confident_zero, refuses_wide).images) == 2


def test_in_a_number_a_tight_pair_no_wider_than_one_digit_is_cut_when_the_detector_doubts_it(monkeypatch):
    # "11" written tight is narrower than WIDE line heights: geometry alone never tries to cut it.
    monkeypatch.setattr(segmentation, "WIDTH_WEIGHT", 0.0)  # confident_zero reads the 1s as 0s
    monkeypatch.setattr(segmentation, "NARROW", 0.3)  # these drawn 1s are narrower than MNIST's
    one = np.pad(draw("1"), ((0, 0), (0, 40)), constant_values=255)
    gray = np.minimum(one, np.roll(one, 26, axis=1))  # two 1s 26 pixels apart: their 14-pixel strokes touch
    ink, placement = segmentation.ink_map(gray)
    blobs = segmentation.components(ink)
    height = float(segmentation.line_height(blobs))
    assert len(blobs) == 1 and segmentation.NARROW * height < blobs[0].width < segmentation.WIDE * height
    doubts_wide = is_whole_digit_if(lambda width, height: width < 0.4 * height)  # a 1 is narrow
    assert len(segmentation.segment(gray, confident_zero, doubts_wide, number=True)) == 2
    assert len(segmentation.segment(gray, confident_zero, is_whole_digit_if(lambda w, h: True), number=True)) == 1
    assert len(segmentation.segment(gray, confident_zero, doubts_wide)) == 1  # alone it is judged whole


def test_strokes_apart_along_the_line_are_joined_when_they_read_better_as_one_digit(monkeypatch):
    # A 4 whose bent stroke stops short of its stem: no overlap along the line, so geometry keeps
    # two pieces; the judge doubts the stem is a whole digit, and the two read far better as one.
    monkeypatch.setitem(GLYPHS, "q", [[(60, 10), (10, 100), (55, 100)], [(80, 40), (80, 150)]])
    monkeypatch.setattr(segmentation, "WIDTH_WEIGHT", 0.0)
    judge = is_whole_digit_if(lambda width, height: width >= 0.5 * height)  # a bare stem is no digit
    gray = draw("q")
    assert len(segmentation.segment(gray)) == 2  # without the models: two pieces
    [segment] = segmentation.segment(gray, confident_zero, judge)
    assert np.array_equal(segment.image, preprocessing.to_mnist(gray))
    assert len(segmentation.segment(draw("q0", gap=60), confident_zero, judge)) == 2
    # Two pieces the judge takes for whole digits are not tried together, however close.
    assert len(segmentation.segment(gray, confident_zero, lambda images: np.full(len(images), 0.95))) == 2
    # Nor are any when there is no judge (a model not trained on MNIST: the rejector gives None),
    # even when the classifier reads the stem alone badly and the two together well.
    wide = is_whole_digit_if(lambda width, height: width >= 0.5 * height)

    def unsure_of_stems(images: np.ndarray) -> np.ndarray:
        sure = np.where(wide(images) > 0.5, 0.95, 0.15)
        return np.column_stack([sure, *[(1 - sure) / 9] * 9])

    assert len(segmentation.segment(gray, unsure_of_stems, lambda images: None)) == 2


def test_each_blob_is_read_once_and_all_wholes_in_one_call(monkeypatch):
    # Four digits wide enough to be checked for touching digits: their wholes go to the classifier
    # and the detector in one call each, and split finds them read instead of asking again.
    monkeypatch.setattr(segmentation, "WIDE", 0.52)  # these drawn 0s are 0.55 line heights wide
    monkeypatch.setattr(segmentation, "WIDTH_WEIGHT", 0.0)  # and narrower than MNIST's: read well, not cut
    calls = {"classify": [], "detector": []}

    def counting_classify(images):
        calls["classify"].append(len(images))
        return confident_zero(images)

    def counting_detector(images):
        calls["detector"].append(len(images))
        return np.full(len(images), 0.99)

    segments = segmentation.segment(draw("0000", gap=60), counting_classify, counting_detector)
    assert len(segments) == 4
    assert calls == {"classify": [4], "detector": [4]}
    # Two wide and two doubtful ones (between NARROW and WIDE): the detector judges all four in one call.
    calls["classify"], calls["detector"] = [], []
    segments = segmentation.segment(
        draw("0000", gap=60, heights=[1.0, 1.0, 1.3, 1.3]), counting_classify, counting_detector
    )
    assert len(segments) == 4
    assert calls == {"classify": [2], "detector": [4]}


def test_read_all_asks_only_for_what_is_missing():
    ink = np.zeros((40, 40), dtype=np.float32)
    ink[5:35, 10:14] = ink[5:35, 25:29] = 1.0
    blobs = segmentation.components(ink)
    blobs[0].probabilities = np.full(10, 0.1)
    asked = []
    segmentation.read_all(blobs, ink, lambda images: asked.append(len(images)) or confident_zero(images))
    assert asked == [1] and blobs[1].probabilities[0] == pytest.approx(0.95)
    assert blobs[0].one_digit_probability is None  # no detector given: nothing judged
    segmentation.read_all(blobs, ink, confident_zero, lambda images: None)  # a model without a detector
    assert blobs[0].one_digit_probability is None and blobs[1].one_digit_probability is None


def test_the_ink_map_is_cut_to_its_ink_and_its_placement_moves_with_it():
    ink = np.zeros((50, 80), dtype=np.float32)
    ink[10:30, 20:25] = 1.0
    cropped, placement = segmentation.crop_to_ink(ink, segmentation.Placement(3, 4, 2.0, 2.0))
    assert cropped.shape == (20, 5) and cropped.min() == 1.0
    assert (placement.top, placement.left) == (13, 24)
    assert placement.box(0, 20, 0, 5, (200, 200)) == (48, 26, 58, 66)  # (20 + 4) * 2 ... (30 + 3) * 2
    blank = np.zeros((5, 5), dtype=np.float32)
    assert segmentation.crop_to_ink(blank, placement) == (blank, placement)


def test_a_clean_drawings_digit_keeps_its_own_pixels_and_gets_its_gain():
    # No faint ink anywhere (a drawing on the page, no anti-aliasing): the blob comes back as it is, or
    # at its own ink level when that is dim, the same as the full hysteresis would give.
    ink = np.zeros((60, 80), dtype=np.float32)
    ink[10:50, 10:16] = 1.0
    ink[10:50, 50:56] = 0.5
    bright, dim = sorted(segmentation.components(ink), key=lambda blob: blob.left)
    assert segmentation.with_faint_ink(bright, [bright, dim], ink, 40.0) is bright
    regained = segmentation.with_faint_ink(dim, [bright, dim], ink, 40.0)
    assert (regained.top, regained.left, regained.gain) == (dim.top, dim.left, 2.0)
    assert np.array_equal(regained.mask, dim.mask) and regained.ink(ink).max() == 1.0


def test_a_faint_thin_digit_beside_bold_ones_keeps_its_whole_stroke():
    # A hairline "0" beside a bold "7", its ink fading from 60% at the top to 20% at the bottom: the bold
    # ink sets the map's scale, so the 0's lower half lies under the level components are found at.
    bold, thin = draw("7", pen=18), draw("0", pen=3)
    gray = np.concatenate([thin, bold], axis=1)
    fading = np.linspace(0.6, 0.2, gray.shape[0])[:, None]
    gray[:, : thin.shape[1]] = 255 - (255 - gray[:, : thin.shape[1]]) * fading
    ink, placement = segmentation.ink_map(gray)
    segments = segmentation.find_digits(ink, placement, gray.shape)
    assert len(segments) == 2
    zero = segments[0].image > 100
    rows = np.flatnonzero(zero.any(axis=1))
    assert len(rows) >= 19  # all of its height, fitted to MNIST's 20-pixel box (12 rows before)
    assert (zero[rows[0] + 3 : rows[-1] - 2].sum(axis=1) >= 2).all()  # both sides of the loop, all the way down


def test_pieces_wider_than_their_digit_is_written_score_lower():
    blob = segmentation.Blob(0, 0, np.ones((20, 18), dtype=bool), 360.0)  # as wide as MNIST's typical 0
    wide = segmentation.Blob(0, 0, np.ones((20, 36), dtype=bool), 720.0)  # as wide as two
    ink = np.ones((20, 36), dtype=np.float32)
    usual, too_wide = segmentation.scores_of([blob, wide], ink, 20.0, confident_zero)
    assert usual <= 0 and too_wide < usual - 0.1


def test_the_width_prior_is_measured_on_mnist_training_digits(mnist_dir):
    from mnist_cnn.data import load_dataset

    mnist = load_dataset("mnist", mnist_dir)
    measured = segmentation.width_prior(mnist.train_images, mnist.train_labels)
    assert np.allclose(measured, segmentation.WIDTH_PRIOR, atol=0.002)


def test_boxes_are_in_the_original_images_pixels():
    gray = draw("17", size=(3000, 1200))  # shrunk to 1024 pixels to work on
    segments = segmentation.segment(gray)
    ink_cols = np.flatnonzero((gray < 128).any(axis=0))
    ink_rows = np.flatnonzero((gray < 128).any(axis=1))
    assert abs(segments[0].box[0] - ink_cols[0]) <= 12 and abs(segments[-1].box[2] - ink_cols[-1]) <= 12
    assert abs(segments[0].box[1] - ink_rows[0]) <= 12 and segments[0].box[3] <= gray.shape[0]


def test_boxes_are_in_the_original_images_pixels_on_a_sheet_on_a_desk():
    sheet = draw("27")
    photo = np.full((450, 600), 60, dtype=np.float32)
    photo[100 : 100 + sheet.shape[0], 150 : 150 + sheet.shape[1]] = sheet
    segments = segmentation.segment(photo)
    ink_cols = np.flatnonzero((sheet < 128).any(axis=0)) + 150
    assert len(segments) == 2
    assert abs(segments[0].box[0] - ink_cols[0]) <= 4 and abs(segments[1].box[2] - ink_cols[-1]) <= 4
    assert 100 <= segments[0].box[1] < segments[0].box[3] <= 360


def test_a_line_of_writing_may_climb_a_little_and_hold_digits_of_any_height():
    level = [(0, 0, 60, 100), (80, 5, 140, 103), (160, -3, 220, 98)]
    assert segmentation.on_one_line(level) and segmentation.on_one_line(level[:1]) and segmentation.on_one_line([])
    climbing = [(90 * i, -int(90 * i * 0.3), 90 * i + 60, 100 - int(90 * i * 0.3)) for i in range(6)]
    assert segmentation.on_one_line(climbing)  # 17 degrees: the first and last digits share no height
    assert segmentation.on_one_line([(0, 0, 40, 100), (50, 40, 110, 140)])  # a "17" whose 7 descends
    assert segmentation.on_one_line([(0, 0, 60, 100), (70, 50, 110, 100)])  # a small digit beside a tall one
    turned = [(90 * i, -int(90 * i * 0.58), 90 * i + 60, 100 - int(90 * i * 0.58)) for i in range(6)]
    assert segmentation.on_one_line(turned)  # photographed turned 30 degrees: digits of one height
    steep = [(90 * i, -int(90 * i * 1.2), 90 * i + 60, 100 - int(90 * i * 1.2)) for i in range(6)]
    assert not segmentation.on_one_line(steep)  # 50 degrees: no line of writing


def test_rings_beside_a_slash_one_above_the_other_are_no_line_of_writing():
    percent = [(134, 136, 244, 272), (164, 136, 386, 410), (304, 275, 414, 411)]  # a helper's "%"
    assert not segmentation.on_one_line(percent)
    assert not segmentation.on_one_line([(11, 35, 74, 109), (70, 22, 140, 186), (133, 99, 197, 174)])
    assert not segmentation.on_one_line([(0, 0, 50, 60), (0, 100, 50, 160)])  # a column
    assert not segmentation.on_one_line([(0, 0, 50, 60), (60, 100, 110, 160)])  # a fraction's 1 over 2
    cut_slash = [(36, 30, 121, 131), (64, 130, 166, 277), (165, 22, 244, 137), (180, 174, 265, 275)]
    assert not segmentation.on_one_line(cut_slash)  # a drawn "%" whose slash was cut in two: "0110"


def test_a_blank_image_raises_image_error():
    with pytest.raises(ImageError, match="no digit found"):
        segmentation.segment(np.full((200, 400), 255, dtype=np.float32))


def test_a_three_dimensional_array_raises_image_error():
    with pytest.raises(ImageError, match="2-D"):
        segmentation.segment(np.zeros((4, 4, 3)))


@pytest.fixture(scope="module")
def best():
    import mnist_cnn

    return mnist_cnn.load_model("best", runtime="onnx")


@pytest.mark.parametrize("row", list(csv.DictReader(open(CASES / "expected.csv"))) if CASES.exists() else [])
def test_the_numbers_cases_read_exactly_with_best(row, best):
    segments = segmentation.segment(preprocessing.open_image(CASES / row["file"]), best.probabilities)
    probabilities = best.probabilities(np.stack([segment.image for segment in segments]))
    assert "".join(str(int(digit)) for digit in probabilities.argmax(axis=1)) == row["expected"]


# Pen-drawn numbers whose digits overlap by 4-14 pixels of a 100-pixel cell: a renderer the piece judge
# never saw. With the rejection detector judging the pieces, "1024", "7150", "740", "5014" and "4470"
# came out with their 0s cut into 1s ("11124"); the judge keeps each 0 whole.
TOUCHING = [
    ("57", -10),
    ("1024", -8),
    ("7150", -12),
    ("41", -6),
    ("2517", -10),
    ("740", -14),
    ("5014", -12),
    ("4470", -10),
]


@pytest.mark.parametrize("text, gap", TOUCHING)
def test_touching_drawn_numbers_are_read_exactly_through_the_api(text, gap, best):
    import mnist_cnn

    (reading,) = mnist_cnn.predict(Image.fromarray(draw(text, gap=gap).astype(np.uint8)), model=best, mode="number")
    assert reading.number == text


def bracket(bow: float, slant: float = 0.0) -> np.ndarray:
    """An MNIST-style (28, 28) uint8 stroke 20 rows tall whose middle lies ``bow`` (in its height)
    right of its ends, leaning ``slant`` (columns per row)."""
    image = np.zeros((28, 28), np.uint8)
    for row in range(4, 24):
        y = (row - 13.5) / 20
        col = 14 + 20 * (bow * (1 - 4 * y * y) + slant * y)
        image[row, int(round(col)) - 1 : int(round(col)) + 2] = 255
    return image


def test_bend_is_positive_for_a_left_bracket_negative_for_a_right_one_and_zero_for_a_straight_stroke():
    assert segmentation.bend(bracket(-0.15)) > 0.4  # "(": the middle left of the ends
    assert segmentation.bend(bracket(0.15)) < -0.4  # ")"
    assert abs(segmentation.bend(bracket(0.0, slant=0.4))) < 0.05  # a leaning 1
    with pytest.raises(ValueError, match="at least 3 rows"):
        segmentation.bend(np.zeros((28, 28), np.uint8))


def test_only_two_strokes_bowing_apart_are_a_pair_of_brackets():
    left, right, straight = bracket(-0.15), bracket(0.15), bracket(0.0, slant=0.3)
    assert segmentation.is_bracket_pair(left, right)  # "( )"
    assert not segmentation.is_bracket_pair(right, left)  # ") (": bowing towards each other
    assert not segmentation.is_bracket_pair(left, left) and not segmentation.is_bracket_pair(straight, straight)
    assert not segmentation.is_bracket_pair(bracket(-0.05), bracket(0.05))  # a slight bow, as many 1s have
    assert not segmentation.is_bracket_pair(np.zeros((28, 28), np.uint8), right)  # no ink: never
