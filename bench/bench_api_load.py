"""The HTTP API under load (issue 13): availability and order creation against ``partsflow serve``.

For each backend (SQLite in WAL mode, and PostgreSQL in a throw-away cluster
this script starts and stops), on a copy of a published snapshot (the medium
network's by default):

1. per repetition, a fresh operational store (so each starts from the
   snapshot's stock), one store key per store (``--keys`` stores),
   made in process with ``ops.create_key`` exactly as ``partsflow api-key
   create`` makes them. Each request is sent with a random store's key, so at
   1,000 requests/s over 200 keys a key sends ~5 a second: the rate limit
   stays at its defaults (50/s, burst 100, per key and worker) and a 429
   would show in the status mix;
2. ``partsflow serve --workers N`` on a free loopback port, waited for until
   every worker has started and ``/readyz`` says 200;
3. per concurrency, three bounded phases of ``--duration``
   seconds at a fixed concurrency (a closed loop: each connection sends its
   next request when the last answer is in, and every request started before
   the deadline is let finish, so nothing is in flight at the end):
   ``GET /healthz`` (the baseline of the server + client stack), ``GET
   .../availability`` of 10 SKUs, and ``POST .../orders`` with a unique
   ``Idempotency-Key`` each;
4. after the server has stopped, a read-only check of the store: every 201
   the client saw is stored exactly once with its lines, nothing else is
   stored, and no (warehouse, SKU) counter has more reserved than its base
   (read, and recounted from the order lines).

Requests are what store systems send: availability asks 8 SKUs stocked at
the store's own warehouse (>= 10 units in the snapshot's base) and 2 from the
whole catalogue (often out of stock there, so the alternative is looked up);
orders are 1-3 lines of 1-2 units of stocked SKUs, and ``--race-share`` of
them ask 1 unit of a few scarce SKUs (1-3 units in the base) that every store
of the warehouse orders, so 409s happen and an oversell would show. The
stores are those with no other warehouse in reach, so a scarce SKU cannot be
sourced elsewhere.

The load generator is a small asyncio HTTP/1.1 client on keep-alive
connections (below), not httpx or locust: on a 2-core machine the client's
CPU is taken from the server, and a client that parses nothing but the
status line, ``Content-Length`` and the order answers costs a fraction of
either. Its own CPU and the server's are reported per phase.

    .venv/bin/python bench/bench_api_load.py [--snapshot /tmp/fn/published]
        [--backend sqlite|postgresql|both] [--duration 15] [--concurrency 16[,32...]]
        [--workers 2] [--repeat 3] [--keys 200] [--race-share 0.2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
from sqlalchemy import select

from api.promise import LOCAL
from api.snapshot import SnapshotData, read_snapshot
from ops import active_run, create_key, make_engine, reading, upgrade
from ops.schema import idempotency_records, part_order_lines, part_orders, stock_reservations

# The throw-away cluster of the store's tests (tests/_postgres.py): the repository root is
# not on the path of a script run from bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._postgres import free_port, throwaway_cluster

PARTSFLOW = Path(sys.executable).with_name("partsflow")
HOST = "127.0.0.1"
SCENARIOS = ("healthz", "availability", "orders")
EXPECTED = {"healthz": {200}, "availability": {200}, "orders": {201, 409}}
TARGETS = {"availability": (1000.0, 50.0), "orders": (200.0, 100.0)}  # requests/s, p99 ms
STOCKED_MIN = 10  # units in the base for a SKU to count as stocked at a warehouse
REQUEST_TIMEOUT_S = 30.0


# ---------------------------------------------------------------- the workload


@dataclass(frozen=True)
class Workload:
    """Who asks for what: stores with keys, their stocked SKUs, and the scarce races."""

    stores: tuple[str, ...]
    stocked: dict[str, tuple[str, ...]]  # store -> SKUs with >= STOCKED_MIN at its warehouse
    catalogue: tuple[str, ...]
    races: tuple[tuple[str, str], ...]  # (store, scarce SKU at its warehouse)
    scarce: dict[tuple[str, str], int]  # (warehouse, SKU) -> units in the base


def plan_workload(data: SnapshotData, keys: int, scarce_per_warehouse: int = 4) -> Workload:
    """Stores with no other warehouse in reach, their stocked SKUs and a few scarce ones."""
    now = datetime.now(UTC)
    base = {(b.warehouse_id, b.sku): b.base for b in data.bases(now.astimezone(LOCAL).date(), now)}
    by_warehouse: defaultdict[str, list[str]] = defaultdict(list)
    for (warehouse_id, sku), units in sorted(base.items()):
        if units >= STOCKED_MIN:
            by_warehouse[warehouse_id].append(sku)
    alone = sorted(
        s.store_id
        for s in data.stores.values()
        if not s.others and len(by_warehouse[s.warehouse_id]) >= 10
    )
    stores = tuple(random.Random(13).sample(alone, min(keys, len(alone))))
    home = {s: data.stores[s].warehouse_id for s in stores}
    scarce: dict[tuple[str, str], int] = {}
    for warehouse_id in sorted(set(home.values())):
        few = [sku for (w, sku), units in sorted(base.items()) if w == warehouse_id and units <= 3]
        for sku in random.Random(warehouse_id).sample(few, min(scarce_per_warehouse, len(few))):
            scarce[warehouse_id, sku] = base[warehouse_id, sku]
    return Workload(
        stores=stores,
        stocked={s: tuple(by_warehouse[home[s]]) for s in stores},
        catalogue=tuple(sorted(data.skus)),
        races=tuple((s, sku) for s in stores for (w, sku) in scarce if w == home[s]),
        scarce=scarce,
    )


@dataclass(frozen=True)
class Call:
    """One request as bytes, and for an order what it asked (to check against the store)."""

    head: bytes
    body: bytes = b""
    order: tuple[str, tuple[tuple[str, int], ...]] | None = None


def _head(method: str, target: str, token: str | None, body: bytes, extra: str = "") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Requests:
    """Draws the next request of a scenario (each connection has its own random stream)."""

    def __init__(self, work: Workload, tokens: dict[str, str], race_share: float) -> None:
        self.work = work
        self.tokens = tokens
        self.race_share = race_share
        self.run = uuid.uuid4().hex[:8]
        self.sent = 0

    def healthz(self, _rng: random.Random) -> Call:
        return Call(_head("GET", "/healthz", None, b""))

    def availability(self, rng: random.Random) -> Call:
        store = rng.choice(self.work.stores)
        skus = rng.sample(self.work.stocked[store], 8) + rng.sample(self.work.catalogue, 2)
        query = "&".join(f"sku={quote(s)}" for s in skus)
        target = f"/v1/stores/{quote(store)}/availability?{query}"
        return Call(_head("GET", target, self.tokens[store], b""))

    def orders(self, rng: random.Random) -> Call:
        if self.work.races and rng.random() < self.race_share:
            store, sku = rng.choice(self.work.races)
            lines: tuple[tuple[str, int], ...] = ((sku, 1),)
        else:
            store = rng.choice(self.work.stores)
            skus = rng.sample(self.work.stocked[store], rng.randint(1, 3))
            lines = tuple((sku, rng.randint(1, 2)) for sku in skus)
        self.sent += 1
        body = json.dumps(
            {"lines": [{"sku": s, "quantity": q} for s, q in lines], "reference": "bench"}
        ).encode()
        key = f"Idempotency-Key: bench-{self.run}-{self.sent}"
        head = _head("POST", f"/v1/stores/{quote(store)}/orders", self.tokens[store], body, key)
        return Call(head, body, (store, lines))


# ---------------------------------------------------------------- the client


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read status and body.

    Just enough HTTP for uvicorn's answers, which always carry
    ``Content-Length``: a chunked answer is refused rather than misread.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, call: Call) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(call.head + call.body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ValueError(f"chunked answer ({status}): this client reads Content-Length")
        body = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body


@dataclass
class Ledger:
    """What the client was told: every 201 order (id -> store and lines) and the odd answers."""

    accepted: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = field(default_factory=dict)
    duplicate_ids: int = 0
    odd: list[str] = field(default_factory=list)

    def note(self, scenario: str, call: Call, status: int, body: bytes) -> None:
        if call.order is not None and status == 201:
            order_id = json.loads(body)["order_id"]
            self.duplicate_ids += order_id in self.accepted
            self.accepted[order_id] = call.order
        elif status not in EXPECTED[scenario] and len(self.odd) < 10:
            self.odd.append(f"{scenario} {status}: {body[:300]!r}")


@dataclass
class Phase:
    """One bounded phase's figures."""

    backend: str
    scenario: str
    repeat: int
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    client_cores: float
    server_cores: float
    machine_cores: float  # busy CPU of the whole machine (PostgreSQL and other agents too)
    load: str
    spread: list[int]  # the client's connections held by each worker
    offered: float | None = None  # open loop: the arrival rate asked for (requests/s)
    offered_requests: int | None = None  # open loop: how many requests that made

    @property
    def loop(self) -> str:
        """How the load was made: ``c=16`` (closed loop) or ``1,000/s on 64`` (open loop)."""
        if self.offered is None:
            return f"closed, {self.concurrency} conns"
        return f"open, {self.offered:,.0f}/s on {self.concurrency} conns"

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of a sorted list, in ms."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank] * 1000


