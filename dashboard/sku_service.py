"""The SKU × warehouse drill-down's service side: one series as the night saw it.

The figures are those of ``GET /v1/warehouses/{warehouse_id}/series/{sku}``
(:mod:`api.routes.plan`): :func:`warehouse.published.series` over the
published snapshot (demand history, stock counts, forecast quantiles, class
and model, backtest accuracy, the plan line, the transfer-order lines), the
SKU's master row from :func:`warehouse.published.skus`, and each transfer
line's live status and quantity from the operational store
(:func:`ops.workflow.get_order`: a planner may have overridden or released it
since the night published).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from dashboard.context import Snapshot
from ops import reading
from ops import workflow as store
from warehouse import published

#: Days a series started with nothing on the shelf, as spans.
STOCKOUT_SPANS = pl.Schema({"from_day": pl.Date, "to_day": pl.Date})

#: The most SKUs the picker offers for one search.
SUGGESTIONS = 20


@dataclass(frozen=True)
class Drilldown:
    """One series with what the page shows beside it.

    ``item`` is the SKU's master row (name, category, brand, unit cost ...);
    ``stockouts`` are ``STOCKOUT_SPANS`` within the history window;
    ``transfers`` are ``warehouse.published.SERIES_TRANSFERS`` with ``status``
    and ``quantity`` as they stand in the store now.
    """

    series: published.Series
    item: dict[str, Any]
    as_of: date
    history_start: date
    stockouts: pl.DataFrame
    transfers: pl.DataFrame

    @property
    def plan(self) -> dict[str, Any] | None:
        """The plan line (position, S, reason, ...), or None when the night did not plan it."""
        rows = self.series.plan.to_dicts()
        return rows[0] if rows else None

    @property
    def backtest(self) -> dict[str, Any] | None:
        """The series' backtest accuracy row, or None."""
        rows = self.series.accuracy.to_dicts()
        return rows[0] if rows else None

    @property
    def stockout_days(self) -> int:
        """Days in the history window that started with nothing on the shelf."""
        spans = self.stockouts
        if spans.is_empty():
            return 0
        return int(((spans["to_day"] - spans["from_day"]).dt.total_days() + 1).sum())


def drilldown(snap: Snapshot, engine: Engine, warehouse_id: str, sku: str) -> Drilldown | None:
    """The series ``warehouse_id`` × ``sku``, or None when the snapshot does not know it."""
    found = published.series(snap, warehouse_id, sku)
    if found is None:
        return None
    items = published.skus(snap, [sku]).to_dicts()
    run = published.published_run(snap)
    plan = found.plan.to_dicts()
    kept_at_dc = bool(plan) and plan[0]["action"] == "do_not_stock"
    return Drilldown(
        series=found,
        item=items[0] if items else {"sku": sku},
        as_of=run.as_of,
        history_start=run.history_start,
        stockouts=STOCKOUT_SPANS.to_frame()
        if kept_at_dc
        else stockout_spans(found.stock_counts, run.history_start, run.as_of),
        transfers=live_transfers(engine, found.transfers, sku),
    )


def stockout_spans(counts: pl.DataFrame, start: date, as_of: date) -> pl.DataFrame:
    """Spans of days in ``start .. as_of`` that started with nothing available.

    The nightly's rule (``pipelines.demand_series.stockout_spans``, which the
    dashboard may not import: a test keeps the two equal): a count is taken at
    the end of its day; when nothing is available after it and nothing is in
    transit, the days up to the one before the next count (or ``as_of``) start
    empty.

    Parameters
    ----------
    counts
        ``warehouse.published.SERIES_STOCK_COUNTS`` of one series.
    start, as_of
        The history window.

    Returns
    -------
    pl.DataFrame
        ``STOCKOUT_SPANS``, by first day.
    """
    day = timedelta(days=1)
    return (
        counts.filter(pl.col("as_of") <= as_of)
        .sort("as_of")
        .with_columns(next_count=pl.col("as_of").shift(-1))
        .filter((pl.col("available") <= 0) & (pl.col("in_transit") == 0))
        .select(
            from_day=pl.max_horizontal(pl.col("as_of") + day, pl.lit(start)),
            to_day=pl.coalesce(pl.col("next_count") - day, pl.lit(as_of)),
        )
        .filter(pl.col("to_day") >= pl.col("from_day"))
        .sort("from_day")
        .cast(STOCKOUT_SPANS)
    )


def live_transfers(engine: Engine, transfers: pl.DataFrame, sku: str) -> pl.DataFrame:
    """The series' transfer lines with each order's status and the line's quantity as they
    stand in the store (an order the store no longer has keeps the snapshot's)."""
    if transfers.is_empty():
        return transfers
    status: dict[str, str] = {}
    quantity: dict[str, int] = {}
    with reading(engine) as conn:
        for transfer_id in transfers["transfer_id"].unique().to_list():
            try:
                order = store.get_order(conn, "transfer", transfer_id)
            except store.UnknownOrderError:
                continue
            status[transfer_id] = order.status
            for line in order.lines:
                if line["sku"] == sku:
                    quantity[transfer_id] = int(line["quantity"])
    return transfers.with_columns(
        status=pl.col("transfer_id").replace_strict(status, default=pl.col("status")),
        quantity=pl.col("transfer_id")
        .replace_strict(quantity, default=pl.col("quantity"), return_dtype=pl.Int64)
        .cast(pl.Int64),
    )


def suggest(snap: Snapshot, text: str | None) -> list[dict[str, str]]:
    """Up to :data:`SUGGESTIONS` SKUs whose id or name contains ``text``, as options."""
    needle = (text or "").strip().lower()
    if not needle:
        return []
    catalogue = published.skus(snap).select("sku", "name", "category")
    hits = catalogue.filter(
        pl.col("sku").str.to_lowercase().str.contains(needle, literal=True)
        | pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
    ).head(SUGGESTIONS)
    return [
        {"label": f"{row['sku']} · {row['name']} ({row['category']})", "value": row["sku"]}
        for row in hits.iter_rows(named=True)
    ]
