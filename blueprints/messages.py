"""Messages (MSG-1, MSG-6…MSG-8, MSG-11): threads between a client and the institution.

Clients see the threads of the account they act for (permission "messages";
own-items-only colleagues only the threads they started); staff work from a
queue ordered by due time. Every thread is reached through ``models.get_scoped``,
so a thread outside answers 404.

Polling. An open thread asks ``/messages/<id>/poll?after=<last id shown>&t=<token>``
every few seconds. ``PollGate``, a WSGI layer in front of the Flask app, answers it
before Flask's request, session and login machinery and before the database: the
token (an HMAC over user id, session version, thread id and the time the database was
last asked for the thread's messages) must match the signed session cookie, that time
must be recent (``rules.polling.pointer_trusted``), the session must be within its
timeouts, and Redis's pointer to the thread's newest message must be no newer than
``after``: then 204, with no SQL, no connection and no access-log line
(``gunicorn.conf.py``). In every other case the request goes the normal way (session
checks, Flask-Login, ``get_scoped``), which answers 404 for a thread the user may not
see, and otherwise the new messages plus a fresh poller (a new ``after`` and token) — or,
when nothing is new, 204 while the token is recent and a fresh poller when it is
not. So Redis is trusted for a bounded time only: a pointer that went back (Redis
restored from an older snapshot) cannot hide a message beyond that.
"""
import base64
import hashlib
import hmac
import re
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from itsdangerous import BadSignature
from peewee import IntegrityError
from werkzeug.http import parse_cookie

import models
import rules
import uploads
from blueprints import (HEADER_PARTS, acting_membership, audit, clients_only, get_scoped, get_scoped_or_404,
                        keyset_page, page_of, poll as poll_view, render, render_form, scoped, see_other,
                        signed_in_user, staff_required, uploading)
from blueprints import queues, routing
from models import staff as backoffice
from blueprints.queues import queue_count, register_queue
from forms.messages import ComposeForm, DelayForm, RatingForm, ReplyForm
from forms.staff import RouteForm
from models.messages import (ABOUT_KINDS, CLIENT, MESSAGE_ORDER, RATING_ORDER, STAFF, THREAD_ORDER, Message,
                             MessageAttachment, Thread, ThreadRating, cached_last_message, kept_unread_total,
                             publish_last_message, publish_new_message, rating_summary, refill_last_message,
                             unread_counts, waiting_count, waiting_queue)
from models.scoping import staff_scope
from rules import calendar, staff as staff_rules
from rules.uploads import SEED_004
from rules.keys import same
from rules.polling import pointer_trusted
from rules.sanitize import plain_text_to_html

bp = Blueprint("messages", __name__)

POLL_BATCH = 50
ATTACHMENT_POLICY = SEED_004


# --- The poll token and the idle poll's gate ---------------------------------------------------

def _poll_key(app=None):
    return (app or current_app).extensions["keys"].key("message-poll")


def _now():
    """Unix seconds: when the database was asked (the tests move it on)."""
    return int(time.time())


def poll_token(user_id, session_version, thread_id, checked_at, key=None):
    """Binds a poll URL to one user, one session version and one thread, and carries
    when the database was last asked for the thread's messages (``checked_at``)."""
    message = f"{int(user_id)}:{int(session_version)}:{int(thread_id)}:{int(checked_at)}".encode()
    digest = hmac.new(key or _poll_key(), message, hashlib.sha256).digest()[:18]
    return f"{int(checked_at)}.{base64.urlsafe_b64encode(digest).decode()}"


def _checked_at(token, user_id, session_version, thread_id, key=None):
    """When the database was last asked, from a token made for this user, session and
    thread; None for any other token."""
    stamp = token.partition(".")[0]
    if not stamp.isdigit() or len(stamp) > 12:
        return None
    checked_at = int(stamp)
    expected = poll_token(user_id, session_version, thread_id, checked_at, key)
    return checked_at if same(token, expected) else None


def _session_user(data):
    """(user id, session version) from the session's data, or None."""
    try:
        user_id, version = (int(x) for x in str(data.get("_user_id", "")).split(":"))
    except ValueError:
        return None
    return user_id, version


