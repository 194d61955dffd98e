"""The working-day calendar behind the service promises (MSG-6, MSG-7, MSG-9).

Support works on working days 8:30–17:00 Europe/Riga (MSG-9). Saturdays,
Sundays and Latvian public holidays (the ``holidays`` package, country "LV",
including the days off the government moves) are not working days. Stored
times are naive UTC, as everywhere in the models; these functions take and
return naive UTC and do their reasoning in Riga time.

- ``answer_due``: "an answer within one working day" — one full support day
  (8 h 30 min of support time) after the message arrived; a message that
  arrives outside support hours starts counting at the next opening.
- ``acknowledgement_due``: "an acknowledgement if the answer is not given on
  the day the message arrived" — 17:00 of that day when it arrived on a
  working day before closing; otherwise at once, since nobody answers that day.
"""
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

RIGA = ZoneInfo("Europe/Riga")
OPENS = time(8, 30)
CLOSES = time(17, 0)
SUPPORT_DAY = (datetime.combine(date.min, CLOSES) - datetime.combine(date.min, OPENS))  # 8 h 30 min


@lru_cache(maxsize=32)
def _holidays(year):
    return holidays.country_holidays("LV", years=year)


def is_holiday(day):
    return day in _holidays(day.year)


def is_working_day(day):
    """Monday to Friday and not a Latvian public holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day):
    """The first working day after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day, n):
    """The working day ``n`` working days after ``day`` (n ≥ 0; 0 gives ``day`` or the next one)."""
    if n == 0:
        return day if is_working_day(day) else next_working_day(day)
    for _ in range(n):
        day = next_working_day(day)
    return day


def to_local(utc_naive):
    """A stored (naive UTC) time as an aware Riga time."""
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(RIGA)


def to_utc(local):
    """An aware (or naive Riga) time as naive UTC, the way the models store it."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=RIGA)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _at(day, clock):
    return datetime.combine(day, clock, tzinfo=RIGA)


def add_support_time(start_utc, duration):
    """``start_utc`` plus ``duration`` of support time (only working days, 8:30–17:00)."""
    local = to_local(start_utc)
    day = local.date()
    clock = local.time()
    if not is_working_day(day) or clock >= CLOSES:
        day, moment = next_working_day(day), None
    elif clock < OPENS:
        moment = None
    else:
        moment = local
    if moment is None:
        moment = _at(day, OPENS)
    remaining = duration
    while True:
        closing = _at(day, CLOSES)
        left_today = closing - moment
        if remaining <= left_today:
            return to_utc(moment + remaining)
        remaining -= left_today
        day = next_working_day(day)
        moment = _at(day, OPENS)


def answer_due(arrived_utc):
    """When the answer to a message that arrived at ``arrived_utc`` is due: one working day."""
    return add_support_time(arrived_utc, SUPPORT_DAY)


def acknowledgement_due(arrived_utc):
    """When an unanswered message gets its acknowledgement (17:00 the same working day, or at once)."""
    local = to_local(arrived_utc)
    if is_working_day(local.date()) and local.time() < CLOSES:
        return to_utc(_at(local.date(), CLOSES))
    return arrived_utc


def delayed_answer_due(now_utc, working_days):
    """A new promise after a delay explanation: closing time ``working_days`` working days on."""
    local = to_local(now_utc)
    day = local.date()
    return to_utc(_at(add_working_days(day, working_days), CLOSES))
