"""A company's users (CMP-5, CMP-6, CMP-11): the main user lists them, changes a colleague's
rights, revokes access, invites colleagues (by e-mail and/or SMS, a single-use link valid seven
days), and reads the company's activity; the invitee accepts the invitation.

Every page of ``/companies/<id>/…`` answers only a live main user of that company (a membership
with ``manage_users``, read from the database on this request); anyone else gets 404, as for a
page that does not exist. Who may do what to whom is ``rules.company``.
"""
from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user

import models
import rules
from blueprints import (audit, clients_only, go_to_page, keyset_page, memberships, render, render_form,
                        see_other, signed_in_user, throttling)
from forms.company import ConfirmForm, InvitationForm, RevokeForm, RightsForm
from models import company as members
from models.accounts import Membership, User
from models.audit import AuditLog
from models.company import Invitation
from models.paging import Keyset
from rules import audit as audit_words, company as R, throttle as budgets
from rules.access import grant_of, reaches

bp = Blueprint("company", __name__)

MEMBERS_ORDER = Keyset(Membership.id)
HISTORY_ORDER = Keyset(AuditLog.id)
HISTORY_PAGE_SIZE = 30
OPEN_INVITATIONS_SHOWN = 100  # at most 30 a day, each pending for a week
INVITATION_SESSION_KEY = "invitation"
# What a new colleague gets unless the main user ticks otherwise (``rules.ROLE_DEFAULT_RIGHTS``).
COLLEAGUE_DEFAULTS = SimpleNamespace(**{k if k == "own_items_only" else f"can_{k}": v
                                        for k, v in rules.ROLE_DEFAULT_RIGHTS[rules.COLLEAGUE].items()})


def managed_company(client_id):
    """The signed-in user's membership of this company when it lets them manage its users;
    otherwise 404 (a colleague, another company, a revoked membership, a private account)."""
    mine = memberships()
    if not reaches([grant_of(m) for m in mine], "manage_users", client_id, None, signed_in_user().id):
        abort(404)
    found = next(m for m in mine if m.client_id == client_id)
    if not found.client.is_legal:
        abort(404)
    return found


def _may(manager, main_users):
    """For the templates: may the manager do ``action`` to ``target`` (``rules.company``)?"""
    me = R.member_of(manager)
    return lambda target, action: R.may(me, R.member_of(target), action, main_users)


def _link(token):
    return url_for("company.open_invitation", token=token)


def _rights_details(form):
    return {"rights": sorted(form.rights), "own_items_only": form.own_items_only}


# --- The users -----------------------------------------------------------------------------------

@bp.route("/companies/<int:client_id>/users")
@clients_only()
def users(client_id):
    """The company's users (with rights, scope and since when) and its open invitations."""
    manager = managed_company(client_id)
    main_users = members.main_user_count(client_id)
    pages = keyset_page(members.company_members(client_id), MEMBERS_ORDER, rules.LIST_PAGE_SIZE)
    invitations = list(Invitation.open_ones(client_id).limit(OPEN_INVITATIONS_SHOWN))
    return render("company/users.html", "company/_users.html", manager=manager, company=manager.client,
                  pages=pages, invitations=invitations, may=_may(manager, main_users))


def _target_or_404(client_id, membership_id):
    target = members.member_of_company(client_id, membership_id)
    if target is None:
        abort(404)
    return target


def _member_page(manager, target, form=None, revoke_form=None, status=None):
    context = {"manager": manager, "company": manager.client, "target": target,
               "may": _may(manager, members.main_user_count(manager.client_id)),
               "form": form or _filled_rights_form(target), "revoke_form": revoke_form or RevokeForm(formdata=None)}
    if status is None:
        return render_form("company/member.html", None, **context)
    return render("company/member.html", None, status, **context)


def _filled_rights_form(target):
    form = RightsForm(formdata=None)
    form.fill_from(target)
    return form


