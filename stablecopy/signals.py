"""Signals stablecopy's components send each other (Scrapy signal sentinels).

Each is sent with one keyword argument holding a frozen dataclass from stablecopy.events; the
comment names the argument and its type. Document any new signal here.
"""

# event: CrawlOpened — the catalogue created (or joined) the crawl row.
crawl_opened = object()
# query: PriorCaptureQuery — asked by the archive before it writes; a receiver (the catalogue)
# returns a PriorCapture, or None when there is none.
prior_capture_requested = object()
# capture: Captured — a request/response pair is written and flushed to a WARC file.
capture_archived = object()
# failure: FetchFailed — a fetch ended without a response (timeout, reset, DNS, refused...).
fetch_failed = object()
# text: ExtractedText — clean text (or its absence) for one archived response.
text_extracted = object()
# text: ArchivedText — the conversion and metadata records for an extraction are written.
text_archived = object()
# file: WarcFileClosed — a WARC file was finished and renamed to its final name.
warc_file_closed = object()
# file: WarcFileStored — a finished WARC file is in the store (STABLECOPY_STORE), checked.
warc_file_stored = object()
# (no argument) — asked by the store uploader when a crawl opens; a receiver (the catalogue)
# returns a list of WarcFileClosed, one per closed file it knows with no stored copy yet
# (closed by a repair, or whose upload failed).
unstored_files_requested = object()
# (no argument) — the catalogue is about to commit rows: whatever they point at must first be
# durable on disk (the archive fsyncs its open file).
catalog_committing = object()
# query: ArchivedResponseQuery — asked by the archive when resuming a crawl; a receiver (the
# catalogue) returns the ArchivedResponse this crawl already has for the URL, or None.
archived_response_requested = object()
# found: RequisitesFound — a document's requisites (fetched or skipped), to link to its capture.
requisites_found = object()
# (no argument) — the catalogue has committed a crawl's last rows (and so their log leaves): the
# notary signs the capture log's tree head.
log_committed = object()