def _session_expired(data):
    now = datetime.now(timezone.utc).timestamp()
    return (now - data.get("login_at", 0) > rules.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
            or now - data.get("seen_at", 0) > rules.SESSION_IDLE_TIMEOUT.total_seconds())


def _reload_page():
    """Tell htmx to reload the page (which then shows sign-in, or the 404)."""
    response = make_response("", 204)
    response.headers["HX-Refresh"] = "true"
    return response


POLL_PATH = re.compile(r"/messages/([0-9]{1,10})/poll\Z")
QUIET = "kabinets.quiet"  # set in the WSGI environ: gunicorn.conf.py writes no access-log line


class PollGate:
    """WSGI layer in front of the Flask app that answers an idle thread poll from the signed
    session cookie and Redis alone: no request context, no session object, no user, no
    database, no access-log line. It answers only when it is sure:

    - a GET of ``/messages/<id>/poll`` sent by htmx, with a session cookie that Flask's own
      serializer accepts (the app's secret, its salt, its lifetime);
    - the session within its idle and absolute timeouts (else 204 with ``HX-Refresh``: the
      reloaded page ends the session and asks to sign in, as before);
    - a token (``t``) that is the HMAC of this user, this session version, this thread and
      the time the database was last asked, that time within POINTER_TRUST_SECONDS;
    - Redis's pointer to the thread's newest message no newer than ``after``.

    Then 204 with the headers every answer carries (``headers()``); in every other case the
    request goes on to Flask, whose poll view asks the database (and answers 404 for a
    thread the user may not see)."""

    def __init__(self, app, wsgi_app, headers):
        self.app = app
        self.wsgi_app = wsgi_app
        self.headers = headers
        self._serializer = (None, None)

    def __call__(self, environ, start_response):
        answer = self.answer(environ)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, extra = answer
        if not extra:
            environ[QUIET] = True  # an idle poll every few seconds: no access-log line
        start_response(status, [*self.headers(), *extra])
        return [b""]

    def session_data(self, environ):
        """The session as Flask would open it, or None (no cookie, or not one Flask accepts)."""
        app = self.app
        value = parse_cookie(environ).get(app.config["SESSION_COOKIE_NAME"])
        if not value:
            return None
        secrets_now = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._serializer[0] != secrets_now:
            self._serializer = (secrets_now, app.session_interface.get_signing_serializer(app))
        try:
            data = self._serializer[1].loads(value, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def answer(self, environ):
        """(status, extra headers) for an idle poll or an ended session, else None."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_HX_REQUEST") != "true":
            return None
        match = POLL_PATH.match(environ.get("PATH_INFO", ""))
        if match is None or int(match.group(1)) > rules.MAX_ID:
            return None
        data = self.session_data(environ)
        identity = data and _session_user(data)
        if not identity:
            return None
        if _session_expired(data):
            return "204 No Content", [("HX-Refresh", "true")]
        thread_id = int(match.group(1))
        args = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        token = args.get("t", [""])[0]
        checked_at = _checked_at(token, *identity, thread_id, _poll_key(self.app))
        if checked_at is None or not pointer_trusted(checked_at, _now()):
            return None  # the database was not asked recently: the normal way asks it
        after = rules.bounded_int(args.get("after", [None])[0])
        if after is None:
            return None
        domain = self.app.extensions["domain"]
        last = cached_last_message(thread_id, domain["redis"], domain["namespace"], data.get("sid"))
        if last is None or last > after:
            return None
        return "204 No Content", []


# --- Who sees what ------------------------------------------------------------------------------

def _thread_or_404(thread_id):
    return get_scoped_or_404(Thread, thread_id, "messages")


def _client_threads(membership):
    return (scoped(Thread, "messages", client_id=membership.client_id)
            .order_by(Thread.last_message_at.desc(), Thread.id.desc()))


@bp.app_template_filter("message_html")
def _message_html(text):
    return plain_text_to_html(text)


@bp.app_context_processor
def _attachment_policy():
    return {"attachment_policy": ATTACHMENT_POLICY}


def _messages_link():
    """The header's messages link: (url, unread count), or None without a messages area."""
    if not current_user or not current_user.is_authenticated:
        return {"messages_link": None}
    user = signed_in_user()
    if user.is_staff:
        return {"messages_link": (url_for("messages.staff_queue"), queue_count("messages"))}
    membership = acting_membership()
    if membership is None or not membership.allows("messages"):
        return {"messages_link": None}
    return {"messages_link": (url_for("messages.index"), unread_total(membership))}


def unread_total(membership):
    """Unread messages for the signed-in user in the account's threads (the header's count,
    kept in Redis while nothing it counts changed: ``kept_unread_total``)."""
    return kept_unread_total(signed_in_user(), membership.client_id, lambda: _client_threads(membership),
                             variant="own" if membership.own_items_only else "all")


HEADER_PARTS.append(_messages_link)
register_queue("messages", _l("Messages waiting"), waiting_count, "messages.staff_queue")


# --- Rendering helpers ------------------------------------------------------------------------

def _poller(thread, after):
    user = signed_in_user()
    token = poll_token(user.id, user.session_version, thread.id, _now())
    return {"thread_id": thread.id, "seconds": rules.THREAD_POLL_SECONDS,
            "url": url_for("messages.poll", thread_id=thread.id, after=after, t=token)}


def _thread_context(thread):
    """Everything a thread page shows: a page of messages, oldest at the top (the newest
    page unless ``?before=`` / ``?after=`` names an earlier one). The newest page polls for
    news, and marks the thread read and refreshes the Redis pointer; earlier ones do not."""
    pages = keyset_page(thread.messages_with_authors(), MESSAGE_ORDER, rules.THREAD_PAGE_SIZE)
    messages = pages["rows"][::-1]
    poller = None
    if pages["newest"] is None:
        last = messages[-1].id if messages else 0
        if last:
            thread.mark_read(signed_in_user(), last)
            publish_last_message(thread.id, last)
        poller = _poller(thread, last)
    return {"thread": thread, "messages": messages, "attachments": _attachments_of(messages),
            "pages": pages, "poller": poller, "now": models.utcnow()}


def _earlier(context):
    """The fragment that answers htmx's "Show earlier messages": the older messages and the
    next such control, in place of the control (on a page by itself without JavaScript)."""
    return "messages/_earlier.html" if "before" in context["pages"]["args"] else None


def _attachments_of(messages):
    """{message id: [MessageAttachment with its file]} for the messages shown."""
    if not messages:
        return {}
    rows = (MessageAttachment.select(MessageAttachment, models.StoredFile).join(models.StoredFile)
            .where(MessageAttachment.message.in_([m.id for m in messages])).order_by(MessageAttachment.id))
    found = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row)
    return found


