"""Load decisions without a database: parsed rows and the warehouse state as frames."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ingest.compare import compare_loaded, duckdb_text
from tests.pipelines.ingest_support import (
    NETWORK,
    ORDER_HEADER,
    RETURN_HEADER,
    STORES,
    a_return,
    decide_rows,
    line,
    outcome_list,
    skus,
    typed,
    written,
)
from warehouse.loading_types import Existing

SKU_HEADER = list(skus("K1"))
STORE_HEADER = list(STORES)
STOCK_HEADER = ["warehouse_id", "sku", "as_of", "on_hand", "reserved", "in_transit"]
LINE_KEY = ["order_id", "line_no"]


def _sku_rows(*ids: str, **changes: str) -> list[list[str]]:
    columns = skus(*ids) | {k: [v] * len(ids) for k, v in changes.items()}
    return [list(row) for row in zip(*columns.values(), strict=True)]


def _loaded_line(**values: str) -> pl.DataFrame:
    """Order line (O1, 1) as loaded, with its status."""
    return typed("order_lines", ORDER_HEADER, [line(**values)])


def _with_line(**values: str) -> Existing:
    loaded = _loaded_line(**values)
    return replace(
        NETWORK,
        loaded=loaded,
        orders=loaded.select("order_id", "store_id", "channel", "ordered_at"),
        seq_base=pl.DataFrame({"order_id": ["O1"], "line_no": [1], "max_seq": [1]}),
    )


# --- master data --------------------------------------------------------------


def test_a_new_master_record_is_inserted() -> None:
    decision = decide_rows("skus", SKU_HEADER, _sku_rows("K9"))
    assert outcome_list(decision) == [("inserted", None)]
    assert written(decision, "skus")["sku"].to_list() == ["K9"]


def test_an_identical_master_record_is_unchanged_and_not_written() -> None:
    existing = replace(NETWORK, loaded=typed("skus", SKU_HEADER, _sku_rows("K1")))
    decision = decide_rows("skus", SKU_HEADER, _sku_rows("K1"), existing)
    assert outcome_list(decision) == [("unchanged", None)]
    assert written(decision, "skus").height == 0


def test_a_changed_master_record_is_an_upsert_on_its_key() -> None:
    existing = replace(NETWORK, loaded=typed("skus", SKU_HEADER, _sku_rows("K1")))
    decision = decide_rows("skus", SKU_HEADER, _sku_rows("K1", unit_price="39.90"), existing)
    (write,) = decision.writes
    assert outcome_list(decision) == [("updated", None)]
    assert (write.key, write.rows["unit_price"].cast(pl.String).to_list()) == (("sku",), ["39.90"])


def test_a_store_of_an_unknown_forward_warehouse_is_quarantined() -> None:
    row = [v[0] for v in STORES.values()]
    row[STORE_HEADER.index("warehouse_id")] = "DC1"
    decision = decide_rows("stores", STORE_HEADER, [row])
    assert outcome_list(decision) == [
        ("quarantined", "warehouse_id: unknown forward warehouse 'DC1'")
    ]


# --- stock --------------------------------------------------------------------


def _levels(as_of: str, on_hand: int) -> pl.DataFrame:
    """The known level of (FW1, K1) asked for 2026-01-02: counted on ``as_of``."""
    day = datetime.strptime(as_of, "%Y-%m-%d").date()
    return pl.DataFrame(
        {
            "warehouse_id": ["FW1"],
            "sku": ["K1"],
            "as_of": [datetime(2026, 1, 2).date()],
            "known_as_of": [day],
            "known_on_hand": [on_hand],
            "known_reserved": [0],
            "known_in_transit": [0],
        }
    )


def test_a_stock_row_equal_to_the_known_level_is_unchanged() -> None:
    existing = replace(NETWORK, levels=_levels("2026-01-01", 5))
    decision = decide_rows(
        "stock", STOCK_HEADER, [["FW1", "K1", "2026-01-02", "5", "0", "0"]], existing
    )
    assert outcome_list(decision) == [("unchanged", None)]
    assert written(decision, "stock_levels").height == 0


def test_a_new_count_for_a_stored_day_is_an_update() -> None:
    existing = replace(NETWORK, levels=_levels("2026-01-02", 5))
    decision = decide_rows(
        "stock", STOCK_HEADER, [["FW1", "K1", "2026-01-02", "6", "0", "0"]], existing
    )
    assert outcome_list(decision) == [("updated", None)]
    assert written(decision, "stock_levels")["source_file"].to_list() == ["/landing/file.csv"]


# --- order lines --------------------------------------------------------------


def test_a_new_line_inserts_its_order_and_its_first_history_entry() -> None:
    decision = decide_rows("order_lines", ORDER_HEADER, [line()])
    assert written(decision, "orders").select("order_id", "warehouse_id").rows() == [("O1", "FW1")]
    assert decision.status_events.rows() == [("O1", 1, 1, "completed")]


def test_a_status_change_of_a_loaded_line_is_an_update_and_a_history_event() -> None:
    decision = decide_rows("order_lines", ORDER_HEADER, [line(status="cancelled")], _with_line())
    assert outcome_list(decision) == [("updated", None)]
    assert decision.status_changes.rows() == [("O1", 1, "cancelled")]
    assert decision.status_events.rows() == [("O1", 1, 2, "cancelled")]
    assert written(decision, "order_lines").height == 0


def test_a_status_change_this_file_already_applied_is_unchanged() -> None:
    existing = replace(
        _with_line(status="cancelled"),
        statuses=pl.DataFrame({"order_id": ["O1"], "line_no": [1], "status": ["completed"]}),
    )
    decision = decide_rows("order_lines", ORDER_HEADER, [line()], existing)
    assert outcome_list(decision) == [("unchanged", None)]
    assert decision.status_changes.height == 0


def test_a_loaded_key_with_another_quantity_is_quarantined_with_the_difference() -> None:
    decision = decide_rows(
        "order_lines", ORDER_HEADER, [line(quantity="2")], _with_line(quantity="4")
    )
    assert outcome_list(decision) == [("quarantined", "conflicts with loaded row: quantity 2 ≠ 4")]


def test_a_quarantined_row_keeps_the_strings_it_arrived_with() -> None:
    decision = decide_rows("order_lines", ORDER_HEADER, [line(quantity="x")])
    (raw,) = decision.quarantine["raw"]
    assert '"quantity":"x"' in raw and '"order_id":"O1"' in raw


def test_a_warehouse_other_than_the_stores_is_quarantined() -> None:
    decision = decide_rows("order_lines", [*ORDER_HEADER, "warehouse_id"], [[*line(), "FW2"]])
    assert outcome_list(decision) == [
        ("quarantined", "warehouse_id: 'FW2' is not the serving warehouse of store 'S1' ('FW1')")
    ]


def test_a_cured_row_of_a_quarantined_file_is_resolved() -> None:
    existing = replace(NETWORK, quarantined=pl.Series("row_number", [1, 2], pl.Int64))
    decision = decide_rows(
        "order_lines", ORDER_HEADER, [line(), line(line_no="2", sku="K9")], existing
    )
    assert decision.resolved.to_list() == [1]


def test_a_row_quarantined_again_is_not_resolved() -> None:
    existing = replace(NETWORK, quarantined=pl.Series("row_number", [1], pl.Int64))
    decision = decide_rows("order_lines", ORDER_HEADER, [line(sku="K9")], existing)
    assert (decision.resolved.to_list(), decision.quarantine["reason"].to_list()) == (
        [],
        ["sku: unknown sku 'K9'"],
    )


# --- returns ------------------------------------------------------------------


def _with_returned(*quantities: int) -> Existing:
    """Line (O1, 1), 2 units, loaded; earlier returns R7, R8, ... of it."""
    loaded = _loaded_line()
    ids = [f"R{7 + i}" for i in range(len(quantities))]
    return replace(
        NETWORK,
        lines=loaded.select(
            *LINE_KEY,
            pl.col("store_id").alias("line_store_id"),
            pl.col("sku").alias("line_sku"),
            pl.col("quantity").alias("line_quantity"),
            pl.col("status").alias("line_status"),
            pl.col("ordered_at").alias("line_ordered_at"),
        ),
        line_returns=pl.DataFrame(
            {"return_id": ids, "order_id": "O1", "line_no": 1, "quantity": list(quantities)},
            schema={
                "return_id": pl.String,
                "order_id": pl.String,
                "line_no": pl.Int64,
                "quantity": pl.Int64,
            },
        ),
    )


def test_a_return_within_the_lines_quantity_is_inserted() -> None:
    decision = decide_rows("returns", RETURN_HEADER, [a_return()], _with_returned(1))
    assert outcome_list(decision) == [("inserted", None)]
    assert written(decision, "returns")["return_date"].cast(pl.String).to_list() == ["2026-01-20"]


def test_a_return_beyond_what_earlier_returns_left_is_quarantined() -> None:
    decision = decide_rows("returns", RETURN_HEADER, [a_return(quantity="2")], _with_returned(1))
    assert outcome_list(decision) == [
        ("quarantined", "returned quantity exceeds the line's remaining quantity")
    ]


def test_a_return_of_a_line_not_loaded_is_quarantined() -> None:
    decision = decide_rows("returns", RETURN_HEADER, [a_return(order_id="O9")], NETWORK)
    assert outcome_list(decision) == [("quarantined", "order line (O9, 1) is not loaded")]


# --- comparing with loaded rows -----------------------------------------------


def test_comparing_with_nothing_loaded_finds_every_key_absent() -> None:
    rows = pl.DataFrame({"row_number": [1], "sku": ["K1"], "brand": ["b"]})
    found = compare_loaded(rows, pl.DataFrame(), ["sku"], ["brand"])
    assert found.rows() == [(1, False, None)]


def test_a_differing_timestamp_is_named_as_duckdb_shows_it() -> None:
    rows = typed("order_lines", ORDER_HEADER, [line(ordered_at="2026-01-05T11:00:00.5")])
    found = compare_loaded(
        rows.with_row_index("row_number"),
        _loaded_line(),
        LINE_KEY,
        ["ordered_at"],
        time_zone="Asia/Shanghai",
    )
    assert found["diff"].to_list() == [
        "ordered_at 2026-01-05 11:00:00.5+08 ≠ 2026-01-05 10:00:00+08"
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Asia/Kolkata", "America/New_York"])
def test_timestamps_render_as_duckdb_renders_them(zone: str) -> None:
    instants = pl.DataFrame(
        {
            "t": [
                datetime(2026, 1, 5, 2, 0, tzinfo=UTC),
                datetime(2026, 1, 5, 2, 0, 0, 500000, tzinfo=UTC),
                datetime(2026, 7, 5, 2, 0, 0, 123, tzinfo=UTC),
                None,
            ]
        },
        schema={"t": pl.Datetime("us", "UTC")},
    )
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.register("instants", instants)
    expected = con.sql("SELECT t::VARCHAR AS t FROM instants").pl()
    rendered = instants.select(duckdb_text(pl.col("t"), instants.schema["t"], zone))
    assert_frame_equal(rendered, expected)
