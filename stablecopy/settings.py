"""The one configuration source: Scrapy settings, with stablecopy's own keys prefixed STABLECOPY_.

The CLI turns its flags into these keys at command-line priority; `scrapy crawl -s KEY=VALUE` does
the same. Nothing in the package reads environment variables except the CLI (STABLECOPY_DATA_DIR,
STABLECOPY_DB_URL as defaults for --data-dir and --db).
"""

import os

BOT_NAME = "stablecopy"
SPIDER_MODULES = ["stablecopy.spiders"]
NEWSPIDER_MODULE = "stablecopy.spiders"

# The add-on derives USER_AGENT from STABLECOPY_CONTACT_URL (see stablecopy/crawl/addon.py).
ADDONS = {"stablecopy.crawl.addon.Addon": 0}

# --- Politeness: defaults an archive can be proud of -------------------------------------------
# Obey robots.txt; the robots.txt exchange itself is archived like any other fetch.
ROBOTSTXT_OBEY = True
# At most two requests in flight per host, and never more than 16 overall.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# AutoThrottle adapts the delay to the server's latency, never going below DOWNLOAD_DELAY.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 0.25
# A host's robots.txt Crawl-delay is honoured (stablecopy.crawl.crawldelay), up to this many seconds.
STABLECOPY_MAX_CRAWL_DELAY = 60.0
# What every request asks for. Only gzip and deflate bodies: every WARC reader and replay tool
# decodes those (brotli and zstd would tie replay to optional libraries for as long as the archive
# lives). No Accept-Language, so sites serve their default edition rather than an English one.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Encoding": "gzip, deflate",
}
# Give up on a fetch after this many seconds; the failure is catalogued.
DOWNLOAD_TIMEOUT = 60
# Retry connection failures and 5xx twice; every attempt that got a response is archived.
RETRY_TIMES = 2
# Scrapy cancels a download whose announced size exceeds this; stablecopy archives the headers of
# such a response (truncated) and stops bodies at STABLECOPY_MAX_RESPONSE_SIZE well before it
# (which also bounds how far a compressed body is expanded for the spider: gzip bombs).
DOWNLOAD_MAXSIZE = 256 * 1024 * 1024
# Scrapy drops links longer than 2,083 characters (an old browser limit); news sites put long
# tracking and search queries in real article links, so allow up to what servers accept.
URLLENGTH_LIMIT = 16_384
# A body that ends early is still a capture: archive what arrived, marked WARC-Truncated.
DOWNLOAD_FAIL_ON_DATALOSS = False
# Responses waiting for the spider and for clean text, at most ~1 MB of bodies (Scrapy's default
# is 5 MB): extraction is the slowest step, and a longer queue only holds more pages in memory.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 1_000_000
# Scrapy starts this many tasks for each response's output, however little it holds (2.19 starts
# them all up front): our callbacks yield one page and its links, and 100 (the default) cost about
# a third of the crawl's CPU. Items of different responses are still processed side by side.
CONCURRENT_ITEMS = 8
# Requests waiting to be fetched: at most STABLECOPY_FRONTIER_IN_MEMORY in memory, the rest in a
# file under the data directory's tmp/ for as long as the crawl runs.
SCHEDULER_MEMORY_QUEUE = "stablecopy.frontier.spilling.SpillingQueue"
STABLECOPY_FRONTIER_IN_MEMORY = 2_000
# Keep Scrapy's own request fingerprint dedup; cookies are not archived in request records.
COOKIES_ENABLED = True
# No console into a running crawl: Scrapy's telnet console and its remote-control HTTP server
# (2.19, on by default) both run code sent to them, and the latter writes job files under ~.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# --- Components ----------------------------------------------------------------------------------
# HTTP/1.1 downloads that keep the bytes of each exchange as sent and received, for the archive.
DOWNLOAD_HANDLERS = {
    "http": "stablecopy.crawl.wirehandler.WireDownloadHandler",
    "https": "stablecopy.crawl.wirehandler.WireDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    # First of all: never fetch this archive's own replay server (`stablecopy serve`).
    "stablecopy.replay.guard.ReplayGuard": 10,
    # Scrapy's robots.txt middleware, which also honours each host's Crawl-delay.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "stablecopy.crawl.crawldelay.CrawlDelayRobots": 100,
    # Closest to the downloader (after HttpCache at 900): sees every hop of a redirect and every
    # retry, with the body still content-encoded as it came off the connection.
    "stablecopy.archive.capture.WarcCapture": 950,
    # Scrapy's decompression, in its place, made tolerant of bodies that are not what their
    # Content-Encoding and charset say (a log line and a note for the page, never a lost page).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "stablecopy.crawl.decoding.BodyDecoding": 590,
}
EXTENSIONS = {
    # Creates the crawl row and records every capture, failure and extraction in the catalogue.
    "stablecopy.catalog.recorder.CatalogRecorder": 100,
    # The live progress line; off unless STABLECOPY_PROGRESS is true (the CLI turns it on).
    "stablecopy.crawl.progress.ProgressLine": 200,
    # Creates and repairs the data directory before the crawl writes to it
    # (STABLECOPY_REPAIR_AT_START).
    "stablecopy.crawl.repair.RepairAtStart": 50,
    # Uploads finished WARC files to STABLECOPY_STORE; off unless it is set.
    "stablecopy.storage.uploader.WarcUploader": 300,
    # Keeps what the crawl holds before it starts out of Python's garbage collection while it runs.
    "stablecopy.crawl.frozenheap.FrozenHeap": 400,
    # Signs the capture log's tree head (at the end and every STABLECOPY_TREE_HEAD_INTERVAL),
    # time-stamps it (STABLECOPY_TSA_URLS) and publishes it; off when the archive has no key.
    "stablecopy.crawl.notary.LogNotary": 500,
}
ITEM_PIPELINES = {
    # Clean text with trafilatura in worker processes, then archived as WARC conversion records.
    "stablecopy.pipelines.extraction.ExtractionPipeline": 300,
}