def _summary(body, length=60):
    """A subject from the first line of the text, when the client gave none."""
    line = body.strip().splitlines()[0] if body.strip() else ""
    return line if len(line) <= length else line[:length - 1].rstrip() + "…"


def _store_attachments(form, user, client):
    """Keep the uploaded files, all or none (call inside ``uploads.atomic()``).

    Returns the StoredFile rows, or None when a file was refused: the reasons
    are then errors of the form's file field."""
    files = [f for f in (form.files.data or []) if getattr(f, "filename", "")]
    if not files:
        return []
    try:
        return uploads.store_files(files, ATTACHMENT_POLICY, user, client)
    except uploads.UploadRefused as refusal:
        form.files.errors = list(form.files.errors or []) + refusal.messages
        return None


def _send_once(form, user, write):
    """Store the message of a sent form once, however often the form is sent.

    ``write()`` stores the message (and its files, notifications, audit row) and returns
    it, or None when a file was refused; it runs inside ``uploads.atomic()``. Returns the
    message, or None. When this form's message exists already ("Nosūtīt" pressed twice,
    the request sent again) that one is returned, as if just sent, and nothing is stored."""
    earlier = Message.sent_with(form.nonce.data, user)
    if earlier is not None:
        return earlier
    try:
        with uploads.atomic():
            message = write()
    except IntegrityError:
        earlier = Message.sent_with(form.nonce.data, user)  # the second click raced the first
        if earlier is None:
            raise
        return earlier
    if message is not None:
        _after_message(message)
    return message


def _after_message(message):
    """After the commit: tell pollers and the headers' unread counts (the e-mails went to the
    job queue with the commit)."""
    publish_new_message(message.thread, message.id)


