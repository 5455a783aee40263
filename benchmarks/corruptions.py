"""Test error of the shipped models and the keras.io convnet on the 15 MNIST-C corruptions of the MNIST test set.

Usage: .venv/bin/python benchmarks/corruptions.py [--count 10000] [--models best,seed] [--keras-io-epochs 15]
                                                  [--skip-keras-io] [--data-dir DIR]

MNIST-C (Mu & Gilmer 2019, "MNIST-C: A Robustness Benchmark for Computer Vision", arXiv:1906.02337) applies
15 corruptions to the MNIST test set. Its official files (zenodo.org/record/3239543) cannot be downloaded on
this machine (no internet), so the corruptions are regenerated here, in code, from the published recipes:
the authors' github.com/google-research/mnist-c `corruptions.py`, at the severity each function defaults to
(the one the released data set uses), ported to numpy, scipy.ndimage and Pillow (scikit-image, OpenCV and
ImageMagick, which the original calls, are not installed). Deviations from the official code:
- random draws come from this script's seeded numpy Generator, so the images are new samples of the same
  distributions, not the released images; error figures differ from the released set's by sampling noise;
- motion_blur: ImageMagick's MotionBlurImage (via Wand) is re-implemented from its source: a one-sided
  21-tap Gaussian kernel (radius 10, sigma 3) along the random angle, tap offsets rounded to whole pixels,
  edge pixels repeated outside the image; equivalent in design, not byte-identical;
- canny_edges: scikit-image 0.15's `feature.canny` (sigma 1, thresholds 0.1 and 0.2, Sobel gradients,
  4-sector interpolated non-maximum suppression, hysteresis by connected components) ported line by line
  to scipy.ndimage;
- shear, rotate, scale, translate: skimage `transform.warp` with an `AffineTransform` becomes
  scipy.ndimage.affine_transform with the same matrices (scikit-image 0.15's shear convention), bilinear,
  0 outside the image;
- brightness: the official gray -> RGB -> HSV (+0.5 on V) -> RGB -> gray round trip is, for a gray image,
  exactly clip(x + 0.5, 0, 1) (saturation 0; the gray weights sum to 1), so it is computed that way;
- kept on purpose, as in the official code: glass_blur's Gaussian blurs along image rows only (skimage's
  `gaussian(..., multichannel=True)` on a 2-D image treats the last axis as channels), and its pixel
  shuffle moves pixels by -1 or 0 only (numpy's randint excludes the upper bound);
- every corrupted image is rounded to the nearest integer and stored as uint8, as MNIST-C's files are
  (the official functions return float32; its notebook rounds for display).
Each model sees the corrupted 28x28 uint8 images directly (values / 255, no preprocessing pipeline), as it
would MNIST-C's files. Metrics: clean error, each corruption's error (1 - accuracy), and the mean corruption
error (mCE) as MNIST-C reports it: the plain mean of the 15 errors, not normalised by AlexNet's errors as
ImageNet-C's mCE is. The keras.io "Simple MNIST convnet" is trained in the same run, as published (see
time_to_accuracy.py), as the plain-CNN baseline.
Writes benchmarks/results/corruptions.json and corruptions.png (example digits under every corruption).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from common import machine, write_result  # noqa: E402
from time_to_accuracy import train_keras_io  # noqa: E402

RESULTS = Path(__file__).parent / "results"
SEED = 2019
SIDE = 28
CENTRE = 13.5  # MNIST-C keeps this point fixed under shear, rotation and scaling


# ---------------------------------------------------------------- helpers shared by several corruptions


def gaussian(images: np.ndarray, sigma: float | tuple[float, float], mode: str = "nearest") -> np.ndarray:
    """skimage.filters.gaussian on each (28, 28) image of a batch: sigma per image axis, truncate 4."""
    sigma_rows, sigma_cols = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    return ndimage.gaussian_filter(images, (0, sigma_rows, sigma_cols), mode=mode, truncate=4.0)


def warp(images: np.ndarray, params: np.ndarray) -> np.ndarray:
    """skimage.transform.warp(x, inverse_map=AffineTransform(params)) on a batch of images in [0, 1]:
    output pixel (col, row) takes the input at params @ (col, row, 1), bilinear, 0 outside."""
    (a1, a2, a3), (b1, b2, b3) = params[0], params[1]
    matrix = np.array([[1.0, 0.0, 0.0], [0.0, b2, b1], [0.0, a2, a1]])  # (image, row, col) order
    return ndimage.affine_transform(images, matrix, offset=(0.0, b3, a3), order=1, mode="grid-constant", cval=0.0)


def about_centre(linear: np.ndarray) -> np.ndarray:
    """A 2x2 linear map in (col, row) as a 3x3 affine one that keeps the image centre (13.5, 13.5) fixed."""
    params = np.eye(3)
    params[:2, :2] = linear
    params[:2, 2] = CENTRE * (1 - linear.sum(axis=1))
    return params


def warp_each(images: np.ndarray, params: list[np.ndarray], choice: np.ndarray) -> np.ndarray:
    """Warp image i with params[choice[i]] (a few distinct transforms, applied group by group)."""
    x = images / 255.0
    out = np.empty_like(x)
    for index, transform in enumerate(params):
        group = choice == index
        if group.any():
            out[group] = warp(x[group], transform)
    return np.clip(out, 0, 1) * 255


def line_from_points(c0: float, r0: float, c1: float, r1: float) -> np.ndarray:
    """MNIST-C's anti-aliased line from (col c0, row r0) to (c1, r1): brightness log(1 - d / 2.3) + 1 at
    vertical distance d from the line (about 3 pixels thick), clipped to [0, 1] and to columns c0..c1."""
    if c1 == c0:
        return np.zeros((SIDE, SIDE))
    cc, rr = np.meshgrid(np.linspace(0, SIDE - 1, SIDE), np.linspace(0, SIDE - 1, SIDE), sparse=True)
    slope = (r1 - r0) / (c1 - c0)
    distance = np.clip(np.abs(rr - (slope * (cc - c0) + r0)), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)
    line[:, : int(np.floor(c0))] = 0
    line[:, int(np.ceil(c1)) :] = 0
    return line


def plasma_fractal(rng: np.random.Generator, count: int, mapsize: int = 256, wibbledecay: float = 3) -> np.ndarray:
    """Diamond-square plasma fractal height maps (count, mapsize, mapsize) in [0, 1], as MNIST-C's (and
    ImageNet-C's) `plasma_fractal`, including its wibble * uniform(-wibble, wibble) perturbation."""
    maps = np.zeros((count, mapsize, mapsize))
    stepsize, wibble = mapsize, 100.0

    def wibbled_mean(array):
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    while stepsize >= 2:
        half = stepsize // 2
        # squares: each square's centre is the mean of its four corners plus wibble
        corners = maps[:, 0:mapsize:stepsize, 0:mapsize:stepsize]
        square_sum = corners + np.roll(corners, shift=-1, axis=1)
        square_sum += np.roll(square_sum, shift=-1, axis=2)
        maps[:, half:mapsize:stepsize, half:mapsize:stepsize] = wibbled_mean(square_sum)
        # diamonds: each edge midpoint is the mean of its four diamond neighbours plus wibble
        centres = maps[:, half:mapsize:stepsize, half:mapsize:stepsize]
        corners = maps[:, 0:mapsize:stepsize, 0:mapsize:stepsize]
        left_right = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        maps[:, 0:mapsize:stepsize, half:mapsize:stepsize] = wibbled_mean(left_right)
        top_bottom = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        maps[:, half:mapsize:stepsize, 0:mapsize:stepsize] = wibbled_mean(top_bottom)
        stepsize //= 2
        wibble /= wibbledecay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def sobel(images: np.ndarray, axis: int) -> np.ndarray:
    """scipy.ndimage.sobel of each image of a batch (derivative along ``axis``, [1, 2, 1] across it)."""
    other = 2 if axis == 1 else 1
    derivative = ndimage.correlate1d(images, [-1, 0, 1], axis=axis, mode="reflect")
    return ndimage.correlate1d(derivative, [1, 2, 1], axis=other, mode="reflect")


