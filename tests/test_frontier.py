"""The crawl's own frontier: requests past STABLECOPY_FRONTIER_IN_MEMORY wait on disk, in order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.http import Response

from stablecopy.frontier.spilling import SpillingQueue
from stablecopy.layout import DataLayout
from stablecopy.samplesite.generated import generated_site
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli

ROOT = Path(__file__).resolve().parents[1]


class Pages(Spider):
    name = "pages"

    def parse_page(self, response: Response) -> None:
        pass

    def fetch_failed(self, failure: object) -> None:
        pass


def _request(spider: Pages, number: int) -> Request:
    return Request(
        f"http://news.test/story-{number}.html",
        callback=spider.parse_page,
        errback=spider.fetch_failed,
        headers={"Referer": f"http://news.test/list-{number // 10}.html"},
        meta={"stablecopy_hops": number % 3, "stablecopy_hosts": ("news.test",)},
        priority=number % 2,
    )


def _fields(request: Request) -> tuple[object, ...]:
    return (request.url, request.callback, request.errback, request.headers.to_unicode_dict(),
            request.meta, request.priority)  # fmt: skip


def test_requests_past_the_bound_wait_on_disk_and_come_back_last_in_first_out(
    tmp_path: Path,
) -> None:
    spider = Pages()
    queue = SpillingQueue(spider, limit=4, folder=tmp_path / "tmp")
    pushed = [_request(spider, number) for number in range(25)]
    for request in pushed[:20]:
        queue.push(request)
    assert len(queue) == 20
    assert len(list((tmp_path / "tmp").glob("frontier-*/requests"))) == 1  # the spill file
    popped = [queue.pop() for _ in range(12)]
    for request in pushed[20:]:  # pushed again after popping from disk
        queue.push(request)
    peeked = queue.peek()
    popped += [queue.pop() for _ in range(len(queue))]
    assert queue.pop() is None
    expected = [*pushed[19:7:-1], *pushed[:19:-1], *pushed[7::-1]]
    assert peeked is not None
    assert _fields(peeked) == _fields(pushed[24])
    assert [_fields(r) for r in popped if r is not None] == [_fields(r) for r in expected]
    queue.close()
    assert not (tmp_path / "tmp").exists()


def test_a_request_that_cannot_be_written_down_stays_in_memory(tmp_path: Path) -> None:
    spider = Pages()
    queue = SpillingQueue(spider, limit=2, folder=tmp_path / "tmp")
    odd = Request("http://news.test/odd.html", callback=lambda response: None)
    queue.push(odd)
    for number in range(10):
        queue.push(_request(spider, number))
    popped = [queue.pop() for _ in range(len(queue))]
    assert odd in popped
    assert sorted(r.url for r in popped if r is not odd) == sorted(
        _request(spider, n).url for n in range(10)
    )
    queue.close()


@pytest.mark.catalogue
def test_a_crawl_with_its_frontier_mostly_on_disk_captures_the_same_pages(tmp_path: Path) -> None:
    captured = []
    with SiteServer(resources=lambda base: generated_site(base, 300, 2000)) as site:
        for limit in ("100000", "3"):
            data = tmp_path / f"data-{limit}"
            # The frontier is the point, not clean text nor politeness: capture only, and as
            # many requests at once as the queue can feed.
            done = run_cli("crawl", site.url("/"), "--follow", "--depth", "3", "--data-dir",
                           str(data), *FAST, "-s", f"STABLECOPY_FRONTIER_IN_MEMORY={limit}",
                           "-s", "STABLECOPY_EXTRACT_ENABLED=False",
                           "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16")  # fmt: skip
            assert done.returncode == 0, done.stderr
            listed = json_lines(run_cli("captures", "--json", "--data-dir", str(data)).stdout)
            captured.append(sorted(str(capture["url"]) for capture in listed))
            log = "".join(path.read_text("utf-8") for path in (data / "logs").iterdir())
            assert ("the rest go to" in log) == (limit == "3")
            assert not (data / "tmp").exists()
    assert len(captured[0]) > 300
    assert captured[1] == captured[0]


@pytest.mark.catalogue
def test_repair_removes_what_a_killed_crawl_had_waiting_and_leaves_a_live_one(
    tmp_path: Path,
) -> None:
    layout = DataLayout.create(tmp_path / "data")
    layout.root.mkdir()
    spider = Pages()
    live = SpillingQueue(spider, limit=2, folder=layout.tmp_dir)
    for number in range(6):
        live.push(_request(spider, number))
    killed = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from stablecopy.frontier.spilling import SpillingQueue\n"
        "from tests.test_frontier import Pages, _request\n"
        "queue = SpillingQueue(Pages(), limit=2, folder=Path(sys.argv[1]))\n"
        "for number in range(6):\n"
        "    queue.push(_request(Pages(), number))\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", killed, str(layout.tmp_dir)], cwd=ROOT, check=False)
    assert len(list(layout.tmp_dir.glob("frontier-*"))) == 2
    repaired = run_cli("repair", str(layout.root))
    assert repaired.returncode == 0, repaired.stderr
    assert "requests a stopped crawl had waiting" in repaired.stderr
    assert len(list(layout.tmp_dir.glob("frontier-*"))) == 1  # the live one
    assert sorted(r.url for r in iter(live.pop, None)) == sorted(
        _request(spider, n).url for n in range(6)
    )
    live.close()
    assert not layout.tmp_dir.exists()


def test_with_nowhere_to_write_the_requests_wait_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spider = Pages()
    (tmp_path / "data").write_bytes(b"")  # a file where the data directory should be
    queue = SpillingQueue(spider, limit=2, folder=tmp_path / "data" / "tmp")
    for number in range(10):
        queue.push(_request(spider, number))
    assert [r.url for r in iter(queue.pop, None)] == [
        _request(spider, n).url for n in range(9, -1, -1)
    ]
    assert "keeping them in memory" in caplog.text
    queue.close()
