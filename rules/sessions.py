"""Signed-in sessions in plain words (issue 12, "Your sessions"): the device and browser a
User-Agent names, the approximate place an address gives (its network, never the address),
and how often a session's "last seen" is written."""
import ipaddress
import re
from datetime import timedelta

from rules import SESSION_ABSOLUTE_TIMEOUT, SESSION_IDLE_TIMEOUT

# "Last seen" is written at most this often per session (a request in between costs no write);
# the list may show a time this much behind.
LAST_SEEN_EVERY = timedelta(minutes=5)
# A session not seen for this long has timed out (its idle clock, plus the write's lag).
SEEN_WITHIN = SESSION_IDLE_TIMEOUT + LAST_SEEN_EVERY
LIVES_AT_MOST = SESSION_ABSOLUTE_TIMEOUT
MAX_LISTED = 50  # one person's sessions; more are the oldest, and end by themselves

USER_AGENT_KEPT = 300  # characters of the User-Agent kept

PASSWORD, EID, PASSKEY = "password", "eid", "passkey"  # PASSKEY: a passkey alone (issue 12)
METHODS = (PASSWORD, EID, PASSKEY)

# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = (("Edge", r"Edg(?:e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"Firefox/|FxiOS/"), ("Chrome", r"Chrome/|CriOS/|Chromium/"), ("Safari", r"Safari/"))
_SYSTEMS = (("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Android", r"Android"), ("Windows", r"Windows"),
            ("ChromeOS", r"CrOS"), ("macOS", r"Mac OS X|Macintosh"), ("Linux", r"Linux|X11"))


def describe_user_agent(user_agent):
    """(browser, system) a User-Agent names, each None when it names none we know."""
    text = (user_agent or "")[:USER_AGENT_KEPT]
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, text)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, text)), None)
    return browser, system


def address_range(address):
    """The network an address belongs to, as the list shows it: /24 for IPv4, /48 for IPv6
    (an IPv4-mapped IPv6 address as IPv4); "" for anything that is no address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def last_seen_due(recorded_at, now):
    """True when a session's "last seen" (written at ``recorded_at``, epoch seconds) should be
    written again at ``now``."""
    if not isinstance(recorded_at, (int, float)):
        return True
    return now - recorded_at >= LAST_SEEN_EVERY.total_seconds()
