"""The WARC side: records, files, and the Scrapy component that captures exchanges. No SQLAlchemy."""