def _about(kind, about_id, membership=None):
    """What a new thread is about: ("application" | "document", id) or (None, None).

    A document must be one the user may see in the account they write from;
    applications have no table yet, so only their id's form is checked."""
    if kind not in ABOUT_KINDS:
        return None, None
    about_id = rules.bounded_int(about_id, low=1)
    if about_id is None:
        return None, None
    if kind == "document" and membership is not None:
        try:
            from models.documents import Document
        except ImportError:  # the documents area is not there: keep the reference unchecked
            return kind, about_id
        document = get_scoped(Document, about_id, "documents")
        if document is None or document.client_id != membership.client_id:
            return None, None
    return kind, about_id


# --- Client pages -----------------------------------------------------------------------------

@bp.route("/messages")
@clients_only("messages.staff_queue")
def index():
    """The threads of the account the user acts for, newest first, a page at a time (by the
    last message's time and the id), with unread counts."""
    user = signed_in_user()
    membership = acting_membership()
    allowed = membership is not None and membership.allows("messages")
    pages = keyset_page(_client_threads(membership), THREAD_ORDER, rules.LIST_PAGE_SIZE) if allowed else None
    threads = pages["rows"] if allowed else []
    unread = unread_counts(user, [t.id for t in threads])
    return render("messages/index.html", "messages/_threads.html", threads=threads, unread=unread, pages=pages,
                  membership=membership, allowed=allowed)


@bp.route("/messages/new", methods=["GET", "POST"])
@clients_only()
@uploading.accepts_uploads(ATTACHMENT_POLICY)
def new():
    """"Uzrakstīt ziņojumu": text, files, "Nosūtīt"."""
    user = signed_in_user()
    membership = acting_membership("messages")
    form = ComposeForm()
    if request.method == "GET":
        form.about_kind.data, form.about_id.data = _about(request.args.get("about"),
                                                          request.args.get("id"))
    if form.validate_on_submit():
        about_kind, about_id = _about(form.about_kind.data, form.about_id.data, membership)
        body = form.body.data.strip()

        def write():
            stored = _store_attachments(form, user, membership.client)
            if stored is None:
                return None
            thread = Thread.create(client=membership.client_id, created_by=user,
                                   subject=(form.subject.data or "").strip() or _summary(body),
                                   about_kind=about_kind, about_id=about_id)
            return thread.add_message(CLIENT, author=user, body=body, files=stored, nonce=form.nonce.data)

        message = _send_once(form, user, write)
        if message is not None:
            flash(_("Your message has been sent."), "success")
            return see_other("messages.thread", thread_id=message.thread_id)
    return render_form("messages/new.html", "messages/_compose_form.html", form=form,
                       membership=membership)


@bp.route("/messages/<int:thread_id>", methods=["GET", "POST"])
@clients_only("messages.staff_thread")
@uploading.accepts_uploads(ATTACHMENT_POLICY)
def thread(thread_id):
    """One thread: its latest messages (earlier ones in place or on their own page), the reply
    form, the rating once answered; polls for news."""
    user = signed_in_user()
    thread = _thread_or_404(thread_id)
    form = ReplyForm()
    if form.validate_on_submit():
        def write():
            stored = _store_attachments(form, user, thread.client)
            if stored is None:
                return None
            return thread.add_message(CLIENT, author=user, body=form.body.data.strip(), files=stored,
                                      nonce=form.nonce.data)

        if _send_once(form, user, write) is not None:
            flash(_("Your message has been sent."), "success")
            return see_other("messages.thread", thread_id=thread.id)
    rating = ThreadRating.get_or_none(ThreadRating.thread == thread)
    context = _thread_context(thread)
    return render_form("messages/thread.html", _earlier(context), form=form, rating=rating,
                       rating_form=RatingForm(formdata=None), answerer=backoffice.answerer(thread), **context)


