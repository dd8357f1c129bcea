"""Seeds: checking seed URLs and reading seed files (one URL per line, `#` starts a comment).

A bad line is a SeedProblem naming the file and line, never an exception: the other seeds go on.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class SeedProblem:
    source: str
    line: int | None
    text: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}: {self.text!r}"


def seed_problem(text: str) -> str | None:
    """Why `text` cannot be a seed URL, or None when it can."""
    if any(ch.isspace() for ch in text):
        return "a URL cannot contain spaces (percent-encode them as %20)"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme and scheme not in ALLOWED_SCHEMES and (parts.netloc or "." not in scheme):
        return f"unsupported scheme {scheme!r} (only http and https can be archived)"
    if not scheme or not parts.netloc:
        first = text.split("/", 1)[0]
        if "." in first and not text.startswith("/"):
            return f"no scheme (did you mean https://{text} ?)"
        return "not an absolute http(s) URL"
    if not parts.hostname:
        return "no host name"
    if port == 0:
        return "port 0 is not a port"
    return None


def _sort(
    entries: Iterable[tuple[int | None, str]], source: str
) -> tuple[list[str], list[SeedProblem]]:
    """Candidate seeds (line number, text) split into good URLs and named problems."""
    good: list[str] = []
    problems: list[SeedProblem] = []
    for line, text in entries:
        reason = seed_problem(text)
        if reason:
            problems.append(SeedProblem(source, line, text, reason))
        else:
            good.append(text)
    return good, problems


def check_seeds(
    urls: Iterable[str], source: str = "command line"
) -> tuple[list[str], list[SeedProblem]]:
    return _sort(((None, url.strip()) for url in urls), source)


def _seed_lines(lines: Iterable[tuple[int, str]]) -> Iterable[tuple[int | None, str]]:
    for number, raw in lines:
        # A comment is a line starting with '#', or ' #...' after a URL (a URL's own #fragment stays).
        text = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if text and not text.startswith("#"):
            yield number, text


def read_seed_file(path: str | Path) -> tuple[list[str], list[SeedProblem]]:
    """The URLs of a seed file, and the problems with its other lines. The file is UTF-8 (a
    byte-order mark is allowed); a line that is not is a problem of its own, never the file's."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return [], [SeedProblem(source, None, "", f"cannot read the seed file ({exc})")]
    lines: list[tuple[int, str]] = []
    problems: list[SeedProblem] = []
    for number, raw in enumerate(data.removeprefix(codecs.BOM_UTF8).splitlines(), start=1):
        try:
            lines.append((number, raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            shown = raw.decode("utf-8", "backslashreplace")
            problems.append(
                SeedProblem(source, number, shown, f"not UTF-8 (byte {exc.start + 1} of the line)")
            )
    good, more = _sort(_seed_lines(lines), source)
    return good, sorted(problems + more, key=lambda p: p.line or 0)


def collect_seeds(urls: Iterable[str], files: Iterable[str]) -> tuple[list[str], list[SeedProblem]]:
    """Seeds from URLs and seed files, in order, without repeats; plus every problem found."""
    good, problems = check_seeds(urls)
    for path in files:
        more, more_problems = read_seed_file(path)
        good.extend(more)
        problems.extend(more_problems)
    return list(dict.fromkeys(good)), problems
