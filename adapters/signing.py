"""The signing service (DOC-10; e.g. Dokobit), reached through an adapter.

An adapter has a ``name`` (stored on each invitation) and ``invitation_url(invitation)``,
the address the signer opens. ``DevSigningService`` records the invitation and lets a
development page of this portal play the service, which answers through the same
HMAC-signed callback a real one would; it is refused in production. ``NoSigningService``
(``SIGNING_BACKEND=none``) is production without a service: clients upload the package
signed elsewhere, and nobody is offered an invitation.

After a signing, ``signed_container(files, signers)`` gives the container the service
returns (ASiC-E bytes, as a real service's download does), which the portal keeps as the
signed version, so the client and staff can download it.

The callback codec (``sign_callback``, ``verify_callback``, ``signed_callback``) is the
service's side of the webhook: HMAC-SHA256 over ``timestamp.body`` with a shared secret.
"""
import hashlib
import hmac
import json
import time

from rules.keys import same

SIGNATURE_HEADER = "X-Signing-Signature"
TIMESTAMP_HEADER = "X-Signing-Timestamp"


def sign_callback(body, timestamp, secret):
    """The HMAC-SHA256 a callback carries over ``timestamp.body``."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_callback(body, timestamp, signature, max_age_seconds, secret, now=None):
    """The parsed payload of an authentic, fresh callback; None otherwise (never raises)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return None
    if abs((now or time.time()) - sent) > max_age_seconds:
        return None
    if not same(sign_callback(body, sent, secret), signature or ""):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def signed_callback(payload, secret, now=None):
    """(body, headers) of a callback as the service sends it (the dev page and tests use it)."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = int(now or time.time())
    return body, {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign_callback(body, timestamp, secret),
                  "Content-Type": "application/json"}


class DevSigningService:
    """Development backend: nothing leaves the machine. The invitation is a row; the
    "service" is a page of this portal that completes it through the signed callback."""

    name = "dev"
    development_only = True
    available = True

    def __init__(self, secret, path_for_token):
        self.secret = secret  # the webhook's shared secret
        self._path_for_token = path_for_token  # the dev page's path, built without a request

    def invitation_url(self, invitation):
        """The address the signer opens for an invitation row."""
        return self._path_for_token(invitation.token)

    def signed_container(self, files, signers):
        """The package "signed" here, as a real service returns it: an ASiC-E container of
        ``files`` [(name, bytes)] with a XAdES signature for each signer's name, made with a
        self-signed development certificate — never a qualified signature (uploaded back,
        it is refused like any untrusted signer)."""
        return development_container(files, [s["name"] for s in signers])


class NoSigningService:
    """No signing service: invitations are not offered (``available`` is False), so the
    package is signed elsewhere and uploaded as a container."""

    name = "none"
    development_only = False
    available = False

    def __init__(self, secret):
        self.secret = secret  # a callback still needs one to be refused properly

    def invitation_url(self, invitation):
        raise RuntimeError("no signing service is configured (SIGNING_BACKEND=none)")

    def signed_container(self, files, signers):
        return None


# --- The development service's container ------------------------------------------------------

ASIC_MIMETYPE = b"application/vnd.etsi.asic-e+zip"
_DS, _XADES, _ASIC = ("http://www.w3.org/2000/09/xmldsig#", "http://uri.etsi.org/01903/v1.3.2#",
                      "http://uri.etsi.org/02918/v1.2.1#")
_C14N11, _SHA256 = "http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/2001/04/xmlenc#sha256"


def development_container(files, signer_names):
    """An ASiC-E container (``mimetype`` first and stored, the files, the manifest, one
    ``META-INF/signatures{n}.xml`` per signer) signed with throw-away development keys."""
    import io
    import zipfile
    from xml.sax.saxutils import quoteattr

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ASIC_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for name, data in files:
            archive.writestr(name, data)
        entries = "".join(f"<manifest:file-entry manifest:full-path={quoteattr(n)} "
                          'manifest:media-type="application/octet-stream"/>' for n, _data in files)
        archive.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.etsi.asic-e+zip"/>'
            f"{entries}</manifest:manifest>").encode())
        for index, signer in enumerate(signer_names):
            archive.writestr(f"META-INF/signatures{index}.xml", _development_signature(files, signer, index))
    return out.getvalue()


def _development_signature(files, signer, index):
    """XAdES over ``files`` by a self-signed certificate in ``signer``'s name (development only)."""
    import base64
    from datetime import datetime, timedelta, timezone
    from urllib.parse import quote

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import NameOID
    from lxml import etree

    now = datetime.now(timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, signer[:64] or "-"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Development signing service, not qualified")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))

    def sub(parent, tag, text=None, **attributes):
        element = etree.SubElement(parent, tag, **attributes)
        if text is not None:
            element.text = text
        return element

    def digest(data):
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    ds, xades, sid = f"{{{_DS}}}", f"{{{_XADES}}}", f"S{index}"
    root = etree.Element(f"{{{_ASIC}}}XAdESSignatures", nsmap={"asic": _ASIC, "ds": _DS, "xades": _XADES})
    signature = sub(root, ds + "Signature", Id=sid)
    info = sub(signature, ds + "SignedInfo")
    sub(info, ds + "CanonicalizationMethod", Algorithm=_C14N11)
    sub(info, ds + "SignatureMethod", Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
    for n, (file_name, data) in enumerate(files):
        reference = sub(info, ds + "Reference", Id=f"{sid}-RefId{n}", URI=quote(file_name))
        sub(reference, ds + "DigestMethod", Algorithm=_SHA256)
        sub(reference, ds + "DigestValue", digest(data))
    value = sub(signature, ds + "SignatureValue", Id=f"{sid}-SIG")
    sub(sub(sub(signature, ds + "KeyInfo"), ds + "X509Data"), ds + "X509Certificate",
        base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode())
    qualifying = sub(sub(signature, ds + "Object"), xades + "QualifyingProperties", Target=f"#{sid}")
    properties = sub(qualifying, xades + "SignedProperties", Id=f"{sid}-SignedProperties")
    signed_signature = sub(properties, xades + "SignedSignatureProperties")
    sub(signed_signature, xades + "SigningTime", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    cert_id = sub(sub(signed_signature, xades + "SigningCertificate"), xades + "Cert")
    cert_digest = sub(cert_id, xades + "CertDigest")
    sub(cert_digest, ds + "DigestMethod", Algorithm=_SHA256)
    sub(cert_digest, ds + "DigestValue", base64.b64encode(cert.fingerprint(hashes.SHA256())).decode())
    issuer_serial = sub(cert_id, xades + "IssuerSerial")
    sub(issuer_serial, ds + "X509IssuerName", cert.issuer.rfc4514_string())
    sub(issuer_serial, ds + "X509SerialNumber", str(cert.serial_number))
    reference = sub(info, ds + "Reference", Type="http://uri.etsi.org/01903#SignedProperties",
                    URI=f"#{sid}-SignedProperties")
    sub(sub(reference, ds + "Transforms"), ds + "Transform", Algorithm=_C14N11)
    sub(reference, ds + "DigestMethod", Algorithm=_SHA256)
    sub(reference, ds + "DigestValue", digest(etree.tostring(properties, method="c14n")))
    r, s = decode_dss_signature(key.sign(etree.tostring(info, method="c14n"), ec.ECDSA(hashes.SHA256())))
    value.text = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
