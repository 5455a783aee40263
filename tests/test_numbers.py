"""Numbers through `mnist-cnn predict` and the Python API: several digits in one image are read left to
right, one digit behaves as before, and --single / --number force either. Segmentation itself is
tested in test_segmentation.py; exact-string accuracy is benchmarks/number_reading.py's."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import mnist_cnn
from conftest import run_cli
from mnist_cnn.prediction import NumberPrediction, Prediction

ROOT = Path(__file__).resolve().parents[1]


def draw_number(path, strokes_per_digit):
    """White paper, each digit's strokes (polylines in a unit box) drawn side by side with a black pen."""
    image = Image.new("L", (160 * len(strokes_per_digit) + 40, 260), 255)
    draw = ImageDraw.Draw(image)
    for index, strokes in enumerate(strokes_per_digit):
        for stroke in strokes:
            points = [(40 + 160 * index + 100 * x, 30 + 200 * y) for x, y in stroke]
            draw.line(points, fill=0, width=14, joint="curve")
    image.save(path)
    return path


ONE = [[(0.5, 0), (0.5, 1)]]
SEVEN = [[(0, 0), (1, 0), (0.35, 1)]]
FOUR = [[(0.7, 1), (0.7, 0), (0, 0.65), (1, 0.65)]]


def test_a_drawn_number_is_read_left_to_right_with_boxes(tmp_path):
    path = draw_number(tmp_path / "n.png", [SEVEN, ONE, FOUR])
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, NumberPrediction) and answer.number == "714", answer.describe()
    boxes = [digit.box for digit in answer.digits]
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)
    assert all(0 <= left < right <= 520 and 0 <= top < bottom <= 260 for left, top, right, bottom in boxes)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_large_photo_s_digit_boxes_are_in_its_own_pixels(tmp_path, suffix):
    """A photo over 4,096 pixels wide is decoded at half its size or less (``open_image``), and its
    digits' boxes were given in the decoded pixels: helper-45's 9000x6000 photo had them at a
    quarter of where its digits are. They are in the photo's own pixels."""
    small = draw_number(tmp_path / "small.png", [SEVEN, ONE, FOUR])
    (near,) = mnist_cnn.predict([small], model="best")
    large = tmp_path / f"large{suffix}"
    Image.open(small).resize((5200, 2600), Image.Resampling.BILINEAR).save(large)
    (far,) = mnist_cnn.predict([large], model="best")
    assert far.number == near.number == "714"
    for box, expected in zip((digit.box for digit in far.digits), (digit.box for digit in near.digits)):
        assert np.abs(np.array(box) - 10 * np.array(expected)).max() <= 60, (box, expected)


def test_displayed_shape_reads_the_header_upright_per_exif(tmp_path):
    from mnist_cnn.preprocessing import displayed_shape

    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: shown 300 wide and 200 high
    Image.new("L", (200, 300), 255).save(tmp_path / "turned.jpg", exif=exif)
    Image.new("L", (200, 300), 255).save(tmp_path / "plain.png")
    assert displayed_shape(tmp_path / "turned.jpg") == (200, 300)
    assert displayed_shape((tmp_path / "plain.png").read_bytes()) == (300, 200)
    assert displayed_shape(b"not an image") is None


def test_auto_mode_makes_a_numbers_whole_image_as_a_single_digit_would_be(tmp_path):
    """A photographed number's whole is exactly the single digit's image; a drawing's is made from the
    smaller map its digits were found on (``drawings.work_scale``), nearly the same."""
    from mnist_cnn import preprocessing, segmentation
    from mnist_cnn.prediction import read

    path = draw_number(tmp_path / "n.png", [SEVEN, ONE, FOUR])
    photo = np.asarray(Image.open(path), dtype=np.float32)
    photo += np.random.default_rng(0).normal(0, 3, photo.shape)
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(tmp_path / "photo.png")
    reading = read(tmp_path / "photo.png", "auto")
    assert len(reading.images) == 3 and reading.whole is not None
    assert np.array_equal(reading.whole, preprocessing.prepare(tmp_path / "photo.png"))
    drawn = read(path, "auto")
    ink, placement = segmentation.ink_map(preprocessing.open_image(path))
    assert placement.reduced and np.array_equal(drawn.whole, preprocessing.ink_to_mnist(ink))
    assert np.abs(drawn.whole.astype(int) - preprocessing.prepare(path).astype(int)).mean() < 12
    assert read(path, "number").whole is None


