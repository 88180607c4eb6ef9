"""What taking in the operational store's orders reads from the warehouse, besides a load.

The store's orders go through ingestion like a landing file
(``pipelines.ingest.ops_source``); before that, three facts come from here:
when the store was last read (the watermark, from ``ingested_files``), the
price each line is recorded at, and which vehicle models are known.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from warehouse.frames import registered

#: ``(order_id, line_no)`` and the price the line is recorded at (null: the SKU is unknown).
LINE_PRICES = pl.Schema(
    {"order_id": pl.String(), "line_no": pl.Int64(), "unit_price": pl.Decimal(12, 2)}
)


def last_ingested(con: duckdb.DuckDBPyConnection, source_file: str, kind: str) -> datetime | None:
    """When rows of ``kind`` were last ingested from ``source_file`` (None: never)."""
    moment = con.execute(
        "SELECT max(ingested_at) FROM ingested_files WHERE source_file = ? AND kind = ?",
        [source_file, kind],
    ).fetchall()[0][0]
    return moment if isinstance(moment, datetime) else None


def line_prices(con: duckdb.DuckDBPyConnection, lines: pl.DataFrame) -> pl.DataFrame:
    """The price to record each of ``lines`` (``order_id``, ``line_no``, ``sku``) at.

    A line loaded before keeps its loaded price (a line's price never
    changes: another one would be a conflict); a new line takes its SKU's
    list price (``skus.unit_price``) as the master data has it now.

    Returns
    -------
    pl.DataFrame
        ``LINE_PRICES``, one row per line asked for, in no particular order.
    """
    keys = lines.select(
        pl.col("order_id").cast(pl.String),
        pl.col("line_no").cast(pl.Int64),
        pl.col("sku").cast(pl.String),
    ).unique(["order_id", "line_no"])
    with registered(con, keys) as name:
        frame = con.sql(
            "SELECT k.order_id, k.line_no, coalesce(l.unit_price, s.unit_price) AS unit_price "
            f"FROM {name} k LEFT JOIN order_lines l "
            "ON l.order_id = k.order_id AND l.line_no = k.line_no "
            "LEFT JOIN skus s ON s.sku = k.sku"
        ).pl()
    return frame.cast(LINE_PRICES)
