"""KnownKeys: a fixed-size Bloom filter of strings, which may wrongly say it has seen a key but
never wrongly that it has not."""

from __future__ import annotations

_PROBES = 4


class KnownKeys:
    """Keys added so far, in a fixed 1 MiB: 0.2% of answers for keys never added say 'seen' at
    500,000 keys, 2% at a million (a false 'seen' costs the caller only the lookup it saves)."""

    def __init__(self, bits: int = 1 << 23) -> None:
        if bits & (bits - 1) or bits < 8:
            raise ValueError("bits must be a power of two, at least 8")
        self._bits = bytearray(bits // 8)
        self._mask = bits - 1

    def _positions(self, key: str) -> list[int]:
        # Cached on the string; salted per process, which a filter kept in memory can be.
        value = hash(key)
        first, step = value & 0xFFFFFFFF, ((value >> 32) & 0xFFFFFFFF) | 1
        return [(first + probe * step) & self._mask for probe in range(_PROBES)]

    def add(self, key: str) -> None:
        for position in self._positions(key):
            self._bits[position >> 3] |= 1 << (position & 7)

    def __contains__(self, key: str) -> bool:
        return all(self._bits[p >> 3] & (1 << (p & 7)) for p in self._positions(key))
