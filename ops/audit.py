"""The audit log: who changed what, when, from what to what, and why.

Written in the same transaction as the change it describes, so the log never
tells of a change that did not happen, nor misses one that did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ops.schema import audit_log


@dataclass(frozen=True)
class AuditEntry:
    """One change: ``who`` is the API key's name (or the CLI's user)."""

    who: str
    at: datetime
    action: str
    entity: str
    entity_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    why: str | None = None

    def __post_init__(self) -> None:
        for name in ("who", "action", "entity", "entity_id"):
            if not getattr(self, name):
                raise ValueError(f"an audit entry needs a {name}")
        if self.at.tzinfo is None:
            raise ValueError(f"an audit entry's time needs a time zone, got {self.at}")


def record(conn: Connection, entry: AuditEntry) -> None:
    """Append ``entry`` to the log inside the caller's transaction."""
    conn.execute(
        _INSERT,
        {
            "who": entry.who,
            "at": entry.at,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "before": None if entry.before is None else dict(entry.before),
            "after": None if entry.after is None else dict(entry.after),
            "why": entry.why,
        },
    )


# Built once (an order writes one entry under SQLite's write lock); the row as parameters.
_INSERT = insert(audit_log)


def history(conn: Connection, entity: str, entity_id: str) -> list[AuditEntry]:
    """Every logged change of one entity, oldest first."""
    rows = conn.execute(
        select(audit_log)
        .where(audit_log.c.entity == entity, audit_log.c.entity_id == entity_id)
        .order_by(audit_log.c.audit_id)
    ).mappings()
    return [
        AuditEntry(
            who=row["who"],
            at=row["at"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            before=row["before"],
            after=row["after"],
            why=row["why"],
        )
        for row in rows
    ]
