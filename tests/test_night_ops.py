"""Orders and returns placed through the API become the next night's demand (issue 13, item 3).

Two ends: the real API in process (tests/api's app and small published world)
with the night's intake task run on a copy of that world's database; and the
whole nightly flow on the small generated network, ending yesterday, with
orders placed in the operational store today.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from prefect import flow
from sqlalchemy import Engine

import flows
from flows.night_inputs import ingest_operational
from ops import (
    LineRequest,
    OrderRequest,
    StockBase,
    advance_order,
    cancel_order,
    load_bases,
    make_engine,
    place_order,
    place_return,
    upgrade,
)
from ops.returns import ReturnRequest
from pipelines.generate import generate
from settings import DataPaths
from tests.api._world import STORE, build, today
from tests.api.conftest import Api, config, running
from tests.test_flows import SMALL
from warehouse import demand, published, replenishment
from warehouse.schema import connect


@flow(name="ops-intake", validate_parameters=False)
def _intake(db: Path, ops_url: str) -> dict[str, int]:
    """The nightly's intake task alone, in a flow run as the nightly runs it."""
    return ingest_operational(db, ops_url)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tests/api/_world.py's published night (counted yesterday): its database and snapshots."""
    work = tmp_path_factory.mktemp("world")
    build(work / "night", work / "published")
    return work / "night" / "w.duckdb", work / "published"


def _ordered(api: Api, lines: list[tuple[str, int]], key: str) -> str:
    placed = api.order(lines, key=key)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    return order_id


def _lines(con: duckdb.DuckDBPyConnection, *order_ids: str) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT order_id, line_no, sku, quantity, warehouse_id, demand_date, status "
        "FROM order_lines WHERE list_contains(?, order_id) ORDER BY order_id, line_no",
        [list(order_ids)],
    ).fetchall()


def test_orders_placed_through_the_api_are_the_next_nights_demand(
    prefect_server: None, world: tuple[Path, Path], tmp_path: Path
) -> None:
    db, snapshots = tmp_path / "w.duckdb", world[1]
    shutil.copy(world[0], db)  # the night's database, which the API never opens
    ops_url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    with running(config(snapshots, tmp_path / "ops.sqlite3")) as api:
        kept = _ordered(api, [("P1", 2), ("P4", 1)], "o1")
        cancelled = _ordered(api, [("P1", 1)], "o2")
        returned = _ordered(api, [("P4", 2)], "o3")
        with api.state.engine.begin() as conn:
            advance_order(conn, STORE, returned, "dispatched", by="rider")
            advance_order(conn, STORE, returned, "delivered", by="rider")
        answer = api.client.post(
            f"/v1/stores/{STORE}/returns",
            json={"order_id": returned, "sku": "P4", "quantity": 1, "reason": "wrong_fitment"},
            headers={**api.auth(), "Idempotency-Key": "r1"},
        )
        assert answer.status_code == 201, answer.text
        return_id = answer.json()["return_id"]

        first = _intake(db, ops_url)
        cancel = api.client.post(
            f"/v1/stores/{STORE}/orders/{cancelled}/cancel", headers=api.auth()
        )
        assert cancel.status_code == 200, cancel.text
        second = _intake(db, ops_url)
        third = _intake(db, ops_url)

    day = today()
    with connect(db) as con:
        assert _lines(con, kept, cancelled, returned) == sorted(
            [
                (kept, 1, "P1", 2, "FW01", day, "completed"),
                (kept, 2, "P4", 1, "FW01", day, "completed"),
                (cancelled, 1, "P1", 1, "FW01", day, "cancelled"),
                (returned, 1, "P4", 2, "FW01", day, "completed"),
            ]
        )
        history = con.execute(
            "SELECT seq, status FROM order_line_status_history WHERE order_id = ? ORDER BY seq",
            [cancelled],
        ).fetchall()
        returns = con.execute(
            "SELECT return_id, order_id, line_no, quantity, reason FROM returns"
        ).fetchall()
        # Tonight's demand series: the day's units per (warehouse, SKU), the cancelled not.
        series = demand.daily_demand(con, day, 28).filter(pl.col("ds") == day)
        # Tonight's stock position: the count is yesterday's, today's orders are promised.
        positions = replenishment.stock_positions(con, day).filter(pl.col("warehouse_id") == "FW01")
    assert history == [(1, "completed"), (2, "cancelled")]
    assert returns == [(return_id, returned, 1, 1, "wrong_fitment")]
    assert series.select("warehouse_id", "sku", "y").sort("sku").rows() == [
        ("FW01", "P1", 2.0),
        ("FW01", "P4", 3.0),
    ]
    committed = dict(positions.select("sku", "committed").iter_rows())
    assert (committed["P1"], committed["P4"]) == (2, 3)
    assert (first["loaded"], first["quarantined"]) == (5, 0)  # 4 order lines, 1 return
    assert second["loaded"] == 1  # the cancellation: a status change
    assert third["loaded"] == third["quarantined"] == 0  # nothing twice


