"""`stablecopy repair`: put a data directory right after a crash (also run before every crawl)."""

from __future__ import annotations

from pathlib import Path

import click

from stablecopy.catalog.session import CatalogError
from stablecopy.cli.console import err
from stablecopy.cli.group import cli
from stablecopy.cli.options import location_options
from stablecopy.crawl.repair import repair_data_dir
from stablecopy.layout import DataLayout


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@location_options
def repair(directory: Path | None, data_dir: Path, db_url: str | None) -> None:
    """Repair a data directory after a crash (DIRECTORY, or --data-dir): close WARC files a killed
    crawl left `.open` (bytes after the last complete record are moved to DATA_DIR/repair/, never
    deleted), catalogue complete records that lack a row, mark crawls whose process is gone as
    interrupted, and remove the requests a killed crawl had waiting on disk (DATA_DIR/tmp/). Files
    a running crawl holds are left alone. `stablecopy crawl` does this first. Then make the clean
    text of pages that lack it (their extraction failed or never ran; crawls that ran without
    extraction excepted), archived in new WARC files of their crawls.

    Exit status: 0 when everything could be repaired, 1 otherwise."""
    layout = DataLayout.create(directory or data_dir, db_url)
    if not layout.root.is_dir():
        raise click.ClickException(f"no data directory at {layout.root}")
    try:
        report = repair_data_dir(layout, texts=True)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        err.print(line, markup=False, highlight=False)
    if not report.lines:
        err.print("Nothing to repair.")
    if report.problems:
        raise click.ClickException(f"{report.problems} file(s) could not be repaired")
