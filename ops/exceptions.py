"""Planners' decisions on the dashboard's exceptions: acknowledge, or snooze until a time.

An exception (a stock-out risk, a DC cut, ageing stock, a forecast bias, an
uncovered store, a failed run) is named by an ``item_id`` that the
dashboard builds from its kind, its subject and a fingerprint of the
figures that make it one (``cut:FW01/K1:3-8``): when the figures change,
the id changes and the item is new, whatever was decided about the old one.

The latest decision on an item holds: ``acknowledge`` hides it for good (for
that id), ``snooze`` until its ``until``. Every decision is kept, in
``exception_decisions`` (revision 0004) and in the audit log (entity
``exception``), in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, func, insert, select

from ops import audit
from ops.schema import exception_decisions

Action = Literal["acknowledge", "snooze"]

#: The longest snooze: past it an item should be acknowledged (or fixed), not hidden.
MAX_SNOOZE = timedelta(days=90)

#: The longest reason kept.
MAX_REASON = 500

_ITEM_ID_MAX = 200


class ExceptionDecisionError(ValueError):
    """A decision the inbox refuses: an unknown action, a snooze without a future end."""


@dataclass(frozen=True)
class Decision:
    """One planner's decision on one item."""

    item_id: str
    action: Action
    until: datetime | None
    reason: str | None
    who: str
    at: datetime

    def hides(self, now: datetime) -> bool:
        """Whether the item stays out of the inbox at ``now``."""
        return self.action == "acknowledge" or (self.until is not None and self.until > now)


def decide(
    conn: Connection,
    item_id: str,
    action: str,
    *,
    who: str,
    until: datetime | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Record ``who``'s decision on ``item_id`` (and its audit entry) in ``conn``'s transaction.

    Parameters
    ----------
    conn
        A connection inside a write transaction (``engine.begin()``).
    item_id
        The item's id (1-200 characters).
    action
        ``acknowledge`` or ``snooze``.
    who
        The planner (their key's name), for the record and the audit log.
    until
        A snooze's end: later than now, at most :data:`MAX_SNOOZE` away, with a zone.
    reason
        Why, optional (at most :data:`MAX_REASON` characters).

    Returns
    -------
    Decision

    Raises
    ------
    ExceptionDecisionError
        An unknown action, a bad id, a snooze without a valid end, a reason too long.
    """
    now = now or datetime.now(UTC)
    if action not in ("acknowledge", "snooze"):
        raise ExceptionDecisionError(f"action must be acknowledge or snooze, got {action!r}")
    if not 1 <= len(item_id) <= _ITEM_ID_MAX:
        raise ExceptionDecisionError(f"an item id is 1-{_ITEM_ID_MAX} characters")
    if action == "snooze":
        if until is None or until.tzinfo is None:
            raise ExceptionDecisionError("a snooze needs an end time with a time zone")
        if until <= now:
            raise ExceptionDecisionError(f"a snooze must end in the future, got {until}")
        if until - now > MAX_SNOOZE:
            raise ExceptionDecisionError(
                f"a snooze ends within {MAX_SNOOZE.days} days; acknowledge the item instead"
            )
    else:
        until = None
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ExceptionDecisionError(f"a reason is at most {MAX_REASON} characters")
    before = latest(conn, [item_id]).get(item_id)
    conn.execute(
        insert(exception_decisions).values(
            item_id=item_id, action=action, until=until, reason=reason, who=who, at=now
        )
    )
    decision = Decision(item_id, action, until, reason, who, now)  # type: ignore[arg-type]
    audit.record(
        conn,
        audit.AuditEntry(
            who=who,
            at=now,
            action=action,
            entity="exception",
            entity_id=item_id,
            before=None if before is None else _json(before),
            after=_json(decision),
            why=reason,
        ),
    )
    return decision


def latest(conn: Connection, item_ids: Iterable[str] | None = None) -> dict[str, Decision]:
    """The latest decision of each item (of ``item_ids``, or of every item decided).

    Ids are looked up in batches, so a whole inbox costs a few queries.
    """
    wanted = None if item_ids is None else sorted(set(item_ids))
    found: dict[str, Decision] = {}
    batches = (
        [None] if wanted is None else [wanted[i : i + 500] for i in range(0, len(wanted), 500)]
    )
    for batch in batches:
        newest = select(
            exception_decisions.c.item_id, func.max(exception_decisions.c.decision_id).label("id")
        ).group_by(exception_decisions.c.item_id)
        if batch is not None:
            newest = newest.where(exception_decisions.c.item_id.in_(batch))
        last = newest.subquery()
        rows = conn.execute(
            select(exception_decisions).join(last, exception_decisions.c.decision_id == last.c.id)
        ).mappings()
        for row in rows:
            found[row["item_id"]] = Decision(
                item_id=row["item_id"],
                action=row["action"],
                until=row["until"],
                reason=row["reason"],
                who=row["who"],
                at=row["at"],
            )
    return found


def hidden(
    conn: Connection, item_ids: Iterable[str], now: datetime | None = None
) -> dict[str, Decision]:
    """The items of ``item_ids`` a decision keeps out of the inbox at ``now``, with it."""
    now = now or datetime.now(UTC)
    return {item: d for item, d in latest(conn, item_ids).items() if d.hides(now)}


def history(conn: Connection, item_id: str) -> list[Decision]:
    """Every decision on ``item_id``, oldest first."""
    rows = conn.execute(
        select(exception_decisions)
        .where(exception_decisions.c.item_id == item_id)
        .order_by(exception_decisions.c.decision_id)
    ).mappings()
    return [
        Decision(row["item_id"], row["action"], row["until"], row["reason"], row["who"], row["at"])
        for row in rows
    ]


def _json(decision: Decision) -> dict[str, str | None]:
    return {
        "action": decision.action,
        "until": None if decision.until is None else decision.until.isoformat(),
        "reason": decision.reason,
    }
