"""The image candidate URLs of a `srcset` (HTML's parsing rules: URLs may hold commas)."""

from __future__ import annotations

_SPACE = " \t\n\f\r"


def candidate_urls(value: str) -> list[str]:
    """The URLs of `srcset`, in order, without their width or density descriptors.

    As the HTML standard parses it: a URL runs to the next whitespace (a CDN's `w_640,h_360`
    stays whole), trailing commas end it, and descriptors run to a comma outside parentheses.
    """
    urls: list[str] = []
    position, end = 0, len(value)
    while position < end:
        while position < end and (value[position] in _SPACE or value[position] == ","):
            position += 1
        start = position
        while position < end and value[position] not in _SPACE:
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while position < end:
                char = value[position]
                position += 1
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(0, depth - 1)
                elif char == "," and depth == 0:
                    break
        if url:
            urls.append(url)
    return urls
