"""`stablecopy export`: WACZ packages, CDXJ indexes and JSON lines of selected captures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stablecopy.catalog import queries
from stablecopy.cli.console import err
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    catalog,
    keys_dir_option,
    location_options,
    parse_settings,
    require_crawl,
    settings_option,
    utc,
)
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from stablecopy.export.wacz import Signer


@cli.command()
@click.option(
    "--wacz",
    "wacz_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="OUT.wacz",
    help="Write a WACZ 1.1.1 package.",
)
@click.option(
    "--cdxj", "cdxj_path", metavar="OUT", help="Write a CDXJ index ('-': standard output)."
)
@click.option(
    "--jsonl",
    "jsonl_path",
    metavar="OUT",
    help="Write the captures as JSON lines ('-': standard output).",
)
@click.option(
    "--crawl", "crawl_id", type=int, metavar="ID", help="Only the captures of this crawl."
)
@click.option("--url-prefix", metavar="PREFIX", help="Only captures whose URL starts with PREFIX.")
@click.option("--since", metavar="DATE", help="Only captures fetched at or after DATE (ISO 8601).")
@click.option("--until", metavar="DATE", help="Only captures fetched at or before DATE (ISO 8601).")
@click.option("--title", help="Title of the WACZ package.")
@click.option(
    "--sign",
    is_flag=True,
    help="Sign the WACZ (WACZ signing specification, anonymous signature with the archive's "
    "ECDSA key; time-stamped when STABLECOPY_TSA_URLS is set).",
)
@keys_dir_option
@settings_option
@location_options
def export(
    wacz_path: Path | None,
    cdxj_path: str | None,
    jsonl_path: str | None,
    crawl_id: int | None,
    url_prefix: str | None,
    since: str | None,
    until: str | None,
    title: str | None,
    sign: bool,
    keys_dir: Path | None,
    overrides: tuple[str, ...],
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Export captures for colleagues and scripts: a self-contained WACZ (WARC records, CDXJ index,
    pages with their clean text, datapackage with checksums), a CDXJ index, or JSON lines."""
    from stablecopy.export.cdxj import write_cdxj
    from stablecopy.export.jsonl import write_jsonl
    from stablecopy.export.output import ExportError, written_whole
    from stablecopy.export.wacz import WaczWriter

    chosen = [option for option in (wacz_path, cdxj_path, jsonl_path) if option is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --wacz, --cdxj and --jsonl")
    selection = queries.CaptureFilter(
        crawl_id=crawl_id,
        url_prefix=url_prefix,
        since=utc(since),
        until=utc(until),
        with_originals=cdxj_path is not None,  # an index must find what its revisits stand for
    )
    layout = DataLayout.create(data_dir, db_url)
    if sign and wacz_path is None:
        raise click.UsageError("--sign signs a WACZ: give --wacz")
    signer = _signer(layout, keys_dir, overrides) if sign else None
    with catalog(data_dir, db_url) as session:
        require_crawl(session, crawl_id)
        if wacz_path is not None:
            try:
                summary = WaczWriter(session, layout).write(
                    selection, wacz_path, title=title, sign=signer
                )
            except (ExportError, OSError) as exc:
                raise click.ClickException(str(exc)) from exc
            err.print(
                f"Wrote {summary.path}: {summary.captures} captures, {summary.pages} pages, "
                f"{len(summary.archive_files)} WARC file(s) ({summary.excerpts} excerpted), "
                f"{summary.size / 1e6:.2f} MB."
            )
            return
        target = cdxj_path or jsonl_path or "-"
        try:
            opened = click.open_file("-", "w") if target == "-" else written_whole(Path(target))
            with opened as out:
                if cdxj_path is not None:
                    count = write_cdxj(queries.captures_by_key(session, selection), out)
                else:
                    count = write_jsonl(queries.selected_captures(session, selection), out)
        except (ExportError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        if target != "-":
            err.print(f"Wrote {target}: {count} captures.")


def _signer(layout: DataLayout, keys_dir: Path | None, overrides: tuple[str, ...]) -> Signer:
    """Signs with the archive's WACZ key, time-stamped by the first TSA that answers."""
    from stablecopy.crawl.notary import tsa_roots
    from stablecopy.crawl.runner import project_settings
    from stablecopy.evidence import waczsign
    from stablecopy.evidence.keys import KeyFileError, KeyFiles
    from stablecopy.evidence.timestamp import TimestampError

    settings = project_settings(parse_settings(overrides))
    try:
        key = KeyFiles.configured(keys_dir, layout.root).package_key()
        roots = tsa_roots(settings)
    except (KeyFileError, TimestampError) as exc:
        raise click.ClickException(str(exc)) from exc
    urls = [url for url in settings.getlist("STABLECOPY_TSA_URLS") if url]

    def signed(hash_label: str, created: str) -> dict[str, Any]:
        data, failures = waczsign.sign(hash_label, created, key, urls, roots)
        for failure in failures:
            err.print(f"Warning: the WACZ signature is not time-stamped: {failure}")
        return data

    return signed
