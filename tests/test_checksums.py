"""Checksums are of the decompressed content: official .gz files, re-gzipped copies (Debian's
dataset-fashion-mnist) and uncompressed files are all recognised, and nothing else is."""

import gzip
import os
import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from mnist_cnn import data
from mnist_cnn.errors import DataError

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist package


@pytest.fixture(scope="module")
def debian_fashion_dir() -> Path:
    """Debian's Fashion-MNIST files; scripts/test.sh installs the package when it is missing."""
    if not (DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        message = f"Debian's dataset-fashion-mnist is not installed ({DEBIAN_FASHION_MNIST}); run scripts/test.sh"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    return DEBIAN_FASHION_MNIST


def test_debian_fashion_mnist_passes_data_info(debian_fashion_dir):
    result = run_cli("data", "info", "--dataset", "fashion-mnist", "--data-dir", str(debian_fashion_dir.parent))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(" ok " in line for line in lines)
    assert "60,000" in lines[0] and "10,000" in lines[3]


def test_debian_fashion_mnist_loads_as_training_would(debian_fashion_dir):
    dataset = data.load_dataset("fashion-mnist", debian_fashion_dir)
    assert dataset.train_images.shape == (60_000, 28, 28) and dataset.test_labels.shape == (10_000,)
    assert dataset.class_names[9] == "Ankle boot"


def test_debian_files_are_gzipped_again_yet_hold_the_published_content(debian_fashion_dir):
    path = debian_fashion_dir / "t10k-labels-idx1-ubyte.gz"
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert data.checksum_ok("fashion-mnist", "test_labels", data.read_content(path))


def test_debian_fashion_mnist_imports_into_the_cache(debian_fashion_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    data.import_folder(debian_fashion_dir, "fashion-mnist")
    assert [row["checksum"] for row in data.describe("fashion-mnist")] == ["ok"] * 4


@pytest.mark.parametrize("form", ["gzip level 1", "gzip level 9 with a file name", "uncompressed"])
def test_mnist_is_recognised_however_it_is_compressed(mnist_dir, tmp_path, form):
    content = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    if form == "uncompressed":
        stored = content
    elif form == "gzip level 1":
        stored = gzip.compress(content, compresslevel=1, mtime=0)
    else:
        stored = gzip.compress(content, compresslevel=9, mtime=1_234_567_890)
    if form != "uncompressed":
        assert stored != (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()  # another .gz, the same content
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(stored)
    assert data.checksum_ok("mnist", "test_labels", data.read_content(path))


def test_one_changed_label_is_refused_by_its_checksum(mnist_dir, tmp_path):
    for name in data.FILE_NAMES.values():
        shutil.copyfile(mnist_dir / name, tmp_path / name)
    labels = bytearray(gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[-1] = (labels[-1] + 1) % 10
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: SHA-256 does not match the published mnist file"):
        data.load_dataset("mnist", tmp_path)


def test_mnist_files_are_not_taken_for_fashion_mnist(mnist_dir):
    content = data.read_content(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert data.checksum_ok("mnist", "test_labels", content)
    assert not data.checksum_ok("fashion-mnist", "test_labels", content)


def test_a_gzip_bomb_is_refused_after_100_megabytes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as archive:
        for _ in range(101):
            archive.write(bytes(1_000_000))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(DataError, match="decompresses to over 100 MB, not an MNIST-format file"):
        data.read_images(path)
