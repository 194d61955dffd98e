"""Trusted e-identity sign-in over OpenID Connect (issue 12; EID-1…EID-3, EID-5): the portal is the
relying party of the brokers ``EID_PROVIDERS`` names (and, in development, of the development broker).

The flow is Authlib's Flask client: authorization code with PKCE (S256), ``state`` and ``nonce``
kept in the session and checked, the ID token's signature checked against the broker's JWKS and
its ``iss`` (the configured issuer, which the discovery document must name too), ``aud`` (our
client id), ``exp`` and ``iat`` (``rules.identity.CLOCK_LEEWAY_SECONDS``). ``acr`` and ``amr``
are recorded. The personal code the token carries finds the digital identity
(``models.identity``); a linked one signs its account in through ``auth.start_session``, the
same session as a password sign-in (sign-out here or everywhere, the timeouts). Any failure is
a page that says what happened with a way back, and an ``eid.failed`` audit row; nobody is
signed in by a failed flow.
"""
import time

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from joserfc.errors import JoseError

import models
import rules
from adapters.identity import DevBroker, Provider, providers_from_config
from blueprints import audit, render, render_form, safe_next, see_other, signed_in_user, stepup, throttling
from blueprints.auth import start_session
from blueprints.company import DEAD_MESSAGES, INVITATION_SESSION_KEY
from forms.auth import LoginForm
from forms.company import ConfirmForm
from forms.eid import ChooseAccountForm, InvitationCodeForm
from models import company as members, demo
from rules import company as company_rules, identity as eid
from rules.sessions import EID as EID_SIGN_IN
from rules import throttle as budgets

bp = Blueprint("eid", __name__, url_prefix="/eid")

DEV_PROVIDER = "dev"
HTTP_TIMEOUT_SECONDS = 10  # for each request to a broker (discovery, token, JWKS)
METADATA_LIFETIME_SECONDS = 3600  # the discovery document and JWKS are read again after this


class IssuerMismatch(Exception):
    """The discovery document names another issuer than the one configured."""


def init_app(app):
    """Register the configured providers (and the development broker when asked for) with a
    fresh Authlib registry of this app: ``app.extensions["eid_providers"]``."""
    import os
    app.register_blueprint(bp)
    app.register_blueprint(stepup.bp)
    production = app.config["PORTAL_ENV"] == "production"
    providers = providers_from_config(app.config.get("EID_PROVIDERS") or "", os.environ, production)
    base = app.config["BASE_URL"].rstrip("/")
    if app.config.get("EID_DEV_BROKER"):
        from blueprints import dev_broker
        keys = app.extensions["keys"]
        issuer = base + "/dev/eid"
        secret = keys.mac("dev-broker-client", "kabinets-dev")
        callback = base + app.url_map.bind("").build("eid.callback", {"provider": DEV_PROVIDER})
        app.extensions["dev_broker"] = DevBroker(
            issuer, keys, {"kabinets-dev": {"secret": secret, "redirect_uris": [callback]}}, demo.PERSONS)
        providers.append(Provider(name=DEV_PROVIDER, title=_l("Development identity broker"), issuer=issuer,
                                  client_id="kabinets-dev", client_secret=secret, scopes="openid profile",
                                  development_only=True))
        app.register_blueprint(dev_broker.bp)
        from blueprints.extensions import csrf
        csrf.exempt(dev_broker.bp)
    registry = OAuth(app)
    for provider in providers:
        registry.register(provider.name, client_id=provider.client_id, client_secret=provider.client_secret,
                          server_metadata_url=provider.metadata_url,
                          client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256",
                                         "default_timeout": HTTP_TIMEOUT_SECONDS})
    app.extensions["eid_providers"] = {p.name: p for p in providers}
    app.extensions["eid_oauth"] = registry

    @app.context_processor
    def _eid_providers():
        # Configuration, not a query: the sign-in page's buttons (templates/eid/_buttons.html).
        return {"eid_providers": list(app.extensions["eid_providers"].values())}


