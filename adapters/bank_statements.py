"""Bank statements in ISO 20022 camt.053 (BankToCustomerStatement), any version (.001.02 …
.001.13): the credit entries a bank booked on the institution's account, as plain data for
``models.finance.import_statement``.

The file comes from a person (staff upload it), so it is read defensively: at most
``rules.finance.STATEMENT_MAX_BYTES``, no DTD at all (no entities, so no XXE and no
"billion laughs"), nothing fetched from the network, no huge-tree mode; anything that is not
a camt.053 statement raises ``StatementRefused`` with a reason the view shows in words.

An entry is known by its account and AcctSvcrRef (the bank's own reference), else its NtryRef;
without either, by a digest of the entry itself. Its payment reference is the structured
creditor reference (RmtInf/Strd/CdtrRefInf/Ref) or the unstructured text (RmtInf/Ustrd). An
entry holding a batch of several transactions is kept for staff to split by hand.
"""
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from rules import finance as F


class StatementRefused(ValueError):
    """Not a camt.053 statement this portal can read: ``code`` says why
    (``rules.finance.REFUSALS``), ``detail`` what the XML parser said, if anything."""

    def __init__(self, code, detail=""):
        super().__init__(code, detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Entry:
    key: str  # AcctSvcrRef, else NtryRef, else "sha256:" + digest of the entry
    amount: Decimal
    currency: str
    credit: bool  # CRDT (money in) or DBIT
    booked_on: date | None
    debtor: str = ""
    reference: str = ""  # structured creditor reference, as given
    text: str = ""  # unstructured remittance, joined
    problem: str = ""  # why it cannot be matched automatically (a batch, a reversal, not booked)


@dataclass(frozen=True)
class Statement:
    account: str  # IBAN, compacted
    statement_id: str
    entries: list


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse(raw):
    """The statement in ``raw`` (bytes) or ``StatementRefused``."""
    if len(raw) > F.STATEMENT_MAX_BYTES:
        raise StatementRefused(F.REFUSED_TOO_LARGE)
    if _DOCTYPE.search(raw) or _DOCTYPE.search(raw.replace(b"\x00", b"")):  # also UTF-16 text
        raise StatementRefused(F.REFUSED_DTD)
    try:
        root = etree.fromstring(raw, _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        raise StatementRefused(F.REFUSED_NOT_XML, str(error)) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise StatementRefused(F.REFUSED_DTD)
    if etree.QName(root).localname != "Document" or "camt.053" not in (etree.QName(root).namespace or ""):
        raise StatementRefused(F.REFUSED_NOT_CAMT053)
    statements = root.findall("{*}BkToCstmrStmt/{*}Stmt")
    if len(statements) != 1:
        raise StatementRefused(F.REFUSED_STATEMENTS)
    stmt = statements[0]
    account = F.compact(_text(stmt, "{*}Acct/{*}Id/{*}IBAN"))
    if not F.iban_valid(account):
        raise StatementRefused(F.REFUSED_NO_IBAN)
    entries = stmt.findall("{*}Ntry")
    if len(entries) > F.STATEMENT_MAX_ENTRIES:
        raise StatementRefused(F.REFUSED_TOO_MANY)
    return Statement(account=account, statement_id=_text(stmt, "{*}Id"),
                     entries=[_entry(e) for e in entries])


def _text(element, path):
    found = element.find(path)
    return " ".join((found.text or "").split()) if found is not None else ""


def _entry(element):
    amount_element = element.find("{*}Amt")
    if amount_element is None:
        raise StatementRefused(F.REFUSED_AMOUNT)
    try:
        amount = Decimal((amount_element.text or "").strip())
    except InvalidOperation:
        raise StatementRefused(F.REFUSED_AMOUNT) from None
    if amount != amount.quantize(F.CENT) or not F.CENT <= amount <= F.MAX_AMOUNT:
        raise StatementRefused(F.REFUSED_AMOUNT)
    key = _text(element, "{*}AcctSvcrRef") or _text(element, "{*}NtryRef")
    if not key:
        key = "sha256:" + hashlib.sha256(etree.tostring(element, method="c14n")).hexdigest()[:56]
    status = _text(element, "{*}Sts/{*}Cd") or _text(element, "{*}Sts")
    details = element.findall("{*}NtryDtls/{*}TxDtls")
    problem = ""
    if status and status != "BOOK":
        problem = F.REASON_NOT_BOOKED
    elif _text(element, "{*}RvslInd").lower() == "true":
        problem = F.REASON_REVERSAL
    elif len(details) > 1:
        problem = F.REASON_BATCH
    tx = details[0] if details else element
    references = [F.compact(r.text) for r in tx.findall(".//{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref") if r.text]
    texts = [" ".join((u.text or "").split()) for u in tx.findall(".//{*}RmtInf/{*}Ustrd")]
    return Entry(key=key[:100], amount=amount.quantize(F.CENT), currency=amount_element.get("Ccy", ""),
                 credit=_text(element, "{*}CdtDbtInd") == "CRDT", booked_on=_booked_on(element),
                 debtor=_text(tx, "{*}RltdPties/{*}Dbtr/{*}Nm") or _text(tx, "{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm"),
                 reference=references[0] if references else "", text=" ".join(t for t in texts if t),
                 problem=problem)


def _booked_on(element):
    value = _text(element, "{*}BookgDt/{*}Dt") or _text(element, "{*}BookgDt/{*}DtTm")[:10]
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
