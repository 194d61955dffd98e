"""The outbox's rules: a notification's states, when it is tried again, when a job that
claimed it is presumed dead, and which parameters are secrets.

    pending ──claim──▶ sending ──hand-over──▶ (handed over) ──answer──▶ sent
       ▲                  │                          │
       │  refused or an   │                          │ no answer (timeout, job killed)
       └── error before ──┘                          ▼
           the hand-over (back-off)               unknown ──staff──▶ sent / pending / closed
       attempts used up or refused for good ──▶ failed ──staff──▶ pending / closed

"Handed over" is recorded just before the message leaves for the mail server (the SMTP
DATA command) or the gateway (the HTTP request): a row claimed but never handed over is
safe to send again; one handed over without an answer may have arrived, so it is never
sent again by itself. The receiving side can still drop a copy a person asks for: the
Message-ID and the SMS key come from the notification, not from the attempt.
"""
from datetime import timedelta

from rules.i18n import _l

PENDING, SENDING, SENT, UNKNOWN, FAILED = "pending", "sending", "sent", "unknown", "failed"
# Written like any notification but addressed to no account, and never sent: what a password
# recovery for an unknown e-mail or phone writes, so that it costs what a known one does.
NOWHERE = "nowhere"
# They hold only what a stranger typed (an e-mail or a phone no account has): kept as long as the
# recovery they answered could run, then deleted by the scheduled clean-up.
NOWHERE_KEPT = timedelta(days=1)
STATUSES = (PENDING, SENDING, SENT, UNKNOWN, FAILED, NOWHERE)
STATUS_LABELS = {
    PENDING: _l("Waiting to be sent"),
    SENDING: _l("Being sent"),
    SENT: _l("Sent"),
    UNKNOWN: _l("Outcome unknown"),
    FAILED: _l("Not sent"),
    NOWHERE: _l("Not sent: no such account"),
}
# What staff look at until someone resolves it.
NEEDS_ATTENTION = (UNKNOWN, FAILED)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=30)

# The send job's time limit; a claim older than the lease belongs to a job that died.
JOB_TIMEOUT_SECONDS = 90
CLAIM_LEASE_SECONDS = JOB_TIMEOUT_SECONDS + 30

# A freshly written row is queued by its own action after the commit; the sweep waits this
# long before it queues a row that missed that (Redis down at the time).
SETTLE_SECONDS = 30

# Parameters that are secrets: wiped as soon as the row can no longer be sent by itself
# (sent, failed, unknown). A stale code is useless anyway: the person asks for a new one.
SECRET_TEMPLATES = frozenset({"registration_code", "reset_code", "temporary_password", "contact_code",
                              "company_invitation"})  # its link carries the invitation's token


def retry_delay(attempt):
    """How long to wait after failed attempt number ``attempt`` (1, 2, 4, 8 … minutes)."""
    return min(FIRST_RETRY * (2 ** max(attempt - 1, 0)), LONGEST_RETRY)


def gives_up(attempt, permanent=False):
    """True when attempt ``attempt`` was the last one (or the refusal was final)."""
    return permanent or attempt >= MAX_ATTEMPTS


def after_giving_up_keeps_params(template):
    """Whether a failed or unknown row keeps its (sealed) parameters, so staff can send it
    again: not when they are secrets."""
    return template not in SECRET_TEMPLATES
