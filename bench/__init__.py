"""The benchmark harness: stablecopy against bare Scrapy, wget and scrapy-webarchive on one local site."""