@pytest.mark.parametrize("angle", [-25, 30])
def test_a_number_photographed_turned_steeply_is_still_a_number(tmp_path, angle):
    path = draw_number(tmp_path / "n.png", [SEVEN, ONE, FOUR, ONE, SEVEN])
    Image.open(path).rotate(angle, expand=True, fillcolor=255, resample=Image.BICUBIC).save(path)
    (answer,) = mnist_cnn.predict([path], model="best")  # its first and last digits share no height
    assert isinstance(answer, NumberPrediction) and answer.number == "71417", answer.describe()


def test_a_percent_sign_is_no_number_but_one_thing_refused(tmp_path):
    image = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse([36, 30, 120, 131], outline=0, width=10)
    draw.line([(240, 24), (66, 276)], fill=0, width=10)
    draw.ellipse([180, 174, 264, 275], outline=0, width=10)
    image.save(tmp_path / "percent.png")
    (answer,) = mnist_cnn.predict([tmp_path / "percent.png"], model="best")
    assert isinstance(answer, Prediction) and answer.status == "not_a_digit", answer.describe()  # was "0110"
    (forced,) = mnist_cnn.predict([tmp_path / "percent.png"], model="best", mode="number")
    assert isinstance(forced, NumberPrediction)


def arc(left: bool) -> list:
    """A bracket's stroke in a unit box: "(" when ``left``, else ")"."""
    angles = np.linspace(-0.9, 0.9, 12)
    bow = 0.5 * (1 - np.cos(angles)) / (1 - np.cos(0.9))  # 0 at the middle, 0.5 at the ends
    rows = 0.5 + 0.5 * np.sin(angles) / np.sin(0.9)
    return [[(float(0.25 + x if left else 0.75 - x), float(y)) for x, y in zip(bow, rows)]]


def test_a_pair_of_brackets_is_no_number_11_but_one_thing_refused(tmp_path):
    path = draw_number(tmp_path / "brackets.png", [arc(True), arc(False)])
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, Prediction) and answer.status == "not_a_digit", answer.describe()  # was "11"
    (forced,) = mnist_cnn.predict([path], model="best", mode="number")
    assert isinstance(forced, NumberPrediction) and forced.number == "11"  # asked for a number: read as one


def test_two_ones_leaning_alike_or_bowing_the_same_way_are_still_11(tmp_path):
    slanted = [[(0.7, 0), (0.3, 1)]]
    for strokes in ([slanted, slanted], [arc(True), arc(True)], [ONE, arc(False)]):
        path = draw_number(tmp_path / "ones.png", strokes)
        (answer,) = mnist_cnn.predict([path], model="best")
        assert isinstance(answer, NumberPrediction) and answer.number == "11", answer.describe()


class CodedScores:
    """A rejector whose detector gives each 28x28 the score coded in its first pixel (percent) and
    a classifier sure of every image: what ``one_digit_if_accepted`` weighs, without models."""

    def digit_probabilities(self, images):
        return images[:, 0, 0].astype(np.float64) / 100

    def statuses(self, images, probabilities):
        scores = self.digit_probabilities(images)
        return ["digit" if score >= 0.14 else "not_a_digit" for score in scores], scores

    def probabilities(self, images):
        return np.tile(np.eye(10, dtype=np.float32)[3], (len(images), 1))


