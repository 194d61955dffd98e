"""Passing a thread or a document to the competent colleague (issue 15; seed 001 §2: "novirza
klientu pie kompetentā darbinieka"), and the queue of what was passed to oneself.

The areas' staff pages show the form (``route_form``) to whoever may pass the thing
(``models.staff.may_route``: supervisors always, a consultant what is theirs) and post it to their
own ``…/pass`` route, which calls ``pass_on``: one transaction with the audit row. The colleague
finds it under "Passed to me" (a queue of the staff navigation) with the note; the client sees
who answers (``models.staff.answerer``).
"""
from flask import Blueprint, flash
from flask_babel import gettext as _, lazy_gettext as _l

import models
import rules
from blueprints import audit, render, signed_in_user, staff_required
from blueprints.queues import register_queue
from forms.staff import RouteForm
from models import staff as backoffice
from models.documents import Document
from models.messages import Thread

bp = Blueprint("routing", __name__, url_prefix="/staff")

KINDS = {Thread: "thread", Document: "document"}


def route_form(item, form=None):
    """The form passing ``item`` on, for a viewer who may (else None): their colleagues to choose."""
    if not backoffice.may_route(signed_in_user(), item):
        return None
    form = form or RouteForm(formdata=None)
    form.with_colleagues(backoffice.colleagues())
    if form.colleague.data is None and item.assigned_to_id:
        form.colleague.data = str(item.assigned_to_id)
    return form


def pass_on(item, form):
    """Validate the form and pass ``item`` to the chosen colleague with the note, audited, in one
    transaction. True when done (a message is flashed); False leaves the errors on the form."""
    form.with_colleagues(backoffice.colleagues())
    if not form.validate_on_submit():
        return False
    staff = signed_in_user()
    to = models.User.get_or_none(models.User.id == rules.bounded_int(form.colleague.data, 0))
    note = (form.note.data or "").strip()
    with models.action():
        done = backoffice.route(item, to, staff, note)
        if done:
            audit("staff.passed_on", user=staff, actor="staff", client=item.client_id,
                  **{KINDS[type(item)]: item.id}, passed_to=to.id)
    if not done:
        form.colleague.errors.append(_("Choose the colleague to pass it to."))
        return False
    flash(_("Passed to %(name)s.", name=to.display_name), "success")
    return True


def waiting_for(user):
    """Threads and documents passed to ``user`` that still wait on us (the navigation's count)."""
    threads, documents = backoffice.assigned_to_me(user)
    return threads.count() + documents.count()


register_queue("assigned", _l("Passed to me"), waiting_for, "routing.mine")


@bp.route("/assigned")
@staff_required()
def mine():
    """What colleagues passed to me and still waits: threads earliest due first, then documents
    oldest first, each with the note it came with. The first rows of each; the whole list, paged,
    is the queue filtered by "Passed to me" (``?routed=mine``)."""
    threads, documents = backoffice.assigned_to_me(signed_in_user())
    shown = rules.QUEUE_PAGE_SIZE * 2
    threads, documents = list(threads.limit(shown + 1)), list(documents.limit(shown + 1))
    return render("staff/assigned.html", threads=threads[:shown], documents=documents[:shown],
                  more_threads=len(threads) > shown, more_documents=len(documents) > shown,
                  now=models.utcnow())
