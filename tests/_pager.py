"""Reading a keyset pager (core/includes/pager.html) in page tests."""

import html
import re


def pager_link(page_html: str, rel: str = "next") -> str | None:
    """The query string (``?…``) of the pager's ``rel`` link ("next" or "prev"), or None."""
    found = re.search(rf'rel="{rel}" href="(\?[^"]*)"', page_html)
    return html.unescape(found[1]) if found else None
