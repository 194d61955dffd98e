"""Signed packages: the EDOC / ASiC-E container check.

``check_container`` validates a container the client signed elsewhere (DOC-9)
without pyasice, which does not import on OpenSSL 3 and skips the data-file digests:
the zip layout (``mimetype`` first and stored), the manifest,
at least one ``META-INF/signatures*.xml``, every data file's digest against the
``ds:Reference`` that signs it, the digest of the signed XAdES properties, the
signature value over ``ds:SignedInfo`` with the key of the certificate inside,
and the signer names from that certificate. It does not check the certificate
chain against the EU trusted lists or revocation (no network here): staff see
the signer names and the issuer.
"""
import base64
import hashlib
import hmac
import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree

from rules.i18n import _l
from rules.uploads import ZIP_MAX_ENTRIES, ZIP_MAX_UNZIPPED, looks_like_zip_bomb

MIMETYPE = b"application/vnd.etsi.asic-e+zip"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS, "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"}

DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashlib.sha1,
    "http://www.w3.org/2001/04/xmldsig-more#sha224": hashlib.sha224,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashlib.sha256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashlib.sha384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashlib.sha512,
}
SIGNATURE_METHODS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", hashes.SHA256),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", hashes.SHA384),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", hashes.SHA512),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ec", hashes.SHA256),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ec", hashes.SHA384),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ec", hashes.SHA512),
}
C14N = {  # algorithm → (exclusive, with_comments); C14N 1.1 equals 1.0 without xml:id/xml:base
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}

# Limits that keep a hostile zip from costing much (the upload checks run first).
MAX_XML = 5 * 1024 * 1024


@dataclass
class ContainerReport:
    """What the check found: problems (translatable), signers and the data files."""

    problems: list = field(default_factory=list)
    signers: list = field(default_factory=list)      # dicts: name, serial, issuer
    data_files: dict = field(default_factory=dict)   # name → SHA-256 hex

    @property
    def ok(self):
        return not self.problems

    @property
    def signer_names(self):
        return [s["name"] for s in self.signers]


def check_container(data, required_sha256=()):
    """Check an ASiC-E / EDOC container given as bytes; ``required_sha256`` are the
    digests of the package files that must be inside (the package that was agreed)."""
    report = ContainerReport()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        report.problems.append(_l("The file is not a signed container (EDOC or ASiC-E)."))
        return report
    with archive:
        if not _layout_ok(archive, entries, report):
            return report
        contents = {}
        for info in entries:
            if not info.is_dir():
                try:
                    contents[info.filename] = _read(archive, info)
                except (zipfile.BadZipFile, ValueError, OSError, RuntimeError):
                    report.problems.append(_l("The container is damaged: %(name)s cannot be read.",
                                              name=info.filename))
                    return report
    data_names = [n for n in contents if n != "mimetype" and not n.startswith("META-INF/")]
    report.data_files = {n: hashlib.sha256(contents[n]).hexdigest() for n in data_names}
    if not data_names:
        report.problems.append(_l("The container holds no documents."))
    _check_manifest(contents, data_names, report)
    signature_names = sorted(n for n in contents if _is_signature_file(n))
    if not signature_names:
        report.problems.append(_l("The container holds no signature (META-INF/signatures*.xml): "
                                  "sign the package first."))
        return report
    covered = set()
    for name in signature_names:
        covered |= _check_signature_file(name, contents[name], contents, report)
    for name in data_names:
        if name not in covered:
            report.problems.append(_l("%(name)s is in the container but no signature covers it.",
                                      name=name))
    present = set(report.data_files.values())
    missing = [d for d in required_sha256 if d not in present]
    if missing:
        report.problems.append(_l("The container does not hold the documents of the package you "
                                  "agreed to (%(n)d missing). Sign exactly the files of the package.",
                                  n=len(missing)))
    return report


def _layout_ok(archive, entries, report):
    if not entries or entries[0].filename != "mimetype":
        report.problems.append(_l("The container's first entry must be “mimetype”."))
        return False
    if entries[0].compress_type != zipfile.ZIP_STORED:
        report.problems.append(_l("The container's “mimetype” entry must not be compressed."))
        return False
    if archive.read(entries[0]).strip() != MIMETYPE:
        report.problems.append(_l("The container is not of the type application/vnd.etsi.asic-e+zip."))
        return False
    if len(entries) > ZIP_MAX_ENTRIES or sum(i.file_size for i in entries) > ZIP_MAX_UNZIPPED:
        report.problems.append(_l("The container is too large when unpacked."))
        return False
    for info in entries:
        name = info.filename
        if (name.startswith("/") or "\\" in name or ".." in posixpath.normpath(name).split("/")
                or looks_like_zip_bomb(info.file_size, info.compress_size)):
            report.problems.append(_l("The container holds an entry that is not allowed: %(name)s.",
                                      name=name[:100]))
            return False
    names = [i.filename for i in entries]
    if len(set(names)) != len(names):
        report.problems.append(_l("The container holds two entries with the same name."))
        return False
    return True


def _read(archive, info):
    """Read an entry, never more than it declares (a lying header cannot inflate)."""
    with archive.open(info) as stream:
        data = stream.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ValueError("size mismatch")
    return data


def _is_signature_file(name):
    base = posixpath.basename(name).lower()
    return posixpath.dirname(name) == "META-INF" and "signatures" in base and base.endswith(".xml")


def _parse_xml(data):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=False)
    if len(data) > MAX_XML:
        raise etree.XMLSyntaxError("too large", None, 0, 0)
    return etree.fromstring(data, parser)


