"""Plan review in headless Chromium against ``partsflow serve``: a planner overrides a line
with a reason (refused without one, and beyond the DC's free stock), approves and releases
orders, and the API shows the decision persisted and audited."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Page

from ops import audit, make_engine, reading
from tests.dashboard._night import Served, Watched

ROW = "#{grid} .ag-center-cols-container .ag-row[row-index='{index}']"


def _cell(page: Page, grid: str, index: int, column: str) -> str:
    selector = ROW.format(grid=grid, index=index) + f" .ag-cell[col-id='{column}']"
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
    assert _cell(page, "plan-orders", 0, "status") == "proposed"
    assert _cell(page, "plan-orders", 1, "status") == "proposed"
    page.click(ROW.format(grid="plan-orders", index=0) + " .ag-cell[col-id='status']")
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
    assert _cell(page, "plan-orders", 0, "status") in {"overridden", "proposed"}

    for row in (0, 1):
        page.check(ROW.format(grid="plan-orders", index=row) + " input.ag-checkbox-input")
    page.click("#plan-approve")  # the overridden one cannot be approved; the other is
    shown = _outcome(page, f"{second['transfer_id']}: approved")
    assert "cannot go from overridden to approved" in shown
    page.click("#plan-release")
    shown = _outcome(page, f"{second['transfer_id']}: released")
    assert f"{first['transfer_id']}: released" in shown
    page.wait_for_function(
        "s => document.querySelector(s)?.innerText.trim() === 'released'",
        arg=ROW.format(grid="plan-orders", index=0) + " .ag-cell[col-id='status']",
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
