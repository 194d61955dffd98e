"""Passkeys (WebAuthn, issue 12): registered in the settings (named, listed, removable), used as
the second factor of a password sign-in and to confirm a step-up.

A ceremony is two requests: its options (a challenge, kept server-side as a hash by
``models.PasskeyChallenge`` and named in this browser's session, single-use, expiring after
``rules.passkeys.CHALLENGE_LIFETIME``), then the browser's answer as JSON, which ``webauthn``
verifies against the challenge, the RP id and the origin (``WEBAUTHN_RP_ID``/``WEBAUTHN_ORIGIN``,
else those of ``BASE_URL``) and, for a use, the stored public key and signature counter.
The browser's side is ``static/passkeys.js``; without JavaScript the passkey buttons stay hidden
and the pages say a passkey needs it (the TOTP code and the password still work)."""
import webauthn
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, AuthenticatorTransport,
                                      PublicKeyCredentialDescriptor, ResidentKeyRequirement,
                                      UserVerificationRequirement)

import models
from blueprints import audit, client_ip, render, safe_next, see_other, signed_in_user, throttling
from blueprints.auth import SECOND_STEP_KEY, signed_in, waiting_for_second_step
from blueprints.security import mark_second_factor
from blueprints.stepup import fresh_sign_in_required, mark_confirmed
from rules import passkeys as R
from rules import sessions
from rules import throttle as budgets
from rules.second_factor import PASSKEY

bp = Blueprint("passkeys", __name__)

CHALLENGES_KEY = "passkey_challenges"
# What goes wrong in verifying an answer: the library's own refusals, and malformed input it
# meets while decoding (base64, CBOR, JSON of the wrong shape).
_BAD_ANSWER = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class Refused(Exception):
    """A ceremony's answer was not accepted; ``reason`` goes to the audit row."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def relying_party():
    """(RP id, origin) this portal is known by."""
    config = current_app.config
    return R.relying_party(config["BASE_URL"], config.get("WEBAUTHN_RP_ID"), config.get("WEBAUTHN_ORIGIN"))


def _remember_challenge(purpose, user):
    """A new challenge for ``purpose``: stored (hashed) server-side and named in this session."""
    challenge = models.PasskeyChallenge.issue(purpose, user, models.utcnow())
    kept = session.get(CHALLENGES_KEY)
    kept = dict(kept) if isinstance(kept, dict) else {}
    kept[purpose] = bytes_to_base64url(challenge)
    session[CHALLENGES_KEY] = kept
    return challenge


def _take_challenge(purpose, user):
    """The challenge this session was given for ``purpose``, taken (once) from the store; a
    challenge never given, given to someone else, used already or expired is refused."""
    kept = session.get(CHALLENGES_KEY)
    named = kept.pop(purpose, None) if isinstance(kept, dict) else None
    if isinstance(kept, dict):
        session[CHALLENGES_KEY] = kept
    try:
        challenge = base64url_to_bytes(named) if isinstance(named, str) else b""
    except ValueError:
        challenge = b""
    with models.action():
        taken = models.PasskeyChallenge.take(challenge, purpose, user, models.utcnow())
    if not taken:
        raise Refused("challenge")
    return challenge


def _answer():
    """The browser's JSON: the credential, and the other fields (a name)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        raise Refused("malformed")
    return body


def _descriptors(passkeys):
    found = []
    for passkey in passkeys:
        transports = []
        for name in passkey.transport_list:
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                pass
        found.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id),
                                                   transports=transports or None))
    return found


def _json_options(options):
    return current_app.response_class(webauthn.options_to_json(options), mimetype="application/json")


def _refusal(message, status=400):
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _went_wrong():
    return _refusal(_("The passkey was not accepted. Try again, or use another way to sign in."))


# --- Using a passkey: the shared half of the second step and the step-up ----------------------

def assertion_options(user, purpose):
    """The options of ``navigator.credentials.get`` for one of ``user``'s passkeys; with ``user``
    None, for any passkey of this portal the authenticator holds (the person chooses), with user
    verification required: the passkey is then the whole sign-in."""
    rp_id, _origin = relying_party()
    with models.action():
        challenge = _remember_challenge(purpose, user)
    return _json_options(webauthn.generate_authentication_options(
        rp_id=rp_id, challenge=challenge, timeout=R.TIMEOUT_MS,
        allow_credentials=_descriptors(models.Passkey.of(user)) if user is not None else [],
        user_verification=UserVerificationRequirement.PREFERRED if user is not None
        else UserVerificationRequirement.REQUIRED))


