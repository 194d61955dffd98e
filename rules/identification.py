"""Identification of the people of an application (seed 004 §5, §8; DESIGN.md capability 3;
ONB-8, ONB-9, ONB-12, ONB-13 and STF-7 in docs/requirements.md): who identifies, the states of one person's
identification, how a provider's result maps onto them, what the application's stages
"photo identification" and "video identification" are from them, and when staff may hold a
video identification.

Plain data and pure functions. ``rules.onboarding.identifies`` says *who* (the registrant, or
every representative who will represent the company); ``people_to_identify`` names them from
the application's answers; ``stage_status`` turns the people's states into the stage's status
of ``rules.onboarding.stage_statuses``' task list, so no template restates it.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from rules import calendar
from rules import onboarding as O
from rules.i18n import _l
from rules.uploads import KB, MB, UploadPolicy

# --- One person's identification ------------------------------------------------------------

PHOTO, VIDEO = "photo", "video"
KINDS = (PHOTO, VIDEO)
STAGE_OF_KIND = {PHOTO: O.PHOTO_ID, VIDEO: O.VIDEO_ID}

WAITING, STARTED, PASSED, FAILED, REPEAT, IN_PERSON, SCHEDULED = (
    "waiting", "started", "passed", "failed", "repeat", "in_person", "scheduled")
STATUSES = (WAITING, STARTED, PASSED, FAILED, REPEAT, IN_PERSON, SCHEDULED)
STATUS_LABELS = {
    WAITING: _l("Not started"),
    STARTED: _l("Started, waiting for the result"),
    PASSED: _l("Identified"),
    FAILED: _l("Identification failed"),
    REPEAT: _l("Must identify again"),
    IN_PERSON: _l("Must identify in person"),
    SCHEDULED: _l("Video identification agreed"),
}
# The person may (again) start at the provider in these states.
MAY_START = frozenset({WAITING, STARTED, REPEAT, SCHEDULED})
# A provider's result is applied in these states; after one of the others only staff change it.
OPEN = frozenset({WAITING, STARTED, REPEAT, SCHEDULED})
# What the person is told by e-mail and SMS (seed 004 §8.2–8.4: "e-pastā un īsziņā").
NOTIFIED = {FAILED: "identification_failed", REPEAT: "identification_repeat",
            IN_PERSON: "identification_in_person", SCHEDULED: "identification_video"}

# The provider's words (the generic webhook, adapters.identification) → ours (ONB-9).
APPROVED, DECLINED, RETRY = "approved", "declined", "retry"
RESULT_OF_PROVIDER = {APPROVED: PASSED, DECLINED: FAILED, RETRY: REPEAT}

# What staff may record by hand (with a reason, ONB-9).
BY_HAND = (PASSED, FAILED, REPEAT)
BY_HAND_LABELS = {PASSED: _l("Identified"), FAILED: _l("Identification failed"),
                  REPEAT: _l("Must identify again")}
MAX_REASON = 2000

# Invitations of representatives who are not the registrant (ONB-8): a personal link, the
# token only hashed in the database, valid this long, dead once a result is in.
INVITATION_LIFETIME = timedelta(days=14)
INVITATION_TOKEN_BYTES = 32
# Staff look again at an identification nobody finished in this time (the review queue).
PENDING_TOO_LONG = timedelta(days=3)
# The identification page asks again this often while a provider's result is awaited.
POLL_SECONDS = 5
# A webhook older (or newer) than this is refused: a captured body cannot be replayed later.
WEBHOOK_MAX_AGE = timedelta(minutes=5)

# The development provider's uploads: a photo of the identity document and a selfie.
PHOTO_POLICY = UploadPolicy(name="identification-photo", extensions=frozenset({"jpg", "jpeg", "png"}),
                            min_file_size=1 * KB, max_file_size=10 * MB, max_files=2, max_total=20 * MB)

# Video identification: in working hours (seed 004 §8.1), Mon–Fri but Latvian public holidays
# (rules.calendar), starting no earlier than VIDEO_OPENS and ending by VIDEO_CLOSES.
VIDEO_OPENS, VIDEO_CLOSES = time(9, 0), time(17, 0)
VIDEO_CALL = timedelta(minutes=15)  # "about 10 minutes": the slot we keep for it


def result_of_provider(word):
    """Our state for a provider's result word, or None for a word we do not know."""
    return RESULT_OF_PROVIDER.get(word) if isinstance(word, str) else None


