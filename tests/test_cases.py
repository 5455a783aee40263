"""Every input in ../shared/cases that issues 12 and 13 name, answered right by `mnist-cnn predict` with the
default model: digits read right (and not refused), non-digits and blank photos refused.

Each folder is the visible end of a kind of input (bold marker, dim photo, a sheet on a desk, lined paper,
tiny scans, letters and scribbles, blank paper); the benchmarks (benchmarks/own_digits.py,
benchmarks/rejection.py) measure each kind on many more inputs.
"""

import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(os.environ.get("MNIST_CNN_CASES") or ROOT.parent / "shared" / "cases")
KINDS = ["bold-marker", "dim-photo", "paper-on-desk", "lined-paper", "tiny"]


def cases(kind: str) -> list[tuple[Path, str]]:
    expected = CASES / kind / "expected.csv"
    if not expected.exists():
        return []
    with expected.open(newline="") as file:
        return [(CASES / kind / row["file"], row["expected"]) for row in csv.DictReader(file)]


ALL_CASES = [pytest.param(path, expected, id=f"{kind}/{path.name}") for kind in KINDS for path, expected in cases(kind)]


@pytest.fixture(scope="module")
def model():
    import mnist_cnn

    return mnist_cnn.load_model()


def test_the_case_folders_are_there():
    if not CASES.is_dir() and not os.environ.get("CI"):
        pytest.skip(f"{CASES} not found; set MNIST_CNN_CASES")
    assert all(cases(kind) for kind in [*KINDS, "not-digits", "blank-photos"]), f"a case folder is missing in {CASES}"


@pytest.mark.parametrize("path, expected", ALL_CASES)
def test_case_is_read_right(model, path, expected):
    import mnist_cnn

    prediction = mnist_cnn.predict([path], model=model)[0]
    assert str(prediction.digit) == expected, f"{path.name}: read {prediction.digit}, top 3 {prediction.top(3)}"
    assert prediction.status != "not_a_digit", f"{path.name}: refused, digit probability {prediction.digit_probability}"


KNOWN_MISSES: dict[str, str] = {}  # file -> why it is not refused yet: an xfail that fails loudly once it passes


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=path.name,
            marks=[pytest.mark.xfail(reason=KNOWN_MISSES[path.name], strict=True)] if path.name in KNOWN_MISSES else [],
        )
        for path, _ in cases("not-digits")
    ],
)
def test_a_letter_scribble_or_symbol_is_not_a_digit(model, path):
    import mnist_cnn

    prediction = mnist_cnn.predict([path], model=model)[0]
    assert prediction.status == "not_a_digit", f"{path.name}: {prediction.describe()}"


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name) for path, _ in cases("blank-photos")])
def test_a_blank_photo_is_no_digit(path):
    from mnist_cnn import preprocessing
    from mnist_cnn.errors import ImageError

    with pytest.raises(ImageError, match="no digit found"):
        preprocessing.prepare(path)


LINED_PHOTOS = sorted((ROOT / "tests" / "data" / "lined-photos").glob("*.jpg"))


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name) for path in LINED_PHOTOS])
def test_a_small_digit_on_a_turned_ruled_or_squared_photo_is_read(model, path):
    """A helper's photos of a small digit on a ruled or squared page (tests/data/lined-photos/README.md).
    Turned, with lines as dark as the thin pen: a line's level is the median of its ink's peaks
    across it (``lines.erase_lines``), so where a turned, anti-aliased line's ink is split between
    two rows the line is not left in dashes that stretch the digit's box. A fine grid beside a
    marker's digit: what erasing it leaves at a quarter of the pen's ink goes
    (``lines.faint_leftovers``)."""
    import mnist_cnn

    expected = path.stem.split("_")[2][0]
    prediction = mnist_cnn.predict([path], model=model)[0]
    assert (str(prediction.digit), prediction.status) == (expected, "digit"), f"{path.name}: {prediction.describe()}"
