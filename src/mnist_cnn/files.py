"""Safe writes: atomic files, checked output folders, and folder locks.

Every file is written under a temporary name beside its target and renamed onto it only once it is
complete, so a crash, a kill or a full disk never leaves half a file under an artifact's real name.
An output folder is checked before a command starts its work (a file in the way, no permission, a
read-only or full disk), and any OSError while writing becomes an OutputError naming the path and
what to do. A folder a command writes into for a long time (a run, an export, the data cache) is
locked with ``flock``: the kernel releases the lock when its process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from mnist_cnn.errors import BusyError, OutputError

LOCK_NAME = ".mnist-cnn.lock"
PARTIAL_PATTERN = ".*partial*"  # what atomic_path and the best-epoch checkpoint write before renaming
FREE_SPACE = "free some space or choose a folder on another disk"
REASONS = {  # errno -> (what happened, what to do)
    errno.ENOSPC: ("no space left on the disk", FREE_SPACE),
    errno.EDQUOT: ("over the disk quota", FREE_SPACE),
    errno.EFBIG: ("the file would be too large for the disk", FREE_SPACE),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("permission denied", "choose a folder you can write to"),
    errno.EROFS: ("the disk is read-only", "choose a folder on a writable disk"),
    errno.EISDIR: ("it is a folder", "give a file name, or move the folder away"),
    errno.ENOTEMPTY: ("a folder of that name is in the way", "move it away or choose another path"),
}


# --- Errors while writing --------------------------------------------------------------------------


def blocking_file(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists and is not a folder, if any."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def error_number(error: OSError) -> int | None:
    """The errno of an OSError; h5py puts it only in its message (``errno = 28``)."""
    if error.errno is not None:
        return error.errno
    found = re.search(r"errno = (\d+)", str(error))
    return int(found.group(1)) if found else None


def output_error(path: Path, error: OSError) -> OutputError:
    """An OutputError for an OSError raised while writing ``path``: the path, what happened, what to do."""
    number = error_number(error)
    blocker = blocking_file(path) if number in (errno.ENOTDIR, errno.EEXIST, None) else None
    if blocker is not None:
        return OutputError(f"cannot write {path}: {blocker} is a file, not a folder; choose another path")
    if number == errno.ENOENT and Path(path).is_dir():  # a folder that takes no new files: /proc, /sys
        reason = "no file can be created in this folder; choose a folder you can write to"
        return OutputError(f"cannot write {path}: {reason}")
    reason, remedy = REASONS.get(number, (error.strerror or str(error).splitlines()[0], "check the path and the disk"))
    return OutputError(f"cannot write {path}: {reason}; {remedy}")


def writes_to(error: OSError, *paths: Path) -> bool:
    """Whether an OSError is about one of ``paths`` (or inside one), or names no file at all."""
    if error.filename is None:
        return True
    name = os.fspath(error.filename)
    return any(name == os.fspath(path) or name.startswith(f"{os.fspath(path)}{os.sep}") for path in paths)


# --- Atomic files ----------------------------------------------------------------------------------


def partial_path(target: Path) -> Path:
    """The temporary name ``target`` is written under: hidden, with this process's id, same suffix."""
    return target.with_name(f".{target.name}.{os.getpid()}.partial{target.suffix}")


def remove_path(path: Path) -> None:
    """Delete a file or folder if it is there; nothing to delete (or no way to) is not an error."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds.

    Raises:
        OutputError: an OSError while writing the temporary file or renaming it (full disk, no
            permission, read-only disk, a file where a folder should be). The temporary file is removed.
    """
    target = Path(target)
    partial = partial_path(target)
    try:
        yield partial
        os.replace(partial, target)
    except OSError as error:
        if not writes_to(error, partial, target):
            raise
        raise output_error(target, error) from None
    finally:
        remove_path(partial)


