"""Operations (issue 15) in plain data: what the readiness check calls healthy, and who may read
the Prometheus metrics. No Flask here."""
import hmac
import ipaddress
from datetime import timedelta

# RQ's worker writes its own heartbeat (``rq:worker:<name>``'s ``last_heartbeat``): at start, after
# each job, and while idle every ``worker_ttl - 15`` s (rq's default ttl is 420 s); the key itself
# expires ``worker_ttl + 60`` s after the last one. Older than that, the worker is gone.
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=420 + 60)
# A notification waiting longer than this (the back-off of 1+2+4+8 min included) means the
# outbox is not being sent: the worker or the sweep is stuck, or the mail/SMS gateway refuses.
OUTBOX_MAX_PENDING_AGE = timedelta(minutes=20)

CHECKS = ("database", "redis", "storage", "worker", "outbox")


def worker_ok(last_heartbeat, now, max_age=WORKER_HEARTBEAT_MAX_AGE):
    """A worker is alive when its newest heartbeat is recent enough (None: no worker at all)."""
    return last_heartbeat is not None and now - last_heartbeat <= max_age


def outbox_ok(oldest_pending_age, max_age=OUTBOX_MAX_PENDING_AGE):
    """The outbox is being sent when nothing pending is older than ``max_age`` (None: nothing pending)."""
    return oldest_pending_age is None or oldest_pending_age <= max_age


def readiness(checks):
    """(HTTP status, the names that are down) for ``{check: ok}``: 503 when any is down."""
    down = [name for name in CHECKS if name in checks and not checks[name]]
    return (503 if down else 200), down


def parse_networks(text):
    """The networks of a comma-separated list of addresses or CIDRs; ValueError on a bad one."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in (text or "").split(",")
                 if part.strip())


def metrics_allowed(remote_addr, authorization, token, networks):
    """May this request read /metrics? With a token configured, a request bearing it
    (``Authorization: Bearer <token>``) may, from anywhere; a request from one of ``networks``
    may without one. Nothing configured: nobody (production's default)."""
    if token and isinstance(authorization, str) and authorization.startswith("Bearer "):
        if hmac.compare_digest(authorization[len("Bearer "):].strip().encode(), token.encode()):
            return True
    if networks and remote_addr:
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        return any(address in network for network in networks)
    return False
