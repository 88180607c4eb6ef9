"""Progress bars for long CLI work: drawn on stderr when it is a terminal, silent otherwise.

The CLI opens one with :func:`progress` around a long command; the work reports
into it without knowing whether anything is drawn:

* :func:`report_step` (``flows/night.py`` calls it as each step of the night ends),
* :func:`current` for the work that counts its own units (nights simulated,
  dispatch instances replayed): ``current().advance()``.

Both do nothing when no bar is open or stderr is not a terminal (a pipe, a file,
cron, Prefect's runner), so logs and scripted runs see exactly what they saw before.
When stdout is the same terminal, ``print`` and Prefect's console log lines are
drawn above the bar instead of through it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

#: The steps of the nightly, as flows/night.py's ``_Laps`` names them, then the save.
NIGHTLY_STEPS = (
    "ingest",
    "forecast",
    "plan",
    "line-haul",
    "replay",
    "coverage",
    "purchase",
    "save and publish",
)


class Reporter:
    """One progress bar: a title, the step under way, units done of a total.

    A reporter without a bar (stderr not a terminal) accepts every call and draws
    nothing.
    """

    def __init__(
        self,
        bar: Progress | None = None,
        title: str = "",
        steps: Sequence[str] = (),
        total: float | None = None,
    ) -> None:
        self._bar = bar
        self._title = title
        self._steps = tuple(steps)
        self._task: TaskID | None = None
        if bar is not None:
            first = f": {self._steps[0]}" if self._steps else ""
            self._task = bar.add_task(f"{title}{first}", total=total or len(self._steps) or None)

    @property
    def drawn(self) -> bool:
        """Whether anything is drawn (stderr is a terminal)."""
        return self._bar is not None

    def step(self, name: str) -> None:
        """The work is now at ``name`` (one of the steps: the bar moves to it)."""
        self._update(description=f"{self._title}: {name}", **self._at(name, 0))

    def done(self, name: str) -> None:
        """Step ``name`` has ended: the bar moves past it and names the next one.

        A name not among the steps changes nothing: a nightly inside ``simulate``
        reports its steps into the simulation's bar, which counts nights.
        """
        if name not in self._steps:
            return
        after = self._steps.index(name) + 1
        following = f": {self._steps[after]}" if after < len(self._steps) else ""
        self._update(description=f"{self._title}{following}", completed=after)

    def advance(self, amount: float = 1) -> None:
        """``amount`` more units are done."""
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def note(self, line: str) -> None:
        """Print ``line`` above the bar (a part of the work is done: what it came to)."""
        if self._bar is not None:
            self._bar.console.print(line, highlight=False, markup=False)

    def set_total(self, total: float | None) -> None:
        """The units the whole work takes (None: unknown, the bar pulses)."""
        self._update(total=total)

    def refresh(self) -> None:
        """Draw now rather than at the next tick (10 a second)."""
        if self._bar is not None:
            self._bar.refresh()

    def _at(self, name: str, offset: int) -> dict[str, float]:
        return {"completed": self._steps.index(name) + offset} if name in self._steps else {}

    def _update(self, **fields: float | str | None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, **fields)  # type: ignore[arg-type]


_NOTHING = Reporter()
_lock = threading.Lock()
_open: list[Reporter] = []


def current() -> Reporter:
    """The innermost open bar, or one that draws nothing."""
    with _lock:
        return _open[-1] if _open else _NOTHING


def report_step(name: str) -> None:
    """Step ``name`` of the work under way has ended (a no-op without an open bar).

    flows/night.py calls it from ``_Laps.lap`` with the lap's step name.
    """
    current().done(name)


@contextmanager
def progress(
    title: str,
    *,
    steps: Sequence[str] = (),
    total: float | None = None,
    stream: TextIO | None = None,
) -> Iterator[Reporter]:
    """A progress bar on ``stream`` (default stderr) while the block runs.

    Parameters
    ----------
    title
        What the work is (``nightly``, ``simulate``, ...).
    steps
        Its named steps in order, if it has them; the bar counts them.
    total
        Else the units it takes (None: unknown until :meth:`Reporter.set_total`).
    stream
        Where to draw; nothing is drawn unless it is a terminal.
    """
    out = sys.stderr if stream is None else stream
    with ExitStack() as stack:
        if _is_terminal(out):
            bar = stack.enter_context(_bar(out))
            reporter = Reporter(bar, title, steps, total)
        else:
            reporter = Reporter()
        with _lock:
            _open.append(reporter)
        try:
            yield reporter
        finally:
            with _lock:
                _open.remove(reporter)


@contextmanager
def _bar(out: TextIO) -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(file=out)
    shared = _same_terminal(sys.stdout, out)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        # Printed lines go above the bar when they share its terminal; never elsewhere.
        redirect_stdout=shared,
        redirect_stderr=False,
        transient=True,
    )
    with bar, ExitStack() as stack:
        if shared:
            stack.enter_context(_prefect_console_through(console))
        yield bar


@contextmanager
def _prefect_console_through(console: Console) -> Iterator[None]:
    """Prefect's console log handlers draw through ``console`` (above the bar) meanwhile."""
    swapped: list[tuple[logging.Handler, object]] = []
    for handler in _console_handlers():
        swapped.append((handler, handler.console))  # type: ignore[attr-defined]
        handler.console = console  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for handler, original in swapped:
            handler.console = original  # type: ignore[attr-defined]


def _console_handlers() -> list[logging.Handler]:
    if "prefect.logging.handlers" not in sys.modules:
        return []
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.root, *logging.root.manager.loggerDict.values()]
    handlers = {
        id(handler): handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
    }
    return [h for h in handlers.values() if _same_terminal(h.stream, sys.stdout)]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


def _same_terminal(a: TextIO, b: TextIO) -> bool:
    """Whether both streams are the same terminal device."""
    if not (_is_terminal(a) and _is_terminal(b)):
        return False
    try:
        return os.ttyname(a.fileno()) == os.ttyname(b.fileno())
    except (AttributeError, OSError, ValueError):
        return False
