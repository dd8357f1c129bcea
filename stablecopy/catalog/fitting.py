"""Values fitted to their columns as a row is written: whatever a server sent can be catalogued.

The WARC record keeps every byte as received; the catalogue keeps what its columns can hold. One
mapper event on every table, not a rule per header: a string loses NUL characters and unpaired
surrogates to visible escapes (`\\x00`, `\\udcff`; PostgreSQL refuses the first, and no database
stores the second) and is cut to its column's length; an integer outside its column's range (a
status line of `HTTP/1.1 99999999999999999999`) becomes NULL, or 0 where the column needs a value.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, String, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.elements import NamedColumn

logger = logging.getLogger(__name__)

_BITS = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))


def fitted_text(value: str, length: int | None) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if length is not None and len(value) > length:
        value = value[:length]
    return value


def _bits(column: NamedColumn[Any]) -> int | None:
    for kind, bits in _BITS:
        if isinstance(column.type, kind):
            return bits
    return None


def fitted(column: NamedColumn[Any], value: Any) -> Any:
    """`value` as column `column` can hold it."""
    if isinstance(value, str) and isinstance(column.type, String):
        return fitted_text(value, column.type.length)
    if isinstance(value, int) and not isinstance(value, bool):
        bits = _bits(column)
        if bits is not None and not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return None if column.nullable else 0
    return value


def fit_row(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """Before an insert or update: every value set on `target` fitted to its column."""
    state = inspect(target)
    for attribute in mapper.column_attrs:
        if attribute.key not in state.dict:
            continue
        value = state.dict[attribute.key]
        new = fitted(attribute.columns[0], value)
        if new is not value and new != value:
            logger.info(
                "%s.%s does not fit its column; catalogued as %.80r (the archive keeps it as sent)",
                mapper.class_.__name__, attribute.key, new,
            )  # fmt: skip
            setattr(target, attribute.key, new)
