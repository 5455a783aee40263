"""Explanations: occlusion and integrated gradients on cases with known answers, the deletion test, the
test set in 2-D, and the `explain` command, `predict --explain` and `evaluate --out`'s embedding.png."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import mnist_cnn
from conftest import partial_files, run_cli
from mnist_cnn import explain
from mnist_cnn.errors import UsageError
from test_cli import assert_one_line_error
from test_preprocessing import draw_seven

REGION = (slice(8, 14), slice(10, 16))  # where the fake model looks


def region_model(images):
    """Digit 3's score is the mean ink in REGION (0-1); digit 0 gets the rest. Counts its calls."""
    region_model.calls += 1
    images = np.asarray(images, dtype=np.float32)
    score = images[:, REGION[0], REGION[1]].mean(axis=(1, 2)) / 255
    probabilities = np.zeros((len(images), 10), dtype=np.float32)
    probabilities[:, 3], probabilities[:, 0] = score, 1 - score
    return probabilities


region_model.calls = 0


def square_digit() -> np.ndarray:
    """A uint8 (28, 28) image: a bright square inside REGION and another far from it."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[9:13, 11:15] = 255
    image[20:25, 3:7] = 200
    return image


@pytest.fixture(scope="module")
def onnx_seed():
    return mnist_cnn.load_model("seed", runtime="onnx")


@pytest.fixture(scope="module")
def keras_seed():
    return mnist_cnn.load_model("seed", runtime="keras")


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    from mnist_cnn.data import load_dataset

    dataset = load_dataset("mnist", mnist_dir)
    return dataset.test_images[:16], dataset.test_labels[:16]


# Occlusion


def test_occlusion_finds_the_ink_a_model_looks_at_and_nothing_else():
    image = square_digit()
    (attribution,) = explain.occlusion(region_model, image, [3])
    assert attribution.shape == (28, 28) and attribution.dtype == np.float32
    assert (attribution[9:13, 11:15] > 0).all()  # the ink the model reads raises digit 3
    assert np.abs(attribution[20:25, 3:7]).max() == 0  # ink it never reads: no effect
    assert attribution[image == 0].max() == 0  # pixels at 0: nothing to delete, no contribution
    (against,) = explain.occlusion(region_model, image, [0])  # the same ink speaks against digit 0
    np.testing.assert_allclose(against, -attribution, atol=1e-6)


def test_occlusion_sends_all_copies_of_a_batch_to_the_model_in_one_call():
    images = np.stack([square_digit()] * 5)
    region_model.calls = 0
    explain.occlusion(region_model, images, [3] * 5)
    assert region_model.calls == 1


def test_patches_cover_every_pixel_including_the_last_row_and_column():
    corners = explain.patch_corners(4, 3)
    covered = np.zeros((28, 28), dtype=int)
    for top, left in corners:
        covered[top : top + 4, left : left + 4] += 1
    assert covered.min() >= 1 and len(corners) == 81 and corners[-1] == (24, 24)


@pytest.mark.parametrize(
    ("images", "targets", "message"),
    [
        (np.zeros((2, 32, 32), np.uint8), [1, 2], "shape \\(n, 28, 28\\).*received \\(2, 32, 32\\)"),
        (np.zeros((1, 28, 28), np.float32), [1], "dtype uint8.*received float32"),
        (np.zeros((2, 28, 28), np.uint8), [1], "one target digit.*2 in all"),
        (np.zeros((1, 28, 28), np.uint8), [10], "digits 0-9; received 10"),
        (np.zeros((1, 28, 28), np.uint8), [-1], "one target digit"),
        (np.zeros((1, 28, 28), np.uint8), [1.5], "one target digit"),
    ],
)
def test_malformed_images_or_targets_are_refused_naming_what_was_received(images, targets, message):
    with pytest.raises(ValueError, match=message):
        explain.occlusion(region_model, images, targets)


@pytest.mark.parametrize(("patch", "stride", "message"), [(0, 1, "patch between 1 and 28"), (4, 5, "stride between")])
def test_bad_patch_or_stride_is_refused(patch, stride, message):
    with pytest.raises(ValueError, match=message):
        explain.occlusion(region_model, square_digit(), [3], patch=patch, stride=stride)


def test_occlusion_is_the_same_on_onnx_and_keras(onnx_seed, keras_seed, test_digits):
    images, labels = test_digits
    maps_onnx = explain.explain(onnx_seed, images[:4], labels[:4])
    maps_keras = explain.explain(keras_seed, images[:4], labels[:4])
    np.testing.assert_allclose(maps_onnx, maps_keras, atol=2e-4)


# Integrated gradients


def dense_model(activation):
    """A Keras model: flatten, then 10 units with fixed weights and no bias, then ``activation``."""
    import keras

    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.01, (784, 10)).astype(np.float32)
    inputs = keras.Input(shape=(28, 28, 1))
    dense = keras.layers.Dense(10, use_bias=False, activation=activation)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([weights])
    return model, weights


def test_integrated_gradients_of_a_log_linear_model_are_input_times_weight():
    """log f(x) = w.x: the gradient is w everywhere on the path, so IG is exactly x * w."""
    import keras

    model, weights = dense_model(keras.ops.exp)
    image = square_digit()
    (attribution,) = explain.integrated_gradients(model, image, [3], steps=4)
    expected = (image.astype(np.float32) / 255) * weights[:, 3].reshape(28, 28)
    np.testing.assert_allclose(attribution, expected, atol=1e-6)


def test_integrated_gradients_are_complete_for_a_quadratic_model():
    """log f(x) = (w.x)^2: IG_i = x_i w_i (w.x), exact with the midpoint rule; they sum to (w.x)^2."""
    import keras

    model, weights = dense_model(lambda s: keras.ops.exp(keras.ops.square(s)))
    image = square_digit()
    (attribution,) = explain.integrated_gradients(model, image, [5], steps=2)
    x = image.astype(np.float32).reshape(-1) / 255
    total = float(x @ weights[:, 5])
    np.testing.assert_allclose(attribution.reshape(-1), x * weights[:, 5] * total, atol=1e-7)
    assert attribution.sum() == pytest.approx(total**2, rel=1e-4)


def test_integrated_gradients_on_a_real_model_sum_to_the_change_in_log_probability(keras_seed, test_digits):
    images, labels = test_digits
    attribution = explain.explain(keras_seed, images[:4], labels[:4], "integrated-gradients")
    log_p = np.log(keras_seed.probabilities(images[:4])[np.arange(4), labels[:4]])
    log_black = np.log(keras_seed.probabilities(np.zeros((1, 28, 28), np.uint8))[0, labels[:4]])
    np.testing.assert_allclose(attribution.sum(axis=(1, 2)), log_p - log_black, rtol=0.1)
    assert attribution[images[:4] == 0].max() == 0


def test_integrated_gradients_are_refused_on_onnx_with_a_way_out(onnx_seed):
    with pytest.raises(UsageError, match="only the Keras runtime has .*runs on onnx.*--method occlusion"):
        explain.explain(onnx_seed, square_digit(), [3], "integrated-gradients")
    with pytest.raises(UsageError, match="unknown explanation method 'saliency'"):
        explain.explain(onnx_seed, square_digit(), [3], "saliency")


# The deletion test


def test_deletion_by_a_good_map_lowers_the_probability_faster_than_by_a_reversed_one():
    image = square_digit()
    good = explain.occlusion(region_model, image, [3])
    rng = np.random.default_rng(0)
    curves = {
        name: explain.deletion_curve(region_model, image, [3], explain.deletion_order(order, rng))
        for name, order in (("good", good), ("reversed", -good))
    }
    assert curves["good"].shape == (1, 99)
    assert curves["good"][0, 0] == curves["reversed"][0, 0] == pytest.approx(16 * 255 / 36 / 255)
    assert curves["good"][0, -1] == curves["reversed"][0, -1] == 0
    assert explain.deletion_auc(curves["good"])[0] < 0.1 < explain.deletion_auc(curves["reversed"])[0]


def test_deletion_auc_of_a_constant_curve_is_that_constant():
    assert explain.deletion_auc(np.full((2, 5), 0.25)) == pytest.approx([0.25, 0.25])


# The test set in 2-D


def test_the_embedding_sample_keeps_every_mistake_and_fills_up_at_random():
    labels = np.arange(100) % 10
    predicted = labels.copy()
    predicted[[3, 51, 77]] = 0
    chosen = explain.embedding_sample(labels, predicted, size=20, seed=1)
    assert len(chosen) == 20 and {3, 51, 77} <= set(chosen.tolist()) and len(set(chosen.tolist())) == 20
    assert len(explain.embedding_sample(labels, predicted, size=500)) == 100
    with pytest.raises(ValueError, match="one shape"):
        explain.embedding_sample(labels, predicted[:5])


def test_a_tiny_set_is_still_laid_out_in_2d():
    points = explain.embed(np.random.default_rng(0).normal(size=(4, 16)))
    assert points.shape == (4, 2) and np.isfinite(points).all()
    with pytest.raises(ValueError, match="n >= 2"):
        explain.embed(np.zeros((1, 16)))


def test_penultimate_features_of_an_ensemble_are_its_members_side_by_side():
    import keras

    member, _ = dense_model("softmax")
    second, _ = dense_model("softmax")
    inputs = keras.Input(shape=(28, 28, 1))
    ensemble = keras.Model(inputs, keras.layers.Average()([member(inputs), second(inputs)]))
    assert explain.penultimate_features(ensemble, np.zeros((3, 28, 28), np.uint8)).shape == (3, 784 * 2)
    assert explain.penultimate_features(member, np.zeros((3, 28, 28), np.uint8)).shape == (3, 784)


def test_evaluate_out_writes_the_embedding_of_a_labelled_folder(tmp_path, capfd):
    from mnist_cnn.cli import main

    folder = tmp_path / "digits"
    for label in (1, 7):
        (folder / str(label)).mkdir(parents=True)
    for index in range(3):
        draw_seven().save(folder / "7" / f"seven{index}.png")
        stroke = Image.new("L", (100, 100), 255)
        stroke.paste(0, (45 + index, 15, 55 + index, 85))
        stroke.save(folder / "1" / f"one{index}.png")
    assert main(["evaluate", "--images", str(folder), "--model", "seed", "--out", str(tmp_path / "reports")]) == 0
    embedding = tmp_path / "reports" / "embedding.png"
    assert Image.open(embedding).size[0] > 400 and partial_files(tmp_path) == []
    capfd.readouterr()


# The command line


def test_explain_writes_a_picture_per_image_and_per_digit_of_a_number(tmp_path):
    seven, number = tmp_path / "seven.png", tmp_path / "seventeen.png"
    draw_seven().save(seven)
    canvas = Image.new("L", (300, 160), 255)
    canvas.paste(0, (40, 20, 52, 140))
    canvas.paste(draw_seven().resize((120, 120)), (150, 20))
    canvas.save(number)
    out = tmp_path / "explained"
    result = run_cli("explain", str(seven), str(number), "--out", str(out), "--runtime", "onnx", "--model", "seed")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "seven.png.explain.png",
        "seventeen.png.1.explain.png",
        "seventeen.png.2.explain.png",
    ]
    assert result.stdout.startswith(f"{seven}: 7 ")
    assert Image.open(out / "seven.png.explain.png").size[0] > 600


def test_explain_json_prints_the_map_of_each_digit(tmp_path):
    seven = tmp_path / "seven.png"
    draw_seven().save(seven)
    result = run_cli("explain", str(seven), "--json", "--model", "seed", "--method", "integrated-gradients")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    explanation = answer["explanation"]
    assert explanation["method"] == "integrated-gradients" and explanation["digit"] == answer["digit"] == 7
    attribution = np.array(explanation["map"])
    assert attribution.shape == (28, 28) and attribution.max() > 0


def test_predict_explain_writes_the_same_pictures_while_it_predicts(tmp_path):
    seven = tmp_path / "seven.png"
    draw_seven().save(seven)
    result = run_cli("predict", str(seven), "--explain", str(tmp_path / "why"), "--model", "seed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{seven}: 7 ")
    assert [path.name for path in (tmp_path / "why").iterdir()] == ["seven.png.explain.png"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--method", "integrated-gradients", "--runtime", "onnx", "--out", "{tmp}/out"], "only the Keras runtime"),
        (["--method", "integrated-gradients", "--model", "{seed}/model.tflite", "--out", "{tmp}/out"], "litert"),
        (["--method", "saliency", "--out", "{tmp}/out"], "--method: invalid choice: 'saliency'"),
        ([], "give --out DIR for the pictures, --json for the maps, or both"),
        (["--out", "{tmp}/afile"], "afile is a file, not a folder; choose another --out"),
    ],
)
def test_a_wrong_explain_invocation_is_one_line_and_writes_nothing(tmp_path, arguments, message):
    from mnist_cnn.runtimes import SHIPPED_DIR

    draw_seven().save(tmp_path / "seven.png")
    (tmp_path / "afile").write_text("in the way")
    arguments = [argument.format(tmp=tmp_path, seed=SHIPPED_DIR / "seed") for argument in arguments]
    assert_one_line_error(run_cli("explain", str(tmp_path / "seven.png"), *arguments), message)
    assert not (tmp_path / "out").exists() and partial_files(tmp_path) == []


def test_predict_method_without_explain_is_one_line(tmp_path):
    draw_seven().save(tmp_path / "seven.png")
    result = run_cli("predict", str(tmp_path / "seven.png"), "--method", "occlusion")
    assert_one_line_error(result, "--method chooses how --explain DIR explains")


def test_explain_reports_a_missing_file_and_still_explains_the_others(tmp_path):
    draw_seven().save(tmp_path / "seven.png")
    out = tmp_path / "out"
    result = run_cli("explain", str(tmp_path / "gone.png"), str(tmp_path / "seven.png"), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'gone.png'}: no such file"
    assert [path.name for path in out.iterdir()] == ["seven.png.explain.png"]


@pytest.mark.parametrize("runtime", ["onnx", "litert"])
def test_explaining_on_a_light_runtime_never_imports_tensorflow(runtime, tmp_path):
    draw_seven().save(tmp_path / "seven.png")
    script = textwrap.dedent(f"""
        import sys
        from mnist_cnn.cli import main
        code = main(["explain", {str(tmp_path / "seven.png")!r}, "--runtime", {runtime!r}, "--json",
                     "--out", {str(tmp_path / "out")!r}])
        heavy = sorted(name for name in ("tensorflow", "keras", "sklearn") if name in sys.modules)
        print("HEAVY", heavy, "CODE", code)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "HEAVY [] CODE 0" in result.stdout, result.stdout + result.stderr
    assert json.loads(result.stdout.splitlines()[0])["explanation"]["method"] == "occlusion"


