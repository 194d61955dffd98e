"""Documents: the status table, the document types and their questionnaires (plain data).

DOC-3…DOC-8 (docs/requirements.md) give the statuses and who may do what in
each; DOC-14 names the document types that need authority. Nothing here touches
the database: ``models.documents.Document.transition`` looks actions up in
``TRANSITIONS`` and refuses anything the table does not hold.
"""
from dataclasses import dataclass
from datetime import timedelta

from rules import CLIENT, SERVICE, STAFF  # SERVICE: the signing service's callback
from rules import services as S
from rules.i18n import _l
from rules.uploads import MB, SEED_000, SEED_004, UploadPolicy

# --- Statuses (DOC-3) -----------------------------------------------------------

NEW = "new"                      # Jauns
PROCESSING = "processing"        # Apstrādē
INFO_NEEDED = "info_needed"      # Nepieciešama informācija
DRAFT = "draft"                  # Melnraksts
READY = "ready_for_signing"      # Gatavs parakstīšanai
SIGNING = "signing"              # Parakstīšana
SIGNED = "signed"                # Parakstīts
STATUSES = (NEW, PROCESSING, INFO_NEEDED, DRAFT, READY, SIGNING, SIGNED)

STATUS_LABELS = {
    NEW: _l("New"),
    PROCESSING: _l("In processing"),
    INFO_NEEDED: _l("Information needed"),
    DRAFT: _l("Draft"),
    READY: _l("Ready for signing"),
    SIGNING: _l("Signing"),
    SIGNED: _l("Signed"),
}
STATUS_HINTS = {
    NEW: _l("Saved, not yet sent to us."),
    PROCESSING: _l("Sent to us; we are processing it."),
    INFO_NEEDED: _l("We need corrections: open the document with “Edit” to see our comments."),
    DRAFT: _l("Your corrections are saved but not yet sent."),
    READY: _l("The final package is ready: review it and agree, or ask us a question."),
    SIGNING: _l("Sign the package with a qualified e-signature."),
    # The status's badge already says "Signed": the hint says what that means.
    SIGNED: _l("Processing is complete; the signed package is kept with the document's versions."),
}

# --- Actions -------------------------------------------------------------------------------

EDIT = "edit"                            # open the form ("Labot")
SAVE = "save"                            # "Saglabāt"
SUBMIT = "submit"                        # "Iesniegt"
ADD_FILES = "add_files"
AGREE = "agree"                          # "Piekrist"
ASK = "ask"                              # a question about the package
UPLOAD_SIGNED = "upload_signed"          # the package signed as an EDOC / ASiC-E container
SIGN_WITH_SERVICE = "sign_with_service"  # ask the signing service for an invitation
ACCEPT = "accept"
REQUEST_INFO = "request_info"
PREPARE_PACKAGE = "prepare_package"
RESEND = "resend"
SIGNING_COMPLETED = "signing_completed"
CREATED = "created"                      # history only: the document was started

CLIENT_ACTIONS = (EDIT, SAVE, SUBMIT, ADD_FILES, AGREE, ASK, UPLOAD_SIGNED, SIGN_WITH_SERVICE)
STAFF_ACTIONS = (ACCEPT, REQUEST_INFO, PREPARE_PACKAGE, RESEND)
SERVICE_ACTIONS = (SIGNING_COMPLETED,)
ACTIONS_BY_ACTOR = {CLIENT: CLIENT_ACTIONS, STAFF: STAFF_ACTIONS, SERVICE: SERVICE_ACTIONS}

# The status table: (status, actor, action) → the status after it. Anything not here
# is refused. EDIT changes nothing; it says the form may be opened ("Labot") — in
# Information needed too, where DOC-5 shows the staff comments beside the
# fields to correct.
TRANSITIONS = {
    (NEW, CLIENT, EDIT): NEW,
    (NEW, CLIENT, SAVE): NEW,
    (NEW, CLIENT, SUBMIT): PROCESSING,

    (PROCESSING, STAFF, ACCEPT): PROCESSING,  # recorded; the package may follow
    (PROCESSING, STAFF, REQUEST_INFO): INFO_NEEDED,
    (PROCESSING, STAFF, PREPARE_PACKAGE): READY,

    (INFO_NEEDED, CLIENT, EDIT): INFO_NEEDED,
    (INFO_NEEDED, CLIENT, ADD_FILES): INFO_NEEDED,
    (INFO_NEEDED, CLIENT, SUBMIT): PROCESSING,
    (INFO_NEEDED, CLIENT, SAVE): DRAFT,

    (DRAFT, CLIENT, EDIT): DRAFT,
    (DRAFT, CLIENT, SAVE): DRAFT,
    (DRAFT, CLIENT, SUBMIT): PROCESSING,

    (READY, CLIENT, AGREE): SIGNING,
    (READY, CLIENT, ASK): READY,
    (READY, STAFF, RESEND): READY,  # staff add documents and send them again

    (SIGNING, STAFF, RESEND): READY,  # DOC-7: questions at Signing too
    (SIGNING, CLIENT, UPLOAD_SIGNED): SIGNED,
    (SIGNING, CLIENT, SIGN_WITH_SERVICE): SIGNING,
    (SIGNING, SERVICE, SIGNING_COMPLETED): SIGNED,
}

