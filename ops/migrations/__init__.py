"""Alembic migrations of the operational store, applied by :func:`ops.engine.upgrade`."""
