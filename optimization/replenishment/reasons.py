"""The reason on every plan line, in words a planner reads without a manual.

One sentence each, in the order a planner checks a line: what the series is
(class, last sale), whether it is held here and why (the range decision), the
level and the demand behind it, the stock position, and what tonight does about
it (the quantity, its value and the days of cover it leaves, or the pull-back).
"""

from __future__ import annotations

import polars as pl


def _plural(count: str, word: str) -> pl.Expr:
    """``"1 unit"``, ``"3 units"``."""
    return pl.format(
        "{} {}",
        count,
        pl.when(pl.col(count) == 1).then(pl.lit(word)).otherwise(pl.lit(f"{word}s")),
    )


def _percent(column: str) -> pl.Expr:
    return pl.format("{} %", (pl.col(column) * 100).round(1))


def _variability() -> pl.Expr:
    """The dispersion index in words (variance over mean of daily demand)."""
    phi = pl.col("dispersion")
    word = (
        pl.when(phi <= 1.2)
        .then(pl.lit("steady"))
        .when(phi <= 3)
        .then(pl.lit("variable"))
        .otherwise(pl.lit("lumpy"))
    )
    return pl.format("{} (variance {}× the mean)", word, phi.round(1))


def _target() -> pl.Expr:
    group = pl.format(
        "{} × {}",
        "warehouse_id",
        pl.when(pl.col("target_group") == "").then(pl.lit("no category")).otherwise("target_group"),
    )
    return (
        pl.when(pl.col("target_kind") == "fill_rate")
        .then(pl.format("Target: fill {} of units", _percent("target_level")))
        .when(pl.col("target_kind") == "cycle_service")
        .then(pl.format("Target: no stock-out in {} of cycles", _percent("target_level")))
        .when(pl.col("group_cycle_service").is_null())
        .then(pl.format("Target: unit fill {} of {}", _percent("target_level"), group))
        .otherwise(
            pl.format(
                "Target: unit fill {} of {} (its held parts expect {}; here that takes {} "
                "cycles without a stock-out)",
                _percent("target_level"),
                group,
                _percent("group_fill"),
                _percent("group_cycle_service"),
            )
        )
    )


def _level() -> pl.Expr:
    units = pl.format(
        "Keep {} for {} of demand averaging {}/day, {}; expects to fill {} of units",
        _plural("order_up_to", "unit"),
        _plural("protection_days", "day"),
        pl.col("rate").round(2),
        _variability(),
        _percent("expected_fill_rate"),
    )
    sets = pl.when(pl.col("sales_multiple") > 1).then(
        pl.format(" (in sets of {})", "sales_multiple")
    )
    shelf = pl.when(pl.col("shelf_note").is_not_null()).then(pl.format("; {}", "shelf_note"))
    return pl.concat_str(units, sets, shelf, ignore_nulls=True)


def _position() -> pl.Expr:
    return pl.format(
        "Has {}: {} on hand, {} on the way, {} reserved, {} promised",
        "inventory_position",
        "on_hand",
        "in_transit",
        "reserved",
        "committed",
    )


def _tonight(cover_cap_days: float, horizon_days: int) -> pl.Expr:
    cover = pl.when(pl.col("cover_days").is_not_null()).then(
        pl.format(
            ", {} days of cover after it arrives", pl.col("cover_days").round(0).cast(pl.Int64)
        )
    )
    send = pl.concat_str(
        pl.format(
            "Send {} (¥{} at cost)",
            "proposed_quantity",
            pl.col("proposed_value").round(0).cast(pl.Int64),
        ),
        cover,
        ignore_nulls=True,
    )
    capped = pl.format(
        "Needs {}, but the {}-day cover cap lets {} go",
        "raw_need",
        pl.lit(f"{cover_cap_days:g}"),
        "proposed_quantity",
    )
    return (
        pl.when((pl.col("action") == "replenish") & (pl.col("rounding") == "cover_cap"))
        .then(pl.format("{}: {}", capped, pl.concat_str(pl.lit("s"), send.str.slice(1))))
        .when(pl.col("action") == "replenish")
        .then(send)
        .when(pl.col("action") == "pull_back")
        .then(pl.format("Return {} to the DC: {}", "pull_back_quantity", "pull_back_why"))
        .when(pl.col("action") == "do_not_stock")
        .then(pl.lit("Do-not-stock: nothing to send"))
        .when((pl.col("action") == "not_stocked") & (pl.col("inventory_position") > 0))
        .then(
            pl.format(
                "Nothing to send; what is here sells down and goes back after {} days without "
                "a sale",
                pl.lit(horizon_days),
            )
        )
        .when(pl.col("action") == "not_stocked")
        .then(pl.lit("Nothing to send: stores are served from the DC with the next line-haul"))
        .when(pl.col("rounding") == "cover_cap")
        .then(pl.format("{}: nothing to send", capped))
        .otherwise(pl.lit("What it has covers the level: nothing to send"))
    )


def plan_reason(cover_cap_days: float, horizon_days: int) -> pl.Expr:
    """The reason of a proposal line, from the policy's columns."""
    klass = pl.col("class").fill_null("no forecast class")
    about = pl.format(
        "{}{}, last sold here {}",
        klass.str.slice(0, 1).str.to_uppercase(),
        klass.str.slice(1),
        pl.col("last_sale").cast(pl.String).fill_null("never"),
    )
    held = pl.col("stocked")
    return pl.concat_str(
        about,
        pl.col("stocking_reason"),
        pl.when(held).then(_target()),
        pl.when(held).then(_level()),
        _position(),
        _tonight(cover_cap_days, horizon_days),
        separator=". ",
        ignore_nulls=True,
    )
