"""Trusted e-identity: the OpenID Connect providers the portal trusts (from configuration), and a
development identity broker for ``make run``.

Providers come from ``EID_PROVIDERS``, a JSON list, one object per broker::

    [{"name": "latvija", "title": "Latvija.lv",
      "issuer": "https://broker.example.lv", "client_id": "kabinets", "client_secret_env": "LVP_SECRET",
      "scopes": "openid profile", "personal_code_claim": "serial_number",
      "personal_code_format": "etsi", "personal_code_country": "LV",
      "acr_values": "http://eidas.europa.eu/LoA/substantial",
      "min_acr": "http://eidas.europa.eu/LoA/substantial",
      "acr_order": ["http://eidas.europa.eu/LoA/low", "http://eidas.europa.eu/LoA/substantial",
                    "http://eidas.europa.eu/LoA/high"]}]

``client_secret`` may be given in place of ``client_secret_env`` (the name of the variable that
holds it). ``acr_values`` (optional) is asked of the broker in the authorization request;
``min_acr`` (optional) is the weakest ``acr`` an ID token may carry — with ``acr_order`` (the
broker's levels, weakest first) any level at or above it, without it exactly that value (or one of
a list) — else the sign-in is refused (``rules.identity.acr_sufficient``).

The relying party (``blueprints/eid.py``) reads the broker's discovery document at
``issuer + /.well-known/openid-configuration``, whose ``issuer`` must be the configured one.

``DevBroker`` is a real OpenID Connect provider (discovery, JWKS, authorization code with PKCE,
ES256-signed ID tokens) with demo persons, served under ``/dev/eid`` by ``blueprints/dev_broker.py``
in development, so ``make run`` signs in through the same relying-party code production runs.
It is ``development_only``: production refuses to start with it.
"""
import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey

from rules import identity as eid
from rules.keys import SealBroken, same