@pytest.mark.parametrize(
    "whole, pieces, one_digit",
    [
        (49, (99, 98), False),  # "31" written close: the whole accepted, but its digits are likelier digits
        (99, (60, 0), True),  # a 5 whose bar came apart: the bar is no digit, the whole is
        (10, (99, 99), False),  # the whole refused: a number, as before
        (50, (50, 99), True),  # as likely as its least likely digit: the whole, as before
    ],
)
def test_auto_mode_reads_the_whole_as_one_digit_only_when_it_is_as_likely_a_digit_as_its_pieces(
    whole, pieces, one_digit
):
    from mnist_cnn.prediction import Reading, one_digit_if_accepted

    coded = CodedScores()
    images = [np.full((28, 28), code, dtype=np.uint8) for code in pieces]
    # the pieces' boxes touch along the line, as a digit's pieces do (``written_apart``, below)
    reading = Reading(images, [[0, 0, 10, 10], [10, 0, 20, 10]], np.full((28, 28), whole, dtype=np.uint8))
    chosen = one_digit_if_accepted(coded, reading, coded)
    assert (chosen.boxes is None and chosen.images[0][0, 0] == whole) if one_digit else chosen is reading


def test_digits_written_apart_stay_a_number_whatever_the_whole_reads():
    from mnist_cnn.prediction import APART, Reading, one_digit_if_accepted, written_apart

    coded = CodedScores()
    images = [np.full((28, 28), 60, dtype=np.uint8), np.full((28, 28), 0, dtype=np.uint8)]
    whole = np.full((28, 28), 99, dtype=np.uint8)  # the whole the likelier digit: it would win ...
    gap = int(np.ceil(APART * 100))
    apart = Reading(images, [[0, 0, 40, 100], [40 + gap, 0, 60 + gap, 100]], whole)
    assert one_digit_if_accepted(coded, apart, coded) is apart  # ... but the digits stand apart
    assert not written_apart([[0, 0, 40, 100], [30, 10, 60, 90]])  # overlapping along the line: one digit's
    assert not written_apart([[0, 0, 40, 100], [40 + gap - 2, 0, 60 + gap, 100]]) and not written_apart(None)


class CodedOnes(CodedScores):
    """CodedScores whose classifier reads every image as a 1."""

    def probabilities(self, images):
        return np.tile(np.eye(10, dtype=np.float32)[1], (len(images), 1))


@pytest.mark.parametrize(
    "whole, pieces, scores, number",
    [
        (10, (99, 95), CodedScores, True),  # the whole refused, each piece surely a digit: touching digits
        (10, (99, 60), CodedScores, False),  # a piece accepted, but unsure it is a digit (a heart's "1")
        (50, (99, 99), CodedScores, False),  # the whole accepted: one digit, as before
        (10, (99, 99), CodedOnes, False),  # all 1s: a letter's or a hatching's strokes, cut apart
    ],
)
def test_a_refused_whole_is_read_as_its_touching_digits_only_when_each_is_surely_a_digit(whole, pieces, scores, number):
    from mnist_cnn.prediction import Reading, pieces_if_refused

    coded = scores()
    split = Reading([np.full((28, 28), code, dtype=np.uint8) for code in pieces], [[0, 0, 10, 10], [9, 0, 20, 10]])
    reading = Reading([np.full((28, 28), whole, dtype=np.uint8)], pieces=lambda: split)
    assert pieces_if_refused(coded, reading, coded) is (split if number else reading)
    assert pieces_if_refused(coded, Reading(reading.images), coded).images is reading.images  # no pieces: as it is


