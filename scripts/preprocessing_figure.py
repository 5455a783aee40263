"""Draw docs/preprocessing_steps.png: each step of `mnist_cnn.preprocessing.to_mnist` on hard inputs.

Usage: .venv/bin/python scripts/preprocessing_figure.py [--data-dir DIR]

The inputs are MNIST test digits made into the kinds of image users report (benchmarks/digit_sets.py):
a bold marker, a dim photo, a sheet of paper on a desk, lined paper, a tiny scan, a small drawing,
a photo under a desk lamp's spot, a photo with a hard shadow across the page, a photo with a hand's
or a phone's shadow beside the digit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def steps(image) -> list[tuple[str, np.ndarray]]:
    """(name, array) after each named step, as to_mnist runs them."""
    from mnist_cnn import preprocessing
    from mnist_cnn.preprocessing import digit, lines, paper, resize, sheets

    gray = preprocessing.open_image(image)
    work = preprocessing.fit_work_size(gray)
    sheet = sheets.crop_to_sheet(work)
    ink = paper.ink_intensity(sheet)
    lines_removed = lines.remove_ruled_lines(ink)
    top, bottom, left, right = digit.ink_bounding_box(lines_removed)
    cropped = resize.max_pool(lines_removed[top:bottom, left:right], preprocessing.DIGIT_SIZE)
    normalised = digit.normalise_stroke_width(cropped)
    final = digit.centre_by_mass(digit.fit_in_box(normalised))
    return [
        ("input", gray),
        ("crop_to_sheet", sheet),
        ("ink_intensity", ink),
        ("remove_ruled_lines", lines_removed),
        ("cropped to the ink", cropped),
        ("normalise_stroke_width", normalised),
        ("28x28, centred by mass", final),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import digit_sets
    from mnist_cnn.data import load_dataset

    dataset = load_dataset("mnist", args.data_dir)
    rng = np.random.default_rng(3)
    picks = {"bold marker": 8, "dim photo": 2, "sheet on a desk": 4, "lined paper": 6, "tiny scan": 0}
    picks["small drawing"] = 9
    picks.update({"lamp photo": 5, "shadow photo": 3, "shade photo": 2})
    digits = {kind: dataset.test_images[np.flatnonzero(dataset.test_labels == d)[1]] for kind, d in picks.items()}
    inputs = {
        "bold marker": digit_sets.bold_marker(digits["bold marker"], rng, 2.5),
        "dim photo": digit_sets.dim_photo(digits["dim photo"], rng),
        "sheet on a desk": digit_sets.sheet_on_desk(digits["sheet on a desk"], rng),
        "lined paper": digit_sets.lined_paper(digits["lined paper"], rng),
        "tiny scan": digit_sets.low_resolution(digits["tiny scan"], rng),
        "small drawing": digit_sets.small_drawing(digits["small drawing"], rng),
        "lamp photo": digit_sets.lamp_photo(digits["lamp photo"], rng),
        "shadow photo": digit_sets.shadow_photo(digits["shadow photo"], rng),
        "shade photo": digit_sets.shade_photo(digits["shade photo"], rng),
    }
    figure, axes = plt.subplots(len(inputs), 7, figsize=(14, 2.1 * len(inputs)))
    for row, (kind, image) in enumerate(inputs.items()):
        for column, (name, array) in enumerate(steps(image)):
            axis = axes[row, column]
            photo = column < 2  # grey levels 0-255; the later steps are ink maps 0-1 or uint8
            axis.imshow(array, cmap="gray", vmin=0, vmax=255 if photo or array.dtype == np.uint8 else 1)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(name, fontsize=9)
        axes[row, 0].set_ylabel(kind, fontsize=9)
    figure.suptitle("mnist_cnn.preprocessing.to_mnist, step by step", fontsize=11)
    figure.tight_layout()
    target = ROOT / "docs" / "preprocessing_steps.png"
    figure.savefig(target, dpi=80)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
