"""Cold start: a forecast for a (warehouse, sku) with little or no history, from related series.

Frames
------
``demand`` (``COLD_DEMAND``): per-period demand of the series that do have
history, ``warehouse_id, sku, ds, y`` (dense or sparse; the rate is the sum
over ``periods`` periods divided by ``periods``).
``skus`` (``SKU_GROUPS``): ``sku, category, part_type`` for every sku involved.
``exposure`` (``EXPOSURE``): ``warehouse_id, part_type, exposure`` — how much
of the warehouse's market a part type addresses, e.g. the vehicles its stores
serve that a sku of that part type fits (see :func:`fitment_exposure`).
``targets``: ``warehouse_id, sku`` of the series to cold-start.

Rule
----
Demand per unit of exposure is estimated from peers, most specific first:
1. the same sku at other warehouses: ``Σ demand / Σ exposure`` of its part type there;
2. the same part type (other skus, all warehouses): demand of one sku per
   unit of exposure, pooled over (warehouse, sku) series;
3. the same category, likewise, per unit of the category's exposure (the sum
   of its part types' exposures).
The target's mean is that rate × its own exposure (warehouse factor). The
dispersion is the pooled variance-to-mean ratio of the peers' demand.
"""

from __future__ import annotations

import polars as pl

COLD_DEMAND = pl.Schema(
    {"warehouse_id": pl.String, "sku": pl.String, "ds": pl.Date, "y": pl.Float64}
)
SKU_GROUPS = pl.Schema({"sku": pl.String, "category": pl.String, "part_type": pl.String})
EXPOSURE = pl.Schema({"warehouse_id": pl.String, "part_type": pl.String, "exposure": pl.Float64})

#: One row per target: the per-period mean, its dispersion and which peers it came from.
COLD_START = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "mean": pl.Float64,
        "dispersion": pl.Float64,
        "source": pl.String,
    }
)


def cold_start_rates(
    targets: pl.DataFrame,
    demand: pl.DataFrame,
    skus: pl.DataFrame,
    exposure: pl.DataFrame,
    periods: int,
) -> pl.DataFrame:
    """Per-period mean demand for each target from related series (see the module rule).

    Parameters
    ----------
    targets
        ``warehouse_id, sku`` to forecast.
    demand
        ``COLD_DEMAND`` of the last ``periods`` periods of the peers.
    skus
        ``SKU_GROUPS``.
    exposure
        ``EXPOSURE``; a missing (warehouse, part type) has exposure 0.
    periods
        Length of the demand window in periods (> 0).

    Returns
    -------
    pl.DataFrame
        ``COLD_START``; ``source`` is ``sku``, ``part_type``, ``category`` or
        ``none`` (mean 0) for a target with no related demand.
    """
    if periods < 1:
        raise ValueError(f"periods must be at least 1, got {periods}")
    exposure = exposure.cast(EXPOSURE)
    totals = (
        demand.cast(COLD_DEMAND)
        .group_by("warehouse_id", "sku")
        .agg(total=pl.col("y").sum(), sq=(pl.col("y") ** 2).sum(), n=pl.len())
        .join(skus.cast(SKU_GROUPS), on="sku", how="left")
        .join(exposure, on=["warehouse_id", "part_type"], how="left")
        .with_columns(pl.col("exposure").fill_null(0.0))
    )
    # Pooled dispersion of the peers (variance / mean of per-period demand, at least 1).
    count = max(float(totals["n"].sum()), 1.0)
    mean = float(totals["total"].sum()) / count
    var = float(totals["sq"].sum()) / count - mean**2
    dispersion = max(1.0, var / mean) if mean > 0 else 1.0

    rate_sku = totals.group_by("sku").agg(
        rate_sku=pl.col("total").sum() / pl.col("exposure").sum() / periods
    )
    # Pooled over (warehouse, sku) rows: demand of one sku per unit of exposure.
    rate_type = totals.group_by("part_type").agg(
        rate_type=pl.col("total").sum() / pl.col("exposure").sum() / periods
    )
    cat_exposure = (
        exposure.join(
            skus.cast(SKU_GROUPS).select("part_type", "category").unique(), on="part_type"
        )
        .group_by("warehouse_id", "category")
        .agg(cat_exposure=pl.col("exposure").sum())
    )
    rate_cat = (
        totals.join(cat_exposure, on=["warehouse_id", "category"], how="left")
        .group_by("category")
        .agg(rate_cat=pl.col("total").sum() / pl.col("cat_exposure").sum() / periods)
    )
    finite = pl.col("rate").is_finite() & pl.col("rate").is_not_null()
    out = (
        targets.select("warehouse_id", "sku")
        .join(skus.cast(SKU_GROUPS), on="sku", how="left")
        .join(exposure, on=["warehouse_id", "part_type"], how="left")
        .join(cat_exposure, on=["warehouse_id", "category"], how="left")
        .join(rate_sku, on="sku", how="left")
        .join(rate_type, on="part_type", how="left")
        .join(rate_cat, on="category", how="left")
    )
    parts: list[pl.DataFrame] = []
    remaining = out
    for source, rate_col, exposure_col in (
        ("sku", "rate_sku", "exposure"),
        ("part_type", "rate_type", "exposure"),
        ("category", "rate_cat", "cat_exposure"),
    ):
        scored = remaining.with_columns(rate=pl.col(rate_col))
        hit = scored.filter(finite)
        parts.append(
            hit.select(
                "warehouse_id",
                "sku",
                mean=pl.col("rate") * pl.col(exposure_col).fill_null(0.0),
                source=pl.lit(source),
            )
        )
        remaining = scored.filter(~finite).drop("rate")
    parts.append(remaining.select("warehouse_id", "sku", mean=pl.lit(0.0), source=pl.lit("none")))
    return (
        pl.concat(parts)
        .with_columns(dispersion=pl.lit(dispersion))
        .select(COLD_START.names())
        .cast(COLD_START)
        .sort("warehouse_id", "sku")
    )


def fitment_exposure(
    store_vehicles: pl.DataFrame, stores: pl.DataFrame, fitment: pl.DataFrame, skus: pl.DataFrame
) -> pl.DataFrame:
    """Exposure per (warehouse, part type): vehicles its stores serve that the part type fits.

    Parameters
    ----------
    store_vehicles
        ``store_id, vehicle_model_id, vehicles`` (one month, e.g. the latest).
    stores
        ``store_id, warehouse_id``.
    fitment
        ``sku, vehicle_model_id`` (one row per fit; positions collapsed).
    skus
        ``SKU_GROUPS``.

    Returns
    -------
    pl.DataFrame
        ``EXPOSURE``: a vehicle model counts once per part type it has any fitting sku of.
    """
    fits = (
        fitment.select("sku", "vehicle_model_id")
        .join(skus.select("sku", "part_type"), on="sku")
        .select("part_type", "vehicle_model_id")
        .unique()
    )
    return (
        store_vehicles.select("store_id", "vehicle_model_id", "vehicles")
        .join(stores.select("store_id", "warehouse_id"), on="store_id")
        .join(fits, on="vehicle_model_id")
        .group_by("warehouse_id", "part_type")
        .agg(exposure=pl.col("vehicles").sum().cast(pl.Float64))
        .cast(EXPOSURE)
        .sort("warehouse_id", "part_type")
    )