def touching_pair(images, labels, rng) -> tuple[Image.Image, str]:
    """Two MNIST digits (no 1s) overlapping by 1-3 columns into one mark, enlarged 3x onto grey
    paper and photographed (noise, JPEG): a small photo of a touching 2-digit number, and the number."""
    import io

    from scipy import ndimage

    while True:
        first, second = rng.choice(len(images), 2, replace=False)
        if 1 in (labels[first], labels[second]):
            continue
        a, b = (images[i].astype(np.float32) for i in (first, second))
        a, b = (digit[:, np.flatnonzero(digit.max(axis=0) > 60)[[0, -1]].tolist()[0] :] for digit in (a, b))
        a, b = (digit[:, : np.flatnonzero(digit.max(axis=0) > 60)[-1] + 1] for digit in (a, b))
        overlap = int(rng.integers(1, 4))
        canvas = np.zeros((28, a.shape[1] + b.shape[1] - overlap + 16), np.float32)
        canvas[:, 8 : 8 + a.shape[1]] = a
        right = canvas[:, 8 + a.shape[1] - overlap : 8 + a.shape[1] - overlap + b.shape[1]]
        right[...] = np.maximum(right, b)
        if ndimage.label(canvas > 60)[1] == 1:
            break
    big = np.asarray(Image.fromarray(canvas).resize((canvas.shape[1] * 3, 84), Image.Resampling.BICUBIC))
    photo = 210 - 0.65 * big + rng.normal(0, 3, big.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return Image.open(io.BytesIO(buffer.getvalue())), f"{labels[first]}{labels[second]}"


def test_two_touching_digits_in_a_small_photo_are_read_as_a_number(mnist_dir):
    """Helper-39's kind: "45" and "97" touching in a photo of about 100 pixels were one mark, read
    as one digit and refused in the auto mode. A mark as wide as it is tall is now also read as a
    number, which wins when the whole is refused and each digit is surely one. On 105 such pairs
    of validation digits 44 were read right before, 74 now (3 read as a wrong number, 1 before)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import own_digits
    from mnist_cnn.data import load_dataset

    images, labels = own_digits.source_digits(load_dataset("mnist", mnist_dir), "validation")
    rng = np.random.default_rng(5)
    pairs = [touching_pair(images, labels, rng) for _ in range(12)]
    answers = mnist_cnn.predict([photo for photo, _ in pairs], model="best")
    right = [
        getattr(answer, "number", None) == number and answer.status == "digit"
        for answer, (_, number) in zip(answers, pairs)
    ]
    assert sum(right) >= 8, [answer.describe() for answer in answers]


def fifty_one(gap: int) -> Image.Image:
    """A "51" drawn with a 7-pixel pen on 210x147 white, the 1 ``gap`` pixels right of the 5's bowl."""
    image = Image.new("L", (210, 147), 255)
    pen = ImageDraw.Draw(image)
    pen.line((95, 30, 68, 30), fill=0, width=7)
    pen.line((68, 30, 64, 72), fill=0, width=7)
    pen.arc((58, 58, 108, 112), 240, 520, fill=0, width=7)
    pen.line((108 + gap, 28, 110 + gap, 114), fill=0, width=7)
    return image


def test_a_5_and_a_1_written_apart_are_51_not_one_5():
    """Helper-38's kind: "51" with the 1 clear of the 5 by an eighth of their height was read as one
    5 in the auto mode, its whole image a likelier digit to the detector than a plain 1."""
    answers = mnist_cnn.predict([fifty_one(gap) for gap in (18, 22, 30)], model="best")
    assert [getattr(answer, "number", None) for answer in answers] == ["51", "51", "51"]


def test_one_digit_is_a_plain_prediction_and_single_forces_it(tmp_path):
    path = draw_number(tmp_path / "seven.png", [SEVEN])
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, Prediction) and answer.digit == 7 and answer.box is None
    number = draw_number(tmp_path / "n.png", [SEVEN, FOUR])
    (single,) = mnist_cnn.predict([number], model="best", mode="single")
    assert isinstance(single, Prediction)
    (forced,) = mnist_cnn.predict([path], model="best", mode="number")
    assert isinstance(forced, NumberPrediction) and forced.number == "7"


@pytest.mark.parametrize("digits", ["1111", "4141"])
def test_a_number_of_straight_stems_is_read_not_erased_as_ruled_paper(tmp_path, digits):
    path = draw_number(tmp_path / "n.png", [{"1": ONE, "4": FOUR}[digit] for digit in digits])
    (answer,) = mnist_cnn.predict([path], model="best")  # "1111" was "no digit found", "4141" read 66
    assert isinstance(answer, NumberPrediction) and answer.number == digits, answer.describe()


FRAMES = {  # the number's ink spans x 63-477, y 63-277 on the 600x340 canvas
    "a form field's box": lambda draw: draw.rectangle((30, 30, 560, 310), outline=0, width=4),
    "a plaque's rounded border": lambda draw: draw.rounded_rectangle((25, 20, 570, 320), 50, outline=0, width=16),
    "a meter's cells, a digit touching one": lambda draw: (
        draw.rectangle((30, 30, 520, 310), outline=0, width=5),
        [draw.line((x, 30, x, 310), fill=0, width=5) for x in (190, 346)],
    ),
    "the line it is written above": lambda draw: draw.line((20, 300, 580, 300), fill=0, width=14),
}