def test_same_named_images_in_different_folders_get_their_own_output_files(tmp_path, capsys):
    from mnist_cnn.cli import main

    for folder in ("imgs", "d3", "tree/0", "tree/1"):
        (tmp_path / folder).mkdir(parents=True)
    for path in ("imgs/1.png", "d3/1.png", "tree/0/a.png", "tree/1/a.png"):
        draw_seven().save(tmp_path / path)
    out = tmp_path / "exp8"
    assert main(["explain", str(tmp_path / "imgs/1.png"), str(tmp_path / "d3/1.png"), "--out", str(out),
                 "--model", "seed", "--runtime", "onnx"]) == 0  # fmt: skip
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*.png")) == [
        "d3/1.png.explain.png", "imgs/1.png.explain.png"]  # fmt: skip
    assert f"-> {out / 'imgs' / '1.png.explain.png'}" in capsys.readouterr().out
    seen = tmp_path / "seen"
    assert main(["predict", str(tmp_path / "tree"), "--recursive", "--save-preprocessed", str(seen),
                 "--model", "seed", "--runtime", "onnx"]) == 0  # fmt: skip
    assert sorted(str(path.relative_to(seen)) for path in seen.rglob("*.png")) == [
        "0/a.png.28x28.png", "1/a.png.28x28.png"]  # fmt: skip