class ProviderConfigError(ValueError):
    """``EID_PROVIDERS`` does not describe usable providers; the message says what to fix."""


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect broker the portal trusts."""

    name: str
    title: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str = "openid"
    personal_code_claim: str = "serial_number"
    personal_code_format: str = eid.ETSI
    personal_code_country: str = "LV"
    development_only: bool = False
    acr_values: str = ""
    min_acr: str | tuple = ""
    acr_order: tuple = ()

    def acr_sufficient(self, acr):
        return eid.acr_sufficient(acr, self.min_acr, self.acr_order)

    @property
    def metadata_url(self):
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def personal_code(self, claims):
        """The normalised personal code the claims carry, or None."""
        return eid.personal_code_from_claim(claims.get(self.personal_code_claim), self.personal_code_format,
                                            self.personal_code_country)


_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def providers_from_config(text, environ, production):
    """The providers ``EID_PROVIDERS`` (JSON text) describes; ``environ`` resolves
    ``client_secret_env``. Production trusts only https issuers."""
    if not text:
        return []
    try:
        entries = json.loads(text)
    except ValueError as error:
        raise ProviderConfigError(f"EID_PROVIDERS is not JSON: {error}") from None
    if not isinstance(entries, list):
        raise ProviderConfigError("EID_PROVIDERS must be a JSON list of providers")
    providers = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ProviderConfigError("each EID_PROVIDERS entry must be a JSON object")
        name = entry.get("name", "")
        where = f"EID_PROVIDERS[{name or len(providers)}]"
        if not isinstance(name, str) or not _NAME.match(name) or name in {p.name for p in providers}:
            raise ProviderConfigError(f"{where}: name must be unique, lower-case letters, digits and '-'")
        secret = entry.get("client_secret") or environ.get(entry.get("client_secret_env") or "", "")
        missing = [key for key in ("issuer", "client_id") if not entry.get(key)] + ([] if secret else ["client_secret"])
        if missing:
            raise ProviderConfigError(f"{where}: {', '.join(missing)} missing")
        issuer = urlsplit(entry["issuer"])
        if issuer.scheme != "https" and not (issuer.scheme == "http" and not production
                                             and issuer.hostname in _LOOPBACK):
            raise ProviderConfigError(f"{where}: the issuer must be an https URL")
        scopes = entry.get("scopes") or "openid"
        if "openid" not in scopes.split():
            raise ProviderConfigError(f"{where}: scopes must include openid")
        form = entry.get("personal_code_format") or eid.ETSI
        if form not in eid.FORMATS:
            raise ProviderConfigError(f"{where}: personal_code_format must be one of {', '.join(eid.FORMATS)}")
        acr_values, min_acr, acr_order = _acr_settings(entry, where)
        providers.append(Provider(
            name=name, title=str(entry.get("title") or name), issuer=entry["issuer"],
            client_id=str(entry["client_id"]), client_secret=secret, scopes=scopes,
            personal_code_claim=entry.get("personal_code_claim") or "serial_number",
            personal_code_format=form, personal_code_country=entry.get("personal_code_country") or "LV",
            acr_values=acr_values, min_acr=min_acr, acr_order=acr_order))
    return providers


def _strings(value):
    return isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)


def _acr_settings(entry, where):
    """(acr_values, min_acr, acr_order) of one entry, checked."""
    acr_values = entry.get("acr_values") or ""
    if not isinstance(acr_values, str):
        raise ProviderConfigError(f"{where}: acr_values must be a string (levels separated by spaces)")
    order = entry.get("acr_order") or []
    if order and not _strings(order):
        raise ProviderConfigError(f"{where}: acr_order must be a list of acr values, weakest first")
    minimum = entry.get("min_acr") or ""
    if isinstance(minimum, list):
        if not _strings(minimum) or order:
            raise ProviderConfigError(f"{where}: min_acr is one value (with acr_order) or a list of accepted values")
        minimum = tuple(minimum)
    elif not isinstance(minimum, str):
        raise ProviderConfigError(f"{where}: min_acr must be a string or a list of strings")
    if order and minimum and minimum not in order:
        raise ProviderConfigError(f"{where}: min_acr must be one of acr_order")
    return acr_values, minimum, tuple(order)


# --- The development broker -------------------------------------------------------------------

CODE_LIFETIME_SECONDS = 60
ID_TOKEN_LIFETIME_SECONDS = 300


class BrokerRefusal(Exception):
    """An OAuth error answer: ``error`` (RFC 6749 code), the HTTP status."""

    def __init__(self, error, description="", status=400):
        super().__init__(description or error)
        self.error, self.description, self.status = error, description, status


def signing_key_from(seed):
    """An ES256 key derived from 32 bytes: every process of a deployment signs with the same
    key without sharing a file (gunicorn workers, a restart)."""
    number = int.from_bytes(hashlib.sha256(seed).digest(), "big")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    private = ec.derive_private_key(number % (order - 1) + 1, ec.SECP256R1())
    key = ECKey.import_key(private)
    return key, key.thumbprint()


def _s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class DevBroker:
    """An OpenID Connect provider for development and the tests: ``persons`` are the people one
    may sign in as (dicts with ``id``, ``name``, ``personal_code`` in the ETSI form, and ``phone``
    when the broker vouches for one), ``clients``
    maps a client id to its secret and redirect URIs. Authorization requests and codes are
    sealed with ``keyring`` (no state kept between processes); a code is taken once per process.

    ``id_token_hook`` (claims → claims) and ``sign_with`` ((key, kid)) let tests forge answers."""

    development_only = True
    name = "dev"

    def __init__(self, issuer, keyring, clients, persons):
        self.issuer = issuer.rstrip("/")
        self.keyring = keyring
        self.clients = clients
        self.persons = {p["id"]: p for p in persons}
        self.key, self.kid = signing_key_from(keyring.key("dev-broker-signing"))
        self.id_token_hook = None
        self.sign_with = None
        self._used = {}
        self._lock = threading.Lock()

    # The documents a relying party reads.
    def metadata(self):
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "name", "given_name", "family_name", "serial_number", "phone_number",
                                 "phone_number_verified", "acr", "amr"],
        }

    def jwks(self):
        return {"keys": [{**self.key.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    # The authorization endpoint.
    def authorization_request(self, args):
        """Check an authorization request; the sealed request to carry through the person's
        choice. ``BrokerRefusal`` for one that must not be answered by a redirect (an unknown
        client or redirect URI), ``(redirect_uri, error)`` otherwise."""
        client = self.clients.get(args.get("client_id") or "")
        redirect_uri = args.get("redirect_uri") or ""
        if client is None or redirect_uri not in client["redirect_uris"]:
            raise BrokerRefusal("invalid_request", "unknown client or redirect_uri")
        problem = None
        if args.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif "openid" not in (args.get("scope") or "").split():
            problem = "invalid_scope"
        elif args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            problem = "invalid_request"  # PKCE is required
        request = {"client_id": args["client_id"], "redirect_uri": redirect_uri, "state": args.get("state"),
                   "nonce": args.get("nonce"), "code_challenge": args.get("code_challenge"),
                   "at": time.time()}
        return self.keyring.seal("dev-broker-request", json.dumps(request)), problem

    def open_request(self, sealed):
        try:
            request = json.loads(self.keyring.unseal("dev-broker-request", sealed or ""))
        except (SealBroken, ValueError):
            raise BrokerRefusal("invalid_request", "the authorization request is not ours") from None
        if time.time() - request["at"] > 600:
            raise BrokerRefusal("invalid_request", "the authorization request is too old")
        return request

    def issue_code(self, request, person_id):
        """The authorization code for ``person_id`` chosen on the broker's page."""
        if person_id not in self.persons:
            raise BrokerRefusal("invalid_request", "unknown person")
        grant = {**request, "person": person_id, "jti": secrets.token_urlsafe(12), "at": time.time()}
        return self.keyring.seal("dev-broker-code", json.dumps(grant))

    # The token endpoint.
    def exchange(self, form, basic_auth):
        """Answer a token request (form fields, and (id, secret) of HTTP Basic or None)."""
        client_id, secret = basic_auth or (form.get("client_id"), form.get("client_secret"))
        client = self.clients.get(client_id or "")
        if client is None or not same(secret or "", client["secret"]):
            raise BrokerRefusal("invalid_client", status=401)
        if form.get("grant_type") != "authorization_code":
            raise BrokerRefusal("unsupported_grant_type")
        try:
            grant = json.loads(self.keyring.unseal("dev-broker-code", form.get("code") or ""))
        except (SealBroken, ValueError):
            raise BrokerRefusal("invalid_grant", "unknown code") from None
        now = time.time()
        if now - grant["at"] > CODE_LIFETIME_SECONDS:
            raise BrokerRefusal("invalid_grant", "the code has expired")
        if grant["client_id"] != client_id or grant["redirect_uri"] != form.get("redirect_uri"):
            raise BrokerRefusal("invalid_grant", "the code was issued to another client or redirect_uri")
        if not same(_s256(form.get("code_verifier") or ""), grant["code_challenge"] or ""):
            raise BrokerRefusal("invalid_grant", "PKCE verification failed")
        with self._lock:
            self._used = {jti: at for jti, at in self._used.items() if now - at < 2 * CODE_LIFETIME_SECONDS}
            if grant["jti"] in self._used:
                raise BrokerRefusal("invalid_grant", "the code was used already")
            self._used[grant["jti"]] = now
        return {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                "id_token": self.id_token(grant, now)}

    def id_token(self, grant, now):
        person = self.persons[grant["person"]]
        given, _, family = person["name"].partition(" ")
        claims = {"iss": self.issuer, "sub": "dev-" + person["id"], "aud": grant["client_id"],
                  "iat": int(now), "exp": int(now) + ID_TOKEN_LIFETIME_SECONDS, "auth_time": int(grant["at"]),
                  "name": person["name"], "given_name": given, "family_name": family,
                  "serial_number": person["personal_code"], "acr": "http://eidas.europa.eu/LoA/high",
                  "amr": ["dev"]}
        if person.get("phone"):  # a phone number the broker vouches for
            claims.update(phone_number=person["phone"], phone_number_verified=True)
        if grant.get("nonce"):
            claims["nonce"] = grant["nonce"]
        if self.id_token_hook:
            claims = self.id_token_hook(claims)
        key, kid = self.sign_with or (self.key, self.kid)
        return jwt.encode({"alg": "ES256", "kid": kid, "typ": "JWT"}, claims, key, algorithms=["ES256"])
