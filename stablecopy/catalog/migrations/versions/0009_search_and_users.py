"""Search over clean texts, titles, authors and URLs (FTS5 on SQLite, tsvector on PostgreSQL), and
the users of the web interface

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import stablecopy.catalog.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# SQLite: an FTS5 index over search_texts (external content), kept in step by triggers.
FTS = [
    (
        "CREATE VIRTUAL TABLE search_fts USING fts5(title, author, url, body, "
        "content='search_texts', content_rowid='capture_id', tokenize='unicode61 remove_diacritics 2')"
    ),
    (
        "CREATE TRIGGER search_texts_ai AFTER INSERT ON search_texts BEGIN INSERT INTO "
        "search_fts(rowid, title, author, url, body) VALUES (new.capture_id, new.title, new.author, "
        "new.url, new.body); END"
    ),
    (
        "CREATE TRIGGER search_texts_ad AFTER DELETE ON search_texts BEGIN INSERT INTO "
        "search_fts(search_fts, rowid, title, author, url, body) VALUES ('delete', old.capture_id, "
        "old.title, old.author, old.url, old.body); END"
    ),
    (
        "CREATE TRIGGER search_texts_au AFTER UPDATE ON search_texts BEGIN INSERT INTO "
        "search_fts(search_fts, rowid, title, author, url, body) VALUES ('delete', old.capture_id, "
        "old.title, old.author, old.url, old.body); INSERT INTO search_fts(rowid, title, author, "
        "url, body) VALUES (new.capture_id, new.title, new.author, new.url, new.body); END"
    ),
]


# How many texts hold each term: a query of nothing but very common words is shown newest first
# rather than ranked (ranking reads every match).
FTS.append("CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab(search_fts, 'row')")

# PostgreSQL: `tsv` follows each row ('simple': no stemming, every language alike).
TSV = [
    (
        "CREATE FUNCTION search_texts_tsv() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.tsv := setweight(to_tsvector('simple', coalesce(NEW.title, '')), 'A') || "
        "setweight(to_tsvector('simple', coalesce(NEW.author, '') || ' ' || NEW.url), 'B') || "
        "to_tsvector('simple', NEW.body); RETURN NEW; END $$"
    ),
    (
        "CREATE TRIGGER search_texts_tsv BEFORE INSERT OR UPDATE ON search_texts "
        "FOR EACH ROW EXECUTE FUNCTION search_texts_tsv()"
    ),
]


def upgrade() -> None:
    op.create_table(
        "search_texts",
        sa.Column("capture_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("language", sa.String(64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "tsv", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_search_texts")),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_search_texts_capture_id_captures")
        ),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in FTS:
            op.execute(statement)
    elif op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_search_texts_tsv", "search_texts", ["tsv"], postgresql_using="gin")
        for statement in TSV:
            op.execute(statement)
    # What an existing catalogue already knows (titles, authors, URLs); `stablecopy web` adds the
    # texts themselves, read from their WARC conversion records, when it starts.
    op.execute(
        "INSERT INTO search_texts (capture_id, url, site, title, author, language, body) "
        "SELECT c.id, c.url, e.site_name, e.title, e.author, e.language, '' FROM captures c "
        "JOIN extractions e ON e.capture_id = c.id WHERE e.status = 'ok'"
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at", stablecopy.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )


def downgrade() -> None:
    op.drop_table("users")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts_vocab")
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_texts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION search_texts_tsv()")
