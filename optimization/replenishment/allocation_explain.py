"""Why an allocation line got what it got: ``cut_by`` and ``decision`` in words.

A line is cut by the capacity that had no room for one more of its packs (DC
stock, the shelf, the budget; ``value`` when every capacity had room and other
lines simply served more expected units), and a line cut for DC stock names the
warehouses the contested stock went to.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from optimization.replenishment.allocation_segments import EPS


def explain_cuts(
    lines: pl.DataFrame, dc_stock: pl.DataFrame, free: pl.DataFrame, budget: float | None
) -> pl.DataFrame:
    """``cut_by`` and ``decision``: which capacity had no room for one more pack of a cut line."""
    lines = lines.with_columns(
        units=pl.col("allocated_quantity"),
        litres=pl.col("allocated_quantity") * pl.col("unit_volume_l"),
        money=pl.col("allocated_quantity") * pl.col("unit_cost"),
    ).with_columns(
        dc_left=pl.col("available") - pl.col("units").sum().over("sku"),
        shelf_left=pl.col("free_l") - pl.col("litres").sum().over("warehouse_id"),
        # One more pack, or the whole MOQ block for a line that got nothing.
        step=pl.when(pl.col("allocated_quantity") > 0)
        .then(pl.col("pack_size"))
        .otherwise(
            pl.max_horizontal((pl.col("moq") + pl.col("pack_size") - 1) // pl.col("pack_size"), 1)
            * pl.col("pack_size")
        ),
    )
    budget_left = (budget if budget is not None else np.inf) - float(lines["money"].sum())
    cut = pl.col("allocated_quantity") < pl.col("proposed_quantity")
    reasons = pl.concat_list(
        pl.when(pl.col("dc_left") < pl.col("step")).then(pl.lit("dc_stock")),
        pl.when(pl.col("shelf_left") < pl.col("step") * pl.col("unit_volume_l") - EPS).then(
            pl.lit("shelf")
        ),
        pl.when(pl.lit(budget_left) < pl.col("step") * pl.col("unit_cost") - EPS).then(
            pl.lit("budget")
        ),
    ).list.drop_nulls()
    lines = lines.with_columns(
        cut_by=pl.when(~cut)
        .then(pl.lit("none"))
        .when(reasons.list.len() > 0)
        .then(reasons.list.join("+"))
        .otherwise(pl.lit("value"))
    )
    money_note = "" if budget is None else f"; budget {budget:.2f}, {budget_left:.2f} left"
    shelf = (
        pl.when(pl.col("free_l").is_infinite())
        .then(pl.format("no shelf limit at {}", "warehouse_id"))
        .otherwise(
            pl.format(
                "shelf {} l free at {} for {} l proposed",
                # (inf rows take the other branch, but both are evaluated)
                pl.when(pl.col("free_l").is_finite())
                .then(pl.col("free_l"))
                .round(0)
                .cast(pl.Int64),
                "warehouse_id",
                pl.col("line_volume").sum().over("warehouse_id").round(0).cast(pl.Int64),
            )
        )
    )
    detail = pl.format(
        "DC stock {} for {} proposed of this sku; {}{}",
        "available",
        pl.col("proposed_quantity").sum().over("sku"),
        shelf,
        pl.lit(money_note),
    )
    # For a cut line, where the SKU's contested stock went tonight (the biggest first).
    receivers = (
        lines.filter(pl.col("allocated_quantity") > 0)
        .sort("allocated_quantity", "warehouse_id", descending=[True, False])
        .group_by("sku", maintain_order=True)
        .agg(
            receivers=pl.format("{} ({})", "warehouse_id", "allocated_quantity")
            .head(5)
            .str.join(", "),
            n_receivers=pl.len(),
        )
    )
    lines = lines.join(receivers, on="sku", how="left")
    went_to = (
        pl.when(pl.col("receivers").is_null())
        .then(pl.lit("; no warehouse got any of it"))
        .when(pl.col("n_receivers") > 5)
        .then(pl.format("; it went to {} and {} more", "receivers", pl.col("n_receivers") - 5))
        .otherwise(pl.format("; it went to {}", "receivers"))
    )
    decision = (
        pl.when(~cut)
        .then(pl.format("allocated {} as proposed", "allocated_quantity"))
        .when(pl.col("cut_by") == "value")
        .then(
            pl.format(
                "allocated {} of {}: other lines serve more expected units{}",
                "allocated_quantity",
                "proposed_quantity",
                went_to,
            )
        )
        .otherwise(
            pl.format(
                "allocated {} of {}, cut by {} ({}){}",
                "allocated_quantity",
                "proposed_quantity",
                pl.col("cut_by").str.replace_all("_", " ").str.replace_all(r"\+", " and "),
                detail,
                pl.when(pl.col("cut_by").str.contains("dc_stock"))
                .then(went_to)
                .otherwise(pl.lit("")),
            )
        )
    )
    return lines.with_columns(decision=decision).drop("receivers", "n_receivers")