def test_an_absent_store_has_nothing_to_take_in(prefect_server: None, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    connect(db).close()
    counts = _intake(db, f"sqlite:///{tmp_path / 'none' / 'ops.sqlite3'}")
    assert counts == {"files": 0, "loaded": 0, "quarantined": 0, "errors": 0}
    assert not (tmp_path / "none").exists()


# --- the whole night on the small network ---------------------------------------------


@pytest.fixture(scope="module")
def network_to_yesterday(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small network (2 forward warehouses, 30 stores, 500 SKUs) ending yesterday."""
    out = tmp_path_factory.mktemp("landing")
    generate(out, scale="small", seed=7, end=today() - timedelta(days=1))
    return out


def _held(landing: Path) -> tuple[str, str, list[str]]:
    """A store, its forward warehouse and two SKUs counted there with a few units on hand."""
    stores = pl.read_parquet(landing / "stores.parquet")
    stock = pl.concat(pl.read_parquet(p) for p in sorted(landing.glob("stock_*.parquet")))
    latest = stock.sort("as_of").group_by("warehouse_id", "sku").last()
    store, warehouse = stores.select("store_id", "warehouse_id").row(0)
    held = latest.filter((pl.col("warehouse_id") == warehouse) & (pl.col("on_hand") >= 4))
    return store, warehouse, held.sort("sku")["sku"].head(2).to_list()


@pytest.fixture
def store_with_orders(
    network_to_yesterday: Path, tmp_path: Path
) -> Iterator[tuple[str, Engine, dict[str, str]]]:
    """An operational store with three of today's orders: kept, cancelled, delivered and
    returned in part. Yields its URL, its engine and the order ids by fate."""
    store, warehouse, (first, second) = _held(network_to_yesterday)
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    counted = datetime.now(UTC) - timedelta(hours=1)
    deliver_by = datetime.now(UTC) + timedelta(minutes=30)

    def order(*lines: tuple[str, int]) -> OrderRequest:
        return OrderRequest(
            store, tuple(LineRequest(s, q, warehouse, deliver_by) for s, q in lines)
        )

    with engine.begin() as conn:
        load_bases(conn, "e2e", [StockBase(warehouse, s, 4, counted) for s in (first, second)])
        ids = {
            "kept": place_order(conn, order((first, 1), (second, 1)), by="s").order_id,
            "cancelled": place_order(conn, order((first, 1)), by="s").order_id,
            "returned": place_order(conn, order((second, 2)), by="s").order_id,
        }
        cancel_order(conn, store, ids["cancelled"], by="s")
        advance_order(conn, store, ids["returned"], "dispatched", by="rider")
        advance_order(conn, store, ids["returned"], "delivered", by="rider")
        ids["return"] = place_return(
            conn, ReturnRequest(store, ids["returned"], second, 1, "unused"), by="s"
        ).return_id
    ids |= {"warehouse": warehouse, "first": first, "second": second}
    yield url, engine, ids
    engine.dispose()


@pytest.mark.slow
def test_the_nightly_takes_in_todays_orders_and_plans_on_them(
    prefect_server: None,
    network_to_yesterday: Path,
    store_with_orders: tuple[str, Engine, dict[str, str]],
    tmp_path: Path,
) -> None:
    url, _, ids = store_with_orders
    db, snapshots = tmp_path / "w.duckdb", tmp_path / "published"
    result = flows.nightly(DataPaths(db, network_to_yesterday, snapshots, ops_url=url), SMALL)
    day, warehouse, first, second = today(), ids["warehouse"], ids["first"], ids["second"]
    # Today's orders made today the last demand day: the night plans as of today.
    assert result.as_of == day
    assert result.rows_quarantined == 0
    with connect(db) as con:
        statuses = dict(
            con.execute(
                "SELECT order_id, any_value(status) FROM order_lines "
                "WHERE list_contains(?, order_id) GROUP BY ALL",
                [[ids["kept"], ids["cancelled"], ids["returned"]]],
            ).fetchall()
        )
        returns = con.execute(
            "SELECT return_id FROM returns WHERE order_id = ?", [ids["returned"]]
        ).fetchall()
    assert statuses == {
        ids["kept"]: "completed",
        ids["cancelled"]: "cancelled",
        ids["returned"]: "completed",
    }
    assert returns == [(ids["return"],)]
    with published.open_snapshot(snapshots) as snap:
        assert published.published_run(snap).run_id == result.run_id
        sold = {}
        for sku in (first, second):
            series = published.series(snap, warehouse, sku)
            assert series is not None
            sold[sku] = series.history.filter(pl.col("ds") == day)["y"].item()
            line = published.plan_line(snap, warehouse, sku)
            assert line["committed"].item() == sold[sku]  # promised: yesterday's count has them
    # The kept order's one unit of each, and the returned order's two (a return is not
    # negative demand); the cancelled order is not demand.
    assert sold == {first: 1.0, second: 3.0}
    again = _intake(db, url)
    assert again["loaded"] == again["quarantined"] == 0
