"""The ASiC-E / EDOC container check and the signing-service callback, on containers
these tests build: a self-signed certificate and an XAdES-like signatures0.xml whose
references carry the data files' digests, as DigiDoc / eParaksts write them."""
import base64
import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree

from adapters import signing as service
from uploads import containers as signing

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
ASIC = "http://uri.etsi.org/02918/v1.2.1#"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def identity(given="Jānis", surname="Bērziņš", code="PNOLV-010190-12345", curve=False):
    """A key and a self-signed certificate naming a person, as a qualified one would."""
    key = ec.generate_private_key(ec.SECP256R1()) if curve else rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
                      x509.NameAttribute(NameOID.GIVEN_NAME, given),
                      x509.NameAttribute(NameOID.SURNAME, surname),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{surname.upper()},{given.upper()},{code}"),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, code)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Qualified CA")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, cert


_DEFAULT_IDENTITY = None


def default_identity():
    global _DEFAULT_IDENTITY
    if _DEFAULT_IDENTITY is None:
        _DEFAULT_IDENTITY = identity()
    return _DEFAULT_IDENTITY


def signature_xml(files, key, cert, index=0, sign_names=None):
    """signatures{index}.xml over ``files`` (name → bytes): references with SHA-256 digests,
    signed XAdES properties, the signature value over the canonical SignedInfo, the cert."""
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
        ref = etree.SubElement(info, f"{{{DS}}}Reference", Id=f"{sid}-RefId{n}", URI=name.replace(" ", "%20"))
        etree.SubElement(ref, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        etree.SubElement(ref, f"{{{DS}}}DigestValue").text = base64.b64encode(
            hashlib.sha256(files[name]).digest()).decode()
    value = etree.SubElement(sig, f"{{{DS}}}SignatureValue", Id=f"{sid}-SIG")
    key_info = etree.SubElement(sig, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(
        cert.public_bytes(serialization.Encoding.DER)).decode()
    obj = etree.SubElement(sig, f"{{{DS}}}Object")
    qualifying = etree.SubElement(obj, f"{{{XADES}}}QualifyingProperties", Target=f"#{sid}")
    props = etree.SubElement(qualifying, f"{{{XADES}}}SignedProperties", Id=f"{sid}-SignedProperties")
    ssp = etree.SubElement(props, f"{{{XADES}}}SignedSignatureProperties")
    etree.SubElement(ssp, f"{{{XADES}}}SigningTime").text = "2026-11-22T10:00:00Z"
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
                    with_signature=True, with_manifest=True, tamper=None):
    """An ASiC-E container of ``files`` (name → bytes) signed by ``signers`` [(key, cert)].
    ``signed_files`` are the bytes the signatures saw (default ``files``); ``tamper`` replaces
    a data file after signing."""
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
            for i, (key, cert) in enumerate(signers):
                z.writestr(f"META-INF/signatures{i}.xml", signature_xml(seen, key, cert, i))
    return out.getvalue()


FILES = {"līgums.pdf": b"%PDF-1.4 the contract " + b"x" * 2000, "anketa.txt": b"questionnaire answers\n" * 80}


def test_valid_container_names_its_signer():
    report = signing.check_container(build_container(FILES))
    assert report.ok, [str(p) for p in report.problems]
    assert report.signer_names == ["Jānis Bērziņš"]
    assert report.signers[0]["serial"] == "PNOLV-010190-12345"
    assert report.data_files["līgums.pdf"] == hashlib.sha256(FILES["līgums.pdf"]).hexdigest()


def test_two_signers_one_with_an_elliptic_curve_key():
    second = identity("Līga", "Ozola", "PNOLV-020285-11111", curve=True)
    report = signing.check_container(build_container(FILES, [default_identity(), second]))
    assert report.ok, [str(p) for p in report.problems]
    assert report.signer_names == ["Jānis Bērziņš", "Līga Ozola"]


def test_tampered_data_file_is_refused():
    report = signing.check_container(build_container(FILES, tamper={"līgums.pdf": b"%PDF-1.4 changed" + b"y" * 2000}))
    assert not report.ok
    assert any("līgums.pdf" in str(p) and "changed" in str(p) for p in report.problems)


def test_missing_signature_is_refused():
    report = signing.check_container(build_container(FILES, with_signature=False))
    assert not report.ok and "no signature" in str(report.problems[0])


def test_mimetype_not_first_is_refused():
    report = signing.check_container(build_container(FILES, mimetype_first=False))
    assert [str(p) for p in report.problems] == ["The container's first entry must be “mimetype”."]


def test_compressed_mimetype_is_refused():
    report = signing.check_container(build_container(FILES, compress_mimetype=True))
    assert [str(p) for p in report.problems] == ["The container's “mimetype” entry must not be compressed."]


def test_missing_manifest_is_refused():
    report = signing.check_container(build_container(FILES, with_manifest=False))
    assert any("manifest" in str(p) for p in report.problems)


def test_a_file_added_after_signing_is_refused():
    signed_only = {"līgums.pdf": FILES["līgums.pdf"]}
    data = build_container(FILES, signed_files=signed_only)
    report = signing.check_container(data)
    assert any("anketa.txt" in str(p) and "no signature covers it" in str(p) for p in report.problems)


def test_forged_signature_value_is_refused():
    key, cert = default_identity()
    other_key, _ = identity("Mallory", "X")
    data = build_container(FILES, [(other_key, cert)])  # signed with a key the certificate does not hold
    report = signing.check_container(data)
    assert any("does not match what was signed" in str(p) for p in report.problems)


def test_container_must_hold_the_agreed_package():
    package = [hashlib.sha256(b"the package staff prepared").hexdigest()]
    report = signing.check_container(build_container(FILES), required_sha256=package)
    assert any("documents of the package" in str(p) for p in report.problems)


def test_not_a_zip_is_refused():
    assert not signing.check_container(b"%PDF-1.4 not a container").ok


def test_path_traversal_entry_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), signing.MIMETYPE)
        z.writestr("../evil.txt", b"x")
    report = signing.check_container(out.getvalue())
    assert any("not allowed" in str(p) for p in report.problems)


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
