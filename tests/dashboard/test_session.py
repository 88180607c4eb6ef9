"""The session cookie and the planner behind it (dashboard.session), without a server."""

from __future__ import annotations

import threading
from pathlib import Path

from dashboard.session import CookieSigner, Planners, load_secret
from ops import KeyIdentity

SECRET = b"0123456789abcdef0123456789abcdef"
ANN = KeyIdentity(key_id="k1", name="ann", role="planner", store_id=None)


def test_a_cookie_reads_back_until_it_expires() -> None:
    signer = CookieSigner(SECRET, hours=1)
    value = signer.make("k1", now=1000)
    session = signer.read(value, now=1000 + 3599)
    assert session is not None
    assert (session.key_id, session.issued, session.expires) == ("k1", 1000, 4600)
    assert signer.read(value, now=4600) is None


def test_a_forged_or_altered_cookie_is_refused() -> None:
    value = CookieSigner(SECRET).make("k1", now=1000)
    body, _, signature = value.rpartition(".")
    assert CookieSigner(b"another secret, 32 bytes long!!!").read(value, now=1001) is None
    assert CookieSigner(SECRET).read(body.replace("k1", "k2") + "." + signature, 1001) is None
    assert CookieSigner(SECRET).read("k1.1000.999999999999", now=1001) is None
    assert CookieSigner(SECRET).read("", now=1001) is None


def test_the_planner_is_looked_up_again_once_the_recheck_is_due() -> None:
    lookups: list[str] = []
    revoked = threading.Event()

    def lookup(key_id: str) -> KeyIdentity | None:
        lookups.append(key_id)
        return None if revoked.is_set() else ANN

    remembered = Planners(lookup, recheck_s=3600)
    assert remembered.get("k1") == ANN
    revoked.set()
    assert remembered.get("k1") == ANN  # remembered within the recheck
    assert Planners(lookup, recheck_s=0).get("k1") is None  # revocation seen at the next look
    remembered.forget("k1")
    assert remembered.get("k1") is None
    assert lookups == ["k1", "k1", "k1"]


def test_a_store_key_is_never_a_planner() -> None:
    store = KeyIdentity(key_id="k2", name="store S1", role="store", store_id="S1")
    assert Planners(lambda _key: store).get("k2") is None


def test_the_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "data" / "dashboard.secret"
    found: list[bytes] = []
    workers = [threading.Thread(target=lambda: found.append(load_secret(path))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(found)) == 1 and len(found[0]) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(path.parent.iterdir()) == [path]  # no file left aside