def verify_assertion(user, purpose):
    """The passkey of ``user`` (None: of whoever it belongs to) that answered this session's
    challenge for ``purpose``, its counter moved on; ``Refused`` for anything else (wrong origin
    or RP, another challenge, one used already, an unknown credential, a bad signature, a
    counter that did not move on; without ``user``, no user verification or another user handle)."""
    body = _answer()
    credential = body["credential"]
    challenge = _take_challenge(purpose, user)
    raw_id = credential.get("rawId") or credential.get("id")
    passkey = models.Passkey.find(user, raw_id) if isinstance(raw_id, str) else None
    if passkey is None:
        raise Refused("unknown credential")
    rp_id, origin = relying_party()
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=user is None)
    except _BAD_ANSWER as error:
        raise Refused(str(error)[:200]) from None
    if user is None and not _handle_matches(credential, passkey):
        raise Refused("user handle")
    with models.action():
        if not passkey.used(verified.new_sign_count, models.utcnow()):
            raise Refused("sign count")
    return passkey


def _handle_matches(credential, passkey):
    """A discoverable credential names its user (the handle given at registration): it must be
    the passkey's owner's, when the authenticator sends one."""
    handle = credential.get("response", {}).get("userHandle") if isinstance(credential.get("response"), dict) \
        else None
    if not handle:
        return True
    try:
        return base64url_to_bytes(handle) == models.passkey_user_handle(passkey.user)
    except _BAD_ANSWER:
        return False


# --- The settings: register, list, remove ---------------------------------------------------

def _notify(user, template, **params):
    """A security notice (``models.security_notice``: e-mail, and SMS to the account's phone)."""
    models.security_notice(user, template, **params)


@bp.route("/settings/passkeys")
@login_required
def index():
    """The person's passkeys (name, added, last used), a form to add one (with JavaScript) and a
    button to remove each."""
    passkeys = models.Passkey.of(signed_in_user())
    return render("settings/passkeys.html", "settings/_passkeys.html", passkeys=passkeys,
                  at_most=len(passkeys) >= R.PASSKEYS_MAX)


@bp.route("/settings/passkeys/options", methods=["POST"])
@fresh_sign_in_required
def registration_options():
    """The options of ``navigator.credentials.create``: a discoverable credential (a passkey
    that can also sign in without typing the e-mail), the person's passkeys excluded."""
    user = signed_in_user()
    rp_id, _origin = relying_party()
    with models.action():
        challenge = _remember_challenge(R.REGISTER, user)
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=R.RP_NAME, user_name=user.email, user_display_name=user.display_name,
        user_id=models.passkey_user_handle(user), challenge=challenge, timeout=R.TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(models.Passkey.of(user)))
    return _json_options(options)


@bp.route("/settings/passkeys", methods=["POST"])
@fresh_sign_in_required
def register():
    """Keep the passkey the browser made (JSON: ``credential`` and ``name``): verified against
    this session's registration challenge, the RP id and the origin; audited, and the person
    gets a notice."""
    user = signed_in_user()
    try:
        body = _answer()
        name = R.clean_name(body.get("name") if isinstance(body.get("name"), str) else "")
        if not name:
            return _refusal(_("Give the passkey a name, e.g. the device it is on."), 422)
        challenge = _take_challenge(R.REGISTER, user)
        rp_id, origin = relying_party()
        try:
            verified = webauthn.verify_registration_response(
                credential=body["credential"], expected_challenge=challenge, expected_rp_id=rp_id,
                expected_origin=origin)
        except _BAD_ANSWER as error:
            raise Refused(str(error)[:200]) from None
    except Refused as refused:
        with models.action():
            audit("passkey.add_failed", user=user, reason=refused.reason)
        return _went_wrong()
    transports = body["credential"].get("response", {}).get("transports") if isinstance(
        body["credential"].get("response"), dict) else None
    with models.action():
        passkey = models.Passkey.add(user, name, bytes_to_base64url(verified.credential_id),
                                     bytes_to_base64url(verified.credential_public_key), verified.sign_count,
                                     transports)
        if passkey is not None:
            audit("passkey.added", user=user, passkey=passkey.id)
            _notify(user, "passkey_added", name=passkey.name)
    if passkey is None:
        return _refusal(_("This passkey is registered already, or you have as many passkeys as one may have."), 409)
    mark_second_factor(PASSKEY)
    flash(_("The passkey “%(name)s” has been added.", name=passkey.name), "success")
    return jsonify({"redirect": url_for("passkeys.index")})


@bp.route("/settings/passkeys/<int:passkey_id>/remove", methods=["POST"])
@fresh_sign_in_required
def remove(passkey_id):
    """Remove one of the person's passkeys (another person's: 404); audited, with a notice."""
    user = signed_in_user()
    with models.action():
        removed = models.Passkey.remove(user, passkey_id)
        if removed is not None:
            audit("passkey.removed", user=user, passkey=passkey_id)
            _notify(user, "passkey_removed", name=removed.name)
    if removed is None:
        abort(404)
    flash(_("The passkey “%(name)s” has been removed.", name=removed.name), "success")
    return see_other("passkeys.index")


