"""Verified keys remembered for a few seconds (api/keycache.py): revocation seen within the TTL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.keycache import KeyCache
from ops import KeyIdentity, revoke_key
from tests.api._world import STORE
from tests.api.conftest import World, config, running
from tests.api.test_health_auth import is_problem

WHO = KeyIdentity("k1", "store S0001", "store", "S0001")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_verified_token_is_kept_for_the_ttl_and_no_longer() -> None:
    clock = Clock()
    keys = KeyCache(5.0, clock=clock)
    keys.put("pf_k1_secret", WHO)
    clock.now += 4.9
    assert keys.get("pf_k1_secret") == WHO
    assert keys.get("pf_k1_other") is None  # the same key id with another secret
    clock.now += 0.2
    assert keys.get("pf_k1_secret") is None


def test_a_ttl_of_0_keeps_nothing() -> None:
    keys = KeyCache(0.0)
    keys.put("pf_k1_secret", WHO)
    assert keys.get("pf_k1_secret") is None


def test_the_cache_is_bounded_oldest_out() -> None:
    keys = KeyCache(60.0, max_entries=2)
    for token in ("t1", "t2", "t3"):
        keys.put(token, WHO)
    assert [keys.get(t) for t in ("t1", "t2", "t3")] == [None, WHO, WHO]


def test_a_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl_s >= 0"):
        KeyCache(-1.0)


@pytest.mark.parametrize("ttl_s", [0.0, 0.5])
def test_a_revoked_key_stops_working_within_the_ttl(
    world: World, tmp_path: Path, ttl_s: float
) -> None:
    path = f"/v1/stores/{STORE}/availability?sku=P1"
    with running(config(world.snapshots, tmp_path / "ops.sqlite3", key_cache_s=ttl_s)) as api:
        assert api.client.get(path, headers=api.auth()).status_code == 200
        key_id = api.tokens["store"].removeprefix("pf_").split("_")[0]
        with api.state.engine.begin() as conn:
            revoke_key(conn, key_id)
        revoked_at = time.monotonic()
        answer = api.client.get(path, headers=api.auth())
        if ttl_s and time.monotonic() - revoked_at < ttl_s:
            assert answer.status_code == 200  # let in from the cache, within its bound
        elif not ttl_s:
            is_problem(answer, 401)
        time.sleep(ttl_s + 0.05)
        is_problem(api.client.get(path, headers=api.auth()), 401)
