"""Landing page, dashboard, account switch, language, legal documents, health."""
from flask import Blueprint, abort, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

import models
import rules
import tasks
from blueprints import (HEADER_PARTS, acting_membership, main_user, memberships, render, safe_next, scoped,
                        see_other, signed_in_user, withheld_memberships)
from blueprints.auth import previous_login
from blueprints.messages import unread_total
from models import dashboard as summaries
from models.applications import Application, latest_of
from models.decisions import decisions_of
from models.documents import Document
from models.finance import Invoice, summary as finance_summary
from models.messages import Thread
from models.services import Service, summary as services_summary
from rules import access, documents as R
from rules.calendar import to_local


bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """New visitors choose: register, or sign in as an existing client."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("main/index.html")


@bp.route("/dashboard")
@login_required
def dashboard():
    """What to do next: first what waits for the person (documents to correct, continue, agree
    to or sign; unread replies), then what waits for us and when it is due, then the accounts
    (CMP-1) and contact details. Staff: their queues in numbers. Counts and a few newest rows
    of what the acting account's rights show (``models.dashboard``), whatever the row count."""
    user = signed_in_user()
    active = acting_membership()
    context = {"memberships": memberships(), "active": active, "previous_login": previous_login(),
               "account_groups": access.grouped_accounts(memberships()),
               "ACCOUNT_GROUP_TITLES": access.ACCOUNT_GROUP_TITLES,
               "withheld": withheld_memberships(),
               "documents": None, "threads": None, "finance": None, "services": None, "staff": None,
               "now": models.utcnow(), "R": R}
    if user.is_staff:
        context["staff"] = summaries.staff(user, now=context["now"])
    elif active is not None:
        if active.allows("documents"):
            context["documents"] = summaries.documents(scoped(Document, "documents", client_id=active.client_id))
        if active.allows("services"):
            application = latest_of(scoped(Application, "services", client_id=active.client_id))
            context["application"] = application
            context["show_application"] = True
            context["services"] = services_summary(scoped(Service, "services", client_id=active.client_id),
                                                   to_local(context["now"]).date())
            if application is not None:  # the stages and decisions read here, not by the template
                application.progress_now  # noqa: B018
                context["decisions"] = decisions_of(application)
        if active.allows("messages"):
            context["threads"] = summaries.threads(user, scoped(Thread, "messages", client_id=active.client_id),
                                                   now=context["now"], unread_total=unread_total(active))
        if active.allows("finance"):
            context["finance"] = finance_summary(scoped(Invoice, "finance", client_id=active.client_id),
                                                 to_local(context["now"]).date())
    context.update(main_user.dashboard_context())  # main-user rights: what happens next, the register
    return render("main/dashboard.html", **context)


def _acting_account():
    """The header names the account the person acts for now (EID-4; switching is on the
    dashboard). The messages link has read the memberships already: no query of its own."""
    if not current_user or not current_user.is_authenticated or current_user.is_staff:
        return {"acting_account": None}
    return {"acting_account": acting_membership()}


HEADER_PARTS.append(_acting_account)


@bp.route("/accounts/<int:client_id>", methods=["POST"])
@login_required
def switch_account(client_id):
    """Act for another client the user has a membership with (else 404)."""
    membership = models.active_membership(current_user, client_id)
    if membership is None:
        abort(404)
    session["client_id"] = membership.client_id
    return see_other("main.dashboard")


@bp.route("/language", methods=["POST"])
def language():
    """Switch the interface language (a form, so it works without JavaScript)."""
    lang = request.form.get("lang")
    if lang in rules.LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next("main.index"), code=303)


@bp.route("/legal/<document>")
def legal(document):
    """The privacy notice and the terms a registrant accepts (versioned)."""
    if document not in rules.LEGAL_DOCUMENTS:
        abort(404)
    return render_template(f"legal/{document}.html", document=rules.LEGAL_DOCUMENTS[document])


@bp.route("/health")
def health():
    """For load balancers and monitoring: do the database and Redis answer? 200, or 503
    naming what is down. Answers without either: no visitor is looked up (portal.VISITOR_FREE),
    the database connection is opened here and closed after the request."""
    checks = {"database": False, "redis": tasks.redis_ok()}
    try:
        models.db.execute_sql("SELECT 1")
        checks["database"] = True
    except Exception:  # report, don't raise: this endpoint exists to say what is down
        pass
    down = [name for name, ok in checks.items() if not ok]
    body = {"status": "unavailable" if down else "ok", "down": down, **checks}
    return jsonify(body), 503 if down else 200