ACTION_LABELS = {
    CREATED: _l("Started"),
    EDIT: _l("Edit"),
    SAVE: _l("Saved"),
    SUBMIT: _l("Submitted"),
    ADD_FILES: _l("Files added"),
    AGREE: _l("Agreed to the package"),
    ASK: _l("Asked a question"),
    UPLOAD_SIGNED: _l("Uploaded the signed package"),
    SIGN_WITH_SERVICE: _l("Invited to sign at the signing service"),
    ACCEPT: _l("Accepted"),
    REQUEST_INFO: _l("Asked for information"),
    PREPARE_PACKAGE: _l("Package sent for agreement"),
    RESEND: _l("Package sent again for agreement"),
    SIGNING_COMPLETED: _l("Signed at the signing service"),
}


def next_status(status, actor, action):
    """The status after ``action`` by ``actor`` in ``status``; None when the table refuses it."""
    return TRANSITIONS.get((status, actor, action))


def allowed(status, actor, action):
    return (status, actor, action) in TRANSITIONS


def actions_for(status, actor):
    """Every action the table allows ``actor`` in ``status``, in table order."""
    return [a for (s, who, a) in TRANSITIONS if s == status and who == actor]


# The statuses in which a document can wait on us, in the order staff take them (in processing,
# then questions about packages, then the signing service). Their codes sort the same way, so
# the staff queue orders by the status column itself and an index serves the order
# (tests/test_paging.py holds both facts).
QUEUE_STATUSES = (PROCESSING, READY, SIGNING)


def waits_on_institution(status, question_open=False, invitation_pending=False):
    """True while the next move is ours (or the signing service's), not the client's:
    the document list keeps polling for such rows."""
    return (status == PROCESSING or (status == READY and question_open)
            or (status == SIGNING and invitation_pending))


def client_must_act(status, question_open=False):
    return status in (NEW, INFO_NEEDED, DRAFT, SIGNING) or (status == READY and not question_open)


# "Iesniegt" in the list submits in one click. Not while our request for information is
# unanswered: the client must first see what we asked (the comments), so that row leads to
# the document, where the comments stand beside the form that submits it again (issue 11).
# Melnraksts is saved from that form, after the comments were shown.
LIST_SUBMIT_STATUSES = (NEW, DRAFT)


def submits_from_list(status):
    """The list may offer the one-click "Submit" for a document in ``status``."""
    return status in LIST_SUBMIT_STATUSES


# A document not yet signed is still open: starting another of the same type is either
# refused (a type the client keeps one of, ``DocumentType.one_open``) or confirmed first.
OPEN_STATUSES = tuple(s for s in STATUSES if s != SIGNED)


def shows_package(status):
    """The client sees the signing package while agreeing to it and while signing it."""
    return status in (READY, SIGNING)


# --- Signed containers (DOC-9): a signer's revocation status as recorded -----------------------

REVOCATION_GOOD = "good"                # asked (OCSP / CRL): not revoked at the signing time
REVOCATION_UNKNOWN = "unknown"          # asked, no answer (soft-fail): accepted, recorded
REVOCATION_NOT_CHECKED = "not_checked"  # checks off, or the certificate names no source
REVOCATION_LABELS = {
    REVOCATION_GOOD: _l("not revoked (checked)"),
    REVOCATION_UNKNOWN: _l("revocation status unknown: the check could not be made"),
    REVOCATION_NOT_CHECKED: _l("revocation not checked"),
}


# --- Authority (DOC-14) -------------------------------------------------------------------

REPRESENTATION_ROLES = ("self", "main")  # a natural person for themself; a company's main user


def has_representation_rights(role):
    """Signing rights: a person acting for themself, or a company's confirmed main user."""
    return role in REPRESENTATION_ROLES


# --- Document types --------------------------------------------------------------------------

ELECTRONIC, PDF, FILES = "electronic", "pdf", "files"  # how the questionnaire is filled in
FILES_FIELD = "files"      # a staff comment may name the attached files …
GENERAL_FIELD = "general"  # … or the document as a whole


@dataclass(frozen=True)
class FormField:
    """One question of an electronic questionnaire."""

    name: str
    label: object
    kind: str = "text"  # text, textarea, amount, integer, iban, choice, yesno
    required: bool = True
    max_length: int = 200
    choices: tuple = ()
    hint: object = None


