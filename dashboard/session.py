"""The planner's session: a signed, expiring cookie that names an API key.

No session table: the cookie carries ``<key_id>.<issued>.<expires>.<signature>``
(Unix seconds; the signature is HMAC-SHA256 of the rest under the
installation's secret, base64url). A forged or altered cookie fails the
signature; an old one fails its expiry (:data:`SESSION_HOURS` after sign-in,
not extended by use). The key it names is looked up again in the operational
store at most :data:`RECHECK_S` seconds after the last look in this process
(:class:`Planners`), so revoking the key ends its sessions within a minute.

The secret is 32 random bytes in a file (``dashboard.secret`` beside the
snapshot folder: ``data/dashboard.secret`` by default), created on first start
with mode 0600 by whichever worker gets there first; the others read it. Every
process of one installation must see the same file (a multi-node deployment
shares it, or sticks planners to a node). Deleting it signs everyone out.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ops import KeyIdentity

#: The cookie's name; its Path is ``/dashboard``.
COOKIE = "pf_session"

#: How long a sign-in lasts: a working day.
SESSION_HOURS = 12

#: How often (seconds) a process looks the session's key up again in the store.
RECHECK_S = 60.0

#: The secret's file name, beside the snapshot folder.
SECRET_NAME = "dashboard.secret"


def load_secret(path: Path) -> bytes:
    """The installation's secret in ``path``, created (0600) if there is none yet.

    Written aside and linked into place, so that two workers starting together
    never read a half-written file: the loser of the race reads the winner's.
    """
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32).hex().encode())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another worker won; its secret holds
        finally:
            aside.unlink()
    secret = path.read_bytes().strip()
    if len(secret) < 32:
        raise ValueError(
            f"{path}: the dashboard's secret is too short; delete it to make a new one"
        )
    return secret


@dataclass(frozen=True)
class Session:
    """What a valid cookie says: the key, when it signed in and until when."""

    key_id: str
    issued: int
    expires: int


class CookieSigner:
    """Make and read session cookies under one secret."""

    def __init__(self, secret: bytes, hours: int = SESSION_HOURS) -> None:
        self._secret = secret
        self._seconds = hours * 3600

    @property
    def max_age(self) -> int:
        """The cookie's lifetime in seconds (its ``Max-Age``)."""
        return self._seconds

    def make(self, key_id: str, now: float | None = None) -> str:
        """A cookie value for ``key_id``, valid from ``now`` for the session's length."""
        if not key_id or "." in key_id:
            raise ValueError(f"a key id is a non-empty string without dots, got {key_id!r}")
        issued = int(time.time() if now is None else now)
        body = f"{key_id}.{issued}.{issued + self._seconds}"
        return f"{body}.{self._sign(body)}"

    def read(self, value: str | None, now: float | None = None) -> Session | None:
        """The session ``value`` names, or None when it is absent, forged or expired."""
        if not value:
            return None
        body, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        key_id, issued, expires = [*body.split("."), "", "", ""][:3]
        if not (issued.isdigit() and expires.isdigit()):
            return None
        if int(expires) <= (time.time() if now is None else now):
            return None
        return Session(key_id, int(issued), int(expires))

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Planners:
    """The planner behind a key id, looked up in the store at most every ``recheck_s``.

    ``lookup`` answers the key's identity when it exists, is not revoked and is
    a planner's, else None; a process remembers the answer for ``recheck_s``.
    """

    def __init__(
        self, lookup: Callable[[str], KeyIdentity | None], recheck_s: float = RECHECK_S
    ) -> None:
        self._lookup = lookup
        self._recheck_s = recheck_s
        self._seen: dict[str, tuple[float, KeyIdentity | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str) -> KeyIdentity | None:
        """The planner holding ``key_id`` now (within ``recheck_s``), or None."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key_id)
        if seen is not None and now - seen[0] < self._recheck_s:
            return seen[1]
        identity = self._lookup(key_id)
        if identity is not None and identity.role != "planner":
            identity = None
        with self._lock:
            if len(self._seen) > 10_000:  # a bound, not a policy: keys are few
                self._seen.clear()
            self._seen[key_id] = (now, identity)
        return identity

    def forget(self, key_id: str) -> None:
        """Drop what this process remembers of ``key_id`` (after a sign-out)."""
        with self._lock, contextlib.suppress(KeyError):
            del self._seen[key_id]