def _busy(times: Any) -> float:
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _server_cpu(server: psutil.Process) -> float:
    total = 0.0
    for process in [server, *server.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _connections_per_worker(server: Served) -> list[int]:
    """How many established connections to the port each worker process holds."""
    counts = []
    for worker in server.process.children():
        try:
            if "resource_tracker" in " ".join(worker.cmdline()):  # multiprocessing's helper
                continue
            held = worker.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        counts.append(
            sum(
                1
                for c in held
                if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == server.port
            )
        )
    return sorted(counts, reverse=True)


@dataclass(frozen=True)
class Traffic:
    """A phase's requests: how to draw the next, what to do with an answer, and a look at
    how the connections spread over the workers once they are open."""

    draw: Callable[[random.Random], Call]
    on_answer: Callable[[Call, int, bytes], None]
    on_open: Callable[[], list[int]]


async def _phase(
    port: int, concurrency: int, duration: float, traffic: Traffic, seed: int
) -> tuple[int, float, list[float], Counter[str], list[int]]:
    """Run ``concurrency`` closed loops for ``duration`` s; let every started request finish."""
    draw, on_answer, on_open = traffic.draw, traffic.on_answer, traffic.on_open
    connections = [Connection(port) for _ in range(concurrency)]
    for connection in connections:
        # One by one, as independent store systems connect: opened in one burst, they would
        # all be accepted by the worker that wakes first (asyncio accepts up to 100 a wake-up).
        await connection.open()
        await asyncio.sleep(0.005)
    spread = on_open()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    deadline = started + duration

    async def loop(connection: Connection, rng: random.Random) -> None:
        while time.perf_counter() < deadline:
            call = draw(rng)
            sent = time.perf_counter()
            answer = await _exchange(connection, call, statuses)
            if answer is not None:
                latencies.append(time.perf_counter() - sent)
                on_answer(call, *answer)

    await asyncio.gather(
        *(loop(c, random.Random(seed * 1000 + n)) for n, c in enumerate(connections))
    )
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in connections))
    return len(latencies), elapsed, sorted(latencies), statuses, spread


