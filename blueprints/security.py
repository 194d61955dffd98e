"""Account security in the settings (issue 12): "Your sessions" — every signed-in session of the
person, each of which (or all others at once) can be ended — and the second factor for password
sign-in (TOTP with recovery codes)."""
from flask import Blueprint, abort, flash, session
from flask_babel import gettext as _
from flask_login import login_required

import models
from blueprints import audit, render, see_other, signed_in_user
from blueprints.auth import logout
from models.messages import forget_polls_of
from rules import sessions as R

bp = Blueprint("security", __name__, url_prefix="/settings")


@bp.route("/sessions")
@login_required
def sessions():
    """Every session of the person that may still go on: device and browser, the network it
    signed in from, when, when last seen, how; this one marked."""
    user = signed_in_user()
    rows = list(models.UserSession.live_of(user, models.utcnow()))
    listed = [{"row": row, "device": R.describe_user_agent(row.user_agent),
               "current": row.session_id == session.get("sid")} for row in rows]
    listed.sort(key=lambda item: not item["current"])  # this session first
    return render("settings/sessions.html", "settings/_sessions.html", sessions=listed,
                  others=any(not item["current"] for item in listed))


@bp.route("/sessions/<int:row_id>/end", methods=["POST"])
@login_required
def end_session(row_id):
    """End one session: from its next request it is signed out (and its message poll stops).
    Ending this session is signing out here; another person's session is not found (404)."""
    user = signed_in_user()
    found = models.UserSession.get_or_none(models.UserSession.id == row_id, models.UserSession.user == user)
    if found is None:
        abort(404)
    if found.session_id == session.get("sid"):
        return logout()
    with models.action():
        ended = models.UserSession.end(user, row_id, models.utcnow())
        if ended:
            audit("session.ended", user=user, session=row_id)
    if ended:
        forget_polls_of(ended)
    flash(_("The session has been ended."), "success")
    return see_other("security.sessions")


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """End every session but this one."""
    user = signed_in_user()
    with models.action():
        ended = models.UserSession.end_others(user, session.get("sid"), models.utcnow())
        audit("session.ended_others", user=user, count=len(ended))
    for session_id in ended:
        forget_polls_of(session_id)
    flash(_("Every other session has been ended."), "success")
    return see_other("security.sessions")
