"""What the later stages of an application record (seed 004 §6–12; ONB-10, ONB-11, ONB-14), as plain data and pure
functions: the decisions of stage 6 per service, and how stage 3 (documents and signing),
stage 4 (the commission fee) and stage 6 (the outcome) read from what the portal holds.

- **Decisions** (§9–11): each service's outcome (``rules.onboarding.OUTCOME_OF_SERVICE``) has
  one question — open the account, start cooperation, approve the renewal — or, for an
  additional card / internet-bank user (N_EXTRA, §11), two: the card and the user. A decision
  answers one question of one service, positively or negatively; a negative one carries a reason
  (kept for staff: the client is told to ask the personal manager or call, as §9.2 says).
  Stage 6 is done when every service has at least one decision.
- **The commission fee** (§7): done when the invoices issued for the application are paid in
  full; an invoice not yet paid needs the client's action; one partly paid is in progress.
- **Documents and signing** (§6): the questionnaires and documents a client of the kind must
  have signed. Documents belong to the client, not to one application (a questionnaire is kept
  one at a time: ``rules.documents.DocumentType.one_open``), so the stage reads the client's
  newest document of each required type: done when each is signed.
"""
from dataclasses import dataclass

from rules import LEGAL, NATURAL
from rules import documents as D
from rules import onboarding as O
from rules.i18n import _l

# --- Decisions (stage 6) ----------------------------------------------------------------------

ACCOUNT, COOPERATION, RENEWAL, CARD, USER = "account", "cooperation", "renewal", "card", "user"
QUESTIONS_OF_OUTCOME = {
    O.ACCOUNT_OPENING: (ACCOUNT,),
    O.SERVICE_CONNECTION: (COOPERATION,),
    O.RENEWAL_APPROVAL: (RENEWAL,),
    O.CARD_OR_USER: (CARD, USER),
}
REASON_MAX = 1000


@dataclass(frozen=True)
class Decision:
    """One answer to one question: ``label`` is what staff choose, ``told`` what the client reads."""

    code: str
    question: str
    positive: bool
    label: object
    told: object


DECISIONS = {d.code: d for d in (
    Decision("open_account", ACCOUNT, True, _l("Open the account"), _l("The account will be opened.")),
    Decision("not_open_account", ACCOUNT, False, _l("Do not open the account"),
             _l("The account will not be opened.")),
    Decision("start_cooperation", COOPERATION, True, _l("Start cooperation"),
             _l("We will start cooperation with you.")),
    Decision("refuse_cooperation", COOPERATION, False, _l("Refuse to start cooperation"),
             _l("We will not start cooperation with you.")),
    Decision("approve_renewal", RENEWAL, True, _l("Approve the documents renewal"),
             _l("The documents renewal is approved.")),
    Decision("refuse_renewal", RENEWAL, False, _l("Refuse the documents renewal"),
             _l("The documents renewal is refused.")),
    Decision("issue_card", CARD, True, _l("Issue the additional payment card"),
             _l("The additional payment card will be issued.")),
    Decision("refuse_card", CARD, False, _l("Do not issue the additional payment card"),
             _l("The additional payment card will not be issued.")),
    Decision("activate_user", USER, True, _l("Activate the internet-bank user"),
             _l("The internet-bank user will be activated.")),
    Decision("not_activate_user", USER, False, _l("Do not activate the internet-bank user"),
             _l("The internet-bank user will not be activated.")),
)}


def questions_for(service):
    """The questions stage 6 answers for ``service``."""
    return QUESTIONS_OF_OUTCOME[O.OUTCOME_OF_SERVICE[service]]


def choices_for(service):
    """The decisions staff may record for ``service``, positive first per question."""
    questions = questions_for(service)
    return [d for d in DECISIONS.values() if d.question in questions]


def allowed(services, service, code):
    """True when ``code`` answers a question of ``service``, one of the application's ``services``."""
    return service in services and code in DECISIONS and DECISIONS[code].question in questions_for(service)


def reason_problem(code, reason):
    """Why the reason given with decision ``code`` will not do (a negative one needs one), or None."""
    reason = (reason or "").strip()
    if not DECISIONS[code].positive and not reason:
        return _l("Write the reason for a negative decision.")
    if len(reason) > REASON_MAX:
        return _l("The reason can be at most %(n)d characters long.", n=REASON_MAX)
    return None


def outcome_status(services, decided_services):
    """Stage 6: done when every service has a decision, else in progress (with us)."""
    return O.DONE if set(services) <= set(decided_services) else None


# --- The commission fee (stage 4) --------------------------------------------------------------

def fee_status(invoices):
    """Stage 4 from the application's invoices, as (amount, paid) pairs: None while none is
    issued (the task list's default: in progress, with us); done when all are paid in full;
    in progress when something is paid; otherwise the client's to pay."""
    invoices = list(invoices)
    if not invoices:
        return None
    if all(paid >= amount for amount, paid in invoices):
        return O.DONE
    if any(paid > 0 for _amount, paid in invoices):
        return O.IN_PROGRESS
    return O.ACTION_NEEDED


# --- Documents and signing (stage 3) -----------------------------------------------------------

REQUIRED_DOCUMENTS = {
    NATURAL: ("client_questionnaire",),
    LEGAL: ("company_questionnaire", "company_documents"),
}


def required_documents(kind):
    """The document types a ``kind`` client has signed before the stage is done (seed 004 §6.1, §6.2)."""
    return REQUIRED_DOCUMENTS.get(kind, ())


def documents_status(kind, newest):
    """Stage 3 from ``newest``: {document type: (status, question open)} of the client's newest
    document of each required type (missing types absent). Done when each is signed; the
    client's action is needed when one is missing or waits on them; else in progress (with us)."""
    required = required_documents(kind)
    if all(newest.get(t, (None,))[0] == D.SIGNED for t in required):
        return O.DONE
    if any(t not in newest or D.client_must_act(*newest[t]) for t in required):
        return O.ACTION_NEEDED
    return O.IN_PROGRESS
