"""One partsflow command writes ``warehouse.duckdb`` at a time: a lock the kernel drops with its
holder.

DuckDB lets one process at a time open a file read-write, but the nightly
opens and closes its database task by task, so between two tasks another
command (a second nightly, an ingest, a dispatch replay) could take the file,
and the night's next task failed on DuckDB's lock half-way through (or a
second nightly marked the live first one abandoned and both "succeeded").
:func:`database_lock` closes that gap: every command that writes the
database holds an exclusive ``flock`` on ``<database>.lock`` from its start
to its end, and a second one meets :class:`DatabaseInUseError` at once,
naming the holder.

The lock is the kernel's, on an open file: a holder that dies, ``kill -9``
included, releases it with its last file descriptor, so a dead run never
blocks the next one and a lock found held is a live process's (the pid, host
and command written in the file only say whose). It holds between the
processes of one host, which is where a DuckDB file lives (DuckDB itself
cannot share one across hosts). The file is left in place after use:
removing it could let two processes lock two different files of one name.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class DatabaseInUseError(RuntimeError):
    """Another live partsflow command holds the database (the CLI's exit code 75)."""


def lock_path(db_path: Path) -> Path:
    """The lock file of a database: ``<database>.lock`` beside it."""
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def database_lock(db_path: Path, command: str) -> Iterator[None]:
    """Hold the database's write lock for the block, or raise at once if another has it.

    Parameters
    ----------
    db_path
        The DuckDB file (it need not exist yet; its folder is made if missing).
    command
        What holds it, for the refusal another command prints (``nightly``, ``ingest`` ...).

    Raises
    ------
    DatabaseInUseError
        Another live process holds it; the message names its command, pid, host and start.
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUseError(
                f"{db_path} is in use by {_holder(descriptor)}; not started, try again when "
                "it has finished"
            ) from None
        holder = {
            "command": command,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(descriptor)  # the lock goes with the descriptor


def _holder(descriptor: int) -> str:
    """``partsflow nightly (pid 123 on host, since 2026-12-06T02:00:05+00:00)``, as written."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
        return (
            f"partsflow {holder['command']} (pid {holder['pid']} on {holder['host']}, "
            f"since {holder['since']})"
        )
    except (ValueError, KeyError, TypeError, OSError):
        return "another partsflow command"
