"""Reading whole numbers: how often `segmentation.segment` and a shipped model read a number exactly.

Usage: .venv/bin/python benchmarks/number_reading.py [--count 200] [--singles 300] [--framed 60] [--markers 100]
       [--words 200] [--model best] [--data-dir DIR]

Numbers of 2-6 digits composed from MNIST test digits (writers the models never saw) at MNIST's scale:
each digit at a random height within 20%, its baseline drifting by up to 2 pixels, the whole number
slanted by up to 15 degrees, and the gaps between digits' ink boxes drawn from 1-10 pixels
("separated") or from 2 pixels overlapping to touching ("touching"), half the numbers each. Each number
is rendered two ways:
- drawn: every digit's skeleton traced with a round pen, white on black (as digit_sets.as_drawing),
  a digit about 200 pixels high;
- photo: dark ink on uneven grey paper, 6-12x larger, noise, blur, JPEG.
Read: every segment's image classified by the model, the digits joined left to right; exact-string
accuracy by length and by spacing, and per-digit accuracy (1 - edit distance / length). The ceiling
is the same digits rendered alone on the same canvas and read one by one (`to_mnist`): what perfect
segmentation would give. Singles: single MNIST test digits as drawings and photos
(own_digits.build_sets), how often `segment` finds exactly one digit and gives `to_mnist`'s image.
Framed (``--framed``, 60 per kind): numbers of 2-5 separated digits in a frame, drawn or photographed
(turned up to 3 degrees): a form field's box, a plaque's rounded border, a meter's cells, the frame cut
by the image's edge, a line written above, light digits on a dark plaque; read as `predict` reads them,
exact-string accuracy per kind.
Markers (``--markers``, 100): numbers of 2-5 separated digits written with a marker 2-4x MNIST's
stroke and photographed, read as ``predict --number`` reads them (bold digits by the bold reader)
and by the model alone.
Words (``--words``, 200 of each kind): no number at all, read as ``mnist-cnn predict`` reads them:
common English words typeset in fonts no model was trained with, and 2-5 letters that share no
digit's shape composed as digits are; each drawn and photographed. The share refused and the share
read as digits with the status "digit".
Timing: a 4-digit drawn number read end to end (ink map, segmentation, classification; decoding
excluded) on ONNX Runtime: the same number 50 times, and 50 different numbers read once each
(nothing is remembered from one read to the next: ``Classifier.remembering``); medians.
Writes benchmarks/results/numbers.json.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import digit_sets
import own_digits
from common import write_result  # noqa: E402

LENGTHS = (2, 3, 4, 5, 6)
DRAWN_SCALE = 10  # canvas pixels per MNIST pixel in drawings: a digit about 200 pixels high
PEN = 22  # pixels: the pen's width on such a drawing, MNIST's stroke proportion


def crop(digit: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(digit.max(axis=1) > 0), np.flatnonzero(digit.max(axis=0) > 0)
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def compose(digits: np.ndarray, touching: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """Each digit's layer, uint8 (h, w) on one shared canvas at MNIST's scale: heights within 20%,
    baseline drift, a common slant, gaps of 1-10 pixels (or -2-0 when ``touching``)."""
    glyphs = []
    for digit in digits:
        glyph = crop(digit)
        factor = float(rng.uniform(0.9, 1.1))
        size = (max(1, round(glyph.shape[1] * factor)), max(1, round(glyph.shape[0] * factor)))
        glyphs.append(np.asarray(Image.fromarray(glyph).resize(size, Image.Resampling.BILINEAR)))
    gaps = rng.uniform(-2, 0, len(digits)) if touching else rng.uniform(1, 10, len(digits))
    margin, drift = 8, np.cumsum(rng.integers(-1, 2, len(digits)))
    lefts = [margin]
    for glyph, gap in zip(glyphs[:-1], gaps):
        lefts.append(lefts[-1] + glyph.shape[1] + int(round(gap)))
    height = max(g.shape[0] for g in glyphs) + 2 * margin + int(np.ptp(drift))
    width = lefts[-1] + glyphs[-1].shape[1] + margin
    slant = float(np.tan(np.deg2rad(rng.uniform(-15, 15))))
    layers = []
    for glyph, left, shift in zip(glyphs, lefts, drift - drift.min()):
        layer = np.zeros((height, width + 2 * margin), dtype=np.uint8)
        top = margin + int(shift) + (max(g.shape[0] for g in glyphs) - glyph.shape[0])  # common baseline
        layer[top : top + glyph.shape[0], margin + left : margin + left + glyph.shape[1]] = glyph
        sheared = Image.fromarray(layer).transform(
            layer.shape[::-1],
            Image.Transform.AFFINE,
            (1, slant, -slant * height / 2, 0, 1, 0),
            Image.Resampling.BILINEAR,
        )
        layers.append(np.asarray(sheared))
    return layers


def drawn(layers: list[np.ndarray], pen: int = PEN) -> list[Image.Image]:
    """Each layer's skeleton traced with a round pen ``pen`` canvas pixels wide, white on black; the
    last image holds them all."""
    height, width = layers[0].shape
    canvases = [Image.new("L", (width * DRAWN_SCALE, height * DRAWN_SCALE), 0) for _ in range(len(layers) + 1)]
    for index, layer in enumerate(layers):
        big = Image.fromarray(layer).resize((width * 4, height * 4), Image.Resampling.BICUBIC)
        rows, cols = np.nonzero(digit_sets.skeleton(np.asarray(big) > 128))
        for canvas in (canvases[index], canvases[-1]):
            draw = ImageDraw.Draw(canvas)
            for row, col in zip(rows * DRAWN_SCALE / 4, cols * DRAWN_SCALE / 4):
                draw.ellipse((col - pen / 2, row - pen / 2, col + pen / 2, row + pen / 2), fill=255)
    return canvases


def photographed(layers: list[np.ndarray], rng: np.random.Generator) -> list[Image.Image]:
    """Each layer, and (last) all of them, as dark ink on the same uneven grey paper, noisy, soft, JPEG."""
    scale = int(rng.integers(6, 13))
    height, width = layers[0].shape[0] * scale, layers[0].shape[1] * scale
    paper = np.linspace(170, 235, width)[None, :] * np.ones((height, 1)) + rng.normal(0, 4, (height, width))
    quality = int(rng.integers(60, 95))
    alphas = [
        np.asarray(Image.fromarray(layer).resize((width, height), Image.Resampling.BICUBIC)) / 255.0 for layer in layers
    ]
    photos = []
    for alpha in [*alphas, np.max(alphas, axis=0)]:
        photo = Image.fromarray(np.clip(paper * (1 - alpha) + 35 * alpha, 0, 255).astype(np.uint8))
        photos.append(
            digit_sets.as_jpeg(np.asarray(photo.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32), quality)
        )
    return photos


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, char_b in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (char_a != char_b))
    return row[-1]


@functools.cache
def detector_of(model):
    """The model's rejector (its digit detector), loaded once."""
    from mnist_cnn.rejection import load_rejector

    return load_rejector(model)


