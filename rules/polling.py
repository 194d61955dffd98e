"""The documents list's poll token: what a list looked like, so "nothing changed" costs
one aggregate query (``models.documents.fingerprint``) and no rows."""
from datetime import datetime


def list_token(fp):
    """The list's fingerprint as the poll sends it back: count, waiting rows, last change."""
    count, latest, waiting = fp
    if isinstance(latest, str):
        latest = datetime.fromisoformat(latest)
    stamp = latest.strftime("%Y%m%d%H%M%S%f") if latest else "0"
    return f"{count}-{waiting}-{stamp}"


def parse_list_token(token):
    """(count, last change) from a token, or (None, None) when it is not one."""
    try:
        count, _waiting, stamp = token.split("-")
        return int(count), (datetime.strptime(stamp, "%Y%m%d%H%M%S%f") if stamp != "0" else None)
    except (ValueError, AttributeError, OverflowError):
        return None, None
