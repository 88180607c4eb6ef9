"""A small network's night served by ``partsflow serve``, and a signed-in Chromium page.

For the plan-review, drill-down and targets tests: the small generated network
(seed 11) planned by the real nightly flow, its busiest day of store deliveries
replayed by the dispatch review (``RIDERS`` riders a warehouse: the rolling
dispatcher keeps most promises, the naive one has a tail to draw), its orders
published into a SQLite operational store, served on loopback by one worker; Debian's
``chromium`` driven by Playwright (never a downloaded browser). The page
records every request that leaves the server and every console error, which
each test asserts are none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

import flows
from ops import create_key, make_engine
from pipelines.generate import generate
from settings import DataPaths, Settings
from tests._serve import running_server

CHROMIUM = "/usr/bin/chromium"
NIGHT = Settings(forecast_horizon_days=7, linehaul_time_limit_s=1.0).nightly_params()
#: Riders per warehouse in the dispatch replay (a fixed fleet: no fleet-sizing search).
RIDERS = 10


@dataclass(frozen=True)
class Served:
    """The running server: its URL, a planner's token and name, the store, the snapshot."""

    url: str
    token: str
    planner: str
    ops_url: str
    snapshots: Path
    log: Path

    def api(self) -> httpx.Client:
        """An API client with the planner's key."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


@dataclass
class Watched:
    """A signed-in page, with the requests that left the server and the console's errors."""

    page: Page
    base: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        """Go to ``/dashboard<path>``."""
        self.page.goto(f"{self.base}/dashboard{path}")

    def assert_clean(self) -> None:
        """Nothing left the server and the console logged no error."""
        assert self.outside == []
        assert self.errors == []


@pytest.fixture(scope="session")
def small_night(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The small network's first night and a replayed day, published and served (~1 min)."""
    work = tmp_path_factory.mktemp("dashboard-night")
    landing = work / "landing"
    generate(landing, scale="small", seed=11)
    ops_url = f"sqlite:///{work / 'ops.sqlite3'}"
    paths = DataPaths(work / "w.duckdb", landing, work / "published", ops_url=ops_url)
    flows.nightly(paths, NIGHT)
    flows.dispatch_review(paths, riders=RIDERS)  # republishes the night with the replay
    engine = make_engine(ops_url)
    with engine.begin() as conn:
        token = create_key(conn, "planner", name="ann (planner)").token
    engine.dispose()
    env = {
        **os.environ,
        "PARTSFLOW_SNAPSHOT_DIR": str(paths.snapshots),
        "PARTSFLOW_OPS_URL": ops_url,
    }
    with running_server(work, env, 1) as (url, log):
        yield Served(url, token, "ann (planner)", ops_url, paths.snapshots, log)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium (fails with the install command when it is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as play:
        browser = play.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def signed_in(small_night: Served, chromium: Browser) -> Iterator[Watched]:
    """A fresh browser context signed in with the planner's key."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    watched = Watched(page, small_night.url)
    page.on(
        "request",
        lambda r: None if r.url.startswith(small_night.url) else watched.outside.append(r.url),
    )
    page.on("console", lambda m: m.type == "error" and watched.errors.append(m.text))
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.goto(f"{small_night.url}/dashboard/login")
    page.fill("#token", small_night.token)
    page.press("#token", "Enter")
    page.wait_for_selector(".pf-header")
    yield watched
    context.close()
