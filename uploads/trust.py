"""Whom a signature is checked against: the trust store of qualified CAs, and revocation (DOC-9).

A signed container is only as good as its signer's certificate. ``TrustStore`` holds
the certification authorities the institution trusts for qualified e-signatures — in
production the qualified CAs of the EU trusted lists, which the administrator keeps as
PEM or DER files in ``SIGNING_TRUST_DIR`` — and ``check`` validates a signer's
certificate path to one of them with pyhanko-certvalidator: the path, each
certificate's validity at the signing time, the key usage of a signing certificate
(non-repudiation) and, by OCSP or CRL, revocation.

Revocation follows the configured policy (``SIGNING_REVOCATION``):

* ``soft-fail`` (the default): ask the OCSP responders and CRL points the certificates
  name; when none answers, the signature is still accepted and its revocation status is
  recorded as unknown, with why;
* ``hard-fail``: a certificate whose revocation cannot be checked is refused;
* ``offline``: nothing is fetched; the status is recorded as not checked.

A store with no certificate (``TrustStore.unconfigured``) refuses every signature with
a clear reason; it never falls back to any other list of roots.
"""
import asyncio
from concurrent.futures import ThreadPoolExecutor
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from asn1crypto import pem, x509 as asn1_x509

from rules.documents import REVOCATION_GOOD as GOOD, REVOCATION_NOT_CHECKED as NOT_CHECKED, \
    REVOCATION_UNKNOWN as UNKNOWN
from rules.i18n import _l

log = logging.getLogger(__name__)

REVOCATION_MODES = ("soft-fail", "hard-fail", "offline")
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")
# A qualified certificate for e-signatures has the non-repudiation (content commitment)
# key usage (ETSI EN 319 412-2, 4.3.2); an authentication certificate does not.
SIGNING_KEY_USAGE = frozenset({"non_repudiation"})


class TrustStoreError(RuntimeError):
    """The configured trust store cannot be used (start-up refuses it in production)."""


@dataclass
class TrustOutcome:
    """What the check found for one signer: ``trusted`` with the path and the revocation
    status, or not, with a ``reason`` to show the client (translatable) and ``detail``
    (the validator's own words, for the audit log)."""

    trusted: bool
    reason: object = None
    detail: str = ""
    path: list = field(default_factory=list)
    revocation: str = NOT_CHECKED
    revocation_detail: str = ""
    validated_at: str = ""

    def record(self):
        """The outcome as stored with the signer on the signed version (JSON)."""
        return {"chain": "trusted" if self.trusted else "untrusted", "path": self.path,
                "revocation": self.revocation, "revocation_detail": self.revocation_detail,
                "validated_at": self.validated_at}


