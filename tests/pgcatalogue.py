"""The PostgreSQL pass of the test suite: every data directory gets its own database on one server.

Tests address catalogues by data directory (`--data-dir`, `DataLayout.create(dir)`). When
SCTEST_POSTGRES names a server, `install()` makes a data directory without an explicit catalogue URL
use the database `sc_<hash of its path>` on that server, created on first use. The pytest process
installs it itself; its subprocesses (the CLI, schedulers, their crawls) install it through
tests/pgmode/sitecustomize.py, so the same directory means the same database in every process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

ENV = "SCTEST_POSTGRES"


def database_name(root: Path) -> str:
    return "sc_" + hashlib.sha256(str(root).encode()).hexdigest()[:24]


def create_database(server: str, name: str) -> str:
    """The URL of database `name` on `server` (a superuser URL), created if missing."""
    from sqlalchemy.engine import make_url

    _ensure_database(server, name)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _ensure_database(server: str, name: str) -> None:
    import psycopg
    from psycopg import errors
    from sqlalchemy.engine import make_url

    url = make_url(server)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone():
            return
        # Another process may create it a moment before this one.
        with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
            connection.execute(f'CREATE DATABASE "{name}"')


def db_url_for(root: Path) -> str:
    """The catalogue URL of the data directory `root` on the test server (created if missing)."""
    return create_database(os.environ[ENV], database_name(root))


def install() -> None:
    """Route every DataLayout without an explicit catalogue URL to its PostgreSQL database."""
    from stablecopy.layout import DataLayout

    original = DataLayout.create.__func__  # type: ignore[attr-defined]

    def create(
        cls: type[DataLayout], data_dir: str | Path, db_url: str | None = None
    ) -> DataLayout:
        if not db_url:
            db_url = db_url_for(Path(data_dir).expanduser().absolute())
        return original(cls, data_dir, db_url)  # type: ignore[no-any-return]

    DataLayout.create = classmethod(create)  # type: ignore[method-assign,assignment]


def copy_data_dir(source: Path, target: Path) -> None:
    """Copy a data directory whole; in the PostgreSQL pass its catalogue database is copied too
    (a SQLite catalogue is a file inside it, so copying the folder is enough)."""
    shutil.copytree(source, target)
    server = os.environ.get(ENV)
    if not server:
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    original = database_name(source.expanduser().absolute())
    copy = database_name(target.expanduser().absolute())
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as connection:
        # A database is copied as a template only while nobody is connected to it.
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (original,),
        )
        connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{original}"')