def _check_manifest(contents, data_names, report):
    manifest = contents.get("META-INF/manifest.xml")
    if manifest is None:
        report.problems.append(_l("The container has no manifest (META-INF/manifest.xml)."))
        return
    try:
        root = _parse_xml(manifest)
    except etree.XMLSyntaxError:
        report.problems.append(_l("The container's manifest cannot be read."))
        return
    listed = {e.get("{%s}full-path" % NS["manifest"]) for e in root.iter("{%s}file-entry" % NS["manifest"])}
    for name in data_names:
        if name not in listed:
            report.problems.append(_l("%(name)s is not listed in the container's manifest.", name=name))


def _check_signature_file(name, data, contents, report):
    """Check every ds:Signature in one signatures*.xml; return the data files they cover."""
    covered = set()
    try:
        root = _parse_xml(data)
    except etree.XMLSyntaxError:
        report.problems.append(_l("The signature file %(name)s cannot be read.", name=name))
        return covered
    signatures = [root] if root.tag == f"{{{DS}}}Signature" else root.findall("ds:Signature", NS)
    if not signatures:
        report.problems.append(_l("The signature file %(name)s holds no signature.", name=name))
    for signature in signatures:
        covered |= _check_signature(signature, contents, report)
    return covered


def _check_signature(signature, contents, report):
    covered = set()
    signed_info = signature.find("ds:SignedInfo", NS)
    cert_text = signature.findtext(".//ds:KeyInfo//ds:X509Certificate", namespaces=NS)
    if signed_info is None or not cert_text:
        report.problems.append(_l("A signature in the container is incomplete (no signed info or certificate)."))
        return covered
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join(cert_text.split())))
    except ValueError:
        report.problems.append(_l("A signature's certificate cannot be read."))
        return covered
    signer = _signer(certificate)
    references = signed_info.findall("ds:Reference", NS)
    problems_before = len(report.problems)
    for reference in references:
        uri = reference.get("URI", "")
        method = reference.find("ds:DigestMethod", NS)
        value = reference.findtext("ds:DigestValue", namespaces=NS) or ""
        digest = DIGESTS.get(method.get("Algorithm") if method is not None else "")
        if digest is None:
            report.problems.append(_l("The signature of %(signer)s uses a digest method we do not accept.",
                                      signer=signer["name"]))
            continue
        if uri.startswith("#"):
            target = _element_by_id(signature, uri[1:])
            if target is None:
                report.problems.append(_l("The signature of %(signer)s refers to missing signed properties.",
                                          signer=signer["name"]))
                continue
            octets = _canonical(target, _transform(reference))
        else:
            target_name = unquote(uri)
            if target_name not in contents or target_name == "mimetype" or target_name.startswith("META-INF/"):
                report.problems.append(_l("The signature of %(signer)s refers to %(name)s, which is not in "
                                          "the container.", signer=signer["name"], name=target_name[:100]))
                continue
            octets = contents[target_name]
            covered.add(target_name)
        expected = base64.b64decode("".join(value.split()) or "=")
        if not hmac.compare_digest(digest(octets).digest(), expected):
            what = uri if uri.startswith("#") else unquote(uri)
            report.problems.append(_l("%(name)s was changed after %(signer)s signed it.",
                                      name=what.lstrip("#")[:100], signer=signer["name"]))
    if not _signature_value_ok(signature, signed_info, certificate):
        report.problems.append(_l("The signature of %(signer)s does not match what was signed.",
                                  signer=signer["name"]))
    if len(report.problems) == problems_before and covered:
        report.signers.append(signer)
    return covered


def _element_by_id(signature, identifier):
    for element in signature.iter():
        if element.get("Id") == identifier:
            return element
    return None


def _transform(reference):
    transform = reference.find("ds:Transforms/ds:Transform", NS)
    return transform.get("Algorithm") if transform is not None else None


def _canonical(element, algorithm):
    exclusive, comments = C14N.get(algorithm or "", (False, False))
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)


def _signature_value_ok(signature, signed_info, certificate):
    method = signed_info.find("ds:SignatureMethod", NS)
    c14n = signed_info.find("ds:CanonicalizationMethod", NS)
    value_text = signature.findtext("ds:SignatureValue", namespaces=NS) or ""
    kind_hash = SIGNATURE_METHODS.get(method.get("Algorithm") if method is not None else "")
    if kind_hash is None or c14n is None or c14n.get("Algorithm") not in C14N:
        return False
    kind, hash_class = kind_hash
    try:
        value = base64.b64decode("".join(value_text.split()))
        octets = _canonical(signed_info, c14n.get("Algorithm"))
        key = certificate.public_key()
        if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, octets, padding.PKCS1v15(), hash_class())
            return True
        if kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(value) // 2  # XML-DSig carries ECDSA as r‖s, cryptography wants DER
            der = encode_dss_signature(int.from_bytes(value[:half], "big"),
                                       int.from_bytes(value[half:], "big"))
            key.verify(der, octets, ec.ECDSA(hash_class()))
            return True
    except (InvalidSignature, ValueError, TypeError):
        return False
    return False


def _signer(certificate):
    """The signer's name (and serial number, e.g. PNOLV-…) from the certificate subject."""
    subject = certificate.subject

    def first(oid):
        values = subject.get_attributes_for_oid(oid)
        return values[0].value if values else ""

    given, surname = first(NameOID.GIVEN_NAME), first(NameOID.SURNAME)
    name = " ".join(p for p in (given, surname) if p) or first(NameOID.COMMON_NAME) or "?"
    issuer = certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {"name": str(name), "serial": str(first(NameOID.SERIAL_NUMBER)),
            "issuer": str(issuer[0].value) if issuer else ""}
