"""MNIST-format datasets: read and check IDX files, find them, download and cache them, split them.

Files are looked for in this order: an explicit folder (``--data-dir``), the folder named by the
environment variable ``MNIST_CNN_DATA``, the cache (``$XDG_CACHE_HOME/mnist-cnn/<dataset>``), and
last a download from the public mirrors, verified by SHA-256 and written atomically into the cache.
Checksums are of the decompressed IDX content, so the official .gz files, a distribution's re-gzipped
copies (Debian's ``dataset-fashion-mnist``) and uncompressed files are all recognised.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
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
from mnist_cnn.files import atomic_path, ensure_folder, folder_lock

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
# Twice MNIST's largest file (47 MB decompressed): a gzip bomb, or a file that is no dataset, stops here.
MAX_IDX_BYTES = 100_000_000
DOWNLOAD_FREE_BYTES = 40_000_000  # the four .gz files: MNIST 11.6 MB, Fashion-MNIST 31.9 MB (a little less)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset is published and how to recognise its genuine files.

    ``sha256`` holds, per role, the SHA-256 of the decompressed IDX content: the same for the official
    .gz file, any other gzip of it and the uncompressed file.
    """

    name: str
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]
    sha256: dict[str, str]


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
            "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
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
        # Measured on the decompressed files of Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1
        # (re-gzipped copies of the official files); they equal the raw-file digests other projects record.
        sha256={
            "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
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


def read_content(path: Path) -> bytes:
    """The IDX content of a raw or gzipped file.

    Raises:
        DataError: the file cannot be read, is not valid gzip, or holds more than 100 MB.
    """
    try:
        if path.stat().st_size > MAX_IDX_BYTES:
            raise DataError(f"{path}: over {MAX_IDX_BYTES // 1_000_000} MB, too large for an MNIST-format file")
        stored = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    return decompress(stored, path.name)


def decompress(stored: bytes, file_name: str) -> bytes:
    """Gunzip ``stored`` if it is gzip (else return it), stopping at 100 MB. Raises DataError."""
    if stored[:2] != b"\x1f\x8b":
        return stored
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(stored)) as archive:
            content = archive.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{file_name}: not a valid gzip file ({error})") from None
    if len(content) > MAX_IDX_BYTES:
        raise DataError(f"{file_name}: decompresses to over {MAX_IDX_BYTES // 1_000_000} MB, not an MNIST-format file")
    return content


def parse_idx(content: bytes, file_name: str, expected_ndim: int) -> np.ndarray:
    """Parse the content of an IDX file of unsigned bytes into a uint8 array of the header's shape.

    Raises:
        DataError: a wrong magic number or type code, or a length that differs from the header's.
    """
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
    expected_length = header_length + math.prod(shape)  # exact: a forged header cannot overflow it
    if len(content) < expected_length:
        raise DataError(f"{file_name}: truncated, expected {expected_length} bytes, found {len(content)}")
    if len(content) > expected_length:
        raise DataError(
            f"{file_name}: {len(content) - expected_length} bytes beyond the {expected_length} its header describes"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_length).reshape(shape)


def parse_images(content: bytes, file_name: str) -> np.ndarray:
    """IDX content to a uint8 array of shape (n, 28, 28). Raises DataError."""
    images = parse_idx(content, file_name, expected_ndim=3)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{file_name}: images of {images.shape[1]}x{images.shape[2]} pixels, expected 28x28")
    return images


def parse_labels(content: bytes, file_name: str) -> np.ndarray:
    """IDX content to a uint8 array of shape (n,), values 0-9. Raises DataError."""
    labels = parse_idx(content, file_name, expected_ndim=1)
    if labels.size and labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError(f"{file_name}: label {labels[bad]} at index {bad}, expected 0-9")
    return labels


def parse_role(content: bytes, file_name: str, role: str) -> np.ndarray:
    """The images or labels a dataset file of ``role`` holds. Raises DataError."""
    return parse_images(content, file_name) if role.endswith("images") else parse_labels(content, file_name)


def read_images(path: Path) -> np.ndarray:
    """Read an IDX image file, raw or gzipped: uint8 array of shape (n, 28, 28). Raises DataError."""
    return parse_images(read_content(path), path.name)


