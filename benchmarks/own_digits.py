"""How shipped models do on digits that are not MNIST: a person's photos, drawings, fonts, markers, scans.

Usage: .venv/bin/python benchmarks/own_digits.py [--count 1000] [--models seed,best] [--sets a,b]
       [--skip-baseline] [--digits test|validation] [--data-dir DIR]

Twenty sets, all made from MNIST test digits (other writers than the training set's) or public fonts
(``--digits validation``: from the validation split instead, to choose recipes on),
passed through `mnist_cnn.predict` exactly as `mnist-cnn predict` would:
- photos: dark ink on uneven grey paper, 6-15x larger, anywhere on a 200-1000 pixel canvas, noise, blur;
- drawn: each digit's skeleton traced with the served page's round pen on its 560x560 canvas, about
  35-85% of the canvas, anywhere on it (mostly off-centre);
- fonts: the digits 0-9 in the 19 text faces bundled with Matplotlib, rotated up to 12 degrees,
  anywhere on a large canvas, either polarity;
- bold_marker, low_resolution, small_drawings, dim_photos, sheet_on_desk, lined_paper, tilted_sheet,
  lined_photo, lamp_photo, shadow_photo, tiny_scan, shade_photo, bold_brush, patterned_desk,
  notebook_page, board_photo (chalk on a dark board), condensed (a narrow hand): the kinds
  of ../shared/cases and the lighting of phone photos, made by benchmarks/digit_sets.py.
The baseline is the keras.io convnet, trained in the same run, fed a plain resize.
Writes benchmarks/results/own_digits.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

import digit_sets  # noqa: E402
from common import write_result  # noqa: E402
from time_to_accuracy import train_keras_io  # noqa: E402

FONT_FILES = [
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
    "cmti10.ttf",
]


def as_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An MNIST digit as a person's photo: dark ink on uneven grey paper, larger, off-centre, noisy, soft."""
    scale = int(rng.integers(6, 16))
    ink = Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    width, height = (int(rng.integers(ink.width + 20, ink.width + 600)) for _ in range(2))
    paper = np.linspace(170, 235, width)[None, :] * np.ones((height, 1)) + rng.normal(0, 4, (height, width))
    left, top = int(rng.integers(0, width - ink.width + 1)), int(rng.integers(0, height - ink.height + 1))
    alpha = np.asarray(ink, dtype=np.float32) / 255
    region = paper[top : top + ink.height, left : left + ink.width]
    paper[top : top + ink.height, left : left + ink.width] = region * (1 - alpha) + 35 * alpha
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))


def extent(drawing: Image.Image) -> float:
    """The drawing's larger side (height or width) as a fraction of its canvas side."""
    left, top, right, bottom = drawing.getbbox()
    return max(right - left, bottom - top) / drawing.width


def printed_digits(rng: np.random.Generator) -> tuple[list[Image.Image], list[int]]:
    import matplotlib

    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    images, labels = [], []
    for font_file in FONT_FILES:
        font = ImageFont.truetype(str(font_dir / font_file), size=int(rng.integers(60, 200)))
        for digit in range(10):
            glyph = Image.new("L", (400, 400), 0)
            ImageDraw.Draw(glyph).text((200, 200), str(digit), fill=255, font=font, anchor="mm")
            glyph = glyph.rotate(float(rng.uniform(-12, 12)), resample=Image.Resampling.BICUBIC)
            canvas = Image.new("L", (int(rng.integers(450, 900)), int(rng.integers(450, 900))), 0)
            canvas.paste(glyph, (int(rng.integers(0, canvas.width - 400)), int(rng.integers(0, canvas.height - 400))))
            if rng.random() < 0.5:
                canvas = Image.eval(canvas, lambda value: 255 - value)  # dark ink on white paper
            images.append(canvas)
            labels.append(digit)
    return images, labels


