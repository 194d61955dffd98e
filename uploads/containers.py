"""Signed packages: the EDOC / ASiC-E container check.

``check_container`` validates a container the client signed elsewhere (DOC-9):
the zip layout (``mimetype`` first and stored), the manifest, at least one
``META-INF/signatures*.xml``, and each XAdES signature in them with signxml's
``XAdESVerifier`` — the signature value over ``ds:SignedInfo`` with the key of the
signer's certificate, every ``ds:Reference`` (the data files of the container, by
URI, through a resolver that hands signxml their bytes; the signed XAdES
properties, by Id), the ``SigningCertificate`` digest that binds the certificate
to the signed properties, and the certificate's validity at the signing time.
Then the signer's certificate path is validated against the trust store of
qualified CAs, with revocation (``uploads.trust``). A signer whose certificate does
not chain to a trusted CA is refused with the reason; an accepted signer carries
the outcome (path, revocation status) into the signed version.

The signing time is the one in the signed properties (the signer's claim): it must
not lie in the future nor before the package being signed was prepared, which
bounds how far back a signer can date a signature. Signature time-stamps
(XAdES-T and above) are not evaluated.
"""
import base64
import hashlib
import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from rules.i18n import _l
from rules.uploads import ZIP_MAX_ENTRIES, ZIP_MAX_UNZIPPED, looks_like_zip_bomb

MIMETYPE = b"application/vnd.etsi.asic-e+zip"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES, "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"}

# Limits that keep a hostile zip from costing much (the upload checks run first).
MAX_XML = 5 * 1024 * 1024
# How far a signing time may stray from our clock (before the package, after now).
CLOCK_SKEW = timedelta(minutes=10)


@dataclass
class ContainerReport:
    """What the check found: problems (translatable), the accepted signers (each with
    the outcome of the trust check), refused signers (for the audit log) and the data files."""

    problems: list = field(default_factory=list)
    signers: list = field(default_factory=list)      # dicts: name, serial, issuer, signing_time, chain, …
    refused: list = field(default_factory=list)      # dicts: name, serial, issuer, detail
    data_files: dict = field(default_factory=dict)   # name → SHA-256 hex

    @property
    def ok(self):
        return not self.problems

    @property
    def signer_names(self):
        return [s["name"] for s in self.signers]


def check_container(data, required_sha256=(), *, trust, not_before=None, now=None):
    """Check an ASiC-E / EDOC container given as bytes against the ``trust`` store
    (``uploads.trust.TrustStore``); ``required_sha256`` are the digests of the package
    files that must be inside (the package that was agreed), ``not_before`` (aware
    UTC) when that package was prepared: no signature can be older."""
    report = ContainerReport()
    now = now or datetime.now(timezone.utc)
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
    if not trust.usable:
        report.problems.append(trust.unusable_reason)
        return report
    data_files = {n: contents[n] for n in data_names}
    covered = set()
    for name in signature_names:
        covered |= _check_signature_file(name, contents[name], data_files, report, trust, (not_before, now))
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


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=False)


def _parse_xml(data):
    if len(data) > MAX_XML:
        raise etree.XMLSyntaxError("too large", None, 0, 0)
    return etree.fromstring(data, _parser())


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


def _check_signature_file(name, data, data_files, report, trust, window):
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
    for index, signature in enumerate(signatures):
        covered |= _check_signature(_only(root, index), signature, data_files, report, trust, window)
    return covered


class _ContainerVerifier(XAdESVerifier):
    """signxml's XAdES verifier, noting the reference it checks, so that a digest that
    does not match names the file that was changed."""

    current_uri = None

    def _verify_reference(self, reference, index, *args, **kwargs):
        self.current_uri = reference.get("URI")
        return super()._verify_reference(reference, index, *args, **kwargs)