def _refused(refused, form):
    """A rule's refusal: 404 outside the manager's reach, else a message in the form."""
    if refused == R.NOT_FOUND:
        abort(404)
    form.form_errors.append(str(R.REFUSAL_MESSAGES[refused]))


@bp.route("/companies/<int:client_id>/users/<int:membership_id>", methods=["GET", "POST"])
@clients_only()
def member(client_id, membership_id):
    """One user of the company: change a colleague's rights and scope; revoke access; a main
    user may step down to colleague."""
    manager = managed_company(client_id)
    target = _target_or_404(client_id, membership_id)
    if request.method == "GET":
        return _member_page(manager, target)
    form = RightsForm()
    if form.validate_on_submit():
        user = signed_in_user()
        with models.action():
            refused = members.change_rights(manager, target, form.rights, form.own_items_only)
            if not refused:
                audit("company.rights_changed", user=user, client=client_id, member=target.user.email,
                      **_rights_details(form))
        if not refused:
            flash(_("The rights of %(name)s have been saved.", name=target.user.display_name), "success")
            return see_other("company.users", client_id=client_id)
        _refused(refused, form)
        return _member_page(manager, target, form=form, status=422)
    return _member_page(manager, target, form=form)


@bp.route("/companies/<int:client_id>/users/<int:membership_id>/revoke", methods=["POST"])
@clients_only()
def revoke(client_id, membership_id):
    """End the user's access at once (every open session of theirs: memberships are read on
    every request). The last main user cannot go."""
    manager = managed_company(client_id)
    target = _target_or_404(client_id, membership_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _member_page(manager, target, revoke_form=form, status=422)
    user = signed_in_user()
    with models.action():
        refused = members.revoke(manager, target)
        if not refused:
            audit("company.access_revoked", user=user, client=client_id, member=target.user.email)
    if refused:
        _refused(refused, form)
        return _member_page(manager, target, revoke_form=form, status=422)
    flash(_("%(name)s no longer has access to the company.", name=target.user.display_name), "success")
    if target.user_id == user.id:
        return go_to_page(url_for("main.dashboard"))
    return see_other("company.users", client_id=client_id)


@bp.route("/companies/<int:client_id>/users/<int:membership_id>/demote", methods=["POST"])
@clients_only()
def demote(client_id, membership_id):
    """A main user becomes a colleague (keeping every other right); not the last one."""
    manager = managed_company(client_id)
    target = _target_or_404(client_id, membership_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = signed_in_user()
    with models.action():
        refused = members.demote(manager, target)
        if not refused:
            audit("company.main_user_demoted", user=user, client=client_id, member=target.user.email)
    if refused:
        revoke_form = RevokeForm(formdata=None)
        _refused(refused, revoke_form)
        return _member_page(manager, target, revoke_form=revoke_form, status=422)
    flash(_("%(name)s is now a colleague.", name=target.user.display_name), "success")
    if target.user_id == user.id:
        return go_to_page(url_for("main.dashboard"))
    return see_other("company.member", client_id=client_id, membership_id=target.id)


# --- Invitations ----------------------------------------------------------------------------------

def _invitation_or_404(client_id, invitation_id):
    invitation_id = rules.bounded_int(invitation_id)
    found = None if invitation_id is None else Invitation.get_or_none(
        Invitation.id == invitation_id, Invitation.client == client_id)
    if found is None:
        abort(404)
    return found


def _charge_invitation(client_id, targets, user):
    """Count an invitation (new or re-sent) against the company's budget and each target's,
    before anything is written or sent."""
    throttling.charge(budgets.INVITATIONS_PER_COMPANY, f"company:{client_id}", user=user, actor=user.email)
    for target in targets:
        throttling.charge(budgets.INVITATION_MESSAGES_PER_TARGET, target, user=user, actor=user.email)


def _invite_page(manager, form, status=None):
    context = {"manager": manager, "company": manager.client, "form": form}
    if status is None:
        return render_form("company/invite.html", None, **context)
    return render("company/invite.html", None, status, **context)


@bp.route("/companies/<int:client_id>/invitations/new", methods=["GET", "POST"])
@clients_only()
def invite(client_id):
    """Invite a colleague by e-mail and/or SMS with chosen rights. The answer is the same
    whether or not the e-mail or phone already has an account."""
    manager = managed_company(client_id)
    form = InvitationForm()
    form.set_choices(str(get_locale()))
    if request.method == "GET":
        form.phone_region.data = "LV"
        form.language.data = str(get_locale())
        form.fill_from(COLLEAGUE_DEFAULTS)
    if not form.validate_on_submit():
        return _invite_page(manager, form)
    user = signed_in_user()
    email, phone = form.normalised_email, form.normalised_phone
    try:
        _charge_invitation(client_id, [t for t in (email, phone) if t], user)
    except throttling.Throttled as refused:
        form.form_errors.append(_("Too many invitations. Try again in %(n)d minutes.", n=refused.minutes))
        return refused.answer(_invite_page(manager, form, status=429))
    with models.action():
        invitation, _token = Invitation.issue(
            manager.client, user, form.rights, form.own_items_only, email=email, phone=phone,
            full_name=(form.full_name.data or "").strip(), language=form.language.data, link=_link)
        audit("company.invitation_sent", user=user, client=client_id, invitation=invitation.id,
              invited=invitation.recipient, **_rights_details(form))
    flash(_("The invitation has been sent to %(to)s. It is valid for 7 days.", to=invitation.recipient), "success")
    return see_other("company.users", client_id=client_id)


@bp.route("/companies/<int:client_id>/invitations/<int:invitation_id>/resend", methods=["POST"])
@clients_only()
def resend_invitation(client_id, invitation_id):
    """Send the invitation again with a new link (the old one stops working), valid 7 days."""
    managed_company(client_id)
    invitation = _invitation_or_404(client_id, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = signed_in_user()
    try:
        _charge_invitation(client_id, [t for t in (invitation.email, invitation.phone) if t], user)
    except throttling.Throttled as refused:
        flash(_("Too many invitations. Try again in %(n)d minutes.", n=refused.minutes), "error")
        return see_other("company.users", client_id=client_id)
    with models.action():
        token = invitation.resend(user, _link)
        if token:
            audit("company.invitation_resent", user=user, client=client_id, invitation=invitation.id,
                  invited=invitation.recipient)
    if token:
        flash(_("The invitation has been sent again to %(to)s with a new link; the earlier link no longer "
                "works.", to=invitation.recipient), "success")
    else:
        flash(_("This invitation was accepted or cancelled meanwhile."), "error")
    return see_other("company.users", client_id=client_id)


@bp.route("/companies/<int:client_id>/invitations/<int:invitation_id>/cancel", methods=["POST"])
@clients_only()
def cancel_invitation(client_id, invitation_id):
    """Cancel an invitation: its link stops working."""
    managed_company(client_id)
    invitation = _invitation_or_404(client_id, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = signed_in_user()
    with models.action():
        done = invitation.cancel()
        if done:
            audit("company.invitation_cancelled", user=user, client=client_id, invitation=invitation.id,
                  invited=invitation.recipient)
    if done:
        flash(_("The invitation to %(to)s has been cancelled.", to=invitation.recipient), "success")
    else:
        flash(_("This invitation was accepted or cancelled meanwhile."), "error")
    return see_other("company.users", client_id=client_id)


# --- Accepting ------------------------------------------------------------------------------------

@bp.route("/invitations/<token>")
def open_invitation(token):
    """The link in the message: the token moves into this browser's session and the address
    bar (and every later request, and the sign-in's ``next``) goes without it."""
    session[INVITATION_SESSION_KEY] = token[:200]
    return redirect(url_for("company.accept_invitation"), code=303)


DEAD_MESSAGES = {
    members.USED: lambda: _("This invitation has already been used. If you accepted it, the company is "
                            "among your accounts."),
    members.CANCELLED: lambda: _("This invitation has been cancelled. Ask the company's main user for a new one."),
    members.EXPIRED: lambda: _("This invitation has expired (it was valid for 7 days). Ask the company's main "
                               "user to send it again."),
    members.UNKNOWN: lambda: _("This invitation link is not valid. Check that you opened the whole link, or "
                               "ask the company's main user to send it again."),
}
_DEAD_STATES = {R.ACCEPTED: members.USED, R.CANCELLED: members.CANCELLED, R.EXPIRED: members.EXPIRED}


def _dead(reason):
    """The page saying why the invitation cannot be accepted (404 unknown, 410 gone). To a
    boosted form htmx swaps no 4xx answer, so there it is a 200: the words are what count."""
    session.pop(INVITATION_SESSION_KEY, None)
    status = 200 if request.htmx else 404 if reason == members.UNKNOWN else 410
    return render("company/invitation_dead.html", None, status, message=DEAD_MESSAGES[reason]())


@bp.route("/invitations", methods=["GET", "POST"])
def accept_invitation():
    """Accept the invitation this browser opened: signed in, confirm and the company is among
    your accounts at once; signed out, sign in or register first and come back here."""
    invitation = Invitation.find(session.get(INVITATION_SESSION_KEY))
    if invitation is None:
        return _dead(members.UNKNOWN)
    if invitation.status != R.PENDING:
        return _dead(_DEAD_STATES[invitation.status])
    form = ConfirmForm()
    if not current_user.is_authenticated or current_user.is_staff:
        return render("company/accept.html", None, invitation=invitation, form=form,
                      next_url=url_for("company.accept_invitation"))
    if form.validate_on_submit():
        user = signed_in_user()
        with models.action():
            outcome = invitation.accept(user)
            if outcome == members.ACCEPTED:
                audit("company.invitation_accepted", user=user, client=invitation.client_id,
                      invitation=invitation.id, rights=sorted(invitation.rights),
                      own_items_only=invitation.own_items_only)
        if outcome == members.ALREADY_MEMBER:
            session.pop(INVITATION_SESSION_KEY, None)
            flash(_("You already have access to %(company)s.", company=invitation.client.name), "info")
            session["client_id"] = invitation.client_id
            return go_to_page(url_for("main.dashboard"))
        if outcome != members.ACCEPTED:
            return _dead(outcome)
        session.pop(INVITATION_SESSION_KEY, None)
        session["client_id"] = invitation.client_id  # act for the company straight away
        flash(_("You now have access to %(company)s.", company=invitation.client.name), "success")
        return go_to_page(url_for("main.dashboard"))
    return render_form("company/accept.html", None, invitation=invitation, form=form, next_url=None)


# --- Activity -------------------------------------------------------------------------------------

@bp.route("/companies/<int:client_id>/history")
@clients_only()
def history(client_id):
    """Who in the company did what, when (the audit rows about the company by its users, present
    and past), newest first, a page at a time; filterable by person."""
    manager = managed_company(client_id)
    people = list(members.company_people(client_id))
    person = rules.bounded_int(request.args.get("person"))
    if person not in {p.id for p in people}:
        person = None
    query = (AuditLog.select(AuditLog, User).join(User)
             .where(AuditLog.client == client_id,
                    AuditLog.user.in_(Membership.select(Membership.user).where(Membership.client == client_id))))
    if person is not None:
        query = query.where(AuditLog.user == person)
    pages = keyset_page(query, HISTORY_ORDER, HISTORY_PAGE_SIZE)
    return render("company/history.html", "company/_history.html", manager=manager, company=manager.client,
                  pages=pages, people=people, person=person, action_label=audit_words.action_label,
                  describe=audit_words.describe)