def read(gray: np.ndarray, model) -> str:
    """The number in ``gray`` (``preprocessing.open_image``'s) as ``predict --number`` reads it:
    segmented with the model and its digit detector, the digits read by the model or its specialist
    reader (``prediction.read_digits``: a bold digit by the bold reader), the model remembering the
    images it was asked about within the read."""
    return read_number(gray, model)[0]


def read_number(gray: np.ndarray, model) -> tuple[str, str]:
    """(``read``'s number, the same segments read by the model alone): "" for both when no digit is found."""
    from mnist_cnn import prediction
    from mnist_cnn.errors import ImageError

    with model.remembering():
        try:
            reading = prediction.read_gray(
                gray, "number", model.probabilities, detector_of(model).one_digit_probabilities
            )
        except ImageError:
            return "", ""
        images = np.stack(reading.images)
        probabilities, read_by = prediction.read_digits(model, images, reading.digit_kinds)
        alone = probabilities if not any(read_by) else model.probabilities(images)
    return tuple("".join(str(int(row.argmax())) for row in rows) for rows in (probabilities, alone))


def alone(grays: list[np.ndarray], model) -> str:
    """The ceiling: each digit's own image (``open_image``'s) read as ``predict --single`` reads it
    (``to_mnist``, and the model or its specialist reader for that image's kind), left to right."""
    from mnist_cnn import prediction

    readings = [prediction.read_gray(gray, "single") for gray in grays]
    images = np.stack([reading.images[0] for reading in readings])
    probabilities, _ = prediction.read_digits(model, images, [reading.kind for reading in readings])
    return "".join(str(int(row.argmax())) for row in probabilities)