class TrustStore:
    """The trusted CAs and the revocation policy; ``check`` validates one signer."""

    def __init__(self, roots, source="", revocation="soft-fail", timeout=10.0, unusable_reason=None):
        if revocation not in REVOCATION_MODES:
            raise TrustStoreError(f"SIGNING_REVOCATION must be one of {', '.join(REVOCATION_MODES)}, "
                                  f"not {revocation!r}")
        self.roots = list(roots)
        self.source = source
        self.revocation = revocation
        self.timeout = timeout
        self.unusable_reason = unusable_reason if unusable_reason is not None else (
            None if self.roots else _l("We cannot accept signed containers now: no trusted certification "
                                       "authority is configured. Please contact us."))

    @property
    def usable(self):
        return self.unusable_reason is None

    @classmethod
    def unconfigured(cls, source=""):
        """A store that refuses every signature (no CA is trusted)."""
        return cls([], source=source)

    @classmethod
    def from_directory(cls, directory, revocation="soft-fail", timeout=10.0, required=False):
        """Every certificate in the PEM / DER files (``*.pem``, ``*.crt``, ``*.cer``,
        ``*.der``) of ``directory`` is trusted. A missing or empty directory gives an
        unconfigured store, or raises ``TrustStoreError`` when ``required``; a file
        that is not a certificate always raises (a misconfiguration must be loud)."""
        path = Path(directory)
        roots = []
        if path.is_dir():
            for file in sorted(path.iterdir()):
                if file.is_file() and file.suffix.lower() in CERTIFICATE_SUFFIXES:
                    roots.extend(load_certificates(file))
        if not roots:
            message = (f"the trust store for e-signatures ({path}) holds no certificate: put the "
                       f"qualified CAs (PEM or DER) there")
            if required:
                raise TrustStoreError(message)
            log.warning("%s; every signed container will be refused", message)
        return cls(roots, source=str(path), revocation=revocation, timeout=timeout)

    def check(self, certificate_der, other_certificates_der=(), moment=None, signer="?"):
        """Validate the certificate (DER) of ``signer`` (their name, for the reasons) at
        ``moment`` (the signing time; now when None), with the other certificates the
        signature carries as candidate intermediates. Never raises for a bad
        certificate: the outcome says why."""
        # Imported here: pyhanko-certvalidator weighs some 20 MB, and few requests check a signature.
        from pyhanko_certvalidator import CertificateValidator, ValidationContext
        from pyhanko_certvalidator.errors import InvalidCertificateError, PathBuildingError, ValidationError
        from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
        from pyhanko_certvalidator.registry import CertificateRegistry
        now = datetime.now(timezone.utc)
        if not self.usable:
            return TrustOutcome(False, self.unusable_reason, "no trusted CA configured")
        try:
            certificate = asn1_x509.Certificate.load(certificate_der)
            others = [asn1_x509.Certificate.load(der) for der in other_certificates_der]
            certificate.native  # noqa: B018 (parses the whole structure: a broken one fails here, not deep inside)
        except (ValueError, TypeError) as error:
            return TrustOutcome(False, _l("The certificate of %(signer)s cannot be read.", signer=signer),
                                str(error))
        fetching = self.revocation != "offline"
        context = ValidationContext(
            trust_roots=self.roots, moment=moment, allow_fetching=fetching,
            # Issuer certificates are never fetched from the addresses (AIA) an uploaded
            # certificate names: those are the uploader's, and would let anyone make the
            # portal call any address. Intermediates come from the signature; fetching is
            # left to the revocation checks of certificates already on a path to a trusted CA.
            certificate_registry=CertificateRegistry.build(others),
            revocation_mode="hard-fail" if self.revocation == "hard-fail" else "soft-fail",
            # The CRLs and OCSP answers fetched now are newer than the signing time; they
            # still say whether (and since when) a certificate was revoked.
            retroactive_revinfo=True,
            fetcher_backend=RequestsFetcherBackend(per_request_timeout=self.timeout) if fetching else None)
        validator = CertificateValidator(certificate, intermediate_certs=others, validation_context=context)
        try:
            path = _run(validator.async_validate_path)
        except (PathBuildingError, InvalidCertificateError) as error:  # no path to a trusted CA, self-signed
            return TrustOutcome(False, not_trusted(signer), str(error)[:500])
        except ValidationError as error:
            return TrustOutcome(False, _refusal(error, signer), str(error)[:500])
        try:  # the path is validated already (kept by the validator): this checks the key usage
            _run(lambda: validator.async_validate_usage(set(SIGNING_KEY_USAGE)))
        except InvalidCertificateError as error:
            return TrustOutcome(False, _l("The certificate of %(signer)s is not one for signing (it lacks the "
                                          "non-repudiation key usage): sign with the signing certificate, "
                                          "not the authentication one.", signer=signer), str(error)[:500])
        return TrustOutcome(True, path=[_common_name(c) for c in path], validated_at=now.isoformat(),
                            **self._revocation_status(context, certificate))

    def _revocation_status(self, context, certificate):
        if self.revocation == "offline":
            return {"revocation": NOT_CHECKED, "revocation_detail": "revocation checks are off (offline)"}
        failures = context.soft_fail_exceptions
        if failures:
            return {"revocation": UNKNOWN,
                    "revocation_detail": "; ".join(str(f) for f in failures)[:500]}
        if not (certificate.ocsp_urls or certificate.crl_distribution_points):
            return {"revocation": NOT_CHECKED,
                    "revocation_detail": "the certificate names no OCSP responder or CRL"}
        return {"revocation": GOOD, "revocation_detail": ""}


def not_trusted(signer):
    return _l("The certificate of %(signer)s was not issued by a qualified trust service provider we "
              "trust: this is not a qualified e-signature.", signer=signer)


def _refusal(error, signer):
    """The client's reason for a certificate path the validator refused."""
    from pyhanko_certvalidator.errors import (DisallowedAlgorithmError, ExpiredError, InsufficientRevinfoError,
                                              NotYetValidError, RevokedError)
    if isinstance(error, RevokedError):
        return _l("The certificate of %(signer)s has been revoked.", signer=signer)
    if isinstance(error, (ExpiredError, NotYetValidError)):
        return _l("The certificate of %(signer)s was not valid at the signing time (expired or not yet "
                  "valid).", signer=signer)
    if isinstance(error, InsufficientRevinfoError):
        return _l("We could not check whether the certificate of %(signer)s has been revoked. Please try "
                  "again later.", signer=signer)
    if isinstance(error, DisallowedAlgorithmError):
        return _l("The certificate of %(signer)s uses an algorithm that is no longer accepted.", signer=signer)
    return not_trusted(signer)  # any other failure of the path (PathValidationError and the rest)


def load_certificates(file):
    """The certificates of one PEM (one or more) or DER file, as asn1crypto objects."""
    data = Path(file).read_bytes()
    try:
        if pem.detect(data):
            found = [asn1_x509.Certificate.load(der) for kind, _headers, der in pem.unarmor(data, multiple=True)
                     if kind == "CERTIFICATE"]
        else:
            found = [asn1_x509.Certificate.load(data)]
        for certificate in found:
            certificate.native  # noqa: B018 (parse it now: a broken file fails at start-up)
    except (ValueError, TypeError) as error:
        raise TrustStoreError(f"{file} is not a PEM or DER certificate: {error}") from error
    if not found:
        raise TrustStoreError(f"{file} holds no certificate")
    return found


def _common_name(certificate):
    name = certificate.subject.native
    return str(name.get("common_name") or certificate.subject.human_friendly)


def _run(coroutine_function):
    """Run pyhanko-certvalidator's coroutine to its end from synchronous code: here, or in a
    thread of its own when this thread already runs an event loop (asyncio.run refuses then;
    a process embedding the portal beside asyncio code, e.g. the browser tests' Playwright)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_function())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()
