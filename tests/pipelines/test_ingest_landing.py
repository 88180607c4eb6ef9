"""Landing discipline: a re-sent older file, a file that arrived cut, oversized rows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest import ingest, retry_quarantine
from tests.pipelines.ingest_support import (
    NOW,
    ORDER_HEADER,
    line,
    load_network,
    query,
    skus,
    write_csv,
    write_parquet,
)
from warehouse.schema import connect


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding only the small network (2 stores, skus K1 K2, model VM1)."""
    connection = connect(tmp_path / "w.duckdb")
    load_network(connection, tmp_path / "master")
    yield connection
    connection.close()


def _statuses(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(query(con, "SELECT order_id, status FROM order_lines"))


def _history(con: duckdb.DuckDBPyConnection) -> list[object]:
    return query(con, "SELECT * FROM order_line_status_history ORDER BY ALL")


# --- a re-sent older file never undoes later news -----------------------------


def _month_files(folder: Path) -> dict[str, Path]:
    """January's store file (O1..O3 completed), its update file (O1, O2 cancelled)
    and February's (O3 cancelled), named as the generator names them."""
    folder.mkdir(exist_ok=True)
    orders = ("O1", "O2", "O3")
    return {
        "store": write_csv(
            folder / "order_lines_store_2026-01.csv",
            ORDER_HEADER,
            [line(order_id=o) for o in orders],
        ),
        "updates": write_csv(
            folder / "order_lines_updates_2026-01.csv",
            ORDER_HEADER,
            [line(order_id=o, status="cancelled") for o in orders[:2]],
        ),
        "later": write_csv(
            folder / "order_lines_updates_2026-02.csv",
            ORDER_HEADER,
            [line(order_id="O3", status="cancelled")],
        ),
    }


def test_a_resent_older_file_does_not_undo_later_cancellations(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    files = _month_files(tmp_path / "landing")
    assert ingest(con, [files["store"], files["updates"], files["later"]], now=NOW).ok
    history = _history(con)
    # Re-sent a month later, into another folder, with other bytes (one line more).
    (tmp_path / "resent").mkdir()
    resent = write_csv(
        tmp_path / "resent" / "order_lines_store_2026-01.csv",
        ORDER_HEADER,
        [line(order_id=o) for o in ("O1", "O2", "O3", "O4")],
    )
    (report,) = ingest(con, [resent], now=NOW.replace(month=4)).files
    assert (report.loaded, report.updated, report.unchanged, report.older) == (1, 0, 3, 3)
    assert "unchanged 3 (3 an older status than loaded)" in report.render()
    assert _statuses(con) == dict.fromkeys(("O1", "O2", "O3"), "cancelled") | {"O4": "completed"}
    assert _history(con)[: len(history)] == history
    assert len(_history(con)) == len(history) + 1  # O4's first status only


@pytest.mark.parametrize("order", list(itertools.permutations(("store", "updates", "later"))))
def test_the_newest_file_decides_whatever_the_load_order(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, order: tuple[str, ...]
) -> None:
    files = _month_files(tmp_path / "landing")
    for name in order:
        assert ingest(con, [files[name]], now=NOW).ok
    assert _statuses(con) == {"O1": "cancelled", "O2": "cancelled", "O3": "cancelled"}


def test_loading_the_files_again_in_any_order_changes_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    files = _month_files(tmp_path / "landing")
    assert ingest(con, [tmp_path / "landing"], now=NOW).ok
    before = (_statuses(con), _history(con))
    for name in ("later", "updates", "store"):
        (report,) = ingest(con, [files[name]], now=NOW).files
        assert report.loaded == 0
    assert (_statuses(con), _history(con)) == before


def test_a_newer_file_still_changes_a_status_back(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Newer news wins either way: a later file reinstating a cancelled line applies."""
    files = _month_files(tmp_path / "landing")
    assert ingest(con, [files["store"], files["updates"]], now=NOW).ok
    reinstated = write_csv(
        tmp_path / "order_lines_updates_2026-02-10.csv", ORDER_HEADER, [line(order_id="O1")]
    )
    (report,) = ingest(con, [reinstated], now=NOW).files
    assert (report.loaded, report.updated) == (1, 1)
    assert _statuses(con)["O1"] == "completed"


# --- a file that arrived cut, then whole ----------------------------------------

MODEL_HEADER = [*ORDER_HEADER, "vehicle_model_id"]
NEXT_NIGHT = NOW + timedelta(days=1)


def _whole_and_cut(folder: Path, cut_after: str) -> tuple[Path, Path]:
    """``order_lines_2026-01.csv`` (O1, O2, model VM1) in ``folder``/whole, and the
    same file in ``folder``/cut, its bytes ending just after ``cut_after`` in O2's line."""
    (folder / "whole").mkdir(parents=True)
    (folder / "cut").mkdir()
    rows = [[*line(order_id=o), "VM1"] for o in ("O1", "O2")]
    whole = write_csv(folder / "whole" / "order_lines_2026-01.csv", MODEL_HEADER, rows)
    data = whole.read_bytes()
    end = data.index(cut_after.encode(), data.index(b"\nO2,")) + len(cut_after)
    cut = folder / "cut" / whole.name
    cut.write_bytes(data[:end])
    return whole, cut


def test_a_cut_optional_field_is_filled_by_the_whole_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    whole, cut = _whole_and_cut(tmp_path, "completed,")
    assert ingest(con, [cut], now=NOW).files[0].loaded == 2
    models = "SELECT order_id, vehicle_model_id FROM {} ORDER BY 1"
    assert query(con, models.format("order_lines")) == [("O1", "VM1"), ("O2", None)]
    (report,) = ingest(con, [whole], now=NOW).files
    assert (report.loaded, report.updated, report.unchanged) == (1, 1, 1)
    assert query(con, models.format("order_lines")) == [("O1", "VM1"), ("O2", "VM1")]
    assert query(con, models.format("orders")) == [("O1", "VM1"), ("O2", "VM1")]
    # The cut file again never blanks the field; the whole one again changes nothing.
    assert ingest(con, [cut, whole], now=NOW).total_loaded == 0
    assert query(con, models.format("order_lines")) == [("O1", "VM1"), ("O2", "VM1")]


def _quarantine(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return query(
        con,
        "SELECT row_number, reason, row_key, resolved_at IS NOT NULL, resolution "
        "FROM quarantine ORDER BY quarantine_id",
    )


#: Where O2's line is cut, and the reason it is quarantined for.
CUTS = [
    ("S1,K1,2", "unit_price: missing; channel: missing; status: missing"),
    ("completed,V", "vehicle_model_id: unknown vehicle model 'V'"),
]


@pytest.mark.parametrize(("cut_after", "reason"), CUTS)
def test_rows_of_a_cut_file_are_resolved_when_the_whole_file_loads(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, cut_after: str, reason: str
) -> None:
    whole, cut = _whole_and_cut(tmp_path, cut_after)
    (first,) = ingest(con, [cut], now=NOW).files
    assert (first.loaded, first.quarantined) == (1, 1)
    key = '{"order_id":"O2","line_no":1}'
    assert _quarantine(con) == [(2, reason, key, False, None)]
    (second,) = ingest(con, [whole], now=NOW).files
    assert (second.loaded, second.unchanged, second.quarantined) == (1, 1, 0)
    assert _quarantine(con) == [(2, reason, key, True, f"superseded by {whole.resolve()} row 2")]
    assert _statuses(con) == {"O1": "completed", "O2": "completed"}


def test_a_conflict_stays_quarantined_when_its_key_loads_again(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "order_lines_2026-01-05.csv", ORDER_HEADER, [line(quantity="4")])
    other = write_csv(tmp_path / "order_lines_2026-01-06.csv", ORDER_HEADER, [line(quantity="2")])
    again = write_csv(tmp_path / "order_lines_2026-01-07.csv", ORDER_HEADER, [line(quantity="4")])
    assert ingest(con, [first, other, again], now=NOW).ok
    assert _quarantine(con) == [(1, "conflicts with loaded row: quantity 2 ≠ 4", None, False, None)]


@pytest.mark.parametrize(("cut_after", "reason"), CUTS)
def test_retry_resolves_rows_whose_key_has_loaded_since(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, cut_after: str, reason: str
) -> None:
    """Rows quarantined before their key was kept (before migration 0012) read it from raw:
    a retry used to retry none of these (no curable reason) or keep them (unknown 'V')."""
    whole, cut = _whole_and_cut(tmp_path, cut_after)
    assert ingest(con, [cut], now=NOW).ok
    con.execute("UPDATE quarantine SET row_key = NULL")
    assert ingest(con, [whole], now=NEXT_NIGHT).ok
    assert [resolved for *_, resolved, _ in _quarantine(con)] == [False]
    report = retry_quarantine(con, now=NEXT_NIGHT)
    assert (report.retried, report.superseded, report.loaded, report.still_quarantined) == (
        1,
        1,
        0,
        0,
    )
    assert "superseded by a loaded row 1" in report.render()
    ((*_, resolved, resolution),) = _quarantine(con)
    assert (resolved, resolution) == (True, "superseded by the loaded row of its key")
    assert retry_quarantine(con, now=NEXT_NIGHT).retried == 0


def test_a_failed_change_of_a_loaded_line_is_never_superseded(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A cancellation with a typo failed: the line being loaded (again) must not hide it."""
    month = write_csv(tmp_path / "order_lines_store_2026-01.csv", ORDER_HEADER, [line()])
    typo = write_csv(
        tmp_path / "order_lines_updates_2026-01.csv", ORDER_HEADER, [line(status="canceled")]
    )
    assert ingest(con, [month, typo], now=NOW).ok
    (tmp_path / "resent").mkdir()
    resent = tmp_path / "resent" / month.name
    resent.write_bytes(month.read_bytes().replace(b"\n", b"\r\n"))
    assert ingest(con, [resent], now=NEXT_NIGHT).ok
    assert retry_quarantine(con, now=NEXT_NIGHT).superseded == 0
    reason = "status: must be one of completed, cancelled (got 'canceled')"
    assert _quarantine(con) == [(1, reason, None, False, None)]


def test_a_failed_master_data_update_is_never_superseded(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bad = write_parquet(tmp_path / "skus_update.parquet", skus("K1") | {"category": ["toys"]})
    assert ingest(con, [bad], now=NOW).files[0].quarantined == 1
    again = write_parquet(tmp_path / "skus_again.parquet", skus("K1", "K2"))
    assert ingest(con, [again], now=NEXT_NIGHT).ok
    assert retry_quarantine(con, now=NEXT_NIGHT).superseded == 0
    assert [resolved for *_, resolved, _ in _quarantine(con)] == [False]


# --- oversized rows and fields ----------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_oversized_field_is_refused_and_kept_cut_once(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, fmt: str
) -> None:
    big = "V" * 1_000_000
    rows = [[*line(order_id="O1"), "VM1"], [*line(order_id="O2"), big]]
    path = tmp_path / f"order_lines_2026-01.{fmt}"
    if fmt == "csv":
        write_csv(path, MODEL_HEADER, rows)
    else:
        write_parquet(
            path, dict(zip(MODEL_HEADER, map(list, zip(*rows, strict=True)), strict=True))
        )
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.rows_read, report.loaded, report.quarantined) == (2, 1, 1)
    ((number, raw, reason, row_bytes, key),) = query(
        con, "SELECT row_number, raw, reason, raw_bytes, row_key FROM quarantine"
    )
    assert (number, reason) == (2, "field vehicle_model_id is 1,000,000 bytes, limit 4,096")
    assert row_bytes == 1_000_000 + sum(len(v) for v in line(order_id="O2"))
    assert len(raw) < 1_000 and raw.endswith('…[cut: 1,000,000 bytes]"}')
    assert key == '{"order_id":"O2","line_no":1}'
    # The whole row, sent again, loads and resolves the cut one.
    fixed = write_csv(
        tmp_path / "order_lines_2026-01-31.csv", MODEL_HEADER, [rows[0], [*rows[1][:-1], "VM1"]]
    )
    assert ingest(con, [fixed], now=NOW).files[0].loaded == 1
    assert query(con, "SELECT resolved_at IS NOT NULL FROM quarantine") == [(True,)]


def test_an_oversized_row_is_refused_with_its_size(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    notes = [f"note{i}" for i in range(20)]
    path = write_csv(
        tmp_path / "order_lines_2026-01.csv",
        [*ORDER_HEADER, *notes],
        [[*line(), *["n" * 4000] * 20], [*line(order_id="O2"), *[""] * 20]],
    )
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.loaded, report.quarantined) == (1, 1)
    assert report.ignored_columns == tuple(notes)
    ((reason, raw),) = query(con, "SELECT reason, raw FROM quarantine")
    size = 80_000 + sum(len(v) for v in line())
    assert reason == f"row is {size:,} bytes, limit 65,536"
    assert len(raw) < 20 * 300


def test_the_generated_month_files_resent_keep_every_cancellation(
    out: Path, lines: pl.DataFrame, tmp_path: Path
) -> None:
    """The fault injection on generated data: the month files re-sent (other bytes: CRLF)
    after their update files used to turn 988 cancelled lines back to completed."""
    con = connect(tmp_path / "w.duckdb")
    assert ingest(con, [out]).ok
    cancelled = "SELECT count(*) FROM order_lines WHERE status = 'cancelled'"
    expected = lines.filter(pl.col("final_status") == "cancelled").height
    assert query(con, cancelled) == [(expected,)]
    resent = tmp_path / "resent"
    resent.mkdir()
    for month_file in [*out.glob("order_lines_store_*.csv"), *out.glob("order_lines_online_*.csv")]:
        (resent / month_file.name).write_bytes(month_file.read_bytes().replace(b"\n", b"\r\n"))
    report = ingest(con, [resent])
    assert (report.total_loaded, report.total_quarantined) == (0, 0)
    assert query(con, cancelled) == [(expected,)]
    sent_completed = (pl.col("status") == "completed") & (pl.col("final_status") == "cancelled")
    assert report.total("older") == lines.filter(sent_completed).height > 0
    con.close()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_line_too_long_to_parse_whole_is_cut_before_parsing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, encoding: str
) -> None:
    """A 3 MB remark (quoted, with commas) never reaches the parser whole: the row is
    refused with its line's size, the rows after it load, their numbers unchanged."""
    remark = "到店安装, 请提前预约" * 250_000
    path = write_csv(
        tmp_path / "order_lines_online_2026-01.csv",
        [*ORDER_HEADER, "remark"],
        [[*line(order_id="O1"), "ok"], [*line(order_id="O2"), remark], [*line(order_id="O3"), ""]],
        encoding=encoding,
    )
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.loaded, report.quarantined, report.ignored_columns) == (2, 1, ("remark",))
    ((number, reason, raw, size),) = query(
        con, "SELECT row_number, reason, raw, raw_bytes FROM quarantine"
    )
    line_bytes = len(",".join([*line(order_id="O2"), f'"{remark}"']).encode())
    assert (number, size) == (2, line_bytes)
    assert reason == f"row is {line_bytes:,} bytes, limit 65,536 (cut in field remark)"
    assert len(raw) < 1_000 and raw.endswith(f'…[line cut: {line_bytes} bytes]"}}')
    assert sorted(_statuses(con)) == ["O1", "O3"]


def test_a_file_over_the_file_limit_is_refused_unread_and_the_others_load(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A 300 MiB export (sparse: no disk, and never read) is refused with its size in
    one line; the file beside it loads."""
    folder = tmp_path / "landing"
    folder.mkdir()
    good = write_csv(folder / "order_lines_store_2026-01.csv", ORDER_HEADER, [line(order_id="O1")])
    huge = folder / "order_lines_store_2026-02.csv"
    with huge.open("wb") as out:
        out.write(",".join(ORDER_HEADER).encode() + b"\n")
        out.truncate(300 * 2**20)
    by_name = {r.path.name: r for r in ingest(con, [folder], now=NOW).files}
    assert by_name[good.name].loaded == 1
    refused = by_name[huge.name]
    assert refused.error == (
        f"{huge.name}: file is 300 MiB, limit 256 MiB;"
        " send it as smaller files (a week or a day each)"
    )
    assert (refused.rows_read, refused.loaded) == (0, 0)
    assert sorted(_statuses(con)) == ["O1"]
