"""Exports and runtimes: parity with Keras, int8 accuracy, batch sizes, and a TensorFlow-free path."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import ROOT, run_cli
from mnist_cnn.data import load_dataset
from mnist_cnn.errors import ModelError
from mnist_cnn.runtimes import SHIPPED_DIR, load_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    result = run_cli(
        "export", "--model", "seed", "--format", "all", "--out", str(out / "float"), "--data-dir", str(mnist_dir)
    )
    assert result.returncode == 0, result.stderr
    result = run_cli(
        "export",
        "--model",
        "seed",
        "--format",
        "litert",
        "--quantize",
        "int8",
        "--out",
        str(out / "int8"),
        "--data-dir",
        str(mnist_dir),
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def test_images(mnist_dir):
    return load_dataset("mnist", mnist_dir).test_images


@pytest.mark.parametrize("name", ["savedmodel", "model.onnx", "model.tflite"])
def test_every_float_export_matches_keras_on_1000_images(exported, test_images, name):
    reference = load_model(SHIPPED_DIR / "seed" / "model.keras").probabilities(test_images[:1000])
    exported_model = load_model(exported / "float" / name)
    np.testing.assert_allclose(exported_model.probabilities(test_images[:1000]), reference, atol=1e-4)


def test_manifest_records_format_input_source_and_measured_accuracy(exported):
    manifest = json.loads((exported / "float" / "manifest.json").read_text())
    assert manifest["source_model"] == "seed"
    assert set(manifest["exports"]) == {"savedmodel", "onnx", "litert"}
    for entry in manifest["exports"].values():
        assert entry["input_shape"] == [None, 28, 28, 1] and entry["input_name"]
        assert entry["test_count"] == 10_000 and entry["test_accuracy"] > 0.99


def test_int8_litert_is_within_a_tenth_of_a_point_of_float(exported):
    float_accuracy = json.loads((exported / "float" / "manifest.json").read_text())["exports"]["litert"]
    int8 = json.loads((exported / "int8" / "manifest.json").read_text())["exports"]["litert"]
    assert abs(int8["test_accuracy"] - float_accuracy["test_accuracy"]) <= 0.001
    assert int8["bytes"] < float_accuracy["bytes"] / 2


def test_savedmodel_has_a_serving_default_signature(exported):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(exported / "float" / "savedmodel"))
    assert "serving_default" in loaded.signatures


@pytest.mark.parametrize("runtime", ["onnx", "litert", "keras"])
def test_shipped_model_runs_on_every_runtime_at_several_batch_sizes(runtime, test_images):
    classifier = load_model("seed", runtime=runtime)
    reference = load_model("seed", runtime="keras").probabilities(test_images[:33])
    for size in (1, 7, 33, 1):  # LiteRT must resize its input each time
        np.testing.assert_allclose(classifier.probabilities(test_images[:size]), reference[:size], atol=1e-4)


def test_a_keras_file_cannot_be_forced_onto_another_runtime():
    with pytest.raises(ModelError, match="runs on the keras runtime, not onnx"):
        load_model(SHIPPED_DIR / "seed" / "model.keras", runtime="onnx")


@pytest.mark.parametrize("runtime", ["onnx", "litert"])
def test_predicting_with_a_light_runtime_never_imports_tensorflow(runtime, tmp_path):
    from PIL import Image

    image = tmp_path / "digit.png"
    pixels = np.full((64, 64), 255, np.uint8)
    pixels[10:54, 30:34] = 0
    Image.fromarray(pixels).save(image)
    script = textwrap.dedent(f"""
        import sys
        from mnist_cnn.cli import main
        code = main(["predict", {str(image)!r}, "--runtime", {runtime!r}])
        heavy = sorted(name for name in ("tensorflow", "keras", "sklearn", "matplotlib") if name in sys.modules)
        print("HEAVY", heavy, "CODE", code)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "HEAVY [] CODE 0" in result.stdout, result.stdout + result.stderr
    assert result.stdout.startswith(f"{image}: 1 ")


