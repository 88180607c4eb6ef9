"""What an ingestion did, per file and in total, and its one-line rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FileReport:
    """One file: how many rows were read, loaded, unchanged and quarantined.

    ``updated`` is the part of ``loaded`` that changed an existing record
    (order status changes, master data updates, stock corrections); ``older``
    the part of ``unchanged`` whose order-line status is older than the one
    loaded (a re-sent older file). A file with ``error`` set loaded nothing.
    """

    path: Path
    kind: str | None
    encoding: str | None = None
    rows_read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    ignored_columns: tuple[str, ...] = ()
    error: str | None = None
    #: The same content was ingested before with nothing left in quarantine:
    #: every row is already present and the file was not parsed again.
    already_ingested: bool = False
    older: int = 0

    def __post_init__(self) -> None:
        if self.error is None:
            assert self.loaded + self.unchanged + self.quarantined == self.rows_read, self
            assert self.updated <= self.loaded, self
            assert self.older <= self.unchanged, self

    def render(self) -> str:
        """``order_lines_2026-01.csv [order_lines, gb18030]: read 10, loaded 8 ...``."""
        if self.error is not None:
            return f"error: {self.error}"
        what = ", ".join(x for x in (self.kind, self.encoding) if x)
        line = (
            f"{self.path.name} [{what}]: read {self.rows_read}, loaded {self.loaded} "
            f"(updated {self.updated}), unchanged {self.unchanged}"
            + (f" ({self.older} an older status than loaded)" if self.older else "")
            + f", quarantined {self.quarantined}"
        )
        if self.ignored_columns:
            line += f"; ignored columns: {', '.join(self.ignored_columns)}"
        if self.already_ingested:
            line += " (already ingested)"
        return line


@dataclass(frozen=True)
class SkippedFile:
    """A file in a folder that is not a landing file (e.g. ``manifest.json``)."""

    path: Path
    why: str

    def render(self) -> str:
        return f"{self.path.name}: skipped ({self.why})"


@dataclass(frozen=True)
class IngestReport:
    """Every file of one ``ingest`` call, in the order they were loaded."""

    files: tuple[FileReport, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()

    @property
    def errors(self) -> tuple[FileReport, ...]:
        return tuple(f for f in self.files if f.error is not None)

    @property
    def ok(self) -> bool:
        """True when no file was refused (the CLI exits non-zero otherwise)."""
        return not self.errors

    def total(self, field_name: str) -> int:
        """The sum of a count (``rows_read``, ``loaded``, ...) over the files."""
        return sum(int(getattr(f, field_name)) for f in self.files)

    @property
    def total_rows_read(self) -> int:
        return self.total("rows_read")

    @property
    def total_loaded(self) -> int:
        return self.total("loaded")

    @property
    def total_updated(self) -> int:
        return self.total("updated")

    @property
    def total_unchanged(self) -> int:
        return self.total("unchanged")

    @property
    def total_quarantined(self) -> int:
        return self.total("quarantined")

    def render(self) -> str:
        """One line per file (and per skipped file), then a totals line."""
        lines = [f.render() for f in self.files] + [s.render() for s in self.skipped]
        lines.append(
            f"total: {len(self.files)} files ({len(self.errors)} refused), "
            f"read {self.total('rows_read')}, loaded {self.total('loaded')} "
            f"(updated {self.total('updated')}), unchanged {self.total('unchanged')}, "
            f"quarantined {self.total('quarantined')}"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class RetryReport:
    """A ``retry_quarantine`` pass: rows retried, now loaded, still quarantined.

    ``superseded``: rows resolved because their key is loaded now from another
    file (a cut file's rows once the whole file loaded).
    """

    retried: int = 0
    loaded: int = 0
    unchanged: int = 0
    still_quarantined: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    superseded: int = 0

    def __post_init__(self) -> None:
        counted = self.loaded + self.unchanged + self.superseded + self.still_quarantined
        assert counted == self.retried, self

    def render(self) -> str:
        return (
            f"retried {self.retried} quarantined rows: loaded {self.loaded}, "
            f"already present {self.unchanged}, superseded by a loaded row {self.superseded}, "
            f"still quarantined {self.still_quarantined}"
        )
