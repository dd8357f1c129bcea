"""The web interface's users: names and password hashes (hashing itself is argon2-cffi's)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from stablecopy.catalog.models import User

NAME_LENGTH = 100


class UserError(ValueError):
    """A user that cannot be added or found as asked."""


def user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name.strip()))


def add_user(session: Session, name: str, password_hash: str) -> User:
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise UserError(f"a user name needs 1 to {NAME_LENGTH} characters")
    if user_by_name(session, name) is not None:
        raise UserError(f"there is already a user named {name!r}")
    user = User(name=name, password_hash=password_hash, created_at=datetime.now(UTC))
    session.add(user)
    session.flush()
    return user
