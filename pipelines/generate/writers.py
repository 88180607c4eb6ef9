"""Landing files exactly as docs/DATA_FORMATS.md describes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipelines.files import written_whole
from pipelines.generate.aftersales import RETURN_REASONS
from pipelines.generate.demand import CHANNELS, MonthLines

ORDER_LINE_COLUMNS = (
    "order_id", "line_no", "ordered_at", "store_id", "sku", "quantity", "unit_price",
    "channel", "status", "warehouse_id", "vehicle_model_id",
)  # fmt: skip
RETURN_COLUMNS = (
    "return_id", "order_id", "line_no", "store_id", "sku", "quantity", "returned_at", "reason",
)  # fmt: skip
STORE_TS = "%Y-%m-%dT%H:%M:%S"
ONLINE_TS = "%Y-%m-%d %H:%M:%S+08:00"
UPDATE_TS = "%Y-%m-%dT%H:%M:%S+08:00"
_REMARKS = (
    "到店安装", "到店安装，请提前预约", "周末上午到店", "双十一活动订单", "到店自提",
    "请联系车主确认车型", "工作日晚上到店", "含工时费",
)  # fmt: skip
_ORDER_PREFIX = ("SO", "OL")
_CHUNK_ROWS = 250_000
# Names this generator owns in its output folder (stale ones are removed first).
OWNED_GLOBS = (
    "warehouses.parquet", "stores.parquet", "skus.parquet", "vehicle_models.parquet",
    "fitment.parquet", "maintenance_schedules.parquet", "store_vehicles.parquet",
    "suppliers.parquet", "sku_supply.parquet",
    "order_lines_store_*.csv", "order_lines_online_*.csv", "order_lines_updates_*.csv",
    "returns_*.csv", "stock_*.parquet", "manifest.json",
)  # fmt: skip


@dataclass(frozen=True)
class Ids:
    """Id strings by index: what the demand arrays point at."""

    store: pl.Series
    store_warehouse: pl.Series  # serving forward warehouse id of each store
    sku: pl.Series
    model: pl.Series


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    with written_whole(path) as part:
        frame.write_parquet(part, compression="zstd", statistics=True)
    return path


def lines_frame(lines: MonthLines, idx: np.ndarray, status: np.ndarray, ids: Ids) -> pl.DataFrame:
    """The lines at positions ``idx`` with the landing columns (``ordered_at``
    as a naive Asia/Shanghai datetime)."""
    channel = lines.channel[idx]
    store = lines.store[idx]
    prefix = pl.Series(np.array(_ORDER_PREFIX)[channel])
    number = pl.Series(lines.order_no[idx]).cast(pl.String).str.zfill(10)
    return pl.DataFrame(
        {
            "order_id": prefix + number,
            "line_no": lines.line_no[idx],
            "ordered_at": pl.from_epoch(pl.Series(lines.ts[idx]), time_unit="s"),
            "store_id": ids.store.gather(store),
            "sku": ids.sku.gather(lines.sku[idx]),
            "quantity": lines.quantity[idx],
            "unit_price": pl.Series(lines.unit_price[idx]).cast(pl.Decimal(12, 2)),
            "channel": np.array(CHANNELS)[channel],
            "status": np.where(status == 1, "cancelled", "completed"),
            "warehouse_id": ids.store_warehouse.gather(store),
            "vehicle_model_id": ids.model.gather(lines.model[idx]),
        }
    )


def write_store_csv(frame: pl.DataFrame, path: Path) -> Path:
    """UTF-8, ``T`` between date and time, no offset (Asia/Shanghai)."""
    with written_whole(path) as part:
        frame.select(ORDER_LINE_COLUMNS).write_csv(part, datetime_format=STORE_TS)
    return path


def write_online_csv(frame: pl.DataFrame, path: Path, rng: np.random.Generator) -> Path:
    """GB18030, a space before the time, ``+08:00``, and a Chinese ``remark``.

    Written in chunks so that a month of the large scale is never held as one
    Python string.
    """
    remark = pl.Series("remark", np.array(_REMARKS)[rng.integers(0, len(_REMARKS), frame.height)])
    out = frame.select(ORDER_LINE_COLUMNS).with_columns(remark)
    with written_whole(path) as part, part.open("wb") as fh:
        for i, offset in enumerate(range(0, max(out.height, 1), _CHUNK_ROWS)):
            text = out.slice(offset, _CHUNK_ROWS).write_csv(
                include_header=i == 0, datetime_format=ONLINE_TS
            )
            fh.write(text.encode("gb18030"))
    return path


def write_updates_csv(frame: pl.DataFrame, path: Path) -> Path:
    """UTF-8 with BOM: lines re-sent with status ``cancelled``."""
    with written_whole(path) as part:
        frame.select(ORDER_LINE_COLUMNS).write_csv(
            part, include_bom=True, datetime_format=UPDATE_TS
        )
    return path


def returns_frame(
    lines: MonthLines,
    idx: np.ndarray,
    returned_ts: np.ndarray,
    quantity: np.ndarray,
    reason: np.ndarray,
    ids: Ids,
) -> pl.DataFrame:
    """Returns of the lines at ``idx`` (``return_id`` is assigned when writing)."""
    frame = lines_frame(lines, idx, np.zeros(idx.size, dtype=np.int8), ids)
    return frame.select(
        "order_id",
        "line_no",
        "store_id",
        "sku",
        pl.Series("quantity", quantity),
        pl.from_epoch(pl.Series("returned_at", returned_ts), time_unit="s"),
        pl.Series("reason", np.array(RETURN_REASONS)[reason]),
    )


def write_returns(returns: pl.DataFrame, out: Path) -> list[Path]:
    """Monthly ``returns_YYYY-MM.csv`` (UTF-8, ``T``, no offset), ids in time order."""
    returns = returns.sort("returned_at", "order_id", "line_no").with_columns(
        return_id="R" + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(10)
    )
    paths = []
    for (month,), part in returns.group_by(
        pl.col("returned_at").dt.strftime("%Y-%m"), maintain_order=True
    ):
        path = out / f"returns_{month}.csv"
        with written_whole(path) as writing:
            part.select(RETURN_COLUMNS).write_csv(writing, datetime_format=STORE_TS)
        paths.append(path)
    return paths


def write_stock(
    counts: pl.DataFrame, warehouse_ids: pl.Series, sku_ids: pl.Series, out: Path
) -> list[Path]:
    """Monthly ``stock_YYYY-MM.parquet``: the change log of end-of-day counts.

    ``counts`` has ``warehouse`` and ``sku`` (indexes), ``day`` (days since
    1970-01-01) and the three levels, in (day, warehouse, sku) order.
    """
    frame = counts.select(
        warehouse_ids.gather(counts["warehouse"]).alias("warehouse_id"),
        sku_ids.gather(counts["sku"]).alias("sku"),
        pl.from_epoch(counts["day"], time_unit="d").alias("as_of"),
        *(counts[c].cast(pl.Int32) for c in ("on_hand", "reserved", "in_transit")),
    )
    paths = []
    for (month,), part in frame.group_by(pl.col("as_of").dt.strftime("%Y-%m"), maintain_order=True):
        paths.append(write_parquet(part, out / f"stock_{month}.parquet"))
    return paths


def write_manifest(path: Path, manifest: dict[str, Any]) -> Path:
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    with written_whole(path) as part:
        part.write_text(text, encoding="utf-8")
    return path
