"""The bold reader: how strokes are measured, which images count as bold, that prediction gives those
(and only one-digit ones) to the reader, that the shipped reader runs alike in every runtime, and that it
reads real validation digits written with a marker better than ``best`` does."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from conftest import Constant, run_cli
from mnist_cnn import preprocessing, readers
from mnist_cnn.bold_strokes import READER_DIR, is_bold, reader_for
from mnist_cnn.prediction import Prediction, Reading, classify, classify_readings, read
from mnist_cnn.preprocessing import digit
from mnist_cnn.runtimes import load_model


def ring(height: int, multiple: float, blur: float = 0.0) -> np.ndarray:
    """An oval 0, ``height`` pixels tall, its stroke ``multiple`` times MNIST's proportion (12% of the
    height), as ink: float32 (h, w), values 0-1, light on dark, blurred by a Gaussian of ``blur``."""
    size = height + 20
    rows, cols = np.indices((size, size)) - (size - 1) / 2
    path = np.abs(np.hypot(rows / (height / 2 * 0.8), cols / (height / 2 * 0.55)) - 1) < 0.02
    width = multiple * digit.STROKE_RATIO * height
    ink = (ndimage.distance_transform_edt(~path) <= width / 2).astype(np.float32)
    return ndimage.gaussian_filter(ink, blur) if blur else ink


def on_paper(ink: np.ndarray) -> np.ndarray:
    """Ink as a photo's grey levels: dark on light paper, uint8."""
    return np.round(235 - 215 * ink).astype(np.uint8)


@pytest.mark.parametrize("multiple", [1.0, 2.0, 3.0])
def test_stroke_multiple_measures_a_pen_in_mnist_widths(multiple):
    measured = digit.stroke_multiple(preprocessing.crop_digit(ring(120, multiple)))
    assert measured == pytest.approx(multiple, rel=0.2)


def test_stroke_multiple_of_no_ink_is_zero():
    assert digit.stroke_multiple(np.zeros((40, 40), np.float32)) == 0


def test_solid_strokes_are_a_pens_blurred_ones_are_not():
    assert digit.is_solid(ring(120, 3.0))
    assert not digit.is_solid(ring(120, 3.0, blur=6))  # a tiny scan enlarged: wide because soft
    assert not digit.is_solid(np.zeros((10, 10), np.float32))


@pytest.mark.parametrize(("multiple", "bold"), [(1.0, False), (1.4, False), (2.2, True), (3.5, True)])
def test_bold_means_solid_and_fatter_than_the_threshold(multiple, bold):
    assert is_bold(preprocessing.crop_digit(ring(120, multiple))) is bold


def test_a_blurred_wide_stroke_and_no_ink_are_not_bold():
    assert not is_bold(preprocessing.crop_digit(ring(120, 3.0, blur=6)))
    assert not is_bold(np.zeros((50, 50), np.float32))


def test_reading_marks_bold_digits_in_both_one_digit_modes_and_every_form(tmp_path):
    bold, thin = tmp_path / "bold.png", tmp_path / "thin.png"
    Image.fromarray(on_paper(ring(200, 3.0))).save(bold)
    Image.fromarray(on_paper(ring(200, 1.0))).save(thin)
    for mode in ("auto", "single"):
        assert read(bold, mode).kind == "bold" and read(thin, mode).kind is None
    assert read(bold, "number").kind is None and read(bold, "number").digit_kinds == ["bold"]  # per digit
    assert read(thin, "number").digit_kinds == [None]
    assert read(on_paper(ring(200, 3.0)).astype(np.float32)).kind == "bold"  # an array other than 28x28
    mnist_format = np.zeros((28, 28), np.uint8)
    mnist_format[4:24, 8:20] = 255  # a solid block: fat, but MNIST format is never preprocessed
    assert read(mnist_format).kind is None


def test_only_bold_digits_are_given_to_the_bold_reader(monkeypatch):
    stand_ins = {"bold": Constant(5, "bold"), "low_resolution": Constant(7, "tiny")}
    monkeypatch.setattr(readers, "reader_for", lambda classifier, kind: stand_ins[kind])
    images = [np.full((28, 28), value, np.uint8) for value in (10, 20, 30, 40)]
    answers = classify(Constant(3), images, [None] * 4, kinds=[None, "bold", "low_resolution", "bold"])
    assert [answer.digit for answer in answers] == [3, 5, 7, 5]
    assert [answer.reader for answer in answers] == [None, "bold", "low_resolution", "bold"]
    boxes = [[0, 0, 1, 1], [1, 0, 2, 1]]
    readings = [
        Reading(images[:1], kind="bold"),
        Reading(images[:2], boxes, kind="bold"),  # a number's kind is its whole's: its digits are not bold
        Reading(images[:2], boxes, digit_kinds=[None, "bold"]),  # a number's bold digit is the reader's
    ]
    single, number, marked = classify_readings(Constant(3), readings, ["a", "b", "c"])
    assert single.digit == 5 and [digit.digit for digit in number.digits] == [3, 3]
    assert [digit.digit for digit in marked.digits] == [3, 5] and marked.digits[1].reader == "bold"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="reader kind"):
        classify(Constant(3), [np.zeros((28, 28), np.uint8)], [None], kinds=["italic"])


