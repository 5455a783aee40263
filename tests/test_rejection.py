"""Rejection: every prediction's status ("digit", "unsure", "not_a_digit"), the shipped digit detector in
every runtime, and the status in the CLI, the CSV and the API. The case folders are in test_cases.py;
AUROC and rates on many more inputs are benchmarks/rejection.py's."""

import asyncio
import csv
import json
import os
import shutil

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

import mnist_cnn
from conftest import run_cli
from mnist_cnn import outliers
from mnist_cnn.data import load_dataset
from mnist_cnn.errors import ImageError
from mnist_cnn.prediction import Prediction
from mnist_cnn.rejection import (
    DETECTOR_DIR,
    NOT_A_DIGIT,
    UNSURE,
    Rejector,
    Thresholds,
    detector_path,
    load_rejector,
    statuses,
)
from mnist_cnn.runtimes import load_model, load_network

THRESHOLDS = Thresholds(digit=0.5, confidence=0.6)


def test_statuses_follow_the_two_thresholds():
    confidences = np.array([0.99, 0.55, 0.99, 0.3])
    digit_probabilities = np.array([0.9, 0.9, 0.1, 0.2])
    assert statuses(confidences, digit_probabilities, THRESHOLDS) == ["digit", "unsure", "not_a_digit", "not_a_digit"]


def test_without_a_detector_only_unsure_applies():
    assert statuses(np.array([0.99, 0.4]), None, THRESHOLDS) == ["digit", "unsure"]


def prediction(status: str, probabilities: list[float]) -> Prediction:
    digit = int(np.argmax(probabilities))
    return Prediction(digit, max(probabilities), probabilities, np.zeros((28, 28), np.uint8), "a.png", status)


def test_each_status_is_described_in_one_line():
    probabilities = [0.0] * 10
    probabilities[4], probabilities[9] = 0.52, 0.48
    assert prediction("digit", probabilities).describe() == "4 (52.0%)"
    assert prediction(UNSURE, probabilities).describe() == "unsure: 4 or 9 (4 52.0%, 9 48.0%)"
    assert prediction(NOT_A_DIGIT, probabilities).describe() == "not a digit (nearest digit 4)"
    refused = prediction(NOT_A_DIGIT, probabilities)
    refused.digit_probability = 0.031
    assert refused.describe() == "not a digit (digit detector 3.1%; nearest digit 4)"


def test_shipped_thresholds_are_probabilities_chosen_on_validation_data():
    thresholds = Thresholds.shipped()
    assert 0 < thresholds.digit < 1 and 0 < thresholds.confidence < 1
    chosen = json.loads((DETECTOR_DIR / "thresholds.json").read_text())
    assert "validation" in chosen["chosen_on"] and "never the MNIST test set" in chosen["chosen_on"]
    assert (DETECTOR_DIR / "MODEL_CARD.md").exists()


@pytest.fixture(scope="module")
def test_set(mnist_dir):
    return load_dataset("mnist", mnist_dir)


@pytest.mark.parametrize("runtime", ["keras", "onnx", "litert"])
def test_the_detector_runs_in_every_runtime_and_they_agree(runtime, test_set):
    rng = np.random.default_rng(0)
    letters = [mnist_cnn.preprocessing.prepare(image) for image in outliers.sample("letters", rng, 16)]
    images = np.concatenate([test_set.test_images[:16], np.stack(letters)])
    reference = load_rejector(load_model("seed", runtime="keras")).digit_probabilities(images)
    rejector = load_rejector(load_model("seed", runtime=runtime))
    assert rejector.detector.runtime == runtime
    scores = rejector.digit_probabilities(images)
    assert scores.shape == (32,) and np.all((scores >= 0) & (scores <= 1))
    np.testing.assert_allclose(scores, reference, atol=1e-4)


def test_nearly_all_mnist_test_digits_are_accepted_as_digits(test_set):
    model = load_model("best", runtime="onnx")
    predictions = mnist_cnn.predict(test_set.test_images[:2000], model=model)
    accepted = np.mean([p.status == "digit" for p in predictions])
    assert accepted >= 0.99, accepted


