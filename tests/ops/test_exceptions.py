"""Planners' decisions on the inbox's exceptions (ops.exceptions), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ops import audit, reading
from ops import exceptions as inbox
from ops.exceptions import ExceptionDecisionError

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def test_an_acknowledged_item_stays_hidden_and_is_audited(engine: Engine) -> None:
    with engine.begin() as conn:
        inbox.decide(conn, "cut:FW01/K1:3-8", "acknowledge", who="ana", reason="known", now=NOW)
    with reading(engine) as conn:
        hidden = inbox.hidden(conn, ["cut:FW01/K1:3-8", "cut:FW01/K2:0-4"], now=NOW)
        logged = audit.history(conn, "exception", "cut:FW01/K1:3-8")
    assert set(hidden) == {"cut:FW01/K1:3-8"}
    assert [(e.who, e.action, e.why) for e in logged] == [("ana", "acknowledge", "known")]
    assert logged[0].before is None
    assert logged[0].after == {"action": "acknowledge", "until": None, "reason": "known"}


def test_a_snooze_hides_an_item_until_it_ends(engine: Engine) -> None:
    until = NOW + timedelta(days=2)
    with engine.begin() as conn:
        inbox.decide(conn, "bias:category:tyres:+2", "snooze", who="bo", until=until, now=NOW)
    with reading(engine) as conn:
        during = inbox.hidden(conn, ["bias:category:tyres:+2"], now=NOW + timedelta(days=1))
        after = inbox.hidden(conn, ["bias:category:tyres:+2"], now=until + timedelta(seconds=1))
    assert list(during) == ["bias:category:tyres:+2"]
    assert after == {}


def test_the_latest_decision_holds_and_every_one_is_kept(engine: Engine) -> None:
    item = "stock_out:FW01/K1:0-0-4-0"
    with engine.begin() as conn:
        inbox.decide(conn, item, "acknowledge", who="ana", now=NOW)
    later = NOW + timedelta(days=1)
    with engine.begin() as conn:
        inbox.decide(conn, item, "snooze", who="bo", until=later + timedelta(hours=1), now=later)
    with reading(engine) as conn:
        decisions = inbox.history(conn, item)
        latest = inbox.latest(conn)
        logged = audit.history(conn, "exception", item)
    assert [d.who for d in decisions] == ["ana", "bo"]
    assert latest[item].action == "snooze"
    # the snooze replaced the acknowledgement: once it ends, the item is back
    assert latest[item].hides(later)
    assert not latest[item].hides(later + timedelta(hours=2))
    assert logged[1].before == {"action": "acknowledge", "until": None, "reason": None}


@pytest.mark.parametrize(
    ("action", "until", "message"),
    [
        ("ignore", None, "acknowledge or snooze"),
        ("snooze", None, "end time"),
        ("snooze", NOW - timedelta(minutes=1), "future"),
        ("snooze", NOW + timedelta(days=91), "within 90 days"),
    ],
)
def test_a_bad_decision_is_refused_and_records_nothing(
    engine: Engine, action: str, until: datetime | None, message: str
) -> None:
    with pytest.raises(ExceptionDecisionError, match=message), engine.begin() as conn:
        inbox.decide(conn, "x", action, who="ana", until=until, now=NOW)
    with reading(engine) as conn:
        assert inbox.latest(conn) == {}
        assert audit.history(conn, "exception", "x") == []
