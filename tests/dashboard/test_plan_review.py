"""Plan review in headless Chromium against ``partsflow serve``: a planner overrides a line
with a reason (refused without one, and beyond the DC's free stock), approves and releases
orders, and the API shows the decision persisted and audited. Through the page's service
(``dashboard.plan_service``): a release beyond the DC's free stock is refused naming the SKU."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page

from api.snapshot import LiveView, read_snapshot
from dashboard import plan_service
from ops import KeyIdentity, audit, make_engine, reading
from tests.dashboard._night import Served, Watched
from warehouse import published

ROW = "#{grid} .ag-center-cols-container .ag-row[row-index='{index}']"


def _order(order_id: str) -> str:
    """An order's row in the orders grid, by its id (rows keep their id across reloads).
    AG Grid writes the id into the ``row-id`` attribute HTML-escaped (``>`` as ``&gt;``)."""
    escaped = order_id.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"#plan-orders .ag-center-cols-container .ag-row[row-id='{escaped}']"


def _cell(page: Page, grid: str, index: int, column: str) -> str:
    return _text(page, ROW.format(grid=grid, index=index), column)


def _text(page: Page, row: str, column: str) -> str:
    selector = row + f" .ag-cell[col-id='{column}']"
    page.wait_for_function(
        "s => { const c = document.querySelector(s); return c && c.innerText.trim() !== ''; }",
        arg=selector,
    )
    return page.inner_text(selector).strip()


def _edit(page: Page, index: int, value: int) -> None:
    cell = ROW.format(grid="plan-lines", index=index) + " .ag-cell[col-id='quantity']"
    page.dblclick(cell)
    page.keyboard.press("Control+a")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def _outcome(page: Page, text: str) -> str:
    page.wait_for_function(
        "t => (document.querySelector('#plan-outcome') || {}).innerText?.includes(t)", arg=text
    )
    return page.inner_text("#plan-outcome")


def test_a_release_beyond_the_dcs_free_stock_is_refused_naming_the_sku(
    small_night: Served,
) -> None:
    """Two of the DC's orders share a SKU: the first takes all the DC has free of it."""
    engine = make_engine(small_night.ops_url)
    view = LiveView(read_snapshot(small_night.snapshots))
    who = plan_service.Reviewer(KeyIdentity("t1", "bo (planner)", "planner", None), engine, view)
    with published.open_snapshot(small_night.snapshots) as snap:
        rows = plan_service.order_page(
            who, "transfer", plan_service.OrderFilter(status="proposed"), limit=500
        ).rows
        shipping = {
            row["transfer_id"]: {
                line["sku"]
                for line in plan_service.order(who, snap, "transfer", row["transfer_id"])["lines"]
                if line["quantity"] > 0
            }
            for row in rows
            if row["from_warehouse_id"] not in view.data.forward  # from the DC
        }
        first, second, sku = next(
            (a, b, min(shipping[a] & shipping[b]))
            for a in shipping
            for b in shipping
            if a < b and shipping[a] & shipping[b]
        )
        probe = plan_service.override(who, snap, "transfer", first, sku, 1_000_000, "probe")
        found = re.search(rf"'{sku}': 1000000 asked, (\d+) free at", probe.message)
        assert not probe.ok and found, probe.message
        free = int(found.group(1))
        assert plan_service.override(who, snap, "transfer", first, sku, free, "take it all").ok
        approved = plan_service.step(who, snap, "transfer", "approve", [second])
        released = plan_service.step(who, snap, "transfer", "release", [first, second])
    engine.dispose()
    assert [o.ok for o in approved] == [True]
    assert [o.ok for o in released] == [True, False]
    assert f"'{sku}'" in released[1].message
    assert "0 free at" in released[1].message