# --- Where things go -----------------------------------------------------------------------------
# Data directory: WARC files under warcs/, the SQLite catalogue stablecopy.db, crawl logs under logs/.
STABLECOPY_DATA_DIR = "stablecopy-data"
# Catalogue: any SQLAlchemy URL; empty means sqlite:///<data dir>/stablecopy.db.
STABLECOPY_DB_URL = ""
# Join an existing crawl row instead of creating a new one (used by resume and distributed workers).
STABLECOPY_CRAWL_ID = 0
# Resume that crawl: every URL it already captured is answered from its WARC record (no new fetch,
# no new record), so the spider finds the rest of the frontier again; the rest is fetched.
STABLECOPY_RESUME = False
# Run that crawl with the seeds and settings its catalogue row holds (those given on the command
# line still win): how the scheduler starts a run on a Scrapyd node with nothing but its crawl id.
STABLECOPY_RUN_STORED = False
# Before crawling, create the data directory if needed, close WARC files a killed crawl left
# `.open` in it and catalogue what they hold (`stablecopy repair`). The CLI does all this itself
# first, and turns this off.
STABLECOPY_REPAIR_AT_START = True

# --- Several workers, one crawl (stablecopy worker) ---------------------------------------------
# A Redis URL: every worker of the crawl pulls from one queue and one duplicate filter there
# (scrapy-redis), under the keys {STABLECOPY_REDIS_PREFIX}:crawl:{id}:*. Empty: one process alone.
STABLECOPY_REDIS_URL = ""
STABLECOPY_REDIS_PREFIX = "stablecopy"
# Drawn by `crawl --redis` and kept with the crawl's settings in the catalogue (part of its keys).
STABLECOPY_FRONTIER_TOKEN = ""
# Seconds between a worker's heartbeats, and after which a silent worker counts as gone (what it
# had taken goes back into the queue).
STABLECOPY_WORKER_HEARTBEAT = 2.0
STABLECOPY_WORKER_TIMEOUT = 30.0

# --- Object storage ---------------------------------------------------------------------------------
# s3://bucket/prefix: every finished WARC file is uploaded there, read back and compared by SHA-256,
# and its location catalogued; `verify` and `serve` fetch from there what the data directory lacks.
# Endpoint and credentials: Scrapy's AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION_NAME, or boto3's own configuration.
STABLECOPY_STORE = ""
# Keep the local copy once the stored one is checked (False: the store becomes the only copy).
STABLECOPY_STORE_KEEP_LOCAL = True

