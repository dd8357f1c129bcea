"""warcio's `br` decoder on Google's brotli, the module Scrapy requires (warcio expects brotlipy's).

warcio reads a `Content-Encoding: br` payload through `brotli.Decompressor().decompress()` and sets
`unused_data` on it, which is brotlipy's interface; Google's `brotli` (which Scrapy 2.19 requires,
under the same module name) has `process()` and no attributes to set, so `warcio check` and every
`content_stream()` of a br response raised AttributeError. The installed `stablecopy-warcio.pth`
calls `watch()` at interpreter start: when (and only when) `warcio.bufferedreaders` is imported,
its `br` decoder is replaced by `Decompressor` below. Nothing is imported until then.
"""

from __future__ import annotations

import sys

# Only names for annotations: this module is imported at every interpreter start (~1 ms budget).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

_READERS = "warcio.bufferedreaders"


class Decompressor:
    """brotlipy's decompressor interface, as warcio uses it, over Google's `brotli.Decompressor`."""

    unused_data = None  # warcio looks for the end of a gzip member here; brotli has no members

    def __init__(self) -> None:
        import brotli  # type: ignore[import-untyped]

        self._inner = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data))


def install(readers: ModuleType) -> None:
    """Make warcio's buffered readers decode `br` with `Decompressor`."""
    readers.BufferedReader.DECOMPRESSORS["br"] = Decompressor


# Duck-typed finder and loader: importlib.abc costs more at interpreter start than all the rest.
class _InstallingLoader:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        install(module)


class _Watcher:
    """Finds nothing itself: wraps the loader the other finders return for warcio's readers."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _READERS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _InstallingLoader(spec.loader)  # type: ignore[assignment]
                return spec
        return None


def watch() -> None:
    """Install the `br` decoder into warcio now if it is loaded, or when it is first imported."""
    loaded = sys.modules.get(_READERS)
    if loaded is not None:
        install(loaded)
    elif not any(isinstance(finder, _Watcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Watcher())
