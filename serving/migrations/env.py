"""Alembic environment for the recommendation log.

:meth:`serving.logbook.Logbook.open` builds the Alembic configuration in code and passes
its own connection (already inside a locked transaction) in ``config.attributes``; run from
the ``alembic`` command line instead, the URL comes from ``sqlalchemy.url`` and the engine is
built the same way the logbook builds it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from serving.logbook import Base, LogbookSettings, create_logbook_engine

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=is_sqlite,
        # The logbook's SQLite engine emits real BEGINs, so DDL is transactional there too.
        transactional_ddl=True if is_sqlite else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the migration SQL as text (``alembic upgrade head --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the logbook's connection, or a new engine for ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise ValueError(
            "sqlalchemy.url is not set: expected the database URL in the Alembic config "
            "(Logbook.open sets it from CAPACITY_LOG_DB_URL)"
        )
    engine = create_logbook_engine(LogbookSettings(url=url))
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
