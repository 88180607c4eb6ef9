"""The planners' service targets per SKU or category: set in the store, read by the night.

A target asks a SKU (at every forward warehouse) or a whole category for a
service level of one kind (docs/CONTRACTS.md, "Service target kinds"). The
dashboard sets and removes them here, each change with who, when, before,
after and why in the audit log; at its start the nightly copies the store's
targets into ``warehouse.duckdb``'s ``service_targets``, which the plan reads
(``flows.store.copy_targets``).

Whether the SKU or the category exists is not checked here: the SKU master
lives in the published snapshot, which this package cannot see; the caller
(the dashboard) checks it before calling :func:`set_target`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ops import audit
from ops.schema import audit_log, service_targets

SCOPES = ("sku", "category")
#: The kinds of ``optimization.replenishment.service.ServiceTarget`` (kept in step by a test).
KINDS = ("fill_rate", "cycle_service", "unit_fill")
#: The audit log's entity for a target; its id is ``<scope>:<key>``.
ENTITY = "service_target"
MAX_KEY = 64
MAX_REASON = 2000


class TargetError(ValueError):
    """A target that cannot be stored: a bad scope, key, kind, level or reason."""


@dataclass(frozen=True)
class Target:
    """One planner's target as stored."""

    scope: str
    key: str
    kind: str
    level: float
    reason: str | None
    updated_at: datetime
    updated_by: str

    def __post_init__(self) -> None:
        check(self.scope, self.key, self.kind, self.level)

    @property
    def entity_id(self) -> str:
        """The audit log's id of this target."""
        return entity_id(self.scope, self.key)


def entity_id(scope: str, key: str) -> str:
    """The audit log's id of the target of ``scope`` and ``key``: ``category:tyres``."""
    return f"{scope}:{key}"


def check(scope: str, key: str, kind: str, level: float) -> None:
    """Refuse a target the table would refuse, with a plain message.

    Raises
    ------
    TargetError
        Scope not ``sku``/``category``, an empty or over-long key, an unknown
        kind, or a level that is not a number strictly between 0 and 1.
    """
    if scope not in SCOPES:
        raise TargetError(f"target scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if not key or not key.strip() or len(key) > MAX_KEY:
        raise TargetError(f"a target's {scope} must be 1-{MAX_KEY} characters, got {key!r}")
    if kind not in KINDS:
        raise TargetError(f"target kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if isinstance(level, bool) or not isinstance(level, int | float) or math.isnan(level):
        raise TargetError(f"service level must be a number in (0, 1), got {level!r}")
    if not 0 < level < 1:
        raise TargetError(f"service level must be in (0, 1), got {level}")


def set_target(
    conn: Connection,
    scope: str,
    key: str,
    kind: str,
    level: float,
    *,
    reason: str,
    by: str,
) -> Target:
    """Set the target of a SKU or a category (replacing any), with an audit entry.

    Parameters
    ----------
    scope, key
        ``sku`` and a SKU id, or ``category`` and a category name; the caller
        has checked that it exists.
    kind, level
        What is asked: ``fill_rate``, ``cycle_service`` or ``unit_fill``, at a
        level in (0, 1).
    reason
        Why (required; the audit entry's *why*).
    by
        Who: the planner key's name.

    Raises
    ------
    TargetError
        A bad scope, key, kind or level (:func:`check`), or no reason.
    """
    check(scope, key, kind, level)
    why = _reason(reason, "setting a target")
    now = datetime.now(UTC)
    before = get_target(conn, scope, key)
    values = {
        "kind": kind,
        "level": float(level),
        "reason": why,
        "updated_at": now,
        "updated_by": by,
    }
    if before is None:
        conn.execute(insert(service_targets).values(scope=scope, key=key, **values))
    else:
        conn.execute(
            update(service_targets)
            .where(service_targets.c.scope == scope, service_targets.c.key == key)
            .values(**values)
        )
    target = Target(scope, key, kind, float(level), why, now, by)
    audit.record(
        conn,
        audit.AuditEntry(
            by, now, "set", ENTITY, target.entity_id, _figures(before), _figures(target), why
        ),
    )
    return target


def remove_target(conn: Connection, scope: str, key: str, *, reason: str, by: str) -> Target | None:
    """Remove the target of a SKU or a category (the default applies again).

    Returns the target removed, or None when there was none (nothing logged).

    Raises
    ------
    TargetError
        A bad scope, or no reason.
    """
    if scope not in SCOPES:
        raise TargetError(f"target scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    why = _reason(reason, "removing a target")
    before = get_target(conn, scope, key)
    if before is None:
        return None
    now = datetime.now(UTC)
    conn.execute(
        delete(service_targets).where(
            service_targets.c.scope == scope, service_targets.c.key == key
        )
    )
    audit.record(
        conn,
        audit.AuditEntry(by, now, "remove", ENTITY, before.entity_id, _figures(before), None, why),
    )
    return before


def get_target(conn: Connection, scope: str, key: str) -> Target | None:
    """The target of one SKU or category, or None."""
    row = conn.execute(
        select(service_targets).where(
            service_targets.c.scope == scope, service_targets.c.key == key
        )
    ).first()
    return None if row is None else _target(row._mapping)


def list_targets(conn: Connection, scope: str | None = None) -> list[Target]:
    """Every target (of ``scope`` when given), by scope and key."""
    query = select(service_targets).order_by(service_targets.c.scope, service_targets.c.key)
    if scope is not None:
        query = query.where(service_targets.c.scope == scope)
    return [_target(row._mapping) for row in conn.execute(query)]


def managed(conn: Connection) -> bool:
    """Whether the store keeps the targets: it holds one, or ever held one (its audit log).

    A store whose planners removed every target still manages them (none), so
    the night does not adopt ``warehouse.duckdb``'s old rows again.
    """
    if conn.execute(select(service_targets.c.key).limit(1)).first() is not None:
        return True
    logged = conn.execute(
        select(audit_log.c.audit_id).where(audit_log.c.entity == ENTITY).limit(1)
    ).first()
    return logged is not None


def adopt_targets(conn: Connection, targets: Iterable[Target], *, by: str = "nightly") -> int:
    """Take over targets set before the store existed (``warehouse.duckdb``'s), once.

    Only into a store that never held a target (:func:`managed`); each adopted
    one is logged. Returns the number adopted (0 when the store manages them).
    """
    if managed(conn):
        return 0
    adopted = 0
    for target in targets:
        conn.execute(
            insert(service_targets).values(
                scope=target.scope,
                key=target.key,
                kind=target.kind,
                level=target.level,
                reason=target.reason,
                updated_at=target.updated_at,
                updated_by=target.updated_by,
            )
        )
        audit.record(
            conn,
            audit.AuditEntry(
                by,
                datetime.now(UTC),
                "adopt",
                ENTITY,
                target.entity_id,
                None,
                _figures(target),
                "adopted from warehouse.duckdb (set before the store had targets)",
            ),
        )
        adopted += 1
    return adopted


def _reason(reason: str | None, doing: str) -> str:
    why = (reason or "").strip()
    if not why:
        raise TargetError(f"{doing} needs a reason")
    if len(why) > MAX_REASON:
        raise TargetError(f"a reason is at most {MAX_REASON} characters, got {len(why)}")
    return why


def _figures(target: Target | None) -> dict[str, Any] | None:
    return None if target is None else {"kind": target.kind, "level": target.level}


def _target(row: Any) -> Target:
    return Target(
        scope=row["scope"],
        key=row["key"],
        kind=row["kind"],
        level=float(row["level"]),
        reason=row["reason"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )
