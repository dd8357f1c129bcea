"""BodyDecoding: the body a spider reads, however wrong the encodings a server declares.

Scrapy's HttpCompressionMiddleware raises on a body its Content-Encoding does not decode (`gzip`
on a plain page, a corrupt or cut-short stream), and Scrapy's TextResponse raises on a charset
that names no text encoding (`rot13`, `zlib`, `undefined`): either way the page reached no callback,
got no clean text and had its links lost, with nothing logged. Here the content-codings decode as
far as they go (a label on a body that is not so encoded is set aside), the charset is the one that
fits the bytes (stablecopy.extract.charset), and what was wrong is logged, counted and kept in the
request's meta for the page's record. The archive keeps the body exactly as received regardless.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import brotli  # type: ignore[import-untyped]
from backports.zstd import ZstdDecompressor, ZstdError
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.responsetypes import responsetypes

from stablecopy.archive import brotlicodec, meta
from stablecopy.extract.charset import reading

if TYPE_CHECKING:
    from scrapy import Spider

logger = logging.getLogger(__name__)

CHUNK = 1024  # the pieces fed to a decoder that cannot be rewound (see _prefix)


# Incremental decoders, each with `decompress(bytes) -> bytes`; gzip's also reads zlib streams.
_DECODERS: dict[bytes, Callable[[], Any]] = {
    b"gzip": lambda: zlib.decompressobj(32 + zlib.MAX_WBITS),
    b"x-gzip": lambda: zlib.decompressobj(32 + zlib.MAX_WBITS),
    b"deflate": zlib.decompressobj,
    b"br": brotlicodec.Decompressor,  # Google's brotli with the decompress() zlib has
    b"zstd": ZstdDecompressor,
}
# What a decoder raises on bytes that are not its coding (gzip's BadGzipFile is an OSError).
DECODE_ERRORS = (zlib.error, brotli.error, ZstdError, EOFError, OSError, ValueError)


def _prefix(decoder: Any, body: bytes, limit: int) -> tuple[bytes, Exception | None]:
    """What `decoder` makes of `body` up to where the stream fails, and the failure, if any.

    A decoder that raises keeps none of the output of the call that failed. One that can be copied
    (zlib's) is rewound to before the failing piece and fed it again in smaller steps, down to single
    bytes, for little more than one pass; others are fed in small pieces from the start.
    """
    out: list[bytes] = []
    size = start = 0
    step = 1 << 16 if hasattr(decoder, "copy") else CHUNK
    while start < len(body):
        piece = body[start : start + step]
        saved = decoder.copy() if hasattr(decoder, "copy") else None
        try:
            decoded = decoder.decompress(piece)
        except DECODE_ERRORS as exc:
            if saved is None or step == 1:
                return b"".join(out), exc
            decoder, step = saved, max(1, step // 64)
            continue
        size += len(decoded)
        if limit and size > limit:
            raise IgnoreRequest(f"more than DOWNLOAD_MAXSIZE ({limit} B) once decoded")
        out.append(decoded)
        start += len(piece)
    return b"".join(out), None


def salvaged(body: bytes, coding: bytes, max_size: int) -> tuple[bytes, str]:
    """What of `body` decodes under `coding`, up to where the stream fails; the body as it is when
    nothing decodes (a label on a body that is not so encoded). And what happened."""
    factories = [_DECODERS[coding]]
    if coding == b"deflate":
        factories.append(lambda: zlib.decompressobj(-zlib.MAX_WBITS))  # raw deflate, as IIS sends
    for factory in factories:
        decoded, failure = _prefix(factory(), body, max_size)
        if failure is None:
            return decoded, "decodes as far as its stream goes"
        if decoded:
            return decoded, f"decodes only in part ({len(decoded)} bytes kept: {failure})"
    return body, "does not decode; read as not encoded"


def decoded_body(body: bytes, content_encoding: str, max_size: int) -> bytes:
    """`body` decoded from its Content-Encoding (`gzip`, `br, gzip`, ...) as the crawl decodes it:
    as far as each coding goes; codings it does not know left as they are. IgnoreRequest when it
    grows past `max_size`."""
    codings = [c.strip().lower().encode() for c in content_encoding.split(",") if c.strip()]
    while codings and codings[-1] in _DECODERS:
        body, _ = salvaged(body, codings.pop(), max_size)
    return body


class BodyDecoding(HttpCompressionMiddleware):
    """Scrapy's decompression, and where it fails, the salvage above; then a charset that fits."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        problems: list[str] = []
        try:
            decoded = super().process_response(request, response)
        except DECODE_ERRORS:
            decoded = self._salvaged(request, response, problems)
        if not isinstance(decoded, Response):
            return decoded
        if isinstance(decoded, TextResponse):
            decoded = self._readable(request, decoded, problems)
        if problems:
            note = "; ".join(problems)
            logger.warning("%s: %s", decoded.url, note)
            request.meta[meta.DECODING] = note
            if self.stats:
                self.stats.inc_value("stablecopy/decoding_problems")
        return decoded

    def _salvaged(self, request: Request, response: Response, problems: list[str]) -> Response:
        codings = [
            coding.strip().lower()
            for header in response.headers.getlist("Content-Encoding")
            for coding in header.split(b",")
            if coding.strip()
        ]
        max_size = request.meta.get("download_maxsize", self._max_size)
        body = response.body
        while codings and codings[-1] in _DECODERS:
            coding = codings.pop()
            body, outcome = salvaged(body, coding, max_size)
            problems.append(f"Content-Encoding {coding.decode()} {outcome}")
        headers = response.headers.copy()
        del headers["Content-Encoding"]
        if codings:
            headers.setlist("Content-Encoding", codings)
        cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
        return response.replace(cls=cls, headers=headers, body=body)

    @staticmethod
    def _readable(request: Request, response: TextResponse, problems: list[str]) -> TextResponse:
        """The response in the charset that fits it; the charset is kept in the request's meta,
        so the page's text is decoded once more, never worked out again (reactor thread)."""
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        read = reading(response.body, content_type)
        request.meta[meta.TEXT_ENCODING] = read.encoding
        if read.rejected is None:
            return response
        problems.append(f"declared charset {read.rejected!r} does not fit; read as {read.encoding}")
        return response.replace(encoding=read.encoding)
