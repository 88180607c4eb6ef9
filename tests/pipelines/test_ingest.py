"""Ingesting order lines: reasons, counts, idempotency, status changes, files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import ingest, retry_quarantine
from tests.pipelines.ingest_support import (
    NOW,
    ORDER_HEADER,
    line,
    load_network,
    query,
    reasons,
    skus,
    write_csv,
    write_parquet,
)
from warehouse.schema import connect


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding only the small network (2 stores, skus K1 K2)."""
    connection = connect(tmp_path / "w.duckdb")
    load_network(connection, tmp_path / "master")
    yield connection
    connection.close()


def _load(con: duckdb.DuckDBPyConnection, path: Path, *rows: list[str]) -> dict[int, str]:
    write_csv(path, ORDER_HEADER, list(rows))
    report = ingest(con, [path], now=NOW)
    assert report.ok, report.render()
    return reasons(con)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"quantity": ""}, "quantity: missing"),
        ({"quantity": "abc"}, "quantity: not an integer ('abc')"),
        ({"quantity": "-2"}, "quantity: must be > 0 (got -2)"),
        ({"quantity": "0"}, "quantity: must be > 0 (got 0)"),
        ({"unit_price": "1.234"}, "unit_price: not a decimal with at most 2 places ('1.234')"),
        ({"channel": "web"}, "channel: must be one of store, online (got 'web')"),
        ({"store_id": "S999"}, "store_id: unknown store 'S999'"),
        ({"sku": "K9"}, "sku: unknown sku 'K9'"),
        (
            {"ordered_at": "2026-02-30 10:00:00"},
            "ordered_at: impossible timestamp ('2026-02-30 10:00:00')",
        ),
        ({"ordered_at": "yesterday"}, "ordered_at: not an ISO 8601 timestamp ('yesterday')"),
        (
            {"ordered_at": "1999-12-31T10:00:00"},
            "ordered_at: implausible timestamp (before 2000-01-01 or in the future)",
        ),
        (
            {"ordered_at": "2026-03-05T10:00:00"},
            "ordered_at: implausible timestamp (before 2000-01-01 or in the future)",
        ),
    ],
)
def test_a_bad_value_is_quarantined_with_its_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, values: dict[str, str], reason: str
) -> None:
    found = _load(con, tmp_path / "order_lines_1.csv", line(order_id="OK"), line(**values))
    assert found == {2: reason}


def test_several_failures_of_one_row_are_joined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    found = _load(con, tmp_path / "order_lines_1.csv", line(quantity="x", sku="K9"))
    assert found == {1: "quantity: not an integer ('x'); sku: unknown sku 'K9'"}


def test_quarantine_keeps_the_raw_strings_and_the_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "order_lines_1.csv"
    _load(con, path, line(quantity="abc"))
    ((kind, source, raw),) = query(con, "SELECT kind, source_file, raw FROM quarantine")
    assert (kind, source) == ("order_lines", str(path.resolve()))
    assert '"quantity":"abc"' in raw and '"order_id":"O1"' in raw


