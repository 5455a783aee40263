import dataclasses
import gzip
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from conftest import write_idx
from mnist_cnn import data
from mnist_cnn.errors import DataError


def test_reader_loads_well_formed_gzipped_and_raw_files(tmp_path):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    gz = write_idx(tmp_path / "a.gz", images)
    raw = write_idx(tmp_path / "b", images, compress=False)
    np.testing.assert_array_equal(data.read_images(gz), images)
    np.testing.assert_array_equal(data.read_images(raw), images)


def test_reader_rejects_wrong_magic_number(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros((5, 28, 28)))  # 3-D where labels (1-D) are expected
    with pytest.raises(DataError, match="labels.gz: wrong magic number 0x00000803, expected 0x00000801"):
        data.read_labels(path)


def test_reader_rejects_wrong_type_code(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big") + bytes(8))
    with pytest.raises(DataError, match="type code 0x0d, expected 0x08"):
        data.read_labels(path)


def test_reader_rejects_truncated_file_with_both_lengths(tmp_path):
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 28, 28)))
    content = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(content[:4000]))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: truncated, expected 7856 bytes, found 4000"):
        data.read_images(path)


def test_reader_rejects_trailing_bytes(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes(5))
    with pytest.raises(DataError, match="3 bytes beyond"):
        data.read_labels(path)


def test_reader_rejects_bad_gzip(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + b"this is not deflate data")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: not a valid gzip file"):
        data.read_labels(path)


def test_reader_rejects_label_ten(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.array([1, 2, 10, 3]))
    with pytest.raises(DataError, match="label 10 at index 2, expected 0-9"):
        data.read_labels(path)


def test_reader_rejects_images_that_are_not_28x28(tmp_path):
    path = write_idx(tmp_path / "images.gz", np.zeros((2, 32, 32)))
    with pytest.raises(DataError, match="32x32 pixels, expected 28x28"):
        data.read_images(path)


def test_loader_rejects_count_mismatch(synthetic_folder):
    write_idx(synthetic_folder / "train-labels-idx1-ubyte.gz", np.arange(19) % 10)
    with pytest.raises(DataError, match="holds 20 images but train-labels-idx1-ubyte.gz holds 19 labels"):
        data.load_dataset("mnist", synthetic_folder, verify=False)


def test_loader_rejects_files_whose_checksum_differs(synthetic_folder):
    with pytest.raises(DataError, match="SHA-256 does not match the published mnist file"):
        data.load_dataset("mnist", synthetic_folder)


def test_loader_reads_uncompressed_files_and_keeps_shapes(synthetic_folder):
    for path in synthetic_folder.iterdir():
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    dataset = data.load_dataset("mnist", synthetic_folder, verify=False)
    assert dataset.train_images.shape == (20, 28, 28) and dataset.test_labels.shape == (10,)


def test_explicit_folder_wins_over_environment(synthetic_folder, tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "elsewhere"))
    assert data.locate("mnist", synthetic_folder)["train_images"].parent == synthetic_folder


def test_environment_folder_with_missing_files_names_them_and_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as error:
        data.locate("mnist")
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and "MNIST_CNN_DATA" in message
    assert "mnist-cnn data import DIR" in message


def test_offline_with_empty_cache_says_which_files_are_missing(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    offline = dataclasses.replace(data.DATASETS["mnist"], mirrors=("http://127.0.0.1:9/",))
    monkeypatch.setitem(data.DATASETS, "mnist", offline)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz is not cached and could not be downloaded"):
        data.locate("mnist")


@pytest.fixture
def mirror(mnist_dir, tmp_path):
    """Two local HTTP mirrors on loopback: one serving corrupt files, one serving the real ones."""
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in data.FILE_NAMES.values():
        (bad / name).write_bytes(gzip.compress(b"corrupt"))
    servers = []
    for folder in (bad, mnist_dir):
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield tuple(f"http://127.0.0.1:{server.server_port}/" for server in servers)
    for server in servers:
        server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_skips_a_bad_mirror_verifies_and_caches(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = data.download_file("mnist", "test_labels", mirrors=mirror)
    assert path == tmp_path / "cache" / "mnist-cnn" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    assert data.read_labels(path).shape == (10_000,)
    assert [p.name for p in path.parent.iterdir()] == ["t10k-labels-idx1-ubyte.gz"]  # no partial left


def test_download_with_only_corrupt_mirrors_fails_and_leaves_nothing(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="SHA-256 does not match"):
        data.download_file("mnist", "test_labels", mirrors=mirror[:1])
    assert not any((tmp_path / "cache" / "mnist-cnn" / "mnist").iterdir())


def test_import_copies_verified_files_into_cache(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    data.import_folder(mnist_dir)
    rows = data.describe("mnist")
    assert [row["checksum"] for row in rows] == ["ok"] * 4
    assert [row["count"] for row in rows] == [60_000, 60_000, 10_000, 10_000]


def test_real_mnist_loads_with_canonical_shapes(mnist_dir):
    dataset = data.load_dataset("mnist", mnist_dir)
    assert dataset.train_images.shape == (60_000, 28, 28) and dataset.test_images.shape == (10_000, 28, 28)
    assert dataset.train_images.dtype == np.uint8 and set(np.unique(dataset.test_labels)) == set(range(10))


def test_validation_split_is_stratified_seeded_and_disjoint():
    labels = np.repeat(np.arange(10), 100)
    images = np.arange(1000)
    (train_a, train_labels), (val_a, val_labels) = data.training_split(images, labels, 0.1, seed=1)
    (train_b, _), (val_b, _) = data.training_split(images, labels, 0.1, seed=1)
    np.testing.assert_array_equal(val_a, val_b)
    assert len(val_a) == 100 and np.bincount(val_labels).tolist() == [10] * 10
    assert not set(train_a) & set(val_a)


def test_training_subset_keeps_every_class():
    labels = np.repeat(np.arange(10), 100)
    (_, train_labels), (_, val_labels) = data.training_split(np.arange(1000), labels, 0.2, seed=0, limit=200)
    assert len(train_labels) + len(val_labels) == 200
    assert np.bincount(train_labels).tolist() == [16] * 10


def test_fashion_mnist_has_its_own_class_names_and_checksums():
    spec = data.dataset_spec("fashion-mnist")
    assert spec.class_names[9] == "Ankle boot" and spec.sha256 != data.dataset_spec("mnist").sha256


def test_unknown_dataset_is_a_data_error():
    with pytest.raises(DataError, match="unknown dataset 'kmnist'"):
        data.dataset_spec("kmnist")