def by_size(images: list[Image.Image], predicted: list[int], labels: list[int]) -> list[dict]:
    """Accuracy on drawings binned by how much of the canvas the digit spans (None for an empty bin)."""
    extents = np.array([extent(image) for image in images])
    right = np.asarray(predicted) == np.asarray(labels)
    rows = []
    for low, high in ((0.0, 0.5), (0.5, 0.65), (0.65, 0.8), (0.8, 1.01)):
        inside = (extents >= low) & (extents < high)
        label = f"{low:.2f}-{high:.2f}" if high <= 1 else f"{low:.2f}+"
        row = {"extent": label, "count": int(inside.sum()), "accuracy": None}
        if row["count"]:
            row["accuracy"] = float(right[inside].mean())
            print(f"{'':14} drawn, {label} of the canvas: {row['accuracy']:.1%} of {row['count']}")
        rows.append(row)
    return rows


def confusions(predicted: list[int], labels: list[int], most: int = 8) -> list[dict]:
    """The most frequent (true digit, predicted digit) mistakes."""
    pairs = Counter((label, guess) for label, guess in zip(labels, predicted) if label != guess)
    return [{"digit": label, "read_as": guess, "count": count} for (label, guess), count in pairs.most_common(most)]


def plain_resize(image: Image.Image) -> np.ndarray:
    """What tutorials do with a person's image: grayscale, resized to 28x28, inverted when the border is
    light. uint8 (28, 28)."""
    small = np.asarray(image.convert("L").resize((28, 28), Image.Resampling.BILINEAR), dtype=np.uint8)
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    return 255 - small if border.mean() > 127 else small


