"""Prometheus metrics in the text exposition format, kept by the process that serves.

Written here rather than with ``prometheus_client`` (not a dependency of
partsflow): a few counters and one histogram family are all the API needs.
Each uvicorn worker keeps its own figures and ``/metrics`` answers the
worker that takes the scrape; every series carries a ``worker`` label (the
process id) so that a scraper sums them instead of seeing counters jump.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import defaultdict

#: Latency buckets (seconds): the availability target is p99 <= 50 ms, orders <= 100 ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

Labels = tuple[tuple[str, str], ...]

_HELP = {
    "partsflow_http_requests_total": ("counter", "HTTP requests answered, by route and status."),
    "partsflow_http_request_duration_seconds": (
        "histogram",
        "Time to answer an HTTP request, by route.",
    ),
    "partsflow_orders_confirmed_total": ("counter", "Part orders placed (not replays)."),
    "partsflow_units_reserved_total": ("counter", "Units reserved by the orders placed."),
    "partsflow_orders_refused_total": (
        "counter",
        "Part orders refused as short of stock (409).",
    ),
    "partsflow_order_status_changes_total": (
        "counter",
        "Part orders moved to a status (cancelled, dispatched, delivered), by status.",
    ),
    "partsflow_idempotent_replays_total": ("counter", "Requests answered from a stored response."),
    "partsflow_rate_limited_total": ("counter", "Requests refused by the rate limit (429)."),
    "partsflow_snapshot_loads_total": ("counter", "Published snapshots read into memory."),
}


class Metrics:
    """Counters and latency histograms; safe to update from request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: defaultdict[tuple[str, Labels], float] = defaultdict(float)
        self._histograms: dict[Labels, list[float]] = {}  # buckets, +Inf, sum, count
        self._worker = str(os.getpid())

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to a counter."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] += amount

    def observe(self, seconds: float, **labels: str) -> None:
        """Count a request's duration in the latency histogram."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            row = self._histograms.setdefault(key, [0.0] * (len(BUCKETS) + 3))
            row[bisect.bisect_left(BUCKETS, seconds)] += 1  # index len(BUCKETS): above every bound
            row[-2] += seconds
            row[-1] += 1

    def render(self) -> str:
        """The exposition text (``text/plain; version=0.0.4``)."""
        with self._lock:
            counters = dict(self._counters)
            histograms = {k: list(v) for k, v in self._histograms.items()}
        by_name: defaultdict[str, list[str]] = defaultdict(list)
        for (name, labels), value in sorted(counters.items()):
            by_name[name].append(f"{name}{self._labels(labels)} {_number(value)}")
        family = "partsflow_http_request_duration_seconds"
        for labels, row in sorted(histograms.items()):
            cumulative = 0.0
            for bound, count in zip((*BUCKETS, float("inf")), row[:-2], strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                by_name[family].append(
                    f"{family}_bucket{self._labels(labels, le=le)} {_number(cumulative)}"
                )
            by_name[family].append(f"{family}_sum{self._labels(labels)} {row[-2]!r}")
            by_name[family].append(f"{family}_count{self._labels(labels)} {_number(row[-1])}")
        out = []
        for name, (kind, text) in _HELP.items():
            out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *by_name.get(name, [])]
        return "\n".join(out) + "\n"

    def _labels(self, labels: Labels, **more: str) -> str:
        pairs = [*labels, *more.items(), ("worker", self._worker)]
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
        return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
