"""Alembic environment of the history store: migrations run on the connection the store opened
(``config.attributes["connection"]``), never on a URL of their own, so that the same code migrates
SQLite and PostgreSQL and a wheel can migrate without an alembic.ini."""

from __future__ import annotations

from alembic import context

from auditor.history.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("the lbaudit history migrations run through auditor.history.store, not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
