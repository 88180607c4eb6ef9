"""API keys (ops.keys): tokens shown once, stored hashed, verified, revoked."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import pytest
from sqlalchemy import Engine, select

from ops.audit import history
from ops.keys import UnknownKeyError, create_key, list_keys, revoke_key, verify
from ops.schema import api_keys


def test_a_token_verifies_to_its_key(engine: Engine) -> None:
    with engine.begin() as conn:
        new = create_key(conn, "store", store_id="S0001")
    assert new.token.startswith(f"pf_{new.key.identity.key_id}_")
    assert len(new.token) > 40
    with engine.connect() as conn:
        identity = verify(conn, new.token)
    assert identity == new.key.identity
    assert (identity.role, identity.store_id, identity.name) == ("store", "S0001", "store S0001")


def test_only_a_sha256_of_the_token_is_stored(engine: Engine) -> None:
    with engine.begin() as conn:
        new = create_key(conn, "planner", name="night shift")
    with engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()
    assert row.token_hash == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in {str(value) for value in row}


def test_a_list_holds_no_secret(engine: Engine) -> None:
    with engine.begin() as conn:
        store = create_key(conn, "store", store_id="S0001")
        planner = create_key(conn, "planner")
        listed = list_keys(conn)
    assert [key.identity for key in listed] == [store.key.identity, planner.key.identity]
    text = repr([asdict(key) for key in listed])
    for new in (store, planner):
        assert new.token not in text
        assert hashlib.sha256(new.token.encode()).hexdigest() not in text


@pytest.mark.parametrize(
    "token",
    ["", "Bearer x", "pf_", "pf_nokey", "pf__secret", "pf_0123456789abcdef_wrongsecret"],
)
def test_unknown_or_malformed_tokens_are_refused(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        create_key(conn, "planner")
        assert verify(conn, token) is None


def test_a_token_with_a_real_key_id_but_another_secret_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        new = create_key(conn, "planner")
        assert verify(conn, new.token[:-1] + ("A" if new.token[-1] != "A" else "B")) is None


def test_a_revoked_key_stops_working_and_stays_listed(engine: Engine) -> None:
    with engine.begin() as conn:
        new = create_key(conn, "store", store_id="S0002")
    key_id = new.key.identity.key_id
    with engine.begin() as conn:
        revoked = revoke_key(conn, key_id, by="alice")
        again = revoke_key(conn, key_id, by="alice")
    assert revoked.revoked_at is not None
    assert again.revoked_at == revoked.revoked_at
    with engine.connect() as conn:
        assert verify(conn, new.token) is None
        assert [key.identity.key_id for key in list_keys(conn)] == [key_id]
        assert list_keys(conn, include_revoked=False) == []
        assert [(e.who, e.action) for e in history(conn, "api_key", key_id)] == [
            ("cli", "create"),
            ("alice", "revoke"),
        ]


def test_revoking_an_unknown_key_says_so(engine: Engine) -> None:
    with pytest.raises(UnknownKeyError, match="no API key with id 'nope'"), engine.begin() as conn:
        revoke_key(conn, "nope")


@pytest.mark.parametrize(
    ("role", "store_id"), [("store", None), ("planner", "S0001"), ("admin", None)]
)
def test_a_key_must_fit_its_role(engine: Engine, role: str, store_id: str | None) -> None:
    with pytest.raises(ValueError, match=r"role must be|store key needs"), engine.begin() as conn:
        create_key(conn, role, store_id=store_id)
