"""Forecasting the whole network: the engine warehouse by warehouse, plus cold starts.

Pure: the nightly flow passes frames in (one warehouse's series at a time,
the stored selection, the sku groups, the cold-start inputs) and writes what
comes out. Two kinds of active series:

* series with sales in the history window go through the engine
  (:func:`models.engine.forecast_chunks`), reusing the stored model choice
  and re-selecting only new or stale series (the weekly refresh);
* series with stock on hand but no sale in the window have nothing to fit.
  At a warehouse opened recently, or for a sku no warehouse has sold yet, they
  are **cold starts**: the mean comes from related series
  (:func:`models.coldstart.cold_start_rates`: the same sku elsewhere, else the
  part type, else the category, scaled by the warehouse's fitment exposure),
  class ``new``. Otherwise the part simply has not sold here in a year: class
  ``dormant``, mean 0 (replenishment proposes none; dead stock is for
  pull-back).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl

from models.coldstart import cold_start_rates
from models.distributions import count_quantiles
from models.engine import forecast_chunks
from models.metrics import aggregate_metrics
from models.params import ForecastParams
from models.schemas import NETWORK_FORECAST, QUANTILE_LEVELS, series_id, split_series_id
from models.selection import Selection
from models.series import horizon_dates

COLD_START_MODEL = "ColdStart"
DORMANT_MODEL = "Dormant"


@dataclass(frozen=True)
class NetworkForecast:
    """The network's forecasts, the choice to keep for tomorrow and the backtest accuracy."""

    forecasts: pl.DataFrame  # NETWORK_FORECAST
    selections: dict[str, Selection]  # per forward warehouse
    accuracy: pl.DataFrame  # per series: unique_id, warehouse_id, sku, class, category, metrics
    dispersion: pl.DataFrame  # SERIES_DISPERSION: each series' NB1 dispersion for stocking


#: Per series, the NB1 dispersion index (variance / mean of daily demand) the stocking
#: policy uses: the engine's ``stock_dispersion`` (see ``models.engine.ForecastParams``).
SERIES_DISPERSION = pl.Schema(
    {"warehouse_id": pl.String, "sku": pl.String, "dispersion": pl.Float64}
)


def forecast_network(
    chunks: Iterable[tuple[str, pl.DataFrame]],
    as_of: date,
    params: ForecastParams,
    previous: Mapping[str, Selection],
    sku_groups: pl.DataFrame,
    totals: pl.DataFrame | None = None,
) -> NetworkForecast:
    """Run the engine over per-warehouse chunks of ``SERIES`` ending on ``as_of``.

    One warehouse after the other (:func:`forecast_warehouse`), gathered by
    :func:`gather_forecasts`; ``chunks`` is consumed lazily, so only one
    warehouse's series are held at a time.

    Parameters
    ----------
    chunks
        ``(warehouse_id, series)`` pairs, one per forward warehouse.
    as_of
        The last day of every series.
    params
        Engine parameters (daily, with the levels of ``QUANTILE_LEVELS``).
    previous
        The stored model choice per warehouse (missing: choose from scratch).
        Each warehouse is one engine chunk with its own calibration.
    sku_groups
        ``sku, category, part_type``: the category is a series' peer group.
    totals
        ``warehouse_id`` plus ``models.seasonal.AGGREGATE``: daily demand per
        warehouse and category over a longer history, for the group seasonal
        indices (default: each warehouse's series' own totals).

    Returns
    -------
    NetworkForecast
        Forecasts of every series in ``chunks`` and tonight's choice per
        warehouse (series no longer active drop out of it).
    """
    return gather_forecasts(
        (
            forecast_warehouse(
                warehouse,
                chunk,
                as_of,
                params,
                previous.get(warehouse, Selection.empty()),
                sku_groups,
                warehouse_totals(totals, warehouse),
            )
            for warehouse, chunk in chunks
        ),
        sku_groups,
    )


@dataclass(frozen=True)
class WarehouseForecast:
    """One forward warehouse's share of :class:`NetworkForecast`, before gathering.

    Only what the night keeps: the engine's intermediate frames stay in
    :func:`forecast_warehouse` (on a scale-out worker, in the worker).
    """

    warehouse_id: str
    forecasts: pl.DataFrame  # NETWORK_FORECAST
    selection: Selection
    backtest: pl.DataFrame  # the engine's per-series backtest of the series it selected
    dispersion: pl.DataFrame  # SERIES_DISPERSION