def _provider_or_404(name):
    provider = current_app.extensions.get("eid_providers", {}).get(name)
    if provider is None:
        abort(404)
    return provider, current_app.extensions["eid_oauth"].create_client(name)


def _redirect_uri(provider):
    """Where the broker sends the person back: from BASE_URL, never from the Host header."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("eid.callback", provider=provider.name)


def failure(provider, reason, status=400, **details):
    """The page for a failed trusted sign-in, and its audit row; nobody is signed in."""
    session.pop("eid_pending", None)
    with models.action():
        audit("eid.failed", actor=f"eid:{provider.name}", provider=provider.name, reason=reason, **details)
    return render("eid/failed.html", status=status, provider=provider, message=eid.FAILURES[reason])


@bp.route("/<provider>/start")
def start(provider):
    """Off to the broker: a plain link, not a form, because the CSP's ``form-action 'self'``
    stops a form whose answer redirects to another origin (Chromium applies it to redirects).
    Starting a flow changes nothing but this browser's pending ``state``; a forged start signs
    nobody in (the answer must come back to the same session)."""
    provider, client = _provider_or_404(provider)
    if time.time() - client.server_metadata.get("_loaded_at", 0) > METADATA_LIFETIME_SECONDS:
        client.server_metadata.pop("_loaded_at", None)  # the broker may have moved endpoints or keys
        client.server_metadata.pop("jwks", None)
    try:
        metadata = client.load_server_metadata()
        if metadata.get("issuer") != provider.issuer:
            raise IssuerMismatch(metadata.get("issuer"))
        _forget_pending_flows()
        extra = {"acr_values": provider.acr_values} if provider.acr_values else {}
        answer = client.authorize_redirect(_redirect_uri(provider), **extra)
        _keep_small(provider)
    except IssuerMismatch:
        client.server_metadata.pop("_loaded_at", None)  # read it again next time
        return failure(provider, eid.UNAVAILABLE, 502, problem="issuer mismatch")
    except (requests.RequestException, ValueError, RuntimeError) as error:
        client.server_metadata.pop("_loaded_at", None)
        return failure(provider, eid.UNAVAILABLE, 502, problem=type(error).__name__)
    session["eid_next"] = safe_next("eid.settings" if current_user.is_authenticated else "main.dashboard")
    answer.status_code = 303
    return answer


STATE_PREFIX = "_state_"  # Authlib keeps each flow's state, nonce and PKCE verifier under this


def _forget_pending_flows():
    """One flow at a time per browser: the session is a cookie (at most 4 KB), and each pending
    flow costs some hundred bytes of it. A flow started earlier cannot be finished any more."""
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        session.pop(key)


def _keep_small(provider):
    """Authlib keeps the whole authorization URL with the flow; nothing needs it again."""
    for key in [k for k in session if k.startswith(f"{STATE_PREFIX}{provider.name}_")]:
        entry = session[key]
        if isinstance(entry, dict) and isinstance(entry.get("data"), dict):
            entry["data"].pop("url", None)
            session[key] = entry


@bp.route("/<provider>/callback")
def callback(provider):
    """The broker's answer: check it, find the digital identity, sign in or ask to link."""
    provider, client = _provider_or_404(provider)
    error = request.args.get("error")
    if error:
        client.framework.clear_state_data(session, request.args.get("state"))
        reason = eid.CANCELLED if error == "access_denied" else eid.PROVIDER_ERROR
        return failure(provider, reason, error=error[:64])
    options = {"iss": {"essential": True, "value": provider.issuer},
               "aud": {"essential": True, "values": [provider.client_id]}}
    try:
        token = client.authorize_access_token(claims_options=options, leeway=eid.CLOCK_LEEWAY_SECONDS)
    except MismatchingStateError:
        return failure(provider, eid.STATE)
    except OAuthError as error:  # the token endpoint's refusal (an expired or used code)
        return failure(provider, eid.CODE_REFUSED, error=str(error.error)[:64])
    except (AuthlibBaseError, JoseError) as error:  # the ID token's checks (claims, signature, key)
        return failure(provider, eid.TOKEN_INVALID, problem=type(error).__name__)
    except (requests.RequestException, ValueError, RuntimeError) as error:
        return failure(provider, eid.UNAVAILABLE, 502, problem=type(error).__name__)
    claims = token.get("userinfo")
    if not claims:  # no ID token, or no nonce kept for it
        return failure(provider, eid.TOKEN_INVALID, problem="no id_token")
    acr, amr = str(claims.get("acr") or ""), eid.methods(claims.get("amr"))
    if not provider.acr_sufficient(acr):  # a weaker method than this broker must use for us
        return failure(provider, eid.ACR_TOO_LOW, 403, acr=acr[:200])
    code = provider.personal_code(claims)
    if code is None:
        return failure(provider, eid.NO_PERSONAL_CODE, claim=provider.personal_code_claim)
    if current_user.is_authenticated:
        return _signed_in_already(provider, code, acr, amr)
    with models.action():
        identity = models.DigitalIdentity.arrive(code, provider.name, acr, amr)
        audit("eid.verified", user=identity.user, actor=f"eid:{provider.name}", provider=provider.name,
              acr=acr, amr=amr)
        candidates = [] if identity.user_id else identity.accounts_to_link(code)
    how = {"provider": provider.name, "acr": acr, "amr": amr}
    if identity.user_id:
        user = models.User.get_by_id(identity.user_id)
        if not user.is_active:
            return failure(provider, eid.ACCOUNT_CLOSED, 403)
        return _sign_in(user, how)
    invitation, via = _invitation_held(claims)
    session["eid_pending"] = {**how, "identity": identity.id, "at": time.time(),
                              "candidates": [u.id for u in candidates], "name": str(claims.get("name") or "")[:200],
                              **({"invitation": invitation.id, "via": via} if invitation else {})}
    return see_other("eid.join" if invitation else "eid.link")


