"""A plain link-following spider for the scrapy-webarchive round (runs in the peers' virtualenv,
under the Scrapy version scrapy-webarchive pins; it must not import stablecopy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor


class FollowSpider(Spider):
    name = "follow"

    def __init__(self, url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = url
        self.host = urlsplit(url).hostname
        self.links = LinkExtractor()

    def start_requests(self) -> Iterator[Request]:
        yield Request(self.seed)

    def parse(self, response: Response) -> Iterator[Request]:
        if isinstance(response, HtmlResponse):
            for link in self.links.extract_links(response):
                if urlsplit(link.url).hostname == self.host:
                    yield Request(link.url)
