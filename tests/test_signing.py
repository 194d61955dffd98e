"""The ASiC-E / EDOC container check and the signing-service callback, on containers
these tests build: XAdES signatures0.xml files whose references carry the data files'
digests, as DigiDoc / eParaksts write them, signed by certificates of the tests' own
hierarchy (tests/pki.py: a trusted root → a qualified CA → signers) or by impostors,
and checked against trust stores made here."""
import base64
import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from adapters import signing as service
from pki import hierarchy, unreachable_url
from uploads import containers as signing
from uploads.trust import TrustStore, TrustStoreError

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
ASIC = "http://uri.etsi.org/02918/v1.2.1#"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def identity(given="Jānis", surname="Bērziņš", code="PNOLV-010190-12345", curve=False, **options):
    """(key, certificate, chain) of a person, issued by the test hierarchy's qualified CA;
    ``options`` as ``CertificateHierarchy.signer`` takes them (expired, revoked …)."""
    return hierarchy().signer(given, surname, code, curve=curve, **options)


_DEFAULT_IDENTITY = None


def default_identity():
    global _DEFAULT_IDENTITY
    if _DEFAULT_IDENTITY is None:
        _DEFAULT_IDENTITY = identity()
    return _DEFAULT_IDENTITY


def now_text(moment=None):
    return (moment or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature_xml(files, key, cert, index=0, sign_names=None, chain=(), signing_time=None,
                  certificate_digest_of=None, decoy_signing_time=None):
    """signatures{index}.xml over ``files`` (name → bytes): references by URI with SHA-256
    digests, signed XAdES properties (signing time, the signing certificate's digest), the
    signature value over the canonical SignedInfo, the certificate and its ``chain``."""
    nsmap = {"asic": ASIC, "ds": DS, "xades": XADES}
    root = etree.Element(f"{{{ASIC}}}XAdESSignatures", nsmap=nsmap)
    sid = f"S{index}"
    sig = etree.SubElement(root, f"{{{DS}}}Signature", Id=sid)
    info = etree.SubElement(sig, f"{{{DS}}}SignedInfo")
    etree.SubElement(info, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N11)
    curve = isinstance(key, ec.EllipticCurvePrivateKey)
    method = "ecdsa-sha256" if curve else "rsa-sha256"
    etree.SubElement(info, f"{{{DS}}}SignatureMethod", Algorithm=f"http://www.w3.org/2001/04/xmldsig-more#{method}")
    for n, name in enumerate(sign_names if sign_names is not None else files):
        ref = etree.SubElement(info, f"{{{DS}}}Reference", Id=f"{sid}-RefId{n}", URI=quote(name))
        etree.SubElement(ref, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        etree.SubElement(ref, f"{{{DS}}}DigestValue").text = base64.b64encode(
            hashlib.sha256(files[name]).digest()).decode()
    value = etree.SubElement(sig, f"{{{DS}}}SignatureValue", Id=f"{sid}-SIG")
    key_info = etree.SubElement(sig, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    for c in (cert, *chain):
        etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(
            c.public_bytes(serialization.Encoding.DER)).decode()
    if decoy_signing_time is not None:  # unsigned properties that look like the signed ones, placed first
        decoy = etree.SubElement(etree.SubElement(etree.SubElement(etree.SubElement(
            sig, f"{{{DS}}}Object"), f"{{{XADES}}}QualifyingProperties", Target=f"#{sid}"),
            f"{{{XADES}}}SignedProperties", Id=f"{sid}-Decoy"), f"{{{XADES}}}SignedSignatureProperties")
        etree.SubElement(decoy, f"{{{XADES}}}SigningTime").text = now_text(decoy_signing_time)
    obj = etree.SubElement(sig, f"{{{DS}}}Object")
    qualifying = etree.SubElement(obj, f"{{{XADES}}}QualifyingProperties", Target=f"#{sid}")
    props = etree.SubElement(qualifying, f"{{{XADES}}}SignedProperties", Id=f"{sid}-SignedProperties")
    ssp = etree.SubElement(props, f"{{{XADES}}}SignedSignatureProperties")
    if signing_time is not False:
        etree.SubElement(ssp, f"{{{XADES}}}SigningTime").text = now_text(signing_time)
    signing_cert = etree.SubElement(ssp, f"{{{XADES}}}SigningCertificate")
    cert_id = etree.SubElement(signing_cert, f"{{{XADES}}}Cert")
    cert_digest = etree.SubElement(cert_id, f"{{{XADES}}}CertDigest")
    etree.SubElement(cert_digest, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
    etree.SubElement(cert_digest, f"{{{DS}}}DigestValue").text = base64.b64encode(
        (certificate_digest_of or cert).fingerprint(hashes.SHA256())).decode()
    issuer_serial = etree.SubElement(cert_id, f"{{{XADES}}}IssuerSerial")
    etree.SubElement(issuer_serial, f"{{{DS}}}X509IssuerName").text = cert.issuer.rfc4514_string()
    etree.SubElement(issuer_serial, f"{{{DS}}}X509SerialNumber").text = str(cert.serial_number)
    ref = etree.SubElement(info, f"{{{DS}}}Reference", Type="http://uri.etsi.org/01903#SignedProperties",
                           URI=f"#{sid}-SignedProperties")
    transforms = etree.SubElement(ref, f"{{{DS}}}Transforms")
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=C14N11)
    etree.SubElement(ref, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
    etree.SubElement(ref, f"{{{DS}}}DigestValue").text = base64.b64encode(
        hashlib.sha256(etree.tostring(props, method="c14n")).digest()).decode()
    octets = etree.tostring(info, method="c14n")
    if curve:
        r, s = decode_dss_signature(key.sign(octets, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        raw = key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    value.text = base64.b64encode(raw).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def manifest_xml(files):
    entries = "".join(f'<manifest:file-entry manifest:full-path="{n}" manifest:media-type="application/octet-stream"/>'
                      for n in files)
    return ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.etsi.asic-e+zip"/>'
            f'{entries}</manifest:manifest>').encode()


def build_container(files, signers=None, *, signed_files=None, mimetype_first=True, compress_mimetype=False,
                    with_signature=True, with_manifest=True, tamper=None, signing_time=None, **signature_options):
    """An ASiC-E container of ``files`` (name → bytes) signed by ``signers`` [(key, cert,
    chain)]. ``signed_files`` are the bytes the signatures saw (default ``files``); ``tamper``
    replaces a data file after signing; ``signing_time`` (default now, False: none) and
    ``signature_options`` go to ``signature_xml``."""
    signers = signers or [default_identity()]
    seen = signed_files or files
    stored = dict(files)
    if tamper:
        stored.update(tamper)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        def mimetype():
            z.writestr(zipfile.ZipInfo("mimetype"), signing.MIMETYPE,
                       compress_type=zipfile.ZIP_DEFLATED if compress_mimetype else zipfile.ZIP_STORED)
        if mimetype_first:
            mimetype()
        for name, data in stored.items():
            z.writestr(name, data)
        if not mimetype_first:
            mimetype()
        if with_manifest:
            z.writestr("META-INF/manifest.xml", manifest_xml(stored))
        if with_signature:
            for i, (key, cert, *chain) in enumerate(signers):
                z.writestr(f"META-INF/signatures{i}.xml",
                           signature_xml(seen, key, cert, i, chain=chain[0] if chain else (),
                                         signing_time=signing_time, **signature_options))
    return out.getvalue()


FILES = {"līgums.pdf": b"%PDF-1.4 the contract " + b"x" * 2000, "anketa.txt": b"questionnaire answers\n" * 80}
ROOT_CN, CA_CN = "Kabinets Test Root CA", "Kabinets Test Qualified CA"


@pytest.fixture(scope="module")
def trust_root_dir(tmp_path_factory):
    """A trust store directory holding the test root (as SIGNING_TRUST_DIR would)."""
    return hierarchy().write_trust_dir(tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="module")
def trust(trust_root_dir):
    return TrustStore.from_directory(trust_root_dir, timeout=3)


def problems_of(report):
    return [str(p) for p in report.problems]


# --- The container and its XAdES signatures ---------------------------------------------------

def test_valid_container_names_its_signer_and_the_trusted_path(trust):
    hierarchy().requests.clear()
    report = signing.check_container(build_container(FILES), trust=trust)
    assert report.ok, problems_of(report)
    assert report.signer_names == ["Jānis Bērziņš"]
    signer = report.signers[0]
    assert signer["serial"] == "PNOLV-010190-12345"
    assert report.data_files["līgums.pdf"] == hashlib.sha256(FILES["līgums.pdf"]).hexdigest()
    assert signer["chain"] == "trusted" and signer["revocation"] == "good"
    assert signer["path"] == [ROOT_CN, CA_CN, "BĒRZIŅŠ,JĀNIS,PNOLV-010190-12345"]
    assert signer["signing_time"] and signer["validated_at"]
    assert "/qualified.crl" in hierarchy().requests  # revocation was asked, not assumed


def test_a_container_is_checked_also_where_an_event_loop_runs(trust):
    """pyhanko-certvalidator is asynchronous: its check must work from a thread that already
    runs an event loop (the browser tests' Playwright does; asyncio.run refuses there)."""
    import asyncio

    from concurrent.futures import ThreadPoolExecutor

    async def inside_a_loop():
        return signing.check_container(build_container(FILES), trust=trust)
    # A thread of its own, whose loop this test starts (this one may run Playwright's already).
    with ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(lambda: asyncio.run(inside_a_loop())).result()
    assert report.ok, problems_of(report)


def test_two_signers_one_with_an_elliptic_curve_key(trust):
    second = identity("Līga", "Ozola", "PNOLV-020285-11111", curve=True)
    report = signing.check_container(build_container(FILES, [default_identity(), second]), trust=trust)
    assert report.ok, problems_of(report)
    assert report.signer_names == ["Jānis Bērziņš", "Līga Ozola"]


def one_file_with_two_signatures(first, second):
    """A container whose META-INF/signatures0.xml holds both signatures (ASiC-E allows it)."""
    root = etree.fromstring(signature_xml(FILES, first[0], first[1], 0, chain=first[2]))
    other = etree.fromstring(signature_xml(FILES, second[0], second[1], 1, chain=second[2]))
    root.append(other.find(f"{{{DS}}}Signature"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), signing.MIMETYPE)
        for name, data in FILES.items():
            z.writestr(name, data)
        z.writestr("META-INF/manifest.xml", manifest_xml(FILES))
        z.writestr("META-INF/signatures0.xml", etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return out.getvalue()


def test_each_signature_of_a_file_with_several_is_checked(trust):
    second = identity("Līga", "Ozola", "PNOLV-020285-11111", curve=True)
    report = signing.check_container(one_file_with_two_signatures(default_identity(), second), trust=trust)
    assert report.ok, problems_of(report)
    assert report.signer_names == ["Jānis Bērziņš", "Līga Ozola"]
    report = signing.check_container(one_file_with_two_signatures(default_identity(), hierarchy().impostor("Līga")),
                                     trust=trust)
    assert report.signer_names == ["Jānis Bērziņš"] and [r["name"] for r in report.refused] == ["Līga Bērziņš"]


def test_tampered_data_file_is_refused(trust):
    report = signing.check_container(build_container(FILES, tamper={"līgums.pdf": b"%PDF-1.4 changed" + b"y" * 2000}),
                                     trust=trust)
    assert not report.ok
    assert any("līgums.pdf" in p and "changed" in p for p in problems_of(report))


def test_missing_signature_is_refused(trust):
    report = signing.check_container(build_container(FILES, with_signature=False), trust=trust)
    assert not report.ok and "no signature" in str(report.problems[0])


def test_mimetype_not_first_is_refused(trust):
    report = signing.check_container(build_container(FILES, mimetype_first=False), trust=trust)
    assert problems_of(report) == ["The container's first entry must be “mimetype”."]


def test_compressed_mimetype_is_refused(trust):
    report = signing.check_container(build_container(FILES, compress_mimetype=True), trust=trust)
    assert problems_of(report) == ["The container's “mimetype” entry must not be compressed."]


def test_missing_manifest_is_refused(trust):
    report = signing.check_container(build_container(FILES, with_manifest=False), trust=trust)
    assert any("manifest" in p for p in problems_of(report))


def test_a_file_added_after_signing_is_refused(trust):
    signed_only = {"līgums.pdf": FILES["līgums.pdf"]}
    data = build_container(FILES, signed_files=signed_only)
    report = signing.check_container(data, trust=trust)
    assert any("anketa.txt" in p and "no signature covers it" in p for p in problems_of(report))


def test_a_reference_to_a_file_not_in_the_container_is_refused(trust):
    key, cert, chain = default_identity()
    data = build_container(FILES, signed_files=dict(FILES, **{"cits.pdf": b"x"}))
    report = signing.check_container(data, trust=trust)
    assert any("refers to cits.pdf" in p for p in problems_of(report))


def test_forged_signature_value_is_refused(trust):
    key, cert, chain = default_identity()
    other_key, _, _ = identity("Mallory", "X")
    data = build_container(FILES, [(other_key, cert, chain)])  # signed with a key the certificate does not hold
    report = signing.check_container(data, trust=trust)
    assert any("does not match what was signed" in p for p in problems_of(report))
    assert report.signers == []


def test_signing_certificate_digest_must_name_the_certificate(trust):
    """The signed properties bind the certificate: one swapped in afterwards is refused."""
    _, other_cert, _ = identity("Mallory", "X")
    report = signing.check_container(build_container(FILES, certificate_digest_of=other_cert), trust=trust)
    assert not report.ok and report.signers == []


def test_container_must_hold_the_agreed_package(trust):
    package = [hashlib.sha256(b"the package staff prepared").hexdigest()]
    report = signing.check_container(build_container(FILES), required_sha256=package, trust=trust)
    assert any("documents of the package" in p for p in problems_of(report))


def test_not_a_zip_is_refused(trust):
    assert not signing.check_container(b"%PDF-1.4 not a container", trust=trust).ok


def test_path_traversal_entry_is_refused(trust):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), signing.MIMETYPE)
        z.writestr("../evil.txt", b"x")
    report = signing.check_container(out.getvalue(), trust=trust)
    assert any("not allowed" in p for p in problems_of(report))


# --- Whom the signature is checked against -------------------------------------------------------

def test_self_signed_impostor_is_refused(trust):
    """A certificate anyone can make, naming the same person and an issuer called like the CA."""
    report = signing.check_container(build_container(FILES, [hierarchy().impostor()]), trust=trust)
    assert report.signers == [] and [r["name"] for r in report.refused] == ["Jānis Bērziņš"]
    assert problems_of(report) == ["The certificate of Jānis Bērziņš was not issued by a qualified trust service "
                                   "provider we trust: this is not a qualified e-signature."]


def test_a_genuine_signer_is_refused_by_a_store_that_does_not_trust_its_root(tmp_path):
    _, impostor_cert, _ = hierarchy().impostor()
    other = TrustStore.from_directory(hierarchy().write_trust_dir(tmp_path, impostor_cert), timeout=3)
    report = signing.check_container(build_container(FILES), trust=other)
    assert report.signers == [] and any("not issued by a qualified trust service provider" in p
                                        for p in problems_of(report))


@pytest.mark.parametrize("revocation", [
    "offline",
    pytest.param("soft-fail", marks=pytest.mark.xfail(strict=True, reason=(
        "pyhanko-certvalidator 0.33 cannot validate a CRL signed by a trust anchor that is not self-signed "
        "(ValidationPath.truncate_to_issuer_and_append finds no issuer for it): see README, SIGNING_TRUST_DIR"))),
])
def test_the_qualified_ca_itself_may_be_the_trust_anchor(tmp_path, revocation):
    """The EU trusted lists name the issuing qualified CAs: trusting one is enough for the path."""
    store = TrustStore.from_directory(hierarchy().write_trust_dir(tmp_path, hierarchy().ca, der=True),
                                      revocation=revocation, timeout=3)
    report = signing.check_container(build_container(FILES), trust=store)
    assert report.ok, problems_of(report)
    assert report.signers[0]["path"] == [CA_CN, "BĒRZIŅŠ,JĀNIS,PNOLV-010190-12345"]


def test_issuer_certificates_named_in_an_uploaded_certificate_are_not_fetched(trust):
    """The addresses in an uploaded certificate are the uploader's: following its issuer
    URL (AIA) would let anyone make the portal call any address. Intermediates come from
    the signature or the trust store; only CAs' own OCSP/CRL addresses are asked."""
    key, cert, _chain = identity("Ivars", "Bezķēdes", "PNOLV-161616-77777", issuer_url=hierarchy().ca_url)
    hierarchy().requests.clear()
    report = signing.check_container(build_container(FILES, [(key, cert, [])]), trust=trust)
    assert report.signers == [] and any("not issued by a qualified trust service provider" in p
                                        for p in problems_of(report))
    assert "/ca.crt" not in hierarchy().requests


def test_expired_signer_is_refused(trust):
    now = datetime.now(timezone.utc)
    expired = identity("Pēteris", "Vecais", "PNOLV-111111-22222", not_before=now - timedelta(days=400),
                       not_after=now - timedelta(days=30))
    report = signing.check_container(build_container(FILES, [expired]), trust=trust)
    assert report.signers == []
    assert problems_of(report) == ["The certificate of Pēteris Vecais was not valid at the signing time "
                                   "(expired or not yet valid)."]


def test_signer_revoked_before_signing_is_refused(trust):
    revoked = identity("Roberts", "Atsauktais", "PNOLV-121212-33333",
                       revoked_at=datetime.now(timezone.utc) - timedelta(days=1))
    report = signing.check_container(build_container(FILES, [revoked]), trust=trust)
    assert report.signers == []
    assert problems_of(report) == ["The certificate of Roberts Atsauktais has been revoked."]
    assert "revoked" in report.refused[0]["detail"]


def test_signer_revoked_after_signing_is_judged_at_the_signing_time(trust):
    """The validation time is the signing time: a revocation after it does not undo the signature
    (the signing time itself cannot be older than the package, see the tests below)."""
    now = datetime.now(timezone.utc)
    later_revoked = identity("Rita", "Vēlāk", "PNOLV-131313-44444", revoked_at=now - timedelta(hours=1))
    report = signing.check_container(build_container(FILES, [later_revoked], signing_time=now - timedelta(hours=3)),
                                     trust=trust)
    assert report.ok, problems_of(report)
    assert report.signers[0]["revocation"] == "good"


def test_an_authentication_certificate_does_not_sign(trust):
    """A qualified signature needs the non-repudiation key usage (ETSI EN 319 412-2)."""
    auth = identity("Anna", "Autentifikācija", "PNOLV-141414-55555", signing_usage=False)
    report = signing.check_container(build_container(FILES, [auth]), trust=trust)
    assert report.signers == []
    assert any("not one for signing" in p for p in problems_of(report))


def test_unreachable_revocation_soft_fails_and_is_recorded(trust):
    offline_crl = identity("Uldis", "Nesasniedzams", "PNOLV-151515-66666", crl_url=unreachable_url())
    report = signing.check_container(build_container(FILES, [offline_crl]), trust=trust)
    assert report.ok, problems_of(report)
    signer = report.signers[0]
    assert signer["chain"] == "trusted" and signer["revocation"] == "unknown"
    assert "gone.crl" in signer["revocation_detail"]


def test_unreachable_revocation_hard_fails_when_so_configured(trust_root_dir):
    strict = TrustStore.from_directory(trust_root_dir, revocation="hard-fail", timeout=3)
    offline_crl = identity("Uldis", "Nesasniedzams", "PNOLV-151515-66666", crl_url=unreachable_url())
    report = signing.check_container(build_container(FILES, [offline_crl]), trust=strict)
    assert report.signers == []
    assert any("could not check whether the certificate of Uldis Nesasniedzams has been revoked" in p
               for p in problems_of(report))


def test_offline_policy_records_revocation_not_checked(trust_root_dir):
    offline = TrustStore.from_directory(trust_root_dir, revocation="offline")
    hierarchy().requests.clear()
    report = signing.check_container(build_container(FILES), trust=offline)
    assert report.ok and report.signers[0]["revocation"] == "not_checked"
    assert hierarchy().requests == []


def test_a_store_with_no_certificate_refuses_every_container(tmp_path):
    store = TrustStore.from_directory(tmp_path)  # development: empty, not an error
    report = signing.check_container(build_container(FILES), trust=store)
    assert report.signers == []
    assert problems_of(report) == ["We cannot accept signed containers now: no trusted certification authority "
                                   "is configured. Please contact us."]


# --- The signing time ------------------------------------------------------------------------

def test_signing_time_in_the_future_is_refused(trust):
    report = signing.check_container(
        build_container(FILES, signing_time=datetime.now(timezone.utc) + timedelta(days=2)), trust=trust)
    assert any("lies in the future" in p for p in problems_of(report))


def test_a_signature_older_than_the_package_is_refused(trust):
    """A signer cannot date a signature back to when a since-expired certificate was valid."""
    now = datetime.now(timezone.utc)
    report = signing.check_container(build_container(FILES, signing_time=now - timedelta(days=3)), trust=trust,
                                     not_before=now - timedelta(hours=1))
    assert any("made before this package was prepared" in p for p in problems_of(report))


def test_only_the_signed_signing_time_counts(trust):
    """An unsigned copy of the properties placed first, dating the signature back into the
    validity of an expired certificate, is not the time the check uses."""
    now = datetime.now(timezone.utc)
    expired = identity("Pēteris", "Vecais", "PNOLV-111111-22222", not_before=now - timedelta(days=400),
                       not_after=now - timedelta(days=30))
    report = signing.check_container(
        build_container(FILES, [expired], decoy_signing_time=now - timedelta(days=60)), trust=trust)
    assert report.signers == [] and not report.ok
    assert report.refused[0]["detail"] == "the signing time used is not the signed one"


def test_a_signature_without_signing_time_is_judged_now(trust):
    report = signing.check_container(build_container(FILES, signing_time=False), trust=trust)
    assert report.ok, problems_of(report)
    assert report.signers[0]["signing_time"] == ""


# --- The trust store directory ---------------------------------------------------------------

def test_trust_dir_reads_pem_bundles_and_der_and_ignores_other_files(tmp_path):
    pki = hierarchy()
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (pki.root, pki.ca))
    (tmp_path / "bundle.pem").write_bytes(pem)
    (tmp_path / "ca.cer").write_bytes(pki.ca.public_bytes(serialization.Encoding.DER))
    (tmp_path / "README.txt").write_text("qualified CAs from the EU trusted lists")
    assert len(TrustStore.from_directory(tmp_path).roots) == 3


def test_trust_dir_with_a_broken_certificate_fails_loudly(tmp_path):
    (tmp_path / "broken.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustStoreError):
        TrustStore.from_directory(tmp_path)


@pytest.mark.parametrize("exists", [False, True])
def test_a_required_trust_dir_must_hold_a_certificate(tmp_path, exists):
    directory = tmp_path / "trust"
    if exists:
        directory.mkdir()
    with pytest.raises(TrustStoreError):
        TrustStore.from_directory(directory, required=True)


def test_unknown_revocation_policy_is_refused(trust_root_dir):
    with pytest.raises(TrustStoreError):
        TrustStore.from_directory(trust_root_dir, revocation="maybe")


def test_callback_signature_and_freshness():
    secret = b"k" * 32
    body = json.dumps({"invitation": "t", "status": "signed"}).encode()
    now = 1_800_000_000
    mac = service.sign_callback(body, now, secret)
    assert service.verify_callback(body, str(now), mac, 300, now=now + 10, secret=secret)["invitation"] == "t"
    assert service.verify_callback(body, str(now), mac, 300, now=now + 301, secret=secret) is None
    assert service.verify_callback(body + b" ", str(now), mac, 300, now=now, secret=secret) is None
    assert service.verify_callback(body, str(now), "0" * 64, 300, now=now, secret=secret) is None
    assert service.verify_callback(body, "soon", mac, 300, now=now, secret=secret) is None


@pytest.mark.parametrize("size", [1, 3])
def test_builder_makes_stored_mimetype_first(size):
    files = {f"f{i}.txt": b"abc" * 400 for i in range(size)}
    with zipfile.ZipFile(io.BytesIO(build_container(files))) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
