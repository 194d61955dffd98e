"""Documents (issue 3): the client's list whose rows update in place, the questionnaire
("Labot"), versions and the activity history, signing; and the staff queue and decisions.

One blueprint, in modules by who uses it: ``client`` (the client's pages), ``staff``
(the queue and decisions), ``signing_service`` (the service's callback and the
development service page), ``pdf`` (blank questionnaires). Views parse, call
``Document.transition`` and render: none of them sets a status. Clients reach a
document only through ``get_scoped_or_404`` ("documents" to see it, "submit" to act
on it); staff through ``staff_required``. Anything refused is a 404.
"""
import secrets

from flask import Blueprint, flash, render_template

import uploads
import rules
from blueprints import (acting_membership, audit, get_scoped_or_404, keyset_cursor, keyset_page, memberships, render,
                        scoped, signed_in_user, wants_fragment)
from forms.documents import ActionForm, AddFilesForm, AskForm, SignedContainerForm
from models import staff as backoffice
from models.documents import LIST_ORDER, Document, fingerprint
from rules import documents as R
from rules.polling import list_token

bp = Blueprint("documents", __name__)


@bp.context_processor
def _document_helpers():
    """A fresh nonce for each form that submits (a second click of the same form is one submission)."""
    return {"new_nonce": lambda: secrets.token_urlsafe(16), "R": R}


@bp.app_template_test("may")
def may(document, action):
    """``{% if document is may(R.EDIT) %}``: the status table allows the signed-in user
    this action now and, for a client, the account lets them act on this document."""
    user = signed_in_user()
    if not document.may(action, user):
        return False
    return user.is_staff or may_submit(document)


def may_submit(document):
    """The client's membership lets them act ("submit") on this document (no query)."""
    user = signed_in_user()
    for m in memberships():
        if m.client_id == document.client_id and m.allows("submit"):
            return not m.own_items_only or document.created_by_id == user.id
    return False


def client_document(document_id, permission="documents"):
    """A document the signed-in client may see ("documents") or act on ("submit"); else 404."""
    return get_scoped_or_404(Document, document_id, permission)


def client_upload_policy(document_id):
    """The upload policy of a document the signed-in client may act on ("submit"), for the
    request-size limit set before the body is read; 404 for any other document first, so a
    large body never tells whether someone else's document exists."""
    return client_document(document_id, "submit").type.policy


def signed_container_policy(document_id):
    """The signed container's policy, once the client may act on the document (else 404)."""
    client_document(document_id, "submit")
    return R.SIGNED_CONTAINER_POLICY


def chosen_files(field):
    return [f for f in (field.data or []) if f is not None and getattr(f, "filename", None)]


def act(document, action, **data):
    """Run one action in one transaction, with any files it stores and the audit row
    (the notifications it queues go to the job queue after the commit)."""
    user = signed_in_user()
    with uploads.atomic():
        stored = {}
        for key, (files, policy) in data.pop("uploads", {}).items():
            existing = document.working_files() if key == "new_files" else []
            stored[key] = uploads.store_files(files, policy, user, document.client,
                                              existing_count=len(existing),
                                              existing_total=sum(f.size for f in existing)) if files else []
        event = document.transition(action, by=user, **data, **stored)
        audit(f"document.{action}", user=user, client=document.client_id, document=document.id,
              status=document.status)
    return event


def list_query(membership):
    return scoped(Document, "documents", client_id=membership.client_id)


def list_window(query, args=None):
    """The page of the list (``query``) the request names (``?before=`` / ``?after=``, or
    ``args``), as a query (``LIST_ORDER.window``), and its cursor arguments: a poll or a
    row's form carries them, so what answers is about the page the client looks at."""
    before, after = keyset_cursor(LIST_ORDER, args)
    return (LIST_ORDER.window(query, rules.LIST_PAGE_SIZE, before=before, after=after),
            LIST_ORDER.args(before, after))


def list_page(membership, **context):
    """What the list shows: one page (``keyset_page``), its poll token, and ``context``."""
    query = list_query(membership)
    pages = keyset_page(query, LIST_ORDER, rules.LIST_PAGE_SIZE, endpoint="documents.index")
    fp = fingerprint(list_window(query, pages["args"])[0])
    return dict(context, documents=pages["rows"], pages=pages, page_args=pages["args"],
                token=list_token(fp), polling=fp[2] > 0, membership=membership)


def row_response(document, status=200):
    """A row after an action from the list, with the poller of the page it is on."""
    window, page_args = list_window(list_query(acting_membership("documents")))
    fp = fingerprint(window)
    return render_template("documents/_row_update.html", d=document, page_args=page_args,
                           token=list_token(fp), polling=fp[2] > 0), status


def show_context(document):
    package = document.latest_version("package")
    return {"document": document, "versions": document.versions(), "history": document.history(),
            "comments": document.open_comments(), "package": package,
            "package_files": package.files() if package else [],
            "signed": document.latest_version("signed"), "signed_container": document.signed_container(),
            "ask_form": AskForm(), "action_form": ActionForm(), "signed_form": SignedContainerForm(),
            "add_form": AddFilesForm(), "invitation": document.pending_invitation(),
            "answerer": backoffice.answerer(document)}  # who answers: seed 001, issue 15


def refused(document, message, status=409):
    """The table refused the action: say why on the document's page."""
    flash(message, "error")
    if wants_fragment():  # htmx swaps only 2xx: the row shows the real status, the message why
        return row_response(document)
    return render("documents/show.html", status=status, **show_context(document))


from blueprints.documents import client, pdf, signing_service, staff  # noqa: E402,F401  (routes)
