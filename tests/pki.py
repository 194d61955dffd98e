"""A certification hierarchy of the tests' own, made with ``cryptography``:
a trusted root → a qualified CA → signers, with the CRLs of both CAs (and the qualified
CA's certificate) served over HTTP on the loopback address, as a CA's CRL distribution
point and issuer URL would be.

``hierarchy()`` makes it once per process; ``write_trust_dir`` writes a trust store
(the root's certificate by default; conftest configures every test app with one). Signers can be
made expired, not yet valid, revoked (the qualified CA's CRL then lists them), without
the non-repudiation key usage, or pointing at a CRL address that does not answer;
``impostor()`` is a self-signed certificate that looks like a qualified one.
"""
import http.server
import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.now(timezone.utc)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def person(given, surname, code):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
                      x509.NameAttribute(NameOID.GIVEN_NAME, given),
                      x509.NameAttribute(NameOID.SURNAME, surname),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{surname.upper()},{given.upper()},{code}"),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, code)])


def organisation(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kabinets Test Trust Services"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(signing=False, ca=False, digital_signature=False):
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=signing, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def certificate(subject, public_key, issuer, issuer_key, *, ca, not_before, not_after, crl_url=None,
                key_usage=None, issuer_url=None):
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(key_usage or _key_usage(ca=ca), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
    if issuer_url:  # where the issuer's certificate can be fetched (AIA caIssuers)
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(issuer_url))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class _CrlServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


class CertificateHierarchy:
    """Root → qualified CA → signers; ``crl_url`` serves each CA's current CRL."""

    def __init__(self):
        self.revoked = {}  # serial → revocation time (the qualified CA's CRL)
        self._server = _CrlServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.root_crl_url, self.crl_url = f"{base}/root.crl", f"{base}/qualified.crl"
        self.ca_url = f"{base}/ca.crt"
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.root = certificate(organisation("Kabinets Test Root CA"), self.root_key.public_key(),
                                organisation("Kabinets Test Root CA"), self.root_key, ca=True,
                                not_before=NOW - timedelta(days=3650), not_after=NOW + timedelta(days=3650))
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = certificate(organisation("Kabinets Test Qualified CA"), self.ca_key.public_key(),
                              self.root.subject, self.root_key, ca=True, not_before=NOW - timedelta(days=1000),
                              not_after=NOW + timedelta(days=1000), crl_url=self.root_crl_url)
        self.requests = []

    def _handler(self):
        pki = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                pki.requests.append(self.path)
                body = pki.ca.public_bytes(serialization.Encoding.DER) if self.path == "/ca.crt" \
                    else pki.crl(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def crl(self, path):
        """The DER CRL of the root or the qualified CA, signed now."""
        if path == "/root.crl":
            issuer, key, revoked = self.root, self.root_key, {}
        elif path == "/qualified.crl":
            issuer, key, revoked = self.ca, self.ca_key, self.revoked
        else:
            return None
        now = datetime.now(timezone.utc)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
                   .last_update(now - timedelta(minutes=5)).next_update(now + timedelta(days=1))
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
                   .add_extension(x509.CRLNumber(len(revoked) + 1), critical=False))
        for serial, when in revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def signer(self, given="Jānis", surname="Bērziņš", code="PNOLV-010190-12345", *, curve=False,
               not_before=None, not_after=None, revoked_at=None, signing_usage=True, crl_url="served",
               issuer_url=None):
        """(key, certificate, [qualified CA]) of a person, issued by the qualified CA."""
        key = ec.generate_private_key(ec.SECP256R1()) if curve else rsa.generate_private_key(65537, 2048)
        cert = certificate(person(given, surname, code), key.public_key(), self.ca.subject, self.ca_key, ca=False,
                           not_before=not_before or NOW - timedelta(days=30),
                           not_after=not_after or NOW + timedelta(days=700),
                           crl_url=self.crl_url if crl_url == "served" else crl_url,
                           key_usage=_key_usage(signing=signing_usage, digital_signature=not signing_usage),
                           issuer_url=issuer_url)
        if revoked_at is not None:
            self.revoked[cert.serial_number] = revoked_at
        return key, cert, [self.ca]

    def impostor(self, given="Jānis", surname="Bērziņš", code="PNOLV-010190-12345"):
        """A self-signed certificate naming the same person and an issuer called like the
        qualified CA: what anyone can make."""
        key = rsa.generate_private_key(65537, 2048)
        cert = certificate(person(given, surname, code), key.public_key(), self.ca.subject, key, ca=False,
                           not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=365),
                           key_usage=_key_usage(signing=True))
        return key, cert, []

    def write_trust_dir(self, directory, *certificates, der=False):
        """A trust store directory holding ``certificates`` (default: the root)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for n, cert in enumerate(certificates or (self.root,)):
            encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
            (directory / f"ca{n}.{'der' if der else 'pem'}").write_bytes(cert.public_bytes(encoding))
        return str(directory)


_HIERARCHY = None


def hierarchy():
    """The process's hierarchy (made once: keys take time)."""
    global _HIERARCHY
    if _HIERARCHY is None:
        _HIERARCHY = CertificateHierarchy()
    return _HIERARCHY


def unreachable_url():
    """An address on this machine where nothing listens (a CRL that cannot be fetched)."""
    return f"http://127.0.0.1:{_free_port()}/gone.crl"
