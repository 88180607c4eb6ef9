"""``partsflow serve`` on a free loopback port, for tests that need the real server.

Started with the given environment, waited for until ``/readyz`` answers 200
(the log is shown if it exits or is not ready in 90 s), stopped with SIGTERM
(killed if it takes over 30 s).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests._postgres import free_port

PARTSFLOW = Path(sys.executable).with_name("partsflow")


@contextmanager
def running_server(work: Path, env: dict[str, str], workers: int) -> Iterator[tuple[str, Path]]:
    """The server's base URL and its log file (``work/serve.log``), while it runs."""
    port = free_port()
    log = work / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(PARTSFLOW), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
