"""``GET /v1/stores/{store_id}/availability`` on the small world (tests/api/_world.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.promise import Fleet, promise
from tests.api._world import STORE, build, today
from tests.api.conftest import Api, World, config, running
from tests.api.test_health_auth import is_problem


def test_stock_at_the_own_warehouse_comes_with_a_promise(api: Api, world: World) -> None:
    answer = api.client.get(f"/v1/stores/{STORE}/availability?sku=P1&sku=P4", headers=api.auth())
    body = answer.json()
    assert (body["store_id"], body["plan_run_id"]) == (STORE, world.run_id)
    p1 = body["items"][0]
    assert (p1["sku"], p1["warehouse_id"], p1["available"], p1["alternative"]) == (
        "P1",
        "FW01",
        5,
        None,
    )
    deliver_by = datetime.fromisoformat(p1["deliver_by"])
    minutes = p1["promise_minutes"]
    assert 3 <= minutes <= 30  # pick + ~1 km by bike + handover, idle warehouse
    assert deliver_by.utcoffset() is not None
    assert abs(deliver_by - datetime.now(UTC) - timedelta(minutes=minutes)) < timedelta(minutes=1)


def test_released_transfers_due_today_count_and_later_ones_do_not(api: Api) -> None:
    assert api.available("P3")["P3"]["available"] == 3  # counted 0 + 3 due today


def test_out_of_stock_names_a_warehouse_in_reach_that_has_it(api: Api) -> None:
    p2 = api.available("P2")["P2"]
    assert (p2["available"], p2["deliver_by"], p2["promise_minutes"]) == (0, None, None)
    alternative = p2["alternative"]
    assert (alternative["kind"], alternative["warehouse_id"], alternative["available"]) == (
        "warehouse",
        "FW02",
        4,
    )
    assert alternative["promise_minutes"] > 0


def test_out_of_stock_nowhere_near_names_the_next_line_haul_arrival(api: Api) -> None:
    items = api.available("P5", "P6")
    assert items["P5"]["alternative"] == {
        "kind": "arrival",
        "warehouse_id": "FW01",
        "transfer_id": items["P5"]["alternative"]["transfer_id"],
        "arrives_on": (today() + timedelta(days=3)).isoformat(),
        "quantity": 2,
    }
    assert items["P6"]["available"] == 0 and items["P6"]["alternative"] is None


def test_an_unknown_sku_is_422_naming_it(api: Api) -> None:
    answer = api.client.get(f"/v1/stores/{STORE}/availability?sku=P1&sku=NOPE", headers=api.auth())
    body = is_problem(answer, 422)
    assert body["errors"] == [{"field": "sku", "message": "unknown SKU 'NOPE'"}]
    assert "NOPE" in str(body["detail"])


def test_between_1_and_100_skus_are_asked(api: Api) -> None:
    path = f"/v1/stores/{STORE}/availability"
    none = is_problem(api.client.get(path, headers=api.auth()), 422)
    assert none["errors"][0]["field"] == "sku"  # type: ignore[index]
    many = api.client.get(path, params={"sku": ["P1"] * 101}, headers=api.auth())
    assert is_problem(many, 422)["errors"][0]["field"] == "sku"  # type: ignore[index]
    twice = api.client.get(path, params={"sku": ["P1", "P1"]}, headers=api.auth())
    assert [item["sku"] for item in twice.json()["items"]] == ["P1"]


def test_the_promise_grows_with_the_warehouses_load(api: Api) -> None:
    idle = api.available("P1")["P1"]["promise_minutes"]
    for n in range(3):  # FW01's replay had 3 riders at 1 order a trip: one full wave
        assert api.order([("P4", 1)], key=f"load-{n}").status_code == 201
    api.state.watcher.refresh()  # the poll that measures loads, without waiting for it
    busy = api.available("P1")["P1"]["promise_minutes"]
    assert busy > idle


def test_the_promise_formula() -> None:
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    idle = promise(now, travel_s=300, load=0, fleet=Fleet(riders=2))
    assert idle.minutes == 8  # 120 pick + 300 ride + 60 handover = 480 s
    assert idle.deliver_by == now + timedelta(minutes=8)
    assert idle.deliver_by.utcoffset() == timedelta(hours=8)
    waiting = promise(now, travel_s=300, load=5, fleet=Fleet(riders=2))  # 2 full waves
    assert waiting.minutes == 8 + 2 * 11  # each a round trip: 2 x 300 + 60 s
    later = promise(now + timedelta(seconds=30), travel_s=300, load=0, fleet=Fleet(riders=2))
    assert later.deliver_by == now + timedelta(minutes=9)  # 10:08:30 rounds up to 10:09
    assert later.minutes == 9


def test_a_newer_snapshot_is_picked_up_while_requests_run(tmp_path: Path, store_url: str) -> None:
    # The world's snapshot is shared: switch on a copy of our own.
    mine = tmp_path / "published"
    first = build(tmp_path / "n1", mine)
    with running(config(mine, store_url, snapshot_poll_s=0.05)) as app:
        failures: list[int] = []
        stop = threading.Event()

        def ask() -> None:
            while not stop.is_set():
                answer = app.client.get(
                    f"/v1/stores/{STORE}/availability?sku=P1", headers=app.auth()
                )
                if answer.status_code != 200:
                    failures.append(answer.status_code)

        asking = [threading.Thread(target=ask) for _ in range(2)]
        for thread in asking:
            thread.start()
        assert app.client.get("/readyz").json()["plan_run_id"] == first
        second = build(tmp_path / "n2", mine, counts={("FW01", "P1"): 9})
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while app.client.get("/readyz").json()["plan_run_id"] != second:
            assert datetime.now(UTC) < deadline, "the new snapshot was not picked up"
        stop.set()
        for thread in asking:
            thread.join()
        assert failures == []
        assert app.available("P1")["P1"]["available"] == 9


def test_orders_and_cancellations_during_a_snapshot_switch_all_stay_counted(
    tmp_path: Path, store_url: str
) -> None:
    """Orders placed and cancelled while tonight's snapshot replaces yesterday's: none fails,
    and the new counters hold exactly the orders still standing."""
    mine = tmp_path / "published"
    build(tmp_path / "n1", mine)
    with running(config(mine, store_url, snapshot_poll_s=0.05)) as app:
        kept = app.order([("P1", 2)], key="kept")
        assert kept.status_code == 201, kept.text
        failures: list[str] = []
        stop = threading.Event()

        def churn(worker: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                placed = app.order([("P1", 1)], key=f"churn-{worker}-{n}")
                if placed.status_code != 201:
                    failures.append(f"order {placed.status_code}: {placed.text}")
                    continue
                path = f"/v1/stores/{STORE}/orders/{placed.json()['order_id']}/cancel"
                cancel = app.client.post(path, headers=app.auth())
                if cancel.status_code != 200:
                    failures.append(f"cancel {cancel.status_code}: {cancel.text}")

        churning = [threading.Thread(target=churn, args=(n,)) for n in range(2)]
        for thread in churning:
            thread.start()
        second = build(tmp_path / "n2", mine, counts={("FW01", "P1"): 9})
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while app.client.get("/readyz").json()["plan_run_id"] != second:
            assert datetime.now(UTC) < deadline, "the new snapshot was not picked up"
        threading.Event().wait(0.3)  # a few more rounds on the new counters
        stop.set()
        for thread in churning:
            thread.join()
        assert failures == []
        assert app.available("P1")["P1"]["available"] == 9 - 2