@pytest.mark.parametrize("frame", FRAMES)
def test_a_number_in_a_frame_or_above_a_line_is_read_without_it(tmp_path, frame):
    path = draw_number(tmp_path / "n.png", [SEVEN, ONE, FOUR])
    canvas = Image.new("L", (600, 340), 255)
    canvas.paste(Image.open(path), (40, 40))
    FRAMES[frame](ImageDraw.Draw(canvas))
    canvas.save(path)
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, NumberPrediction) and answer.number == "714", answer.describe()


def test_a_small_crop_of_a_form_field_is_read_without_its_box(tmp_path):
    path = draw_number(tmp_path / "n.png", [SEVEN, ONE, FOUR])
    canvas = Image.new("L", (700, 400), 255)  # the box spans 76% of the crop's width
    canvas.paste(Image.open(path), (90, 70))
    ImageDraw.Draw(canvas).rectangle((80, 60, 610, 340), outline=0, width=4)
    canvas.resize((210, 120), Image.Resampling.LANCZOS).save(path)  # under 128 pixels high
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, NumberPrediction) and answer.number == "714", answer.describe()


def test_a_form_field_s_box_across_nearly_all_of_a_small_crop_is_no_pair_of_ruled_lines(tmp_path):
    path = draw_number(tmp_path / "n.png", [SEVEN, ONE, FOUR])
    canvas = Image.new("L", (600, 340), 255)  # the box spans 88% of the crop's width: its top and
    canvas.paste(Image.open(path), (40, 40))  # bottom were erased as ruled lines, its sides read as 1s
    FRAMES["a form field's box"](ImageDraw.Draw(canvas))
    canvas.resize((212, 120), Image.Resampling.LANCZOS).save(path)
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, NumberPrediction) and answer.number == "714", answer.describe()


def on_dark_plaque(path, border: bool, turn: float) -> None:
    """The drawing of "714" in light ink on a dark rounded plaque (grey 45) on a lighter wall (190),
    with a light border inside the plaque's edge or not, turned ``turn`` degrees, soft and noisy."""
    number = 255 - np.asarray(Image.open(draw_number(path, [SEVEN, ONE, FOUR])), dtype=np.float32)
    writing = np.zeros((420, 700), np.float32)
    writing[80:340, 90:610] = number / 255
    plaque, ring = Image.new("L", (700, 420), 0), Image.new("L", (700, 420), 0)
    ImageDraw.Draw(plaque).rounded_rectangle((60, 55, 640, 365), 40, fill=255)
    if border:
        ImageDraw.Draw(ring).rounded_rectangle((72, 67, 628, 353), 32, outline=255, width=8)
    face = np.asarray(plaque, np.float32) / 255
    light = np.maximum(writing, np.asarray(ring, np.float32) / 255)
    image = 190 * (1 - face) + (45 * (1 - light) + 235 * light) * face
    turned = Image.fromarray(image.astype(np.float32), mode="F").rotate(turn, Image.Resampling.BILINEAR, fillcolor=190)
    noisy = np.asarray(turned) + np.random.default_rng(0).normal(0, 3, image.shape)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)).save(path)


@pytest.mark.parametrize("border, turn", [(False, 0.0), (True, 0.0), (True, 3.0), (False, -2.0)])
def test_light_digits_on_a_dark_plaque_are_read(tmp_path, border, turn):
    path = tmp_path / "plaque.png"
    on_dark_plaque(path, border, turn)
    (answer,) = mnist_cnn.predict([path], model="best")  # the plaque was the ink, its digits holes: "0"
    assert isinstance(answer, NumberPrediction) and answer.number == "714", answer.describe()