def test_a_planner_overrides_approves_and_releases_and_the_api_sees_it(
    small_night: Served, signed_in: Watched
) -> None:
    page = signed_in.page
    with small_night.api() as api:
        listed = api.get("/v1/transfer-orders", params={"status": "proposed"}).json()["items"]
        first, second = listed[0], listed[1]
        order = api.get(f"/v1/transfer-orders/{quote(first['transfer_id'], safe='')}").json()
    # A line near the top with something to ship: the grid draws only the rows in view.
    index, line = next((i, x) for i, x in enumerate(order["lines"][:12]) if x["quantity"] > 0)

    signed_in.open("/plan")
    for chosen in (first, second):
        assert _text(page, _order(chosen["transfer_id"]), "status") == "proposed"
    page.click(_order(first["transfer_id"]) + " .ag-cell[col-id='status']")
    assert _cell(page, "plan-lines", index, "quantity") == str(line["quantity"])
    assert line["sku"] in page.inner_text(ROW.format(grid="plan-lines", index=index))

    _edit(page, index, line["quantity"] - 1)  # no reason: refused, the line shows what is stored
    assert "an override needs a reason" in _outcome(page, "refused")
    page.wait_for_function(
        "([s, q]) => document.querySelector(s)?.innerText.trim() === q",
        arg=[
            ROW.format(grid="plan-lines", index=index) + " .ag-cell[col-id='quantity']",
            str(line["quantity"]),
        ],
    )
    page.fill("#plan-reason", "the store next door closed")
    _edit(page, index, 999_999)  # more than the DC has free: refused, naming the SKU
    refusal = _outcome(page, "free at")
    assert f"'{line['sku']}': 999999 asked" in refusal
    page.fill("#plan-reason", "the store next door closed")
    _edit(page, index, line["quantity"] - 1)
    assert f"{line['sku']} set to {line['quantity'] - 1}" in _outcome(page, "✓")
    for chosen in (first, second):
        page.check(_order(chosen["transfer_id"]) + " input.ag-checkbox-input")
    page.click("#plan-approve")  # the overridden one cannot be approved; the other is
    shown = _outcome(page, f"{second['transfer_id']}: approved")
    assert "cannot go from overridden to approved" in shown
    page.click("#plan-release")
    shown = _outcome(page, f"{second['transfer_id']}: released")
    assert f"{first['transfer_id']}: released" in shown
    page.wait_for_function(
        "s => document.querySelector(s)?.innerText.trim() === 'released'",
        arg=_order(first["transfer_id"]) + " .ag-cell[col-id='status']",
    )
    trail = page.inner_text("#plan-audit")
    assert small_night.planner in trail
    assert "the store next door closed" in trail

    with small_night.api() as api:
        stored = api.get(f"/v1/transfer-orders/{quote(first['transfer_id'], safe='')}").json()
    assert stored["status"] == "released"
    changed = next(x for x in stored["lines"] if x["sku"] == line["sku"])
    assert changed["quantity"] == line["quantity"] - 1
    steps = [(s["status"], s["changed_by"], s["reason"]) for s in stored["status_history"]]
    assert steps[1:] == [
        ("overridden", small_night.planner, "the store next door closed"),
        ("released", small_night.planner, None),
    ]
    engine = make_engine(small_night.ops_url)
    with reading(engine) as conn:
        entries = audit.history(conn, "transfer_order", first["transfer_id"])
    engine.dispose()
    override = next(e for e in entries if e.action == "override")
    assert override.who == small_night.planner
    assert override.before == {"quantities": {line["sku"]: line["quantity"]}}
    assert override.after == {
        "status": "overridden",
        "quantities": {line["sku"]: line["quantity"] - 1},
    }
    signed_in.assert_clean()


def test_purchase_orders_are_on_the_same_page(small_night: Served, signed_in: Watched) -> None:
    signed_in.open("/plan?kind=purchase")
    page = signed_in.page
    assert _cell(page, "plan-orders", 0, "status") == "proposed"
    value = _cell(page, "plan-orders", 0, "value")
    assert value.startswith("¥")
    signed_in.assert_clean()
