"""Alembic migration history (one linear history for every package's tables)."""