def forecast_warehouse(
    warehouse: str,
    series: pl.DataFrame,
    as_of: date,
    params: ForecastParams,
    previous: Selection,
    sku_groups: pl.DataFrame,
    totals: pl.DataFrame | None = None,
) -> WarehouseForecast | None:
    """Run the engine on one forward warehouse's ``SERIES`` ending on ``as_of``.

    Warehouses are independent: each is one engine chunk with its own model
    choice and calibration, so they can run in any order or place and be
    gathered by :func:`gather_forecasts` in the order of the warehouses.

    Parameters
    ----------
    warehouse
        The forward warehouse.
    series
        Its demand series (``SERIES``).
    as_of, params, sku_groups
        As for :func:`forecast_network`.
    previous
        The warehouse's stored model choice (``Selection.empty()``: none).
    totals
        The warehouse's ``models.seasonal.AGGREGATE`` (:func:`warehouse_totals`;
        ``None``: its series' own totals).

    Returns
    -------
    WarehouseForecast | None
        ``None`` when ``series`` is empty (nothing to forecast, no choice to keep).
    """
    if any(level not in params.levels for level in QUANTILE_LEVELS):
        raise ValueError(f"network forecasts need the levels {QUANTILE_LEVELS}")
    groups = (
        split_series_id(series.select("unique_id").unique())
        .join(sku_groups.select("sku", group="category"), on="sku", how="left")
        .select("unique_id", "group")
    )
    result = next(
        forecast_chunks([series], params, previous, groups, end=as_of, totals=totals), None
    )
    if result is None:
        return None
    spread = split_series_id(result.series.select("unique_id", dispersion="stock_dispersion"))
    return WarehouseForecast(
        warehouse_id=warehouse,
        forecasts=_owned(
            split_series_id(result.forecasts)
            .select(NETWORK_FORECAST.names())
            .cast(NETWORK_FORECAST)
        ),
        selection=Selection(_owned(result.selection.models), _owned(result.selection.calibration)),
        backtest=_owned(result.backtest),
        dispersion=_owned(spread.select(SERIES_DISPERSION.names()).cast(SERIES_DISPERSION)),
    )