def canny(images: np.ndarray, sigma: float = 1.0, low: float = 0.1, high: float = 0.2) -> np.ndarray:
    """scikit-image 0.15's feature.canny (its defaults for float images) on a batch of images in [0, 1]:
    Gaussian smoothing normalised at the borders, Sobel gradients, non-maximum suppression interpolated
    in four 45-degree sectors, then hysteresis: keep 8-connected low-threshold edges that touch a high one."""
    bleed_over = ndimage.gaussian_filter(np.ones((SIDE, SIDE)), sigma, mode="constant")
    smoothed = gaussian(images, sigma, mode="constant") / (bleed_over + np.finfo(float).eps)
    jsobel, isobel = sobel(smoothed, axis=2), sobel(smoothed, axis=1)
    abs_isobel, abs_jsobel = np.abs(isobel), np.abs(jsobel)
    magnitude = np.hypot(isobel, jsobel)
    eroded_mask = np.zeros(images.shape, bool)
    eroded_mask[:, 1:-1, 1:-1] = True  # binary_erosion of an all-true mask with border_value=0
    eroded_mask &= magnitude > 0
    local_maxima = np.zeros(images.shape, bool)
    # (sector test, weight numerator/denominator, the two neighbour pairs to interpolate) per sector;
    # slices below are (rows, cols) of the neighbour's view and of the point's view, as in skimage.
    head, tail, every = slice(1, None), slice(None, -1), slice(None)
    sectors = [
        (  # 0-45 degrees: mix vertical and diagonal
            ((isobel >= 0) & (jsobel >= 0) | (isobel <= 0) & (jsobel <= 0)) & (abs_isobel >= abs_jsobel),
            (abs_jsobel, abs_isobel),
            [((head, every), (tail, every)), ((head, head), (tail, tail))],
            [((tail, every), (head, every)), ((tail, tail), (head, head))],
        ),
        (  # 45-90 degrees: mix diagonal and horizontal
            ((isobel >= 0) & (jsobel >= 0) | (isobel <= 0) & (jsobel <= 0)) & (abs_isobel <= abs_jsobel),
            (abs_isobel, abs_jsobel),
            [((every, head), (every, tail)), ((head, head), (tail, tail))],
            [((every, tail), (every, head)), ((tail, tail), (head, head))],
        ),
        (  # 90-135 degrees: mix anti-diagonal and horizontal
            ((isobel <= 0) & (jsobel >= 0) | (isobel >= 0) & (jsobel <= 0)) & (abs_isobel <= abs_jsobel),
            (abs_isobel, abs_jsobel),
            [((every, head), (every, tail)), ((tail, head), (head, tail))],
            [((every, tail), (every, head)), ((head, tail), (tail, head))],
        ),
        (  # 135-180 degrees: mix anti-diagonal and vertical
            ((isobel <= 0) & (jsobel >= 0) | (isobel >= 0) & (jsobel <= 0)) & (abs_isobel >= abs_jsobel),
            (abs_jsobel, abs_isobel),
            [((tail, every), (head, every)), ((tail, head), (head, tail))],
            [((head, every), (tail, every)), ((head, tail), (tail, head))],
        ),
    ]
    for sector, (numerator, denominator), plus, minus in sectors:
        points = eroded_mask & sector
        weight = numerator[points] / denominator[points]
        here = magnitude[points]
        keep = np.ones_like(here, dtype=bool)
        for straight, diagonal in (plus, minus):
            near = magnitude[:, straight[0][0], straight[0][1]][points[:, straight[1][0], straight[1][1]]]
            far = magnitude[:, diagonal[0][0], diagonal[0][1]][points[:, diagonal[1][0], diagonal[1][1]]]
            keep &= far * weight + near * (1 - weight) <= here
        local_maxima[points] = keep
    high_mask = local_maxima & (magnitude >= high)
    low_mask = local_maxima & (magnitude >= low)
    within_image = np.zeros((3, 3, 3), bool)
    within_image[1] = True  # 8-connectivity inside each image, none across the batch
    labels, count = ndimage.label(low_mask, within_image)
    good = np.zeros(count + 1, bool)
    good[1:] = np.asarray(ndimage.sum(high_mask, labels, np.arange(1, count + 1))) > 0
    return good[labels]


