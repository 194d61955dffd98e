"""Scheduled jobs for ``rq cron`` (see Procfile)."""
import os

from rq import cron

import tasks

cron.register(tasks.sweep_notifications, os.environ.get("RQ_QUEUE", "kabinets"), interval=60)
