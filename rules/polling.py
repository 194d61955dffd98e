"""Polling rules. The documents list's poll token: what the page of the list looked like, so
"nothing changed" costs one aggregate query (``models.documents.fingerprint``) and no rows. And how
long a message thread's poll may trust Redis's pointer instead of the database."""
from datetime import datetime

# A thread's poll answers "nothing new" from Redis's pointer to the newest message, without
# the database, only this long after the database was last asked for that thread. A pointer
# that went back in time (Redis restored from an older snapshot) then hides a message for
# this long at most, and an idle open thread asks the database once in this many seconds.
POINTER_TRUST_SECONDS = 60
CLOCK_SKEW_SECONDS = 5  # web servers' clocks may differ a little


def pointer_trusted(checked_at, now):
    """True while the pointer may answer for the database: ``checked_at`` (when the database
    was last asked, in Unix seconds) is less than POINTER_TRUST_SECONDS before ``now``."""
    return -CLOCK_SKEW_SECONDS <= now - checked_at < POINTER_TRUST_SECONDS


def list_token(fp):
    """A window of the list's fingerprint as the poll sends it back: which rows it holds
    (count, lowest and highest id), how many wait on us, the last change."""
    count, latest, waiting, low, high = fp
    if isinstance(latest, str):
        latest = datetime.fromisoformat(latest)
    stamp = latest.strftime("%Y%m%d%H%M%S%f") if latest else "0"
    return f"{count}.{low}.{high}-{waiting}-{stamp}"


def parse_list_token(token):
    """(which rows, last change) from a token, or (None, None) when it is not one. The
    first part equals ``list_token``'s for the same rows, so the poll can send only the
    rows that changed when no row came or went."""
    try:
        rows, _waiting, stamp = token.split("-")
        return rows, (datetime.strptime(stamp, "%Y%m%d%H%M%S%f") if stamp != "0" else None)
    except (ValueError, AttributeError, OverflowError):
        return None, None
