"""Run a partsflow command that SIGKILLs itself at one point of its work (tests/test_kills.py).

    python -m tests._killpoint MODULE:NAME WHEN CALL -- partsflow arguments ...

wraps the function ``NAME`` of ``MODULE`` in this process, then runs the CLI.
On the ``CALL``-th call (1-based) of the wrapped function the process sends
itself SIGKILL, ``before`` the function runs or ``after`` it returned, the way
an OOM killer or a power cut would end it: no ``finally``, no ``atexit``, no
flushing. The wrapper is installed from outside, so the code under test holds
no test hook; the kill itself is real.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _kill() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def wrap(target: str, when: str, call: int) -> None:
    """Make ``target`` (``module:name``) kill the process at its ``call``-th call."""
    module_name, name = target.split(":")
    module = importlib.import_module(module_name)
    original: Callable[..., Any] = getattr(module, name)
    calls = 0

    @functools.wraps(original)
    def killing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call and when == "before":
            _kill()
        result = original(*args, **kwargs)
        if calls == call and when == "after":
            _kill()
        return result

    setattr(module, name, killing)


def main(argv: list[str]) -> int:
    target, when, call, separator, *command = argv
    if separator != "--" or when not in ("before", "after"):
        raise SystemExit("usage: python -m tests._killpoint MODULE:NAME before|after N -- ARGS")
    wrap(target, when, int(call))
    from partsflow_cli import main as partsflow

    return partsflow(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
