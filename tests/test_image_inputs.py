"""Folders, standard input and CSV output for `predict`; labelled folders for `evaluate --images`."""

import csv
import io
import json
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_cnn.cli import main
from mnist_cnn.image_files import gather_images, image_files, labelled_images
from test_preprocessing import draw_seven


def draw_one() -> Image.Image:
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).line([(150, 40), (150, 260)], fill=0, width=22)
    return image


@pytest.fixture
def photos(tmp_path):
    """photos/ with two images, a text file, a hidden file and a subfolder holding one more image."""
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    draw_seven().save(folder / "b-seven.png")
    draw_one().save(folder / "a-one.jpg")
    (folder / "readme.txt").write_text("my digits")
    (folder / ".DS_Store").write_bytes(b"\0")
    draw_seven().save(folder / "more" / "c-seven.webp")
    return folder


def run(capfd, argv, stdin: bytes = b""):
    """Run the CLI in this process with ``stdin``; return (exit code, stdout, stderr lines)."""
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        code = main(argv)
    finally:
        sys.stdin = sys.__stdin__
    captured = capfd.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def test_a_folder_gives_its_images_sorted_and_notes_what_it_skipped(photos):
    files, notes = image_files(photos)
    assert [path.name for path in files] == ["a-one.jpg", "b-seven.png"]
    assert notes == [
        f"{photos / 'readme.txt'}: skipped, not an image file "
        "(.bmp, .gif, .jpeg, .jpg, .npy, .png, .tif, .tiff, .webp)",
        f"{photos}/: 1 subfolder(s) skipped; add --recursive to include them",
    ]


def test_recursive_includes_subfolders_and_still_skips_hidden_files(photos):
    files, notes = image_files(photos, recursive=True)
    assert [path.relative_to(photos).as_posix() for path in files] == ["a-one.jpg", "b-seven.png", "more/c-seven.webp"]
    assert len(notes) == 1 and "readme.txt" in notes[0]


def test_predict_on_a_folder_predicts_every_image_in_order(photos, capfd):
    code, out, err = run(capfd, ["predict", str(photos), "--model", "seed"])
    assert code == 0 and [line.startswith("note: ") for line in err] == [True, True]
    assert [line.split(":")[0] for line in out.splitlines()] == [str(photos / "a-one.jpg"), str(photos / "b-seven.png")]
    assert out.splitlines()[0].split(": ")[1].startswith("1 ") and out.splitlines()[1].split(": ")[1].startswith("7 ")


def test_a_folder_that_was_given_as_a_file_is_no_longer_no_such_file(photos, capfd):
    code, out, err = run(capfd, ["predict", str(photos), "--recursive", "--json"])
    assert code == 0 and not any("no such file" in line for line in err)
    assert [json.loads(line)["digit"] for line in out.splitlines()] == [1, 7, 7]


def test_a_dash_reads_one_image_from_standard_input(capfd):
    buffer = io.BytesIO()
    draw_seven().save(buffer, format="PNG")
    code, out, err = run(capfd, ["predict", "-", "--json"], stdin=buffer.getvalue())
    assert code == 0 and err == []
    prediction = json.loads(out)
    assert prediction["path"] == "-" and prediction["digit"] == 7


def test_standard_input_may_hold_a_npy_array(capfd):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(draw_seven().resize((28, 28))).astype(np.uint8) ^ 255)
    code, out, _ = run(capfd, ["predict", "-"], stdin=buffer.getvalue())
    assert code == 0 and out.startswith("-: ")


def test_garbage_on_standard_input_is_one_error_line(capfd):
    code, out, err = run(capfd, ["predict", "-"], stdin=b"definitely not an image")
    assert code == 2 and out == "" and err == ["error: -: not an image Pillow can read"]


def test_csv_has_one_row_per_image_with_status_digit(photos, tmp_path, capfd):
    target = tmp_path / "results" / "digits.csv"
    code, _, _ = run(capfd, ["predict", str(photos), "--csv", str(target)])
    assert code == 0
    with target.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["path", "digit", "confidence", "status", "error"]
    assert [(row["path"], row["digit"], row["status"]) for row in rows] == [
        (str(photos / "a-one.jpg"), "1", "digit"),
        (str(photos / "b-seven.png"), "7", "digit"),
    ]
    assert all(0 < float(row["confidence"]) <= 1 for row in rows)
    assert [path.name for path in target.parent.iterdir()] == ["digits.csv"]  # no temporary file left


