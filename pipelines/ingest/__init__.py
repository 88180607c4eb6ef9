"""Validated ingestion of landing files into the warehouse.

``ingest(con, paths)`` loads files or folders (kind from the name prefix or
``kind``), quarantining bad rows with a specific reason; ``retry_quarantine``
loads quarantined rows that later data has cured. The formats are in
``docs/DATA_FORMATS.md``; the specs in :mod:`pipelines.ingest.kinds`.
"""

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
    "ingest",
    "kind_from_name",
    "retry_quarantine",
]