def test_most_generated_letters_and_scribbles_are_refused():
    rng = np.random.default_rng(123)  # not a seed the detector was trained with
    images = outliers.sample("letters", rng, 100) + outliers.sample("scribbles", rng, 100)
    model = load_model("best", runtime="onnx")
    refused = 0
    for image in images:
        try:
            refused += mnist_cnn.predict(image, model=model)[0].status == NOT_A_DIGIT
        except ImageError:
            refused += 1  # blank after preprocessing: refused before the models run
    assert refused / len(images) >= 0.8, refused


def test_accept_all_turns_rejection_off():
    rng = np.random.default_rng(5)
    letter = outliers.sample("letters", rng, 1)[0]
    (answer,) = mnist_cnn.predict(letter, model="seed", accept_all=True)
    assert answer.status == "digit" and answer.digit_probability is None


def test_a_model_trained_on_another_dataset_gets_no_detector(tmp_path):
    classifier = load_model("seed", runtime="onnx")
    folder = tmp_path / "fashion-model"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(classifier.path.read_bytes())
    (folder / "metrics.json").write_text(json.dumps({"dataset": "fashion-mnist"}))
    rejector = load_rejector(load_model(str(folder / "model.onnx")))
    assert isinstance(rejector, Rejector) and rejector.detector is None


def letter_a(path):
    image = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(70, 260), (150, 40), (230, 260)], fill=0, width=14, joint="curve")
    draw.line([(105, 170), (195, 170)], fill=0, width=14)
    image.save(path)
    return path


def test_cli_says_not_a_digit_and_what_it_looks_like(tmp_path):
    path = letter_a(tmp_path / "a.png")
    result = run_cli("predict", str(path))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"{path}: not a digit (digit detector ")
    assert "; nearest digit " in result.stdout and "top 3 if a digit: " in result.stdout
    accepted = run_cli("predict", str(path), "--accept-all")
    assert accepted.returncode == 0 and "not a digit" not in accepted.stdout


def test_cli_json_and_csv_carry_the_status(tmp_path):
    path = letter_a(tmp_path / "a.png")
    result = run_cli("predict", str(path), "--json", "--csv", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["status"] == "not_a_digit" and 0 <= line["digit_probability"] < 0.5
    assert len(line["probabilities"]) == 10 and 0 <= line["digit"] <= 9
    with (tmp_path / "out.csv").open(newline="") as file:
        assert [row["status"] for row in csv.DictReader(file)] == ["not_a_digit"]


def call_api(settings, body: bytes) -> dict:
    from mnist_cnn.serving.app import create_app

    app = create_app(settings, load_model("seed"))

    async def request():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.post("/v1/predict", content=body, headers={"content-type": "image/png"})

    response = asyncio.run(request())
    assert response.status_code == 200, response.text
    return response.json()["predictions"][0]


def test_the_api_returns_each_prediction_status(tmp_path):
    from mnist_cnn.serving.app import Settings

    body = letter_a(tmp_path / "a.png").read_bytes()
    answer = call_api(Settings(), body)
    assert answer["status"] == "not_a_digit" and answer["digit_probability"] < 0.5
    assert call_api(Settings(accept_all=True), body)["status"] == "digit"


def test_the_detector_is_loaded_once_per_process_and_again_when_its_file_changes(tmp_path):
    classifier = load_model("seed", runtime="onnx")
    assert load_rejector(classifier).detector is load_rejector(classifier).detector
    copy = tmp_path / "model.onnx"
    shutil.copy(detector_path("onnx"), copy)
    first = load_network("digit-detector", copy, "onnx", outputs=1)
    assert load_network("digit-detector", copy, "onnx", outputs=1) is first
    modified = copy.stat().st_mtime_ns + 10**9
    os.utime(copy, ns=(modified, modified))
    assert load_network("digit-detector", copy, "onnx", outputs=1) is not first