def test_light_digits_on_a_small_crop_of_a_dark_plaque_are_read(tmp_path):
    """Helper-45's house number "19", a 218x110 crop: under 128 pixels on a side the plaque was not
    looked for (``plaques.PLAQUE_SMALLEST``), and the plaque itself was read as a "0"."""
    path = tmp_path / "plaque.png"
    on_dark_plaque(path, False, 0.0)
    Image.open(path).resize((200, 120), Image.Resampling.LANCZOS).save(path)
    (answer,) = mnist_cnn.predict([path], model="best")
    assert isinstance(answer, NumberPrediction) and answer.number == "714", answer.describe()


def test_cli_prints_the_number_and_its_digits_and_json_gives_boxes(tmp_path):
    path = draw_number(tmp_path / "n.png", [FOUR, SEVEN])
    result = run_cli("predict", str(path))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"{path}: 47 (digits 4 "), result.stdout
    result = run_cli("predict", str(path), "--json", "--save-preprocessed", str(tmp_path / "seen"))
    answer = json.loads(result.stdout)
    assert answer["number"] == "47" and [digit["digit"] for digit in answer["digits"]] == [4, 7]
    assert all(len(digit["box"]) == 4 and len(digit["probabilities"]) == 10 for digit in answer["digits"])
    assert all(digit["status"] in ("digit", "unsure", "not_a_digit") for digit in answer["digits"])
    seen = sorted(path.name for path in (tmp_path / "seen").iterdir())
    assert seen == ["n.png.1.28x28.png", "n.png.2.28x28.png"]
    assert np.asarray(Image.open(tmp_path / "seen" / seen[0])).shape == (28, 28)


def test_cli_single_and_csv(tmp_path):
    path = draw_number(tmp_path / "n.png", [FOUR, SEVEN])
    result = run_cli("predict", str(path), "--single", "--csv", str(tmp_path / "a.csv"))
    assert result.returncode == 0 and "digits" not in result.stdout and "top 3" in result.stdout
    result = run_cli("predict", str(path), "--csv", str(tmp_path / "b.csv"))
    with (tmp_path / "b.csv").open(newline="") as file:
        assert [row["digit"] for row in csv.DictReader(file)] == ["47"]


def test_single_and_number_cannot_both_be_asked_for(tmp_path):
    path = draw_number(tmp_path / "n.png", [FOUR])
    result = run_cli("predict", str(path), "--single", "--number")
    assert result.returncode == 2 and "not allowed with" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["digits", ""])
def test_an_unknown_mode_is_a_value_error(mode):
    with pytest.raises(ValueError, match="mode"):
        mnist_cnn.predict([np.zeros((28, 28))], model="seed", mode=mode)


def test_the_api_returns_a_number_with_its_digits_and_boxes(tmp_path):
    import asyncio

    import httpx

    from mnist_cnn.runtimes import load_model
    from mnist_cnn.serving.app import Settings, create_app

    body = draw_number(tmp_path / "n.png", [SEVEN, ONE]).read_bytes()
    app = create_app(Settings(), load_model("best", runtime="onnx"))

    async def post():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            return await http.post("/v1/predict", content=body, headers={"content-type": "image/png"})

    response = asyncio.run(post())
    assert response.status_code == 200, response.text
    (answer,) = response.json()["predictions"]
    assert answer["number"] == "71" and answer["digit"] is None and len(answer["digits"]) == 2
    assert all(len(digit["box"]) == 4 and len(digit["image"]) == 28 for digit in answer["digits"])


def test_a_number_whose_pieces_are_no_digits_says_so_in_its_line():
    def piece(digit, status):
        probabilities = [0.0] * 10
        probabilities[digit] = 0.9
        return Prediction(digit, 0.9, probabilities, np.zeros((28, 28), np.uint8), status=status)

    refused = NumberPrediction([piece(4, "not_a_digit"), piece(2, "not_a_digit"), piece(5, "digit")], path="a.png")
    assert refused.status == "not_a_digit"
    assert refused.describe() == ("not a digit (nearest number 425: digits 4 not_a_digit, 2 not_a_digit, 5 90.0%)")
    doubted = NumberPrediction([piece(4, "not_a_digit"), piece(2, "digit"), piece(5, "digit")])
    assert doubted.status == "unsure" and doubted.describe().startswith("425 (digits 4 not_a_digit, 2 90.0%")