def test_an_existing_csv_is_kept_unless_force_is_given(photos, tmp_path, capfd):
    target = tmp_path / "digits.csv"
    target.write_text("precious\n")
    code, out, err = run(capfd, ["predict", str(photos), "--csv", str(target)])
    assert code == 2 and out == "" and len(err) == 1 and "add --force" in err[0]
    assert target.read_text() == "precious\n"
    code, _, _ = run(capfd, ["predict", str(photos), "--csv", str(target), "--force"])
    assert code == 0 and target.read_text().startswith("path,digit,confidence,status")


def test_a_broken_image_in_a_folder_is_reported_and_the_others_are_predicted(photos, capfd):
    (photos / "broken.png").write_bytes(b"\x89PNG broken")
    code, out, err = run(capfd, ["predict", str(photos)])
    assert code == 2 and len(out.splitlines()) == 2
    errors = [line for line in err if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {photos / 'broken.png'}: ")


def test_csv_keeps_a_row_for_each_image_that_failed_in_the_order_given(photos, tmp_path, capfd):
    (photos / "0-blank.png").write_bytes(_png(Image.new("L", (120, 120), 250)))
    (photos / "c-broken.png").write_bytes(b"\x89PNG broken")
    target = tmp_path / "digits.csv"
    code, out, err = run(capfd, ["predict", str(photos), "--csv", str(target)])
    assert code == 2 and len(out.splitlines()) == 2
    with target.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["path"], row["digit"], row["confidence"], row["status"]) for row in rows] == [
        (str(photos / "0-blank.png"), "", "", "error"),
        (str(photos / "a-one.jpg"), "1", rows[1]["confidence"], "digit"),
        (str(photos / "b-seven.png"), "7", rows[2]["confidence"], "digit"),
        (str(photos / "c-broken.png"), "", "", "error"),
    ]
    assert "blank" in rows[0]["error"] and rows[3]["error"] and not rows[1]["error"]
    assert [f"error: {row['path']}: {row['error']}" for row in (rows[0], rows[3])] == [
        line for line in err if line.startswith("error")
    ]


def test_csv_is_written_when_every_image_failed(tmp_path, capfd):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG broken")
    target = tmp_path / "digits.csv"
    code, out, err = run(capfd, ["predict", str(broken), "--csv", str(target)])
    assert code == 2 and out == "" and len(err) == 1
    with target.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["path"], row["status"]) for row in rows] == [(str(broken), "error")]


def test_json_lines_are_answers_only_an_image_that_failed_is_named_on_stderr(photos, tmp_path, capfd):
    blank, one = tmp_path / "blank.png", str(photos / "a-one.jpg")
    Image.new("L", (90, 90), 255).save(blank)
    code, out, err = run(capfd, ["predict", str(blank), one, "--json"])
    assert code == 2 and err == [f"error: {blank}: no digit found: the image is blank"]
    lines = [json.loads(line) for line in out.splitlines()]  # a reader takes every line for an answer
    assert [(line["path"], line["digit"]) for line in lines] == [(one, 1)]


def test_csv_rows_follow_the_arguments_with_a_path_given_twice(photos, tmp_path, capfd):
    one, seven = str(photos / "a-one.jpg"), str(photos / "b-seven.png")
    target = tmp_path / "digits.csv"
    code, _, _ = run(capfd, ["predict", seven, one, seven, "--csv", str(target)])
    assert code == 0
    with target.open(newline="") as file:
        assert [(row["path"], row["digit"]) for row in csv.DictReader(file)] == [(seven, "7"), (one, "1"), (seven, "7")]


def test_empty_standard_input_gets_a_csv_row_in_its_place(photos, tmp_path, capfd):
    target = tmp_path / "digits.csv"
    code, out, err = run(capfd, ["predict", "-", str(photos / "a-one.jpg"), "--csv", str(target)], stdin=b"")
    assert code == 2 and len(out.splitlines()) == 1
    assert err == ["error: -: standard input is empty; pipe an image into it"]
    with target.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["path"], row["status"], row["error"]) for row in rows] == [
        ("-", "error", "standard input is empty; pipe an image into it"),
        (str(photos / "a-one.jpg"), "digit", ""),
    ]
    code, _, _ = run(capfd, ["predict", "-", "--csv", str(target), "--force"], stdin=b"")
    with target.open(newline="") as file:
        assert code == 2 and [row["path"] for row in csv.DictReader(file)] == ["-"]  # written when all failed


