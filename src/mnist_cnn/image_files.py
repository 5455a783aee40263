"""A person's images as the commands take them: files, folders of images, labelled folders, standard input.

A folder means every image file in it, sorted by path (``recursive``: its subfolders too); other files
are skipped with a note, hidden ones (``.DS_Store``, ``.git/``) silently. A labelled folder holds one
subfolder per class, named 0-9 (``DIR/3/*.png``), as a person sorts their own collection.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_cnn.errors import Failure, ImageError, UsageError
from mnist_cnn.preprocessing import IMAGE_SUFFIXES, frame_count

STDIN = "-"
IMAGE_FILE_SUFFIXES = frozenset(IMAGE_SUFFIXES | {".npy"})
NPY_MAGIC = b"\x93NUMPY"
CLASS_FOLDERS = tuple(str(label) for label in range(10))


@dataclass
class ImageList:
    """Images to read, each with the name it is reported under, plus what was skipped or wrong.

    ``sources``: paths, or an image's bytes / array for standard input. ``notes``: skipped files.
    ``errors``: one line per argument that gave no image at all (an empty folder). ``failures``: images
    given that cannot be read at all (empty standard input). ``given``: every image's name in the
    order given, the failed ones too.
    """

    names: list[str] = field(default_factory=list)
    sources: list = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    given: list[str] = field(default_factory=list)

    def add(self, name: str, source, label: int | None = None) -> None:
        self.names.append(name)
        self.sources.append(source)
        self.given.append(name)
        if label is not None:
            self.labels.append(label)

    def fail(self, name: str, message: str) -> None:
        self.failures.append(Failure(name, message))
        self.given.append(name)


def is_hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def image_files(folder: Path, recursive: bool = False) -> tuple[list[Path], list[str]]:
    """The image files in ``folder`` sorted by path, and a note per file or subfolder skipped."""
    folder = Path(folder)
    candidates = sorted(folder.rglob("*") if recursive else folder.iterdir())
    files, notes, subfolders = [], [], 0
    for path in candidates:
        if is_hidden(path, folder):
            continue
        if path.is_dir():
            subfolders += not recursive
        elif path.suffix.lower() in IMAGE_FILE_SUFFIXES:
            files.append(path)
        else:
            notes.append(f"{path}: skipped, not an image file ({', '.join(sorted(IMAGE_FILE_SUFFIXES))})")
    if subfolders:
        notes.append(f"{folder}/: {subfolders} subfolder(s) skipped; add --recursive to include them")
    return files, notes


def decode_stdin(data: bytes):
    """Standard input's bytes as prediction takes them: a ``.npy`` array's contents, or image bytes.

    Raises:
        ImageError: nothing was given, or a ``.npy`` stream cannot be read.
    """
    if not data:
        raise ImageError(f"{STDIN}: standard input is empty; pipe an image into it")
    if not data.startswith(NPY_MAGIC):
        return data
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ImageError(f"{STDIN}: not a readable .npy array ({error})") from None


def gather_images(arguments: list[str], recursive: bool = False, read_stdin=None) -> ImageList:
    """Expand the IMAGE arguments of ``predict``: files as given, folders to their images, ``-`` to
    standard input (``read_stdin()`` returns its bytes). A file that does not exist is kept, so that
    reading it reports it in its turn.

    Raises:
        UsageError: ``-`` is given more than once.
    """
    if arguments.count(STDIN) > 1:
        raise UsageError(f"{STDIN} (standard input) is given {arguments.count(STDIN)} times; it holds one image")
    images = ImageList()
    for argument in arguments:
        path = Path(argument)
        if argument == STDIN:
            add_stdin(images, read_stdin)
        elif argument == "":  # Path("") is the current folder: an unset variable, not a wish to read "."
            images.errors.append(f"{argument!r}: an empty argument names no image; give a file or a folder")
        elif path.is_dir():
            files, notes = image_files(path, recursive)
            images.notes.extend(notes)
            if not files:
                images.errors.append(f"{path}/: no image files in this folder")
            for file in files:
                images.add(str(file), file)
                note_frames(images, str(file), file)
        else:
            images.add(argument, path)
            note_frames(images, argument, path)
    return images


def note_frames(images: ImageList, name: str, path: Path) -> None:
    """A note for a file of several frames (an animated GIF, a multi-page TIFF): only its first is read."""
    frames = frame_count(path)
    if frames > 1:
        images.notes.append(f"{name}: {frames} frames (animated or multi-page); only the first is read")


def add_stdin(images: ImageList, read_stdin) -> None:
    try:
        images.add(STDIN, decode_stdin(read_stdin() if read_stdin else b""))
    except ImageError as error:
        images.fail(STDIN, str(error).removeprefix(f"{STDIN}: "))


def labelled_images(folder: Path) -> ImageList:
    """A labelled collection: every image under ``folder/<digit>/`` (0-9, subfolders included), labelled
    by its class folder; anything else in ``folder`` is skipped with a note.

    Raises:
        ImageError: ``folder`` is not a folder, or none of its class folders holds an image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: no such folder (--images takes a folder with one subfolder per digit, 0-9)")
    images = ImageList()
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if not (entry.is_dir() and entry.name in CLASS_FOLDERS):
            images.notes.append(f"{entry}: skipped, not a class folder (0-9)")
            continue
        files, notes = image_files(entry, recursive=True)
        images.notes.extend(notes)
        for file in files:
            images.add(str(file), file, label=int(entry.name))
    if not images.sources:
        raise ImageError(f"{folder}: no images in class folders {folder}/0/ ... {folder}/9/")
    return images
