"""`python -m bench` (what `make bench` runs): every tool over one generated site, interleaved rounds."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench.catalogue import Point, catalogue_round, catalogue_table
from bench.consent import consent_round
from bench.measure import become_subreaper, run
from bench.report import Sample, Series, Target, chart, markdown, write_json
from bench.requisites import requisites_round, requisites_table
from bench.rounds import TOOLS, Tool
from bench.scaling import scaling_table, shared_crawl
from bench.site import NewsSite
from stablecopy.extract.options import ExtractOptions
from stablecopy.extract.text import extract_text
from tests.services import RedisServer

MB = 1024 * 1024


def _written_mb(out: Path) -> float:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and
               p.name.endswith((".warc.gz", ".warc.gz.open", ".wacz"))) / MB  # fmt: skip


def _available(tool: Tool) -> bool:
    if tool.needs and not (Path(tool.needs).exists() or shutil.which(tool.needs)):
        print(f"  {tool.key}: left out, {tool.needs} is not installed", flush=True)
        return False
    return True


def crawl_once(tool: Tool, site: NewsSite, work: Path, tag: str) -> tuple[Sample, Path]:
    out = work / f"{tool.key}-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    site.fetched_since_mark()
    usage = run(tool.command(site.base + "/", out), work / f"{tool.key}-{tag}.log",
                env=tool.env(), cwd=out)  # fmt: skip
    fetched = site.fetched_since_mark()
    sample = Sample(pages=fetched.pages, wall_s=usage.wall_s, cpu_s=usage.cpu_s,
                    main_rss_mb=usage.main_rss_mb, fetched_mb=fetched.body_bytes / MB,
                    written_mb=_written_mb(out), exit_code=usage.exit_code)  # fmt: skip
    print(f"  {tool.key:<11} {sample.pages:>6} pages {sample.wall_s:7.1f} s "
          f"{sample.pages_per_s:7.1f} pages/s {sample.cpu_ms_per_page:6.1f} CPU ms/page "
          f"{sample.main_rss_mb:6.0f} MB RSS  exit {sample.exit_code}", flush=True)  # fmt: skip
    return sample, out


def fixity_rounds(data_dir: Path, work: Path, rounds: int) -> tuple[Series, Series]:
    """`stablecopy verify` against `warcio check` on the same WARC files, interleaved."""
    warcs = sorted(str(p) for p in (data_dir / "warcs").glob("*.warc.gz"))
    size = sum(Path(p).stat().st_size for p in warcs) / MB
    ours = Series("verify", "stablecopy verify")
    peer = Series("warcio-check", "warcio check")
    warcio = str(Path(sys.executable).with_name("warcio"))
    commands = ((ours, [sys.executable, "-m", "stablecopy", "verify", "--data-dir", str(data_dir)]),
                (peer, [warcio, "check", *warcs]))  # fmt: skip
    for _ in range(rounds):
        for series, command in commands:
            usage = run(command, work / f"{series.key}.log")
            series.samples.append(Sample(pages=len(warcs), wall_s=usage.wall_s,
                                         cpu_s=usage.cpu_s, main_rss_mb=usage.main_rss_mb,
                                         fetched_mb=size, written_mb=0.0,
                                         exit_code=usage.exit_code))  # fmt: skip
            print(
                f"  {series.key:<13} {size:.0f} MB in {usage.wall_s:.2f} s "
                f"({size / usage.wall_s:.0f} MB/s) exit {usage.exit_code}",
                flush=True,
            )
    return ours, peer


def extraction_ms(site: NewsSite, pages: int = 200, rounds: int = 3) -> list[float]:
    """Clean text alone, in this process: milliseconds per article page, one figure per round.
    Each round has pages of its own, as a crawl does: pages met again find trafilatura's and
    htmldate's caches warm (about a tenth faster here)."""
    files = sorted((site.work / "root").rglob("story-*.html"))[: pages * rounds]
    texts = [(f.read_text("utf-8"), f"{site.base}/{f.relative_to(site.work / 'root')}")
             for f in files]  # fmt: skip
    options = ExtractOptions()
    extract_text("<html><body><p>warm-up</p></body></html>", site.base, options)  # imports, rules
    figures = []
    for number in range(rounds):
        batch = texts[number * pages : (number + 1) * pages]
        started = time.perf_counter()
        for html, url in batch:
            extract_text(html, url, options)
        figures.append(1000 * (time.perf_counter() - started) / max(len(batch), 1))
    return figures


