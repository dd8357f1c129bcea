"""Evidence that needs no trust in the archive: the capture log (RFC 9162), signed tree heads,
RFC 3161 time-stamps, evidence packages and their offline check. Pure: no catalogue, no Scrapy."""