def test_output_names_keep_one_folders_file_names_and_name_standard_input_stdin():
    from mnist_cnn.cli import output_names

    assert output_names(["x/a.png", "x/b.png", "-"]) == {"x/a.png": "a.png", "x/b.png": "b.png", "-": "stdin"}
    assert output_names(["a.png"]) == {"-": "stdin", "a.png": "a.png"}
    assert output_names(["x/stdin", "-"]) == {"x/stdin": "stdin", "-": "stdin-1"}
    assert output_names(["x/stdin", "x/stdin-1", "-"])["-"] == "stdin-2"


def test_a_file_called_stdin_read_with_standard_input_keeps_its_own_preprocessed_file(tmp_path, monkeypatch):
    import io

    from mnist_cnn.cli import main

    draw_seven().save(tmp_path / "stdin", format="PNG")
    drawn = io.BytesIO()
    draw_seven().save(drawn, format="PNG")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(drawn.getvalue())))
    seen = tmp_path / "seen"
    assert main(["predict", str(tmp_path / "stdin"), "-", "--save-preprocessed", str(seen),
                 "--model", "seed", "--runtime", "onnx"]) == 0  # fmt: skip
    assert sorted(path.name for path in seen.iterdir()) == ["stdin-1.28x28.png", "stdin.28x28.png"]


def test_explain_reads_subfolders_with_recursive_as_its_note_suggests(tmp_path, capsys):
    from mnist_cnn.cli import main

    (tmp_path / "lab" / "sub").mkdir(parents=True)
    draw_seven().save(tmp_path / "lab" / "top.png")
    draw_seven().save(tmp_path / "lab" / "sub" / "inner.png")
    out = tmp_path / "exp4"
    assert main(["explain", str(tmp_path / "lab"), "--out", str(out), "--model", "seed", "--runtime", "onnx"]) == 0
    assert "add --recursive to include them" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "lab"), "--recursive", "--out", str(out / "all"),
                 "--model", "seed", "--runtime", "onnx"]) == 0  # fmt: skip
    assert sorted(str(path.relative_to(out / "all")) for path in (out / "all").rglob("*.png")) == [
        "sub/inner.png.explain.png", "top.png.explain.png"]  # fmt: skip