# ---------------------------------------------------------------- the 15 MNIST-C corruptions
# Each takes uint8 (n, 28, 28) and a Generator, and returns floats in 0-255 of the same shape.


def shot_noise(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shot (Poisson) noise, MNIST-C severity 5: x -> Poisson(c x) / c with c = 3 photons at full white."""
    c = 3
    return np.clip(rng.poisson(images / 255.0 * c) / c, 0, 1) * 255


def impulse_noise(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Impulse (salt-and-pepper) noise, MNIST-C severity 4: skimage random_noise mode 's&p', amount 0.17
    (each pixel flipped with probability 0.17, to white or black with equal odds)."""
    amount = 0.17
    x = images / 255.0
    flipped = rng.random(x.shape) < amount
    salted = rng.random(x.shape) < 0.5
    x[flipped & salted] = 1.0
    x[flipped & ~salted] = 0.0
    return x * 255


def glass_blur(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Glass blur, MNIST-C severity 1: Gaussian blur (sigma 0.7, along rows only as in the official code),
    then 2 sweeps over pixels 27..2 swapping each, with probability 1/2, with a neighbour offset by
    randint(-1, 1) (so -1 or 0) in each direction, then the same blur again."""
    sigma, max_delta, iterations = 0.7, 1, 2
    x = (gaussian(images / 255.0, (sigma, 0.0)) * 255).astype(np.uint8)
    every = np.arange(len(x))
    for _ in range(iterations):
        for h in range(SIDE - max_delta, max_delta, -1):
            for w in range(SIDE - max_delta, max_delta, -1):
                swap = every[rng.random(len(x)) < 0.5]
                dx, dy = rng.integers(-max_delta, max_delta, size=(2, len(swap)))
                here = x[swap, h, w]
                x[swap, h, w] = x[swap, h + dy, w + dx]
                x[swap, h + dy, w + dx] = here
    return np.clip(gaussian(x / 255.0, (sigma, 0.0)), 0, 1) * 255


def motion_blur(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Motion blur, MNIST-C severity 1: ImageMagick MotionBlurImage with radius 10, sigma 3 and an angle
    uniform in [-45, 45] degrees: a one-sided 21-tap Gaussian kernel exp(-i^2 / 2 sigma^2), i = 0..20,
    summing the pixels at round(i cos a, i sin a) from each pixel; edge pixels repeated outside."""
    radius, sigma = 10, 3
    width = 2 * radius + 1  # GetOptimalKernelWidth1D for radius > 0
    taps = np.arange(width)
    kernel = np.exp(-(taps**2) / (2.0 * sigma**2))
    kernel /= kernel.sum()
    angles = np.deg2rad(rng.uniform(-45, 45, len(images)))
    pad = width - 1
    padded = np.pad(images.astype(np.float64), ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    out = np.zeros(images.shape)
    for i, angle in enumerate(angles):
        offset_x = np.ceil(taps * np.cos(angle) - 0.5).astype(int)
        offset_y = np.ceil(taps * np.sin(angle) - 0.5).astype(int)
        for weight, dx, dy in zip(kernel, offset_x, offset_y):
            out[i] += weight * padded[i, pad + dy : pad + dy + SIDE, pad + dx : pad + dx + SIDE]
    return out


def shear(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shear, MNIST-C severity 2: skimage AffineTransform(shear=s), s = 0.4 radians with a random sign,
    i.e. [[1, -sin s], [0, cos s]] on (col, row), about the image centre; bilinear."""
    transforms = [about_centre(np.array([[1, -np.sin(s)], [0, np.cos(s)]])) for s in (-0.4, 0.4)]
    return warp_each(images, transforms, rng.integers(0, 2, len(images)))


def scale(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scale, MNIST-C severity 3: the digit shrunk to 0.7 of its size about the image centre (inverse map
    AffineTransform(scale=1/0.7)); bilinear. Deterministic."""
    transforms = [about_centre(np.eye(2) / 0.7)]
    return warp_each(images, transforms, np.zeros(len(images), int))


def rotate(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate, MNIST-C severity 2: rotation by 0.4 radians (about 23 degrees) with a random sign, about the
    image centre (skimage AffineTransform(rotation=+-0.4)); bilinear."""
    transforms = [about_centre(np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])) for a in (-0.4, 0.4)]
    return warp_each(images, transforms, rng.integers(0, 2, len(images)))


def brightness(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, MNIST-C severity 5: +0.5 on the HSV value channel, which for a gray image is
    clip(x + 0.5, 0, 1): a mid-gray background. Deterministic."""
    return np.clip(images / 255.0 + 0.5, 0, 1) * 255


def translate(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Translate, MNIST-C severity 3: a shift by 3 pixels both horizontally and vertically, each with a
    random sign (skimage AffineTransform(translation=(+-3, +-3))); parts leaving the image are lost."""
    transforms = []
    for dx in (-3, 3):
        for dy in (-3, 3):
            params = np.eye(3)
            params[:2, 2] = dx, dy
            transforms.append(params)
    return warp_each(images, transforms, rng.integers(0, 4, len(images)))


def stripe(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stripe, MNIST-C: the leftmost and rightmost 7 columns inverted (255 - x). Deterministic."""
    x = images.astype(np.float64)
    x[:, :, :7] = 255 - x[:, :, :7]
    x[:, :, 21:] = 255 - x[:, :, 21:]
    return x


def fog(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fog, MNIST-C severity 5: x + 3 * (the top-left 28x28 of a 256x256 plasma fractal with wibble decay
    1.4), rescaled by max(x) / (max(x) + 3)."""
    strength, wibbledecay = 3.0, 1.4
    x = images / 255.0
    max_value = x.max(axis=(1, 2), keepdims=True)
    out = np.empty_like(x)
    for start in range(0, len(x), 32):  # 32 maps of 256x256 at a time: 17 MB
        stop = min(start + 32, len(x))
        plasma = plasma_fractal(rng, stop - start, wibbledecay=wibbledecay)[:, :SIDE, :SIDE]
        out[start:stop] = x[start:stop] + strength * plasma
    return np.clip(out * max_value / (max_value + strength), 0, 1) * 255


def spatter(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Spatter, MNIST-C severity 4: a liquid layer N(0.65, 0.3) blurred with sigma 1, kept above 0.65;
    its mask blurred with sigma 1.5 and kept where >= 0.8 paints gray (63) mud blobs over the digit."""
    loc, spread, sigma, threshold, mask_sigma = 0.65, 0.3, 1.0, 0.65, 1.5
    x = images / 255.0
    liquid = gaussian(rng.normal(loc, spread, x.shape), sigma)
    liquid[liquid < threshold] = 0
    mask = gaussian((liquid > threshold).astype(np.float32), mask_sigma)
    mask[mask < 0.8] = 0
    return np.clip(x * (1 - mask) + 63 / 255.0 * mask, 0, 1) * 255


def dotted_line(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dotted line, MNIST-C: a line across the image from row randint(0, 27) at the left edge to another at
    the right edge, with every other pair of columns blanked (dashes 2 pixels long), added and clipped."""
    x = images / 255.0
    for i, (r0, r1) in enumerate(rng.integers(0, 27, size=(len(x), 2))):
        line = line_from_points(0, r0, 27, r1)
        for start in range(0, 28, 4):  # columns 0-1, 4-5, ... off; 2-3, 6-7, ... on
            line[:, start : start + 2] = 0
        x[i] = np.clip(x[i] + line, 0, 1)
    return x * 255


def zigzag(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Zigzag, MNIST-C: a zigzag of segments 2 pixels long and +-2 pixels wide (a = b = 2) from column 2 to
    column 25, starting at row randint(0, 27) and tilted to end randint(-5, 5) rows lower, added and clipped."""
    a, b, c0, c1 = 2.0, 2.0, 2, 25
    x = images / 255.0
    for i in range(len(x)):
        r0 = int(rng.integers(0, 27))
        r1 = r0 + int(rng.integers(-5, 5))
        theta = np.arctan((r1 - r0) / (c1 - c0))
        length = (c1 - c0) / np.cos(theta)
        endpoints = [(0.0, 0.0)]
        for k in range(int((length - a) // (2 * a)) + 1):
            peak = (-1) ** k * b
            endpoints.append(((2 * k + 1) * a, peak))
        last_full = (2 * a) * (length // (2 * a))
        if length != last_full:
            endpoints.append((length, peak / (2 * (length - last_full))))  # the official end point, as is
        rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        cols, rows = rotation @ np.array(endpoints).T
        cols, rows = cols + c0, rows + r0
        image = x[i]
        for k in range(1, len(cols)):
            image = np.clip(image + line_from_points(cols[k - 1], rows[k - 1], cols[k], rows[k]), 0, 1)
        x[i] = image
    return x * 255


def canny_edges(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Canny edges, MNIST-C: the digit replaced by its Canny edge map (skimage feature.canny defaults:
    sigma 1, hysteresis thresholds 0.1 and 0.2 of the gradient magnitude), white edges on black."""
    return canny(images / 255.0).astype(np.float64) * 255


CORRUPTIONS = {
    corruption.__name__: corruption
    for corruption in (
        shot_noise,
        impulse_noise,
        glass_blur,
        motion_blur,
        shear,
        scale,
        rotate,
        brightness,
        translate,
        stripe,
        fog,
        spatter,
        dotted_line,
        zigzag,
        canny_edges,
    )
}


def corrupt(name: str, images: np.ndarray) -> np.ndarray:
    """One corruption of a batch, from its own seeded generator, rounded to uint8 as MNIST-C stores it."""
    rng = np.random.default_rng([SEED, list(CORRUPTIONS).index(name)])
    return np.clip(np.round(CORRUPTIONS[name](images, rng)), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- models


class KerasIOConvnet:
    """The keras.io convnet trained here, with the shipped models' probabilities(uint8 (n, 28, 28))."""

    name, runtime = "keras_io", "keras"

    def __init__(self, model):
        self.model = model

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        inputs = images.astype(np.float32)[..., None] / np.float32(255.0)
        return self.model.predict(inputs, batch_size=1000, verbose=0)


def error(model, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(model.probabilities(images).argmax(axis=1) != labels))


def evaluate(model, clean: np.ndarray, corrupted: dict[str, np.ndarray], labels: np.ndarray) -> dict:
    per_corruption = {name: error(model, images, labels) for name, images in corrupted.items()}
    return {
        "clean_error": error(model, clean, labels),
        "mean_corruption_error": float(np.mean(list(per_corruption.values()))),
        "per_corruption": per_corruption,
    }


# ---------------------------------------------------------------- output


def print_table(models: dict[str, dict]) -> None:
    names = list(models)
    print(f"\n{'error':14}" + "".join(f"{name:>10}" for name in names))
    print(f"{'clean':14}" + "".join(f"{models[name]['clean_error']:10.2%}" for name in names))
    for corruption in CORRUPTIONS:
        print(f"{corruption:14}" + "".join(f"{models[name]['per_corruption'][corruption]:10.2%}" for name in names))
    print(f"{'mCE':14}" + "".join(f"{models[name]['mean_corruption_error']:10.2%}" for name in names))
    if "best" in models and "keras_io" in models:
        ratio = models["best"]["mean_corruption_error"] / models["keras_io"]["mean_corruption_error"]
        print(f"mCE ratio best / keras_io: {ratio:.3f}")


def plot_examples(clean: np.ndarray, corrupted: dict[str, np.ndarray], labels: np.ndarray, target: Path) -> None:
    """A grid: a few test digits (rows) clean and under each corruption (columns), like MNIST-C's figure 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = min(4, len(clean))
    columns = {"clean": clean, **corrupted}
    figure, axes = plt.subplots(rows, len(columns), figsize=(1.15 * len(columns), 1.3 * rows + 0.3), squeeze=False)
    for column, (name, images) in enumerate(columns.items()):
        for row in range(rows):
            axis = axes[row, column]
            axis.imshow(images[row], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(name.replace("_", " "), fontsize=8)
            if column == 0:
                axis.set_ylabel(f"label {labels[row]}", fontsize=8)
    figure.suptitle("MNIST-C corruptions regenerated from the published recipes", fontsize=10)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="test images per corruption (default: all 10000)")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: MNIST_CNN_DATA)")
    parser.add_argument(
        "--models", default="best,seed", help="shipped model names or .keras paths (default: best,seed)"
    )
    parser.add_argument("--keras-io-epochs", type=int, default=15, help="keras.io convnet epochs (published: 15)")
    parser.add_argument("--skip-keras-io", action="store_true", help="do not train the keras.io baseline")
    args = parser.parse_args()
    started = time.perf_counter()

    import mnist_cnn
    from mnist_cnn.data import load_dataset

    dataset = load_dataset("mnist", args.data_dir)
    total = len(dataset.test_images)
    if args.count >= total:
        subset = np.arange(total)
    else:
        subset = np.sort(np.random.default_rng(SEED).choice(total, args.count, replace=False))
    clean, labels = dataset.test_images[subset], dataset.test_labels[subset]

    corrupted = {}
    for name in CORRUPTIONS:
        began = time.perf_counter()
        corrupted[name] = corrupt(name, clean)
        print(f"{name:14} {len(clean)} images in {time.perf_counter() - began:5.1f} s", flush=True)
    plot_examples(clean, corrupted, labels, RESULTS / "corruptions.png")

    models = {}
    for name in filter(None, args.models.split(",")):
        model = mnist_cnn.load_model(name)
        key = name if "/" not in name and not name.endswith(".keras") else Path(name).stem
        models[key] = model
        print(f"loaded {key}: {model.runtime} runtime, {model.path}", flush=True)
    if not args.skip_keras_io:
        print(f"training the keras.io convnet for {args.keras_io_epochs} epochs", flush=True)
        began = time.perf_counter()
        models["keras_io"] = KerasIOConvnet(train_keras_io(dataset, args.keras_io_epochs, verbose=2))
        print(f"trained in {time.perf_counter() - began:.0f} s", flush=True)

    figures = {}
    for key, model in models.items():
        began = time.perf_counter()
        figures[key] = evaluate(model, clean, corrupted, labels)
        print(f"evaluated {key} in {time.perf_counter() - began:.0f} s", flush=True)
    print_table(figures)

    command = "python benchmarks/corruptions.py"
    for flag, value, default in (
        ("--count", args.count, 10000),
        ("--models", args.models, "best,seed"),
        ("--keras-io-epochs", args.keras_io_epochs, 15),
    ):
        command += f" {flag} {value}" if value != default else ""
    command += " --skip-keras-io" if args.skip_keras_io else ""
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "count": len(clean),
        "models": figures,
    }
    print(f"wrote {write_result('corruptions', result)} and {RESULTS / 'corruptions.png'}")
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