@dataclass(frozen=True)
class DocumentType:
    code: str
    title: object
    questionnaire: str          # ELECTRONIC, PDF or FILES
    policy: UploadPolicy
    client_kinds: tuple = ("natural", "legal")
    needs_authority: bool = False
    fields: tuple = ()
    description: object = None
    # One open at a time (the onboarding questionnaires, seed 004 §6: the cabinet lists the
    # client's questionnaires to fill in): a second one is refused while the first is not
    # signed. Other types (a loan application, a disbursement request) may run side by side;
    # starting another one while one is open asks first.
    one_open: bool = False
    # Started from the list's "new document" choice; a request about a service is started from
    # the service's page instead (models.services.ServiceRequest links the two).
    listed: bool = True

    @property
    def needs_files(self):
        """A PDF questionnaire or a set of documents is nothing without its files."""
        return self.questionnaire in (PDF, FILES)

    def field(self, name):
        return next((f for f in self.fields if f.name == name), None)

    def comment_targets(self):
        """(name, label) of everything a staff comment can point at."""
        targets = [(f.name, f.label) for f in self.fields]
        targets.append((FILES_FIELD, _l("Attached files")))
        targets.append((GENERAL_FIELD, _l("The document as a whole")))
        return targets


INCOME_SOURCES = (("salary", _l("Salary")), ("business", _l("Business income")),
                  ("pension", _l("Pension or benefits")), ("other", _l("Other")))
TURNOVER_RANGES = (("lt1000", _l("Up to 1 000 €")), ("lt10000", _l("1 000–10 000 €")),
                   ("gt10000", _l("More than 10 000 €")))

DOCUMENT_TYPES = {t.code: t for t in (
    DocumentType(
        "client_questionnaire", _l("Client questionnaire (private person)"), ELECTRONIC, SEED_004,
        client_kinds=("natural",), one_open=True,
        description=_l("Filled in here, in the cabinet."),
        fields=(
            FormField("occupation", _l("Occupation")),
            FormField("employer", _l("Employer"), required=False),
            FormField("income_source", _l("Main source of income"), "choice", choices=INCOME_SOURCES),
            FormField("monthly_turnover", _l("Expected monthly turnover"), "choice",
                      choices=TURNOVER_RANGES),
            FormField("account_purpose", _l("Purpose of the account"), "textarea", max_length=1000),
            FormField("is_pep", _l("Are you a politically exposed person?"), "yesno"),
        )),
    DocumentType(
        "company_questionnaire", _l("Client questionnaire (company)"), PDF, SEED_004,
        client_kinds=("legal",), one_open=True,
        description=_l("Download the PDF form, fill it in and upload it here.")),
    DocumentType(
        "company_documents", _l("Company documents"), FILES, SEED_004,
        client_kinds=("legal",),
        description=_l("Articles of association, register extract, ID copies of representatives.")),
    DocumentType(
        "loan_application", _l("Loan application"), ELECTRONIC, SEED_000, needs_authority=True,
        fields=(
            FormField("amount", _l("Amount, €"), "amount"),
            FormField("term_months", _l("Term in months"), "integer"),
            FormField("purpose", _l("Purpose of the loan"), "textarea", max_length=2000),
        )),
    DocumentType(
        "contract_amendment", _l("Contract amendment"), ELECTRONIC, SEED_000, needs_authority=True,
        fields=(
            FormField("contract_number", _l("Contract number"), max_length=50),
            FormField("change", _l("What should change"), "textarea", max_length=2000),
        )),
    DocumentType(
        "disbursement_request", _l("Disbursement request"), ELECTRONIC, SEED_000, needs_authority=True,
        fields=(
            FormField("contract_number", _l("Contract number"), max_length=50),
            FormField("amount", _l("Amount, €"), "amount"),
            FormField("iban", _l("Account to pay into (IBAN)"), "iban", max_length=34),
        )),
    DocumentType(
        S.REQUEST_DOCUMENT_TYPE, _l("Request about a service"), ELECTRONIC, SEED_000, needs_authority=True,
        listed=False, description=_l("Sent from the service's page: extend a permit, change a plan, repay early."),
        fields=(
            FormField("service", _l("Service"), max_length=100),
            FormField("request", _l("What you ask for"), "choice", choices=tuple(S.REQUEST_LABELS.items())),
            FormField("details", _l("Details"), "textarea", max_length=S.REQUEST_DETAILS_MAX),
        )),
)}


def types_for(client_kind):
    """The types a client of ``client_kind`` may start from the documents list."""
    return [t for t in DOCUMENT_TYPES.values() if client_kind in t.client_kinds and t.listed]


def type_title(code):
    """The title of a document type (e-mail templates use it in the recipient's language)."""
    doc_type = DOCUMENT_TYPES.get(code)
    return doc_type.title if doc_type else code


# --- Signing -----------------------------------------------------------------------------------

# The package signed with a qualified e-signature comes back as one container.
SIGNED_CONTAINER_POLICY = UploadPolicy(
    name="signed-container", extensions=frozenset({"edoc", "asice"}),
    min_file_size=1, max_file_size=50 * MB, max_files=1, max_total=50 * MB)

SIGNING_CALLBACK_MAX_AGE = timedelta(minutes=5)  # a signed callback older than this is refused