# --- Who we are ----------------------------------------------------------------------------------
# Where site owners can reach the operator; goes into the User-Agent and every warcinfo record.
STABLECOPY_CONTACT_URL = "https://github.com/stablecopy/stablecopy"
# The institution or person running the crawl, for warcinfo `operator`.
STABLECOPY_OPERATOR = ""
# A free-text description of the crawl's purpose, for warcinfo `description`.
STABLECOPY_DESCRIPTION = ""

# --- Seeds and scope (the CLI's arguments and --follow/--depth/--allow/--deny land here) -----------
# Seed URLs: articles, sitemaps (index, news) or RSS/Atom feeds; the spider recognises each.
STABLECOPY_SEED_URLS: list[str] = []
# Seed files: one URL per line, `#` starts a comment.
STABLECOPY_SEED_FILES: list[str] = []
# Follow links found on HTML pages, staying on the seed's host (and the host it redirects to).
STABLECOPY_FOLLOW = False
# How many link hops to follow from a seed (or from an article listed by a sitemap or feed).
STABLECOPY_DEPTH = 1
# Links followed from one page at most (Heritrix's max-outlinks): a news page has hundreds; a page of
# 100,000 is a trap, and each link costs the crawl's thread a fraction of a millisecond to queue.
STABLECOPY_MAX_LINKS_PER_PAGE = 6000
# URLs taken from one sitemap or feed at most (the sitemap protocol allows 50,000 per file).
STABLECOPY_MAX_LISTED_URLS = 50_000
# How deep sitemap indexes may nest (an index listing indexes...): the sitemap protocol allows none,
# sites use one or two; deeper chains are reported and not followed.
STABLECOPY_SITEMAP_INDEX_DEPTH = 3
# Regular expressions a followed or listed URL must match (any) / must not match (none).
STABLECOPY_ALLOW: list[str] = []
STABLECOPY_DENY: list[str] = []

# --- Page requisites: what an archived page needs to render ----------------------------------------
# Fetch every archived page's (and embedded document's, and stylesheet's) stylesheets, fonts, images,
# scripts, icons and iframes, from whatever host serves them (--no-requisites turns it off).
STABLECOPY_REQUISITES = True
# How deep iframes in iframes are fetched (Heritrix's embed hops): a page's iframe is 1.
STABLECOPY_EMBED_DEPTH = 2
# Requisites larger than this (bytes) are skipped and recorded as skipped; so are audio and video.
STABLECOPY_REQUISITE_MAX_SIZE = 50 * 1024 * 1024
# Ad and tracker hosts whose requisites are not archived: lists in EasyList domain style ("default":
# the bundled stablecopy/requisites/rules/ad-hosts.txt; [] archives everything), plus single hosts.
STABLECOPY_REQUISITE_BLOCKLISTS = ["default"]
STABLECOPY_BLOCKED_HOSTS: list[str] = []
# Requisites fetched for one document at most (a page of 5,000 images is a gallery or a trap).
STABLECOPY_MAX_REQUISITES_PER_PAGE = 1000

# --- WARC files ----------------------------------------------------------------------------------
# File names are {prefix}-{YYYYMMDDhhmmssffffff}-{serial:05d}-{pid}-{host}.warc.gz (lowercase).
STABLECOPY_WARC_PREFIX = "stablecopy"
# Start a new file before a capture would push the current one past this many bytes (10^9 = 1 GB).
STABLECOPY_WARC_MAX_SIZE = 1_000_000_000
# How each record's gzip member is compressed: "isal" (Intel's ISA-L through python-isal: about ten
# times faster than zlib at level 6, files some 7% larger; zlib level 6 where it is not installed)
# or "zlib". Levels: 0-3 for isal, 0-9 for zlib (warcio alone always writes zlib level 9).
STABLECOPY_WARC_GZIP_ENGINE = "isal"
STABLECOPY_WARC_GZIP_LEVEL = 3
# Bodies longer than this (bytes, as received) are cut and archived with `WARC-Truncated: length`;
# a gzip or deflate body is not expanded beyond it for the spider (the archived bytes stay whole).
STABLECOPY_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
# Request headers never written to request records; warcinfo lists them.
STABLECOPY_REDACT_HEADERS = ["Cookie", "Authorization", "Proxy-Authorization"]

