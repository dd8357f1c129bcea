"""Opening the catalogue: engines (SQLite tuned for safe local concurrency), migrations, sessions.

`open_catalog(url)` is the only way in: it creates the database if needed and brings its schema to
the newest Alembic revision, so every command sees the same schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

import stablecopy.catalog.caplog  # noqa: F401 (its session hooks log what every commit catalogues)

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000


class CatalogError(RuntimeError):
    """The catalogue cannot be opened or used (bad URL, unreachable server, unwritable file)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None); begin explicitly.
    connection.exec_driver_sql("BEGIN")


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock when the transaction starts: a read-then-write never fails half-way.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, writer: bool = False) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL and a busy timeout.

    A `writer` engine on SQLite starts every transaction with BEGIN IMMEDIATE, so a read-then-write
    never fails half-way; readers keep SQLite's deferred transactions and never block a crawl.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise CatalogError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as exc:
            shown = parsed.render_as_string(hide_password=True)
            raise CatalogError(f"no database driver for {shown} ({exc})") from exc
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).absolute().parent
        if not folder.is_dir():
            raise CatalogError(f"catalogue folder does not exist: {folder}")
    engine = create_engine(parsed, connect_args={"isolation_level": None})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin_immediate if writer else _sqlite_begin)
    return engine


def migration_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the catalogue's migrations, run on `connection` when given."""
    from alembic.config import Config  # Alembic is loaded only when there is a migration to run

    config = Config()
    config.set_main_option("script_location", str(files("stablecopy.catalog") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, the newest by default (creating it on an empty database)."""
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        # SQLite batch migrations copy tables: foreign keys are switched off (outside any
        # transaction, straight on the driver connection) and checked once, at the end.
        driver = connection.connection.driver_connection if sqlite else None
        if driver is not None:
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(migration_config(connection), revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise CatalogError("a migration left rows pointing at nothing; undone")
        finally:
            if driver is not None:
                driver.execute("PRAGMA foreign_keys=ON")


def newest_revision() -> str:
    """The newest migration's revision: each file in versions/ is named after its revision, and
    they follow each other in order (tests/test_catalog.py checks this against Alembic's view)."""
    versions = files("stablecopy.catalog") / "migrations" / "versions"
    return max(
        entry.name.split("_", 1)[0] for entry in versions.iterdir() if entry.name.endswith(".py")
    )


def _at_head(engine: Engine) -> bool:
    """Whether the schema is already the newest (read only: takes no write lock). Asked without
    Alembic, which is loaded only when there is a migration to run."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    return current == {newest_revision()}


def open_catalog(url: str, writer: bool = False) -> Engine:
    """An engine on an up-to-date catalogue; CatalogError with a readable reason otherwise.

    Migrations run only when the schema is behind, and on SQLite always inside BEGIN IMMEDIATE,
    so processes opening a new catalogue at the same moment wait for each other in turn.
    """
    engine = make_engine(url, writer)
    try:
        if not _at_head(engine):
            migrator = engine
            if engine.dialect.name == "sqlite" and not writer:
                migrator = make_engine(url, writer=True)
            try:
                upgrade(migrator)
            finally:
                if migrator is not engine:
                    migrator.dispose()
    except Exception as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        shown = make_url(url).render_as_string(hide_password=True)
        raise CatalogError(f"cannot open the catalogue {shown}: {reason}") from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    with session_factory(engine)() as session, session.begin():
        yield session
