"""The operational store's fixtures: every store test runs on SQLite and on PostgreSQL.

``store_url`` (tests/conftest.py) gives each test an empty database on each
backend; the PostgreSQL cluster is the session's one, shared with tests/api.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from ops.engine import make_engine, upgrade


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A migrated, empty operational store on the backend of ``store_url``."""
    store = make_engine(store_url)
    upgrade(store)
    yield store
    store.dispose()
