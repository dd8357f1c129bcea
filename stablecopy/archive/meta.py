"""The request meta keys and response flags the capture middleware, its policies and the spider share.

Keys in PER_FETCH describe one fetch: the middleware drops them before each new attempt, since
redirects and retries copy a request's meta over.
"""

from __future__ import annotations

BEGAN = "stablecopy_began_at"
RECEIVED = "stablecopy_received"
TRUNCATED = "stablecopy_truncated"
RECORD_ID = "stablecopy_record_id"
PRIOR = "stablecopy_prior"  # the PriorCapture this fetch is compared with
CONDITIONAL = "stablecopy_conditional"  # the conditional request headers the policy added
REVISIT = "stablecopy_revisit"  # the revisit profile, when the fetch was archived as a revisit
DECODE_LIMIT = "stablecopy_decode_limit"  # the middleware set download_maxsize (decoding)
TEXT_DONE = "stablecopy_text_done"  # served from the archive, its clean text already made
DECODING = "stablecopy_decoding"  # what was wrong with the body's declared encodings, if anything
TEXT_ENCODING = "stablecopy_text_encoding"  # the charset that fits the body (crawl.decoding)
REQUISITE = "stablecopy_requisite"  # the kind of requisite a request fetches (spiders.requisites)
WIRE = "stablecopy_wire"  # the exchange's bytes as sent and received (archive.wire.WireExchange)
SKIPPED = "stablecopy_skipped"  # why a fetch was stopped on purpose (a requisite too large...)

PER_FETCH = (
    BEGAN, RECEIVED, TRUNCATED, RECORD_ID, PRIOR, REVISIT, TEXT_DONE, DECODING, TEXT_ENCODING,
    SKIPPED, WIRE,
)  # fmt: skip

REVISIT_FLAG = "revisit"  # response flag: a 304 answered with the archived original's content
ARCHIVED_FLAG = "archived"  # response flag: a resumed crawl's earlier capture, read back
