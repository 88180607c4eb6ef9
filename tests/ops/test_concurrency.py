"""Real races on both backends: the last units, duplicates, cancellations, a snapshot switch,
a cancellation against a dispatch.

Threads (and, for SQLite, processes, as several uvicorn workers would be) hit
one store at the same moment; the counts afterwards must be exact.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, select

from ops.engine import make_engine, upgrade
from ops.idempotency import IdempotentRequest, Outcome, StoredResponse, run_once
from ops.order_status import OrderStatusError, advance_order, cancel_order
from ops.orders import OutOfStockError, order_json, place_order
from ops.reservations import free_stock
from ops.schema import part_order_lines, part_orders, stock_reservations
from tests.ops._race import order_units
from tests.ops._store import STORE, an_hour_ago, order, stock, store_key

T = TypeVar("T")
RACERS = 20


def _race(racers: int, attempt: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``attempt(i)`` in ``racers`` threads released together; results or errors, in order."""
    start = threading.Barrier(racers)
    results: list[T | BaseException] = [RuntimeError("did not run")] * racers

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = attempt(i)
        except BaseException as error:  # a refusal is a result too
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _sold(engine: Engine, sku: str = "A") -> int:
    """Units of the SKU in orders that are not cancelled, counted from the orders themselves."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(part_order_lines.c.quantity), 0))
                .select_from(part_order_lines.join(part_orders))
                .where(part_order_lines.c.sku == sku, part_orders.c.status != "cancelled")
            ).scalar_one()
        )


def _place_one(engine: Engine, *lines: tuple[str, int]) -> Callable[[int], str]:
    def attempt(_: int) -> str:
        with engine.begin() as conn:
            return place_order(conn, order(*lines), by="race").order_id

    return attempt


def test_twenty_orders_racing_for_the_last_five_units_sell_five(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5})
    results = _race(RACERS, _place_one(engine, ("A", 1)))
    confirmed = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, OutOfStockError)]
    assert (len(confirmed), len(refused)) == (5, RACERS - 5), results
    assert _sold(engine) == 5
    with engine.connect() as conn:
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 0}
        assert conn.execute(select(stock_reservations.c.reserved)).scalar_one() == 5


def test_orders_locking_skus_in_opposite_orders_do_not_deadlock(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 10, ("FW01", "B"): 10})
    forward, backward = (
        _place_one(engine, ("A", 1), ("B", 1)),
        _place_one(engine, ("B", 1), ("A", 1)),
    )
    results = _race(RACERS, lambda i: (forward if i % 2 else backward)(i))
    assert sum(isinstance(r, str) for r in results) == 10, results
    assert sum(isinstance(r, OutOfStockError) for r in results) == RACERS - 10, results
    assert (_sold(engine, "A"), _sold(engine, "B")) == (10, 10)


def test_processes_racing_on_sqlite_sell_five(tmp_path: Path) -> None:
    """Four processes, as four uvicorn workers on one SQLite file, 20 attempts for 5 units."""
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    stock(engine, {("FW01", "A"): 5})
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        confirmed = pool.starmap(order_units, [(url, 5)] * 4)
    assert sum(confirmed) == 5
    assert _sold(engine) == 5
    engine.dispose()


def test_concurrent_duplicates_create_one_order(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 50})
    key = store_key(engine)
    body = {"lines": [{"sku": "A", "quantity": 2}]}
    request = IdempotentRequest(key.key_id, "dup-1", "POST", f"/v1/stores/{STORE}/orders", body)

    def action(conn: Connection) -> StoredResponse:
        return StoredResponse(201, order_json(place_order(conn, order(("A", 2)), by="race")))

    results = _race(10, lambda _: run_once(engine, request, action))
    outcomes = [r for r in results if isinstance(r, Outcome)]
    assert len(outcomes) == 10, results
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({o.response.body["order_id"] for o in outcomes}) == 1
    assert _sold(engine) == 2


def test_concurrent_cancellations_free_the_units_once(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5})
    with engine.begin() as conn:
        placed = place_order(conn, order(("A", 3)), by="s")

    def cancel(_: int) -> str:
        with engine.begin() as conn:
            return cancel_order(conn, STORE, placed.order_id, by="race").status

    results = _race(10, cancel)
    assert results.count("cancelled") == 1, results
    assert sum(isinstance(r, OrderStatusError) for r in results) == 9, results
    with engine.connect() as conn:
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 5}


def test_a_cancellation_racing_a_dispatch_lets_exactly_one_through(engine: Engine) -> None:
    """The store cancels as the warehouse dispatches: one wins, and the units follow it."""
    stock(engine, {("FW01", "A"): 5})
    with engine.begin() as conn:
        placed = [place_order(conn, order(("A", 1)), by="s") for _ in range(5)]

    def step(i: int) -> str:
        order_id = placed[i // 2].order_id
        with engine.begin() as conn:
            if i % 2:
                return advance_order(conn, STORE, order_id, "dispatched", by="fw01").status
            return cancel_order(conn, STORE, order_id, by="s").status

    results = _race(10, step)
    won = [r for r in results if isinstance(r, str)]
    assert len(won) == 5, results
    assert sum(isinstance(r, OrderStatusError) for r in results) == 5, results
    with engine.connect() as conn:
        statuses = conn.execute(select(part_orders.c.status)).scalars().all()
        free = free_stock(conn, [("FW01", "A")])[("FW01", "A")]
    assert sorted(statuses) == sorted(won)
    assert free == statuses.count("cancelled")  # dispatched units stay taken


def test_orders_during_a_snapshot_switch_stay_reserved(engine: Engine) -> None:
    """Tonight's snapshot lands while orders arrive: the new counters hold every one of them."""
    counted_at = an_hour_ago()
    stock(engine, {("FW01", "A"): 100}, counted_at=counted_at)
    place = _place_one(engine, ("A", 1))

    def attempt(i: int) -> str | None:
        if i == 0:
            stock(engine, {("FW01", "A"): 100}, run="run-2", counted_at=counted_at)
            return None
        return place(i)

    results = _race(RACERS, attempt)
    assert sum(isinstance(r, str) for r in results) == RACERS - 1, results
    with engine.connect() as conn:
        reserved = conn.execute(
            select(stock_reservations.c.plan_run_id, stock_reservations.c.reserved)
        ).all()
    assert [tuple(row) for row in reserved] == [("run-2", RACERS - 1)]
