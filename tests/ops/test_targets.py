"""The planners' service targets in the store (ops.targets), on SQLite and PostgreSQL,
and the night's copy of them into warehouse.duckdb (flows.store.copy_targets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from flows.store import copy_targets
from ops import audit, reading, targets
from ops.targets import Target, TargetError
from optimization.replenishment.service import TARGET_KINDS, ServiceTarget
from warehouse import replenishment
from warehouse.schema import connect


def test_a_target_is_set_replaced_and_removed_with_an_audit_entry_each(engine: Engine) -> None:
    with engine.begin() as conn:
        targets.set_target(conn, "category", "tyres", "fill_rate", 0.9, reason="winter", by="ana")
        targets.set_target(conn, "sku", "K1", "cycle_service", 0.8, reason="slow", by="ana")
    with engine.begin() as conn:
        replaced = targets.set_target(
            conn, "category", "tyres", "unit_fill", 0.97, reason="peak season", by="bo"
        )
    assert (replaced.kind, replaced.level, replaced.updated_by) == ("unit_fill", 0.97, "bo")
    with reading(engine) as conn:
        listed = targets.list_targets(conn)
        only_skus = targets.list_targets(conn, "sku")
    assert [(t.scope, t.key, t.kind, t.level, t.reason) for t in listed] == [
        ("category", "tyres", "unit_fill", 0.97, "peak season"),
        ("sku", "K1", "cycle_service", 0.8, "slow"),
    ]
    assert listed[0].updated_at.tzinfo is not None
    assert [t.key for t in only_skus] == ["K1"]
    with engine.begin() as conn:
        removed = targets.remove_target(conn, "sku", "K1", reason="back to default", by="bo")
        again = targets.remove_target(conn, "sku", "K1", reason="twice", by="bo")
    assert removed is not None and removed.level == 0.8
    assert again is None
    with reading(engine) as conn:
        tyres = audit.history(conn, "service_target", "category:tyres")
        k1 = audit.history(conn, "service_target", "sku:K1")
        assert targets.get_target(conn, "sku", "K1") is None
    assert [(e.who, e.action, e.before, e.after, e.why) for e in tyres] == [
        ("ana", "set", None, {"kind": "fill_rate", "level": 0.9}, "winter"),
        (
            "bo",
            "set",
            {"kind": "fill_rate", "level": 0.9},
            {"kind": "unit_fill", "level": 0.97},
            "peak season",
        ),
    ]
    assert [(e.action, e.before, e.after) for e in k1] == [
        ("set", None, {"kind": "cycle_service", "level": 0.8}),
        ("remove", {"kind": "cycle_service", "level": 0.8}, None),
    ]


@pytest.mark.parametrize(
    ("scope", "key", "kind", "level", "reason", "message"),
    [
        ("store", "S1", "fill_rate", 0.9, "r", "target scope must be one of sku, category"),
        ("sku", "", "fill_rate", 0.9, "r", "a target's sku must be 1-64 characters"),
        ("category", "x" * 65, "fill_rate", 0.9, "r", "must be 1-64 characters"),
        ("sku", "K1", "speed", 0.9, "r", "target kind must be one of fill_rate"),
        ("sku", "K1", "fill_rate", 1.0, "r", r"service level must be in \(0, 1\), got 1.0"),
        ("sku", "K1", "fill_rate", 0.0, "r", r"must be in \(0, 1\)"),
        ("sku", "K1", "fill_rate", float("nan"), "r", "must be a number"),
        ("sku", "K1", "fill_rate", True, "r", "must be a number"),
        ("sku", "K1", "fill_rate", 0.9, "  ", "setting a target needs a reason"),
    ],
)
def test_a_bad_target_is_refused_and_nothing_is_stored(
    engine: Engine,
    scope: str,
    key: str,
    kind: str,
    level: float,
    reason: str,
    message: str,
) -> None:
    with pytest.raises(TargetError, match=message), engine.begin() as conn:
        targets.set_target(conn, scope, key, kind, level, reason=reason, by="ana")
    with reading(engine) as conn:
        assert targets.list_targets(conn) == []
        assert not targets.managed(conn)


def test_the_kinds_are_the_plans_kinds() -> None:
    assert targets.KINDS == TARGET_KINDS


def test_a_store_adopts_the_databases_targets_once(engine: Engine) -> None:
    old = Target("sku", "K1", "fill_rate", 0.9, None, datetime(2026, 1, 1, tzinfo=UTC), "cli")
    with engine.begin() as conn:
        assert targets.adopt_targets(conn, [old]) == 1
    with reading(engine) as conn:
        assert targets.list_targets(conn) == [old]
        assert [e.action for e in audit.history(conn, "service_target", "sku:K1")] == ["adopt"]
    with engine.begin() as conn:
        targets.remove_target(conn, "sku", "K1", reason="default is fine", by="ana")
        # Emptied by a planner, the store still manages the targets: nothing adopted again.
        assert targets.managed(conn)
        assert targets.adopt_targets(conn, [old]) == 0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A warehouse.duckdb with two SKUs of two categories, and nothing else."""
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        con.execute(
            "INSERT INTO skus VALUES "
            "('A', 'a', 'tyres', 't', 'b', 4, 2.5, 100, 130, 1, false, false),"
            "('B', 'b', 'wipers', 'w', 'b', 1, 0.5, 10, 8, 0, false, false)"
        )
    return path


def _duckdb_targets(db: Path) -> list[tuple[object, ...]]:
    with connect(db) as con:
        return replenishment.service_targets(con).rows()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_night_copies_the_stores_targets_into_duckdb(engine: Engine, db: Path) -> None:
    with connect(db) as con:  # set before the store managed targets: replaced
        replenishment.set_service_target(con, "sku", "B", ServiceTarget("fill_rate", 0.8), "x")
    with engine.begin() as conn:
        targets.set_target(conn, "category", "tyres", "unit_fill", 0.97, reason="r", by="ana")
        targets.set_target(conn, "sku", "GONE", "fill_rate", 0.9, reason="r", by="ana")
    assert copy_targets(db, engine) == 1
    assert _duckdb_targets(db) == [("category", "tyres", "unit_fill", 0.97)]
    with engine.begin() as conn:
        targets.remove_target(conn, "category", "tyres", reason="r", by="ana")
        targets.remove_target(conn, "sku", "GONE", reason="r", by="ana")
    assert copy_targets(db, engine) == 0
    assert _duckdb_targets(db) == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_store_without_targets_adopts_the_databases(engine: Engine, db: Path) -> None:
    with connect(db) as con:
        replenishment.set_service_target(con, "sku", "B", ServiceTarget("cycle_service", 0.8), "x")
    copy_targets(db, engine)
    with reading(engine) as conn:
        adopted = targets.list_targets(conn)
    assert [(t.scope, t.key, t.kind, t.level, t.updated_by) for t in adopted] == [
        ("sku", "B", "cycle_service", 0.8, "x")
    ]
    assert _duckdb_targets(db) == [("sku", "B", "cycle_service", 0.8)]
