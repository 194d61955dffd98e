"""The staff's work queues and their counts in the navigation (issue 15, STF-12).

Each area registers its queue with one line::

    register_queue("documents", _l("Documents"), documents_waiting, "documents.queue")

— a name, the label the navigation shows, a function counting what waits for a staff member (given
the signed-in user; a cheap ``COUNT`` on an index, narrowed by ``models.scoping.staff_scope`` for a
consultant), the endpoint of the queue's page, and the lowest staff role that works it. The
navigation of every full staff page lists the queues the role reaches with their counts, counted
once per request (``queue_counts``) whoever asks: the layout, the header's messages link, the staff
overview. A queue added later (applications by stage, identifications) is one more
``register_queue`` line in its area, nothing here.
"""
from dataclasses import dataclass
from collections.abc import Callable

from flask import g, request
from flask_login import current_user

import rules
from blueprints import HEADER_PARTS, signed_in_user
from rules import staff as staff_rules


@dataclass(frozen=True)
class Queue:
    name: str
    label: object  # a lazy string: translated when shown
    count: Callable  # user -> how many rows wait for them
    endpoint: str
    role: str = "consultant"


QUEUES = {}


def register_queue(name, label, count, endpoint, role="consultant"):
    """Add a queue to the staff navigation (a name registered again replaces the earlier one)."""
    QUEUES[name] = Queue(name, label, count, endpoint, role)


def queue_counts():
    """[(Queue, count)] of the queues the signed-in staff member's role works, in the order they
    were registered; [] for anyone else. Counted once per request."""
    if "staff_queue_counts" not in g:
        found = []
        if current_user and current_user.is_authenticated and current_user.is_staff:
            user = signed_in_user()
            found = [(queue, queue.count(user)) for queue in QUEUES.values() if user.has_staff_role(queue.role)]
        g.staff_queue_counts = found
    return g.staff_queue_counts


def queue_count(name):
    """The count of one queue for the signed-in staff member (None when their role has no such queue)."""
    return next((count for queue, count in queue_counts() if queue.name == name), None)


def _navigation():
    return {"staff_queues": queue_counts()}


HEADER_PARTS.append(_navigation)


# --- The queues' filters ---------------------------------------------------------------------------

def routed_filter():
    """``?routed=``: everything one may see, what was passed to oneself, or what nobody was passed."""
    value = request.args.get("routed", "")
    return value if value in staff_rules.ROUTED_FILTERS else staff_rules.EVERYONE


def client_filter():
    """``?client=``: one client's number, or None."""
    return rules.bounded_int(request.args.get("client"), None, low=1)


def filtered(query, model, routed, client_id):
    """``query`` over ``model`` (a Thread or a Document) narrowed by the queue's filters."""
    if routed == staff_rules.MINE:
        query = query.where(model.assigned_to == signed_in_user().id)
    elif routed == staff_rules.UNROUTED:
        query = query.where(model.assigned_to.is_null())
    if client_id:
        query = query.where(model.client == client_id)
    return query