def test_base_install_predicts_and_explains_the_training_extra(tmp_path):
    """A second virtualenv with only the base install: predict works; train names the extra to add."""
    from PIL import Image

    venv = tmp_path / "base-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt")]
    subprocess.run([*pip, str(ROOT)], check=True, timeout=600)
    pixels = np.full((80, 60), 255, np.uint8)
    pixels[10:70, 27:33] = 0
    image = tmp_path / "one.png"
    Image.fromarray(pixels).save(image)
    cli = str(venv / "bin" / "mnist-cnn")
    predicted = subprocess.run([cli, "predict", str(image)], capture_output=True, text=True, timeout=120)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.startswith(f"{image}: 1 ")
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import tensorflow"], capture_output=True)
    assert installed.returncode != 0  # the base install really is light
    trained = subprocess.run([cli, "train"], capture_output=True, text=True, timeout=120)
    assert trained.returncode == 2 and "pip install 'mnist-cnn[train]'" in trained.stderr
    assert len(trained.stderr.strip().splitlines()) == 1


def test_export_checks_a_model_on_the_data_its_run_says_it_was_trained_on(tmp_path):
    from mnist_cnn.runtimes import trained_on

    model = tmp_path / "model.keras"
    assert trained_on(model) == "mnist"  # a bare model file
    (tmp_path / "metrics.json").write_text('{"dataset": "fashion-mnist"}')
    assert trained_on(model) == "fashion-mnist"
    (tmp_path / "metrics.json").write_text("{not json")
    assert trained_on(model) == "mnist"


def test_export_without_the_data_exits_2_and_leaves_no_folder(tmp_path, monkeypatch, capfd):
    from conftest import main_fails

    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    line = main_fails(["export", "--model", "seed", "--format", "onnx", "--out", str(tmp_path / "out")], capfd)
    assert line.startswith("error:") and "MNIST_CNN_DATA" in line
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def wrong_models(tmp_path_factory):
    """Keras models that are not digit classifiers: another input and output, and the digit detector."""
    import keras

    folder = tmp_path_factory.mktemp("wrong-models")
    colour = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(5, "softmax")])
    colour.save(folder / "colour.keras")
    linear = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    linear.save(folder / "linear.keras")
    detector = SHIPPED_DIR.parent / "detector" / "model.keras"
    return {"colour": folder / "colour.keras", "linear": folder / "linear.keras", "detector": detector}


@pytest.mark.parametrize("fmt", ["litert", "savedmodel", "onnx", "all"])
@pytest.mark.parametrize("which", ["colour", "detector"])
def test_exporting_a_model_that_is_not_a_digit_classifier_exits_2_naming_it_and_writes_nothing(
    wrong_models, which, fmt, mnist_dir, tmp_path, capfd
):
    from conftest import main_fails

    out = tmp_path / "out"
    argv = ["export", "--model", str(wrong_models[which]), "--format", fmt, "--out", str(out)]
    line = main_fails([*argv, "--data-dir", str(mnist_dir)], capfd)
    assert line.startswith(f"error: {wrong_models[which]}: expects input ") and "a digit model takes" in line, line
    assert not out.exists()


@pytest.mark.parametrize("which, says", [("colour", "a digit model takes (28, 28, 1)"),
                                         ("detector", "a digit model takes (28, 28, 1)"),
                                         ("linear", "has no softmax Dense layer")])  # fmt: skip
def test_calibrating_a_model_that_is_not_a_softmax_digit_classifier_exits_2_and_writes_nothing(
    wrong_models, which, says, mnist_dir, tmp_path, capfd
):
    from conftest import main_fails

    out = tmp_path / "out"
    argv = ["calibrate", "--model", str(wrong_models[which]), "--out", str(out), "--data-dir", str(mnist_dir)]
    line = main_fails(argv, capfd)
    assert line.startswith(f"error: {wrong_models[which]}: ") and says in line, line
    assert not out.exists()
