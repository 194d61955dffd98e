"""The one place text typed by people becomes HTML, and loses its bidirectional controls.

Message bodies are plain text: everything is escaped, then web and e-mail
addresses become links (http, https and mailto only) with
``rel="nofollow noopener"``. bleach does the linking and a final ``clean`` with
an allow-list of exactly ``<a href rel>``, so nothing else can survive even if
the linker were fooled. bleach is end-of-life: replace it here (e.g. with nh3)
and nowhere else.

Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder
the text after them: "‮lv.ecnanif-ruoy//:sptth" shows as a trusted address while the
link goes elsewhere. ``strip_bidi_controls`` removes them: forms apply it to every text
field before a view sees the value (``forms.fields.PortalForm``), and the templates to
everything they show (``portal``'s Jinja ``finalize``), rows stored before included.
Letters of right-to-left scripts, and the plain marks U+200E/U+200F, stay.
"""
import html
import re
from functools import lru_cache

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


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WITHOUT_BIDI = {ord(c): None for c in BIDI_CONTROLS}
_ANY_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_bidi_controls(value):
    """``value`` without bidirectional controls; anything not a string as it is (Markup stays Markup).
    Every value a template shows passes here, and few hold a control: the scan for one is cheap,
    translating (a table lookup per character) is not, so only text holding one is translated."""
    if isinstance(value, str) and _ANY_BIDI.search(value):
        return value.translate(_WITHOUT_BIDI)
    return value


@lru_cache(maxsize=512)
def plain_text_to_html(text):
    """Plain text as safe HTML: escaped, links clickable, nothing else (returns Markup).
    A message is shown many times and never changes: the last few hundred are kept rendered."""
    escaped = html.escape(strip_bidi_controls(text or ""), quote=True)
    return Markup(_CLEANER.clean(_LINKER.linkify(escaped)))