async def _exchange(
    connection: Connection, call: Call, statuses: Counter[str]
) -> tuple[int, bytes] | None:
    """Send ``call`` and count its status; a transport error is counted, closes the
    connection (the next send opens it again) and gives ``None``."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            status, body = await connection.send(call)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
        statuses[f"error {type(error).__name__}"] += 1
        await connection.close()
        return None
    statuses[str(status)] += 1
    return status, body


async def _open_phase(
    port: int, connections_n: int, rate: float, duration: float, traffic: Traffic, seed: int
) -> tuple[int, float, list[float], Counter[str], list[int]]:
    """Send ``rate`` x ``duration`` requests at random (Poisson) moments over ``duration`` s.

    An open loop: a request is due at its moment whether or not earlier ones
    were answered, and its latency runs from that moment, so time spent
    waiting for a free connection (the server falling behind) counts, and a
    slow answer cannot hold the next requests back (no coordinated omission).
    The moments are ``rate x duration`` points drawn uniformly over the phase
    (a Poisson process of that rate, given its count), so every run offers
    exactly the same number of requests.
    """
    draw, on_answer, on_open = traffic.draw, traffic.on_answer, traffic.on_open
    connections = [Connection(port) for _ in range(connections_n)]
    for connection in connections:
        await connection.open()
        await asyncio.sleep(0.005)
    spread = on_open()
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        free.put_nowait(connection)
    rng = random.Random(seed)
    count = round(rate * duration)
    moments = sorted(rng.uniform(0, duration) for _ in range(count))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()

    async def one(due: float, call: Call) -> None:
        connection = await free.get()
        try:
            answer = await _exchange(connection, call, statuses)
        finally:
            free.put_nowait(connection)
        if answer is not None:
            latencies.append(time.perf_counter() - due)
            on_answer(call, *answer)

    started = time.perf_counter()
    tasks = []
    for moment in moments:
        due = started + moment
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(due, draw(rng))))
    await asyncio.gather(*tasks)
    elapsed = max(duration, time.perf_counter() - started)
    await asyncio.gather(*(c.close() for c in connections))
    return len(latencies), elapsed, sorted(latencies), statuses, spread


@dataclass(frozen=True)
class Served:
    """A running ``partsflow serve``: its backend, port and process (workers are children)."""

    backend: str
    port: int
    process: psutil.Process


@dataclass(frozen=True)
class Load:
    """A phase to run: a closed loop on ``connections``, or with ``rate`` an open loop at
    that many requests a second over at most ``connections``."""

    scenario: str
    repeat: int
    connections: int
    duration: float
    rate: float | None = None


def measure(server: Served, requests: Requests, ledger: Ledger, load_made: Load) -> Phase:
    """One phase, with the client's and the server's CPU over it."""
    scenario, repeat, concurrency = load_made.scenario, load_made.repeat, load_made.connections
    duration, rate = load_made.duration, load_made.rate
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    cpu_client, cpu_server = time.process_time(), _server_cpu(server.process)
    machine = psutil.cpu_times()
    draw: Callable[[random.Random], Call] = getattr(requests, scenario)

    def on_answer(call: Call, status: int, body: bytes) -> None:
        ledger.note(scenario, call, status, body)

    def on_open() -> list[int]:
        return _connections_per_worker(server)

    seed = repeat * 7 + concurrency
    traffic = Traffic(draw, on_answer, on_open)
    count, seconds, latencies, statuses, spread = asyncio.run(
        _phase(server.port, concurrency, duration, traffic, seed)
        if rate is None
        else _open_phase(server.port, concurrency, rate, duration, traffic, seed)
    )
    return Phase(
        backend=server.backend,
        scenario=scenario,
        repeat=repeat,
        concurrency=concurrency,
        requests=count,
        seconds=seconds,
        p50_ms=_percentile(latencies, 50),
        p95_ms=_percentile(latencies, 95),
        p99_ms=_percentile(latencies, 99),
        max_ms=latencies[-1] * 1000 if latencies else float("nan"),
        statuses=dict(sorted(statuses.items())),
        client_cores=(time.process_time() - cpu_client) / seconds,
        server_cores=(_server_cpu(server.process) - cpu_server) / seconds,
        machine_cores=(_busy(psutil.cpu_times()) - _busy(machine)) / seconds,
        load=load,
        spread=spread,
        offered=rate,
        offered_requests=None if rate is None else round(rate * duration),
    )


# ---------------------------------------------------------------- store and server


@contextmanager
def operational_store(backend: str, work_dir: Path) -> Iterator[str]:
    """The URL of an empty store: a SQLite file in ``work_dir``, or a new PostgreSQL cluster."""
    if backend == "sqlite":
        yield f"sqlite:///{work_dir / 'ops.sqlite3'}"
        return
    # max_connections: each worker's pool holds up to 15 (SQLAlchemy's 5 + 10 overflow).
    with throwaway_cluster(max_connections=100) as cluster:
        yield cluster.url("postgres")


def make_keys(ops_url: str, stores: tuple[str, ...]) -> dict[str, str]:
    """A store key per store, as ``partsflow api-key create --store`` makes it."""
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            return {s: create_key(conn, "store", store_id=s, by="bench").token for s in stores}
    finally:
        engine.dispose()


@contextmanager
def serve(
    backend: str, snapshot_dir: Path, ops_url: str, workers: int, work_dir: Path
) -> Iterator[Served]:
    """``partsflow serve`` on a free loopback port, ready on every worker; SIGTERM after."""
    port = free_port()
    log = work_dir / "serve.log"
    env = {**os.environ, "PARTSFLOW_SNAPSHOT_DIR": str(snapshot_dir), "PARTSFLOW_OPS_URL": ops_url}
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(PARTSFLOW), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work_dir,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"partsflow serve exited:\n{log.read_text()[-3000:]}")
            started = log.read_text().count("Application startup complete")
            if started >= workers and _ready(port):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"partsflow serve not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Served(backend, port, psutil.Process(process.pid))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _server_errors(log: Path, keep: int = 5) -> list[str]:
    """The server's own error lines (not the access log), shortened to their last line."""
    errors = []
    for line in log.read_text().splitlines():
        if '"level": "error"' in line:
            record = json.loads(line)
            last = (record.get("exc") or "").strip().splitlines()[-1:] or [record.get("msg")]
            errors.append(f"server error on {record.get('path')}: {last[0]}")
    return [*errors[:keep], *([f"... {len(errors) - keep} more"] if len(errors) > keep else [])]