def needs_review(status, updated_at, now):
    """True when staff should look at it: failed, asked to repeat, or not finished for too long."""
    if status in (FAILED, REPEAT):
        return True
    return status in (WAITING, STARTED) and updated_at is not None and now - updated_at > PENDING_TOO_LONG


def next_step(status):
    """What the person does next in ``status`` (failed / repeat / in person say where to turn)."""
    return {
        WAITING: _l("Identify with a photo of your identity document (passport or ID card) and a selfie; "
                    "it takes about 5 minutes, at any time of day."),
        STARTED: _l("We are waiting for the identification service's result. If you did not finish, start again."),
        PASSED: _l("Nothing more to do."),
        FAILED: _l("The remote identification did not succeed. Contact your personal manager or call us "
                   "to agree what to do next."),
        REPEAT: _l("Please identify again: start the identification once more."),
        IN_PERSON: _l("Please come to identify in person at our office: agree a time with your personal "
                      "manager or by phone."),
        SCHEDULED: _l("At the agreed time, open this page and start the video identification. Have your "
                      "identity document and your phone ready."),
    }[status]


def stage_status(statuses):
    """The identification stage's status on the task list from its people's states, or None
    when nobody identifies in it (yet): done when everyone passed; in progress while only
    results are awaited; needs action while anyone must (still, again, in person) act."""
    statuses = list(statuses)
    if not statuses:
        return None
    if all(s == PASSED for s in statuses):
        return O.DONE
    if any(s in (WAITING, REPEAT, FAILED, IN_PERSON, SCHEDULED) for s in statuses):
        return O.ACTION_NEEDED
    return O.IN_PROGRESS


# --- Who identifies (seed 004 §5) -----------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """Someone who must identify: the registrant (``registrant`` True, identified in their
    cabinet) or a representative named in the form (invited by e-mail)."""

    full_name: str
    email: str = ""
    registrant: bool = False


def people_to_identify(kind, services, data, registrant_email, registrant_name):
    """The people of an application who identify, each once: the registrant for a natural
    person and for documents renewal / e-commerce; for an account, safeguarding or payment
    acceptance every representative marked "will represent the client" — the registrant among
    them (the same e-mail) identifies in their cabinet, the others get an invitation."""
    if O.identifies(kind, services) != O.REPRESENTATIVES:
        return [Person(registrant_name, registrant_email, registrant=True)]
    mine = _email(registrant_email)
    found, seen = [], set()
    for entry in (data or {}).get(O.REPRESENTATIVES_GROUP) or []:
        if not isinstance(entry, dict) or not entry.get("represents"):
            continue
        email = _email(entry.get("email"))
        key = email or str(entry.get("full_name") or "")
        if not key or key in seen:
            continue
        seen.add(key)
        found.append(Person(str(entry.get("full_name") or "")[:200], email, registrant=bool(mine) and email == mine))
    return found


def _email(value):
    """An address as the form stored it (already checked there), compared without case."""
    return str(value or "").strip().lower()[:254]


# --- Video identification at an agreed time -------------------------------------------------

def video_time_problem(local_start, now_utc):
    """Why a video identification cannot be agreed for ``local_start`` (a naive Riga time), or
    None: it must be in the future, on a working day (not a weekend, not a Latvian public
    holiday), between 9:00 and 17:00 with the call's slot inside."""
    if not isinstance(local_start, datetime):
        return _l("Enter the date and time of the video identification.")
    if calendar.to_utc(local_start) <= now_utc:
        return _l("Choose a time in the future.")
    if not calendar.is_working_day(local_start.date()):
        return _l("Choose a working day: not a weekend or a Latvian public holiday.")
    if local_start.time() < VIDEO_OPENS or (local_start + VIDEO_CALL).time() > VIDEO_CLOSES \
            or (local_start + VIDEO_CALL).date() != local_start.date():
        return _l("Choose a time within working hours, 9:00–17:00 (the call takes up to 15 minutes).")
    return None
