"""Ingesting CSV in UTF-8, UTF-8 with BOM and GB18030, Parquet and NDJSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import ingest
from pipelines.ingest.encoding import digest, transcode_to_utf8
from tests.pipelines.ingest_support import (
    NOW,
    ORDER_HEADER,
    line,
    load_network,
    query,
    reasons,
    write_csv,
)
from warehouse.schema import connect

REMARK = "客户备注：请尽快送达"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding only the small network (2 stores, skus K1 K2)."""
    connection = connect(tmp_path / "w.duckdb")
    load_network(connection, tmp_path / "master")
    yield connection
    connection.close()


def _with_remark(path: Path, encoding: str, remark: str = REMARK) -> Path:
    return write_csv(path, [*ORDER_HEADER, "remark"], [[*line(sku="K9"), remark]], encoding)


def _quarantined_remark(con: duckdb.DuckDBPyConnection) -> str:
    ((raw,),) = query(con, "SELECT raw FROM quarantine")
    return str(json.loads(raw)["remark"])


def test_utf8_with_chinese_text_is_not_garbled(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = ingest(con, [_with_remark(tmp_path / "order_lines_1.csv", "utf-8")], now=NOW)
    assert report.files[0].encoding == "utf-8"
    assert _quarantined_remark(con) == REMARK


def test_utf8_with_bom_is_utf8_and_the_first_column_keeps_its_name(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "order_lines_1.csv", ORDER_HEADER, [line()], "utf-8-sig")
    report = ingest(con, [path], now=NOW).files[0]
    assert (report.encoding, report.loaded, report.error) == ("utf-8-bom", 1, None)


def test_gb18030_is_transcoded(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    report = ingest(con, [_with_remark(tmp_path / "order_lines_1.csv", "gb18030")], now=NOW)
    assert report.files[0].encoding == "gb18030"
    assert report.files[0].ignored_columns == ("remark",)
    assert _quarantined_remark(con) == REMARK


def test_valid_utf8_is_never_read_as_gbk(tmp_path: Path) -> None:
    # These UTF-8 bytes are also valid GBK (as different characters).
    text = "订单"
    assert text.encode("utf-8").decode("gbk") != text
    path = tmp_path / "x.csv"
    path.write_bytes(f"a\n{text}\n".encode())
    assert digest(path, text=True).encoding == "utf-8"


def test_transcoding_streams_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.ingest import encoding

    monkeypatch.setattr(encoding, "CHUNK_BYTES", 3)  # splits multi-byte characters
    source, target = tmp_path / "gb.csv", tmp_path / "utf8.csv"
    text = "a,b\n" + REMARK * 5 + ",1\n"
    source.write_bytes(text.encode("gb18030"))
    assert encoding.digest(source, text=True).encoding == "gb18030"
    transcode_to_utf8(source, target)
    assert target.read_text("utf-8") == text


def test_parquet_order_lines_load(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import polars as pl

    frame = pl.DataFrame(
        [line(), line(line_no="2", quantity="abc")], schema=ORDER_HEADER, orient="row"
    )
    frame.write_parquet(tmp_path / "order_lines_1.parquet")
    report = ingest(con, [tmp_path / "order_lines_1.parquet"], now=NOW).files[0]
    assert (report.loaded, report.quarantined, report.encoding) == (1, 1, None)


def test_typed_parquet_columns_are_read_as_their_strings(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import polars as pl

    frame = pl.DataFrame([line()], schema=ORDER_HEADER, orient="row").with_columns(
        pl.col("line_no").cast(pl.Int32),
        pl.col("quantity").cast(pl.Int64),
        pl.col("unit_price").cast(pl.Decimal(12, 2)),
        pl.col("ordered_at").str.to_datetime().dt.replace_time_zone("Asia/Shanghai"),
    )
    frame.write_parquet(tmp_path / "order_lines_1.parquet")
    report = ingest(con, [tmp_path / "order_lines_1.parquet"], now=NOW).files[0]
    assert report.loaded == 1, reasons(con)
    assert query(con, "SELECT unit_price::VARCHAR, quantity FROM order_lines") == [("10.50", 2)]


def test_ndjson_order_lines_load(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    records = [dict(zip(ORDER_HEADER, line(), strict=True)), {"order_id": "O2", "line_no": 1}]
    records[0]["quantity"] = 3  # a JSON number
    path = tmp_path / "order_lines_1.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    report = ingest(con, [path], now=NOW).files[0]
    assert (report.loaded, report.quarantined) == (1, 1)
    assert reasons(con)[2].startswith("ordered_at: missing")


def test_a_file_that_is_not_csv_is_refused_with_one_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "order_lines_1.parquet"
    path.write_text("order_id,line_no\nO1,1\n")
    (report,) = ingest(con, [path], now=NOW).files
    assert report.error is not None
    assert report.error.startswith("order_lines_1.parquet: cannot be read as parquet")
    assert "\n" not in report.error
