"""Training settings: the recipe's defaults, the settings a search tunes, --config files, mixed
ensembles, and run folders started before these settings existed (no training here)."""

import json

import pytest

from conftest import main_fails
from mnist_cnn import cli, training
from mnist_cnn.errors import ModelError, UsageError
from mnist_cnn.training import TrainConfig, build_for_training, choose_run_dir, member_config, read_config_file


def test_every_recipe_setting_defaults_to_the_recipes_own_value():
    best = TrainConfig(model="best").resolved()
    assert (best.label_smoothing, best.dropout, best.affine, best.warmup_epochs, best.pen_augmentation) == (
        0.05, 0.4, 1.0, 1.0, 0.5)  # fmt: skip
    fast = TrainConfig(model="fast", dropout=0.2).resolved()
    assert (fast.epochs, fast.label_smoothing, fast.dropout, fast.affine, fast.warmup_epochs) == (3, 0.1, 0.2, 0.0, 0.3)


def test_affine_strength_one_is_the_augmentation_best_always_had_and_zero_is_none():
    fit_model, _ = build_for_training(TrainConfig(model="best").resolved())
    warp = next(layer for layer in fit_model.layers if type(layer).__name__ == "RandomAffine")
    assert (warp.rotation, warp.shear, warp.zoom, warp.shift) == (10.0, 10.0, 0.1, 2.5)
    half, _ = build_for_training(TrainConfig(model="best", affine=0.5).resolved())
    assert next(layer for layer in half.layers if type(layer).__name__ == "RandomAffine").rotation == 5.0
    fit_model, model = build_for_training(TrainConfig(model="best", affine=0.0, pen_augmentation=0.0).resolved())
    assert fit_model is model


def test_a_run_started_before_the_new_settings_still_resumes(tmp_path):
    config = TrainConfig(model="best", epochs=3).resolved()
    saved = {key: value for key, value in config.__dict__.items()
             if key not in ("warmup_epochs", "label_smoothing", "dropout", "affine")}  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps({"config": saved}))
    assert choose_run_dir(config, tmp_path) == tmp_path
    with pytest.raises(UsageError, match="holds a run with other settings"):
        choose_run_dir(TrainConfig(model="best", epochs=3, dropout=0.3).resolved(), tmp_path)


def test_an_ensemble_mixes_recipes_in_turn_on_one_split():
    config = TrainConfig(model="best,seed", ensemble=3, seed=7).resolved()
    members = [member_config(config, index) for index in range(3)]
    assert [(member.model, member.seed, member.ensemble) for member in members] == [
        ("best", 7, 1), ("seed", 8, 1), ("best", 9, 1)]  # fmt: skip
    assert {member.resolved().split_seed for member in members} == {7}
    assert members[1].resolved().epochs == 20 and members[0].resolved().epochs == 40
    with pytest.raises(UsageError, match="needs --ensemble K with at least one member each"):
        TrainConfig(model="best,seed,fast", ensemble=2).check()
    with pytest.raises(ModelError, match="unknown model 'vgg'"):
        TrainConfig(model="best,vgg", ensemble=2).check()


def config_given_to_train(arguments: list[str], monkeypatch) -> TrainConfig:
    """The TrainConfig `mnist-cnn train ARGUMENTS` hands to training.train (which is not run)."""
    seen = {}

    def capture(config, **options):
        seen["config"] = config
        raise SystemExit(0)

    with monkeypatch.context() as patch:
        patch.setattr(training, "train", capture)
        with pytest.raises(SystemExit):
            cli.main(["train", *arguments])
    return seen["config"]


def test_a_config_file_gives_settings_that_command_line_options_override(tmp_path, monkeypatch):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"model": "fast", "learning_rate": 0.02, "dropout": 0.1, "epochs": 2}))
    assert read_config_file(path) == {"model": "fast", "learning_rate": 0.02, "dropout": 0.1, "epochs": 2}
    given = config_given_to_train(["--config", str(path), "--epochs", "5", "--seed", "3"], monkeypatch)
    assert given == TrainConfig(model="fast", learning_rate=0.02, dropout=0.1, epochs=5, seed=3)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('["fast"]', "expected a JSON object of settings"),
        ('{"momentum": 0.9}', "unknown setting 'momentum'; settings are: model, dataset, epochs"),
        ('{"epochs": 2.5}', "epochs must be a whole number; received 2.5"),
        ('{"learning_rate": "fast"}', "learning_rate must be a number; received 'fast'"),
        ('{"dropout": 1.2}', "dropout must be in [0, 1); received 1.2"),
        ('{"model": 3}', "model must be a string; received 3"),
    ],
)
def test_a_bad_config_file_exits_2_naming_the_file_and_the_setting(tmp_path, content, message, capfd):
    path = tmp_path / "best.json"
    path.write_text(content)
    line = main_fails(["train", "--config", str(path), "--out", str(tmp_path / "run")], capfd)
    assert f"--config {path}: " in line and message in line, line
    assert not (tmp_path / "run").exists()


def test_a_missing_config_file_exits_2(tmp_path, capfd):
    line = main_fails(["train", "--config", str(tmp_path / "missing.json")], capfd)
    assert "missing.json: cannot read" in line


