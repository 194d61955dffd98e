"""The back office (issue 15): clients' consultants, passing a thread or a document to a
competent colleague (seed 001 §2), finding a client, and what the client's 360° page lists.

Who reaches what is ``rules.staff`` (put into SQL by ``models.scoping``); the views turn a
refusal into a 404 and write the audit row inside the same ``action()``.
"""
from peewee import fn

import rules
from models.accounts import Client, Membership, User
from models.applications import Application
from models.audit import AuditLog
from models.documents import Document
from models.finance import Invoice
from models.identity import DigitalIdentity, StatedPersonalCode, personal_code_hashes
from models.messages import Thread
from models.notifications import Notification
from models.scoping import staff_clients, staff_scope
from models.services import Service
from rules import identity as identity_rules, onboarding, staff as staff_rules

def colleagues(excluding=None):
    """Active staff who can be chosen as a consultant or be passed a thread: by name."""
    query = (User.select().where(User.staff_role.in_(rules.STAFF_ROLES), User.disabled_at.is_null())
             .order_by(User.full_name, User.email))
    if excluding is not None:
        query = query.where(User.id != excluding.id)
    return query


def consultants():
    """Active consultants (the role a client is assigned to), by name."""
    return colleagues().where(User.staff_role == "consultant")


def assign_consultant(client_ids, consultant, by):
    """Make ``consultant`` (a consultant's User, or None: nobody) the consultant of the clients
    ``client_ids`` that ``by`` reaches; call inside ``models.action()``. Returns the clients whose
    consultant changed ([] when ``by`` may not assign, or ``consultant`` is no active consultant)."""
    if not staff_rules.may_assign(by.staff_role):
        return []
    if consultant is not None and (consultant.staff_role != "consultant" or consultant.disabled_at is not None):
        return []
    target = consultant.id if consultant is not None else None
    changing = list(staff_clients(by).where(Client.id.in_(list(client_ids)))
                    .where(Client.consultant.is_null(False) if target is None else
                           (Client.consultant.is_null() | (Client.consultant != target))))
    if changing:
        Client.update(consultant=target).where(Client.id.in_([c.id for c in changing])).execute()
    return changing


def may_route(by, item):
    """``by`` may pass ``item`` (a Thread or a Document they reached through ``staff_scope``)."""
    assigned = item.client.consultant_id == by.id or item.assigned_to_id == by.id
    return staff_rules.staff_may(by.staff_role, staff_rules.ROUTE, assigned)


def route(item, to, by, note=""):
    """Pass a thread or a document to the colleague ``to`` with a note for them (seed 001 §2:
    the competent colleague answers); call inside ``models.action()``. False when ``by`` may not
    pass it or ``to`` is no active staff member; passing it to whoever has it already is allowed
    (the note is replaced). The colleague gets an e-mail with a link (through the outbox)."""
    if to is None or not to.is_staff or to.disabled_at is not None or not may_route(by, item):
        return False
    model = type(item)
    done = model.update(assigned_to=to.id, assigned_note=note).where(model.id == item.id).execute()
    item.assigned_to, item.assigned_note = to, note
    if done and to.id != by.id and to.notify_email:
        # Only a link: the note and the client's words stay in the staff area.
        Notification.queue("email", to.email, "staff_passed_on", language=to.language, user=to,
                           kind="thread" if model is Thread else "document", item_id=item.id,
                           by_name=by.display_name)
    return bool(done)


def answerer(item):
    """Who answers the client about ``item`` (a Thread or a Document): the colleague it was
    passed to, else the client's consultant; None when neither. The client sees the name."""
    if item.assigned_to_id is not None:
        return item.assigned_to
    consultant_id = item.client.consultant_id
    return User.get_or_none(User.id == consultant_id) if consultant_id else None


def assigned_to_me(user):
    """Threads waiting for an answer and documents waiting for a decision passed to ``user``:
    (threads earliest due first, documents oldest first) as queries."""
    threads = (Thread.select(Thread, Client).join(Client)
               .where(Thread.assigned_to == user.id, Thread.waiting_since.is_null(False))
               .order_by(Thread.due_at, Thread.waiting_since, Thread.id))
    documents = (Document.select(Document, Client).join(Client)
                 .where(Document.assigned_to == user.id, Document.waiting == True)  # noqa: E712
                 .order_by(Document.status, Document.submitted_at, Document.updated_at, Document.id))
    return threads, documents


