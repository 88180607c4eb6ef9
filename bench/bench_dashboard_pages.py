"""How fast the dashboard's pages answer: sign in, then load each page in headless Chromium.

Starts ``partsflow serve`` (one worker) on a free loopback port over a copy of
the given snapshot folder and operational store (never the originals), makes
a planner key, signs in, and loads every page three times: the time is from
navigation (from a blank tab; the scripts are in the browser's cache, as
for a planner's second page) to the page's content drawn (Dash renders after
its own XHRs, so ``load`` alone says nothing), and to the network idle
(Playwright's: no request for 500 ms, included). Prints the
median and the worst per page, and saves a screenshot of each page.

    .venv/bin/python bench/bench_dashboard_pages.py --published /tmp/fn/published \
        --ops /tmp/fn/ops.sqlite3 --shots /tmp/dashboard-shots

Needs Debian's chromium (``/usr/bin/chromium``); never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PARTSFLOW = Path(sys.executable).with_name("partsflow")
#: Each page and what shows its content is drawn (Dash draws after its own requests).
PAGES = {
    "": "#ov-fill, #ov-body .pf-notice",
    "exceptions": "#ex-grid .ag-row, #ex-body .pf-notice",
    "plan": "#_pages_content .ag-row, #_pages_content .pf-notice",
    "targets": "#_pages_content .main-svg, #_pages_content .pf-notice",
    "delivery": "#dl-hours .main-svg, #dl-cards .pf-notice",
    "runs": "#runs-grid .ag-row",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--published", type=Path, required=True)
    parser.add_argument("--ops", type=Path, required=True, help="an ops.sqlite3 file")
    parser.add_argument("--shots", type=Path, default=Path("/tmp/dashboard-shots"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    parser.add_argument("--slowest", type=int, default=0, help="print the N slowest requests")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    shutil.copytree(args.published, work / "published")
    shutil.copy(args.ops, work / "ops.sqlite3")
    env = {
        **os.environ,
        "PARTSFLOW_SNAPSHOT_DIR": str(work / "published"),
        "PARTSFLOW_OPS_URL": f"sqlite:///{work / 'ops.sqlite3'}",
    }
    token = subprocess.run(
        [str(PARTSFLOW), "api-key", "create", "--role", "planner", "--name", "bench planner"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with (work / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [str(PARTSFLOW), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    try:
        _wait(f"{base}/readyz")
        args.shots.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "console",
                lambda m: m.type == "error" and print(f"console error: {m.text}", flush=True),
            )
            page.on("pageerror", lambda e: print(f"page error: {e}", flush=True))
            page.goto(f"{base}/dashboard/login")
            page.fill("#token", token)
            page.click("button[type=submit]")
            page.wait_for_selector(".pf-header")
            print(f"{'page':<14}{'drawn s':>9}{'worst':>7}{'idle s':>9}{'worst':>7}")
            for name in args.pages:
                drawn, idle = [], []
                for _ in range(args.runs):
                    # From a blank page: leaving a page of plotly charts costs the browser
                    # ~0.5 s of its own before the next request is sent.
                    page.goto("about:blank")
                    started = time.perf_counter()
                    page.goto(f"{base}/dashboard/{name}", wait_until="commit")
                    try:
                        page.wait_for_selector(PAGES.get(name, "#_pages_content > *"))
                    except PlaywrightTimeoutError:
                        print(f"/{name}: its content did not show in 30 s", flush=True)
                        break
                    drawn.append(time.perf_counter() - started)
                    # Playwright's network idle: no request for 500 ms (included here).
                    page.wait_for_load_state("networkidle")
                    idle.append(time.perf_counter() - started)
                page.screenshot(path=str(args.shots / f"{name or 'overview'}.png"), full_page=True)
                if not drawn:
                    continue
                print(
                    f"{'/' + name:<14}{statistics.median(drawn):>9.2f}{max(drawn):>7.2f}"
                    f"{statistics.median(idle):>9.2f}{max(idle):>7.2f}"
                )
            browser.close()
        if args.slowest:
            _slowest(work / "serve.log", args.slowest)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _slowest(log: Path, count: int) -> None:
    """The server's slowest dashboard requests, from its access log."""
    import json

    rows = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"/dashboard' in line:
            entry = json.loads(line)
            rows.append((entry["duration_ms"], entry["method"], entry["path"]))
    for ms, method, path in sorted(rows, reverse=True)[:count]:
        print(f"slow {ms:>9.1f} ms  {method} {path}")


def _wait(url: str, timeout_s: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server at {url} did not get ready in {timeout_s:.0f} s")


if __name__ == "__main__":
    main()
