"""Hand-written revisions, one file each (Alembic loads them by path)."""
