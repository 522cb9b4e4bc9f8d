"""Questions about what two things share ("named both as A and as B", "what do both A and B
say ..."): one search for each, since a single query tends to find passages for one of them."""

from __future__ import annotations

import re

_BOTH = re.compile(r"\bboth\s+(?P<first>.+?)\s+and\s+(?P<second>.+)$", re.I | re.S)


def parts(question: str) -> tuple[str, str] | None:
    """The question with only A, and with only B (B keeps the rest of the question), or None.
    A must be two words or more: in "both inflationary and deflationary impacts" one word
    describes a noun the two parts share, and each half alone asks nothing."""
    match = _BOTH.search(question.strip())
    if not match:
        return None
    head = question.strip()[:match.start()]
    first, second = match["first"].strip(" ,"), match["second"].strip()
    if len(first.split()) < 2 or not second.rstrip("?. "):
        return None
    return head + first.rstrip("?") + "?", head + second