@bp.route("/messages/<int:thread_id>/poll")
@poll_view
def poll(thread_id):
    """New messages after ``after`` (only for HTMX); 204 when there are none (see the module doc)."""
    if not current_user.is_authenticated:
        return _reload_page()
    thread = get_scoped(Thread, thread_id, "messages")
    if thread is None:
        response = make_response(render_template("errors/error.html", code=404, title=_("Page not found"),
                                                 message=_("The page does not exist or you have no "
                                                           "access to it.")), 404)
        if request.htmx:
            response.headers["HX-Refresh"] = "true"
        return response
    if not request.htmx:
        return redirect(url_for("messages.thread", thread_id=thread.id))
    after = rules.bounded_int(request.args.get("after"), default=0)
    messages = list(thread.messages_after(after, limit=POLL_BATCH))
    refill_last_message(thread.id, thread.latest_message_id())  # Redis lost it, went back, or ran ahead
    user = signed_in_user()
    checked_at = _checked_at(request.args.get("t", ""), user.id, user.session_version, thread.id)
    if not messages and checked_at is not None and pointer_trusted(checked_at, _now()):
        return "", 204
    # New messages, a token not for this session, or one whose trust ran out: a fresh poller.
    shown = messages[-1].id if messages else after
    if messages:
        thread.mark_read(user, shown)
    client_view = not user.is_staff
    return render_template("messages/_poll.html", thread=thread, messages=messages,
                           attachments=_attachments_of(messages), poller=_poller(thread, shown),
                           oob=True, client_view=client_view,
                           rating=ThreadRating.get_or_none(ThreadRating.thread == thread) if client_view else None,
                           rating_form=RatingForm(formdata=None))


@bp.route("/messages/<int:thread_id>/rating", methods=["POST"])
@login_required
def rate(thread_id):
    """The client rates how the thread was handled, once it has an answer (MSG-11)."""
    user = signed_in_user()
    thread = _thread_or_404(thread_id)
    if user.is_staff or thread.answered_at is None:
        abort(404)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            with models.action():
                ThreadRating.create(thread=thread, user=user, score=form.score.data,
                                    comment=(form.comment.data or "").strip())
            flash(_("Thank you for your feedback."), "success")
        except IntegrityError:
            flash(_("This conversation has already been rated."), "info")
        return see_other("messages.thread", thread_id=thread.id)
    context = _thread_context(thread)
    return render("messages/thread.html", None, 422, form=ReplyForm(formdata=None), rating=None,
                  rating_form=form, **context)


@bp.route("/messages/<int:thread_id>/files/<int:attachment_id>")
@login_required
def attachment(thread_id, attachment_id):
    """Download an attachment of a thread the user may see (staff downloads are audited)."""
    thread = _thread_or_404(thread_id)
    row = (MessageAttachment.select(MessageAttachment, models.StoredFile)
           .join(models.StoredFile).switch(MessageAttachment).join(Message)
           .where(MessageAttachment.id == attachment_id, Message.thread == thread).first())
    if row is None:
        abort(404)
    user = signed_in_user()
    if user.is_staff:
        with models.action():
            audit("message.attachment_downloaded", user=user, client=thread.client_id, thread=thread.id,
                  file=row.file_id)
    return uploading.send_stored(row.file)


# --- Staff ------------------------------------------------------------------------------------

@bp.route("/staff/messages")
@staff_required()
def staff_queue():
    """Threads waiting for an answer, earliest due first (so overdue ones lead), by numbered
    page (``?page=``: a due time can move, so no key pages it); then the answered ones,
    newest first, by key (``?before=`` / ``?after=``). A consultant sees their clients' threads and
    those passed to them (``models.scoping.staff_scope``)."""
    now, user = models.utcnow(), signed_in_user()
    routed, client_id = queues.routed_filter(), queues.client_filter()
    overdue = request.args.get("overdue") == "1"
    waiting = queues.filtered(staff_scope(waiting_queue(), Thread, user), Thread, routed, client_id)
    if overdue:
        waiting = waiting.where(Thread.due_at < now)
    waiting = page_of(waiting, rules.QUEUE_PAGE_SIZE)
    others = (staff_scope(Thread.select(Thread, models.Client).join(models.Client), Thread, user)
              .where(Thread.waiting_since.is_null()))
    pages = keyset_page(others, THREAD_ORDER, rules.QUEUE_PAGE_SIZE)
    return render("messages/staff_queue.html", waiting=waiting, pages=pages, now=now, routed=routed,
                  passed_to=backoffice.passed_to(waiting["rows"]),
                  client_id=client_id, overdue=overdue, ROUTED_FILTERS=staff_rules.ROUTED_FILTERS)


