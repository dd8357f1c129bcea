"""FrozenHeap: the heap a crawl starts with is frozen while its engine runs, and thawed after."""

from __future__ import annotations

import gc

from scrapy import signals
from scrapy.utils.conf import build_component_list
from scrapy.utils.test import get_crawler

from stablecopy.crawl.frozenheap import FrozenHeap
from stablecopy.crawl.runner import project_settings


def test_the_heap_is_frozen_from_engine_start_to_engine_stop() -> None:
    crawler = get_crawler(settings_dict={"EXTENSIONS_BASE": {}})
    heap = FrozenHeap.from_crawler(crawler)  # held, as Scrapy holds its extensions
    held = [heap]  # something the crawl holds from before it started
    try:
        assert gc.get_freeze_count() == 0
        crawler.signals.send_catch_log(signals.engine_started)
        assert gc.get_freeze_count() > 0
        assert not any(found is held for found in gc.get_objects())
    finally:
        crawler.signals.send_catch_log(signals.engine_stopped)
    assert gc.get_freeze_count() == 0
    assert any(found is held for found in gc.get_objects())


def test_every_crawl_has_it() -> None:
    settings = project_settings()
    enabled = build_component_list(settings.get_component_priority_dict_with_base("EXTENSIONS"))
    assert "stablecopy.crawl.frozenheap.FrozenHeap" in enabled