def test_without_a_bold_reader_the_model_reads_bold_digits_itself(monkeypatch):
    monkeypatch.setattr(readers, "reader_for", lambda classifier, kind: None)
    (answer,) = classify(Constant(3), [np.zeros((28, 28), np.uint8)], [None], kinds=["bold"])
    assert answer.digit == 3 and answer.reader is None


def test_the_bold_reader_serves_best_only_by_its_shipped_name(tmp_path):
    assert reader_for(load_model("seed", runtime="onnx")) is None
    copy = tmp_path / "best.onnx"
    copy.write_bytes((Path(load_model("best", runtime="onnx").path)).read_bytes())
    assert reader_for(load_model(copy)) is None  # a user's file named best is the user's model
    reader = reader_for(load_model("best", runtime="onnx"))
    assert reader is not None and reader.runtime == "onnx" and Path(reader.path).parent == READER_DIR
    assert (READER_DIR / "MODEL_CARD.md").is_file()


@pytest.mark.parametrize("runtime", ["keras", "litert"])
def test_the_bold_reader_runs_alike_in_every_runtime(runtime):
    images = np.stack([preprocessing.to_mnist(on_paper(ring(150, multiple))) for multiple in (2.0, 3.0, 4.0)])
    reference = reader_for(load_model("best", runtime="onnx")).probabilities(images)
    reader = reader_for(load_model("best", runtime=runtime))
    np.testing.assert_allclose(reader.probabilities(images), reference, atol=2e-4)


@pytest.fixture(scope="module")
def validation_markers():
    """300 validation digits (held out by every shipped model) written with a marker by the package's
    renderer (``markers.marker_image``), as grey photos, and their labels."""
    from conftest import real_data_dir
    from mnist_cnn import data, markers

    dataset = data.load_dataset("mnist", real_data_dir())
    _, (images, labels) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    rng = np.random.default_rng(11)
    chosen = rng.choice(len(images), 300, replace=False)
    photos = [markers.marker_image(images[index], rng) for index in chosen]
    return photos, labels[chosen]


def test_the_bold_reader_reads_real_marker_digits_better_than_best(validation_markers):
    photos, labels = validation_markers
    best = load_model("best", runtime="onnx")
    inks = [preprocessing.find_ink(photo)[0] for photo in photos]
    crops = [preprocessing.crop_digit(ink) for ink in inks]
    images = np.stack([preprocessing.cropped_to_mnist(cropped) for cropped in crops])
    bold = np.array([is_bold(cropped) for cropped in crops])
    assert bold.mean() > 0.8  # markers of 1.5-4.5x MNIST's width: nearly all measured bold
    by_best = best.probabilities(images).argmax(1) == labels
    by_reader = reader_for(best).probabilities(images).argmax(1) == labels
    assert by_reader.mean() >= by_best.mean() + 0.03
    answers = classify(best, list(images), [None] * len(images), kinds=["bold" if b else None for b in bold])
    assert np.mean([answer.digit for answer in answers] == labels) > by_best.mean()


def test_predict_answers_a_bold_digit_with_the_readers_probabilities(tmp_path):
    marker = tmp_path / "marker.png"
    Image.fromarray(on_paper(ring(160, 3.0))).save(marker)
    result = run_cli("predict", str(marker), "--json", "--runtime", "onnx")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    image = preprocessing.to_mnist(preprocessing.open_image(marker))[None]
    best = load_model("best", runtime="onnx")
    np.testing.assert_allclose(answer["probabilities"], reader_for(best).probabilities(image)[0], atol=1e-5)
    assert not np.allclose(answer["probabilities"], best.probabilities(image)[0], atol=1e-5)


def test_a_bold_digit_is_explained_by_the_reader_that_read_it(monkeypatch):
    from mnist_cnn import explain
    from mnist_cnn.prediction import Prediction

    stand_ins = {"bold": Constant(5, "bold"), "low_resolution": Constant(7, "tiny")}
    monkeypatch.setattr(readers, "reader_for", lambda classifier, kind: stand_ins[kind])
    asked = []

    def record(chosen, images, targets, method):
        asked.append((chosen.name, [int(image[0, 0]) for image in images], list(targets)))
        return np.zeros((len(images), 28, 28), np.float32) + len(asked)

    monkeypatch.setattr(explain, "explain", record)
    answers = [
        Prediction(5, 1.0, [0.0] * 10, np.full((28, 28), 1, np.uint8), reader="bold"),
        Prediction(3, 1.0, [0.0] * 10, np.full((28, 28), 2, np.uint8)),
        Prediction(7, 1.0, [0.0] * 10, np.full((28, 28), 3, np.uint8), reader="low_resolution"),
        Prediction(5, 1.0, [0.0] * 10, np.full((28, 28), 4, np.uint8), reader="bold"),
    ]
    maps = explain.explain_predictions(Constant(3), answers)
    assert asked == [("bold", [1, 4], [5, 5]), ("stand-in", [2], [3]), ("tiny", [3], [7])]
    assert [float(group[0][0, 0]) for group in maps] == [1.0, 2.0, 3.0, 1.0]


