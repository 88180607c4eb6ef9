"""Progress bars (flows/progress.py): drawn on a terminal, nothing at all otherwise."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pytest

from flows.progress import NIGHTLY_STEPS, current, progress, report_step
from tests.pipelines.ingest_support import ORDER_HEADER, line, skus, write_csv, write_parquet

SCRIPT = Path(sys.executable).with_name("partsflow")


@contextmanager
def _terminal() -> Iterator[tuple[TextIO, int]]:
    """A pseudo-terminal: the stream to draw on and the fd that reads what was drawn."""
    reader, writer = os.openpty()
    stream = os.fdopen(writer, "w", encoding="utf-8")
    try:
        yield stream, reader
    finally:
        stream.close()
        os.close(reader)


def _drawn(reader: int) -> str:
    os.set_blocking(reader, False)
    chunks = []
    while True:
        try:
            chunk = os.read(reader, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_not_a_terminal_draws_nothing_and_the_hooks_do_nothing() -> None:
    stream = io.StringIO()
    with progress("nightly", steps=NIGHTLY_STEPS, stream=stream) as bar:
        assert not bar.drawn
        assert current() is bar
        report_step("ingest")
        bar.advance()
        bar.set_total(3)
    assert stream.getvalue() == ""
    report_step("forecast")  # no bar open: nothing happens
    assert not current().drawn


def test_a_terminal_shows_the_nightly_step_under_way() -> None:
    with _terminal() as (stream, reader):
        with progress("nightly", steps=NIGHTLY_STEPS, stream=stream) as bar:
            assert bar.drawn
            report_step("ingest")
            report_step("forecast")
            bar.refresh()
            drawn = _drawn(reader)
        assert "nightly: plan" in drawn
        assert f"2/{len(NIGHTLY_STEPS)}" in drawn


def test_a_step_the_bar_does_not_know_moves_nothing() -> None:
    """A nightly inside ``simulate`` reports its steps into the bar counting nights."""
    with (
        _terminal() as (stream, reader),
        progress("simulate: 3 nights", total=3, stream=stream) as bar,
    ):
        report_step("forecast")
        bar.advance()
        bar.refresh()
        assert "1/3" in _drawn(reader)


def _cli(cwd: Path, stderr: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        check=True,
        cwd=cwd,
        timeout=120,
    )


def _on_terminal(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """Run the CLI with stderr on a pseudo-terminal: its result and what it drew there."""
    reader, writer = os.openpty()
    chunks: list[bytes] = []
    # Read while the command runs: a full terminal buffer would block its writes.
    drain = threading.Thread(target=_read_until_closed, args=(reader, chunks))
    drain.start()
    try:
        done = _cli(cwd, writer, *args)
    finally:
        os.close(writer)
        drain.join(timeout=10)
        os.close(reader)
    return done, b"".join(chunks).decode("utf-8", errors="replace")


def _read_until_closed(reader: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(reader, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            return
        if not chunk:
            return
        chunks.append(chunk)


GENERATE = ("generate", "--out", "landing", "--scale", "small")
INGEST = ("ingest", "landing", "--db", "w.duckdb")


def test_the_cli_draws_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    for args in (GENERATE, INGEST):
        done = _cli(tmp_path, subprocess.PIPE, *args)
        assert done.stderr == b""
        assert b"\x1b[" not in done.stdout
    assert b"loaded" in done.stdout  # ingest's report, as before


def test_the_cli_draws_progress_on_a_terminal(tmp_path: Path) -> None:
    done, drawn = _on_terminal(tmp_path, *GENERATE)
    assert "generate: small network into landing" in drawn
    assert done.stdout.startswith(b"generated small network")  # stdout a pipe: untouched
    done, drawn = _on_terminal(tmp_path, *INGEST)
    assert re.search(r"ingest: \S+\.(csv|parquet) loaded", drawn)  # each file as it is done
    assert b"\x1b[" not in done.stdout


@pytest.mark.usefixtures("prefect_server")
def test_the_nightly_ingest_names_each_file_on_the_bar(tmp_path: Path) -> None:
    """The nightly's ingest step (a real Prefect task) moves the bar file by file."""
    from prefect import flow

    from flows.night_inputs import ingest_landing

    @flow
    def ingest_step(db: Path, folder: Path) -> dict[str, int]:
        return ingest_landing(db, folder)

    landing = tmp_path / "landing"
    landing.mkdir()
    write_parquet(landing / "skus.parquet", skus("K1"))
    write_csv(landing / "order_lines_1.csv", ORDER_HEADER, [line(sku="K1")])
    with (
        _terminal() as (stream, reader),
        progress("nightly", steps=NIGHTLY_STEPS, stream=stream) as bar,
    ):
        counts = ingest_step(tmp_path / "w.duckdb", landing)
        bar.refresh()
        drawn = _drawn(reader)
    assert counts["files"] == 2
    assert "ingest: 2 files done, order_lines_1.csv last" in drawn