def test_init_and_pen_closing_come_from_options_and_a_bad_init_exits_2_before_any_folder(tmp_path, monkeypatch, capfd):
    given = config_given_to_train(["--model", "best", "--init", "best", "--pen-closing", "0.3"], monkeypatch)
    assert given == TrainConfig(model="best", init="best", pen_closing=0.3)
    line = main_fails(["train", "--model", "best", "--init", "seed", "--out", str(tmp_path / "run")], capfd)
    assert line == "error: --init seed: its architecture is not best's, so its weights cannot start this run"
    line = main_fails(
        ["train", "--model", "best", "--init", str(tmp_path / "no.keras"), "--out", str(tmp_path / "run")], capfd
    )
    assert "no.keras" in line and not (tmp_path / "run").exists()
    line = main_fails(["train", "--pen-closing", "1.5", "--out", str(tmp_path / "run")], capfd)
    assert "--pen-closing must be in [0, 1]; received 1.5" in line


def test_a_run_started_before_pen_closing_and_init_resumes_without_them(tmp_path):
    from mnist_cnn.training import read_run_config

    config = TrainConfig(model="best", epochs=3).resolved()
    saved = {key: value for key, value in config.__dict__.items() if key not in ("pen_closing", "init")}
    (tmp_path / "run.json").write_text(json.dumps({"config": saved}))
    assert read_run_config(tmp_path)["pen_closing"] == 0.0 and read_run_config(tmp_path)["init"] is None
    assert choose_run_dir(config, tmp_path) == tmp_path  # the recipe's pen_closing is 0: the same run
    with pytest.raises(UsageError, match="holds a run with other settings"):
        choose_run_dir(TrainConfig(model="best", epochs=3, pen_closing=0.3).resolved(), tmp_path)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--seed", "-1"], "--seed must be in [0, 4294967295]; received -1"),
        (["--seed", "1099511627776"], "--seed must be in [0, 4294967295]; received 1099511627776"),
        (["--split-seed", "-3"], "--split-seed must be in [0, 4294967295]; received -3"),
        (["--seed", "4294967295", "--ensemble", "2"], "gives members seeds up to 4294967296"),
    ],
)
def test_a_seed_the_random_generators_refuse_exits_2_before_any_folder(tmp_path, options, message, capfd):
    line = main_fails(["train", "--epochs", "1", "--limit", "600", *options, "--out", str(tmp_path / "run")], capfd)
    assert message in line, line
    assert not (tmp_path / "run").exists()


def test_a_config_file_seed_out_of_range_names_the_file(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"seed": 2**32}))
    with pytest.raises(UsageError, match="seed must be in \\[0, 4294967295\\]; received 4294967296"):
        read_config_file(path)


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--limit", "100", "--validation-fraction", "0.05"],
            "--validation-fraction 0.05 of 100 images holds out 5 for validation and leaves 95 for training; "
            "the stratified split needs at least 10 (one per class) in each",
        ),
        (["--limit", "100", "--validation-fraction", "0.99"], "holds out 99 for validation and leaves 1 for training"),
        (["--validation-fraction", "0.0001"], "of 60,000 images holds out 6 for validation"),
        (["--validation-fraction", "0"], "training needs a validation split to pick the best epoch"),
        (["--limit", "70000"], "--limit 70000 is more than the 60,000 training images"),
    ],
)
def test_a_split_too_small_for_every_class_exits_2_before_any_folder(tmp_path, mnist_dir, options, message, capfd):
    run_dir = tmp_path / "run"
    line = main_fails(["train", "--epochs", "1", *options, "--data-dir", str(mnist_dir), "--out", str(run_dir)], capfd)
    assert message in line, line
    assert not run_dir.exists()


FLOAT_OPTIONS = ["--learning-rate", "--validation-fraction", "--pen-augmentation", "--pen-closing", "--pen-trace",
                 "--pen-contour", "--pen-sheet-edge", "--teacher-weight", "--teacher-temperature"]  # fmt: skip


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("option", FLOAT_OPTIONS)
def test_an_infinite_or_nan_float_option_exits_2_before_any_folder(tmp_path, option, value, capfd):
    teacher = ["--teacher", "seed"] if option.startswith("--teacher") else []
    run_dir = tmp_path / "run"
    line = main_fails(
        ["train", "--epochs", "1", "--limit", "600", *teacher, f"{option}={value}", "--out", str(run_dir)], capfd
    )
    assert line.startswith(f"error: {option} must be ") and line.endswith(f"; received {float(value)}"), line
    assert not run_dir.exists()


def test_a_learning_rate_above_1_exits_2_before_any_folder(tmp_path, capfd):
    line = main_fails(["train", "--epochs", "1", "--learning-rate", "1e30", "--out", str(tmp_path / "run")], capfd)
    assert line == "error: --learning-rate must be in (0, 1]; received 1e+30"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["learning_rate", "warmup_epochs", "label_smoothing", "dropout", "affine",
                                  "teacher_temperature", "validation_fraction"])  # fmt: skip
def test_a_config_file_with_infinity_or_nan_names_the_setting(tmp_path, name):
    path = tmp_path / "best.json"
    for value in ("Infinity", "NaN"):
        path.write_text(f'{{"{name}": {value}}}')
        with pytest.raises(UsageError, match=f"--config {path}: {name} must be .*; received (inf|nan)"):
            read_config_file(path)


def test_a_config_file_names_a_teacher_as_the_command_line_does(tmp_path, monkeypatch):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"teacher": "seed", "teacher_weight": 0.3, "init": None}))
    assert read_config_file(path) == {"teacher": "seed", "teacher_weight": 0.3, "init": None}
    given = config_given_to_train(["--config", str(path)], monkeypatch)
    assert given == TrainConfig(teacher="seed", teacher_weight=0.3)
    path.write_text(json.dumps({"teacher": 7}))
    with pytest.raises(UsageError, match="teacher must be a string; received 7"):
        read_config_file(path)