def _check_signature(document, signature, data_files, report, trust, window):
    """One signature: signxml verifies it, then the trust store judges its signer.
    Returns the data files its SignedInfo refers to (a signature that fails has said
    why; the files it names are not reported again as covered by no signature)."""
    signed_info = signature.find("ds:SignedInfo", NS)
    certificates = [base64.b64decode("".join((c.text or "").split()) or "=")
                    for c in signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)]
    if signed_info is None or not certificates:
        report.problems.append(_l("A signature in the container is incomplete (no signed info or certificate)."))
        return set()
    referenced = {unquote(r.get("URI")) for r in signed_info.findall("ds:Reference", NS)
                  if r.get("URI") and not r.get("URI").startswith("#")}
    try:
        # The first certificate is the signer's (signxml checks it against the digest in
        # SigningCertificate); the others are offered as intermediates for the path.
        certificate = x509.load_der_x509_certificate(certificates[0])
    except ValueError:
        report.problems.append(_l("A signature's certificate cannot be read."))
        return referenced
    signer = _signer(certificate)
    claimed = signature.findtext("ds:Object/xades:QualifyingProperties/xades:SignedProperties/"
                                 "xades:SignedSignatureProperties/xades:SigningTime", namespaces=NS)
    signing_time = _signing_time(claimed, signer, window, report)
    if signing_time is False:
        return referenced
    missing = []

    def resolve(uri):
        """A reference to a file of the container (URI-encoded, relative to its root)."""
        name = unquote(uri)
        if name not in data_files:
            missing.append(name)
            return None
        return data_files[name]

    verifier = _ContainerVerifier()
    config = XAdESSignatureConfiguration(expect_references=True, location="./",
                                         verification_time=signing_time)
    try:
        results = verifier.verify(document, x509_cert=certificate, uri_resolver=resolve, expect_config=config,
                                  parser=_parser())
    except InvalidDigest as error:
        uri = verifier.current_uri or ""
        if uri and not uri.startswith("#"):
            reason = _l("%(name)s was changed after %(signer)s signed it.", name=unquote(uri)[:100],
                        signer=signer["name"])
        else:
            reason = _l("The signature of %(signer)s does not match what was signed.", signer=signer["name"])
        return _refuse(report, signer, reason, error, referenced)
    except InvalidCertificate as error:
        return _refuse(report, signer, _l("The certificate of %(signer)s was not valid at the signing time "
                                          "(expired or not yet valid).", signer=signer["name"]), error, referenced)
    except InvalidSignature as error:
        return _refuse(report, signer, _l("The signature of %(signer)s does not match what was signed.",
                                          signer=signer["name"]), error, referenced)
    except InvalidInput as error:
        if missing:
            return _refuse(report, signer, _l("The signature of %(signer)s refers to %(name)s, which is not in "
                                              "the container.", signer=signer["name"], name=missing[0][:100]),
                           error, referenced)
        return _refuse(report, signer, _unacceptable(signer), error, referenced)
    except (SignXMLException, etree.DocumentInvalid, etree.XMLSyntaxError, ValueError, KeyError) as error:
        return _refuse(report, signer, _unacceptable(signer), error, referenced)
    verified = next((r.signed_properties for r in results if hasattr(r, "signed_properties")), None)
    if verified is None or verified.findtext("xades:SigningTime", namespaces=NS) != claimed:
        return _refuse(report, signer, _unacceptable(signer), "the signing time used is not the signed one",
                       referenced)
    outcome = trust.check(certificates[0], certificates[1:], moment=signing_time, signer=signer["name"])
    if not outcome.trusted:
        return _refuse(report, signer, outcome.reason, outcome.detail, referenced)
    report.signers.append(dict(signer, signing_time=signing_time.isoformat() if signing_time else "",
                               **outcome.record()))
    return referenced


def _refuse(report, signer, reason, detail, referenced):
    """A refused signature: the client's reason, and the signer with the technical detail
    (signxml's or the validator's words) for the audit log."""
    report.problems.append(reason)
    report.refused.append(dict(signer, detail=str(detail)[:500]))
    return referenced


def _unacceptable(signer):
    return _l("The signature of %(signer)s is incomplete or of a kind we do not accept (an XAdES "
              "signature with SHA-2 digests is needed).", signer=signer["name"])


def _signing_time(claimed, signer, window, report):
    """The signing time from the signed properties (aware UTC), None when the signature
    names none, False when it cannot be right (unreadable, in the future, before the package)."""
    if claimed is None:
        return None
    try:
        moment = datetime.fromisoformat(claimed.strip().replace("Z", "+00:00"))
    except ValueError:
        report.problems.append(_unacceptable(signer))
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    not_before, now = window
    if moment > now + CLOCK_SKEW:
        report.problems.append(_l("The signing time of the signature of %(signer)s lies in the future.",
                                  signer=signer["name"]))
        return False
    if not_before is not None and moment < not_before - CLOCK_SKEW:
        report.problems.append(_l("The signature of %(signer)s was made before this package was prepared: "
                                  "sign the package you agreed to now.", signer=signer["name"]))
        return False
    return moment


def _only(root, index):
    """The signature file as bytes with only its ``index``-th signature (signxml verifies
    the first it finds). Removing the others changes no canonical form: a signature's
    depends on its own subtree and the namespaces in scope, which stay."""
    if root.tag == f"{{{DS}}}Signature":
        return etree.tostring(root)
    copy = etree.fromstring(etree.tostring(root), _parser())
    for position, other in enumerate(copy.findall("ds:Signature", NS)):
        if position != index:
            copy.remove(other)
    return etree.tostring(copy)


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
