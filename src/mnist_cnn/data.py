"""MNIST-format datasets: read and check IDX files, find them, download and cache them, split them.

Files are looked for in this order: an explicit folder (``--data-dir``), the folder named by the
environment variable ``MNIST_CNN_DATA``, the cache (``$XDG_CACHE_HOME/mnist-cnn/<dataset>``), and
last a download from the public mirrors, verified by SHA-256 and written atomically into the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_cnn.errors import DataError
from mnist_cnn.files import atomic_path

DATA_ENV_VAR = "MNIST_CNN_DATA"
IMAGE_SIZE = 28
NUM_CLASSES = 10
ROLES = ("train_images", "train_labels", "test_images", "test_labels")
FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IDX_UNSIGNED_BYTE = 0x08
DOWNLOAD_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset is published and how to recognise its genuine files.

    ``sha256`` holds, per role, the accepted digests of either the gzipped file or its decompressed
    content (MNIST publishes the latter, Fashion-MNIST the former).
    """

    name: str
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]
    sha256: dict[str, tuple[str, ...]]


DATASETS = {
    "mnist": DatasetSpec(
        name="mnist",
        class_names=tuple(str(digit) for digit in range(10)),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://yann.lecun.com/exdb/mnist/",
        ),
        sha256={
            "train_images": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",),
            "train_labels": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",),
            "test_images": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",),
            "test_labels": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",),
        },
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        # Digests of the published .gz files, as recorded by TensorFlow Datasets.
        sha256={
            "train_images": ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",),
            "train_labels": ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",),
            "test_images": ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",),
            "test_labels": ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",),
        },
    ),
}


@dataclass
class Dataset:
    """A whole dataset in memory.

    Images are uint8 arrays of shape (n, 28, 28), values 0-255; labels are uint8 arrays of shape (n,),
    values 0-9.
    """

    name: str
    class_names: tuple[str, ...]
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


# --- IDX files -------------------------------------------------------------------------------------


def read_bytes(path: Path) -> tuple[bytes, bytes]:
    """Return (stored bytes, decompressed bytes) of a raw or gzipped file."""
    try:
        stored = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    if stored[:2] != b"\x1f\x8b":
        return stored, stored
    try:
        return stored, gzip.decompress(stored)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path.name}: not a valid gzip file ({error})") from None


def parse_idx(content: bytes, file_name: str, expected_ndim: int) -> np.ndarray:
    """Parse the content of an IDX file of unsigned bytes, checking the header against the length."""
    if len(content) < 4:
        raise DataError(f"{file_name}: too short to be an IDX file ({len(content)} bytes)")
    zero, type_code, ndim = content[:2], content[2], content[3]
    if zero != b"\x00\x00" or ndim != expected_ndim:
        magic = int.from_bytes(content[:4], "big")
        expected_magic = (IDX_UNSIGNED_BYTE << 8) | expected_ndim
        raise DataError(
            f"{file_name}: wrong magic number {magic:#010x}, expected {expected_magic:#010x} "
            f"(an IDX file of {expected_ndim} dimension{'s' if expected_ndim > 1 else ''})"
        )
    if type_code != IDX_UNSIGNED_BYTE:
        raise DataError(f"{file_name}: type code {type_code:#04x}, expected {IDX_UNSIGNED_BYTE:#04x} (unsigned byte)")
    header_length = 4 + 4 * ndim
    if len(content) < header_length:
        raise DataError(f"{file_name}: truncated header, expected {header_length} bytes, found {len(content)}")
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_length = header_length + int(np.prod(shape, dtype=np.int64))
    if len(content) < expected_length:
        raise DataError(f"{file_name}: truncated, expected {expected_length} bytes, found {len(content)}")
    if len(content) > expected_length:
        raise DataError(
            f"{file_name}: {len(content) - expected_length} bytes beyond the {expected_length} its header describes"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_length).reshape(shape)


