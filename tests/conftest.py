"""Session-wide test set-up: an isolated Prefect home and one Prefect test server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from settings import use_prefect_defaults

# Each test run gets its own Prefect home, set before Prefect is imported anywhere.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="partsflow-prefect-")
use_prefect_defaults()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One Prefect test server for the whole session (it takes 15-40 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def pytest_unconfigure(config: pytest.Config) -> None:
    """Keep pytest's summary the last thing printed (see quiet_interpreter_teardown)."""
    import atexit

    from partsflow_cli import quiet_interpreter_teardown

    atexit.register(quiet_interpreter_teardown)
