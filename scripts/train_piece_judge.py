"""Train the piece judge that number segmentation asks whether a candidate piece is one whole digit.

Usage: MNIST_CNN_DATA=../shared/mnist .venv/bin/python scripts/train_piece_judge.py --out runs/judge [--ship]

Segmentation by recognition (``mnist_cnn.segmentation.split``) scores every piece a candidate cut
leaves by how well the classifier reads it. A classifier reads a 5 with a touching 1 ("51") as a 5,
and a 0 cut in two as a 1 and a 2, with high confidence: it never saw anything but single digits.
The judge is trained on exactly what ``split`` scores: numbers of 2-4 digits composed from MNIST
*training-split* digits, as in ``benchmarks/number_reading.py`` (touching or separated, heights,
drift, slant), rendered as drawings with pens of several widths, as photographs and as MNIST-scale
white on black; their ink map, components, merged digits and every piece between two candidate cuts
(``segmentation.candidate_pieces``), each made MNIST-style as ``split`` makes it. Words are composed
and cut the same way (``--words``): 2-5 letters that share no digit's shape (``outliers.LETTER_STROKES``
drawn with a pen, or ``outliers.FONT_CHARACTERS`` typeset in the training fonts), capitals and
ascenders a digit's height, the other lower-case letters 55-75% of it, so that a letter is one
whole character to the judge and is not cut into the 1s and 7s its strokes also read as ("no" was
read "170", "mom" "770177"). A piece is labelled one whole character (1) when it holds at least
COVERED of one glyph's ink and no more than STRAY of any other's, not one (0) when it holds under
PART of every glyph or more than EXTRA of a second (two glyphs, a fragment, a glyph with a
neighbour's stroke), and is left out in between. The network is
the rejection detector's shape (``rejection.detector_model``), trained by binary cross-entropy with
classes weighted equally; the epoch with the best validation loss (pieces from validation-split
digits) is kept. The MNIST test set is never used.

Generated pieces are cached in ``OUT/pieces.npz``. With ``--ship`` the judge and its ONNX and LiteRT
exports go to ``src/mnist_cnn/piece_judge/`` with a card.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import number_reading  # noqa: E402
from mnist_cnn import data, outliers, preprocessing, segmentation  # noqa: E402
from mnist_cnn.errors import ImageError  # noqa: E402

JUDGE_DIR = ROOT / "src" / "mnist_cnn" / "piece_judge"
COVERED = 0.9  # share of a digit's ink a piece must hold to be that digit
STRAY = 0.1  # share of any other digit's ink such a piece may also hold (the touching point)
PART = 0.7  # a piece holding less than this of every digit is a fragment
EXTRA = 0.3  # a piece holding more than this of a second digit holds two
PENS = (14, 22, 30)  # pen widths of the drawings, canvas pixels for a digit about 200 high (22: MNIST's)
LENGTHS = (2, 2, 3, 3, 4)
WORD_LENGTHS = (2, 3, 3, 4, 5)
TOUCHING = 0.75  # share of numbers whose digits touch
CHUNK = 100  # numbers per task

_digits: np.ndarray | None = None  # the MNIST-format digits the workers compose from (set before forking)


def owners(gray_shape: tuple[int, int], layers: list[np.ndarray], ink: np.ndarray, placement) -> np.ndarray:
    """int (H, W) over the ink map: which layer's digit each map pixel belongs to, -1 for none; the
    layers (MNIST-scale canvases) sampled at each map pixel's centre in the original image."""
    from scipy import ndimage

    height, width = layers[0].shape
    scale_y, scale_x = gray_shape[0] / height, gray_shape[1] / width
    rows = ((np.arange(ink.shape[0]) + placement.top + 0.5) * placement.scale_y / scale_y).astype(int)
    cols = ((np.arange(ink.shape[1]) + placement.left + 0.5) * placement.scale_x / scale_x).astype(int)
    rows, cols = np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)
    stack = np.stack([ndimage.maximum_filter(layer, size=3) for layer in layers])[:, rows][:, :, cols]
    owner = stack.argmax(axis=0)
    return np.where(stack.max(axis=0) > 20, owner, -1)


def label(piece, owner: np.ndarray, totals: np.ndarray) -> int:
    """1 one digit, 0 not one digit, -1 neither clearly (left out)."""
    own = owner[piece.top : piece.bottom, piece.left : piece.right][piece.mask]
    counts = np.bincount(own[own >= 0], minlength=len(totals))
    shares = np.sort(counts / np.maximum(totals, 1))[::-1]
    if shares[0] >= COVERED and shares[1] <= STRAY:
        return 1
    if shares[0] < PART or shares[1] > EXTRA:
        return 0
    return -1


