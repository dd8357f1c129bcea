"""The `stablecopy` command: a click group of thin commands over the library, one module per area.

Expected failures print one line, `Error: ...`, and exit with status 1; never a traceback.
"""

from __future__ import annotations

from stablecopy.cli.group import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="stablecopy")
