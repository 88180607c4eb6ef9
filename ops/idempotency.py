"""Idempotent writes: the same ``Idempotency-Key`` and body again replays the first answer.

A store system that times out does not know whether its order was taken; it
sends it again with the same key and must get the same order back, never a
second one. :func:`run_once` makes that hold even when the two copies arrive at
the same moment:

1. In one transaction it first *claims* the key: it inserts the idempotency
   record, whose primary key is (API key, idempotency key), unless that key
   is there (``ON CONFLICT DO NOTHING``): then it reads the record and
   replays it. The first request of a key costs one statement, not a look
   and an insert.
2. It runs the action (placing the order) in that same transaction and fills
   the record with the response before committing. The record and what it
   protects commit together or not at all.
3. A concurrent copy cannot claim the key meanwhile. On SQLite it cannot even
   start: ``BEGIN IMMEDIATE`` queues it behind the first writer, after which it
   finds the record. On PostgreSQL its insert waits on the first one's
   uncommitted key; when that one commits, the insert does nothing and the
   next statement (a fresh snapshot under READ COMMITTED) reads the committed
   record; when it rolls back, the insert goes through and the copy does the
   work itself.

A request whose action raises (out of stock, a bad field) records nothing: the
same key may be sent again later and is then tried afresh, which is safe since
the failed attempt changed nothing. An action that wants a refusal replayed
returns it as a :class:`StoredResponse` instead of raising.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ops.schema import idempotency_records

#: Visible ASCII, as API.md allows in an Idempotency-Key.
_VISIBLE = frozenset(chr(code) for code in range(0x21, 0x7F))
_MAX_KEY = 255
_MAX_PATH = 2000


class IdempotencyKeyReusedError(ValueError):
    """The key was used before for another request (another body, path or method): a 422."""


@dataclass(frozen=True)
class IdempotentRequest:
    """What identifies a request: the caller's key, its Idempotency-Key and the request.

    ``body`` is the parsed JSON body; it is hashed in canonical form (sorted
    keys, no spaces), so the same body sent with other whitespace or key order
    is the same request.
    """

    key_id: str
    idempotency_key: str
    method: str
    path: str
    body: Any

    def __post_init__(self) -> None:
        key = self.idempotency_key
        if not 1 <= len(key) <= _MAX_KEY or not set(key) <= _VISIBLE:
            raise ValueError(
                f"Idempotency-Key must be 1-{_MAX_KEY} visible ASCII characters, got {key!r}"
            )
        if not self.method.isalpha() or not self.method.isupper():
            raise ValueError(f"method must be an upper-case HTTP verb, got {self.method!r}")
        if not self.path.startswith("/") or len(self.path) > _MAX_PATH:
            raise ValueError(f"path must start with / and be at most {_MAX_PATH} characters")
        try:
            json.dumps(self.body)
        except (TypeError, ValueError) as error:
            raise ValueError(f"body must be JSON: {error}") from None

    @property
    def body_hash(self) -> str:
        """SHA-256 of the body's canonical JSON."""
        canonical = json.dumps(self.body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """An HTTP status and a JSON body, as first answered and as replayed."""

    status_code: int
    body: Any

    def __post_init__(self) -> None:
        if not 100 <= self.status_code <= 599:
            raise ValueError(f"status code must be in 100-599, got {self.status_code}")


@dataclass(frozen=True)
class Outcome:
    """The response, and whether it is a replay of an earlier request's."""

    response: StoredResponse
    replayed: bool


def run_once(
    engine: Engine,
    request: IdempotentRequest,
    action: Callable[[Connection], StoredResponse],
) -> Outcome:
    """Run ``action`` once per (API key, Idempotency-Key); replay its response after that.

    Parameters
    ----------
    engine
        The operational store.
    request
        Who asks and what; compared with the stored request on a replay.
    action
        Does the work inside the transaction it is given and returns the
        response to store; raising rolls everything back and records nothing.

    Returns
    -------
    Outcome
        The first response, with ``replayed`` telling whether this call did the work.

    Raises
    ------
    IdempotencyKeyReusedError
        The key was used before with another method, path or body.
    """
    with engine.begin() as conn:
        return run_once_in(conn, request, action)


def run_once_in(
    conn: Connection,
    request: IdempotentRequest,
    action: Callable[[Connection], StoredResponse],
) -> Outcome:
    """:func:`run_once` in the caller's transaction, which must be rolled back if this raises
    (an ``async`` caller's own, e.g. ``AsyncConnection.run_sync`` inside ``begin()``)."""
    try:
        # RETURNING, not rowcount: through this Core insert, rowcount did not tell a
        # claim from a conflict on PostgreSQL (tests/ops/test_concurrency.py caught it).
        claimed = conn.execute(_claim(conn), _claim_row(request)).first() is not None
    except IntegrityError as error:  # not the key's own conflict (e.g. an unknown key_id)
        raise RuntimeError(
            f"could not claim Idempotency-Key {request.idempotency_key!r}"
        ) from error
    if not claimed:
        stored = _stored(conn, request)
        if stored is None:  # the conflicting row was committed, so this cannot be
            raise RuntimeError(f"idempotency record {request.idempotency_key!r} vanished")
        return Outcome(stored, replayed=True)
    response = action(conn)
    conn.execute(
        _ANSWER,
        {
            "i_key_id": request.key_id,
            "i_key": request.idempotency_key,
            "status_code": response.status_code,
            "response_body": response.body,
        },
    )
    return Outcome(response, replayed=False)


def _claim_row(request: IdempotentRequest) -> dict[str, Any]:
    return {
        "key_id": request.key_id,
        "idempotency_key": request.idempotency_key,
        "method": request.method,
        "path": request.path,
        "body_hash": request.body_hash,
        "created_at": datetime.now(UTC),
    }


def _claim(conn: Connection) -> Insert:
    """The claim: insert the record, or nothing if the key has one (the dialect's own insert)."""
    return _CLAIMS[conn.dialect.name]


# Built once: every idempotent write runs them (on SQLite under the one write lock).
_CLAIMS = {
    "postgresql": pg_insert(idempotency_records)
    .on_conflict_do_nothing(
        index_elements=[idempotency_records.c.key_id, idempotency_records.c.idempotency_key]
    )
    .returning(idempotency_records.c.key_id),
    "sqlite": sqlite_insert(idempotency_records)
    .on_conflict_do_nothing(
        index_elements=[idempotency_records.c.key_id, idempotency_records.c.idempotency_key]
    )
    .returning(idempotency_records.c.key_id),
}
_ANSWER = (
    update(idempotency_records)
    .where(
        idempotency_records.c.key_id == bindparam("i_key_id"),
        idempotency_records.c.idempotency_key == bindparam("i_key"),
    )
    .values(
        status_code=bindparam("status_code", type_=idempotency_records.c.status_code.type),
        response_body=bindparam("response_body", type_=idempotency_records.c.response_body.type),
    )
)
_STORED = select(idempotency_records).where(
    idempotency_records.c.key_id == bindparam("i_key_id"),
    idempotency_records.c.idempotency_key == bindparam("i_key"),
)


def _stored(conn: Connection, request: IdempotentRequest) -> StoredResponse | None:
    """The committed response for the request's key, checking it is the same request."""
    row = conn.execute(
        _STORED, {"i_key_id": request.key_id, "i_key": request.idempotency_key}
    ).one_or_none()
    if row is None:
        return None
    differs = [
        what
        for what, before, now in (
            ("method", row.method, request.method),
            ("path", row.path, request.path),
            ("body", row.body_hash, request.body_hash),
        )
        if before != now
    ]
    if differs:
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key {request.idempotency_key!r} was used for another request "
            f"(different {' and '.join(differs)}); use a new key for a new request"
        )
    if row.status_code is None:  # filled in the transaction that claimed it: cannot be seen
        raise RuntimeError(f"idempotency record {request.idempotency_key!r} has no response")
    return StoredResponse(status_code=row.status_code, body=row.response_body)
