"""Idempotent writes (ops.idempotency): one order per key, the first answer replayed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from ops.idempotency import (
    IdempotencyKeyReusedError,
    IdempotentRequest,
    StoredResponse,
    run_once,
)
from ops.orders import OutOfStockError, order_json, place_order
from ops.reservations import free_stock
from ops.schema import idempotency_records, part_orders
from tests.ops._store import STORE, order, stock, store_key

BODY: dict[str, Any] = {"lines": [{"sku": "A", "quantity": 2}], "reference": "bay 3"}
PATH = f"/v1/stores/{STORE}/orders"


def _request(key_id: str, body: Any = BODY, key: str = "k-1") -> IdempotentRequest:
    return IdempotentRequest(key_id, key, "POST", PATH, body)


def _place(quantity: int = 2) -> Any:
    def action(conn: Connection) -> StoredResponse:
        return StoredResponse(201, order_json(place_order(conn, order(("A", quantity)), by="s")))

    return action


def _orders(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(part_orders)).scalar_one())


def test_a_replay_returns_the_first_answer_and_orders_once(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5})
    key = store_key(engine)
    first = run_once(engine, _request(key.key_id), _place())
    reordered = {"reference": "bay 3", "lines": [{"quantity": 2, "sku": "A"}]}
    again = run_once(engine, _request(key.key_id, reordered), _place())
    assert (first.replayed, again.replayed) == (False, True)
    assert again.response == first.response
    assert first.response.status_code == 201
    assert _orders(engine) == 1
    with engine.connect() as conn:
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 3}


def test_the_same_key_with_another_body_is_refused(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5})
    key = store_key(engine)
    run_once(engine, _request(key.key_id), _place())
    other = {"lines": [{"sku": "A", "quantity": 3}]}
    with pytest.raises(IdempotencyKeyReusedError, match="different body"):
        run_once(engine, _request(key.key_id, other), _place(3))
    assert _orders(engine) == 1


def test_keys_are_per_api_key(engine: Engine) -> None:
    """Two callers choosing the same Idempotency-Key get two orders."""
    stock(engine, {("FW01", "A"): 5})
    one, two = store_key(engine), store_key(engine)
    assert not run_once(engine, _request(one.key_id), _place()).replayed
    assert not run_once(engine, _request(two.key_id), _place()).replayed
    assert _orders(engine) == 2


def test_a_refused_order_records_nothing_so_the_key_can_be_retried(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 1})
    key = store_key(engine)
    with pytest.raises(OutOfStockError):
        run_once(engine, _request(key.key_id), _place())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(idempotency_records)).scalar() == 0
    stock(engine, {("FW01", "A"): 5}, run="run-2")  # tonight's snapshot brought stock
    assert run_once(engine, _request(key.key_id), _place()).response.status_code == 201


def test_a_stored_refusal_is_replayed(engine: Engine) -> None:
    key = store_key(engine)
    refusal = StoredResponse(409, {"title": "Conflict"})
    run_once(engine, _request(key.key_id), lambda conn: refusal)
    assert run_once(engine, _request(key.key_id), _place()).response == refusal


@pytest.mark.parametrize("bad", ["", "a" * 256, "has space", "naïve", "tab\t"])
def test_an_idempotency_key_is_1_to_255_visible_ascii_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="1-255 visible ASCII"):
        IdempotentRequest("key", bad, "POST", PATH, BODY)


def test_a_body_must_be_json() -> None:
    with pytest.raises(ValueError, match="body must be JSON"):
        IdempotentRequest("key", "k", "POST", PATH, {"when": object()})


def test_an_unknown_api_key_is_an_error_not_a_replay(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="could not claim Idempotency-Key 'k-1'") as raised:
        run_once(engine, _request("nobody"), _place())
    assert isinstance(raised.value.__cause__, IntegrityError)
