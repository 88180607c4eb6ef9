"""The night's spilled frames (flows/spill.py): written, read back, and never left behind."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows.spill import folder_for, night_spill, remove_orphans


def test_a_spilled_frame_reads_back_the_same(tmp_path: Path) -> None:
    frame = pl.DataFrame({"sku": ["A", None, "C"], "mean": [0.1, 2.0, float("nan")]})
    with night_spill(tmp_path / "w.duckdb", "nightly-1") as spill:
        path = spill.put("forecasts", frame)
        assert path.parent == folder_for(tmp_path / "w.duckdb", "nightly-1")
        assert_frame_equal(pl.read_parquet(path), frame)
    assert not path.parent.exists()


def test_parts_of_a_name_share_a_folder(tmp_path: Path) -> None:
    with night_spill(tmp_path / "w.duckdb", "nightly-1") as spill:
        first = spill.put_part("forecasts", "00000", pl.DataFrame({"a": [1]}))
        last = spill.put_part("forecasts", "unsold", pl.DataFrame({"a": [2, 3]}))
        assert first == last == spill.folder / "forecasts"
        assert sorted(p.name for p in first.iterdir()) == ["00000.parquet", "unsold.parquet"]
        assert pl.read_parquet(first / "unsold.parquet")["a"].to_list() == [2, 3]
    assert not spill.folder.exists()


def test_the_folder_goes_when_the_night_fails(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="failed"),
        night_spill(tmp_path / "w.duckdb", "nightly-1") as spill,
    ):
        spill.put("plan", pl.DataFrame({"a": [1]}))
        raise RuntimeError("the night failed")
    assert list(tmp_path.iterdir()) == []


def test_orphans_of_this_database_only_are_removed(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    killed = folder_for(db, "nightly-killed")
    killed.mkdir()
    (killed / "forecasts.parquet").write_bytes(b"PAR1")
    other = folder_for(tmp_path / "other.duckdb", "nightly-2")
    other.mkdir()
    db.write_bytes(b"")
    assert remove_orphans(db) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "w.duckdb"]
    assert remove_orphans(db) == 0
