"""The working-day calendar of the service promises: weekends, Latvian holidays, 8:30–17:00 Riga."""
from datetime import date, datetime

import pytest

from rules import calendar


def riga(text):
    """A Riga wall-clock time as the naive UTC the models store."""
    return calendar.to_utc(datetime.fromisoformat(text))


def local(utc):
    return calendar.to_local(utc).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("day, working", [
    ("2026-11-16", True),    # Monday
    ("2026-11-14", False),   # Saturday
    ("2026-11-15", False),   # Sunday
    ("2026-11-18", False),   # Proclamation Day of the Republic of Latvia
    ("2025-11-18", False),
    ("2026-06-23", False),   # Līgo (Midsummer Eve)
    ("2026-06-24", False),   # Jāņi (Midsummer Day)
    ("2026-12-24", False),   # Christmas Eve
    ("2026-12-25", False),
    ("2026-12-26", False),
    ("2026-12-31", False),   # New Year's Eve
    ("2026-01-01", False),
    ("2026-04-03", False),   # Good Friday
    ("2026-04-06", False),   # Easter Monday
    ("2027-03-29", False),   # Easter Monday 2027
    ("2026-05-01", False),
    ("2026-05-04", False),   # Restoration of Independence
    ("2026-04-07", True),
    ("2026-06-25", True),
])
def test_working_days_skip_weekends_and_latvian_public_holidays(day, working):
    assert calendar.is_working_day(date.fromisoformat(day)) is working


@pytest.mark.parametrize("arrived, due", [
    ("2026-11-16 10:00", "2026-11-17 10:00"),  # Monday morning → Tuesday, same time
    ("2026-11-16 08:30", "2026-11-16 17:00"),  # at opening: one whole support day, the same day
    ("2026-11-16 07:15", "2026-11-16 17:00"),  # before opening: the clock starts at 8:30
    ("2026-11-16 16:59", "2026-11-17 16:59"),
    ("2026-11-16 17:00", "2026-11-17 17:00"),  # at the 17:00 cut-off: counts from the next morning
    ("2026-11-16 21:00", "2026-11-17 17:00"),
    ("2026-11-17 10:00", "2026-11-19 10:00"),  # over 18 November
    ("2026-11-13 14:00", "2026-11-16 14:00"),  # Friday → Monday
    ("2026-11-14 11:00", "2026-11-16 17:00"),  # Saturday → end of Monday
    ("2026-06-19 12:00", "2026-06-25 12:00"),  # Friday before Midsummer (22.06 is a moved day off)
    ("2026-12-23 09:00", "2026-12-28 09:00"),  # over Christmas
    ("2026-04-02 10:00", "2026-04-07 10:00"),  # over Easter
    ("2026-03-27 10:00", "2026-03-30 10:00"),  # across the switch to summer time
])
def test_an_answer_is_due_one_working_day_later(arrived, due):
    assert local(calendar.answer_due(riga(arrived))) == due


@pytest.mark.parametrize("arrived, acknowledge", [
    ("2026-11-16 10:00", "2026-11-16 17:00"),  # unanswered by closing time of the same day
    ("2026-11-16 16:59", "2026-11-16 17:00"),
    ("2026-11-16 17:00", "2026-11-16 17:00"),  # after the cut-off: nobody answers today, so at once
    ("2026-11-16 19:30", "2026-11-16 19:30"),
    ("2026-11-18 10:00", "2026-11-18 10:00"),  # a holiday: at once
    ("2026-11-15 10:00", "2026-11-15 10:00"),  # a Sunday: at once
])
def test_the_acknowledgement_goes_out_at_closing_time_or_at_once(arrived, acknowledge):
    assert local(calendar.acknowledgement_due(riga(arrived))) == acknowledge


def test_a_delay_promises_closing_time_some_working_days_on():
    assert local(calendar.delayed_answer_due(riga("2026-11-17 10:00"), 2)) == "2026-11-20 17:00"
    assert local(calendar.delayed_answer_due(riga("2026-06-19 10:00"), 1)) == "2026-06-25 17:00"


def test_stored_times_are_utc_and_shown_in_riga_time():
    assert calendar.to_utc(datetime(2026, 7, 1, 12, 0)) == datetime(2026, 7, 1, 9, 0)   # summer: UTC+3
    assert calendar.to_utc(datetime(2026, 12, 1, 12, 0)) == datetime(2026, 12, 1, 10, 0)  # winter: UTC+2
