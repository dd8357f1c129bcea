"""`make demo`: serve the sample site on loopback, crawl it (pages and what they need to render),
show the captures, one page's provenance and requisites and its clean text, verify the crawl and
cite the article and write its evidence package (checked offline); then crawl the site's next
edition and show what changed.

Runs the real `stablecopy` commands as subprocesses and prints each one first, so the demo doubles
as a lesson in using them.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from stablecopy.catalog.crawls import latest_crawl_id
from stablecopy.catalog.queries import text_capture_of
from stablecopy.catalog.session import open_catalog, session_scope
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import EDITED, ROTATING_AD, articles, seed_article
from stablecopy.samplesite.server import SiteServer

ARTICLE_PATHS = {article.slug: article.path for article in articles()}


def run(*args: str) -> int:
    command = ["stablecopy", *args]
    print(f"\n$ {shlex.join(command)}", flush=True)
    return subprocess.call([sys.executable, "-m", "stablecopy", *args])


def crawl(site: SiteServer, data_dir: str) -> int:
    return run(
        "crawl",
        site.url("/"),
        site.url("/sitemap-index.xml"),
        site.url("/feed.xml"),
        "--follow",
        "--data-dir",
        data_dir,
        # A loopback server answers in a millisecond: no need to start slow.
        "-s", "AUTOTHROTTLE_START_DELAY=0.05",
        "-s", "DOWNLOAD_DELAY=0",
        "-s", "STABLECOPY_OPERATOR=stablecopy demo",
        # The sample site's ad server is a loopback address, which no public block list names.
        "-s", f"STABLECOPY_BLOCKED_HOSTS={urlsplit(site.ads.base).hostname}",
    )  # fmt: skip


def main(data_dir: str = "stablecopy-data") -> int:
    layout = DataLayout.create(data_dir)
    with SiteServer() as site:
        print(f"Sample news site serving on {site.base}")
        if not (Path(data_dir) / "keys").exists():
            run("keys", "init", "--data-dir", data_dir)  # the key that signs the capture log
        status = crawl(site, data_dir)
        if status != 0:
            return status
        engine = open_catalog(layout.db_url)
        with session_scope(engine) as session:
            crawl_id = latest_crawl_id(session)
            article = text_capture_of(session, crawl_id or 0, seed_article().path)
        engine.dispose()
        run("captures", "--crawl", str(crawl_id), "--data-dir", data_dir)
        run("show", str(article), "--data-dir", data_dir)
        run("show", str(article), "--text", "--data-dir", data_dir)
        run("verify", "--crawl", str(crawl_id), "--data-dir", data_dir)
        run(
            "cite", "--id", str(article), "--format", "bibtex", "--evidence", "--data-dir", data_dir
        )
        package = str(Path(data_dir) / f"evidence-{article}.zip")
        run("evidence", str(article), "-o", package, "--data-dir", data_dir)
        run("check-evidence", package)
        print(
            "\nThe site publishes its next edition: one story edited, one withdrawn, one new, an "
            "advertisement rotated, the rest unchanged. Crawling it again:"
        )
        site.set_edition(2)
        status = crawl(site, data_dir)
        if status != 0:
            return status
        edited = site.url(ARTICLE_PATHS[EDITED])
        run("history", edited, "--data-dir", data_dir)
        run("diff", edited, "--data-dir", data_dir)
        run("history", site.url(ARTICLE_PATHS[ROTATING_AD]), "--data-dir", data_dir)
    print(f"\nWARC files: {Path(data_dir) / 'warcs'}   Catalogue: {layout.db_url}")
    print(
        f"Replay it: stablecopy serve --data-dir {data_dir}   Package it: stablecopy export --help\n"
        "Crawl on a schedule: stablecopy schedule add --help\n"
    )
    print(
        "Browse it in a web browser: run\n"
        f"  .venv/bin/stablecopy serve --data-dir {data_dir} &   # the replays, on port 8080\n"
        f"  .venv/bin/stablecopy web --data-dir {data_dir}       # search, captures, citations\n"
        "then open http://127.0.0.1:8000/ (schedules and runs: `stablecopy user add NAME` first)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
