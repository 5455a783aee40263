"""Wrong invocations, table-driven: every subcommand, every path option, bad numbers, missing and corrupt
files of every kind the commands read. Each exits 2 with one line on stderr naming what was wrong, never
a traceback, and leaves no file behind (a checked output folder may be created, empty).

The CLI runs in this process (``main(argv)``, what the ``mnist-cnn`` script calls), so TensorFlow is
imported once for all cases; tests/test_cli.py runs a few of the same through a real subprocess.
"""

import io
import json
import sys
import zipfile

import numpy as np
import pytest

from conftest import partial_files, write_idx
from mnist_cnn.cli import main

CASES = [
    # Bad numbers and options.
    ("train --epochs many", "--epochs: expected a whole number, received 'many'"),
    ("train --epochs 0", "--epochs: expected a positive number, received 0"),
    ("train --batch-size -5", "--batch-size: expected a positive number"),
    ("train --limit 1.5", "--limit: expected a whole number, received '1.5'"),
    ("train --learning-rate fast", "--learning-rate: invalid float value"),
    ("train --learning-rate -1", "--learning-rate must be in (0, 1]; received -1.0"),
    ("train --validation-fraction 1.5", "--validation-fraction must be in [0, 1); received 1.5"),
    ("train --pen-augmentation 2", "--pen-augmentation must be in [0, 1]; received 2.0"),
    ("train --limit 50", "--limit must be at least 100 images"),
    ("train --ensemble 0", "--ensemble: expected a positive number, received 0"),
    ("train --model resnet9000", "unknown model 'resnet9000'"),
    ("train --dataset kmnist", "--dataset: invalid choice: 'kmnist'"),
    ("serve --port 0", "--port: expected a positive number, received 0"),
    ("serve --workers none", "--workers: expected a whole number"),
    ("serve --max-batch 0", "--max-batch: expected a positive number"),
    ("fly", "invalid choice: 'fly'"),
    ("predict", "the following arguments are required: IMAGE"),
    ("export --format onnx", "the following arguments are required: --out"),
    ("export --format pdf --out {tmp}/x", "--format: invalid choice: 'pdf'"),
    ("evaluate --runtime tpu", "--runtime: invalid choice: 'tpu'"),
    ("export --format onnx --quantize int8 --out {tmp}/x", "--quantize applies to the litert format only"),
    # Output paths: a file where a folder belongs, a file that exists, a folder where a file belongs.
    ("train --out {tmp}/afile", "afile is a file, not a folder; choose another --out"),
    ("train --out {tmp}/afile/run", "afile is a file, not a folder (so {tmp}/afile/run cannot be created)"),
    ("train --out {tmp}/cluttered", "cluttered is not empty and holds no run; choose another --out"),
    ("train --out {tmp}/other-run", "other-run holds a run with other settings; choose another --out"),
    ("evaluate --out {tmp}/afile/reports", "afile is a file, not a folder (so {tmp}/afile/reports cannot be"),
    ("evaluate --out {tmp}/afile", "afile is a file, not a folder; choose another --out"),
    ("export --out {tmp}/afile", "afile is a file, not a folder; choose another --out"),
    ("export --out {tmp}/afile/sub --format onnx", "afile is a file, not a folder (so {tmp}/afile/sub"),
    ("predict {tmp}/seven.png --save-preprocessed {tmp}/afile", "afile is a file, not a folder; choose another"),
    ("predict {tmp}/seven.png --csv {tmp}/old.csv", "old.csv already exists; add --force to replace it"),
    ("predict {tmp}/seven.png --explain {tmp}/afile", "afile is a file, not a folder; choose another --explain"),
    ("predict {tmp}/seven.png --method occlusion", "--method chooses how --explain DIR explains"),
    ("explain {tmp}/seven.png", "give --out DIR for the pictures, --json for the maps, or both"),
    ("explain {tmp}/seven.png --out {tmp}/afile", "afile is a file, not a folder; choose another --out"),
    ("explain {tmp}/seven.png --json --method integrated-gradients --runtime litert", "only the Keras runtime has"),
    ("explain {tmp}/missing.png --json", "{tmp}/missing.png: no such file"),
    ("predict {tmp}/seven.png --csv {tmp}/empty", "empty is a folder; give --csv a file name"),
    ("predict {tmp}/seven.png --csv {tmp}/afile/out.csv", "afile is a file, not a folder; choose another --csv"),
    ("data fetch [cache={tmp}/afile]", "afile is a file, not a folder (so {tmp}/afile/mnist-cnn/mnist cannot"),
    # Dataset folders and files.
    ("train --data-dir {tmp}/nowhere", "{tmp}/nowhere: no such folder (--data-dir)"),
    ("train --data-dir {tmp}/empty", "mnist files missing in {tmp}/empty (--data-dir)"),
    ("train --data-dir {tmp}/corrupt-gz", "train-images-idx3-ubyte.gz: not a valid gzip file"),
    ("train --data-dir {tmp}/synthetic", "SHA-256 does not match the published mnist file"),
    ("train --data-dir {tmp}/truncated", "t10k-labels-idx1-ubyte.gz: truncated, expected 10008 bytes, found 108"),
    ("data info --data-dir {tmp}/nowhere", "{tmp}/nowhere: no such folder (--data-dir)"),
    ("data import {tmp}/nowhere [cache={tmp}/cache]", "{tmp}/nowhere: no such folder"),
    ("data import {tmp}/synthetic [cache={tmp}/cache]", "SHA-256 does not match the published mnist file"),
    # Model files.
    ("evaluate --model {tmp}/gone.keras", "{tmp}/gone.keras: no such model file"),
    ("evaluate --model nosuchmodel", "nosuchmodel: not a shipped model"),
    ("evaluate --model {tmp}/notes.txt", "notes.txt: not a model file (.keras, .h5, .onnx, .tflite"),
    ("evaluate --model {tmp}/corrupt.keras", "corrupt.keras: not a readable Keras model file (it is not a zip"),
    ("evaluate --model {tmp}/no-config.keras", "no-config.keras: not a readable Keras model file (KeyError"),
    ("evaluate --model {tmp}/corrupt.h5", "corrupt.h5: not a readable Keras model file (it is not an HDF5 file)"),
    ("evaluate --model {tmp}/corrupt.onnx", "corrupt.onnx: not a readable ONNX model file"),
    ("evaluate --model {tmp}/corrupt.tflite", "corrupt.tflite: not a readable LiteRT model file"),
    ("evaluate --model {tmp}/corrupt.keras --runtime onnx", "runs on the keras runtime, not onnx"),
    ("predict {tmp}/seven.png --model {tmp}/corrupt.keras", "corrupt.keras: not a readable Keras model file"),
    ("export --model {tmp}/corrupt.keras --out {tmp}/exported", "corrupt.keras: not a readable Keras model file"),
    ("export --model {tmp}/corrupt.onnx --out {tmp}/exported", "export starts from a Keras model (.keras or .h5)"),
    ("calibrate --model seed", "the following arguments are required: --out"),
    ("calibrate --model {tmp}/corrupt.keras --out {tmp}/calibrated", "corrupt.keras: not a readable Keras model"),
    ("calibrate --model seed --out {tmp}/afile", "afile is a file, not a folder; choose another --out"),
    # Images and labelled folders.
    ("predict {tmp}/missing.png", "{tmp}/missing.png: no such file"),
    ("predict {tmp}/notes.jpg", "{tmp}/notes.jpg: not an image Pillow can read"),
    ("predict {tmp}/truncated.png", "{tmp}/truncated.png: unreadable or truncated image"),
    ("predict {tmp}/empty.png", "{tmp}/empty.png: empty file"),
    ("predict {tmp}/wrong-shape.npy", "wrong-shape.npy: expected an array of shape (28, 28); received (3, 3)"),
    ("predict {tmp}/corrupt.npy", "corrupt.npy: not a readable .npy array"),
    ("predict {tmp}/blank.png", "{tmp}/blank.png: no digit found: the image is blank"),
    ("predict {tmp}/empty", "{tmp}/empty/: no image files in this folder"),
    ("predict -", "-: standard input is empty; pipe an image into it"),
    ("predict - -", "- (standard input) is given 2 times; it holds one image"),
    ("evaluate --images {tmp}/nowhere", "{tmp}/nowhere: no such folder (--images takes a folder with one"),
    ("evaluate --images {tmp}/empty", "{tmp}/empty: no images in class folders {tmp}/empty/0/ ... {tmp}/empty/9/"),
    ("evaluate --images {tmp}/afile", "{tmp}/afile: no such folder"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mnist_dir):
    """A folder of every kind of wrong input the cases name."""
    from PIL import Image

    from test_preprocessing import draw_seven

    tmp = tmp_path_factory.mktemp("wrong-inputs")
    (tmp / "afile").write_text("a file where a folder belongs")
    (tmp / "empty").mkdir()
    (tmp / "cluttered").mkdir()
    (tmp / "cluttered" / "holiday.jpg").write_bytes(b"not a run")
    (tmp / "other-run").mkdir()
    (tmp / "other-run" / "run.json").write_text(json.dumps({"config": {"model": "fast", "epochs": 99}}))
    (tmp / "old.csv").write_text("path,digit\n")
    (tmp / "notes.txt").write_text("hello")
    (tmp / "notes.jpg").write_text("hello")
    draw_seven().save(tmp / "seven.png")
    (tmp / "truncated.png").write_bytes((tmp / "seven.png").read_bytes()[:200])
    (tmp / "empty.png").write_bytes(b"")
    Image.new("L", (64, 64), 255).save(tmp / "blank.png")
    np.save(tmp / "wrong-shape.npy", np.zeros((3, 3)))
    (tmp / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    for name in ("corrupt.keras", "corrupt.h5", "corrupt.onnx", "corrupt.tflite"):
        (tmp / name).write_bytes(b"garbage, not a model")
    with zipfile.ZipFile(tmp / "no-config.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    rng = np.random.default_rng(0)
    for folder in ("synthetic", "corrupt-gz", "truncated"):
        (tmp / folder).mkdir()
        write_idx(tmp / folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
        write_idx(tmp / folder / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
        write_idx(tmp / folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10, 28, 28)))
        write_idx(tmp / folder / "t10k-labels-idx1-ubyte.gz", np.arange(10))
    (tmp / "corrupt-gz" / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    labels = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    for name in data_file_names():
        (tmp / "truncated" / name).write_bytes((mnist_dir / name).read_bytes())
    import gzip

    (tmp / "truncated" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(gzip.decompress(labels)[:108]))
    return tmp


def data_file_names():
    from mnist_cnn.data import FILE_NAMES

    return FILE_NAMES.values()


def files_under(folder):
    return sorted(path for path in folder.rglob("*") if not path.is_dir())


def parse_case(command: str, tmp) -> tuple[list[str], dict]:
    """'data fetch [cache=DIR]' -> (argv, environment changes)."""
    environment = {}
    words = []
    for word in command.format(tmp=tmp).split():
        if word.startswith("[cache="):
            environment = {"XDG_CACHE_HOME": word.removeprefix("[cache=").rstrip("]"), "MNIST_CNN_DATA": ""}
        else:
            words.append(word)
    return words, environment


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("command, message", CASES, ids=[command for command, _ in CASES])
def test_a_wrong_invocation_exits_2_with_one_line_naming_it_and_writes_nothing(
    command, message, workspace, mnist_dir, capfd, monkeypatch
):
    argv, environment = parse_case(command, workspace)
    monkeypatch.setenv("MNIST_CNN_DATA", str(mnist_dir))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(workspace)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    before = files_under(workspace)
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own exits (--help) would end here; errors raise it too
        code = exit.code
    captured = capfd.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (code, captured.err)
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert message.format(tmp=workspace) in lines[0], lines[0]
    assert files_under(workspace) == before and partial_files(workspace) == []


@pytest.mark.parametrize(
    "command, says",
    [("predict", "interrupted; predict stopped"), ("train", "continue from the last finished epoch")],
)
def test_ctrl_c_exits_130_with_one_line_fitting_the_command(monkeypatch, capsys, command, says):
    from mnist_cnn import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.HANDLERS, command, interrupted)
    assert main([command, "x.png"] if command == "predict" else [command]) == 130
    err = capsys.readouterr().err.strip()
    assert err.endswith(says) and len(err.splitlines()) == 1
    assert command == "train" or "epoch" not in err  # predict has no epochs to continue from


@pytest.mark.parametrize(
    "command",
    [
        "explain {tmp}/notes.txt --out {tmp}/new/explained",
        "predict {tmp}/notes.jpg --save-preprocessed {tmp}/new/seen --explain {tmp}/new/why",
        "evaluate --images {tmp}/empty --out {tmp}/new/reports",
        "export --model {tmp}/corrupt.keras --out {tmp}/new/exported",
        "calibrate --model {tmp}/corrupt.keras --out {tmp}/new/calibrated",
        "train --data-dir {tmp}/truncated --out {tmp}/new/run",
        "train --config {tmp}/kmnist.json --out {tmp}/new/run",
        "train --epochs 1 --limit 600 --validation-fraction 0 --out {tmp}/new/run",
    ],
)
def test_a_failed_command_leaves_no_folder_it_made_and_keeps_those_that_were_there(
    command, workspace, capfd, monkeypatch
):
    from conftest import main_fails

    (workspace / "kmnist.json").write_text('{"dataset": "kmnist"}')
    main_fails(command.format(tmp=workspace).split(), capfd)
    assert not (workspace / "new").exists()
    main_fails(command.format(tmp=workspace).replace("/new/", "/empty/").split(), capfd)
    assert (workspace / "empty").is_dir()
    (workspace / "kmnist.json").unlink()


def test_a_run_refused_for_its_settings_does_not_block_the_corrected_rerun(tmp_path, mnist_dir, capfd, monkeypatch):
    from conftest import main_fails
    from mnist_cnn.training import TrainConfig, choose_run_dir

    run = tmp_path / "run"
    main_fails(["train", "--epochs", "1", "--limit", "600", "--validation-fraction", "0", "--data-dir", str(mnist_dir),
                "--out", str(run)], capfd)  # fmt: skip
    assert not run.exists()
    assert choose_run_dir(TrainConfig(epochs=1, limit=600).resolved(), run) == run
