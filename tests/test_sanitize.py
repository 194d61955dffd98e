"""The one sanitising function: plain text escaped, links clickable and safe, nothing else."""
import uuid
from html.parser import HTMLParser

import pytest

from rules import sanitize
from rules.sanitize import plain_text_to_html, strip_bidi_controls


class Elements(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<svg><p><style><img src=x onerror=alert(1)>",
    "<math><mi><mglyph><svg><mtext><textarea><path id=\"</textarea><img onerror=alert(1) src=1>\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "\"><svg/onload=alert(1)>",
    "<iframe src=\"data:text/html,<script>alert(1)</script>\"></iframe>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "<div style=\"background:url(javascript:alert(1))\">",
    "http://example.lv/\"onmouseover=\"alert(1)",
    "https://example.lv/<script>alert(1)</script>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_come_out_as_text_with_at_most_safe_links(payload):
    html = str(plain_text_to_html(payload))
    for tag, attrs in Elements(html).found:
        assert tag == "a"
        assert set(attrs) == {"href", "rel"} and attrs["rel"] == "nofollow noopener"
        assert attrs["href"].startswith(("http://", "https://", "mailto:"))
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<svg" not in html.lower()


def test_plain_text_is_escaped_not_interpreted():
    assert str(plain_text_to_html("<b>treknrakstā</b> & \"pēdiņas\" 'x'")) == (
        "&lt;b&gt;treknrakstā&lt;/b&gt; &amp; &quot;pēdiņas&quot; &#x27;x&#x27;")


def test_web_and_e_mail_addresses_become_safe_links():
    html = str(plain_text_to_html("Skatīt https://example.lv/a?b=1&c=2, www.example.lv vai rakstīt info@example.lv"))
    links = [a for tag, a in Elements(html).found if tag == "a"]
    assert [a["href"] for a in links] == ["https://example.lv/a?b=1&c=2", "http://www.example.lv",
                                          "mailto:info@example.lv"]
    assert all(a["rel"] == "nofollow noopener" for a in links)


def test_other_schemes_never_become_links():
    for text in ("ftp://example.lv/fails", "file:///etc/passwd", "javascript:alert(1)", "data:text/html,x"):
        hrefs = [a.get("href", "") for tag, a in Elements(str(plain_text_to_html(text))).found]
        assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs


def test_line_breaks_are_kept_for_pre_wrap_and_empty_text_is_empty():
    assert str(plain_text_to_html("viens\notrs")) == "viens\notrs"
    assert str(plain_text_to_html("")) == "" and str(plain_text_to_html(None)) == ""


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("control", BIDI)
def test_bidirectional_controls_never_reach_the_page(control):
    """An override turns "exe.jpg" into what reads as "gpj.exe", or hides where a link goes."""
    html = str(plain_text_to_html(f"Rēķins: https://banka.lv/{control}gpj.exe un {control}teksts"))
    assert control not in html
    assert "https://banka.lv/gpj.exe" in html and "teksts" in html


def test_stripping_bidirectional_controls_keeps_every_letter_and_the_plain_marks():
    text = "Ģirts Ēķis — עברית, العربية \u200e\u200f 1 234,56 €"
    assert strip_bidi_controls(text) == text
    assert strip_bidi_controls("".join(BIDI)) == ""
    assert strip_bidi_controls(None) is None and strip_bidi_controls(7) == 7


def test_a_message_shown_again_is_not_parsed_again(monkeypatch):
    parsed = []
    linkify = sanitize._LINKER.linkify
    monkeypatch.setattr(sanitize._LINKER, "linkify", lambda text: parsed.append(text) or linkify(text))
    text = f"Skatīt https://example.lv/{uuid.uuid4().hex} un atbildēt"
    first, again = plain_text_to_html(text), plain_text_to_html(text)
    assert first == again and 'rel="nofollow noopener"' in str(again) and len(parsed) == 1


@pytest.mark.parametrize("control", sorted(sanitize.BIDI_CONTROLS))
def test_only_text_holding_a_control_is_translated_and_every_control_goes(control):
    assert strip_bidi_controls(f"a{control}b{control}") == "ab"
    plain = "Rēķins Nr. 5 — ‏עברית‎ un latviešu"  # right-to-left letters and U+200E/U+200F marks stay
    assert strip_bidi_controls(plain) is plain
