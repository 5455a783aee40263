"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from dataclasses import dataclass


@dataclass
class Failure:
    """An image given for prediction that could not be read: its ``path`` (as named on the command
    line, ``-`` for standard input) and why (the ``ImageError``'s message without the path)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class MnistCnnError(Exception):
    """Base class for mistakes a user can make: bad files, bad options, missing data."""


class DataError(MnistCnnError):
    """A dataset file is missing, corrupt or not in the IDX format."""


class ImageError(MnistCnnError):
    """An image given for prediction cannot be read or is too large."""


class ModelError(MnistCnnError):
    """A model name is unknown or a model file cannot be loaded."""


class UsageError(MnistCnnError):
    """An option or combination of options makes no sense."""


class MissingExtraError(MnistCnnError):
    """A command needs an optional dependency group that is not installed."""


class OutputError(MnistCnnError):
    """A path a command writes to cannot be written: a file where a folder belongs, no permission,
    a read-only or full disk."""


class BusyError(MnistCnnError):
    """Another running command holds the lock on a folder this command would write into."""