# --- Revisits: unchanged pages are not stored twice ------------------------------------------------
# Which earlier capture a fetched payload is compared with: "url" (the last capture of the same
# URL), "any" (any earlier capture with the same SHA-256, across URLs), or "off" (always store a
# full response). A match is archived as a `revisit` record (identical-payload-digest) that points
# at the original and keeps this fetch's HTTP headers.
STABLECOPY_REVISITS = "url"
# Ask with If-None-Match / If-Modified-Since from the last capture of a URL; a 304 Not Modified is
# archived as a `revisit` record (server-not-modified) and the spider sees the archived original.
STABLECOPY_CONDITIONAL_REQUESTS = True

# --- Clean text ----------------------------------------------------------------------------------
# Extract clean text from every HTML response with trafilatura.
STABLECOPY_EXTRACT_ENABLED = True
# Worker processes for extraction (default: one per core; the crawl's own process needs less than
# half of what extraction does, and the system shares the cores); 0 extracts on the crawl's own
# thread, which slows crawling and is meant for debugging.
STABLECOPY_EXTRACT_WORKERS = os.cpu_count() or 1
# Seconds a worker may spend on one page's clean text; past them the page is recorded `timeout`
# (a page of 100,000 nested elements can take minutes), and the crawl goes on.
STABLECOPY_EXTRACT_TIMEOUT = 60.0
# Pages larger than this (characters of HTML) get no clean text, recorded `too-large`: parsing one
# takes some 50 times its size in memory (a 60 MB page grew a worker to 4.5 GB). 0 for no limit.
STABLECOPY_EXTRACT_MAX_SIZE = 10_000_000
# Prefer precision over recall in trafilatura (drops more borderline blocks).
STABLECOPY_EXTRACT_FAVOR_PRECISION = False
# Keep tables in the clean text.
STABLECOPY_EXTRACT_INCLUDE_TABLES = True
# trafilatura's fast mode (no fallback extractors), falling back to its full mode for a page where
# it finds under 500 characters: on the bundled benchmark of 181 real pages a better F1 than the
# full mode alone (0.9623 against 0.9598, 2026-12-04), at the same CPU per page within noise.
STABLECOPY_EXTRACT_FAST = True
# Extra consent-banner rules, added to the bundled ones (stablecopy/extract/rules/): element
# selectors in EasyList cosmetic syntax (`##selector`, `example.com##selector`), and phrases that
# banners open with (one regular expression per line).
STABLECOPY_CONSENT_SELECTOR_FILES: list[str] = []
STABLECOPY_CONSENT_PHRASE_FILES: list[str] = []

# --- Console -------------------------------------------------------------------------------------
# Print a live progress line (pages, pages/s, MB written, errors, queue) to stderr.
STABLECOPY_PROGRESS = False
# Seconds between progress updates.
STABLECOPY_PROGRESS_INTERVAL = 1.0

# --- Evidence ------------------------------------------------------------------------------------
# Every capture, clean text and closed WARC file is a leaf of the capture log (an RFC 9162 Merkle
# tree in the catalogue). Its tree heads are signed with the archive's Ed25519 key, kept in this
# folder (default: keys/ in the data directory; `stablecopy keys init` makes them).
STABLECOPY_KEYS_DIR = ""
# Sign a tree head every this many seconds during a crawl (and always at its end); 0: at the end only.
STABLECOPY_TREE_HEAD_INTERVAL = 3600.0
# RFC 3161 time-stamping authorities asked to time-stamp every signed tree head (each one asked;
# none by default). Public ones: https://freetsa.org/tsr, http://timestamp.digicert.com,
# http://timestamp.sectigo.com, http://zeitstempel.dfn.de.
STABLECOPY_TSA_URLS: list[str] = []
# The TSAs' root certificates (PEM), to check their tokens against and to put in evidence
# packages; without it a token is checked against the certificates it carries.
STABLECOPY_TSA_CA_FILE = ""
# Where signed tree heads are published for witnesses: a file each head is appended to (one JSON
# line), and a URL each is POSTed to (JSON). Empty: not published beyond the catalogue and WARCs.
STABLECOPY_TREE_HEAD_FILE = ""
STABLECOPY_TREE_HEAD_WEBHOOK = ""
