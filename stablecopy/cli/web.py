"""`stablecopy web` and `stablecopy user`: the web interface and who may sign in to it."""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
from pathlib import Path

import click

from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    DEFAULT_BASE_URL,
    DEFAULT_COLLECTION,
    existing_catalog,
    keys_dir_option,
    listen_options,
    location_options,
)
from stablecopy.layout import DataLayout

SECRET = "web-session.key"


def session_secret(folder: Path) -> str:
    """The key that signs session cookies: made once (0600), kept with the archive's keys."""
    path = folder / SECRET
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text("ascii").strip()
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text("ascii").strip()


@cli.command()
@listen_options(8000)
@click.option(
    "--replay-url",
    envvar="STABLECOPY_BASE_URL",
    default=DEFAULT_BASE_URL,
    show_default=True,
    help="Where `stablecopy serve` replays this archive.",
)
@click.option(
    "--collection",
    envvar="STABLECOPY_COLLECTION",
    default=DEFAULT_COLLECTION,
    show_default=True,
    help="The replay collection's name.",
)
@click.option(
    "--login-to-read",
    is_flag=True,
    help="Only signed-in users may read [default: anyone who reaches it may read].",
)
@click.option(
    "--archive-name",
    envvar="STABLECOPY_ARCHIVE_NAME",
    default="",
    help="The archive's name as citations print it.",
)
@keys_dir_option
@location_options
def web(
    host: str,
    port: int,
    replay_url: str,
    collection: str,
    login_to_read: bool,
    archive_name: str,
    keys_dir: Path | None,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Serve the web interface: search, captures with their replay, clean text, provenance and
    citations, and (signed in) schedules and runs. Binds to 127.0.0.1 by default."""
    import uvicorn

    from stablecopy.catalog.session import open_catalog
    from stablecopy.cli.console import err
    from stablecopy.cli.serve import ipaddress_is_loopback
    from stablecopy.evidence.keys import KeyFiles
    from stablecopy.web.app import WebConfig, create_app, fill_search_texts

    layout = DataLayout.create(data_dir, db_url)
    reader = existing_catalog(data_dir, db_url)
    writer = open_catalog(layout.db_url, writer=True)
    loopback = ipaddress_is_loopback(host)
    if not loopback:
        err.print(f"Warning: listening on {host}: serve it behind HTTPS (cookies are Secure).")
    keys = KeyFiles.configured(keys_dir, layout.root)
    config = WebConfig(
        layout=layout, secret=session_secret(keys.folder), replay_url=replay_url,
        collection=collection, public_reading=not login_to_read, secure_cookies=not loopback,
        archive_name=archive_name,
    )  # fmt: skip
    app = create_app(reader, writer, config)
    threading.Thread(target=fill_search_texts, args=(writer, layout), daemon=True).start()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(128)  # connections wait from now on, before the server is up
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    bound = listening.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"Web interface at http://{shown_host}:{bound}/")
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           server_header=False))  # fmt: skip
    try:
        server.run(sockets=[listening])
    finally:
        reader.dispose()
        writer.dispose()


@cli.group()
def user() -> None:
    """Who may sign in to `stablecopy web` (and change schedules and runs there)."""


@user.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@location_options
def user_add(name: str, password_stdin: bool, data_dir: Path, db_url: str | None) -> None:
    """Add user NAME; the password is asked for (twice) or read from standard input."""
    from sqlalchemy.orm import Session

    from stablecopy.catalog.users import UserError, add_user
    from stablecopy.web.passwords import PasswordError, hashed

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        password_hash = hashed(password)
    except PasswordError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = existing_catalog(data_dir, db_url, writer=True)
    try:
        with Session(engine) as session:
            add_user(session, name, password_hash)
            session.commit()
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"added user {name.strip()}")