def read_labels(path: Path) -> np.ndarray:
    """Read an IDX label file, raw or gzipped: uint8 array of shape (n,), values 0-9. Raises DataError."""
    return parse_labels(read_content(path), path.name)


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
    """Return the path of each of the dataset's four files, downloading into the cache if needed.

    Raises:
        DataError: a named folder is missing or incomplete, or a file could not be downloaded.
        BusyError: another process is downloading into the cache. OutputError: the cache cannot be written.
    """
    dataset_spec(dataset)
    named = named_folder(data_dir)
    if named:
        return complete_folder(*named, dataset=dataset)
    cached = find_in_folder(cache_dir(dataset), dataset)
    missing = [role for role in ROLES if role not in cached]
    if missing and download:
        return download_missing(dataset)
    if missing:
        raise DataError(missing_message(dataset, missing, f"from the cache {cache_dir(dataset)}"))
    return cached


def download_missing(dataset: str) -> dict[str, Path]:
    """Download the files the cache lacks, holding the cache's lock so two downloads never mix."""
    folder = ensure_folder(cache_dir(dataset), "cache folder ($XDG_CACHE_HOME)", DOWNLOAD_FREE_BYTES)
    with folder_lock(folder, "downloaded into"):
        cached = find_in_folder(folder, dataset)  # again, under the lock: another download may have ended
        for role in ROLES:
            if role not in cached:
                cached[role] = download_file(dataset, role)
    return cached


# --- Checksums, download, import -------------------------------------------------------------------


def checksum_ok(dataset: str, role: str, content: bytes) -> bool:
    """Whether decompressed IDX ``content`` is the published file of ``role``."""
    return hashlib.sha256(content).hexdigest() == dataset_spec(dataset).sha256[role]


def download_file(dataset: str, role: str, mirrors: tuple[str, ...] | None = None) -> Path:
    """Download one file into the cache, trying each mirror in turn; verified, then renamed into place.

    Raises:
        DataError: no mirror gave the genuine file. OutputError: the cache cannot be written.
    """
    spec = dataset_spec(dataset)
    name = FILE_NAMES[role]
    target = ensure_folder(cache_dir(dataset), "cache folder ($XDG_CACHE_HOME)") / name
    failures = []
    for mirror in mirrors or spec.mirrors:
        url = mirror + name
        try:
            stored = fetch_url(url, name)
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
            continue
        try:
            content = decompress(stored, name) if stored[:2] == b"\x1f\x8b" else b""
        except DataError as error:
            failures.append(f"{url}: {error}")
            continue
        if not content:
            failures.append(f"{url}: not a gzip file")
            continue
        if not checksum_ok(dataset, role, content):
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
    """Copy a folder's four files into the cache after checking their checksums.

    Raises:
        DataError: a file is missing, unreadable or not the published one (nothing is copied then).
        BusyError: another process is writing into the cache. OutputError: the cache cannot be written.
    """
    found = complete_folder(Path(folder), origin="", dataset=dataset)
    for role, source in found.items():
        if not checksum_ok(dataset, role, read_content(source)):
            raise DataError(f"{source}: SHA-256 does not match the published {dataset} file")
    cache = ensure_folder(cache_dir(dataset), "cache folder ($XDG_CACHE_HOME)", DOWNLOAD_FREE_BYTES)
    imported = {}
    with folder_lock(cache, "imported into"):
        for role, source in found.items():
            imported[role] = cache / source.name
            with atomic_path(imported[role]) as partial:
                shutil.copyfile(source, partial)
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
        row = {"role": role, "file": FILE_NAMES[role], "path": str(path) if path else None, "count": None}
        row["checksum"] = "missing"
        if path:
            try:
                content = read_content(path)
                row["count"] = int(parse_role(content, path.name, role).shape[0])
                row["checksum"] = "ok" if checksum_ok(dataset, role, content) else "MISMATCH"
            except DataError as error:
                row["checksum"] = f"unreadable: {error}"
        rows.append(row)
    return rows


# --- Loading and splitting -------------------------------------------------------------------------


def load_dataset(dataset: str = "mnist", data_dir: Path | None = None, verify: bool = True) -> Dataset:
    """Load the four files of a dataset, checking format, counts and (by default) checksums.

    Raises:
        DataError: a file is missing, unreadable, malformed, not the published one, or the image and
            label counts differ. BusyError, OutputError: as ``locate`` when it downloads.
    """
    spec = dataset_spec(dataset)
    paths = locate(dataset, data_dir)
    arrays = {}
    for role, path in paths.items():
        content = read_content(path)
        arrays[role] = parse_role(content, path.name, role)  # first: a format error says more than a checksum
        if verify and not checksum_ok(dataset, role, content):
            raise DataError(f"{path}: SHA-256 does not match the published {dataset} file")
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