def _ready(port: int) -> bool:
    async def ask() -> int:
        connection = Connection(port)
        try:
            status, _ = await connection.send(Call(_head("GET", "/readyz", None, b"")))
        finally:
            await connection.close()
        return status

    try:
        return asyncio.run(ask()) == 200
    except OSError:
        return False


# ---------------------------------------------------------------- the checks


@dataclass(frozen=True)
class Checks:
    """What the store holds after the run, against what the client was told."""

    accepted: int
    duplicate_ids: int
    stored: int
    missing: int
    unexpected: int
    wrong_lines: int
    idempotency_records: int
    counters: int
    oversold: int
    recount_off: int
    scarce_sold: int
    scarce_base: int

    @property
    def ok(self) -> bool:
        return (
            self.duplicate_ids == self.missing == self.unexpected == self.wrong_lines == 0
            and self.stored == self.accepted == self.idempotency_records
            and self.oversold == self.recount_off == 0
            and self.scarce_sold <= self.scarce_base
        )


def check_store(ops_url: str, ledger: Ledger, scarce: dict[tuple[str, str], int]) -> Checks:
    """Read the store (read-only) and compare it with the ledger."""
    engine = make_engine(ops_url)
    try:
        with reading(engine) as conn:
            orders = {
                r.order_id: r
                for r in conn.execute(
                    select(
                        part_orders.c.order_id,
                        part_orders.c.store_id,
                        part_orders.c.status,
                        part_orders.c.created_at,
                    )
                )
            }
            lines: defaultdict[str, list[Any]] = defaultdict(list)
            for r in conn.execute(
                select(part_order_lines).order_by(
                    part_order_lines.c.order_id, part_order_lines.c.line_no
                )
            ):
                lines[r.order_id].append(r)
            records = conn.execute(
                select(idempotency_records.c.status_code).where(
                    idempotency_records.c.status_code == 201
                )
            ).all()
            run = active_run(conn)
            counters = conn.execute(
                select(stock_reservations).where(stock_reservations.c.plan_run_id == run)
            ).all()
    finally:
        engine.dispose()
    seen = ledger.accepted
    wrong = sum(
        1
        for order_id, (store, asked) in seen.items()
        if order_id in orders
        and (
            orders[order_id].store_id != store
            or tuple((r.sku, r.quantity) for r in lines[order_id]) != asked
        )
    )
    counted_at = {(c.warehouse_id, c.sku): c.counted_at for c in counters}
    recount: Counter[tuple[str, str]] = Counter()  # as ops.reservations._sold_since_count
    for order_id, order in orders.items():
        if order.status == "cancelled":
            continue
        for r in lines[order_id]:
            since = counted_at.get((r.warehouse_id, r.sku))
            if since is not None and order.created_at > since:
                recount[r.warehouse_id, r.sku] += r.quantity
    return Checks(
        accepted=len(seen),
        duplicate_ids=ledger.duplicate_ids,
        stored=len(orders),
        missing=len(set(seen) - set(orders)),
        unexpected=len(set(orders) - set(seen)),
        wrong_lines=wrong,
        idempotency_records=len(records),
        counters=len(counters),
        oversold=sum(
            1 for c in counters if c.reserved > c.base or recount[c.warehouse_id, c.sku] > c.base
        ),
        recount_off=sum(1 for c in counters if c.reserved != recount[c.warehouse_id, c.sku]),
        scarce_sold=sum(recount[pair] for pair in scarce),
        scarce_base=sum(scarce.values()),
    )


