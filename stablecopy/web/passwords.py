"""Password hashes, with argon2-cffi's Argon2id and its default parameters (RFC 9106's)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
_HASHER = PasswordHasher()
# A hash to check against when the user does not exist: the answer takes as long either way.
_DECOY = _HASHER.hash("not a password anyone has")


class PasswordError(ValueError):
    """A password too weak to be set."""


def hashed(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


def matches(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
