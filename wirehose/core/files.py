"""Durable file writes shared by every layer (the RSS feed state, the service pid files).

A reader sees either the old file or the new one, never a torn one, and after a crash or a
power loss the new content is on disk once the call returned: the text goes to a temp file in
the same directory (so ``os.replace`` is a rename within one file system), is flushed and
fsynced, replaces the target, and the directory is fsynced so the rename itself is durable.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically and durably; the temp file never lingers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable, where the platform allows opening a directory."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows: no directory handles to fsync
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    with contextlib.suppress(OSError):  # some file systems refuse fsync on a directory
        os.fsync(fd)
    os.close(fd)
