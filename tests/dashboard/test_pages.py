"""Sign-in, the overview, the exceptions inbox, delivery and runs, in headless Chromium
against ``partsflow serve`` on the small network's first night (tests/dashboard/_night.py).

Every browser test ends with ``assert_clean``: no request left the server, the
console logged no error. Screenshots go to ``PARTSFLOW_SHOTS`` when it is set.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest
from playwright.sync_api import Page, expect

from dashboard.components import percent
from ops import audit, create_key, make_engine, reading, revoke_key
from ops import exceptions as decisions
from tests.dashboard._night import Served, Watched
from warehouse import published

pytestmark = pytest.mark.slow

# As long as the page's own timeout: a loaded CI machine compiles plotly.js slowly.
expect.set_options(timeout=20_000)


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("PARTSFLOW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _login(served: Served, token: str, origin: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{served.url}/dashboard/login",
        data={"token": token, "next": "/dashboard/runs"},
        headers={"Origin": origin or served.url},
    )


def test_a_page_needs_a_session_and_a_call_an_origin(small_night: Served) -> None:
    page = httpx.get(
        f"{small_night.url}/dashboard/exceptions?warehouse_id=FW001",
        headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"},
    )
    assert page.status_code == 303
    assert page.headers["location"] == (
        "/dashboard/login?next=/dashboard/exceptions%3Fwarehouse_id%3DFW001"
    )
    call = httpx.post(
        f"{small_night.url}/dashboard/_dash-update-component",
        json={},
        headers={"Origin": small_night.url},
    )
    assert call.status_code == 401
    elsewhere = httpx.post(
        f"{small_night.url}/dashboard/_dash-update-component",
        json={},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert elsewhere.status_code == 403
    assert _login(small_night, small_night.token, origin="http://evil.example").status_code == 403


def test_sign_in_takes_a_planner_key_only_and_sets_a_strict_cookie(small_night: Served) -> None:
    engine = make_engine(small_night.ops_url)
    with engine.begin() as conn:
        store = create_key(conn, "store", store_id="S0001").token
        gone = create_key(conn, "planner", name="gone")
        revoke_key(conn, gone.key.identity.key_id)
    engine.dispose()
    assert _login(small_night, store).status_code == 403
    assert _login(small_night, gone.token).status_code == 401
    assert _login(small_night, "pf_nothing_here").status_code == 401
    signed = _login(small_night, small_night.token)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/dashboard/runs"
    cookie = signed.headers["set-cookie"]
    for part in ("pf_session=", "HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age="):
        assert part in cookie
    assert "Secure" not in cookie  # plain http on loopback


def test_the_overview_shows_the_nights_numbers_and_trends(signed_in: Watched) -> None:
    page = signed_in.page
    signed_in.open("/")
    expect(page.locator("#ov-fill .pf-kpi-value")).to_have_text(re.compile(r"^\d+\.\d %$"))
    expect(page.locator("#ov-value .pf-kpi-value")).to_have_text(re.compile(r"^¥[\d,]+$"))
    expect(page.locator("#ov-accuracy .pf-kpi-value")).to_have_text(re.compile(r"^\d+\.\d\d$"))
    expect(page.locator("#ov-stores .pf-kpi-value")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator(".pf-trend .main-svg").first).to_be_visible()
    assert page.locator(".pf-trend").count() >= 5
    assert page.locator("#pf-planner").inner_text() == "ann (planner)"
    _shot(page, "overview")
    # One warehouse: the figures change with it.
    everything = page.locator("#ov-value .pf-kpi-value").inner_text()
    page.locator("#ov-warehouse").click()
    page.get_by_role("option").first.click()
    expect(page.locator("#ov-value .pf-kpi-value")).not_to_have_text(everything)
    signed_in.assert_clean()


def test_an_exception_opens_and_is_acknowledged_for_good(
    small_night: Served, signed_in: Watched
) -> None:
    page = signed_in.page
    signed_in.open("/exceptions")
    first = page.locator("#ex-grid .ag-center-cols-container .ag-row[row-index='0']")
    expect(first).to_be_visible()
    item_id = first.get_attribute("row-id")
    assert item_id
    expect(page.locator("#ex-count")).to_contain_text("open items")
    _shot(page, "exceptions")
    # Open it: its reason, the plan's reason, a link to its detail.
    first.locator("[col-id='reason']").click()
    detail = page.locator("#ex-detail")
    expect(detail.locator("h2")).to_be_visible()
    reason = first.locator("[col-id='reason']").inner_text()
    expect(page.locator("#ex-detail-reason")).to_have_text(reason)
    # Acknowledge it: it leaves the inbox, and the store has the decision and its audit.
    page.locator("#ex-grid .ag-row[row-index='0'] input.ag-checkbox-input").first.check()
    page.fill("#ex-reason", "seen with the DC")
    page.click("#ex-ack")
    expect(page.locator("#ex-status")).to_have_text("Acknowledged: 1 item.")
    expect(page.locator(f"#ex-grid .ag-row[row-id='{item_id}']")).to_have_count(0)
    engine = make_engine(small_night.ops_url)
    with reading(engine) as conn:
        decided = decisions.latest(conn, [item_id])[item_id]
        logged = audit.history(conn, "exception", item_id)
    engine.dispose()
    assert (decided.action, decided.who, decided.reason) == (
        "acknowledge",
        "ann (planner)",
        "seen with the DC",
    )
    assert [(e.who, e.action, e.why) for e in logged] == [
        ("ann (planner)", "acknowledge", "seen with the DC")
    ]
    # And it stays out on the next visit.
    signed_in.open("/exceptions")
    expect(page.locator("#ex-grid .ag-row[row-index='0']")).to_be_visible()
    expect(page.locator(f"#ex-grid .ag-row[row-id='{item_id}']")).to_have_count(0)
    signed_in.assert_clean()


def test_an_exceptions_link_opens_its_sku_page(signed_in: Watched) -> None:
    page = signed_in.page
    signed_in.open("/exceptions")
    link = page.locator("#ex-grid .ag-row[row-index='0'] [col-id='open'] a")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href and re.fullmatch(r"/dashboard/sku\?warehouse_id=FW\d+&sku=K\d+", href)
    link.click()
    page.wait_for_url(re.compile(r"/dashboard/sku\?"))
    sku = href.rsplit("=", 1)[1]
    expect(page.locator("#_pages_content")).to_contain_text(sku)
    signed_in.assert_clean()


def test_the_inbox_downloads_as_csv(signed_in: Watched) -> None:
    page = signed_in.page
    signed_in.open("/exceptions")
    expect(page.locator("#ex-grid .ag-row[row-index='0']")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    assert '"Kind"' in header and '"Why"' in header
    assert len(text.splitlines()) > 1
    signed_in.assert_clean()


def test_delivery_draws_the_stores_in_their_ring(signed_in: Watched) -> None:
    page = signed_in.page
    signed_in.open("/delivery?warehouse_id=FW001")
    expect(page.locator("#dl-stores .pf-kpi-value")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#dl-map .main-svg").first).to_be_visible()
    stores = int(page.locator("#dl-stores .pf-kpi-value").inner_text())
    # One marker a store (within the promise or not), one square a warehouse.
    assert page.locator("#dl-map .scatterlayer .point").count() >= stores
    expect(page.locator("#dl-linehaul .main-svg").first).to_be_visible()
    _shot(page, "delivery")
    signed_in.assert_clean()


def test_delivery_draws_the_replayed_days_delivery_times(
    small_night: Served, signed_in: Watched
) -> None:
    page = signed_in.page
    signed_in.open("/delivery?warehouse_id=FW001")
    histogram = page.locator("#dl-histogram")
    expect(histogram.locator(".main-svg").first).to_be_visible()
    with published.open_snapshot(small_night.snapshots) as snap:
        kpis = published.dispatch_kpis(snap, "FW001")
        times = published.dispatch_delivery_times(snap, "FW001")
    assert times is not None and kpis.height == 2
    # One bar trace per dispatcher, named with the replay's on-time rate, and the promise.
    expect(histogram.locator(".legendtext")).to_have_text(
        [
            f"{name}: {percent(kpis.filter(dispatcher=name)['on_time_rate'][0])} on time"
            for name in ("rolling", "naive")
        ]
    )
    assert histogram.locator(".barlayer .trace").count() == 2
    expect(histogram).to_contain_text("30-minute promise")
    # The bars count the replay's orders, each once; those up to 30 minutes are its on-time.
    for row in kpis.iter_rows(named=True):
        mine = times.filter(pl.col("dispatcher") == row["dispatcher"])
        assert mine["orders"].sum() == row["orders"] > 0
        assert mine.filter(pl.col("minutes") <= 30)["orders"].sum() == row["on_time"]
    hours = page.locator("#dl-hours")
    expect(hours.locator(".legendtext")).to_have_text(
        ["orders placed", "rolling on time", "naive on time"]
    )
    assert hours.locator(".barlayer .point").count() == times["hour"].n_unique()
    _shot(page, "delivery-times")
    signed_in.assert_clean()


def test_delivery_says_when_a_snapshot_predates_the_delivery_times(
    small_night: Served, signed_in: Watched, tmp_path: Path
) -> None:
    served = small_night.snapshots / published.SNAPSHOT_NAME
    kept, older = tmp_path / "kept.duckdb", tmp_path / "older.duckdb"
    shutil.copy2(served, kept)
    shutil.copy2(served, older)
    with duckdb.connect(str(older)) as con:  # as published before migration 0011
        con.execute("DROP TABLE dispatch_delivery_times")
    os.replace(older, served)
    try:
        page = signed_in.page
        signed_in.open("/delivery?warehouse_id=FW001")
        expect(page.locator("#dl-body .pf-notice").first).to_contain_text(
            "distribution is not available for this snapshot"
        )
        # The replay's KPIs and the rest of the page are still there.
        expect(page.locator("#dl-body .pf-table").first).to_contain_text("rolling")
        expect(page.locator("#dl-map .main-svg").first).to_be_visible()
        assert page.locator("#dl-histogram, #dl-hours").count() == 0
        signed_in.assert_clean()
    finally:
        os.replace(kept, served)


def test_runs_lists_the_night_with_its_steps(small_night: Served, signed_in: Watched) -> None:
    page = signed_in.page
    signed_in.open("/runs")
    row = page.locator("#runs-grid .ag-row", has_text="nightly-")
    expect(row.first).to_be_visible()
    expect(row.first.locator("[col-id='status']")).to_have_text("succeeded")
    expect(page.locator("#runs-latest .pf-kpi-value")).to_have_text("succeeded")
    steps = page.locator("#runs-steps")
    expect(steps).to_contain_text("series")
    # The night recorded each step's seconds: forecasting took some.
    expect(steps.locator("tr", has_text="forecast")).to_contain_text(re.compile(r"\d+\.\d s"))
    _shot(page, "runs")
    signed_in.assert_clean()


def test_sign_out_ends_the_session(signed_in: Watched) -> None:
    page = signed_in.page
    signed_in.open("/runs")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/dashboard/login$"))
    signed_in.open("/")
    page.wait_for_url(re.compile(r"/dashboard/login\?next="))
    expect(page.locator("#token")).to_be_visible()
    signed_in.assert_clean()
