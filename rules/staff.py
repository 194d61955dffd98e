"""Who of the staff reaches which client, as plain data (issue 15, STF-2, STF-11…STF-13).

A consultant works for the clients assigned to them (``Client.consultant``) and on the threads
and documents a colleague passed to them (routing, seed 001 §2: "novirza klientu pie kompetentā
darbinieka"); anything else of a client is a 404 to them, in the queues as on the client's
pages. Supervisors and administrators reach every client, and they alone assign clients to
consultants. ``models.scoping`` puts this rule into SQL; ``tests/test_backoffice.py`` checks the
rule as a table and the queries against it.
"""
from rules import STAFF_ROLES, staff_role_at_least
from rules.i18n import _l

# What a staff member does with a client's things.
SEE = "see"          # read the client's pages, its documents, threads, invoices; list them in a queue
WORK = "work"        # act on them: decide a document, answer a thread, issue an invoice, record a payment
ROUTE = "route"      # pass a thread or a document to a colleague, with a note
ASSIGN = "assign"    # choose the client's consultant (single or in bulk)
ACTIONS = (SEE, WORK, ROUTE, ASSIGN)

# Who sees every client (and assigns them); below it, a consultant sees only their own.
SEES_ALL_FROM = "supervisor"


def staff_may(role, action, assigned):
    """True when staff of ``role`` may do ``action`` with a client's thing. ``assigned``: the
    client is assigned to them, or the thing (a thread, a document) was passed to them."""
    if role not in STAFF_ROLES or action not in ACTIONS:
        return False
    if staff_role_at_least(role, SEES_ALL_FROM):
        return True
    return assigned and action != ASSIGN


def sees_every_client(role):
    """The role reaches clients nobody assigned to it (no filter in the queries)."""
    return staff_may(role, SEE, assigned=False)


def may_assign(role):
    """The role chooses clients' consultants."""
    return staff_may(role, ASSIGN, assigned=False)


# The queues' filter of whom a row is for: everything one may see, the rows passed to oneself,
# the rows nobody was passed.
EVERYONE, MINE, UNROUTED = "", "mine", "unrouted"
ROUTED_FILTERS = {EVERYONE: _l("Everything I may see"), MINE: _l("Passed to me"),
                  UNROUTED: _l("Not passed to anyone")}

ROUTING_NOTE_MAX = 1000

# The audit log's words for the back office's actions (``rules.audit``).
AUDIT_ACTION_LABELS = {
    "client.consultant_assigned": _l("Consultant of the client changed"),
    "staff.passed_on": _l("Passed to a colleague"),
    # the administrator's pages
    "staff.role_changed": _l("Role of a staff member changed"),
    "staff.deactivated": _l("Staff member deactivated (sessions ended)"),
    "staff.reactivated": _l("Staff member reactivated"),
    "admin.service_switched": _l("Service offered to new applications, or no longer"),
    "admin.document_type_switched": _l("Document type clients may start, or no longer"),
}
AUDIT_DETAILS = {
    "consultant": (_l("Consultant (user number)"), None),
    "passed_to": (_l("Passed to (user number)"), None),
    "staff_member": (_l("Staff member (user number)"), None),
    "enabled": (_l("Switched on"), {True: _l("yes"), False: _l("no")}),
}