def read_images(path: Path) -> np.ndarray:
    """Read an IDX image file: uint8 array of shape (n, 28, 28)."""
    images = parse_idx(read_bytes(path)[1], path.name, expected_ndim=3)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path.name}: images of {images.shape[1]}x{images.shape[2]} pixels, expected 28x28")
    return images


def read_labels(path: Path) -> np.ndarray:
    """Read an IDX label file: uint8 array of shape (n,), values 0-9."""
    labels = parse_idx(read_bytes(path)[1], path.name, expected_ndim=1)
    if labels.size and labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError(f"{path.name}: label {labels[bad]} at index {bad}, expected 0-9")
    return labels


# --- Locating files --------------------------------------------------------------------------------


def cache_dir(dataset: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-cnn" / dataset


def find_in_folder(folder: Path, dataset: str) -> dict[str, Path]:
    """The dataset files found in a folder (or its ``<dataset>`` subfolder), gzipped or not."""
    found = {}
    for candidate in (folder / dataset, folder):
        for role, gz_name in FILE_NAMES.items():
            for name in (gz_name, gz_name.removesuffix(".gz")):
                if role not in found and (candidate / name).is_file():
                    found[role] = candidate / name
        if found:
            return found
    return found


def missing_message(dataset: str, missing: list[str], where: str) -> str:
    names = ", ".join(FILE_NAMES[role] for role in missing)
    return (
        f"{dataset} files missing {where}: {names}. Set {DATA_ENV_VAR} to a folder holding them, "
        f"or run `mnist-cnn data import DIR`"
    )


def complete_folder(folder: Path, origin: str, dataset: str) -> dict[str, Path]:
    """The four files of a folder the user named (``origin``: the option or variable that named it)."""
    named = f" ({origin})" if origin else ""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder{named}")
    found = find_in_folder(folder, dataset)
    missing = [role for role in ROLES if role not in found]
    if missing:
        raise DataError(missing_message(dataset, missing, f"in {folder}{named}"))
    return found


def named_folder(data_dir: Path | None) -> tuple[Path, str] | None:
    """The folder the user named and what named it: --data-dir first, then $MNIST_CNN_DATA; else None (the cache)."""
    for folder, origin in ((data_dir, "--data-dir"), (os.environ.get(DATA_ENV_VAR), DATA_ENV_VAR)):
        if folder:
            return Path(folder), origin
    return None


def locate(dataset: str = "mnist", data_dir: Path | None = None, download: bool = True) -> dict[str, Path]:
    """Return the path of each of the dataset's four files, downloading into the cache if needed."""
    dataset_spec(dataset)
    named = named_folder(data_dir)
    if named:
        return complete_folder(*named, dataset=dataset)
    cached = find_in_folder(cache_dir(dataset), dataset)
    missing = [role for role in ROLES if role not in cached]
    if missing and download:
        for role in missing:
            cached[role] = download_file(dataset, role)
        missing = []
    if missing:
        raise DataError(missing_message(dataset, missing, f"from the cache {cache_dir(dataset)}"))
    return cached


# --- Checksums, download, import -------------------------------------------------------------------


def checksum_ok(dataset: str, role: str, stored: bytes, content: bytes) -> bool:
    accepted = dataset_spec(dataset).sha256[role]
    digests = {hashlib.sha256(stored).hexdigest()}
    if content is not stored:
        digests.add(hashlib.sha256(content).hexdigest())
    return not digests.isdisjoint(accepted)


def download_file(dataset: str, role: str, mirrors: tuple[str, ...] | None = None) -> Path:
    """Download one file into the cache, trying each mirror in turn; verified, then renamed into place."""
    spec = dataset_spec(dataset)
    name = FILE_NAMES[role]
    target = cache_dir(dataset) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors or spec.mirrors:
        url = mirror + name
        try:
            stored = fetch_url(url, name)
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
            continue
        try:
            content = gzip.decompress(stored)
        except (OSError, EOFError, zlib.error):
            failures.append(f"{url}: not a gzip file")
            continue
        if not checksum_ok(dataset, role, stored, content):
            failures.append(f"{url}: SHA-256 does not match")
            continue
        with atomic_path(target) as partial:
            partial.write_bytes(stored)
        return target
    raise DataError(
        f"{dataset} file {name} is not cached and could not be downloaded ({'; '.join(failures)}). "
        f"Set {DATA_ENV_VAR} to a folder holding the four files, or run `mnist-cnn data import DIR`"
    )


def fetch_url(url: str, label: str) -> bytes:
    """Read a URL into memory with a progress bar on stderr."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with tqdm(total=total, unit="B", unit_scale=True, desc=label, file=sys.stderr, leave=False) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def import_folder(folder: Path, dataset: str = "mnist") -> dict[str, Path]:
    """Copy a folder's four files into the cache after checking their checksums."""
    found = complete_folder(Path(folder), origin="", dataset=dataset)
    imported = {}
    for role, source in found.items():
        stored, content = read_bytes(source)
        if not checksum_ok(dataset, role, stored, content):
            raise DataError(f"{source}: SHA-256 does not match the published {dataset} file")
        target = cache_dir(dataset) / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as partial:
            shutil.copyfile(source, partial)
        imported[role] = target
    return imported


def describe(dataset: str = "mnist", data_dir: Path | None = None) -> list[dict]:
    """Where each file is, how many items it holds and whether its checksum matches (no download)."""
    try:
        paths = locate(dataset, data_dir, download=False)
    except DataError:  # show what the folder that would be used does hold
        named = named_folder(data_dir)
        folder = named[0] if named else cache_dir(dataset)
        paths = find_in_folder(folder, dataset) if folder.is_dir() else {}
    rows = []
    for role in ROLES:
        path = paths.get(role)
        row = {
            "role": role,
            "file": FILE_NAMES[role],
            "path": str(path) if path else None,
            "count": None,
            "checksum": "missing",
        }
        if path:
            try:
                stored, content = read_bytes(path)
                array = parse_idx(content, path.name, expected_ndim=3 if role.endswith("images") else 1)
                row["count"] = int(array.shape[0])
                row["checksum"] = "ok" if checksum_ok(dataset, role, stored, content) else "MISMATCH"
            except DataError as error:
                row["checksum"] = f"unreadable: {error}"
        rows.append(row)
    return rows


# --- Loading and splitting -------------------------------------------------------------------------


def load_dataset(dataset: str = "mnist", data_dir: Path | None = None, verify: bool = True) -> Dataset:
    """Load the four files of a dataset, checking format, counts and (by default) checksums."""
    spec = dataset_spec(dataset)
    paths = locate(dataset, data_dir)
    arrays = {}
    for role, path in paths.items():
        stored, content = read_bytes(path)
        if verify and not checksum_ok(dataset, role, stored, content):
            raise DataError(f"{path}: SHA-256 does not match the published {dataset} file")
        arrays[role] = read_images(path) if role.endswith("images") else read_labels(path)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels):
            raise DataError(
                f"{paths[f'{split}_images'].name} holds {len(images)} images but "
                f"{paths[f'{split}_labels'].name} holds {len(labels)} labels"
            )
    return Dataset(name=dataset, class_names=spec.class_names, **arrays)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) of a seeded split that keeps each class's share in both parts."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    kept, held_out = train_test_split(indices, test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(kept), np.sort(held_out)


def training_split(
    images: np.ndarray, labels: np.ndarray, validation_fraction: float, seed: int, limit: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split training data into (train, validation), optionally first drawing a stratified subset."""
    if limit is not None and limit < len(labels):
        subset, _ = stratified_split(labels, 1 - limit / len(labels), seed)
        images, labels = images[subset], labels[subset]
    if not validation_fraction:
        return (images, labels), (images[:0], labels[:0])
    train, validation = stratified_split(labels, validation_fraction, seed)
    return (images[train], labels[train]), (images[validation], labels[validation])
