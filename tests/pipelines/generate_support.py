"""Reading the generator's landing files back the way the tests compare them."""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

SHANGHAI = ZoneInfo("Asia/Shanghai")
_IDS = {"order_id": pl.String, "store_id": pl.String, "sku": pl.String, "unit_price": pl.String}


def read_csv(path: Path, encoding: str = "utf-8") -> pl.DataFrame:
    """A landing CSV in ``encoding`` (a BOM is dropped), ids and prices as strings."""
    text = path.read_bytes().decode(encoding).removeprefix("\ufeff")
    return pl.read_csv(io.StringIO(text), schema_overrides=_IDS)


def instant(column: str) -> pl.Expr:
    """An ISO timestamp with or without offset as an Asia/Shanghai datetime."""
    text = pl.col(column).str.replace(" ", "T")
    return (
        pl.when(text.str.contains(r"\+08:00$"))
        .then(text.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="Asia/Shanghai"))
        .otherwise(text.str.to_datetime("%Y-%m-%dT%H:%M:%S").dt.replace_time_zone("Asia/Shanghai"))
    )


def updates_frame(out: Path) -> pl.DataFrame:
    """Every line re-sent in an update file."""
    return pl.concat([read_csv(p) for p in sorted(out.glob("order_lines_updates_*.csv"))])


def all_lines(out: Path) -> pl.DataFrame:
    """All order lines as first sent, with ``final_status`` after update files and ``day``."""
    store = [read_csv(p) for p in sorted(out.glob("order_lines_store_*.csv"))]
    online = [
        read_csv(p, "gb18030").drop("remark") for p in sorted(out.glob("order_lines_online_*.csv"))
    ]
    frame = pl.concat(store + online).with_columns(ordered_at=instant("ordered_at"))
    late = updates_frame(out).select("order_id", "line_no", late=pl.lit(True))
    return frame.join(late, on=["order_id", "line_no"], how="left").with_columns(
        final_status=pl.when(pl.col("late")).then(pl.lit("cancelled")).otherwise("status"),
        day=pl.col("ordered_at").dt.date(),
    )


def all_returns(out: Path) -> pl.DataFrame:
    """Every return, ``returned_at`` as an Asia/Shanghai datetime."""
    return pl.concat([read_csv(p) for p in sorted(out.glob("returns_*.csv"))]).with_columns(
        returned_at=instant("returned_at")
    )


def stock_history(out: Path) -> pl.DataFrame:
    """Every stock row of the monthly ``stock_YYYY-MM.parquet`` files, in file order."""
    return pl.concat([pl.read_parquet(p) for p in sorted(out.glob("stock_*.parquet"))])