# ---------------------------------------------------------------- the report


def _mix(statuses: dict[str, int]) -> str:
    return ", ".join(f"{code}: {count:,}" for code, count in statuses.items())


def report(phases: list[Phase], checks: dict[str, Checks]) -> str:
    """Per-phase rows, then medians per backend, scenario and concurrency, then the checks."""
    out = [
        "| backend | scenario | load made | rep | requests | req/s | p50 ms | p95 ms | p99 ms | "
        "max ms | statuses | client cores | server cores | machine cores | conns per worker | "
        "load (1/5/15 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {p.backend} | {p.scenario} | {p.loop} | {p.repeat} | {p.requests:,} | "
        f"{p.throughput:,.0f} | {p.p50_ms:.1f} | {p.p95_ms:.1f} | {p.p99_ms:.1f} | "
        f"{p.max_ms:.0f} | {_mix(p.statuses)} | {p.client_cores:.2f} | {p.server_cores:.2f} | "
        f"{p.machine_cores:.2f} | "
        f"{'/'.join(map(str, p.spread))} | {p.load} |"
        for p in phases
    ]
    groups: defaultdict[tuple[str, str, str], list[Phase]] = defaultdict(list)
    for p in phases:
        groups[p.backend, p.loop, p.scenario].append(p)
    baselines = {
        (p.backend, p.concurrency): groups[p.backend, p.loop, p.scenario]
        for p in phases
        if p.scenario == "healthz" and p.offered is None
    }
    out += [
        "",
        "Medians over the repetitions (ratio: req/s over `/healthz`'s in the same repetitions):",
        "",
        "| backend | load made | scenario | req/s | of which 201/s | p50 ms | p95 ms | p99 ms | "
        "ratio to healthz | statuses (all reps) | target | met? |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (backend, loop, scenario), rows in groups.items():
        rate = statistics.median(p.throughput for p in rows)
        healthz = baselines.get((backend, rows[0].concurrency)) if rows[0].offered is None else None
        ratio = f"{rate / statistics.median(p.throughput for p in healthz):.2f}" if healthz else ""
        p99 = statistics.median(p.p99_ms for p in rows)
        total: Counter[str] = Counter()
        for p in rows:
            total.update(p.statuses)
        target, met = "", ""
        if scenario in TARGETS:
            want_rate, want_p99 = TARGETS[scenario]
            target = f">= {want_rate:,.0f}/s, p99 <= {want_p99:.0f} ms"
            failed = any(code.startswith(("5", "error")) for code in total)
            offered = rows[0].offered
            if offered is not None:  # open loop: every request offered was answered
                answered = all(p.requests == p.offered_requests for p in rows)
                rate_ok = offered >= want_rate and answered
            else:
                rate_ok = rate >= want_rate
            met = "yes" if rate_ok and p99 <= want_p99 and not failed else "no"
        created = statistics.median(p.statuses.get("201", 0) / p.seconds for p in rows)
        out.append(
            f"| {backend} | {loop} | {scenario} | {rate:,.0f} | "
            f"{f'{created:,.0f}' if scenario == 'orders' else ''} | "
            f"{statistics.median(p.p50_ms for p in rows):.1f} | "
            f"{statistics.median(p.p95_ms for p in rows):.1f} | {p99:.1f} | "
            f"{ratio} | {_mix(dict(sorted(total.items())))} | {target} | {met} |"
        )
    out += [
        "",
        "| run | 201s seen | duplicate ids | stored | missing | stored without a 201 | "
        "wrong lines | idempotency records | counters | oversold | reserved != recount | "
        "scarce sold / base | all correct? |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {run} | {c.accepted:,} | {c.duplicate_ids} | {c.stored:,} | {c.missing} | "
        f"{c.unexpected} | {c.wrong_lines} | {c.idempotency_records:,} | {c.counters:,} | "
        f"{c.oversold} | {c.recount_off} | {c.scarce_sold} / {c.scarce_base} | "
        f"{'yes' if c.ok else 'NO'} |"
        for run, c in checks.items()
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, default=Path("/tmp/fn/published"))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    parser.add_argument("--concurrency", default="16", help="connections; a list: 8,16,32")
    parser.add_argument(
        "--loops",
        default="open,closed",
        help="open: each target scenario at its target rate (latency from the moment due); "
        "closed: --concurrency connections as fast as answered (the most the server does)",
    )
    parser.add_argument(
        "--open-connections", type=int, default=64, help="connections the open loop may use"
    )
    parser.add_argument(
        "--rates",
        default="",
        help="open-loop rates other than the targets, e.g. availability=800,orders=150",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per scenario, unkept")
    parser.add_argument("--keys", type=int, default=200, help="stores with a key of their own")
    parser.add_argument("--race-share", type=float, default=0.2)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--json", type=Path, help="write every phase and check here")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    scenarios = [s for s in args.scenarios.split(",") if s]
    if "healthz" not in scenarios or not set(scenarios) <= set(SCENARIOS):
        raise SystemExit(f"--scenarios: healthz (the baseline) and any of {', '.join(SCENARIOS)}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rates = {scenario: rate for scenario, (rate, _) in TARGETS.items()}
    for item in filter(None, args.rates.split(",")):
        scenario, _, value = item.partition("=")
        if scenario not in TARGETS or not value.replace(".", "", 1).isdigit() or not float(value):
            raise SystemExit(f"--rates: SCENARIO=REQUESTS_PER_S with a scenario of {list(TARGETS)}")
        rates[scenario] = float(value)
    loops = [loop for loop in args.loops.split(",") if loop]
    if not loops or not set(loops) <= {"open", "closed"}:
        raise SystemExit("--loops: open, closed or both")

    work_root = Path(tempfile.mkdtemp(prefix="partsflow-apiload-"))
    try:
        snapshot_dir = work_root / "published"
        shutil.copytree(args.snapshot, snapshot_dir)  # the server reads a copy, never the source
        data = read_snapshot(snapshot_dir)
        work = plan_workload(data, args.keys)
        # The client holds the snapshot too (~250,000 objects): a full collection of them
        # took ~80 ms, and in the open loop every request due meanwhile was sent that late.
        gc.collect()
        gc.freeze()
        print(
            f"snapshot {data.run_id} (as of {data.as_of}): {len(data.skus):,} SKUs, "
            f"{len(data.stores)} stores; {len(work.stores)} stores with keys, "
            f"{len(work.races)} racing (store, scarce SKU) pairs on {len(work.scarce)} counters "
            f"of {sum(work.scarce.values())} units; {os.cpu_count()} cores, load generator on "
            f"the same machine; {args.workers} workers; started {datetime.now(UTC):%Y-%m-%d %H:%M}"
            f" UTC, load {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )
        phases: list[Phase] = []
        checks: dict[str, Checks] = {}
        for backend in backends:
            for repeat in range(1, args.repeat + 1):
                # A fresh store and server each repetition: every one starts from the
                # snapshot's stock, so the share of 409s does not grow from one to the next.
                run_dir = work_root / f"{backend}-{repeat}"
                run_dir.mkdir()
                with operational_store(backend, run_dir) as ops_url:
                    requests = Requests(work, make_keys(ops_url, work.stores), args.race_share)
                    ledger = Ledger()
                    with serve(backend, snapshot_dir, ops_url, args.workers, run_dir) as server:
                        for scenario in scenarios:  # warm-up: connections, caches, pools
                            warm = Load(scenario, 0, levels[0], args.warmup)
                            measure(server, requests, ledger, warm)
                        plan: list[tuple[str, int, float | None]] = []
                        if "open" in loops:  # first: the targets, on the fullest stock
                            plan += [
                                (scenario, args.open_connections, rates[scenario])
                                for scenario in scenarios
                                if scenario in TARGETS
                            ]
                        if "closed" in loops:
                            plan += [(s, c, None) for c in levels for s in scenarios]
                        for scenario, connections, rate in plan:
                            phase = measure(
                                server,
                                requests,
                                ledger,
                                Load(scenario, repeat, connections, args.duration, rate),
                            )
                            phases.append(phase)
                            print(
                                f"  {backend} {scenario} {phase.loop} rep {repeat}: "
                                f"{phase.throughput:,.0f} req/s, p99 {phase.p99_ms:.1f} ms, "
                                f"{_mix(phase.statuses)}",
                                flush=True,
                            )
                    checks[f"{backend} rep {repeat}"] = check_store(ops_url, ledger, work.scarce)
                for line in [*ledger.odd, *_server_errors(run_dir / "serve.log")]:
                    print(f"  {backend} rep {repeat}: {line}")
        print()
        print(report(phases, checks))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "phases": [asdict(p) | {"throughput": p.throughput} for p in phases],
                        "checks": {b: asdict(c) | {"ok": c.ok} for b, c in checks.items()},
                    },
                    indent=1,
                )
            )
        if not all(c.ok for c in checks.values()):
            raise SystemExit("the store does not match what the client was told")
    finally:
        shutil.rmtree(work_root, ignore_errors=True)


if __name__ == "__main__":
    main()
