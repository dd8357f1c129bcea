"""Where finished WARC files are kept besides the data directory: S3-compatible object storage."""
