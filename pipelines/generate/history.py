"""The order history, month by month: draw, mis-fit, replay with stock, settle, write.

Each month is drawn (:mod:`demand`), a few lines become orders of a part that
does not fit the car (:func:`aftersales.mis_fit`), the last days are replayed
against the stock (:mod:`stock_sim`: lines lost to a stock-out are dropped),
then cancellations and returns are decided on the lines that remain
(:func:`aftersales.settle`) and everything is written. One month at a time:
memory stays bounded at the large scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate import writers
from pipelines.generate.aftersales import mis_fit, settle
from pipelines.generate.catalogue import Catalogue
from pipelines.generate.demand import DemandModel
from pipelines.generate.stock_sim import StockSimulation


@dataclass(frozen=True)
class History:
    """What writing the history produced."""

    files: list[Path]
    counts: dict[str, int]
    totals: pl.DataFrame  # wh, sku, qty: sold (not cancelled) over the history


@dataclass(frozen=True)
class Streams:
    """The random streams of the history, one per concern."""

    draw: np.random.Generator
    fates: np.random.Generator
    remarks: np.random.Generator
    fitment: np.random.Generator


def write_history(
    demand: DemandModel,
    catalogue: Catalogue,
    store_warehouse: np.ndarray,
    simulation: StockSimulation,
    ids: writers.Ids,
    out: Path,
    streams: Streams,
) -> History:
    """Write the monthly order-line, update and return files; sum what was sold.

    Parameters
    ----------
    demand, catalogue
        The demand model and the catalogue it draws skus from.
    store_warehouse
        The forward warehouse (index) serving each store.
    simulation
        The stock replay of the last days; it keeps its counts for the caller.
    ids
        Id strings by index.
    out
        The folder written to.
    streams
        The random streams.
    """
    # The history ends where the stock replay does.
    end = date.fromordinal(date(1970, 1, 1).toordinal() + simulation.window.last)
    end_ts = (np.datetime64(end) + 1).astype("datetime64[s]").astype(np.int64) - 1
    files: list[Path] = []
    counts = dict.fromkeys(
        (
            "order_lines_store", "order_lines_online", "order_line_updates", "cancelled_lines",
            "wrong_fit_lines",
        ),
        0,
    )  # fmt: skip
    updates: list[pl.DataFrame] = []
    returns: list[pl.DataFrame] = []
    totals: list[pl.DataFrame] = []
    for month_lines in demand.months(streams.draw):  # one month at a time: bounded memory
        drawn, wrong_fit = mis_fit(month_lines, catalogue, streams.fitment)
        kept = simulation.run_month(drawn, store_warehouse[drawn.store])
        lines, wrong_fit = drawn.take(kept), wrong_fit[kept]
        fate = settle(lines, wrong_fit, int(end_ts), streams.fates)
        month = str(lines.month)
        frame = writers.lines_frame(lines, np.arange(lines.order_no.size), fate.status, ids)
        store_rows = frame.filter(pl.col("channel") == "store")
        online_rows = frame.filter(pl.col("channel") == "online")
        files.append(writers.write_store_csv(store_rows, out / f"order_lines_store_{month}.csv"))
        online_path = out / f"order_lines_online_{month}.csv"
        files.append(writers.write_online_csv(online_rows, online_path, streams.remarks))
        counts["order_lines_store"] += store_rows.height
        counts["order_lines_online"] += online_rows.height
        counts["cancelled_lines"] += int(fate.final_cancelled.sum())
        counts["wrong_fit_lines"] += int(wrong_fit.sum())
        update_status = np.ones(fate.update_idx.size, dtype=np.int8)
        updates.append(
            writers.lines_frame(lines, fate.update_idx, update_status, ids).with_columns(
                _month=pl.from_epoch(pl.Series(fate.update_ts), time_unit="s").dt.strftime("%Y-%m")
            )
        )
        returns.append(
            writers.returns_frame(
                lines, fate.return_idx, fate.return_ts, fate.return_qty, fate.return_reason, ids
            )
        )
        sold = ~fate.final_cancelled
        daily = pl.DataFrame(
            {
                "wh": store_warehouse[lines.store[sold]],
                "sku": lines.sku[sold],
                "qty": lines.quantity[sold].astype(np.int64),
            }
        )
        totals.append(daily.group_by("wh", "sku").agg(pl.col("qty").sum()))

    all_updates = pl.concat(updates).sort("_month", "order_id", "line_no")
    for (month,), part in all_updates.group_by("_month", maintain_order=True):
        files.append(writers.write_updates_csv(part, out / f"order_lines_updates_{month}.csv"))
    counts["order_line_updates"] = all_updates.height
    all_returns = pl.concat(returns)
    files.extend(writers.write_returns(all_returns, out))
    counts["returns"] = all_returns.height
    counts["lost_lines"] = simulation.lost
    total = pl.concat(totals).group_by("wh", "sku").agg(pl.col("qty").sum()).sort("wh", "sku")
    return History(files=files, counts=counts, totals=total)
