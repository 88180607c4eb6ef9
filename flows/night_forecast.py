"""The nightly's forecast: stock-outs censored, the engine warehouse by warehouse, cold starts.

Each forward warehouse is one task (:func:`forecast_warehouse_demand`) mapped by the
night's :class:`~flows.fanout.Fanout`, in this process or on a Dask cluster; the
network's forecast is gathered from them in the warehouses' order
(:func:`forecast_demand`), so it is the same frame either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.fanout import Fanout
from flows.night_inputs import ForecastInputs
from models.network import (
    WarehouseForecast,
    accuracy_rollup,
    forecast_unsold,
    forecast_warehouse,
    gather_forecasts,
    unsold_targets,
    warehouse_totals,
)
from models.params import ForecastParams
from models.selection import Selection
from pipelines.demand_series import censored_days, stockout_spans, warehouse_series


@dataclass(frozen=True)
class DemandForecast:
    """Tonight's forecasts, what to store beside them, and the sales they came from."""

    forecasts: pl.DataFrame
    dispersion: pl.DataFrame
    selections: dict[str, Selection]
    accuracy: pl.DataFrame
    reselected: int
    cold_starts: int
    censored_days: int
    sales: pl.DataFrame  # the demand history read (its last day per series: the last sale)


def forecast_network_demand(
    history: pl.DataFrame,
    positions: pl.DataFrame,
    inputs: ForecastInputs,
    as_of: date,
    params: ForecastParams,
    warehouses: Fanout,
) -> DemandForecast:
    """Forecast every active series: sold in the history window, or stocked."""
    censored = censor_stockouts(history, inputs, as_of)
    if warehouses.on_dask and params.n_jobs != 1:
        # A Dask worker's processes are daemons, which may not start a pool of their own;
        # on a cluster the workers are the pool.
        get_run_logger().info(
            f"on Dask each warehouse fits in one process (n_jobs {params.n_jobs})"
        )
        params = replace(params, n_jobs=1)
    by_warehouse = warehouses.map(
        forecast_warehouse_demand, _warehouse_calls(history, censored, inputs, as_of, params)
    )
    return forecast_demand(
        by_warehouse, history, positions, inputs, as_of, params.horizon, censored.height
    )


@task(cache_policy=NO_CACHE)
def censor_stockouts(history: pl.DataFrame, inputs: ForecastInputs, as_of: date) -> pl.DataFrame:
    """The days each series was out of stock: their zeros are not demand."""
    stockouts = stockout_spans(inputs.stock_counts, inputs.history_start, as_of, inputs.kept_at_dc)
    return censored_days(history, stockouts, as_of)


@task(cache_policy=NO_CACHE)
def forecast_warehouse_demand(
    warehouse: str,
    series: pl.DataFrame,
    as_of: date,
    params: ForecastParams,
    previous: Selection,
    sku_groups: pl.DataFrame,
    totals: pl.DataFrame | None,
) -> WarehouseForecast | None:
    """Forecast one forward warehouse's sold series with its stored model choice."""
    return forecast_warehouse(warehouse, series, as_of, params, previous, sku_groups, totals)


@task(cache_policy=NO_CACHE)
def forecast_demand(
    by_warehouse: list[WarehouseForecast | None],
    history: pl.DataFrame,
    positions: pl.DataFrame,
    inputs: ForecastInputs,
    as_of: date,
    horizon: int,
    censored: int,
) -> DemandForecast:
    """The network's forecast: the warehouses' gathered, plus the stocked series without a
    sale (cold starts and dormant ones)."""
    network = gather_forecasts(by_warehouse, inputs.sku_groups)
    targets, cold = unsold_targets(positions, history, inputs.new_warehouses)
    unsold = forecast_unsold(
        targets, cold, as_of, horizon, (history, inputs.sku_groups, inputs.exposure)
    )
    fresh = _chosen(network.selections).join(
        _chosen(inputs.selections).select("unique_id", "selected_through"),
        on=["unique_id", "selected_through"],
        how="anti",
    )
    return DemandForecast(
        forecasts=pl.concat([network.forecasts, unsold], rechunk=False),  # see gather_forecasts
        dispersion=network.dispersion,
        selections=network.selections,
        accuracy=accuracy_rollup(network.accuracy),
        reselected=fresh.height,
        cold_starts=cold.height,
        censored_days=censored,
        sales=history,
    )


def _warehouse_calls(
    history: pl.DataFrame,
    censored: pl.DataFrame,
    inputs: ForecastInputs,
    as_of: date,
    params: ForecastParams,
) -> Iterator[dict[str, Any]]:
    """:func:`forecast_warehouse_demand`'s arguments, one warehouse's series built at a time."""
    for warehouse, series in warehouse_series(history, censored, as_of):
        yield {
            "warehouse": warehouse,
            "series": series,
            "as_of": as_of,
            "params": params,
            "previous": inputs.selections.get(warehouse, Selection.empty()),
            "sku_groups": inputs.sku_groups,
            "totals": warehouse_totals(inputs.totals, warehouse),
        }


def _chosen(selections: dict[str, Selection]) -> pl.DataFrame:
    return pl.concat([s.models for s in selections.values()] or [Selection.empty().models])