def _invitation_held(claims):
    """A pending company invitation this person holds at their first trusted sign-in: the one
    whose link this browser opened, else the newest sent to the phone number the broker
    vouches for (a verified ``phone_number`` claim). ``(invitation, how)`` or ``(None, None)``."""
    found = models.Invitation.find(session.get(INVITATION_SESSION_KEY))
    if found is not None and found.status == company_rules.PENDING:
        return found, "link"
    if claims.get("phone_number_verified") is True:
        found = models.Invitation.pending_for_phone(claims.get("phone_number"))
        if found is not None:
            return found, "phone"
    return None, None


def _pending_invitation(pending):
    """The pending invitation the sign-in waiting to be linked holds, or None."""
    found = models.Invitation.get_or_none(models.Invitation.id == pending.get("invitation"))
    return found if found is not None and found.status == company_rules.PENDING else None


def _signed_in_already(provider, code, acr, amr):
    """E-identity in a signed-in session: confirm it is still them (step-up) when it is the
    account's own; link it to the account when neither has one yet and the session proved
    itself a moment ago (linking needs a fresh sign-in too); else refuse, changing nothing."""
    user = signed_in_user()
    how = {"provider": provider.name, "acr": acr, "amr": amr}
    next_url = session.pop("eid_next", None) or url_for("eid.settings")
    with models.action():
        identity = models.DigitalIdentity.find(code)
        own = models.DigitalIdentity.get_or_none(models.DigitalIdentity.user == user)
        if identity is not None and identity.user_id == user.id:
            session["auth"] = {"method": "eid", **how, "at": time.time()}
            stepup.mark_confirmed("eid", **how)
            return redirect(next_url, code=303)
        if own is not None or (identity is not None and identity.user_id):
            return failure(provider, eid.OTHER_PERSON, 409)
        if not stepup.signed_in_recently():
            return failure(provider, eid.NOT_FRESH, 403)
        identity = models.DigitalIdentity.arrive(code, provider.name, acr, amr)
        identity.accounts_to_link(code)  # moves a statement hashed under a previous secret to the current
        if identity.stated_by_someone_else(user) or not identity.link(user):
            return failure(provider, eid.OTHER_PERSON, 409)
        audit("eid.linked", user=user, **how)
        notify(user, "eid_linked")
        session["auth"] = {"method": "eid", **how, "at": time.time()}
        stepup.mark_confirmed("eid", **how)
    flash(_("Your e-identity is now linked to this account: next time, signing in with it is enough."), "success")
    return redirect(next_url, code=303)


