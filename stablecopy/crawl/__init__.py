"""Running crawls: seeds and listings in, one Scrapy crawl in this process, and what keeps it whole (add-on, progress, frozen heap, processes, repair after a crash)."""
