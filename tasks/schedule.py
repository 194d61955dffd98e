"""What ``rq cron`` runs and how often (Procfile ``clock``: ``rq cron tasks/schedule.py``).

Every job here is idempotent, so a missed or doubled run is harmless.
"""
import os

from rq import cron

from tasks.applications import remind_unfinished_applications
from tasks.messages import acknowledge_due_threads
from tasks.notifications import sweep_notifications
from tasks.storage import sweep_storage

QUEUE = os.environ.get("RQ_QUEUE", "kabinets")

cron.register(sweep_notifications, QUEUE, interval=60)
# Acknowledge unanswered client messages (MSG-6).
cron.register(acknowledge_due_threads, QUEUE, interval=300)
# Remove stored files no row points at and unfinished uploads, after their grace periods.
cron.register(sweep_storage, QUEUE, interval=3600, job_timeout=1800)
# Save and return: remind unfinished applications after APPLICATION_REMINDER_DAYS.
cron.register(remind_unfinished_applications, QUEUE, interval=3600)