@bp.route("/settings")
@login_required
def settings():
    """E-identity in the settings: linked or not, link (through the broker) or unlink."""
    user = signed_in_user()
    identity = models.DigitalIdentity.get_or_none(models.DigitalIdentity.user == user)
    return render("eid/settings.html", identity=identity)


@bp.route("/settings/unlink", methods=["POST"])
@stepup.fresh_sign_in_required
def unlink():
    """Unlink e-identity from the account (after a fresh sign-in): the digital identity stays,
    bound to the personal code, and may be linked again."""
    user = signed_in_user()
    with models.action():
        done = (models.DigitalIdentity.update(user=None, linked_at=None)
                .where(models.DigitalIdentity.user == user).execute())
        if done:
            audit("eid.unlinked", user=user)
            notify(user, "eid_unlinked")
    if done:
        flash(_("E-identity is no longer linked to this account."), "success")
    return see_other("eid.settings")


def notify(user, template):
    """A security notice (e-mail, and SMS to the account's phone): e-identity linked to or unlinked
    from the account (sent after the action's commit, like every notification)."""
    models.security_notice(user, template)


def _sign_in(user, how):
    """The same session as a password sign-in (``auth.start_session``), marked as trusted."""
    next_url = session.get("eid_next") or url_for("main.dashboard")
    start_session(user, method=EID_SIGN_IN)
    session["auth"] = {"method": "eid", **how, "at": time.time()}
    with models.action():
        audit("login.eid", user=user, **how)
    # This browser is a known device of the account now: its next sign-in sends no notice.
    return throttling.remember_device(redirect(next_url, code=303), user)


def _pending():
    """The identity waiting for the person to link an account (None when gone or too old)."""
    pending = session.get("eid_pending")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > eid.PENDING_LIFETIME.total_seconds():
        session.pop("eid_pending", None)
        return None, None
    identity = models.DigitalIdentity.get_or_none(models.DigitalIdentity.id == pending.get("identity"))
    return pending, identity