def summary(rows: list[dict], key: str) -> dict:
    """Exact-string and per-digit accuracy of ``key`` ("read" or "ceiling") over ``rows``."""
    if not rows:
        return {"count": 0}
    exact = np.mean([row[key] == row["expected"] for row in rows])
    errors = sum(edit_distance(row[key], row["expected"]) for row in rows)
    digits = sum(len(row["expected"]) for row in rows)
    return {"count": len(rows), "exact": float(exact), "per_digit": max(0.0, 1 - errors / digits)}


def numbers(digits: np.ndarray, labels: np.ndarray, model, count: int) -> list[dict]:
    """``count`` numbers per length of the MNIST-format ``digits`` (with their ``labels``), half separated
    and half touching, each drawn and photographed."""
    from mnist_cnn import preprocessing

    rng = np.random.default_rng(11)
    rows = []
    for length in LENGTHS:
        for index in range(count):
            chosen = rng.choice(len(digits), length, replace=False)
            expected = "".join(str(int(label)) for label in labels[chosen])
            touching = index % 2 == 1
            layers = compose(digits[chosen], touching, rng)
            for kind, images in (("drawn", drawn(layers)), ("photo", photographed(layers, rng))):
                grays = [preprocessing.open_image(image) for image in images]
                rows.append(
                    {
                        "length": length,
                        "spacing": "touching" if touching else "separated",
                        "kind": kind,
                        "expected": expected,
                        "read": read(grays[-1], model),
                        "ceiling": alone(grays[:-1], model),
                    }
                )
        done = [row for row in rows if row["length"] == length]
        print(f"length {length}: {summary(done, 'read')['exact']:.1%} exact", flush=True)
    return rows


FRAME_KINDS = ("box", "rounded", "cells", "tight", "underline", "dark_plaque")