def test_timestamps_with_offsets_and_without_are_the_same_instant(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load(
        con,
        tmp_path / "order_lines_1.csv",
        line(order_id="A", ordered_at="2026-01-05T10:00:00"),
        line(order_id="B", ordered_at="2026-01-05 10:00:00+08:00"),
        line(order_id="C", ordered_at="2026-01-05T02:00:00Z"),
        line(order_id="D", ordered_at="2026-01-05 10:00:00.000+0800"),
    )
    instants = query(con, "SELECT DISTINCT epoch(ordered_at), demand_date FROM orders")
    assert len(instants) == 1


def test_demand_date_is_the_shanghai_calendar_date(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load(con, tmp_path / "order_lines_1.csv", line(ordered_at="2026-01-04T17:30:00Z"))
    assert query(con, "SELECT demand_date::VARCHAR FROM order_lines") == [("2026-01-05",)]


def test_lines_load_with_order_headers_and_the_serving_warehouse(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load(
        con,
        tmp_path / "order_lines_1.csv",
        line(line_no="1"),
        line(line_no="2", sku="K2"),
        line(order_id="O2", store_id="S2"),
    )
    assert query(con, "SELECT order_id, store_id, warehouse_id FROM orders ORDER BY 1") == [
        ("O1", "S1", "FW1"),
        ("O2", "S2", "FW2"),
    ]
    assert query(con, "SELECT count(*) FROM order_lines") == [(3,)]


def test_a_warehouse_other_than_the_stores_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "order_lines_1.csv"
    write_csv(
        path, [*ORDER_HEADER, "warehouse_id"], [[*line(), "FW2"], [*line(line_no="2"), "FW1"]]
    )
    ingest(con, [path], now=NOW)
    assert reasons(con) == {
        1: "warehouse_id: 'FW2' is not the serving warehouse of store 'S1' ('FW1')"
    }


def test_a_line_disagreeing_with_its_order_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    found = _load(con, tmp_path / "order_lines_1.csv", line(), line(line_no="2", store_id="S2"))
    assert found == {2: "order disagrees with its other lines on store_id"}


def test_in_file_duplicate_with_other_content_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    found = _load(
        con,
        tmp_path / "order_lines_1.csv",
        line(order_id="X"),
        line(order_id="X", line_no="2"),
        line(order_id="X", quantity="4"),
    )
    assert found == {
        3: "duplicate key (order_id, line_no) in file with different content than row 1"
    }


def test_an_identical_repeat_in_the_file_is_unchanged(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "order_lines_1.csv", ORDER_HEADER, [line(), line()])
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.loaded, report.unchanged, report.quarantined) == (1, 1, 0)


def test_a_conflict_with_a_loaded_row_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load(con, tmp_path / "order_lines_1.csv", line(quantity="4"))
    found = _load(con, tmp_path / "order_lines_2.csv", line(quantity="2"))
    assert found == {1: "conflicts with loaded row: quantity 2 ≠ 4"}


def test_status_change_is_recorded_in_the_history(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load(con, tmp_path / "order_lines_1.csv", line())
    path = write_csv(tmp_path / "order_lines_2.csv", ORDER_HEADER, [line(status="cancelled")])
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.loaded, report.updated, report.unchanged) == (1, 1, 0)
    assert query(con, "SELECT status FROM order_lines") == [("cancelled",)]
    assert query(con, "SELECT seq, status FROM order_line_status_history ORDER BY seq") == [
        (1, "completed"),
        (2, "cancelled"),
    ]


def test_status_changes_within_one_file_apply_in_order(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "order_lines_1.csv",
        ORDER_HEADER,
        [line(), line(status="cancelled"), line(status="cancelled")],
    )
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.loaded, report.updated, report.unchanged) == (2, 1, 1)
    assert query(con, "SELECT status FROM order_lines") == [("cancelled",)]
    assert query(con, "SELECT seq, status FROM order_line_status_history ORDER BY seq") == [
        (1, "completed"),
        (2, "cancelled"),
    ]


TABLES = ("orders", "order_lines", "order_line_status_history")


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[object]]:
    found = {t: query(con, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}
    found["quarantine"] = query(
        con, "SELECT kind, source_file, row_number, raw, reason FROM quarantine ORDER BY ALL"
    )
    return found


def test_ingesting_the_same_file_twice_changes_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "order_lines_1.csv",
        ORDER_HEADER,
        [line(), line(line_no="2", quantity="x"), line(order_id="O2", status="cancelled")],
    )
    first = ingest(con, [path], now=NOW).files[0]
    before = _contents(con)
    second = ingest(con, [path], now=NOW).files[0]
    assert _contents(con) == before
    assert (first.loaded, first.quarantined) == (2, 1)
    assert (second.loaded, second.unchanged, second.quarantined) == (0, 2, 1)


def test_a_fully_loaded_file_is_not_parsed_again(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "order_lines_1.csv", ORDER_HEADER, [line(), line(order_id="O2")])
    first = ingest(con, [path], now=NOW).files[0]
    before = _contents(con)
    second = ingest(con, [path], now=NOW).files[0]
    assert _contents(con) == before
    assert not first.already_ingested
    assert second.already_ingested
    assert (second.rows_read, second.unchanged, second.loaded) == (2, 2, 0)
    assert "(already ingested)" in second.render()


def test_counts_add_up_to_the_rows_read(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _load(con, tmp_path / "order_lines_1.csv", line(order_id="A"))
    path = write_csv(
        tmp_path / "order_lines_2.csv",
        ORDER_HEADER,
        [line(order_id="A"), line(order_id="B"), line(order_id="C", sku="K9"), line(order_id="B")],
    )
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.rows_read, report.loaded, report.unchanged, report.quarantined) == (4, 1, 2, 1)
    recorded = query(
        con,
        "SELECT rows_read, loaded, unchanged, quarantined FROM ingested_files "
        "WHERE source_file = ?",
        [str(path.resolve())],
    )
    assert recorded == [(4, 1, 2, 1)]


def test_kind_comes_from_the_file_name_prefix(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "order_lines_store_2026-01.csv", ORDER_HEADER, [line()])
    assert ingest(con, [path], now=NOW).files[0].kind == "order_lines"


def test_kind_can_be_given_for_any_name(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", ORDER_HEADER, [line()])
    report = ingest(con, [path], kind="order_lines", now=NOW).files[0]
    assert (report.kind, report.loaded) == ("order_lines", 1)


def test_an_explicit_file_of_unknown_kind_is_an_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "export.csv", ORDER_HEADER, [line()])
    report = ingest(con, [path], now=NOW)
    assert not report.ok
    assert report.files[0].error is not None
    assert report.files[0].error.startswith("export.csv: cannot tell the kind")


def test_ignored_columns_are_reported(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "order_lines_1.csv", [*ORDER_HEADER, "remark"], [[*line(), "x"]])
    report = ingest(con, [path], now=NOW).files[0]
    assert (report.ignored_columns, report.loaded) == (("remark",), 1)