@bp.route("/link", methods=["GET", "POST"])
def link():
    """Link the digital identity to an account: the person proves they hold it with its
    password (an account that stated the same personal code is offered first). Linked once,
    the next trusted sign-in goes straight in."""
    pending, identity = _pending()
    if identity is None:
        flash(eid.FAILURES[eid.EXPIRED], "info")
        return redirect(url_for("auth.login"))
    if identity.user_id:  # linked meanwhile (another tab)
        user = models.User.get_by_id(identity.user_id)
        if not user.is_active:
            return failure(current_app.extensions["eid_providers"][pending["provider"]], eid.ACCOUNT_CLOSED, 403)
        return _sign_in(user, _how(pending))
    candidates = list(models.User.select().where(models.User.id.in_(pending.get("candidates") or []),
                                                 models.User.disabled_at.is_null()))
    if candidates:
        form = ChooseAccountForm()
        form.account.choices = [(u.id, rules.mask("email", u.email)) for u in candidates]
        if form.account.data is None and candidates:
            form.account.data = candidates[0].id
    else:
        form = LoginForm()
    if form.validate_on_submit():
        if candidates:
            user = next(u for u in candidates if u.id == form.account.data)
            account = user.email
        else:
            account = form.identifier.normalised
            user = models.find_user_by_identifier(account)
        try:
            charges = throttling.attempt(user, account, budgets.SIGN_IN_PER_SOURCE, budgets.SIGN_IN_PER_ACCOUNT,
                                         budgets.SIGN_IN_PER_DEVICE, actor=account[:100])
        except throttling.Throttled as refused:
            form.form_errors.append(_("Too many sign-in attempts. Try again in %(n)d minutes.", n=refused.minutes))
            return refused.answer(render("eid/link.html", None, 429, form=form, candidates=candidates,
                                         invitation=_pending_invitation(pending),
                                         code_form=InvitationCodeForm(formdata=None)))
        if user is None:
            models.passwords.dummy_check(form.password.data)
        if user and user.is_active and user.check_password(form.password.data):
            throttling.refund(*charges)
            if identity.stated_by_someone_else(user):
                with models.action():
                    audit("eid.link_refused", user=user, actor=account[:100], reason=eid.OTHER_PERSON)
                form.form_errors.append(_("This account was registered with another personal code, so it cannot "
                                          "be linked to your e-identity."))
                return render("eid/link.html", None, 409, form=form, candidates=candidates,
                              invitation=_pending_invitation(pending), code_form=InvitationCodeForm(formdata=None))
            with models.action():
                invitation = _pending_invitation(pending)
                if invitation is not None:
                    _outcome, joined = members.join_with_identity(invitation, identity, user=user)
                    linked = joined is not None
                    if linked:
                        _audit_joined(user, invitation, pending, created=False)
                else:
                    linked = identity.link(user)
                if linked:
                    audit("eid.linked", user=user, provider=pending["provider"])
                    notify(user, "eid_linked")
            if linked:
                session.pop("eid_pending", None)
                response = _sign_in(user, _how(pending))
                if invitation is not None:  # joined: to the dashboard, acting for the company
                    session.pop(INVITATION_SESSION_KEY, None)
                    session["client_id"] = invitation.client_id
                    response = redirect(url_for("main.dashboard"), code=303)
                flash(_("Your e-identity is now linked to this account: next time, signing in with it is "
                        "enough."), "success")
                return response
            form.form_errors.append(_("This account is already linked to another person's e-identity."))
        else:
            with models.action():
                audit("eid.link_refused", user=user, actor=account[:100])
            form.form_errors.append(_("The e-mail, phone number or password is not right."))
    return render_form("eid/link.html", None, form=form, candidates=candidates,
                       invitation=_pending_invitation(pending), code_form=InvitationCodeForm(formdata=None))


def _how(pending):
    return {"provider": pending["provider"], "acr": pending.get("acr", ""), "amr": pending.get("amr", [])}



# --- An employee's first sign-in (seed 003) --------------------------------------------------------

def _audit_joined(user, invitation, pending, created):
    audit("eid.invitation_joined", user=user, client=invitation.client_id, invitation=invitation.id,
          via=pending.get("via", ""), created=created, provider=pending["provider"],
          rights=sorted(invitation.rights), own_items_only=invitation.own_items_only)


JOIN_REFUSALS = {
    members.NEEDS_ACCOUNT: _l("An account already has this invitation's e-mail or phone number, or the "
                              "invitation lacks one of them. Sign in to your account with its password "
                              "below: it is then linked to your e-identity and joins the company."),
    members.OTHER_PERSON: _l("This invitation was sent to another person's account, so it cannot be used "
                             "with your e-identity. Ask the company's main user to invite you."),
}


def _join_page(pending, identity, invitation, status=None, code_form=None, form=None):
    context = {"invitation": invitation, "form": form or ConfirmForm(formdata=None),
               "code_form": code_form or InvitationCodeForm(formdata=None),
               "can_create": invitation is not None and _may_create(pending, invitation)}
    if status is None:
        return render_form("eid/join.html", None, **context)
    return render("eid/join.html", None, status, **context)


def _may_create(pending, invitation):
    """A new account from the invitation, unless the person has one already (an account that
    stated their personal code: they link that one) or the invitation cannot make one."""
    return not pending.get("candidates") and invitation.account_for_new_person() is None


def _pending_or_back():
    """The sign-in waiting to be linked, or the answer that sends the person back."""
    pending, identity = _pending()
    if identity is None:
        flash(eid.FAILURES[eid.EXPIRED], "info")
        return None, None, redirect(url_for("auth.login"))
    if identity.user_id:  # linked meanwhile (another tab): link() signs it in
        return None, None, see_other("eid.link")
    return pending, identity, None