def write_text(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically. Raises OutputError."""
    with atomic_path(target) as partial:
        partial.write_text(text)
    return target


def write_json(target: Path, data: object) -> Path:
    """Write ``data`` as indented JSON to ``target`` atomically. Raises OutputError."""
    return write_text(target, json.dumps(data, indent=2) + "\n")


def remove_partials(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left in ``folder``; call it only while holding the
    folder's lock, so no live writer's file is taken. Returns what was removed."""
    leftovers = sorted(Path(folder).glob(PARTIAL_PATTERN))
    for path in leftovers:
        remove_path(path)
    return leftovers


# --- Output folders and files ----------------------------------------------------------------------


def ensure_folder(folder: Path, option: str, needed_bytes: int = 0) -> Path:
    """Create ``folder`` if needed and check that it can be written before any work starts.

    ``option``: what named the folder (``--out``), for the message. ``needed_bytes``: free space to require.
    Raises:
        OutputError: the path is a file or lies under one, the folder cannot be created or written
            (permission, read-only disk), or its disk has less than ``needed_bytes`` free.
    """
    folder = Path(folder)
    blocker = blocking_file(folder)
    if blocker is not None:
        where = "" if blocker == folder else f" (so {folder} cannot be created)"
        raise OutputError(f"{blocker} is a file, not a folder{where}; choose another {option}")
    probe = folder / f".write-probe.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise output_error(folder, error) from None
    check_free_space(folder, needed_bytes)
    return folder


def missing_folders(*folders: Path) -> list[Path]:
    """Those of ``folders`` and their parents that do not exist yet, deepest first: what a command
    writing into ``folders`` would create."""
    missing = set()
    for folder in folders:
        for candidate in (Path(folder), *Path(folder).parents):
            if candidate.exists() or candidate.is_symlink():
                break
            missing.add(candidate)
    return sorted(missing, key=lambda path: len(path.parts), reverse=True)


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is an empty folder, so a parent emptied by its
    child's removal goes too; a folder holding anything, a file or a link stays."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_free_space(folder: Path, needed_bytes: int) -> None:
    """Raises OutputError when the disk holding ``folder`` has less than ``needed_bytes`` free."""
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise OutputError(
            f"{folder}: only {free / 1e6:.1f} MB free on its disk and about {needed_bytes / 1e6:.0f} MB needed; "
            f"{FREE_SPACE}"
        )


def ensure_new_file(path: Path, option: str, force: bool = False) -> Path:
    """Check up front that ``path`` can be written: not a folder, not a device or pipe, not an existing
    file unless ``force``, its folder creatable and writable. A symbolic link is followed: the file it
    points to is what is written (replaced whole), and the link stays.

    Returns the path to write: ``path``, or the file its link points to.
    Raises:
        OutputError: any of the above.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.is_dir():
        raise OutputError(f"{path} is a folder; give {option} a file name")
    if target.exists() and not target.is_file():
        raise OutputError(f"{path} is not a regular file (a device or a pipe); give {option} a file name")
    if target.exists() and not force:
        raise OutputError(f"{path} already exists; add --force to replace it, or choose another {option}")
    ensure_folder(target.parent, option)
    return target


# --- Folder locks ----------------------------------------------------------------------------------


@contextlib.contextmanager
def folder_lock(folder: Path, activity: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (which must exist) while the block runs.

    ``activity`` completes the sentence a second command gets: "runs/a/ is being <trained> by process 1234".
    The lock is ``flock`` on ``folder/.mnist-cnn.lock``, so it is released by the kernel when the
    process ends, even by SIGKILL; a lock file left behind by a killed process is simply locked again.
    Raises:
        BusyError: another process holds the lock.
        OutputError: the lock file cannot be created (permission, read-only or full disk).
    """
    lock_path = Path(folder) / LOCK_NAME
    descriptor = acquire_lock(lock_path, activity)
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)  # while still held: no one can lock a file about to vanish
        os.close(descriptor)


def acquire_lock(lock_path: Path, activity: str) -> int:
    """Open, lock and stamp ``lock_path`` with this process's id; return the open descriptor."""
    while True:
        try:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise output_error(lock_path.parent, error) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(descriptor, activity)
            os.close(descriptor)
            raise BusyError(f"{lock_path.parent}/ is being {holder}; wait for it to end") from None
        if is_same_file(lock_path, descriptor):
            return stamp_lock(lock_path, descriptor, activity)
        os.close(descriptor)  # its holder removed the file between our open and our lock: lock the new one


def is_same_file(path: Path, descriptor: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False


def stamp_lock(lock_path: Path, descriptor: int, activity: str) -> int:
    """Write "<pid> <activity>" into the held lock file, for the message a second command gets."""
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()} {activity}\n".encode())
    except OSError as error:
        os.close(descriptor)
        raise output_error(lock_path.parent, error) from None
    return descriptor


def lock_holder(descriptor: int, activity: str) -> str:
    """'trained by process 1234' from a held lock file; ``activity`` and 'another process' where its
    holder has not written them yet."""
    pid, _, held_for = os.pread(descriptor, 200, 0).decode("utf-8", errors="replace").strip().partition(" ")
    return f"{held_for or activity} by " + (f"process {pid}" if pid.isdigit() else "another process")
