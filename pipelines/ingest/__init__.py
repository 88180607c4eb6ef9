"""Validated ingestion of landing files into the warehouse.

``ingest(con, paths)`` loads files or folders (kind from the name prefix or
``kind``), quarantining bad rows with a specific reason; ``retry_quarantine``
loads quarantined rows that later data has cured. The formats are in
``docs/DATA_FORMATS.md``; the specs in :mod:`pipelines.ingest.kinds`.

Each file is read once from the warehouse (``existing_query`` says what to
read), decided with polars alone (``decide``), then written in one go.
"""

from pipelines.ingest.decide import decide, existing_query
from pipelines.ingest.ingest import ingest
from pipelines.ingest.kinds import DEPENDENCY_ORDER, SPECS, KindSpec, kind_from_name
from pipelines.ingest.report import FileReport, IngestReport, RetryReport, SkippedFile
from pipelines.ingest.retry import retry_quarantine

__all__ = [
    "DEPENDENCY_ORDER",
    "SPECS",
    "FileReport",
    "IngestReport",
    "KindSpec",
    "RetryReport",
    "SkippedFile",
    "decide",
    "existing_query",
    "ingest",
    "kind_from_name",
    "retry_quarantine",
]
