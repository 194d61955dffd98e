"""Scheduled RQ jobs of onboarding applications (registered in tasks/schedule.py).

Save and return (issue 14): a draft left untouched for ``APPLICATION_REMINDER_DAYS`` (default 3)
gets one reminder — e-mail, and SMS when the person chose SMS notifications — with a link back to
its form. Each draft is claimed by a conditional UPDATE (``models.decisions.remind_draft``), so two
runs at the same time send one reminder, and a draft is reminded again only after it was changed
and left as long again.
"""
from datetime import timedelta

from flask import current_app

from models.decisions import remind_drafts
from tasks import with_app


@with_app
def remind_unfinished_applications():
    """Hourly: remind each draft due. Returns how many reminders this run sent."""
    return remind_drafts(timedelta(days=current_app.config["APPLICATION_REMINDER_DAYS"]))
