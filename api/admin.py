"""API keys from the command line: ``partsflow api-key create | list | revoke``.

The CLI parses and prints; this opens the operational store (bringing its
schema up to date first, so the first key can be made before the first
``partsflow serve``) and calls :mod:`ops.keys` in one transaction.
"""

from __future__ import annotations

from ops import ApiKey, NewKey, create_key, list_keys, make_engine, reading, revoke_key, upgrade


def create_api_key(ops_url: str, *, store_id: str | None, name: str | None, by: str) -> NewKey:
    """A store key (``store_id`` given) or a planner key; the token is in the result, once."""
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            role = "store" if store_id is not None else "planner"
            return create_key(conn, role, store_id=store_id, name=name, by=by)
    finally:
        engine.dispose()


def list_api_keys(ops_url: str) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included (never a token or hash)."""
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        with reading(engine) as conn:
            return list_keys(conn)
    finally:
        engine.dispose()


def revoke_api_key(ops_url: str, key_id: str, *, by: str) -> ApiKey:
    """Revoke a key at once (idempotent).

    Raises
    ------
    ops.UnknownKeyError
        No key has this id.
    """
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            return revoke_key(conn, key_id, by=by)
    finally:
        engine.dispose()
