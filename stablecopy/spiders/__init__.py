"""stablecopy's spiders, one per module (`scrapy list` shows them)."""