def _client_language(thread):
    starter = thread.created_by
    return starter.language if starter is not None and starter.language in rules.LANGUAGES else "lv"


def _staff_page(thread, form=None, delay_form=None, pass_form=None):
    """The staff thread page; 422 when the reply, the delay or the passing form failed."""
    failed = request.method == "POST" and any(f is not None and f.errors for f in (form, delay_form, pass_form))
    if delay_form is None:
        delay_form = DelayForm(formdata=None)
        with force_locale(_client_language(thread)):
            delay_form.reason.data = _("the question needs to be checked by the colleague responsible "
                                       "for it.")
    context = _thread_context(thread)
    return render("messages/staff_thread.html", _earlier(context), 422 if failed else 200,
                  form=form or ReplyForm(formdata=None), delay_form=delay_form,
                  route_form=routing.route_form(thread, pass_form),
                  rating=ThreadRating.get_or_none(ThreadRating.thread == thread), **context)


@bp.route("/staff/messages/<int:thread_id>", methods=["GET", "POST"])
@staff_required()
@uploading.accepts_uploads(ATTACHMENT_POLICY)
def staff_thread(thread_id):
    """A thread as staff see it: the client, the due time, reply, or explain a delay."""
    user = signed_in_user()
    thread = _thread_or_404(thread_id)
    form = ReplyForm()
    if form.validate_on_submit():
        def write():
            stored = _store_attachments(form, user, thread.client)
            if stored is None:
                return None
            message = thread.add_message(STAFF, author=user, body=form.body.data.strip(), files=stored,
                                         nonce=form.nonce.data)
            thread.queue_reply_notifications()
            audit("message.staff_reply", user=user, thread=thread.id, message=message.id)
            return message

        if _send_once(form, user, write) is not None:
            flash(_("Your reply has been sent."), "success")
            return see_other("messages.staff_thread", thread_id=thread.id)
    return _staff_page(thread, form=form)


@bp.route("/staff/messages/<int:thread_id>/delay", methods=["POST"])
@staff_required()
def staff_delay(thread_id):
    """Explain why the answer takes longer, from a template in the client's language."""
    user = signed_in_user()
    thread = _thread_or_404(thread_id)
    form = DelayForm()
    if form.validate_on_submit():
        now = models.utcnow()
        new_due = calendar.delayed_answer_due(now, form.days.data)
        with force_locale(_client_language(thread)):
            body = _("Thank you for your patience. We need more time to answer your message: "
                     "%(reason)s We will answer by %(when)s.",
                     reason=form.reason.data.strip(),
                     when=calendar.to_local(new_due).strftime("%d.%m.%Y %H:%M"))
        with models.action():
            message = thread.explain_delay(user, body, new_due, now=now)
            thread.queue_reply_notifications()
            audit("message.delay_explained", user=user, thread=thread.id, message=message.id)
        _after_message(message)
        flash(_("The delay has been explained to the client."), "success")
        return see_other("messages.staff_thread", thread_id=thread.id)
    return _staff_page(thread, delay_form=form)


@bp.route("/staff/messages/<int:thread_id>/pass", methods=["POST"])
@staff_required()
def staff_pass(thread_id):
    """Pass the thread to a competent colleague with a note (seed 001 §2; ``blueprints.routing``)."""
    thread = _thread_or_404(thread_id)
    form = RouteForm()
    if routing.route_form(thread) is None:
        abort(404)
    if routing.pass_on(thread, form):
        return see_other("messages.staff_thread", thread_id=thread.id)
    return _staff_page(thread, pass_form=form)


@bp.route("/staff/messages/ratings")
@staff_required("supervisor")
def ratings():
    """Clients' ratings of how their threads were handled, newest first, a page at a time
    by key (supervisors); the average over all of them."""
    query = ThreadRating.select(ThreadRating, Thread, models.Client).join(Thread).join(models.Client)
    average, count = rating_summary()
    pages = keyset_page(query, RATING_ORDER, rules.LIST_PAGE_SIZE)
    return render("messages/ratings.html", pages=pages, average=average, count=count)