@bp.route("/join", methods=["GET", "POST"])
def join():
    """The one extra step of an employee's first trusted sign-in: the person holds a company's
    invitation (its link, its code, or the phone number the main user entered) and has no
    account linked to their e-identity. Joining makes their account from the invitation and
    the e-identity (or they link an account of theirs with its password, ``link``), accepts
    the invitation and signs them in; afterwards e-identity signs straight in."""
    pending, identity, back = _pending_or_back()
    if back is not None:
        return back
    invitation = models.Invitation.get_or_none(models.Invitation.id == pending.get("invitation"))
    form = ConfirmForm()
    if request.method == "GET" or invitation is None:  # a dead one: the page asks for a code again
        return _join_page(pending, identity, _pending_invitation(pending))
    if not form.validate_on_submit():
        return _join_page(pending, identity, invitation, form=form)
    with models.action():
        if pending.get("candidates") and invitation.status == company_rules.PENDING:
            outcome, user = members.NEEDS_ACCOUNT, None  # they have an account: link that one
        else:
            outcome, user = members.join_with_identity(invitation, identity, full_name=pending.get("name", ""))
        if user is not None:
            _audit_joined(user, invitation, pending, created=True)
            audit("eid.linked", user=user, provider=pending["provider"])
        else:
            audit("eid.invitation_refused", actor=f"eid:{pending['provider']}", client=invitation.client_id,
                  invitation=invitation.id, reason=f"invitation_{outcome}")
    if user is None:
        if outcome in JOIN_REFUSALS:
            form.form_errors.append(str(JOIN_REFUSALS[outcome]))
            return _join_page(pending, identity, invitation, status=409, form=form)
        form.form_errors.append(DEAD_MESSAGES[outcome]())
        return _join_page(pending, identity, None, status=410, form=form)
    session.pop("eid_pending", None)
    _sign_in(user, _how(pending))
    session.pop(INVITATION_SESSION_KEY, None)
    session["client_id"] = invitation.client_id  # act for the company straight away
    flash(_("Welcome! You now have access to %(company)s. Next time, signing in with e-identity is enough.",
            company=invitation.client.name), "success")
    # The dashboard, not the sign-in's ``next``: that was the invitation's page, used up now.
    return redirect(url_for("main.dashboard"), code=303)


@bp.route("/join/code", methods=["POST"])
def join_code():
    """The invitation's code (or its whole link), typed by a person whose first trusted sign-in
    found no invitation of theirs."""
    pending, identity, back = _pending_or_back()
    if back is not None:
        return back
    code_form = InvitationCodeForm()
    if not code_form.validate_on_submit():
        return _join_page(pending, identity, None, status=422, code_form=code_form)
    try:
        charged = throttling.charge(budgets.INVITATION_CODE_PER_SOURCE, throttling.client_ip(),
                                    actor=f"eid:{pending['provider']}")
    except throttling.Throttled as refused:
        code_form.code.errors = [*code_form.code.errors,
                                 _("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes)]
        return refused.answer(_join_page(pending, identity, None, status=429, code_form=code_form))
    invitation = models.Invitation.find(code_form.token)
    reason = members.UNKNOWN if invitation is None else None
    if invitation is not None and invitation.status != company_rules.PENDING:
        reason = {company_rules.ACCEPTED: members.USED, company_rules.CANCELLED: members.CANCELLED,
                  company_rules.EXPIRED: members.EXPIRED}[invitation.status]
    if reason:
        with models.action():
            audit("eid.invitation_refused", actor=f"eid:{pending['provider']}", reason=f"invitation_{reason}",
                  client=invitation.client_id if invitation else None)
        code_form.code.errors = [*code_form.code.errors, DEAD_MESSAGES[reason]()]
        return _join_page(pending, identity, None, status=422, code_form=code_form)
    throttling.refund(charged)
    session["eid_pending"] = {**pending, "invitation": invitation.id, "via": "code"}
    return see_other("eid.join")