def in_frame(layers: list[np.ndarray], rng: np.random.Generator, kind: str, photo: bool) -> Image.Image:
    """The number's layers drawn (white on black or black on white) or photographed (dark ink on
    uneven paper, turned up to 3 degrees, soft, JPEG) inside a frame: a form field's ``box``, a
    plaque's ``rounded`` border, a meter's ``cells`` (a divider midway between each two digits),
    the frame cut by the image's edge (``tight``), or the ``underline`` it is written above; the
    frame 0.3-1.5x the pen's width and 60-100% of its ink, 8-40% of the digits' height away."""
    union = np.max(layers, axis=0)
    height, width = union.shape
    scale = int(rng.integers(6, 13)) if photo else DRAWN_SCALE
    if photo:
        alpha = np.asarray(Image.fromarray(union).resize((width * scale, height * scale), Image.Resampling.BICUBIC))
        alpha, pen = alpha.astype(np.float32) / 255.0, 2.5 * scale
    else:
        alpha, pen = np.asarray(drawn(layers)[-1], dtype=np.float32) / 255.0, PEN
    rows, cols = np.nonzero(alpha > 0.3)
    tall = rows.max() - rows.min()
    margin = rng.uniform(0.08, 0.4) * tall
    thick = max(1, int(round(pen * rng.choice([0.3, 0.6, 1.0, 1.5]))))
    pad = int(margin + thick + (0 if kind == "tight" else rng.uniform(0.1, 0.8) * tall))
    top, bottom = rows.min() + pad - margin - thick, rows.max() + pad + margin + thick
    left, right = cols.min() + pad - margin - thick, cols.max() + pad + margin + thick
    image = Image.fromarray((np.pad(alpha, pad) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    level = int(255 * rng.uniform(0.6, 1.0))
    if kind == "underline":
        y = rows.max() + pad + rng.uniform(0.05, 0.25) * tall
        draw.line(
            (left - rng.uniform(0, 0.5) * tall, y, right + rng.uniform(0, 0.5) * tall, y), fill=level, width=thick
        )
    elif kind == "rounded":
        radius = int(rng.uniform(0.1, 0.4) * tall)
        draw.rounded_rectangle((left, top, right, bottom), radius=radius, outline=level, width=thick)
    else:
        draw.rectangle((left, top, right, bottom), outline=level, width=thick)
    if kind == "cells":
        extents = [np.flatnonzero((layer > 80).any(axis=0)) for layer in layers]
        for before, after in zip(extents[:-1], extents[1:]):
            x = (before.max() + after.min()) / 2 * scale + pad
            draw.line((x, top, x, bottom), fill=level, width=thick)
    alpha = np.asarray(image, dtype=np.float32) / 255.0
    if kind == "tight":
        cut = int(rng.uniform(0, thick))
        alpha = alpha[int(top) + cut : int(bottom) - cut + 1, int(left) + cut : int(right) - cut + 1]
    if not photo:
        return Image.fromarray((255 * (alpha if rng.random() < 0.5 else 1 - alpha)).astype(np.uint8))
    turned = Image.fromarray(alpha).rotate(float(rng.uniform(-3, 3)), Image.Resampling.BILINEAR, expand=True)
    alpha = np.asarray(turned, dtype=np.float32)
    paper = np.linspace(170, 235, alpha.shape[1])[None, :] * np.ones((alpha.shape[0], 1))
    paper = paper + rng.normal(0, 4, alpha.shape)
    photo_ = Image.fromarray(np.clip(paper * (1 - alpha) + 35 * alpha, 0, 255).astype(np.uint8))
    return digit_sets.as_jpeg(
        np.asarray(photo_.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32), 60 + int(rng.integers(0, 35))
    )


def on_plaque(layers: list[np.ndarray], rng: np.random.Generator, photo: bool) -> Image.Image:
    """The number's layers as light writing (grey 190-255) on a dark plaque (grey 15-110) with corners
    rounded at 0-40% of the digits' height, half of them with a light border inside, on a lighter
    wall (at least 60 grey levels lighter); drawn flat, or photographed (turned up to 3 degrees, the
    wall lit unevenly, soft, JPEG). A house number or a dark meter's face."""
    alpha = np.asarray(drawn(layers)[-1], dtype=np.float32) / 255.0
    rows, cols = np.nonzero(alpha > 0.3)
    tall = rows.max() - rows.min()
    margin, wall = rng.uniform(0.15, 0.5) * tall, int(rng.uniform(0.15, 0.8) * tall)
    left, top, right, bottom = cols.min() - margin, rows.min() - margin, cols.max() + margin, rows.max() + margin
    box = (left + wall, top + wall, right + wall, bottom + wall)
    alpha = np.pad(alpha, wall)
    plaque = Image.new("L", alpha.shape[::-1], 0)
    ImageDraw.Draw(plaque).rounded_rectangle(box, radius=int(rng.uniform(0, 0.4) * tall), fill=255)
    border = Image.new("L", alpha.shape[::-1], 0)
    if rng.random() < 0.5:
        thick = max(2, int(rng.uniform(0.3, 1.0) * min(PEN, 0.3 * margin)))
        inset = rng.uniform(0.15, 0.5) * margin
        inner = (box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset)
        ImageDraw.Draw(border).rounded_rectangle(inner, radius=int(0.2 * tall), outline=255, width=thick)
    ground, light = rng.uniform(15, 110), rng.uniform(190, 255)
    surround = np.full(alpha.shape, rng.uniform(ground + 60, 245), dtype=np.float32)
    if photo:
        surround = surround * np.linspace(0.85, 1.0, alpha.shape[1])[None, :]
    writing = np.maximum(alpha, np.asarray(border, dtype=np.float32) / 255.0)
    face = np.asarray(plaque, dtype=np.float32) / 255.0
    image = surround * (1 - face) + (ground * (1 - writing) + light * writing) * face
    if not photo:
        return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    turned = Image.fromarray(image.astype(np.float32), mode="F").rotate(
        float(rng.uniform(-3, 3)), Image.Resampling.BILINEAR, expand=True, fillcolor=float(surround[0, -1])
    )
    noisy = np.asarray(turned, dtype=np.float32) + rng.normal(0, 4, (turned.height, turned.width))
    soft = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
    return digit_sets.as_jpeg(np.asarray(soft, dtype=np.float32), 60 + int(rng.integers(0, 35)))


def framed_numbers(digits: np.ndarray, labels: np.ndarray, model, count: int) -> dict:
    """``count`` numbers of 2-5 separated digits per frame kind (``in_frame``), half drawn and half
    photographed: exact-string accuracy per kind, read as ``predict`` reads them (auto mode)."""
    import mnist_cnn
    from mnist_cnn.errors import ImageError

    rng = np.random.default_rng(13)
    result = {}
    for kind in FRAME_KINDS:
        right, mistakes = 0, []
        for index in range(count):
            chosen = rng.choice(len(digits), int(rng.integers(2, 6)), replace=False)
            expected = "".join(str(int(label)) for label in labels[chosen])
            layers = compose(digits[chosen], False, rng)
            if kind == "dark_plaque":
                image = on_plaque(layers, rng, photo=index % 2 == 1)
            else:
                image = in_frame(layers, rng, kind, photo=index % 2 == 1)
            try:
                (answer,) = mnist_cnn.predict([image], model=model)
                got = answer.number if hasattr(answer, "number") else str(answer.digit)
            except ImageError:
                got = ""
            right += got == expected
            if got != expected:
                mistakes.append({"expected": expected, "read": got, "photo": index % 2 == 1})
        result[kind] = {"count": count, "exact": right / count, "mistakes": mistakes[:10]}
        print(f"framed ({kind}): {right / count:.1%} exact", flush=True)
    return result


def with_marker(layers: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The number's layers written with a marker and photographed: each digit's skeleton traced with a
    round tip 2-4x MNIST's stroke (``drawn`` with a wider pen), as dark ink on uneven grey paper, soft,
    noisy, JPEG: a grayscale image (``preprocessing.open_image``'s)."""
    from mnist_cnn import preprocessing

    alpha = np.asarray(drawn(layers, pen=int(round(PEN * rng.uniform(2.0, 4.0))))[-1], np.float32) / 255.0
    height, width = alpha.shape
    paper = np.linspace(170, 235, width)[None, :] * np.ones((height, 1)) + rng.normal(0, 4, (height, width))
    photo = Image.fromarray(np.clip(paper * (1 - alpha) + rng.uniform(20, 60) * alpha, 0, 255).astype(np.uint8))
    soft = np.asarray(photo.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32)
    return preprocessing.open_image(digit_sets.as_jpeg(soft, int(rng.integers(60, 95))))


def marker_numbers(digits: np.ndarray, labels: np.ndarray, model, count: int) -> dict:
    """``count`` numbers of 2-5 separated digits written with a marker (``with_marker``): exact-string
    accuracy read as ``predict --number`` reads them (a bold digit by the bold reader), and the same
    segments read by the model alone."""
    rng = np.random.default_rng(17)
    right = {"read": 0, "model_alone": 0}
    for _ in range(count):
        chosen = rng.choice(len(digits), int(rng.integers(2, 6)), replace=False)
        expected = "".join(str(int(label)) for label in labels[chosen])
        got, alone = read_number(with_marker(compose(digits[chosen], False, rng), rng), model)
        right["read"] += got == expected
        right["model_alone"] += alone == expected
    result = {"count": count, "exact": right["read"] / count, "exact_model_alone": right["model_alone"] / count}
    print(f"marker numbers: {result['exact']:.1%} exact ({result['exact_model_alone']:.1%} by the model alone)")
    return result


WORDS = (
    "no on in an am is it at us up go so me we he be do to of or if my by hi ok yes sun dog cat box mom dad hey "
    "run win man men ten new now how why who you red bed hand name more home time line kind mine none room "
    "moon menu train north water winter summer hello world number"
).split()


def typeset_word(word: str, font, rng: np.random.Generator) -> np.ndarray:
    """``word`` typeset in ``font`` (a path) at MNIST's scale, capitals about 20 pixels high, slanted
    by up to 0.2 and turned by up to 5 degrees: uint8 (h, w), white on black, with an 8-pixel margin,
    a layer for ``drawn`` and ``photographed``."""
    from PIL import ImageFont

    face = ImageFont.truetype(str(font), 28)
    left, top, right, bottom = face.getbbox(word)
    image = Image.new("L", (right - left + 16, bottom - top + 16), 0)
    ImageDraw.Draw(image).text((8 - left, 8 - top), word, font=face, fill=255)
    shear = float(rng.uniform(-0.2, 0.2))
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1, shear, -shear * image.height / 2, 0, 1, 0), Image.Resampling.BILINEAR
    )
    return np.asarray(image.rotate(float(rng.uniform(-5, 5)), Image.Resampling.BILINEAR, expand=True))


def words(model, count: int) -> dict:
    """``count`` words of each kind, each drawn and photographed as numbers are (``drawn``,
    ``photographed``), read as ``mnist-cnn predict`` reads them (``mnist_cnn.predict``): the share
    refused (status not_a_digit, or no digit found) and the share read as digits with the status
    "digit", a confident wrong answer. Kinds: "typeset", a common English word (``WORDS``,
    capitalised half the time) in a font no model was trained with (``outliers.HELD_OUT_FONTS``);
    "letters", 2-5 letters that share no digit's shape (``outliers.mnist_scale_letter``, hand-drawn
    or in a held-out font) composed as digits are (``compose``)."""
    import mnist_cnn
    from mnist_cnn import outliers
    from mnist_cnn.errors import ImageError

    rng = np.random.default_rng(23)
    fonts = outliers.HELD_OUT_FONTS
    result = {}
    for kind in ("typeset", "letters"):
        counts = {"drawn": [0, 0], "photo": [0, 0]}
        examples = []
        for index in range(count):
            if kind == "typeset":
                word = str(rng.choice(WORDS))
                word = word.capitalize() if index % 2 else word
                layers = [typeset_word(word, fonts[int(rng.integers(len(fonts)))], rng)]
            else:
                glyphs = [outliers.mnist_scale_letter(rng, fonts) for _ in range(int(rng.integers(2, 6)))]
                layers, word = compose(glyphs, bool(rng.random() < 0.5), rng), f"{len(glyphs)} letters"
            for render, image in (("drawn", drawn(layers)[-1]), ("photo", photographed(layers, rng)[-1])):
                try:
                    (answer,) = mnist_cnn.predict(image, model)
                    status, read = answer.status, getattr(answer, "number", None) or str(answer.digit)
                except ImageError:
                    status, read = "no digit found", ""
                counts[render][0] += status in ("not_a_digit", "no digit found")
                counts[render][1] += status == "digit"
                if status == "digit" and len(examples) < 12:
                    examples.append(f"{word} ({render}): {read}")
        result[kind] = {
            render: {"count": count, "refused": refused / count, "read_as_digits": accepted / count}
            for render, (refused, accepted) in counts.items()
        }
        result[kind]["accepted_examples"] = examples
        print(f"words {kind}: {result[kind]}", flush=True)
    return result


def singles(dataset, model, count: int) -> dict:
    """On single digits drawn and photographed: the share read as exactly one segment, and the share
    whose segment image is exactly to_mnist's."""
    from mnist_cnn import preprocessing, segmentation

    sets, _ = own_digits.build_sets(dataset, count)
    result = {}
    for name in ("drawn", "photos", "small_drawings", "dim_photos", "sheet_on_desk", "lined_paper", "bold_marker"):
        one, same = 0, 0
        for image in sets[name][0]:
            gray = preprocessing.open_image(image)
            segments = segmentation.segment(gray, model.probabilities, detector_of(model).one_digit_probabilities)
            one += len(segments) == 1
            same += len(segments) == 1 and np.array_equal(segments[0].image, preprocessing.to_mnist(gray))
        result[name] = {"count": count, "one_segment": one / count, "same_as_to_mnist": same / count}
        print(f"singles {name}: {one / count:.1%} one segment, {same / count:.1%} identical", flush=True)
    return result


def timing(dataset, model, runs: int = 50) -> tuple[float, float]:
    """Median milliseconds to read a drawn, separated 4-digit number (decoded already) end to end:
    (the same number ``runs`` times; ``runs`` different numbers, each read once)."""
    from mnist_cnn import preprocessing

    rng = np.random.default_rng(3)
    grays = [
        preprocessing.open_image(drawn(compose(dataset.test_images[4 * k : 4 * k + 4], False, rng))[-1])
        for k in range(runs + 1)
    ]
    read(grays[1], model)  # warm up on another number
    same, different = [], []
    for gray in [grays[0]] * runs + grays[1:]:
        started = time.perf_counter()
        read(gray, model)
        (same if gray is grays[0] else different).append(time.perf_counter() - started)
    return float(np.median(same) * 1000), float(np.median(different) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="numbers per length, each rendered twice (default: 200)")
    parser.add_argument("--singles", type=int, default=300, help="single digits per kind (default: 300)")
    parser.add_argument("--framed", type=int, default=60, help="numbers per frame kind (default: 60; 0 skips)")
    parser.add_argument(
        "--markers", type=int, default=100, help="numbers written with a marker (default: 100; 0 skips)"
    )
    parser.add_argument(
        "--words", type=int, default=200, help="words of each kind, none of them a number (default: 200; 0 skips)"
    )
    parser.add_argument("--model", default="best", help="shipped model name or model file (default: best)")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    parser.add_argument("--out", default="numbers", help="result name in benchmarks/results (default: numbers)")
    parser.add_argument(
        "--digits",
        choices=("test", "validation"),
        default="test",
        help="compose numbers from MNIST test digits, or from the validation split (seed 42, 10%%) to choose "
        "segmentation settings on; validation skips singles and timing (default: test)",
    )
    args = parser.parse_args()

    import mnist_cnn
    from mnist_cnn.data import load_dataset

    dataset = load_dataset("mnist", args.data_dir)
    model = mnist_cnn.load_model(args.model, runtime="onnx")
    if args.digits == "test":
        images, labels = dataset.test_images, dataset.test_labels
    else:
        from mnist_cnn.data import training_split

        _, (images, labels) = training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    rows = numbers(images, labels, model, args.count)
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/number_reading.py", *sys.argv[1:]]),
        "model": args.model,
        "digits": args.digits,
        "overall": {key: summary(rows, key) for key in ("read", "ceiling")},
        "by_length": {},
        "by_spacing": {},
        "by_kind": {},
        "mistakes": [row for row in rows if row["read"] != row["expected"]][:30],
    }
    for field, values in (("length", LENGTHS), ("spacing", ("separated", "touching")), ("kind", ("drawn", "photo"))):
        for value in values:
            chosen = [row for row in rows if row[field] == value]
            results[f"by_{field}"][str(value)] = {key: summary(chosen, key) for key in ("read", "ceiling")}
    chosen = [row for row in rows if row["length"] == 4]
    results["four_digits_by_spacing"] = {
        spacing: {
            key: summary([row for row in chosen if row["spacing"] == spacing], key) for key in ("read", "ceiling")
        }
        for spacing in ("separated", "touching")
    }
    # The two renderings apart: a drawing traces each digit's skeleton with one pen, so a digit whose
    # writer filled a loop (a bold 6, 8 or 0) comes out as a line; a photo keeps the digit as written.
    results["four_digits_by_spacing_and_kind"] = {
        spacing: {
            kind: {
                key: summary([row for row in chosen if row["spacing"] == spacing and row["kind"] == kind], key)
                for key in ("read", "ceiling")
            }
            for kind in ("drawn", "photo")
        }
        for spacing in ("separated", "touching")
    }
    for name in ("overall", "by_spacing", "four_digits_by_spacing", "four_digits_by_spacing_and_kind"):
        print(name, results[name])
    if args.framed:
        results["framed"] = framed_numbers(images, labels, model, args.framed)
    if args.markers:
        results["marker_numbers"] = marker_numbers(images, labels, model, args.markers)
    if args.words:
        results["words"] = words(model, args.words)
    if args.digits == "test":
        results["singles"] = singles(dataset, model, args.singles)
        same, different = timing(dataset, model)
        results["read_4_digits_ms_median"], results["read_50_different_4_digit_numbers_ms_median"] = same, different
        print(f"4-digit number read in {same:.1f} ms (median; {different:.1f} ms over 50 different numbers)")
    write_result(args.out, results)


if __name__ == "__main__":
    main()
