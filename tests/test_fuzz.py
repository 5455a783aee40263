"""Property-based fuzzing (Hypothesis) of the IDX reader and of image decoding: any bytes give a result or
DataError / ImageError, never another exception, and within a time bound (Hypothesis' deadline)."""

import gzip
import io
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnist_cnn import data, preprocessing
from mnist_cnn.errors import DataError, ImageError
from test_preprocessing import draw_seven

IDX_SETTINGS = settings(max_examples=300, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow])
IMAGE_SETTINGS = settings(max_examples=150, deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow])


@st.composite
def idx_like(draw):
    """Bytes that mostly look like an IDX file: a plausible or broken header, dimensions from 0 to 2**32-1,
    and a body of about the right length or not."""
    ndim = draw(st.sampled_from([1, 3, draw(st.integers(0, 255))]))
    type_code = draw(st.sampled_from([0x08, 0x08, 0x09, 0x0D, draw(st.integers(0, 255))]))
    prefix = draw(st.sampled_from([b"\x00\x00", b"\x00\x00", b"\x1f\x8b", draw(st.binary(min_size=2, max_size=2))]))
    dims = draw(st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2**32 - 1)), min_size=0, max_size=min(ndim, 4)))
    header = prefix + bytes([type_code, ndim]) + b"".join(size.to_bytes(4, "big") for size in dims)
    wanted = int(np.prod(dims, dtype=object)) if dims else 0
    body_length = draw(st.sampled_from([min(wanted, 5000), max(0, min(wanted, 5000) - 1), draw(st.integers(0, 300))]))
    return header + draw(st.binary(min_size=body_length, max_size=body_length))


def read_or_data_error(content: bytes, expected_ndim: int):
    try:
        return data.parse_idx(content, "fuzzed", expected_ndim)
    except DataError:
        return None


@IDX_SETTINGS
@given(content=st.binary(max_size=2048), expected_ndim=st.sampled_from([1, 3]))
def test_any_bytes_parse_as_idx_or_raise_data_error(content, expected_ndim):
    read_or_data_error(content, expected_ndim)


@IDX_SETTINGS
@given(content=idx_like(), expected_ndim=st.sampled_from([1, 3]))
def test_idx_like_bytes_parse_to_the_header_shape_or_raise_data_error(content, expected_ndim):
    array = read_or_data_error(content, expected_ndim)
    if array is not None:
        assert array.ndim == expected_ndim and array.dtype == np.uint8


@IDX_SETTINGS
@given(content=idx_like(), role=st.sampled_from(data.ROLES), compress=st.booleans(), cut=st.integers(0, 64))
def test_idx_files_gzipped_or_cut_short_read_or_raise_data_error(tmp_path_factory, content, role, compress, cut):
    stored = gzip.compress(content) if compress else content
    path = tmp_path_factory.mktemp("idx") / data.FILE_NAMES[role]
    path.write_bytes(stored[: len(stored) - cut] if cut else stored)
    try:
        data.parse_role(data.read_content(path), path.name, role)
    except DataError:
        pass


def encoded(image: Image.Image, format_name: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name)
    return buffer.getvalue()


SEVEN = draw_seven(size=(120, 120), box=(30, 20, 80, 100), stroke=8)
SAMPLES = {name: encoded(SEVEN if name != "JPEG" else SEVEN.convert("RGB"), name) for name in
           ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}  # fmt: skip


def prepare_or_image_error(source: bytes):
    try:
        return preprocessing.prepare(source)
    except ImageError:
        return None


@IMAGE_SETTINGS
@given(source=st.binary(max_size=4096))
def test_any_bytes_decode_to_a_digit_or_raise_image_error(source):
    result = prepare_or_image_error(source)
    assert result is None or (result.shape == (28, 28) and result.dtype == np.uint8)


@IMAGE_SETTINGS
@given(
    format_name=st.sampled_from(sorted(SAMPLES)),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    keep=st.floats(0.05, 1.0),
)
def test_damaged_real_image_files_decode_or_raise_image_error(format_name, flips, keep):
    corrupted = bytearray(SAMPLES[format_name])
    for position, value in flips:
        corrupted[int(position * len(corrupted))] = value
    result = prepare_or_image_error(bytes(corrupted[: max(1, int(len(corrupted) * keep))]))
    assert result is None or result.shape == (28, 28)


@pytest.mark.parametrize("format_name", sorted(SAMPLES))
def test_the_undamaged_samples_read_as_a_seven(format_name):
    assert prepare_or_image_error(SAMPLES[format_name]) is not None
