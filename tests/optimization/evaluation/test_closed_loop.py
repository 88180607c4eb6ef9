"""The closed loop's arithmetic on a network of one DC and two forward warehouses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from optimization.evaluation.closed_loop import (
    DAY_LINES,
    DEMAND_STATE,
    MOVES,
    OPENING,
    PURCHASES,
    RETURNS,
    SERVED,
    SITES,
    STOCK,
    TRANSFERS,
    Network,
    NightRecord,
    apply_moves,
    arrivals,
    free_stock,
    night_kpis,
    returned,
    sent_and_pulled_back,
    serve_day,
    ship_reserved,
    total_kpis,
)

DAY = date(2026, 11, 21)
SITES_FRAME = pl.DataFrame(
    [("DC", "dc", "DC"), ("FW1", "forward", "DC"), ("FW2", "forward", "DC")],
    schema=SITES,
    orient="row",
)
COSTS = pl.DataFrame({"sku": ["A", "B"], "unit_cost": [10.0, 100.0]})
NETWORK = Network(SITES_FRAME, COSTS, history_start=date(2026, 5, 1))


def _lines(*rows: tuple[str, str, int, int, str]) -> pl.DataFrame:
    """(order id, warehouse, minute of the day, quantity, status) of SKU A."""
    return pl.DataFrame(
        [
            (
                oid,
                1,
                datetime(2026, 11, 21, 1, tzinfo=UTC) + timedelta(minutes=minute),
                wh,
                "A",
                q,
                s,
            )
            for oid, wh, minute, q, s in rows
        ],
        schema=DAY_LINES,
        orient="row",
    )


def _stock(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame([(*row, 0) for row in rows], schema=STOCK, orient="row")


def _free(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return free_stock(_stock(*rows), MOVES.to_frame())


def test_lines_take_the_shelf_in_time_order_and_the_dc_sends_the_rest() -> None:
    lines = _lines(("o2", "FW1", 5, 2, "completed"), ("o1", "FW1", 1, 2, "completed"))
    served, moves = serve_day(lines, _free(("FW1", "A", 3), ("DC", "A", 10)), SITES_FRAME)
    # o1 came first: 2 from the shelf; o2 gets the last unit there and 1 from the DC.
    assert served.rows() == [("FW1", "A", 2, 2, 0, 0), ("FW1", "A", 2, 1, 1, 0)]
    assert dict(zip(moves["warehouse_id"], moves["delta"], strict=True)) == {"DC": -1, "FW1": -3}


def test_the_dc_keeps_what_released_transfers_have_spoken_for() -> None:
    lines = _lines(("o1", "FW2", 1, 3, "completed"))
    spoken = pl.DataFrame([("DC", "A", 9)], schema=MOVES, orient="row")
    served, _ = serve_day(lines, free_stock(_stock(("DC", "A", 10)), spoken), SITES_FRAME)
    assert served.select("served", "late", "short").row(0) == (0, 1, 2)


def test_cancelled_lines_take_nothing_and_are_not_demand() -> None:
    lines = _lines(("o1", "FW1", 1, 2, "cancelled"))
    served, moves = serve_day(lines, _free(("FW1", "A", 5)), SITES_FRAME)
    assert served.is_empty()
    assert moves.is_empty()
    assert served.schema == SERVED


def test_units_served_late_and_short_add_up_to_the_units_ordered() -> None:
    lines = _lines(*((f"o{i}", f"FW{1 + i % 2}", i, 1 + i % 3, "completed") for i in range(20)))
    free = _free(("FW1", "A", 4), ("FW2", "A", 1), ("DC", "A", 6))
    served, _ = serve_day(lines, free, SITES_FRAME)
    total = served.select(pl.col("served", "late", "short").sum()).row(0)
    assert sum(total) == served["quantity"].sum()
    assert total[:2] == (5, 6)


def test_arrivals_move_stock_from_the_source_and_purchases_into_the_dc() -> None:
    transfers = pl.DataFrame(
        [("DC", "FW1", "A", 4, DAY), ("FW2", "DC", "B", 1, DAY)], schema=TRANSFERS, orient="row"
    )
    purchases = pl.DataFrame([("DC", "A", 24, 10.0, DAY)], schema=PURCHASES, orient="row")
    expected = pl.DataFrame(
        [("DC", "A", 20), ("DC", "B", 1), ("FW1", "A", 4), ("FW2", "B", -1)],
        schema=MOVES,
        orient="row",
    )
    assert_frame_equal(arrivals(transfers, purchases), expected)


def test_only_unopened_returns_go_back_on_the_shelf() -> None:
    returns = pl.DataFrame(
        [("FW1", "A", 1, "unused"), ("FW1", "A", 2, "wrong_fitment"), ("FW1", "A", 5, "defective")],
        schema=RETURNS,
        orient="row",
    )
    assert returned(returns).rows() == [("FW1", "A", 3)]


def test_stock_never_goes_below_zero() -> None:
    moves = pl.DataFrame([("FW1", "A", -4)], schema=MOVES, orient="row")
    with pytest.raises(ValueError, match="would go to -1"):
        apply_moves(_stock(("FW1", "A", 3)), moves)
    added = apply_moves(_stock(), pl.DataFrame([("FW1", "B", 2)], schema=MOVES, orient="row"))
    assert added.rows() == [("FW1", "B", 2, 0)]


def test_reserved_stock_ships_on_the_first_night() -> None:
    stock = pl.DataFrame([("DC", "A", 10, 3)], schema=STOCK, orient="row")
    after, moves = ship_reserved(stock)
    assert after.rows() == [("DC", "A", 7, 0)]
    assert moves.rows() == [("DC", "A", -3)]


def _record(served: pl.DataFrame, transfers: pl.DataFrame | None = None) -> NightRecord:
    closing = _stock(("FW1", "A", 6), ("FW2", "B", 1), ("DC", "A", 30))
    opening = pl.DataFrame(
        [("FW1", "A", 0), ("FW2", "A", 2), ("DC", "A", 0)], schema=OPENING, orient="row"
    )
    demand = pl.DataFrame(
        [("FW1", "A", 56, DAY), ("FW2", "B", 0, date(2026, 7, 1))],
        schema=DEMAND_STATE,
        orient="row",
    )
    return NightRecord(
        day=DAY,
        served=served,
        opening=opening,
        closing=closing,
        transfers=TRANSFERS.to_frame() if transfers is None else transfers,
        purchases=pl.DataFrame([("DC", "A", 24, 10.0, DAY)], schema=PURCHASES, orient="row"),
        demand=demand,
    )


SERVED_DAY = pl.DataFrame(
    [("FW1", "A", 4, 1, 3, 0), ("FW1", "A", 1, 1, 0, 0), ("FW2", "A", 5, 5, 0, 0)],
    schema=SERVED,
    orient="row",
)


def test_unit_fill_counts_units_and_item_fill_averages_the_series() -> None:
    kpis = night_kpis(_record(SERVED_DAY), NETWORK)
    assert kpis.unit_fill == pytest.approx(7 / 10)
    assert kpis.item_fill == pytest.approx((2 / 5 + 1) / 2)
    assert kpis.line_fill == pytest.approx(2 / 3)
    assert (kpis.units_served + kpis.units_late + kpis.units_short) == kpis.units_ordered


def test_a_stock_out_day_is_a_series_ordered_on_a_day_it_began_empty() -> None:
    kpis = night_kpis(_record(SERVED_DAY), NETWORK)
    assert kpis.stockout_sku_days == 1  # FW1/A began at 0; FW2/A had 2
    assert (kpis.dc_demand_sku_days, kpis.dc_stockout_sku_days) == (1, 1)


def test_value_cover_and_idle_stock() -> None:
    kpis = night_kpis(_record(SERVED_DAY), NETWORK)
    assert (kpis.fw_value, kpis.dc_value) == (160.0, 300.0)
    # FW1/A: 6 units at 2 a day = 3 days; FW2/B has stock and no demand: infinite.
    assert kpis.fw_cover_days == float("inf")
    assert kpis.dc_cover_days == pytest.approx(15.0)  # 30 units at the network's 2 a day
    assert (kpis.idle_units, kpis.idle_share) == (1, pytest.approx(1 / 7))


def _moves(*rows: tuple[str, str, int, int]) -> pl.DataFrame:
    """(from, to, quantity, day of November) of SKU A."""
    return pl.DataFrame(
        [(a, b, "A", q, date(2026, 11, d)) for a, b, q, d in rows], schema=TRANSFERS, orient="row"
    )


def test_sent_and_pulled_back_counts_pairs_within_the_window() -> None:
    moves = _moves(("DC", "FW1", 2, 1), ("FW1", "DC", 2, 10), ("DC", "FW2", 2, 1))
    assert sent_and_pulled_back(moves, SITES_FRAME) == 1
    assert sent_and_pulled_back(moves, SITES_FRAME, reverse=True) == 0
    later = _moves(("DC", "FW1", 2, 1), ("FW1", "DC", 2, 16))
    assert sent_and_pulled_back(later, SITES_FRAME) == 0


def test_totals_sum_the_nights_and_measure_stability_after_the_first_week() -> None:
    nights = []
    for lines_moved in (9, 1, 1, 1, 1, 1, 1, 4, 6, 4, 6):
        record = _record(SERVED_DAY, _moves(*([("DC", "FW1", 1, 1)] * lines_moved)))
        nights.append(night_kpis(record, NETWORK))
    total = total_kpis(
        nights, pl.concat([SERVED_DAY] * len(nights)), TRANSFERS.to_frame(), SITES_FRAME
    )
    assert total.units_ordered == 10 * len(nights)
    assert total.unit_fill == pytest.approx(0.7)
    assert total.transfer_lines == 35
    assert total.transfer_lines_cv_after_week == pytest.approx(0.2)
    assert total.dc_stockout_share == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one night"):
        total_kpis([], SERVED_DAY, TRANSFERS.to_frame(), SITES_FRAME)