def test_missing_required_column_refuses_the_file_but_others_load(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    header = [c for c in ORDER_HEADER if c != "sku"]
    bad = write_csv(tmp_path / "order_lines_x.csv", header, [line()[:4] + line()[5:]])
    good = write_csv(tmp_path / "order_lines_y.csv", ORDER_HEADER, [line()])
    report = ingest(con, [bad, good], now=NOW)
    assert [f.error for f in report.files] == [
        "order_lines_x.csv: missing required column 'sku'",
        None,
    ]
    assert query(con, "SELECT count(*) FROM order_lines") == [(1,)]
    assert query(con, "SELECT count(*) FROM ingested_files WHERE kind = 'order_lines'") == [(1,)]


def test_a_folder_loads_in_dependency_order_and_skips_other_files(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    folder = tmp_path / "landing"
    load_network(con, tmp_path / "master")
    folder.mkdir()
    write_csv(folder / "order_lines_1.csv", ORDER_HEADER, [line(sku="K3")])
    write_parquet(folder / "skus.parquet", skus("K3"))
    (folder / "manifest.json").write_text("{}")
    report = ingest(con, [folder], now=NOW)
    assert [f.kind for f in report.files] == ["skus", "order_lines"]
    assert [s.path.name for s in report.skipped] == ["manifest.json"]
    assert report.files[1].loaded == 1


def test_retry_loads_lines_once_their_sku_arrives(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load(con, tmp_path / "order_lines_1.csv", line(sku="K3"), line(line_no="2", quantity="x"))
    write_parquet(tmp_path / "skus_new.parquet", skus("K3"))
    ingest(con, [tmp_path / "skus_new.parquet"], now=NOW)
    report = retry_quarantine(con, now=NOW)
    assert (report.retried, report.loaded, report.still_quarantined) == (1, 1, 0)
    assert query(con, "SELECT sku FROM order_lines") == [("K3",)]
    assert reasons(con) == {2: "quantity: not an integer ('x')"}


def test_reloading_an_older_file_does_not_undo_a_later_status_change(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    original = write_csv(tmp_path / "order_lines_1.csv", ORDER_HEADER, [line()])
    update = write_csv(tmp_path / "order_lines_2.csv", ORDER_HEADER, [line(status="cancelled")])
    ingest(con, [original, update], now=NOW)
    before = _contents(con)
    report = ingest(con, [original, update], now=NOW)
    assert _contents(con) == before
    assert report.total_loaded == 0 and report.total_unchanged == 2


def test_a_file_still_being_written_is_left_until_renamed(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Write, then rename: a folder's load skips NAME.part / NAME.tmp / .NAME, names why,
    and takes the file at the first load after its rename."""
    landing = tmp_path / "landing"
    landing.mkdir()
    writing = landing / "order_lines_2026-02.csv.part"
    write_csv(writing, ORDER_HEADER, [line()])
    write_csv(landing / ".order_lines_2026-03.csv", ORDER_HEADER, [line(order_id="O2")])
    first = ingest(con, [landing], now=NOW)
    assert first.files == ()
    assert [(s.path.name, s.why) for s in first.skipped] == [
        ("order_lines_2026-02.csv.part", "still being written: taken once renamed")
    ]
    assert query(con, "SELECT count(*) FROM order_lines") == [(0,)]
    writing.rename(landing / "order_lines_2026-02.csv")
    second = ingest(con, [landing], now=NOW)
    assert [f.path.name for f in second.files] == ["order_lines_2026-02.csv"]
    assert second.total_loaded == 1


def test_on_file_is_told_each_file_once_it_is_done(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = tmp_path / "landing"
    folder.mkdir()
    write_csv(folder / "order_lines_1.csv", ORDER_HEADER, [line()])
    write_parquet(folder / "skus.parquet", skus("K3"))
    write_csv(folder / "order_lines_2.csv.part", ORDER_HEADER, [line()])
    write_csv(folder / "order_lines_3.csv", ["order_id"], [["O9"]])  # refused
    recorded = "SELECT count(*) FROM ingested_files"
    (before,) = query(con, recorded)[0]
    done: list[tuple[str, int]] = []

    def seen(path: Path) -> None:
        done.append((path.name, query(con, recorded)[0][0] - before))

    report = ingest(con, [folder], now=NOW, on_file=seen)
    # In load order, each after its file is recorded; a refused file records nothing,
    # a file still being written is no file of this load.
    assert done == [("skus.parquet", 1), ("order_lines_1.csv", 2), ("order_lines_3.csv", 2)]
    assert [name for name, _ in done] == [f.path.name for f in report.files]


def test_blank_lines_are_not_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """An export's blank lines (a trailing newline, a gap) carry nothing: not quarantined."""
    path = write_csv(
        tmp_path / "order_lines_1.csv",
        ORDER_HEADER,
        [line(order_id="A"), line(order_id="B", sku="K9"), line(order_id="C")],
    )
    text = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*text[:2], "", *text[2:], "", ""]) + "\n", encoding="utf-8")
    (report,) = ingest(con, [path], now=NOW).files
    assert (report.rows_read, report.loaded, report.quarantined) == (3, 2, 1)
    # The bad row keeps its number among the file's data rows, the blank line counted.
    assert reasons(con) == {3: "sku: unknown sku 'K9'"}
