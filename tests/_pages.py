"""Reading a keyset-paged result of ``warehouse.published`` whole, for tests that compare it."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from warehouse import published


def every_page(read: Callable[[str | None], published.Page]) -> pl.DataFrame:
    """All rows of a paged read, page after page (``read(after)`` gives one page)."""
    pages, after = [], None
    while True:
        page = read(after)
        pages.append(page.rows)
        if page.next_after is None:
            return pl.concat(pages)
        after = page.next_after
