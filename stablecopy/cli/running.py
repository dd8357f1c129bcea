"""Running one crawl process for a command (`crawl`, `worker`): repair first, run, print the summary,
exit with the status the outcome calls for."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from stablecopy.catalog.session import CatalogError
from stablecopy.cli.console import configure_logging, err, print_crawl_summary
from stablecopy.cli.options import INTERRUPTED
from stablecopy.crawl.repair import repair_data_dir
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from stablecopy.crawl.runner import CrawlOutcome


def failure_line(outcome: CrawlOutcome) -> str:
    """What stopped a crawl that could not write, in one line, with what to do about it."""
    if outcome.reason == "warc_write_failed":
        why = outcome.stats.get("stablecopy/write_error") or f"{outcome.write_errors} write errors"
        return (
            f"the archive could not be written ({why}); the crawl stopped (warc_write_failed). "
            "Everything archived before is whole and catalogued; once there is room, continue "
            f"with `stablecopy crawl --resume {outcome.crawl_id}`."
        )
    if outcome.reason == "catalog_failed":
        why = outcome.stats.get("stablecopy/catalog_error") or "the catalogue failed"
        return (
            f"{why}; the crawl stopped (catalog_failed). The WARC files are closed and intact; "
            "once the catalogue can be written, `stablecopy repair` catalogues what it missed."
        )
    if outcome.write_errors:
        return f"{outcome.write_errors} write error(s); the crawl stopped ({outcome.reason})"
    return f"the crawl stopped: {outcome.reason}"


def repair_before_crawling(layout: DataLayout) -> None:
    """Repair the data directory before crawling into it, and say what was done."""
    try:
        report = repair_data_dir(layout)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        err.print(f"Repair: {line}", markup=False, highlight=False)


def run_and_report(layout: DataLayout, settings: dict[str, Any], verbose: bool) -> None:
    """Run one crawl process with `settings` in `layout`, print its summary, exit as it went."""
    from stablecopy.crawl.runner import project_settings, run_crawl

    settings = {
        **settings,
        "STABLECOPY_DATA_DIR": str(layout.root),
        "STABLECOPY_DB_URL": layout.db_url,
        "STABLECOPY_PROGRESS": True,
        "STABLECOPY_REPAIR_AT_START": False,  # repaired before, with its lines on the console
    }
    log_file = layout.log_dir / f"crawl-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    configure_logging(verbose, log_file)
    outcome = run_crawl(project_settings(settings))
    print_crawl_summary(outcome, layout, log_file)
    if outcome.failed:
        raise click.ClickException(failure_line(outcome))
    if outcome.interrupted:
        sys.exit(INTERRUPTED)
    if outcome.archived_no_page:
        raise click.ClickException(
            f"no page was archived: {outcome.stat('stablecopy/pages/failed')} failed, "
            f"{outcome.stat('stablecopy/fetch_failures')} fetch(es) without an answer, "
            f"{outcome.stat('robotstxt/forbidden')} request(s) disallowed by robots.txt "
            f"(the log says which: {log_file})"
        )
