"""Schemathesis over /openapi.json against the app in process: no 5xx, answers as documented.

Every operation gets a few generated requests (``MAX_EXAMPLES``, valid and
invalid) with a planner key, which may act for any store; the checks are that
nothing answers 5xx and that each status, content type and body is one the
document declares. Bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from ops import create_key, make_engine, upgrade
from tests.api.conftest import World, config

MAX_EXAMPLES = 8


@dataclass(frozen=True)
class Target:
    """A migrated operational store with one planner key."""

    ops_url: str
    token: str


@pytest.fixture(scope="module")
def target(module_store_url: str) -> Target:
    """An empty store and a planner key in it (a planner may act for any store), on each
    backend: PostgreSQL enforces column lengths and types that SQLite lets through."""
    engine = make_engine(module_store_url)
    upgrade(engine)
    with engine.begin() as conn:
        token = create_key(conn, "planner", name="schemathesis").token
    engine.dispose()
    return Target(module_store_url, token)


@pytest.fixture(scope="module")
def api_schema(world: World, target: Target) -> Iterator[BaseSchema]:
    """The app on the small world (tests/api/_world.py), its document loaded over ASGI."""
    yield from_asgi("/openapi.json", create_app(config(world.snapshots, target.ops_url)))
    # Schemathesis started the app's lifespan (and its snapshot poller) for the process;
    # stop it with the module rather than at interpreter exit.
    shutdown_lifespans()


def test_the_api_never_fails_and_answers_as_documented(
    api_schema: BaseSchema, target: Target
) -> None:
    """Each operation in turn (schemathesis' pytest loader does not run on pytest 9 yet)."""
    failures: dict[str, str] = {}
    for found in api_schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {target.token}"},
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        try:
            check()
        except Exception as error:  # gather every operation's failure, then report them all
            failures[operation.label] = str(error)[:2000]
    assert failures == {}