def source_digits(dataset, which: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) the sets are made from: MNIST's test set (writers the models never saw, for the
    figures), or the validation split every shipped model held out (seed 42, 10%), to choose on."""
    if which == "test":
        return dataset.test_images, dataset.test_labels
    from mnist_cnn.data import training_split

    _, validation = training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    return validation


def build_sets(dataset, count: int, digits: str = "test") -> tuple[dict, np.ndarray]:
    """(every set: name -> (images, labels), the bold markers' stroke widths in MNIST stroke widths).
    One random generator, so the sets are the same every run. ``digits``: "test" or "validation"
    (``source_digits``)."""
    rng = np.random.default_rng(7)
    images, all_labels = source_digits(dataset, digits)
    indices = rng.choice(len(images), count, replace=False)
    digits, labels = images[indices], all_labels[indices].tolist()
    multiples = rng.uniform(2.0, 4.0, count)  # marker strokes, in MNIST stroke widths

    def made(kind):
        return [kind(digit, rng) for digit in digits], labels

    sets = {
        "photos": made(as_photo),
        "drawn": made(digit_sets.as_drawing),
        "fonts": printed_digits(rng),
        "bold_marker": ([digit_sets.bold_marker(d, rng, m) for d, m in zip(digits, multiples)], labels),
        "low_resolution": made(digit_sets.low_resolution),
        "small_drawings": made(digit_sets.small_drawing),
        "dim_photos": made(digit_sets.dim_photo),
        "sheet_on_desk": made(digit_sets.sheet_on_desk),
        "lined_paper": made(digit_sets.lined_paper),
        # Added after the others, so the random draws of the sets above stay as they were.
        "tilted_sheet": made(digit_sets.tilted_sheet),
        "lined_photo": made(digit_sets.lined_photo),
        "lamp_photo": made(digit_sets.lamp_photo),
        "shadow_photo": made(digit_sets.shadow_photo),
        "tiny_scan": made(digit_sets.tiny_scan),
        "shade_photo": made(digit_sets.shade_photo),
        "bold_brush": made(digit_sets.bold_brush),
        "patterned_desk": made(digit_sets.patterned_desk),
        "notebook_page": made(digit_sets.notebook_page),
        "board_photo": made(digit_sets.board_photo),
        "condensed": made(digit_sets.condensed),
    }
    return sets, multiples


def read_digits(images: list, model) -> list[int]:
    """Each image's digit as ``mnist_cnn.predict`` reads it, -1 for a number of several digits or an
    image it finds blank (``ImageError``): wrong answers, not the end of the run. One batch, or
    image by image when some image is found blank."""
    import mnist_cnn
    from mnist_cnn.errors import ImageError

    try:
        return [getattr(p, "digit", -1) for p in mnist_cnn.predict(images, model=model)]
    except ImageError:
        digits = []
        for image in images:
            try:
                digits.append(getattr(mnist_cnn.predict([image], model=model)[0], "digit", -1))
            except ImageError:
                digits.append(-1)
        return digits


def by_marker_width(multiples: np.ndarray, predicted: list[int], labels: list[int]) -> list[dict]:
    """Accuracy on bold-marker digits binned by stroke width, in multiples of MNIST's."""
    right = np.asarray(predicted) == np.asarray(labels)
    rows = []
    for low in (2.0, 2.5, 3.0, 3.5):
        inside = (multiples >= low) & (multiples < low + 0.5)
        row = {"stroke_multiple": f"{low:.1f}-{low + 0.5:.1f}", "count": int(inside.sum()), "accuracy": None}
        if row["count"]:
            row["accuracy"] = float(right[inside].mean())
            width = row["stroke_multiple"]
            print(f"{'':14} bold marker, {width}x MNIST's stroke: {row['accuracy']:.1%} of {row['count']}")
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="MNIST test digits per set (default: 1000)")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    parser.add_argument(
        "--models", default="seed,best", help="shipped model names or model files, comma-separated (default: seed,best)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="leave out the keras.io convnet (quick runs)")
    parser.add_argument("--sets", default=None, help="only these sets, comma-separated (default: all)")
    parser.add_argument(
        "--digits",
        choices=("test", "validation"),
        default="test",
        help="make the sets from MNIST test digits, or from the validation split (seed 42, 10%%) to choose "
        "recipes and preprocessing on (default: test)",
    )
    parser.add_argument("--out", default="own_digits", help="result name in benchmarks/results (default: own_digits)")
    args = parser.parse_args()

    import mnist_cnn
    from mnist_cnn.data import load_dataset

    dataset = load_dataset("mnist", args.data_dir)
    sets, multiples = build_sets(dataset, args.count, args.digits)
    if args.sets:
        sets = {name: sets[name] for name in args.sets.split(",")}
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/own_digits.py", *sys.argv[1:]]),
        "digits": args.digits,
        "sets": {name: len(labels) for name, (_, labels) in sets.items()},
        "accuracy": {},
        "drawn_by_size": {},
        "drawn_confusions": {},
        "bold_marker_by_width": {},
    }
    for name in args.models.split(","):
        model = mnist_cnn.load_model(name)
        results["accuracy"][name] = {}
        for set_name, (images, labels) in sets.items():
            # As `mnist-cnn predict` reads them: a digit cut in two is read as a number, which is wrong.
            predicted = read_digits(images, model)
            accuracy = float(np.mean(np.asarray(predicted) == np.asarray(labels)))
            results["accuracy"][name][set_name] = accuracy
            print(f"{name:14} {set_name:15} {accuracy:.1%} of {len(labels)}", flush=True)
            if set_name == "drawn":  # small drawings get strokes fat for their size: loops close up
                results["drawn_by_size"][name] = by_size(images, predicted, labels)
                results["drawn_confusions"][name] = confusions(predicted, labels)
            if set_name == "bold_marker":
                results["bold_marker_by_width"][name] = by_marker_width(multiples, predicted, labels)
    if not args.skip_baseline:
        baseline = train_keras_io(dataset)  # as published, in this run
        results["accuracy"]["keras_io_plain_resize"] = {}
        for set_name, (images, labels) in sets.items():
            inputs = np.stack([plain_resize(image) for image in images])[..., None].astype("float32") / 255
            predicted = np.argmax(baseline.predict(inputs, verbose=0), axis=1)
            accuracy = float(np.mean(predicted == np.asarray(labels)))
            results["accuracy"]["keras_io_plain_resize"][set_name] = accuracy
            print(f"{'keras.io+resize':14} {set_name:15} {accuracy:.1%} of {len(labels)}", flush=True)
    write_result(args.out, results)


if __name__ == "__main__":
    main()
