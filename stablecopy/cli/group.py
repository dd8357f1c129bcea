"""The `stablecopy` click group; each area of commands registers on it from its own module, which is
imported only when one of its commands runs (or the commands are listed)."""

from __future__ import annotations

import importlib

import click

from stablecopy import __version__

# Each command and the module of stablecopy.cli that defines it. A command pays only for its own
# imports: `stablecopy verify` does not load Scrapy, pywb's launcher or the scheduler.
COMMANDS = {
    "captures": "captures", "show": "captures", "cite": "provenance", "verify": "fixity",
    "crawl": "crawl", "repair": "repair", "export": "export", "history": "history",
    "diff": "history", "schedule": "schedules", "scheduler": "schedules", "serve": "serve",
    "upload": "store", "worker": "shared", "keys": "evidence", "log": "evidence",
    "evidence": "evidence", "check-evidence": "evidence", "web": "web", "user": "web",
}  # fmt: skip


class _Commands(click.Group):
    """A group whose commands are imported from their modules when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"stablecopy.cli.{COMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stablecopy")
def cli() -> None:
    """Archive news sites with provenance: Scrapy crawls into WARC files, clean text, and a
    catalogue that says where every byte is and what its hash was when fetched."""