def render(layers: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The number as a grayscale image: drawn with a random pen, photographed, or MNIST-scale white on black."""
    kind = rng.integers(3)
    if kind == 0:
        image = number_reading.drawn(layers, pen=int(rng.choice(PENS)))[-1]
    elif kind == 1:
        image = number_reading.photographed(layers, rng)[-1]
    else:
        image = Image.fromarray(np.max(layers, axis=0))
    return preprocessing.open_image(image)


def pieces_of(layers: list[np.ndarray], rng: np.random.Generator) -> tuple[list[np.ndarray], list[int]]:
    """Every candidate piece of one rendered number, MNIST-style, and its label."""
    gray = render(layers, rng)
    try:
        ink, placement = segmentation.ink_map(gray)
    except ImageError:
        return [], []
    owner = owners(gray.shape, layers, ink, placement)
    totals = np.bincount(owner[(ink > segmentation.STROKE) & (owner >= 0)], minlength=len(layers))
    images, labels = [], []
    for piece in segmentation.candidate_pieces(ink):
        value = label(piece, owner, totals)
        if value >= 0:
            images.append(piece.mnist_image(ink))
            labels.append(value)
    return images, labels


def chunk(task: tuple[int, int, bool]) -> tuple[np.ndarray, np.ndarray]:
    """``count`` numbers (or words, ``words``) from seed ``seed``: their pieces' images uint8
    (n, 28, 28) and labels (n,)."""
    seed, count, words = task
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(count):
        if words:
            glyphs = [outliers.mnist_scale_letter(rng) for _ in range(int(rng.choice(WORD_LENGTHS)))]
        else:
            glyphs = _digits[rng.choice(len(_digits), int(rng.choice(LENGTHS)), replace=False)]
        layers = number_reading.compose(glyphs, bool(rng.random() < TOUCHING), rng)
        found, values = pieces_of(layers, rng)
        images += found
        labels += values
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int8)
    return np.stack(images), np.asarray(labels, np.int8)


def generate(
    digits: np.ndarray, count: int, seed: int, processes: int, words: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pieces of ``count`` numbers composed from ``digits`` and of ``words`` words, in ``processes``
    worker processes."""
    global _digits
    _digits = digits
    tasks = [
        (seed * 100_000 + index, min(CHUNK, count - start), False) for index, start in enumerate(range(0, count, CHUNK))
    ]
    tasks += [
        (seed * 100_000 + 50_000 + index, min(CHUNK, words - start), True)
        for index, start in enumerate(range(0, words, CHUNK))
    ]
    with Pool(processes) as pool:
        parts = pool.map(chunk, tasks)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def pieces(out: Path, train_numbers: int, processes: int, train_words: int = 0) -> dict:
    """The cached training and validation pieces, generated on first use."""
    path = out / "pieces.npz"
    if path.exists():
        cached = np.load(path)
        made_words = int(cached["train_words"]) if "train_words" in cached else 0
        if int(cached["train_numbers"]) == train_numbers and made_words == train_words:
            return dict(cached)
    dataset = data.load_dataset("mnist")
    (train, _), (validation, _) = data.training_split(dataset.train_images, dataset.train_labels, 0.1, 42)
    started = time.time()
    x_train, y_train = generate(train, train_numbers, 1, processes, train_words)
    x_val, y_val = generate(validation, max(CHUNK, train_numbers // 10), 2, processes, train_words // 10)
    arrays = {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}
    arrays["train_numbers"] = np.asarray(train_numbers)
    arrays["train_words"] = np.asarray(train_words)
    arrays["seconds"] = np.asarray(time.time() - started)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def fit(sets: dict, out: Path, epochs: int):
    """Train the judge; the epoch with the best validation loss is kept."""
    import keras

    from mnist_cnn.augmentation import RandomAffine
    from mnist_cnn.rejection import detector_model

    keras.utils.set_random_seed(42)
    images = sets["x_train"][..., None].astype(np.float32) / 255
    labels = sets["y_train"].astype(np.float32)
    positives = labels.mean()
    weights = np.where(labels == 1, 0.5 / positives, 0.5 / (1 - positives)).astype(np.float32)
    judge = detector_model()
    model = keras.Sequential([keras.Input((28, 28, 1)), RandomAffine(seed=1), judge])
    peak = 2e-3
    steps = int(np.ceil(len(images) / 256)) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        peak / 20, steps, warmup_target=peak, warmup_steps=steps // epochs
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy", metrics=["accuracy"])
    keep = keras.callbacks.ModelCheckpoint(out / "best.weights.h5", save_best_only=True, save_weights_only=True)
    history = model.fit(
        images,
        labels,
        sample_weight=weights,
        batch_size=256,
        epochs=epochs,
        shuffle=True,
        validation_data=(sets["x_val"][..., None].astype(np.float32) / 255, sets["y_val"].astype(np.float32)),
        callbacks=[keep],
        verbose=2,
    )
    model.load_weights(out / "best.weights.h5")
    judge.save(out / "model.keras")
    return history.history


def export(out: Path, folder: Path) -> None:
    """The judge of run ``out`` and its ONNX and LiteRT exports into ``folder``."""
    from mnist_cnn.export import export_model_files

    export_model_files(out / "model.keras", folder)


def card(out: Path, numbers: int) -> str:
    """The judge's model card from its run's pieces and history."""
    sets = np.load(out / "pieces.npz")
    words = int(sets["train_words"]) if "train_words" in sets else 0
    history = json.loads((out / "history.json").read_text())
    best = int(np.argmin(history["val_loss"]))
    return f"""# Model card: the piece judge

## What it is
A small CNN (the digit detector's shape, `rejection.detector_model`) giving the probability that a
piece number segmentation cut from an image is **one whole character**, a digit or a letter: not a
fragment of one, not two side by side, not one carrying a neighbour's stroke. A letter is one whole
character so that a word's "n" or "m" is left whole (and refused by the digit detector), not cut into
the 1s and 7s its strokes read as. Input uint8-scaled float32 images
`(n, 28, 28, 1)`, values 0-1, made MNIST-style as `segmentation.split` makes each candidate piece;
output `(n, 1)`. `segmentation.segment` adds twice its log to each piece's score (`DETECTOR_WEIGHT`)
and asks it about a number's tight pairs; the digit detector is left to rejection. Used by every
runtime (`model.keras`, `model.onnx`, `model.tflite`).

## How it was trained
`scripts/train_piece_judge.py --out {out} --numbers {numbers} --words {words} --epochs {len(history["val_loss"])}`:
{numbers:,} numbers of 2-4 digits composed from MNIST training-split digits as
`benchmarks/number_reading.py` composes test digits ({TOUCHING:.0%} touching), and {words:,} words of
2-5 letters that share no digit's shape (`outliers.LETTER_STROKES` drawn with a pen, or
`outliers.FONT_CHARACTERS` typeset in the training fonts; capitals and tall lower-case letters a
digit's height, the others {outliers.SMALL_LETTER[0]:.0%}-{outliers.SMALL_LETTER[1]:.0%} of it:
`outliers.mnist_scale_letter`), composed the same way; drawn with pens
of {", ".join(map(str, PENS))} pixels, photographed, or white on black at MNIST's scale; every
merged component and every piece between two candidate cuts, labelled by the glyphs' own layers:
one whole character when it holds at least {COVERED:.0%} of a glyph's ink and at most
{STRAY:.0%} of any other's, not one when under {PART:.0%} of every glyph or over {EXTRA:.0%} of a second.
{len(sets["y_train"]):,} training pieces ({float(sets["y_train"].mean()):.1%} one whole character), classes weighted
equally; RandomAffine; Adam with warm-up and cosine decay, batch 256, {len(history["val_loss"])} epochs,
kept epoch {best + 1} (validation loss {history["val_loss"][best]:.4f}, accuracy
{history["val_accuracy"][best]:.2%} on {len(sets["y_val"]):,} pieces of validation-split digits and other words).
The MNIST test set was not used.

## Measured
{measured()}"""


def measured() -> str:
    """The card's "Measured" section: benchmarks/results/numbers.json's exact-string accuracies."""
    path = ROOT / "benchmarks" / "results" / "numbers.json"
    if not path.exists():
        return "Not measured yet: run `benchmarks/number_reading.py`, then this script with `--card`.\n"
    results = json.loads(path.read_text())
    four, spacing = results["four_digits_by_spacing"], results["by_spacing"]
    return (
        f"`{results['command']}` ({results['date'][:10]}), numbers of 2-6 MNIST *test* digits read by\n"
        f"`{results['model']}` with this judge, exact-string accuracy (the ceiling: the digits cut perfectly):\n"
        f"- 4 digits touching {four['touching']['read']['exact']:.1%} "
        f"(ceiling {four['touching']['ceiling']['exact']:.1%}), separated {four['separated']['read']['exact']:.1%} "
        f"(ceiling {four['separated']['ceiling']['exact']:.1%});\n"
        f"- all lengths touching {spacing['touching']['read']['exact']:.1%}, separated "
        f"{spacing['separated']['read']['exact']:.1%}.\n"
        'docs/BENCHMARKS.md ("Reading numbers") compares them with the rejection detector judging the pieces,\n'
        "and gives the validation-split numbers the choice to ship the judge was made on.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--numbers", type=int, default=4000, help="training numbers to cut into pieces")
    parser.add_argument(
        "--words", type=int, default=0, help="training words to cut into pieces (default: 0, as the shipped judge)"
    )
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--ship", action="store_true", help="copy the judge, exports and card into the package")
    parser.add_argument("--card", action="store_true", help="only rewrite the shipped judge's card")
    args = parser.parse_args()
    if args.card:
        (JUDGE_DIR / "MODEL_CARD.md").write_text(card(args.out, args.numbers))
        return
    sets = pieces(args.out, args.numbers, args.processes, args.words)
    print(
        f"pieces: {len(sets['y_train'])} training ({sets['y_train'].mean():.1%} one digit), "
        f"{len(sets['y_val'])} validation, made in {float(sets['seconds']):.0f} s",
        flush=True,
    )
    if not (args.out / "history.json").exists():
        history = fit(sets, args.out, args.epochs)
        (args.out / "history.json").write_text(json.dumps(history, indent=1))
    export(args.out, args.out / "export")
    if args.ship:
        export(args.out, JUDGE_DIR)
        (JUDGE_DIR / "MODEL_CARD.md").write_text(card(args.out, args.numbers))


if __name__ == "__main__":
    main()
