"""Errors that mean "the input is wrong", shown to the user as one line."""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path


class InputError(ValueError):
    """Bad input a user can fix: the message names the file/field and the problem.

    The CLI prints ``str(error)`` on one line to stderr and exits non-zero,
    without a traceback.
    """


#: How a full disk reads in an error's text: Python's and DuckDB's strerror, Rust's (polars).
_DISK_FULL = ("No space left on device", "os error 28", "Disk quota exceeded")


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (Python's, DuckDB's or polars's) is a write on a full disk.

    A full disk is not a bad file: a loader that meets it stops instead of
    refusing file after file (each would fail the same way).
    """
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(text in str(error) for text in _DISK_FULL)


def disk_full_message(error: BaseException, written: Path | None = None) -> str:
    """One line: what could not be written, and the space left where it goes.

    ``written`` is where the command writes (its ``--db``, ``--out`` ...), named
    when the error itself names no file (polars's does not).
    """
    text = str(error)
    quoted = re.search(r'"([^"]*/[^"]*)"', text)  # DuckDB quotes the file: the one with a /
    path = (
        Path(error.filename)
        if isinstance(error, OSError) and error.filename
        else Path(quoted.group(1))
        if quoted
        else written
    )
    if path is None:
        return "disk full: no space left on device"
    return f"disk full: no space left on device writing {path} ({_free(path)})"


def _free(path: Path) -> str:
    """The free space of the file system holding ``path`` (its nearest existing folder)."""
    folder = path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "free space unknown"
    return f"{free / 2**20:,.1f} MiB free on its file system"
