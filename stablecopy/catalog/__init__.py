"""The catalogue: SQLAlchemy models, sessions, migrations and queries. No warcio here."""
