"""The service target in force per SKU: its own row, else its category's, else the default."""

from __future__ import annotations

import polars as pl

from optimization.replenishment.service import ServiceTarget

#: Planner targets: ``scope`` is ``sku`` or ``category``; a SKU row beats its category's.
#: ``kind`` is one of :data:`optimization.replenishment.service.TARGET_KINDS`.
SERVICE_TARGETS = pl.Schema(
    {"scope": pl.String, "key": pl.String, "kind": pl.String, "level": pl.Float64}
)


def resolve_targets(
    skus: pl.DataFrame, targets: pl.DataFrame | None, default: ServiceTarget
) -> pl.DataFrame:
    """Per SKU the target in force: its own row, else its category's, else ``default``.

    Parameters
    ----------
    skus
        ``sku, category`` (e.g. ``SKU_POLICY``).
    targets
        ``SERVICE_TARGETS`` or ``None``.
    default
        The target of SKUs without a row.

    Returns
    -------
    pl.DataFrame
        ``sku, target_kind, target_level, target_scope``; the scope is the
        row's (``sku`` or ``category``) or ``default``.

    Raises
    ------
    ValueError
        For an unknown scope or kind, a level outside (0, 1), or two rows for
        the same (scope, key).
    """
    frame = skus.select("sku", pl.col("category").fill_null(""))
    if targets is None or targets.is_empty():
        return frame.select(
            "sku",
            target_kind=pl.lit(default.kind),
            target_level=pl.lit(default.level),
            target_scope=pl.lit("default"),
        )
    for row in targets.iter_rows(named=True):
        if row["scope"] not in ("sku", "category"):
            raise ValueError(f"target scope must be 'sku' or 'category', got {row['scope']!r}")
        ServiceTarget(row["kind"], row["level"])  # validates kind and level
    duplicated = targets.filter(pl.struct("scope", "key").is_duplicated())
    if not duplicated.is_empty():
        raise ValueError(f"two targets for {duplicated.row(0)[:2]}")
    by_sku = targets.filter(pl.col("scope") == "sku").select(
        sku="key", kind_sku="kind", level_sku="level"
    )
    by_cat = targets.filter(pl.col("scope") == "category").select(
        category="key", kind_cat="kind", level_cat="level"
    )
    return (
        frame.join(by_sku, on="sku", how="left")
        .join(by_cat, on="category", how="left")
        .select(
            "sku",
            target_kind=pl.coalesce("kind_sku", "kind_cat", pl.lit(default.kind)),
            target_level=pl.coalesce("level_sku", "level_cat", pl.lit(default.level)),
            target_scope=pl.when(pl.col("kind_sku").is_not_null())
            .then(pl.lit("sku"))
            .when(pl.col("kind_cat").is_not_null())
            .then(pl.lit("category"))
            .otherwise(pl.lit("default")),
        )
    )
