"""The `stablecopy` click group; each area of commands registers on it from its own module."""

from __future__ import annotations

import click

from stablecopy import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stablecopy")
def cli() -> None:
    """Archive news sites with provenance: Scrapy crawls into WARC files, clean text, and a
    catalogue that says where every byte is and what its hash was when fetched."""
