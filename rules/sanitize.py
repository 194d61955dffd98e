"""The one place text typed by people becomes HTML.

Message bodies are plain text: everything is escaped, then web and e-mail
addresses become links (http, https and mailto only) with
``rel="nofollow noopener"``. bleach does the linking and a final ``clean`` with
an allow-list of exactly ``<a href rel>``, so nothing else can survive even if
the linker were fooled. bleach is end-of-life: replace it here (e.g. with nh3)
and nowhere else.
"""
import html

import bleach
from bleach.linkifier import build_url_re
from markupsafe import Markup

PROTOCOLS = frozenset({"http", "https", "mailto"})
_URL_RE = build_url_re(protocols=["http", "https"])


def _link_attributes(attrs, new=False):
    """Only safe links keep their href; each gets rel="nofollow noopener"."""
    href = attrs.get((None, "href"), "")
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if scheme not in PROTOCOLS:
        return None  # leave the text, drop the link
    attrs[(None, "rel")] = "nofollow noopener"
    return attrs


_LINKER = bleach.Linker(callbacks=[_link_attributes], url_re=_URL_RE, parse_email=True)
_CLEANER = bleach.Cleaner(tags={"a"}, attributes={"a": ["href", "rel"]}, protocols=PROTOCOLS,
                          strip=True)


def plain_text_to_html(text):
    """Plain text as safe HTML: escaped, links clickable, nothing else (returns Markup)."""
    escaped = html.escape(text or "", quote=True)
    return Markup(_CLEANER.clean(_LINKER.linkify(escaped)))
