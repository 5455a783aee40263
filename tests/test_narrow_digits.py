"""Condensed handwriting: a digit under half as wide as it is tall is also read stretched across
(``digit.is_narrow``, ``digit.widened``, ``prediction.widened_if_read_better``)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import mnist_cnn
from conftest import ROOT, run_cli
from mnist_cnn import prediction, preprocessing, runtimes
from mnist_cnn.preprocessing import digit

sys.path.insert(0, str(ROOT / "benchmarks"))
import digit_sets  # noqa: E402  (the benchmark's condensed digits, so test and benchmark agree)


def thin_oval(width: int, height: int, pen: int, turn: float = 0.0) -> Image.Image:
    """A 0 written condensed: an oval ``width`` x ``height`` pixels in dark ink on grey paper."""
    image = Image.new("L", (320, 320), 232)
    box = (160 - width / 2, 160 - height / 2, 160 + width / 2, 160 + height / 2)
    ImageDraw.Draw(image).ellipse(box, outline=30, width=pen)
    return image.rotate(turn, fillcolor=232)


def test_narrow_means_under_half_as_wide_as_tall():
    assert digit.is_narrow(np.ones((100, 49), np.float32))
    assert not digit.is_narrow(np.ones((100, 50), np.float32))
    assert not digit.is_narrow(np.ones((40, 80), np.float32))


def test_a_narrow_digit_is_stretched_to_six_tenths_of_its_height():
    cropped = np.zeros((100, 30), np.float32)
    cropped[:, :4] = cropped[:, -4:] = 1.0
    cropped[:4] = cropped[-4:] = 1.0  # a thin box
    stretched = digit.widened(cropped)
    assert stretched.shape == (100, 60) and stretched.dtype == np.float32
    assert 0.0 <= stretched.min() and stretched.max() <= 1.0
    assert stretched[50, 25:35].max() == 0.0  # its inside stays open, and wider


class Table(runtimes.Classifier):
    """A stand-in model: an image filled with grey level ``v`` reads as ``table[v]``."""

    def __init__(self, table: dict[int, tuple[int, float]]):
        super().__init__("table", Path("none"))
        self.table = table

    def run(self, batch):
        rows = []
        for image in batch:
            read, confidence = self.table[int(round(float(image.mean()) * 255))]
            row = np.full(10, (1 - confidence) / 9, np.float32)
            row[read] = confidence
            rows.append(row)
        return np.stack(rows)


def field(value: int) -> np.ndarray:
    return np.full((28, 28), value, np.uint8)


@pytest.mark.parametrize(
    "as_written, stretched, looped, taken",
    [
        ((1, 0.90), (0, 0.95), False, True),  # reads better stretched, as another digit
        ((1, 0.99), (1, 0.995), False, False),  # a 1 stretched is still a 1: kept as written
        ((1, 0.98), (0, 0.90), True, True),  # a 0's tall loop read as a 1: no 1 has one
        ((1, 0.98), (0, 0.90), False, False),  # no loop, and less sure stretched
        ((1, 0.98), (1, 0.99), True, False),  # still a 1 stretched
        ((1, 0.90), (7, 0.99), False, False),  # a 1 with a flag stretched reads as a 7: kept
        ((1, 0.98), (7, 0.95), True, False),
        ((7, 0.60), (2, 0.70), False, True),
        ((7, 0.80), (2, 0.70), True, False),  # the loop rule is for what reads as a 1 only
    ],
)
def test_a_narrow_digit_is_read_stretched_only_when_that_reads_better(as_written, stretched, looped, taken):
    model = Table({10: as_written, 20: stretched, 30: (5, 0.99)})
    narrow = prediction.Reading([field(10)], widened=field(20), looped=looped)
    wide = prediction.Reading([field(30)])
    chosen = prediction.widened_if_read_better(model, [narrow, wide])
    assert chosen[1] is wide
    assert np.array_equal(chosen[0].images[0], field(20) if taken else field(10))
    assert chosen[0].widened is None if taken else chosen[0] is narrow


def test_a_loop_half_a_digit_tall_is_a_tall_loop_and_pinholes_are_not():
    oval = np.zeros((100, 30), np.float32)
    oval[:, :6] = oval[:, -6:] = oval[:6] = oval[-6:] = 1.0
    assert digit.has_tall_loop(oval)
    fat_one = np.ones((100, 30), np.float32)
    fat_one[20:30, 12:16] = fat_one[60:68, 10:14] = 0.0  # pinholes a dim photo leaves in a fat stroke
    assert not digit.has_tall_loop(fat_one)
    assert not digit.has_tall_loop(np.ones((100, 30), np.float32))


@pytest.mark.parametrize(
    "width, height, pen, turn",
    [(40, 200, 12, 0), (50, 220, 16, 0), (60, 240, 10, 0), (70, 260, 18, -15), (36, 160, 8, 10)],
)
def test_a_thin_tall_0_is_read_as_a_0_not_a_1(width, height, pen, turn):
    (answer,) = mnist_cnn.predict(thin_oval(width, height, pen, turn), "best")
    assert (answer.digit, answer.status) == (0, "digit")


def test_a_1_stays_a_1():
    for width in (10, 16, 24):
        image = Image.new("L", (320, 320), 232)
        ImageDraw.Draw(image).line((160, 60, 150, 260), fill=30, width=width)
        (answer,) = mnist_cnn.predict(image, "best")
        assert answer.digit == 1


def test_condensed_validation_digits_are_read_better_stretched(mnist_dir, monkeypatch):
    from mnist_cnn.data import load_dataset, training_split

    dataset = load_dataset("mnist", mnist_dir)
    _, (images, labels) = training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    rng = np.random.default_rng(5)
    chosen = rng.choice(len(images), 60, replace=False)
    photos = [digit_sets.condensed(images[index], rng) for index in chosen]
    model = mnist_cnn.load_model("best", runtime="onnx")

    def right() -> int:
        answers = mnist_cnn.predict(photos, model)
        return sum(answer.digit == labels[index] for answer, index in zip(answers, chosen))

    stretched = right()
    monkeypatch.setattr(prediction, "widened_if_read_better", lambda classifier, readings, rejector=None: readings)
    assert stretched >= right() + 2  # 54 of these 60 against 51 as written


def test_evaluate_images_reads_a_narrow_digit_as_predict_does(tmp_path):
    for index, turn in enumerate((0, 10)):
        (tmp_path / "0").mkdir(exist_ok=True)
        thin_oval(40, 200, 12, turn).save(tmp_path / "0" / f"oval{index}.png")
    result = run_cli("evaluate", "--model", "best", "--runtime", "onnx", "--images", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] == 1.0
    preprocessed = preprocessing.prepare(tmp_path / "0" / "oval0.png")
    assert digit.is_narrow(preprocessing.crop_digit(preprocessed.astype(np.float32) / 255))


def test_a_digit_a_specialist_reads_is_read_as_written():
    model = Table({10: (1, 0.90), 20: (0, 0.99)})
    bold = prediction.Reading([field(10)], kind="bold", widened=field(20), looped=True)
    assert prediction.widened_if_read_better(model, [bold])[0] is bold


class Detector(runtimes.Classifier):
    """A stand-in digit detector: an image filled with grey level ``v`` is a digit with ``table[v]``."""

    def __init__(self, table: dict[int, float]):
        super().__init__("detector", Path("none"), outputs=1)
        self.table = table

    def run(self, batch):
        return np.array([[self.table[int(round(float(image.mean()) * 255))]] for image in batch], np.float32)


@pytest.mark.parametrize("as_written, stretched, taken", [(0.9, 0.02, False), (0.9, 0.6, True), (0.1, 0.02, True)])
def test_a_stretched_digit_the_detector_refuses_is_not_taken_where_the_written_one_is_accepted(
    as_written, stretched, taken
):
    from mnist_cnn.rejection import Rejector, Thresholds

    model = Table({10: (8, 0.90), 20: (8, 0.99)})
    rejector = Rejector(Detector({10: as_written, 20: stretched}), Thresholds(digit=0.5, confidence=0.5))
    narrow = prediction.Reading([field(10)], widened=field(20))
    chosen = prediction.widened_if_read_better(model, [narrow], rejector)[0]
    assert (chosen is not narrow) == taken