def test_an_unreadable_files_error_names_it_once(tmp_path, capfd, monkeypatch):
    (tmp_path / "d1").mkdir()
    (tmp_path / "d1" / "broken.png").write_bytes(b"\x89PNG broken")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capfd, ["predict", "./d1/broken.png", "--csv", "out.csv"])
    assert code == 2 and err == ["error: ./d1/broken.png: not an image Pillow can read"]
    with open("out.csv", newline="") as file:
        assert next(csv.DictReader(file))["error"] == "not an image Pillow can read"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def labelled(tmp_path):
    """mine/1/ and mine/7/ with two drawings each, a stray file and a folder that is not a digit."""
    folder = tmp_path / "mine"
    for digit, draw in ((1, draw_one), (7, draw_seven)):
        (folder / str(digit)).mkdir(parents=True)
        draw().save(folder / str(digit) / "first.png")
        draw().rotate(4, fillcolor=255).save(folder / str(digit) / "second.png")
    (folder / "notes.txt").write_text("")
    (folder / "unsorted").mkdir()
    return folder


def test_a_labelled_folder_labels_each_image_by_its_class_folder(labelled):
    collection = labelled_images(labelled)
    assert collection.labels == [1, 1, 7, 7]
    skipped = [note.split(":")[0] for note in collection.notes]
    assert skipped == [str(labelled / "notes.txt"), str(labelled / "unsorted")]


def test_evaluate_on_your_own_labelled_images_writes_the_test_set_reports(labelled, tmp_path, capfd):
    out = tmp_path / "reports"
    argv = ["evaluate", "--images", str(labelled), "--model", "seed", "--json", "--out", str(out)]
    code, stdout, err = run(capfd, argv)
    assert code == 0 and len(err) == 2 and all(line.startswith("note: ") for line in err)
    scores = json.loads(stdout)
    assert scores["count"] == 4 and scores["accuracy"] == 1.0 and scores["images"] == str(labelled)
    assert scores["per_class_accuracy"]["7"] == 1.0
    written = {path.name for path in out.iterdir()}
    assert {"classification_report.txt", "confusion_matrix.png", "misclassified.png"} <= written
    assert not any("partial" in name for name in written)


def test_gathering_keeps_missing_files_so_each_is_reported_in_turn(tmp_path):
    images = gather_images([str(tmp_path / "gone.png")])
    assert images.names == [str(tmp_path / "gone.png")] and images.errors == []


def test_an_animated_gif_says_only_its_first_frame_is_read(tmp_path, capfd):
    blank, one = Image.new("L", (300, 300), 255), draw_one()
    blank.save(tmp_path / "blank-first.gif", save_all=True, append_images=[one], duration=100, loop=0)
    one.save(tmp_path / "one-first.gif", save_all=True, append_images=[blank], duration=100, loop=0)
    one.save(tmp_path / "still.gif")
    images = gather_images([str(tmp_path)])
    assert images.notes == [
        f"{tmp_path / 'blank-first.gif'}: 2 frames (animated or multi-page); only the first is read",
        f"{tmp_path / 'one-first.gif'}: 2 frames (animated or multi-page); only the first is read",
    ]
    code, out, err = run(capfd, ["predict", str(tmp_path / "one-first.gif"), "--model", "seed"])
    assert code == 0 and out.split(": ")[1].startswith("1 ")
    assert err == [f"note: {tmp_path / 'one-first.gif'}: 2 frames (animated or multi-page); only the first is read"]


def test_images_may_follow_the_options_and_an_unknown_option_is_still_an_error(tmp_path, capfd):
    draw_one().save(tmp_path / "a.png")
    draw_seven().save(tmp_path / "b.png")
    code, out, err = run(capfd, ["predict", str(tmp_path / "a.png"), "--model", "seed", str(tmp_path / "b.png")])
    assert code == 0 and [line.split(": ")[1][0] for line in out.splitlines()] == ["1", "7"]
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(tmp_path / "a.png"), "--model", "seed", "--colour", "red"])
    assert stop.value.code == 2
    assert capfd.readouterr().err.strip() == "error: mnist-cnn: unrecognized arguments: --colour red"


def test_an_empty_argument_or_a_device_is_one_clear_error_not_the_current_folder_or_no_such_file(
    tmp_path, capfd, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    draw_one().save(tmp_path / "a.png")  # what an empty argument read as "." would have found
    code, out, err = run(capfd, ["predict", "", "--model", "seed"])
    assert code == 2 and out == ""
    assert err == ["error: '': an empty argument names no image; give a file or a folder"]
    code, out, err = run(capfd, ["predict", "/dev/null", "--model", "seed"])
    assert code == 2 and err == ["error: /dev/null: not a regular file (a folder, a device or a pipe)"]
