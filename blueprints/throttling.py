"""Charging the budgets of ``rules.throttle`` before the work they guard, and known devices.

A budget is a fixed-window counter in Flask-Limiter's storage (Redis), raised with one atomic
increment *before* the argon2 check or the message it guards: of N requests at once, at most
the budget's amount see a count within it. A successful sign-in or password change gives its
charge back. When Redis is away (down, hung, or the breaker of ``adapters.redis_guard`` open),
the counters live in this process's memory meanwhile, as Flask-Limiter's own limits do.

The increment that first passes the amount is the window's first refusal: only that one
writes an audit row ("auth.throttled"), so a flood of refused requests costs no database
writes.
"""
import logging
import time
from dataclasses import dataclass

from flask import current_app, make_response, request
from limits.errors import StorageError
from limits.storage import MemoryStorage
from redis.exceptions import RedisError

import rules.throttle as policy
from blueprints import audit, client_ip
from blueprints.extensions import SummarisedWarnings, limiter

log = logging.getLogger(__name__)
_outages = SummarisedWarnings(log)  # Redis away: one line per 30 s, not one per request

DEVICE_COOKIE = "kabinets_device"


class Throttled(Exception):
    """A spent budget: who asked waits until ``reset_at`` (epoch seconds)."""

    def __init__(self, budget, reset_at):
        super().__init__(budget.name)
        self.budget, self.reset_at = budget, reset_at

    @property
    def minutes(self):
        return policy.minutes_until(self.reset_at, time.time())

    def answer(self, body):
        """``body`` (a rendered page and its status) as the 429 response, with Retry-After."""
        response = make_response(body)
        response.headers["Retry-After"] = str(max(1, int(self.reset_at - time.time())))
        return response


@dataclass
class Charge:
    """One attempt counted against one budget's key."""

    budget: policy.Budget
    key: str
    count: int
    storage: object = None
    counter: str = ""

    @property
    def allowed(self):
        return self.count <= self.budget.amount

    def refusal(self):
        """The Throttled to raise, with when the counter's window ends."""
        try:
            reset_at = self.storage.get_expiry(self.counter)
        except (RedisError, StorageError, OSError):  # gone since the increment: say a whole window
            reset_at = time.time() + self.budget.seconds
        return Throttled(self.budget, reset_at)


def _memory():
    """This app's counters for while Redis is away (one store per app and process)."""
    return current_app.extensions.setdefault("throttle-memory", MemoryStorage())


def _increment(counter, budget):
    """Add one to a counter (its window starts with its first hit); the count and the storage
    that took it."""
    storage = limiter.storage
    try:
        return storage.incr(counter, budget.seconds, amount=1), storage
    except (RedisError, StorageError, OSError) as error:
        _outages.warning("storage", "throttle storage unreachable, counting %s in memory: %s", budget.name, error)
    storage = _memory()
    return storage.incr(counter, budget.seconds, amount=1), storage


def charge(budget, key, refuse=True, **audit_details):
    """Count one attempt against ``budget`` for ``key`` now, before the work it guards.

    Over the budget: raises ``Throttled`` (or, with ``refuse=False``, returns a Charge whose
    ``allowed`` is False). The first refusal of each window writes one audit row with
    ``audit_details`` (``user``, ``actor``)."""
    if not limiter.enabled:
        return Charge(budget, key, 0)
    counter = "/".join((current_app.config.get("RATELIMIT_KEY_PREFIX") or "kabinets", "throttle",
                        budget.name, key))
    count, storage = _increment(counter, budget)
    charged = Charge(budget, key, count, storage, counter)
    if count == budget.amount + 1:
        audit("auth.throttled", limit=budget.name, **audit_details)
    if refuse and not charged.allowed:
        raise charged.refusal()
    return charged


def refund(*charges):
    """Give back what ``charges`` took (a sign-in that succeeded is not an attempt at guessing)."""
    for charged in charges:
        if charged is None or charged.storage is None:
            continue
        try:
            charged.storage.incr(charged.counter, charged.budget.seconds, amount=-1)
        except (RedisError, StorageError, OSError):
            _outages.warning("refund", "throttle storage unreachable, %s not given back", charged.budget.name)


def attempt(user, account_key, per_source, per_account, per_device, account_refuses=True, actor=""):
    """Charge one attempt at an account (before anything costly); returns the charges, the
    deciding one (the account's or the device's) last.

    A known device of ``user`` is charged on its own budget and gets past a spent per-source
    budget; any other browser needs the source's budget and the account's (which, with
    ``account_refuses=False``, only reports: a message cap that must not refuse). ``user`` and
    ``actor`` go into the audit row of a window's first refusal."""
    audit_details = {"user": user, "actor": actor}
    source = charge(per_source, client_ip(), refuse=False, **audit_details)
    device = known_device(user)
    if device:
        return [source, charge(per_device, device, **audit_details)]
    if not source.allowed:
        raise source.refusal()
    return [source, charge(per_account, account_key, refuse=account_refuses, **audit_details)]


# --- Known devices ----------------------------------------------------------------------------

def known_device(user):
    """The id of this browser as a known device of ``user``, or None."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if user is None or not cookie:
        return None
    return policy.known_device(current_app.extensions["keys"], cookie, user.id, user.password_hash,
                               time.time())


def remember_device(response, user):
    """Mark this browser a known device of ``user`` (bound to the user's current password):
    a long-lived HttpOnly, SameSite=Lax cookie, Secure over HTTPS."""
    token = policy.device_token(current_app.extensions["keys"], user.id, user.password_hash, time.time())
    response.set_cookie(
        DEVICE_COOKIE, policy.remember_device(request.cookies.get(DEVICE_COOKIE), token),
        max_age=int(policy.KNOWN_DEVICE_LIFETIME.total_seconds()), path="/", httponly=True,
        samesite="Lax", secure=bool(current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure))
    return response