def find_clients(user, text=""):
    """The clients ``user`` reaches (``staff_clients``) matching ``text``: part of the name or the
    registration number, a user's e-mail (whole or its start), or a personal code (found by its
    keyed hash — codes are never stored in clear). Newest first; no text: all of them."""
    query = staff_clients(user)
    text = (text or "").strip()
    if not text:
        return query
    # LIKE's wildcards are left out of the pattern (a search for "%" is no "everything").
    like = text.replace("\\", "").replace("%", "").replace("_", "")
    conditions = Client.registration_number == text.replace(" ", "")
    if like:
        conditions |= fn.LOWER(Client.name).contains(like.lower())
    if "@" in text and like:
        by_email = (Membership.select(Membership.client).join(User)
                    .where(fn.LOWER(User.email).startswith(like.lower())))
        conditions |= Client.id.in_(by_email)
    code = identity_rules.normalise_personal_code(text, "LV")
    if code is not None:
        hashes = personal_code_hashes(code)
        people = (DigitalIdentity.select(DigitalIdentity.user).where(DigitalIdentity.code_hash.in_(hashes),
                                                                     DigitalIdentity.user.is_null(False))
                  | StatedPersonalCode.select(StatedPersonalCode.user)
                  .where(StatedPersonalCode.code_hash.in_(hashes)))
        conditions |= Client.id.in_(Membership.select(Membership.client).where(Membership.user.in_(people)))
    return query.where(conditions)


SHOWN = 5  # rows of each section of the client's 360° page; the section links to the full list


def client_overview(client, user, shown=SHOWN):
    """What the client's 360° page lists, a few rows of each (``user`` is the staff member: a
    consultant sees only what ``staff_scope`` gives them): users, submitted applications, documents,
    threads, invoices, the services the client holds, and the audit rows about the client."""
    memberships = list(Membership.select(Membership, User).join(User)
                       .where(Membership.client == client.id)
                       .order_by(Membership.revoked_at.is_null(False).desc(), Membership.role, User.full_name))
    documents = list(staff_scope(Document.select(), Document, user).where(Document.client == client.id)
                     .order_by(Document.updated_at.desc(), Document.id.desc()).limit(shown))
    threads = list(staff_scope(Thread.select(), Thread, user).where(Thread.client == client.id)
                   .order_by(Thread.last_message_at.desc(), Thread.id.desc()).limit(shown))
    applications = list(staff_scope(Application.select(), Application, user)
                        .where(Application.client == client.id, Application.status != onboarding.DRAFT)
                        .order_by(Application.id.desc()).limit(shown))
    invoices = list(staff_scope(Invoice.select(), Invoice, user).where(Invoice.client == client.id)
                    .order_by(Invoice.id.desc()).limit(shown))
    services = list(Service.select().where(Service.client == client.id)
                    .order_by(Service.id.desc()).limit(shown))
    history = list(AuditLog.select().where(AuditLog.client == client.id)
                   .order_by(AuditLog.id.desc()).limit(shown))
    consultant = (User.get_or_none(User.id == client.consultant_id) if client.consultant_id else None)
    return {"memberships": memberships, "documents": documents, "threads": threads, "invoices": invoices,
            "applications": applications, "services": services, "history": history, "consultant": consultant}


def users_by_id(ids):
    """{user id: User} of the staff named on a page (consultants, whom rows were passed to): one
    query for the page instead of one per row."""
    ids = {i for i in ids if i}
    return {u.id: u for u in User.select().where(User.id.in_(list(ids)))} if ids else {}


def consultant_names(clients):
    """{client id: the consultant's User} for a page of clients, in one query."""
    found = users_by_id(c.consultant_id for c in clients)
    return {c.id: found.get(c.consultant_id) for c in clients if c.consultant_id}


def passed_to(rows):
    """{row id: the User a thread or document of a queue's page was passed to}, in one query."""
    found = users_by_id(r.assigned_to_id for r in rows)
    return {r.id: found.get(r.assigned_to_id) for r in rows if r.assigned_to_id}

