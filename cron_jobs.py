"""Scheduled jobs for ``rq cron`` (see Procfile)."""
import os

from rq import cron

import tasks

cron.register(tasks.sweep_notifications, os.environ.get("RQ_QUEUE", "kabinets"), interval=60)

import messages_jobs  # noqa: E402

# Acknowledge unanswered client messages (seed 001 §3.3); idempotent, so a missed or doubled run is harmless.
cron.register(messages_jobs.acknowledge_due_threads, os.environ.get("RQ_QUEUE", "kabinets"), interval=300)
