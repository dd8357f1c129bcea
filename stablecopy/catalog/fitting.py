"""Values fitted to their columns as a row is written: whatever a server sent can be catalogued.

The WARC record keeps every byte as received; the catalogue keeps what its columns can hold. One
mapper event on every table, not a rule per header: a string loses NUL characters and unpaired
surrogates to visible escapes (`\\x00`, `\\udcff`; PostgreSQL refuses the first, and no database
stores the second) and is cut to its column's length; an integer outside its column's range (a
status line of `HTTP/1.1 99999999999999999999`) becomes NULL, or 0 where the column needs a value.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, String, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

logger = logging.getLogger(__name__)

_BITS = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates no encoding can hold


@dataclass(frozen=True)
class _Limit:
    """What one column can hold: a string's length, or an integer's width in bits."""

    key: str
    text: bool
    length: int | None = None
    bits: int | None = None
    nullable: bool = True


def fitted_text(value: str, length: int | None) -> str:
    if _UNSTORABLE.search(value):
        value = value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    if length is not None and len(value) > length:
        value = value[:length]
    return value


def _fitted(limit: _Limit, value: Any) -> Any:
    if limit.text:
        return fitted_text(value, limit.length) if isinstance(value, str) else value
    if not isinstance(value, int) or isinstance(value, bool) or limit.bits is None:
        return value
    if -(2 ** (limit.bits - 1)) <= value < 2 ** (limit.bits - 1):
        return value
    return None if limit.nullable else 0


@cache
def _limits(mapper: Mapper[Any]) -> tuple[_Limit, ...]:
    """The string and integer columns of a table, read from its model once (rows are written on
    the crawl's reactor thread: each row pays only for its own values)."""
    limits = []
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        if isinstance(column.type, String):
            limits.append(_Limit(attribute.key, text=True, length=column.type.length))
            continue
        bits = next((b for kind, b in _BITS if isinstance(column.type, kind)), None)
        if bits is not None:
            limits.append(_Limit(attribute.key, False, bits=bits, nullable=bool(column.nullable)))
    return tuple(limits)


def fit_row(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """Before an insert or update: every value set on `target` fitted to its column."""
    values = inspect(target).dict
    for limit in _limits(mapper):
        if limit.key not in values:
            continue
        value = values[limit.key]
        new = _fitted(limit, value)
        if new is not value and new != value:
            logger.info(
                "%s.%s does not fit its column; catalogued as %.80r (the archive keeps it as sent)",
                mapper.class_.__name__, limit.key, new,
            )  # fmt: skip
            setattr(target, limit.key, new)