def _owned(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` copied into memory of its own, for the frames the night keeps.

    A string column filtered, joined or gathered out of a larger frame still points
    into that frame's character buffers (polars' string views) and keeps them all
    alive; ``estimated_size`` does not count them. Kept for the whole night, each
    warehouse's results held on to the engine's working frames: on the medium
    network's first night 0.38 GiB for 0.09 GiB of results. An Arrow IPC round trip
    writes only the characters used (``rechunk`` and ``shrink_to_fit`` keep the views).
    """
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    buffer.seek(0)
    return pl.read_ipc(buffer)


def warehouse_totals(totals: pl.DataFrame | None, warehouse: str) -> pl.DataFrame | None:
    """One warehouse's rows of :func:`forecast_network`'s ``totals``, without ``warehouse_id``."""
    if totals is None:
        return None
    return totals.filter(pl.col("warehouse_id") == warehouse).drop("warehouse_id")


def gather_forecasts(
    parts: Iterable[WarehouseForecast | None], sku_groups: pl.DataFrame
) -> NetworkForecast:
    """The network's forecast from its warehouses' (``None``: a warehouse without series).

    The result follows the order of ``parts``: gathered in the order of the
    warehouses, it is the same wherever each warehouse was forecast.
    """
    forecasts: list[pl.DataFrame] = []
    accuracy: list[pl.DataFrame] = []
    selections: dict[str, Selection] = {}
    dispersion: list[pl.DataFrame] = []
    for part in parts:
        if part is None:
            continue
        forecasts.append(part.forecasts)
        selections[part.warehouse_id] = part.selection
        dispersion.append(part.dispersion)
        if not part.backtest.is_empty():
            accuracy.append(part.backtest)
    per_series = (
        split_series_id(pl.concat(accuracy, how="diagonal_relaxed")).join(
            sku_groups.select("sku", "category"), on="sku", how="left"
        )
        if accuracy
        else pl.DataFrame()
    )
    # Not rechunked: the network's frame keeps the warehouses' chunks instead of copying
    # them (~19 M rows, 1.7 GiB on the large network, copied while the parts were alive).
    out = pl.concat(forecasts, rechunk=False) if forecasts else NETWORK_FORECAST.to_frame()
    spread = pl.concat(dispersion) if dispersion else SERIES_DISPERSION.to_frame()
    return NetworkForecast(out, selections, per_series, spread)


def unsold_targets(
    positions: pl.DataFrame, sales: pl.DataFrame, new_warehouses: Iterable[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stocked series without a sale in the window, and which of them are cold starts.

    Cold starts: at a warehouse in ``new_warehouses``, or a sku no warehouse
    has sold in the window. Returns ``(targets, cold)``, both ``warehouse_id, sku``.
    """
    keys = ["warehouse_id", "sku"]
    targets = (
        positions.filter(pl.col("on_hand") > 0)
        .select(keys)
        .join(sales.select(keys).unique(), on=keys, how="anti")
        .sort(keys)
    )
    sold_skus = sales.select("sku").unique()
    cold = targets.filter(
        pl.col("warehouse_id").is_in(list(new_warehouses))
        | ~pl.col("sku").is_in(sold_skus["sku"].implode())
    )
    return targets, cold


def forecast_unsold(
    targets: pl.DataFrame,
    cold: pl.DataFrame,
    as_of: date,
    horizon: int,
    cold_start_inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> pl.DataFrame:
    """Forecasts for stocked series without sales: cold starts and dormant ones.

    Parameters
    ----------
    targets
        ``warehouse_id, sku`` of stocked series with no sale in the window.
    cold
        The subset of ``targets`` that are cold starts (see the module rule).
    as_of
        The last day of history.
    horizon
        Days to forecast.
    cold_start_inputs
        ``(demand, skus, exposure)`` for :func:`models.coldstart.cold_start_rates`
        (``demand`` daily over the window; its span is the number of days).

    Returns
    -------
    pl.DataFrame
        ``NETWORK_FORECAST`` rows for every target.
    """
    demand, skus, exposure = cold_start_inputs
    days = horizon_dates(as_of, horizon, "D").to_frame()
    dormant = targets.join(cold, on=["warehouse_id", "sku"], how="anti").with_columns(
        mean=pl.lit(0.0),
        dispersion=pl.lit(1.0),
        model=pl.lit(DORMANT_MODEL),
        **{"class": pl.lit("dormant")},
    )
    first = demand["ds"].min()
    periods = (as_of - first).days + 1 if isinstance(first, date) else 1
    started = (
        cold_start_rates(cold.select("warehouse_id", "sku"), demand, skus, exposure, periods)
        .with_columns(
            model=pl.format("{}:{}", pl.lit(COLD_START_MODEL), pl.col("source")),
            **{"class": pl.lit("new")},
        )
        .drop("source")
        if cold.height
        else dormant.clear()
    )
    rows = pl.concat([dormant, started], how="diagonal_relaxed")
    quantiles = count_quantiles(
        rows["mean"].to_numpy(), rows["dispersion"].to_numpy(), QUANTILE_LEVELS
    )
    rows = rows.with_columns(
        **{f"q{level}": quantiles[:, i] for i, level in enumerate(QUANTILE_LEVELS)}
    )
    return (
        rows.join(days, how="cross")
        .with_columns(series_id(pl.col("warehouse_id"), pl.col("sku")))
        .select(NETWORK_FORECAST.names())
        .cast(NETWORK_FORECAST)
    )


def accuracy_rollup(per_series: pl.DataFrame) -> pl.DataFrame:
    """Per-series backtest accuracy → rows by series, warehouse, category, class and network.

    Returns ``scope, key, series`` and the metric columns (see ``warehouse.forecasting.ACCURACY``).
    """
    if per_series.is_empty():
        return pl.DataFrame()
    series_rows = per_series.select(
        scope=pl.lit("series"),
        key=pl.col("unique_id"),
        series=pl.lit(1, dtype=pl.Int64),
        **{c: pl.col(c) for c in _metric_columns(per_series)},
    )
    parts = [series_rows]
    for scope, column in (
        ("warehouse", "warehouse_id"),
        ("category", "category"),
        ("class", "class"),
    ):
        agg = aggregate_metrics(per_series.with_columns(pl.col(column).fill_null("?")), [column])
        parts.append(
            agg.select(
                scope=pl.lit(scope),
                key=pl.col(column),
                series=pl.col("series").cast(pl.Int64),
                **{c: pl.col(c) for c in _metric_columns(agg)},
            )
        )
    overall = aggregate_metrics(per_series)
    parts.append(
        overall.select(
            scope=pl.lit("network"),
            key=pl.lit("all"),
            series=pl.col("series").cast(pl.Int64),
            **{c: pl.col(c) for c in _metric_columns(overall)},
        )
    )
    return pl.concat(parts, how="diagonal_relaxed")


def _metric_columns(frame: pl.DataFrame) -> list[str]:
    wanted = ["mase", "rmsse", "wape", "bias", "spl"]
    wanted += [f"coverage_q{level}" for level in QUANTILE_LEVELS]
    return [c for c in wanted if c in frame.columns]