def test_json_names_the_reader_that_answered_and_leaves_the_field_out_otherwise():
    plain = Prediction(7, 0.9, [0.01] * 10, np.zeros((28, 28), np.uint8))
    assert "reader" not in plain.to_json()
    bold = Prediction(7, 0.9, [0.01] * 10, np.zeros((28, 28), np.uint8), reader="bold")
    assert bold.to_json()["reader"] == "bold"


def marker_number(digits: np.ndarray, rng: np.random.Generator, width: float) -> np.ndarray:
    """MNIST digits (uint8 (n, 28, 28)) written side by side with a marker ``width`` times MNIST's
    stroke (``markers``' pen path and tip) as a grey photo: float32 (h, w), grey levels 0-255."""
    from mnist_cnn import markers

    scale = 5
    glyphs = [markers.traced(markers.pen_path(digit, scale, rng), width * 2.5 * scale / 2, 1.0, 12) for digit in digits]
    height = max(glyph.shape[0] for glyph in glyphs)
    alpha = np.concatenate([np.pad(glyph, ((0, height - glyph.shape[0]), (0, 0))) for glyph in glyphs], axis=1)
    return np.clip(215 - 180 * alpha + rng.normal(0, 3, alpha.shape), 0, 255).astype(np.float32)


def test_a_numbers_bold_digits_are_read_by_the_bold_reader():
    """Numbers written with a marker (validation digits): each bold digit goes to the bold reader."""
    from conftest import real_data_dir
    from mnist_cnn import data
    from mnist_cnn.prediction import read_digits, read_gray
    from mnist_cnn.rejection import load_rejector

    dataset = data.load_dataset("mnist", real_data_dir())
    _, (images, labels) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    best = load_model("best", runtime="onnx")
    judge = load_rejector(best).one_digit_probabilities
    rng = np.random.default_rng(8)
    right = {"best": 0, "routed": 0}
    kinds = []
    for _ in range(40):
        chosen = rng.choice(len(images), 3, replace=False)
        expected = "".join(str(int(label)) for label in labels[chosen])
        reading = read_gray(
            marker_number(images[chosen], rng, rng.uniform(2.0, 4.0)), "number", best.probabilities, judge
        )
        kinds += reading.digit_kinds
        digits = np.stack(reading.images)
        routed, read_by = read_digits(best, digits, reading.digit_kinds)
        assert read_by == reading.digit_kinds
        right["routed"] += "".join(str(int(row.argmax())) for row in routed) == expected
        right["best"] += "".join(str(int(row.argmax())) for row in best.probabilities(digits)) == expected
    assert np.mean([kind == "bold" for kind in kinds]) > 0.9
    assert right["routed"] >= right["best"] + 4, right  # 35 against 27 when written


def test_predict_reads_a_marker_number_with_the_bold_reader_digit_by_digit(tmp_path):
    digits = np.zeros((2, 28, 28), np.uint8)
    digits[0, 4:24, 13:16] = 255  # a 1
    rows, cols = np.indices((28, 28))
    digits[1] = np.where(np.abs(np.hypot((rows - 14) / 1.4, cols - 14) - 6) < 1.3, 255, 0)  # a 0
    path = tmp_path / "ten.png"
    Image.fromarray(marker_number(digits, np.random.default_rng(0), 3.0).astype(np.uint8)).save(path)
    result = run_cli("predict", str(path), "--number", "--json", "--runtime", "onnx")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["number"] == "10" and [digit["reader"] for digit in answer["digits"]] == ["bold", "bold"]


@pytest.mark.parametrize("width", [2, 5, 12])
def test_mean_stroke_width_of_bars_and_rings(width):
    bar = np.zeros((120, 120), bool)
    bar[10:110, 50 : 50 + width] = True
    assert digit.mean_stroke_width(bar) == pytest.approx(width * 4 / np.pi, rel=0.15)  # along an axis: 4/pi wide
    if width >= 5:  # a ring's path is itself about 2 pixels wide
        assert digit.mean_stroke_width(ring(120, width / 14.4) > 0.5) == pytest.approx(width, rel=0.3)
    assert digit.mean_stroke_width(np.zeros((5, 5), bool)) == 0.0


def test_a_thin_number_is_not_measured_digit_by_digit(monkeypatch):
    """A number whose whole ink is far from bold costs no per-digit measurement; a marker's is measured."""
    from mnist_cnn import prediction, segmentation

    measured = []
    monkeypatch.setattr(prediction, "is_bold", lambda cropped: measured.append(1) or is_bold(cropped))
    rings = [ring(120, multiple) for multiple in (1.0, 1.0, 1.0)]
    for multiple, expected in ((1.0, [None] * 3), (3.0, ["bold"] * 3)):
        ink = np.concatenate([ring(120, multiple) for _ in rings], axis=1)
        segments = segmentation.find_digits(ink, segmentation.Placement(0, 0, 1.0, 1.0), ink.shape)
        assert len(segments) == 3 and prediction.number_kinds(segments, ink) == expected
        assert len(measured) == (0 if multiple == 1.0 else 3)
