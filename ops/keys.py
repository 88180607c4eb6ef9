"""API keys: bearer tokens for store systems and planners, stored only as a hash.

A token reads ``pf_<key_id>_<secret>``: the ``key_id`` finds the row (so
verifying is one primary-key lookup, and logs can name a key without leaking
it), the secret is ``secrets.token_urlsafe(32)``, 256 random bits.

Why SHA-256 and not bcrypt/argon2: slow, salted hashes exist to make guessing
*low-entropy* passwords from a stolen hash expensive. A 256-bit random secret
cannot be guessed at any hash speed, so a fast hash loses nothing, and it keeps
verification in microseconds on every request (a slow hash at ~100 ms would
cap the API at ten requests a second per core). No salt is needed either: no
two tokens are alike, so there are no tables to precompute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from ops import audit
from ops.schema import ROLES, api_keys

_PREFIX = "pf_"


class UnknownKeyError(LookupError):
    """No API key has this id."""


@dataclass(frozen=True)
class KeyIdentity:
    """Who a verified token belongs to: what the API's permission checks need."""

    key_id: str
    name: str
    role: str
    store_id: str | None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if (self.role == "store") != (self.store_id is not None):
            raise ValueError("a store key needs a store_id and a planner key must not have one")


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: never its token nor its hash."""

    identity: KeyIdentity
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    """A key just created; ``token`` is shown this once and stored nowhere."""

    key: ApiKey
    token: str


def create_key(
    conn: Connection,
    role: str,
    *,
    store_id: str | None = None,
    name: str | None = None,
    by: str = "cli",
) -> NewKey:
    """Create a key for one store (``role="store"``) or for planners.

    Parameters
    ----------
    role
        ``store`` or ``planner``.
    store_id
        The store a store key may act for; ``None`` for a planner key.
    name
        Shown in lists and written as *who* in the audit log; defaults to
        ``store <store_id>`` or ``planner <key_id>``.
    by
        Who creates it, for the audit log.

    Returns
    -------
    NewKey
        The key and its token, which cannot be recovered later.

    Raises
    ------
    ValueError
        An unknown role, a store key without a store or a planner key with one.
    """
    key_id = secrets.token_hex(8)
    name = name or (f"store {store_id}" if role == "store" else f"planner {key_id}")
    identity = KeyIdentity(key_id=key_id, name=name, role=role, store_id=store_id)
    token = f"{_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    conn.execute(
        insert(api_keys).values(
            key_id=key_id,
            name=name,
            role=role,
            store_id=store_id,
            token_hash=_hash(token),
            created_at=now,
        )
    )
    audit.record(
        conn,
        audit.AuditEntry(
            who=by,
            at=now,
            action="create",
            entity="api_key",
            entity_id=key_id,
            before=None,
            after={"name": name, "role": role, "store_id": store_id},
        ),
    )
    return NewKey(ApiKey(identity, created_at=now, revoked_at=None), token)


def list_keys(
    conn: Connection, *, include_revoked: bool = True, key_id: str | None = None
) -> list[ApiKey]:
    """Every key (or the one ``key_id``), oldest first: ids, names, roles, stores, dates.

    Neither tokens nor their hashes ever leave this module.
    """
    query = select(
        api_keys.c.key_id,
        api_keys.c.name,
        api_keys.c.role,
        api_keys.c.store_id,
        api_keys.c.created_at,
        api_keys.c.revoked_at,
    ).order_by(api_keys.c.created_at, api_keys.c.key_id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    if key_id is not None:
        query = query.where(api_keys.c.key_id == key_id)
    return [
        ApiKey(
            KeyIdentity(row.key_id, row.name, row.role, row.store_id),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in conn.execute(query)
    ]


def revoke_key(conn: Connection, key_id: str, *, by: str = "cli") -> ApiKey:
    """Revoke a key: its token stops working at once. Revoking twice changes nothing.

    Raises
    ------
    UnknownKeyError
        No key has this id.
    """
    now = datetime.now(UTC)
    revoked = conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if revoked:
        audit.record(
            conn,
            audit.AuditEntry(
                who=by,
                at=now,
                action="revoke",
                entity="api_key",
                entity_id=key_id,
                before={"revoked_at": None},
                after={"revoked_at": now.isoformat()},
            ),
        )
    keys = list_keys(conn, key_id=key_id)
    if not keys:
        raise UnknownKeyError(f"no API key with id {key_id!r}")
    return keys[0]


def verify(conn: Connection, token: str) -> KeyIdentity | None:
    """The identity behind a bearer token, or ``None`` if unknown, malformed or revoked.

    The hash is compared in constant time, so response times do not tell an
    attacker how much of a guessed token was right.
    """
    key_id = _key_id(token)
    if key_id is None:
        return None
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.token_hash, _hash(token)):
        return None
    return KeyIdentity(row.key_id, row.name, row.role, row.store_id)


def _key_id(token: str) -> str | None:
    if not token.startswith(_PREFIX):
        return None
    key_id, separator, secret = token[len(_PREFIX) :].partition("_")
    if not separator or not secret or not key_id.isalnum():
        return None
    return key_id


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
