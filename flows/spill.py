"""The night's biggest frames kept on disk between the step that makes them and the save.

On the large network the night's forecasts (18.8 M rows, 1.7 GiB in memory) and
its plan (1.3 M rows, 1.0 GiB, most of it the reasons' text) are written in the
save step's transaction, at the end of the night; the steps between read only a
few of their columns. Holding them whole kept the night above 8 GiB (issue 15,
item 8; docs/BENCHMARKS.md). Each is written here as Parquet as soon as it is
made, the night goes on with the columns it reads, and the save inserts the rows
from the file (:func:`warehouse.plan.write_plan` takes a path for them).

The files live in a folder beside the database, named after the run, removed
when the night ends however it ends. A night killed outright leaves its folder:
the next night (which holds the database's lock, so no live night owns one)
removes it with :func:`remove_orphans` before it starts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

_SUFFIX = ".spill"


@dataclass(frozen=True)
class Spill:
    """A night's folder of spilled frames."""

    folder: Path

    def put(self, name: str, frame: pl.DataFrame) -> Path:
        """Write ``frame`` as ``<name>.parquet`` in the folder; its path.

        The large network's forecasts write in about 2 s, 70 MiB (zstd; LZ4 is
        as quick and 102 MiB, uncompressed slower and 918 MiB).
        """
        path = self.folder / f"{name}.parquet"
        frame.write_parquet(path, compression="zstd", statistics=False)
        return path

    def put_part(self, name: str, key: str, frame: pl.DataFrame) -> Path:
        """Write ``frame`` as part ``key`` of ``name`` (``<name>/<key>.parquet``); the
        parts' folder, which :func:`warehouse.plan.write_plan` reads whole, in the order
        of the keys."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        frame.write_parquet(folder / f"{key}.parquet", compression="zstd", statistics=False)
        return folder


def folder_for(db: Path, run_id: str) -> Path:
    """Where run ``run_id`` of database ``db`` spills: a hidden folder beside it."""
    return db.with_name(f".{db.name}.{run_id}{_SUFFIX}")


@contextmanager
def night_spill(db: Path, run_id: str) -> Iterator[Spill]:
    """A fresh spill folder for the block, removed when the block ends (however it ends)."""
    folder = folder_for(db, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield Spill(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_orphans(db: Path) -> int:
    """Remove the spill folders left beside ``db`` by nights that were killed.

    Call it only while holding the database's lock (:mod:`warehouse.dblock`): then
    no live night owns any of them. Returns how many were removed.
    """
    orphans = [p for p in db.parent.glob(f".{db.name}.*{_SUFFIX}") if p.is_dir()]
    for folder in orphans:
        shutil.rmtree(folder, ignore_errors=True)
    return len(orphans)
