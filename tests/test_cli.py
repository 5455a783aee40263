"""CLI error paths through a subprocess: exit code 2, one line on stderr, never a traceback."""

import pytest

from conftest import run_cli


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_option_is_one_line():
    assert_one_line_error(run_cli("train", "--epochs", "many"), "--epochs", "expected a whole number")


def test_unknown_command_is_one_line():
    assert_one_line_error(run_cli("fly"), "invalid choice")


def test_unknown_model_is_one_line(synthetic_folder):
    assert_one_line_error(
        run_cli("train", "--model", "resnet9000", "--data-dir", str(synthetic_folder)), "unknown model 'resnet9000'"
    )


def test_missing_data_folder_is_one_line(tmp_path):
    assert_one_line_error(run_cli("train", "--data-dir", str(tmp_path / "nowhere")), "no such folder")


def test_folder_without_the_files_names_them(tmp_path):
    result = run_cli("train", "--data-dir", str(tmp_path))
    assert_one_line_error(result, "train-images-idx3-ubyte.gz", "MNIST_CNN_DATA", "mnist-cnn data import DIR")


def test_corrupt_data_is_one_line(synthetic_folder):
    (synthetic_folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    assert_one_line_error(run_cli("train", "--data-dir", str(synthetic_folder)), "not a valid gzip file")


def test_evaluate_with_missing_model_file_is_one_line(tmp_path):
    assert_one_line_error(run_cli("evaluate", "--model", str(tmp_path / "gone.keras")), "no such model file")


def test_evaluate_with_corrupt_model_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip archive")
    assert_one_line_error(run_cli("evaluate", "--model", str(bad)), "bad.keras: not a readable Keras model file")


def test_predict_reports_each_bad_file_and_still_predicts_the_good_ones(tmp_path):
    from test_preprocessing import draw_seven

    good = tmp_path / "seven.png"
    draw_seven().save(good)
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    result = run_cli("predict", str(good), str(text), str(tmp_path / "missing.png"))
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "notes.jpg" in errors[0] and "missing.png: no such file" in errors[1]
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{good}: 7 ")


def test_predict_json_holds_the_images_read_and_stderr_the_rest(tmp_path):
    """``--json`` prints one object per image read; an image that cannot be read, or a blank one ("no
    digit found"), has its one line on stderr naming it and no object: scripts that read the objects
    and take a blank image's stderr line for "no digit" (``../shared/tools/check-cases``) rely on it.
    An error object with a status of its own would read as an answer to them."""
    import json

    from PIL import Image

    from test_preprocessing import draw_seven

    good = tmp_path / "seven.png"
    draw_seven().save(good)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    result = run_cli("predict", "--json", str(text), str(good), str(blank))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(answer["path"], answer["status"], answer["digit"]) for answer in answers] == [(str(good), "digit", 7)]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and f"{text}:" in errors[0] and f"{blank}: no digit found" in errors[1]


def test_predict_stops_quietly_when_its_reader_goes_away_and_the_csv_is_whole(tmp_path):
    """``predict ... | head -1``: the reader of stdout closing early ends the command as it ends other
    tools (exit 141, 128 + SIGPIPE), without "error: Broken pipe", and the --csv file is written first."""
    import subprocess
    import sys

    from test_preprocessing import draw_seven

    for index in range(40):
        draw_seven().save(tmp_path / f"seven{index:02d}.png")
    table = tmp_path / "rows.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "mnist_cnn.cli", "predict", "--json", "--csv", str(table), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # gone before the first line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=600) == 141, stderr
    assert "Broken pipe" not in stderr and "Traceback" not in stderr
    assert len(table.read_text().splitlines()) == 41


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["predict", "--help"]])
def test_help_states_defaults_and_exits_zero(args):
    result = run_cli(*args)
    assert result.returncode == 0 and "usage: mnist-cnn" in result.stdout
    if args[0] == "train":
        for option in (
            "--epochs",
            "--batch-size",
            "--learning-rate",
            "--validation-fraction",
            "--seed",
            "--limit",
            "--out",
        ):
            assert option in result.stdout
        assert result.stdout.count("(default:") >= 9


def test_models_lists_the_registry_with_parameter_counts():
    result = run_cli("models")
    assert result.returncode == 0 and "seed" in result.stdout and "135,338" in result.stdout
    assert result.stderr == ""


def test_data_info_shows_counts_and_checksums(mnist_dir):
    result = run_cli("data", "info", "--data-dir", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(" ok " in line for line in lines)
    assert "60,000" in lines[0] and "10,000" in lines[3]


def test_data_info_on_an_incomplete_folder_says_where_it_looked_and_what_to_do(mnist_dir, tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    result = run_cli("data", "info", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "10,000  ok" in result.stdout and result.stdout.count("(not found)") == 3
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1 and str(tmp_path) in error and "data import" in error
    assert "data fetch" not in error  # fetch would look in the same folder


def test_data_import_then_fetch_uses_the_cache(mnist_dir, tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "MNIST_CNN_DATA": ""}
    imported = run_cli("data", "import", str(mnist_dir), env=env)
    assert imported.returncode == 0, imported.stderr
    fetched = run_cli("data", "fetch", env=env)
    assert fetched.returncode == 0 and str(tmp_path / "cache" / "mnist-cnn" / "mnist") in fetched.stdout


def test_data_import_of_a_folder_of_wrong_files_is_one_line(synthetic_folder, tmp_path):
    result = run_cli("data", "import", str(synthetic_folder), env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert_one_line_error(result, "SHA-256 does not match the published mnist file")


def test_export_quantize_with_a_non_litert_format_is_one_line(tmp_path):
    result = run_cli("export", "--format", "onnx", "--quantize", "int8", "--out", str(tmp_path / "x"))
    assert_one_line_error(result, "--quantize applies to the litert format only")
