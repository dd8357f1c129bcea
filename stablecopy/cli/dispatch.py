"""The scheduler's --dispatch options: scheduled runs as local subprocesses or as Scrapyd jobs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from sqlalchemy.engine import make_url

from stablecopy.layout import DataLayout
from stablecopy.schedule.launcher import Launcher

F = TypeVar("F", bound=Callable[..., Any])
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Dispatch:
    """Where scheduled runs go, as the command line said."""

    how: str
    scrapyd: tuple[str, ...]
    project: str
    node_data_dir: str | None
    node_db: str | None

    def launcher(self, layout: DataLayout, say: Callable[[str], None]) -> Launcher | None:
        """The launcher to use (None: local subprocesses), checked against its nodes; a one-line
        ClickException if they cannot take runs."""
        if self.how == "local":
            if self.scrapyd:
                raise click.UsageError("--scrapyd goes with --dispatch scrapyd")
            return None
        from stablecopy.schedule.scrapyd import ScrapydError, ScrapydLauncher

        if not self.scrapyd:
            raise click.UsageError("--dispatch scrapyd needs at least one --scrapyd URL")
        db_url = self.node_db or layout.db_url
        remote = [u for u in self.scrapyd if urlsplit(u).hostname not in _LOOPBACK]
        if remote and make_url(db_url).get_backend_name() == "sqlite":
            say(
                "Warning: the catalogue is a SQLite file, which only nodes on this machine can "
                "share; give nodes on other machines a PostgreSQL catalogue (--db, --node-db)."
            )
        try:
            launcher = ScrapydLauncher(
                list(self.scrapyd),
                self.project,
                self.node_data_dir or str(layout.root.absolute()),
                db_url,
                say=say,
            )
            launcher.check()
        except ScrapydError as exc:
            raise click.ClickException(str(exc)) from exc
        return launcher


def dispatch_options(command: F) -> F:
    """--dispatch, --scrapyd, --scrapyd-project, --node-data-dir, --node-db, handed to the command
    as one `dispatch` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["dispatch"] = Dispatch(
            how=kwargs.pop("dispatch_how"),
            scrapyd=kwargs.pop("scrapyd"),
            project=kwargs.pop("scrapyd_project"),
            node_data_dir=kwargs.pop("node_data_dir"),
            node_db=kwargs.pop("node_db"),
        )
        return command(*args, **kwargs)

    options = [
        click.option(
            "--dispatch",
            "dispatch_how",
            type=click.Choice(["local", "scrapyd"]),
            default="local",
            show_default=True,
            help="Run each crawl as a subprocess here, or as a job on a Scrapyd node.",
        ),
        click.option(
            "--scrapyd",
            multiple=True,
            metavar="URL",
            envvar="STABLECOPY_SCRAPYD",
            help="A Scrapyd node (http://host:6800, credentials in the URL if it needs them). "
            "Repeatable: each run goes to the node with the fewest jobs.",
        ),
        click.option(
            "--scrapyd-project",
            default="stablecopy",
            show_default=True,
            metavar="NAME",
            help="The name stablecopy's project has on the Scrapyd nodes.",
        ),
        click.option(
            "--node-data-dir",
            metavar="PATH",
            help="The data directory as the nodes see it [default: --data-dir].",
        ),
        click.option(
            "--node-db",
            metavar="URL",
            help="The catalogue as the nodes reach it [default: --db].",
        ),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated
