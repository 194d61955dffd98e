"""Scheduled RQ jobs of the messages area (registered in tasks/schedule.py).

The service promise MSG-6 (docs/requirements.md): a client message not answered on the day
it arrived gets an acknowledgement that it was received, with the time the
answer is due. Jobs take ids and are safe to run twice: ``Thread.acknowledge``
claims the thread with a conditional update, so one acknowledgement is written
whatever runs at the same time.
"""
import logging

import models
from models.messages import Thread, due_for_acknowledgement, publish_new_message
from tasks import with_app

log = logging.getLogger(__name__)


@with_app
def acknowledge_thread(thread_id):
    """Acknowledge one waiting thread if it is due and not yet acknowledged. Returns True if sent."""
    return _acknowledge(thread_id)


def _acknowledge(thread_id):
    thread = Thread.get_or_none(Thread.id == thread_id)
    if thread is None:
        return False
    with models.action():
        message = thread.acknowledge()
        if message:
            thread.queue_acknowledgement_notifications()
    if message is None:
        return False
    publish_new_message(thread, message.id)
    return True


@with_app
def acknowledge_due_threads():
    """Every few minutes: acknowledge each thread whose acknowledgement time has passed."""
    sent = 0
    for thread_id in due_for_acknowledgement():
        try:
            sent += _acknowledge(thread_id)
        except Exception:  # one broken thread must not hold up the others; the next run retries
            log.exception("thread %s: acknowledgement failed", thread_id)
    return sent
