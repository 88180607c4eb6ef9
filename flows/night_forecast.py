"""The nightly's forecast: stock-outs censored, the engine warehouse by warehouse, cold starts.

Each forward warehouse is one task (:func:`forecast_warehouse_demand`) mapped by the
night's :class:`~flows.fanout.Fanout`, in this process or on a Dask cluster; the
network's forecast is gathered from them in the warehouses' order
(:func:`forecast_demand`), so it is the same frame either way.

Each warehouse's forecast rows go to the night's spill folder as they arrive, and
the night keeps only the columns it reads (:data:`FORECAST_READ`): on the large
network the whole rows are 1.7 GiB, and holding them until the last warehouse came
back was the night's peak (issue 15, item 8; docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.fanout import Fanout
from flows.night_inputs import ForecastInputs
from flows.spill import Spill
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

#: The forecast columns the night reads after the forecast step (the planning, the
#: DC's demand, the summary): the others (12 in all, 1.7 GiB on the large network)
#: are only saved, from the spill folder.
FORECAST_READ = ("warehouse_id", "sku", "ds", "mean", "class")
#: The spill's name for the forecast rows: one part per warehouse, then the unsold.
FORECAST_ROWS = "forecasts"


@dataclass(frozen=True)
class DemandForecast:
    """Tonight's forecasts, what to store beside them, and the sales they came from.

    ``forecasts`` has the columns :data:`FORECAST_READ`; the whole rows
    (``models.schemas.NETWORK_FORECAST``) are the Parquet parts in the folder ``rows``.
    """

    forecasts: pl.DataFrame
    dispersion: pl.DataFrame
    selections: dict[str, Selection]
    accuracy: pl.DataFrame
    reselected: int
    cold_starts: int
    censored_days: int
    sales: pl.DataFrame  # the demand history read (its last day per series: the last sale)
    rows: Path


def forecast_network_demand(
    history: pl.DataFrame,
    positions: pl.DataFrame,
    inputs: ForecastInputs,
    as_of: date,
    params: ForecastParams,
    night: tuple[Fanout, Spill],
) -> DemandForecast:
    """Forecast every active series: sold in the history window, or stocked.

    ``night``: where the per-warehouse tasks run, and where the whole rows go.
    """
    warehouses, spill = night
    censored = censor_stockouts(history, inputs, as_of)
    if warehouses.on_dask and params.n_jobs != 1:
        # A Dask worker's processes are daemons, which may not start a pool of their own;
        # on a cluster the workers are the pool.
        get_run_logger().info(
            f"on Dask each warehouse fits in one process (n_jobs {params.n_jobs})"
        )
        params = replace(params, n_jobs=1)

    def kept(index: int, part: WarehouseForecast | None) -> WarehouseForecast | None:
        if part is None:
            return None
        spill.put_part(FORECAST_ROWS, f"{index:05d}", part.forecasts)
        return replace(part, forecasts=part.forecasts.select(FORECAST_READ))

    by_warehouse = warehouses.map(
        forecast_warehouse_demand,
        _warehouse_calls(history, censored, inputs, as_of, params),
        keep=kept,
    )
    return forecast_demand(
        by_warehouse, history, positions, inputs, as_of, (params.horizon, censored.height), spill
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
    horizon_censored: tuple[int, int],
    spill: Spill,
) -> DemandForecast:
    """The network's forecast: the warehouses' gathered, plus the stocked series without a
    sale (cold starts and dormant ones), whose whole rows join the warehouses' in ``spill``.

    ``horizon_censored``: the horizon in days, and how many stock-out days were censored.
    """
    horizon, censored = horizon_censored
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
    rows = spill.put_part(FORECAST_ROWS, "unsold", unsold)  # after the warehouses' keys
    return DemandForecast(
        forecasts=pl.concat(  # not rechunked: see gather_forecasts
            [network.forecasts.select(FORECAST_READ), unsold.select(FORECAST_READ)],
            rechunk=False,
        ),
        dispersion=network.dispersion,
        selections=network.selections,
        accuracy=accuracy_rollup(network.accuracy),
        reselected=fresh.height,
        cold_starts=cold.height,
        censored_days=censored,
        sales=history,
        rows=rows,
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
