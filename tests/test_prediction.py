"""The shipped model and predictions on a person's images, through the API and the CLI."""

import json
import sys

import numpy as np
import pytest
from PIL import Image

import mnist_cnn
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from conftest import run_cli
from mnist_cnn.data import load_dataset
from mnist_cnn.errors import ModelError
from mnist_cnn.runtimes import shipped_models
from own_digits import as_photo  # noqa: E402  (the benchmark's photo maker, so test and benchmark agree)
from test_preprocessing import draw_seven


@pytest.fixture(scope="module")
def seed_model():
    return mnist_cnn.load_model("seed")


@pytest.fixture(scope="module")
def test_set(mnist_dir):
    return load_dataset("mnist", mnist_dir)


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("seed", "mnist-cnn train --model seed"),
        ("best", "mnist-cnn train --model best"),
        ("best-ensemble", "mnist-cnn train --model best --ensemble 7"),
    ],
)
def test_models_are_shipped_with_their_model_cards(name, command):
    assert name in shipped_models()
    card = (mnist_cnn.runtimes.SHIPPED_DIR / name / "MODEL_CARD.md").read_text()
    assert "Test accuracy" in card and command in card


def test_shipped_ensemble_stays_under_20_mb():
    files = (mnist_cnn.runtimes.SHIPPED_DIR / "best-ensemble").iterdir()
    assert sum(path.stat().st_size for path in files) < 20_000_000


@pytest.mark.slow
@pytest.mark.parametrize(("name", "goal"), [("seed", 0.993), ("best", 0.997), ("best-ensemble", 0.9972)])
def test_shipped_models_reach_their_goal_on_the_full_test_set(mnist_dir, name, goal):
    result = run_cli("evaluate", "--model", name, "--data-dir", str(mnist_dir), "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["count"] == 10_000 and scores["accuracy"] >= goal


def test_best_is_the_default_model_and_seed_stays_available():
    assert mnist_cnn.load_model().name == "best"
    assert mnist_cnn.load_model("seed").name == "seed"


def test_predict_accepts_paths_pil_images_and_arrays(seed_model, test_set, tmp_path):
    path = tmp_path / "seven.png"
    draw_seven().save(path)
    digits = test_set.test_images[:5]
    by_path = mnist_cnn.predict(str(path), model=seed_model)
    by_image = mnist_cnn.predict(draw_seven(), model=seed_model)
    by_batch = mnist_cnn.predict(digits, model=seed_model)
    by_single = mnist_cnn.predict(digits[0], model=seed_model)
    assert by_path[0].digit == by_image[0].digit == 7 and by_path[0].path == str(path)
    assert [p.digit for p in by_batch] == test_set.test_labels[:5].tolist()
    assert by_single[0].digit == by_batch[0].digit
    assert len(by_batch[0].probabilities) == 10 and abs(sum(by_batch[0].probabilities) - 1) < 1e-4


@pytest.mark.slow
def test_mnist_digits_photographed_off_centre_are_still_recognised(seed_model, test_set):
    rng = np.random.default_rng(7)
    indices = rng.choice(len(test_set.test_images), 300, replace=False)
    photos = [as_photo(test_set.test_images[i], rng) for i in indices]
    predictions = mnist_cnn.predict(photos, model=seed_model)
    # A digit segmentation cuts in two is read as a number: wrong here.
    accuracy = np.mean([getattr(p, "digit", -1) == test_set.test_labels[i] for p, i in zip(predictions, indices)])
    assert accuracy >= 0.97


def test_cli_predict_prints_digit_confidence_and_top_three(tmp_path):
    path = tmp_path / "seven.png"
    draw_seven().save(path)
    result = run_cli("predict", str(path))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"{path}: 7 (") and "top 3: 7 " in result.stdout


def test_cli_predict_json_lines_and_saved_preprocessed_images(tmp_path):
    first, second = tmp_path / "a.jpg", tmp_path / "b.npy"
    draw_seven().save(first)
    np.save(second, np.asarray(Image.open(first).resize((28, 28))) < 100)
    result = run_cli("predict", str(first), str(second), "--json", "--save-preprocessed", str(tmp_path / "seen"))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(first), str(second)]
    keys = {"path", "status", "digit", "confidence", "digit_probability", "probabilities"}
    assert all(set(line) == keys for line in lines)
    assert len(lines[0]["probabilities"]) == 10 and lines[0]["digit"] == 7
    saved = Image.open(tmp_path / "seen" / "a.jpg.28x28.png")
    assert saved.size == (28, 28)


def test_unknown_model_name_is_a_model_error():
    with pytest.raises(ModelError, match="not a shipped model"):
        mnist_cnn.load_model("nonexistent")


def test_the_ensemble_ships_no_onnx_file_and_says_how_to_make_one(tmp_path):
    draw_seven().save(tmp_path / "seven.png")
    result = run_cli("predict", "--model", "best-ensemble", "--runtime", "onnx", str(tmp_path / "seven.png"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "has no onnx file; make one with `mnist-cnn export --model best-ensemble --format onnx" in result.stderr


def test_a_model_answers_images_it_was_just_asked_about_without_running_again(monkeypatch):
    from pathlib import Path

    from mnist_cnn import preprocessing, runtimes

    class Counting(runtimes.Classifier):
        def __init__(self):
            super().__init__("counting", Path("none"))
            self.batches = []

        def run(self, batch):
            self.batches.append(len(batch))
            return batch.reshape(len(batch), -1)[:, :10] + batch.mean(axis=(1, 2, 3))[:, None]

    model = Counting()
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    model.probabilities(images[:3])
    model.probabilities(images[:3])  # outside ``remembering`` every call runs
    assert model.batches == [3, 3] and not model.recent
    model.batches.clear()
    with model.remembering():
        first = model.probabilities(images[:3])
        again = model.probabilities(images[[2, 0, 4, 3]])  # two known, two new: only the new ones run
    assert model.batches == [3, 2] and not model.recent  # forgotten when the block closes
    assert np.array_equal(again[:2], first[[2, 0]])
    assert np.array_equal(again, model.run(preprocessing.model_input(images[[2, 0, 4, 3]])))
    model.batches.clear()
    big = np.repeat(images[:1], runtimes.RECENT_BATCH + 1, axis=0)
    monkeypatch.setattr(runtimes, "RECENT", 2)
    with model.remembering():
        model.probabilities(images[:3])
        model.probabilities(big)  # an evaluation's batch: run whole, not looked up
        assert model.batches == [3, runtimes.RECENT_BATCH + 1]
        model.probabilities(255 - images[:1])  # a new image: the memory keeps the 2 newest
        assert len(model.recent) == 2 and (255 - images[0]).tobytes() in model.recent
