"""Gzip members made and read with Intel's ISA-L (python-isal) where it is installed, zlib otherwise.

ISA-L writes standard deflate, so every gzip and WARC reader reads its members. On a 50 KB news page
it compresses about ten times faster than zlib at level 6, for files some 7% larger, and inflates
about three times faster. Knows nothing of WARC.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

isal_zlib: ModuleType | None
try:
    from isal import isal_zlib
except ImportError:  # python-isal has wheels for x86-64 and ARM64 only
    isal_zlib = None

logger = logging.getLogger(__name__)

GZIP_WBITS = zlib.MAX_WBITS | 16
MAX_LEVEL = {"isal": 3, "zlib": 9}
# What a damaged member raises, whichever library reads it.
ERRORS: tuple[type[Exception], ...] = (zlib.error,) + ((isal_zlib.error,) if isal_zlib else ())


class Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


class Decompressor(Protocol):
    eof: bool
    unused_data: bytes
    unconsumed_tail: bytes

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


@dataclass(frozen=True)
class GzipCodec:
    """How records are compressed: `engine` "isal" (levels 0-3) or "zlib" (levels 0-9)."""

    engine: str = "isal" if isal_zlib else "zlib"
    level: int = 3 if isal_zlib else 6

    @classmethod
    def chosen(cls, engine: str, level: int) -> GzipCodec:
        """The codec the settings ask for; ValueError if they make no sense. Asked for ISA-L
        where python-isal is not installed, it says so once and uses zlib at level 6."""
        engine = engine.strip().lower()
        if engine not in MAX_LEVEL:
            raise ValueError(f"STABLECOPY_WARC_GZIP_ENGINE must be isal or zlib, not {engine!r}")
        if not 0 <= level <= MAX_LEVEL[engine]:
            raise ValueError(
                f"STABLECOPY_WARC_GZIP_LEVEL must be 0 to {MAX_LEVEL[engine]} for {engine}, "
                f"not {level}"
            )
        if engine == "isal" and isal_zlib is None:
            logger.warning("python-isal is not installed here: compressing with zlib at level 6")
            return cls("zlib", 6)
        return cls(engine, level)

    def compressor(self) -> Compressor:
        library = isal_zlib if self.engine == "isal" and isal_zlib else zlib
        compressor: Compressor = library.compressobj(self.level, zlib.DEFLATED, GZIP_WBITS)
        return compressor


DEFAULT_CODEC = GzipCodec()


def decompressor() -> Decompressor:
    """A reader of one gzip member, from whichever library inflates faster here."""
    inflater: Decompressor = (isal_zlib or zlib).decompressobj(GZIP_WBITS)
    return inflater
