"""Alembic's environment: run the revisions on the connection ops.engine.upgrade gives.

There is no ``alembic.ini``; :func:`ops.engine.upgrade` builds the configuration
and passes its open connection (already inside the upgrade's transaction, which
holds the lock) as ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ops.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER a constraint: later revisions rebuild tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError("run the ops store's migrations through ops.engine.upgrade(engine)")
_run(connection)
