"""Targets and the frontier, service side: what a service level costs, and setting one.

The curve is the night's policy replays (``warehouse.published.policy_replays``:
each forward warehouse's last weeks replayed under each policy at several
settings, a sample of its series) reduced to each policy's efficient points
(:func:`optimization.evaluation.frontier.frontier`); what a level is expected
to cost is the frontier's average inventory value at that achieved service,
interpolated (:func:`optimization.evaluation.frontier.inventory_at_service`).
The replays are per warehouse, not per category: a category's share of the
cost is estimated from its share of the warehouse's stock value tonight (the
plan lines' on hand at unit cost), and the page says so.

Targets live in the operational store (:mod:`ops.targets`); whether a SKU or
category exists is checked here against the published SKU master, which
``ops`` cannot see.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Engine

from dashboard.context import Snapshot
from ops import KeyIdentity, audit, reading
from ops import targets as store
from optimization.evaluation.frontier import FRONTIER_POINTS, frontier, inventory_at_service
from warehouse import published

#: The replayed policy that plans to each target kind.
POLICY_OF_KIND: Mapping[str, str] = {
    "fill_rate": "nb1_fill_rate",
    "cycle_service": "nb1_cycle_service",
    "unit_fill": "nb1_unit_fill",
}
#: The achieved service a kind is measured by in the replays (unit fill is units served).
SERVICE_OF_KIND: Mapping[str, str] = {
    "fill_rate": "fill_rate",
    "cycle_service": "cycle_service",
    "unit_fill": "fill_rate",
}
KIND_LABELS: Mapping[str, str] = {
    "fill_rate": "fill rate (each series)",
    "cycle_service": "cycle service",
    "unit_fill": "unit fill (the group)",
}
#: The most plan lines of one warehouse read at once (a bound, not a policy).
_MAX_LINES = 1_000_000
#: Warehouse summaries kept in a process (one night's warehouses, and then some).
_KEPT = 64
_summaries: dict[tuple[str, str], Mapping[str, tuple[Standing | None, float | None]]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Standing:
    """The target tonight's plan held a warehouse's category to (most of its lines)."""

    kind: str
    level: float
    lines: int


@dataclass(frozen=True)
class Cost:
    """What ``kind`` at ``level`` is expected to cost at one warehouse.

    ``inventory`` is the frontier's average inventory value (CNY, all
    categories) at that achieved service, or None outside the replayed range
    ``low`` .. ``high``; ``policy`` and ``service`` name the curve used.
    """

    kind: str
    level: float
    policy: str
    service: str
    inventory: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Outcome:
    """A target change done, or refused and why."""

    ok: bool
    message: str


@dataclass(frozen=True)
class Category:
    """A warehouse's category: the replays, tonight's standing target, the stored one, and
    the category's share of the warehouse's stock value (None without stock)."""

    warehouse_id: str
    category: str
    replays: pl.DataFrame
    standing: Standing | None
    stored: store.Target | None
    share: float | None


def category_view(snap: Snapshot, engine: Engine, warehouse_id: str, category: str) -> Category:
    """Everything the page shows for ``warehouse_id`` × ``category``."""
    summary = _summary(snap, warehouse_id)
    with reading(engine) as conn:
        stored = store.get_target(conn, "category", category)
    return Category(
        warehouse_id=warehouse_id,
        category=category,
        replays=published.policy_replays(snap, warehouse_id),
        standing=summary.get(category, (None, None))[0],
        stored=stored,
        share=summary.get(category, (None, None))[1],
    )


def _summary(
    snap: Snapshot, warehouse_id: str
) -> Mapping[str, tuple[Standing | None, float | None]]:
    """Per category of the warehouse: its standing target and stock share, kept per night
    (reading a warehouse's every plan line costs ~0.1 s; the figures change once a night)."""
    key = (published.published_run(snap).run_id, warehouse_id)
    with _lock:
        if key in _summaries:
            return _summaries[key]
    lines = published.plan_lines(snap, warehouse_id, limit=_MAX_LINES).rows
    found = {
        category: (
            standing(lines.filter(pl.col("category") == category)),
            stock_share(lines, category),
        )
        for category in lines["category"].unique().to_list()
    }
    with _lock:
        if len(_summaries) >= _KEPT:
            _summaries.clear()
        _summaries[key] = found
    return found


def standing(lines: pl.DataFrame) -> Standing | None:
    """The (kind, level) most of these plan lines were planned to, or None without lines."""
    pairs = Counter(
        (kind, round(float(level), 6))
        for kind, level in lines.select("target_kind", "service_target").iter_rows()
        if kind is not None and level is not None
    )
    if not pairs:
        return None
    (kind, level), count = pairs.most_common(1)[0]
    return Standing(str(kind), level, count)


def stock_share(lines: pl.DataFrame, category: str) -> float | None:
    """The category's share of the warehouse's stock value (on hand at unit cost)."""
    value = lines.select("category", worth=pl.col("on_hand") * pl.col("unit_cost").cast(pl.Float64))
    total = float(value["worth"].sum() or 0.0)
    if total <= 0:
        return None
    return float(value.filter(pl.col("category") == category)["worth"].sum() or 0.0) / total


def frontier_points(replays: pl.DataFrame) -> pl.DataFrame:
    """The replays as ``FRONTIER_POINTS`` (one run per policy and setting)."""
    return replays.select(FRONTIER_POINTS.names()).cast(FRONTIER_POINTS)


def efficient(replays: pl.DataFrame, service: str) -> pl.DataFrame:
    """Each policy's efficient points by increasing inventory (``FRONTIER_POINTS``)."""
    return frontier(frontier_points(replays), service)


def expected_cost(replays: pl.DataFrame, kind: str, level: float) -> Cost:
    """What ``kind`` at ``level`` is expected to cost at the replays' warehouse."""
    policy, service = POLICY_OF_KIND[kind], SERVICE_OF_KIND[kind]
    points = frontier_points(replays).filter(pl.col("policy") == policy)
    curve = frontier(points, service)
    found = inventory_at_service(points, [level], service)
    inventory = found["avg_inventory_value"].to_list()[0] if found.height else None
    return Cost(
        kind=kind,
        level=level,
        policy=policy,
        service=service,
        inventory=inventory,
        low=curve[service].min() if curve.height else None,  # type: ignore[arg-type]
        high=curve[service].max() if curve.height else None,  # type: ignore[arg-type]
    )


def set_target(
    engine: Engine, snap: Snapshot, who: KeyIdentity, target: Mapping[str, Any]
) -> Outcome:
    """Store a target (``scope``, ``key``, ``kind``, ``level``, ``reason``) for the next night.

    Refused with a plain message: a SKU or category the published SKU master
    does not know, a bad scope, kind or level, or no reason.
    """
    scope, key = str(target.get("scope") or ""), str(target.get("key") or "")
    unknown = _unknown(snap, scope, key)
    if unknown:
        return Outcome(False, unknown)
    try:
        with engine.begin() as conn:
            done = store.set_target(
                conn,
                scope,
                key,
                str(target.get("kind") or ""),
                target.get("level"),  # type: ignore[arg-type]
                reason=str(target.get("reason") or ""),
                by=who.name,
            )
    except store.TargetError as error:
        return Outcome(False, str(error))
    return Outcome(
        True,
        f"{scope} {key}: {KIND_LABELS[done.kind]} {done.level * 100:.1f} % from the next night",
    )


def remove_target(
    engine: Engine, who: KeyIdentity, scope: str, key: str, reason: str | None
) -> Outcome:
    """Remove a stored target (the night's default applies again from the next night)."""
    try:
        with engine.begin() as conn:
            removed = store.remove_target(conn, scope, key, reason=reason or "", by=who.name)
    except store.TargetError as error:
        return Outcome(False, str(error))
    if removed is None:
        return Outcome(False, f"{scope} {key} has no target of its own to remove")
    return Outcome(True, f"{scope} {key}: target removed; the default applies from the next night")


def stored_targets(engine: Engine) -> list[dict[str, Any]]:
    """Every stored target as grid rows (level in %, who, when, why)."""
    with reading(engine) as conn:
        found = store.list_targets(conn)
    return [
        {
            "scope": t.scope,
            "key": t.key,
            "kind": t.kind,
            "level": round(t.level * 100, 2),
            "updated_by": t.updated_by,
            "updated_at": t.updated_at.isoformat(timespec="minutes"),
            "reason": t.reason or "",
        }
        for t in found
    ]


def history(engine: Engine, scope: str, key: str) -> list[audit.AuditEntry]:
    """Every change of one target, oldest first."""
    with reading(engine) as conn:
        return audit.history(conn, store.ENTITY, store.entity_id(scope, key))


def _unknown(snap: Snapshot, scope: str, key: str) -> str | None:
    """Why the SKU master refuses ``key`` (None: it knows it)."""
    if scope == "sku":
        return None if published.skus(snap, [key]).height else f"unknown sku {key!r}"
    if scope == "category":
        categories = set(published.skus(snap)["category"].drop_nulls().to_list())
        return None if key in categories else f"unknown category {key!r}"
    return None  # ops.targets refuses the scope with its own message
