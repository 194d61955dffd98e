"""The development identity broker's web side (``/dev/eid/…``): a real OpenID Connect provider
(``adapters.identity.DevBroker``) that lets a developer sign in as a demo person. Registered
only in development (``EID_DEV_BROKER``); production refuses to start with it.

The relying party (``blueprints/eid.py``) talks to it over HTTP like to any broker: discovery,
authorization, token exchange, JWKS. Its forms carry their own sealed request, so it takes no
CSRF token (the token endpoint is called by servers, not browsers)."""
from pathlib import Path
from urllib.parse import unquote, urlencode

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request

from adapters.identity import BrokerRefusal

bp = Blueprint("dev_broker", __name__, url_prefix="/dev/eid",
               template_folder=str(Path(__file__).resolve().parent.parent / "templates"))


def broker():
    found = current_app.extensions.get("dev_broker")
    if found is None:
        abort(404)
    return found


def _back(redirect_uri, **params):
    """Back to the relying party with ``params`` (a code, or an error) and its state."""
    params = {k: v for k, v in params.items() if v is not None}
    return redirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params), code=302)


@bp.route("/.well-known/openid-configuration")
def discovery():
    """The discovery document (OpenID Connect Discovery 1.0)."""
    return jsonify(broker().metadata())


@bp.route("/jwks")
def jwks():
    """The public key the ID tokens are signed with."""
    return jsonify(broker().jwks())


@bp.route("/authorize", methods=["GET"])
def authorize():
    """The broker's sign-in page: pick a demo person (or cancel)."""
    try:
        sealed, problem = broker().authorization_request(request.args)
    except BrokerRefusal as refused:
        return render_template("dev_broker/refused.html", reason=refused.description), 400
    if problem:
        return _back(request.args["redirect_uri"], error=problem, state=request.args.get("state"))
    return render_template("dev_broker/authorize.html", sealed=sealed, persons=broker().persons.values())


@bp.route("/authorize", methods=["POST"])
def choose():
    """The person chosen (or the sign-in cancelled): back to the relying party."""
    try:
        grant = broker().open_request(request.form.get("request"))
        if request.form.get("cancel"):
            return _back(grant["redirect_uri"], error="access_denied", state=grant["state"])
        code = broker().issue_code(grant, request.form.get("person", ""))
    except BrokerRefusal as refused:
        return render_template("dev_broker/refused.html", reason=refused.description), 400
    return _back(grant["redirect_uri"], code=code, state=grant["state"])


@bp.route("/token", methods=["POST"])
def token():
    """The token endpoint: an authorization code (with its PKCE verifier) for an ID token."""
    auth = request.authorization
    basic = (unquote(auth.username or ""), unquote(auth.password or "")) if auth and auth.type == "basic" else None
    try:
        answer = broker().exchange(request.form, basic)
    except BrokerRefusal as refused:
        response = jsonify({"error": refused.error, "error_description": refused.description})
        response.status_code = refused.status
        return response
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response
