"""Files written whole or not at all: ``NAME.part`` beside the target, renamed at the end.

The landing convention (docs/DATA_FORMATS.md) is write, then rename: a loader
skips ``NAME.part``. Writing the generator's landing files and the forecast
output the same way means a full disk or a kill never leaves half a file
under the final name for the next load to take.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """Yield ``path.part`` to write; rename it to ``path`` when the block ends, remove it
    if the block raises (a full disk, an interrupt)."""
    part = path.with_name(f"{path.name}.part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, path)
