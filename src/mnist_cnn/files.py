"""Atomic file writes: nothing half-written is ever left under an artifact's real name."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial{target.suffix}")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        if partial.is_dir():
            import shutil

            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> Path:
    with atomic_path(target) as partial:
        partial.write_text(text)
    return target


def write_json(target: Path, data: object) -> Path:
    return write_text(target, json.dumps(data, indent=2) + "\n")
