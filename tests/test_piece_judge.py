"""The piece judge: how scripts/train_piece_judge.py labels the pieces it learns from, and that the
shipped judge runs in every runtime and is what number segmentation asks."""

import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn import segmentation
from mnist_cnn.rejection import PIECE_JUDGE_DIR, Rejector, Thresholds, load_rejector
from mnist_cnn.runtimes import load_model

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = Thresholds(digit=0.5, confidence=0.5)


@pytest.fixture(scope="module")
def judge_script():
    saved = sys.path[:]
    sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks")]
    try:
        import train_piece_judge

        yield train_piece_judge
    finally:
        sys.path[:] = saved


def two_bars(gap: int) -> list[np.ndarray]:
    """Two digits' layers at MNIST scale: a 3x20 bar at columns 10-13 and one at 13 + gap."""
    layers = [np.zeros((30, 50), np.uint8) for _ in range(2)]
    layers[0][5:25, 10:13] = 255
    layers[1][5:25, 13 + gap : 16 + gap] = 255
    return layers


def blob(top: int, left: int, mask: np.ndarray) -> segmentation.Blob:
    return segmentation.Blob(top, left, mask, float(mask.sum()))


def test_each_map_pixel_belongs_to_the_digit_whose_layer_holds_it(judge_script):
    layers = two_bars(10)
    gray_shape = (300, 500)  # drawn 10x larger than the layers
    ink = np.zeros((150, 250), np.float32)  # the map at half the image's size
    placement = segmentation.Placement(0, 0, 2.0, 2.0)
    owner = judge_script.owners(gray_shape, layers, ink, placement)
    assert owner.shape == ink.shape
    assert owner[75, 57] == 0  # map column 57 -> image column 115 -> layer column 11
    assert owner[75, 122] == 1  # map column 122 -> layer column 24
    assert owner[75, 200] == -1 and owner[5, 57] == -1  # paper


def test_pieces_are_labelled_whole_digit_fragment_or_two_digits(judge_script):
    owner = np.full((20, 40), -1)
    owner[:, 0:10] = 0
    owner[:, 10:20] = 1
    totals = np.array([200, 200])
    full = np.ones((20, 10), bool)
    assert judge_script.label(blob(0, 0, full), owner, totals) == 1  # digit 0, all of it
    assert judge_script.label(blob(0, 0, np.ones((20, 11), bool)), owner, totals) == 1  # and a touch of digit 1
    assert judge_script.label(blob(0, 0, np.ones((20, 5), bool)), owner, totals) == 0  # half of digit 0
    assert judge_script.label(blob(0, 0, np.ones((20, 15), bool)), owner, totals) == 0  # digit 0 and half of 1
    assert judge_script.label(blob(0, 0, np.ones((20, 8), bool)), owner, totals) == -1  # 80%: left out
    assert judge_script.label(blob(0, 0, np.ones((20, 20), bool)), owner, totals) == 0  # both digits


def test_a_touching_pair_gives_whole_digits_and_not_whole_digits(judge_script):
    rng = np.random.default_rng(0)
    images, labels = judge_script.pieces_of(two_bars(-1), rng)
    assert images and all(image.shape == (28, 28) and image.dtype == np.uint8 for image in images)
    assert set(labels) <= {0, 1}
    assert 0 in labels  # the pair uncut is two digits


def test_words_give_whole_letters_and_pieces_that_are_not_one(judge_script):
    images, labels = judge_script.chunk((3, 4, True))
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28) and len(images) == len(labels)
    assert set(labels.tolist()) == {0, 1}  # whole letters, and fragments or pairs of them


def test_candidate_pieces_are_the_merged_digits_and_the_pieces_between_cuts():
    ink = np.zeros((60, 140), np.float32)
    ink[10:50, 10:16] = 1  # a "1"
    ink[10:50, 40:70] = 1  # a wide block, cut candidates inside
    ink[28:32, 48:62] = 0.0
    ink[10:50, 100:106] = 1  # another "1"
    pieces = segmentation.candidate_pieces(ink)
    assert sorted((p.left, p.width) for p in pieces if p.left in (10, 100)) == [(10, 6), (100, 6)]  # the 1s
    assert any(piece.left == 40 and piece.width == 30 for piece in pieces)  # the block uncut
    assert len(pieces) > 3  # and pieces of it
    assert segmentation.candidate_pieces(np.zeros((10, 10), np.float32)) == []


class Constant:
    """A stand-in model giving one value for every image."""

    def __init__(self, value: float):
        self.value = value

    def probabilities(self, images):
        return np.full((len(images), 1), self.value, np.float32)


def test_segmentation_asks_the_piece_judge_and_falls_back_to_the_detector():
    images = np.zeros((3, 28, 28), np.uint8)
    assert np.allclose(Rejector(Constant(0.9), THRESHOLDS, lambda: Constant(0.2)).one_digit_probabilities(images), 0.2)
    assert np.allclose(Rejector(Constant(0.9), THRESHOLDS).one_digit_probabilities(images), 0.9)
    assert Rejector(None, THRESHOLDS).one_digit_probabilities(images) is None
    # rejection itself always asks the detector
    assert np.allclose(Rejector(Constant(0.9), THRESHOLDS, lambda: Constant(0.2)).digit_probabilities(images), 0.9)


@pytest.mark.parametrize("runtime", ["keras", "onnx", "litert"])
def test_the_shipped_piece_judge_runs_in_every_runtime_and_they_agree(runtime, judge_script):
    assert (PIECE_JUDGE_DIR / "model.onnx").exists()
    rng = np.random.default_rng(1)
    layers = two_bars(-1)
    images = np.stack(judge_script.pieces_of(layers, rng)[0][:8])
    reference = load_rejector(load_model("seed", runtime="keras")).one_digit_probabilities(images)
    rejector = load_rejector(load_model("seed", runtime=runtime))
    assert rejector.piece_judge.runtime == runtime
    scores = rejector.one_digit_probabilities(images)
    assert scores.shape == (len(images),) and np.all((scores >= 0) & (scores <= 1))
    np.testing.assert_allclose(scores, reference, atol=1e-4)