# --- Signing in with a password and a passkey ----------------------------------------------------

def _waiting_user():
    user = waiting_for_second_step()
    if user is None or current_user.is_authenticated:
        abort(404)
    return user


@bp.route("/login/passkey/options", methods=["POST"])
def sign_in_options():
    """The second step with a passkey: options for the person whose password was right here."""
    return assertion_options(_waiting_user(), R.SIGN_IN)


@bp.route("/login/passkey", methods=["POST"])
def sign_in():
    """The second step with a passkey: the browser's answer, throttled as a code is. Signed in:
    JSON with where to go (the session cookie and the known-device cookie come with it)."""
    user = _waiting_user()
    try:
        charges = throttling.attempt(user, f"user:{user.id}", budgets.SIGN_IN_PER_SOURCE,
                                     budgets.SECOND_STEP_PER_ACCOUNT, budgets.SECOND_STEP_PER_DEVICE,
                                     actor=user.email)
    except throttling.Throttled as refused:
        return refused.answer(_refusal(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes), 429))
    try:
        passkey = verify_assertion(user, R.SIGN_IN)
    except Refused as refused:
        with models.action():
            audit("login.passkey_failed", user=user, reason=refused.reason)
        return _went_wrong()
    throttling.refund(*charges)
    next_url = session[SECOND_STEP_KEY].get("next") or url_for("main.dashboard")
    return signed_in(user, next_url, respond=lambda url: jsonify({"redirect": url}), second_factor=PASSKEY,
                     passkey=passkey.id)


# --- Signing in with a passkey alone (a discoverable credential, from the sign-in page) ------------

@bp.route("/login/passkey/any/options", methods=["POST"])
def passkey_sign_in_options():
    """Sign in with a passkey, naming nobody first: options for any of this portal's passkeys."""
    if current_user.is_authenticated:
        abort(404)
    return assertion_options(None, R.PASSKEY_SIGN_IN)


@bp.route("/login/passkey/any", methods=["GET", "POST"])
def passkey_sign_in():
    """Sign in with a passkey alone. GET: the page with the button (the sign-in page links here and
    itself loads no script). POST: the answer; the authenticator verified the person (fingerprint,
    face or PIN), so the session is as strong as a password with a second factor. Throttled per
    source before the work, as a password sign-in is; a refusal is audited."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    if request.method == "GET":
        return render("auth/passkey.html", next=safe_next("main.dashboard"))
    try:
        source = throttling.charge(budgets.SIGN_IN_PER_SOURCE, client_ip(), actor="passkey")
    except throttling.Throttled as refused:
        return refused.answer(_refusal(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes), 429))
    try:
        passkey = verify_assertion(None, R.PASSKEY_SIGN_IN)
        user = models.User.get_by_id(passkey.user_id)
        if not user.is_active:
            raise Refused("account closed")
    except Refused as refused:
        with models.action():
            audit("login.passkey_failed", actor="passkey", reason=refused.reason)
        return _went_wrong()
    throttling.refund(source)
    return signed_in(user, safe_next("main.dashboard"), respond=lambda url: jsonify({"redirect": url}),
                     method=sessions.PASSKEY, second_factor=PASSKEY, passkey=passkey.id)


# --- Step-up with a passkey -----------------------------------------------------------------------

@bp.route("/signin/confirm/passkey/options", methods=["POST"])
@login_required
def confirm_options():
    """Confirm it is you with a passkey: the options."""
    user = signed_in_user()
    if not models.Passkey.exists_for(user):
        abort(404)
    return assertion_options(user, R.STEP_UP)


@bp.route("/signin/confirm/passkey", methods=["POST"])
@login_required
def confirm():
    """Confirm it is you with a passkey: the answer, throttled as the password is there."""
    user = signed_in_user()
    try:
        charges = throttling.attempt(user, user.email, budgets.SIGN_IN_PER_SOURCE, budgets.SIGN_IN_PER_ACCOUNT,
                                     budgets.SIGN_IN_PER_DEVICE, actor=user.email)
    except throttling.Throttled as refused:
        return refused.answer(_refusal(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes), 429))
    try:
        passkey = verify_assertion(user, R.STEP_UP)
    except Refused as refused:
        with models.action():
            audit("login.step_up_failed", user=user, method="passkey", reason=refused.reason)
        return _went_wrong()
    throttling.refund(*charges)
    with models.action():
        mark_confirmed("passkey", passkey=passkey.id)
    return jsonify({"redirect": safe_next("main.dashboard")})
