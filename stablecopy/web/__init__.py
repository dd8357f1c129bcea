"""`stablecopy web`: the web interface for researchers (search, captures, citations) and archivists
(schedules and runs), on Starlette with Jinja2 templates; pages work without JavaScript."""
