"""The client's services as plain data (FIN-5, FIN-6; issue 15; seeds 000, 002, 003): what a client holds —
permits (seed 002: number, kind, validity), loans and guarantees (seed 000: amount, schedule),
connections (seed 003: number, plan) — their statuses, the words each category uses, the
requests a client may make about each, and the schedule of instalments as staff type it.
No database, no Flask (``tests/test_services.py`` tests them alone).
"""
import re
from datetime import date, datetime
from decimal import Decimal

from rules import finance as F
from rules.i18n import _l

# --- Categories ----------------------------------------------------------------------------------

PERMIT, LOAN, GUARANTEE, CONNECTION = "permit", "loan", "guarantee", "connection"
CATEGORIES = (PERMIT, LOAN, GUARANTEE, CONNECTION)
CATEGORY_LABELS = {
    PERMIT: _l("Permit"),
    LOAN: _l("Loan"),
    GUARANTEE: _l("Guarantee"),
    CONNECTION: _l("Connection"),
}
# What the one free "name" column means in each category: a permit's kind, a loan's or a
# guarantee's programme, a connection's plan.
NAME_LABELS = {
    PERMIT: _l("Kind of permit"),
    LOAN: _l("Programme"),
    GUARANTEE: _l("Programme"),
    CONNECTION: _l("Plan"),
}
# Loans and guarantees carry an amount and a schedule of instalments; the others do not.
WITH_AMOUNT = (LOAN, GUARANTEE)


def has_amount(category):
    return category in WITH_AMOUNT


# --- Statuses ------------------------------------------------------------------------------------

ACTIVE, SUSPENDED, ENDED = "active", "suspended", "ended"
STATUSES = (ACTIVE, SUSPENDED, ENDED)
EXPIRED = "expired"  # shown, never stored: active, but its validity has passed
STATUS_LABELS = {
    ACTIVE: _l("Active"),
    SUSPENDED: _l("Suspended"),
    ENDED: _l("Ended"),
    EXPIRED: _l("Expired"),
}


def shown_status(status, valid_until, today):
    """What the client is told: an active service whose validity has passed is expired."""
    if status == ACTIVE and valid_until is not None and valid_until < today:
        return EXPIRED
    return status


# --- Requests about a service (seed 002: "atļauju pieprasījumi") -----------------------------------

EXTEND, CHANGE, CHANGE_PLAN, EARLY_REPAYMENT, CHANGE_SCHEDULE, TERMINATE, OTHER = (
    "extend", "change", "change_plan", "early_repayment", "change_schedule", "terminate", "other")
REQUEST_LABELS = {
    EXTEND: _l("Extend the permit"),
    CHANGE: _l("Change the conditions"),
    CHANGE_PLAN: _l("Change the plan"),
    EARLY_REPAYMENT: _l("Repay early"),
    CHANGE_SCHEDULE: _l("Change the repayment schedule"),
    TERMINATE: _l("End the service"),
    OTHER: _l("Something else"),
}
REQUEST_KINDS = {
    PERMIT: (EXTEND, CHANGE, TERMINATE, OTHER),
    LOAN: (EARLY_REPAYMENT, CHANGE_SCHEDULE, OTHER),
    GUARANTEE: (CHANGE, TERMINATE, OTHER),
    CONNECTION: (CHANGE_PLAN, TERMINATE, OTHER),
}
# The document type a request travels as (rules.documents.DOCUMENT_TYPES).
REQUEST_DOCUMENT_TYPE = "service_request"
REQUEST_DETAILS_MAX = 2000


def request_kinds(category):
    """(code, label) of the requests a client may make about a service of ``category``."""
    return [(kind, REQUEST_LABELS[kind]) for kind in REQUEST_KINDS.get(category, (OTHER,))]


def may_request(status):
    """A request is about a live service: not one that has ended."""
    return status != ENDED


# --- The schedule of instalments -----------------------------------------------------------------

MAX_INSTALMENTS = 480  # forty years of monthly instalments
_LINE_RE = re.compile(r"^\s*(\S+)\s+(.+?)\s*$")


def parse_schedule(text):
    """Instalments typed one a line — a date (dd.mm.yyyy or yyyy-mm-dd) and an amount
    ("15.01.2027 250,00") — as ``(instalments, problems)``: ``[(date, Decimal), …]`` in date
    order, and a message for each line that is not one, naming its number. Blank lines are
    skipped; two instalments on one day are refused (a schedule names each due date once)."""
    instalments, problems, seen = [], [], set()
    lines = [(n, line) for n, line in enumerate(str(text or "").splitlines(), start=1) if line.strip()]
    if len(lines) > MAX_INSTALMENTS:
        return [], [_l("A schedule has at most %(n)d instalments.", n=MAX_INSTALMENTS)]
    for number, line in lines:
        match = _LINE_RE.match(line)
        due = _date(match.group(1)) if match else None
        amount = F.parse_amount(match.group(2)) if match else None
        if due is None or amount is None:
            problems.append(_l("Line %(n)d: write a date and an amount, like 15.01.2027 250,00.", n=number))
        elif due in seen:
            problems.append(_l("Line %(n)d: there is already an instalment on this day.", n=number))
        else:
            seen.add(due)
            instalments.append((due, amount))
    return sorted(instalments), problems


def schedule_text(instalments):
    """The schedule as ``parse_schedule`` reads it (the edit form shows it so)."""
    return "\n".join(f"{due:%d.%m.%Y} {format(amount, 'f').replace('.', ',')}" for due, amount in instalments)


def _date(text):
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            found = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        return found if date(1990, 1, 1) <= found <= date(2100, 12, 31) else None
    return None


def schedule_total(instalments):
    return sum((amount for _due, amount in instalments), Decimal("0.00"))


def validity_valid(valid_from, valid_until):
    """A validity ends on or after the day it starts (either may be open)."""
    return valid_from is None or valid_until is None or valid_from <= valid_until