def _ratio(a: Series, b: Series) -> float:
    return a.spread("pages_per_s")[0] / max(b.spread("pages_per_s")[0], 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--scale",
        default="1000,20000",
        help="two site sizes for the memory-growth run ('' to skip)",
    )
    parser.add_argument(
        "--workers",
        default="1,2,4",
        help="worker processes of the shared-crawl scaling run ('' to skip)",
    )
    parser.add_argument(
        "--catalogue-sizes",
        default="200000,2000000",
        help="two catalogue sizes for the replay/export/verify scale round ('' to skip)",
    )
    parser.add_argument(
        "--only-catalogue",
        action="store_true",
        help="run the catalogue-scale round alone (over one crawl of the site)",
    )
    parser.add_argument(
        "--requisite-pages",
        type=int,
        default=300,
        help="pages of the page-requisites round against wget --page-requisites (0 to skip)",
    )
    parser.add_argument(
        "--only-requisites", action="store_true", help="run the page-requisites round alone"
    )
    parser.add_argument(
        "--only-consent",
        action="store_true",
        help="run the consent round alone (consent corpus and extraction benchmark)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    become_subreaper()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="stablecopy-bench-"))
    started = datetime.now(UTC)
    machine = (f"{platform.node()}: {os.cpu_count()} cores, {platform.machine()}, "
               f"Python {platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip
    print(f"bench: {args.articles} articles, {args.rounds} rounds, work in {work}", flush=True)
    if args.only_catalogue:
        return _catalogue_only(args, work)
    if args.only_consent:
        table = "\n".join(consent_round())
        print("\n" + table)
        (args.out / "consent-latest.md").write_text(table + "\n")
        return 0
    if args.only_requisites:
        try:
            lines = requisites_table(requisites_round(work, args.requisite_pages, args.rounds))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print("\n" + "\n".join(lines))
        return 0
    tools = [tool for tool in TOOLS if _available(tool)]
    series = {tool.key: Series(tool.key, tool.label) for tool in tools}
    try:
        site = NewsSite(args.articles, work)
        with site.served():
            for number in range(1, args.rounds + 1):
                print(f"round {number}", flush=True)
                for tool in tools:
                    sample, out = crawl_once(tool, site, work, "main")
                    series[tool.key].samples.append(sample)
                    if tool.key == "full":
                        kept = work / "full-kept"
                        shutil.rmtree(kept, ignore_errors=True)
                        out.rename(kept)
            print("fixity", flush=True)
            verify, check = fixity_rounds(work / "full-kept", work, args.rounds)
            at_scale: list[Point] = []
            if args.catalogue_sizes:
                print("catalogue scale", flush=True)
                sizes = [int(n) for n in args.catalogue_sizes.split(",")]
                at_scale = catalogue_round(work / "full-kept", work, _host(site), sizes)
            requisites: list[str] = []
            if args.requisite_pages:
                print("page requisites: stablecopy and wget --page-requisites", flush=True)
                runs = requisites_round(work, args.requisite_pages, args.rounds)
                requisites = requisites_table(runs)
            print("extraction alone", flush=True)
            extraction = extraction_ms(site)
            print("consent: corpus and extraction benchmark", flush=True)
            consent = consent_round()
            scaling = []
            if args.workers:
                print("scaling: one shared crawl (Redis frontier) by N workers", flush=True)
                with RedisServer() as redis:
                    for workers in (int(n) for n in args.workers.split(",")):
                        scaling.append(shared_crawl(site, work, workers, redis.url))
        growth: dict[str, float] = {}
        if args.scale:
            print("memory growth", flush=True)
            for size in (int(n) for n in args.scale.split(",")):
                scale_site = NewsSite(size, work)
                with scale_site.served():
                    sample, out = crawl_once(TOOLS[0], scale_site, work, f"scale-{size}")
                    growth[str(size)] = sample.main_rss_mb
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(scale_site.work, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    targets = _targets(series, verify, check, growth)
    header = (f"stablecopy benchmark, {started:%Y-%m-%d %H:%M} UTC, on {machine}. "
              f"{args.articles} generated articles of ~50 KB served by nginx on 127.0.0.1; "
              f"{args.rounds} interleaved rounds; medians (min–max).")  # fmt: skip
    extra = [
        (
            f"Fixity: stablecopy verify {verify.spread('mb_per_s')[0]:.0f} MB/s, warcio check "
            f"{check.spread('mb_per_s')[0]:.0f} MB/s on the same "
            f"{verify.samples[0].fetched_mb:.0f} MB of WARC files."
        ),
        (
            f"Clean text alone: {statistics.median(extraction):.1f} ms/page "
            f"({min(extraction):.1f}–{max(extraction):.1f}), one process."
        ),
    ]
    if growth:
        extra.append(
            "Main-process peak RSS of the full pipeline by site size: "
            + ", ".join(f"{n} pages {mb:.0f} MB" for n, mb in growth.items())
            + "."
        )
    if requisites:
        extra += [
            "",
            (
                f"Page requisites: {args.requisite_pages} article pages, each needing a stylesheet "
                "(which imports another with a web font and a background), a favicon, a script, a "
                "two-width srcset photo and an image of its own, on the site and a CDN host "
                "(Python servers on 127.0.0.1 and 127.0.0.2); both tools follow the front page's "
                "links one hop, write WARC files and extract nothing."
            ),
            "",
            *requisites,
        ]
    if at_scale:
        extra += ["", *catalogue_table(at_scale)]
        targets += _scale_targets(at_scale)
    extra += ["", *consent]
    if scaling:
        extra += [
            "",
            (
                f"Scaling: one shared crawl of the same site by N `stablecopy worker` processes "
                f"on this machine ({os.cpu_count()} cores), one Redis frontier, one SQLite "
                "catalogue, full pipeline; one run each."
            ),
            "",
            *scaling_table(scaling),
        ]
    table = markdown(header, [*series.values()], extra, targets)
    print("\n" + table)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"{stamp}.md", "latest.md"):
        (args.out / name).write_text(table)
    write_json(args.out / f"{stamp}.json", {
        "started": started.isoformat(), "machine": machine, "articles": args.articles,
        "rounds": args.rounds, "tools": [*series.values()], "fixity": [verify, check],
        "extraction_ms_per_page": extraction, "main_rss_mb_by_size": growth,
        "scaling": [{**asdict(p), "pages_per_s": p.sample.pages_per_s} for p in scaling],
        "targets": targets,
    })  # fmt: skip
    title = (
        f"stablecopy benchmark {started:%Y-%m-%d}: {args.articles} articles, {os.cpu_count()} cores"
    )
    chart(args.out / f"{stamp}.png", title, [*series.values()])
    shutil.copyfile(args.out / f"{stamp}.png", args.out / "latest.png")
    print(f"written to {args.out}/{stamp}.{{md,json,png}}")
    return 0


def _host(site: NewsSite) -> str:
    return site.base.split("://", 1)[1].rstrip("/")


def _scale_targets(points: list[Point]) -> list[Target]:
    small, large = points[0], points[-1]
    found = []
    for name in ("serve, start to first answer", "serve, started again"):
        ready = large.seconds[name]
        found.append(Target(f"{name}, {large.size:,} captures (s)", ready, "< 5", ready < 5))
    found.append(Target("serve idle, share of a core", large.idle_core_share, "< 0.01",
                        large.idle_core_share < 0.01))  # fmt: skip
    for name in ("export --wacz --url-prefix", "export --jsonl --since", "verify --url",
                 "crawl of one page (repair at start)"):  # fmt: skip
        growth = large.seconds[name] / max(small.seconds[name], 1e-9)
        found.append(Target(f"{name}, growth with the catalogue", growth, "< 2", growth < 2))
    rss = max(large.rss_mb.values())
    found.append(Target("peak RSS of those commands (MB)", rss, "< 300", rss < 300))
    return found


def _catalogue_only(args: argparse.Namespace, work: Path) -> int:
    """The catalogue-scale round alone, over one full crawl of a small site."""
    try:
        site = NewsSite(min(args.articles, 1000), work)
        with site.served():
            _, crawled = crawl_once(TOOLS[0], site, work, "catalogue")
            sizes = [int(n) for n in args.catalogue_sizes.split(",")]
            points = catalogue_round(crawled, work, _host(site), sizes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = "\n".join([*catalogue_table(points), "", *(
        f"- {t.name}: {t.measured:.3g} (wanted {t.wanted}){'' if t.met else ' NOT MET'}"
        for t in _scale_targets(points))])  # fmt: skip
    print("\n" + table)
    (args.out / "catalogue-latest.md").write_text(table + "\n")
    return 0


def _targets(series: dict[str, Series], verify: Series, check: Series,
             growth: dict[str, float]) -> list[Target]:  # fmt: skip
    found: list[Target] = []

    def ratio(name: str, a: str, b: str, wanted: float) -> None:
        if a in series and b in series and series[a].samples and series[b].samples:
            value = _ratio(series[a], series[b])
            found.append(Target(name, value, f">= {wanted}", value >= wanted))

    ratio("full pipeline / bare Scrapy (pages/s)", "full", "bare", 0.45)
    ratio("capture only / wget (pages/s)", "capture", "wget", 1.0)
    ratio("capture only / scrapy-webarchive (pages/s)", "capture", "webarchive", 1.5)
    value = verify.spread("mb_per_s")[0] / max(check.spread("mb_per_s")[0], 1e-9)
    found.append(Target("stablecopy verify / warcio check (MB/s)", value, ">= 2", value >= 2))
    if "full" in series and series["full"].samples:
        rss = series["full"].spread("main_rss_mb")[0]
        found.append(Target("full pipeline main RSS (MB)", rss, "<= 200", rss <= 200))
    if len(growth) == 2:
        small, large = growth.values()
        value = large / small - 1
        found.append(
            Target("main RSS growth, smaller to larger site", value, "< 0.20", value < 0.2)
        )
    return found


if __name__ == "__main__":
    sys.exit(main())
