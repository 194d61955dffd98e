"""The onboarding application (seed 004 §3–5, §7–12): the services a client may ask for, the
parts of the form each service needs, and the stages an application goes through.

Plain data and pure functions: ``stages(kind, services)`` is the one stage table; the views,
the dashboard and (later) the staff pages, the identification provider and the decisions ask
it instead of repeating its conditions.
"""
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import combinations
from urllib.parse import urlsplit

from rules import LEGAL, NATURAL
from rules.i18n import _l

# --- Services (seed 004 §3.1, §3.2; DESIGN.md capability 3) ------------------------------

N_NEW, N_EXTRA = "N_NEW", "N_EXTRA"
L_ACCOUNT, L_SAFEGUARD, L_ACQUIRING, L_RENEWAL, L_ECOM = (
    "L_ACCOUNT", "L_SAFEGUARD", "L_ACQUIRING", "L_RENEWAL", "L_ECOM")

SERVICES = {
    NATURAL: (N_NEW, N_EXTRA),
    LEGAL: (L_ACCOUNT, L_SAFEGUARD, L_ACQUIRING, L_RENEWAL, L_ECOM),
}
SERVICE_LABELS = {
    N_NEW: _l("New client"),
    N_EXTRA: _l("Additional payment-card user / internet-bank user"),
    L_ACCOUNT: _l("Settlement account for business (not for segregated or term-deposit accounts)"),
    L_SAFEGUARD: _l("Safeguarding, BaaS, segregated account for payment institutions, VASP, CASP"),
    L_ACQUIRING: _l("Payment acceptance (new merchant)"),
    L_RENEWAL: _l("Documents renewal (incl. change of representative / UBO / owner)"),
    L_ECOM: _l("E-commerce, documents renewal (incl. change of representative / UBO / owner)"),
}
SERVICE_HINTS = {
    N_NEW: _l("To register as a new client."),
    N_EXTRA: _l("To receive an additional payment card or activate an internet-bank user."),
}

# The legal services that open an account or start a merchant relationship: every
# representative who will represent the company identifies, and the full company form applies
# (seed 004 §3.2.2, §5.2).
FULL_COMPANY_SERVICES = frozenset({L_ACCOUNT, L_SAFEGUARD, L_ACQUIRING})
RENEWAL_SERVICES = frozenset({L_RENEWAL, L_ECOM})
# Stage 4 (seed 004 §4.4, §7).
FEE_SERVICES = frozenset({N_NEW, L_ACCOUNT, L_SAFEGUARD})


def services_for(kind):
    """The services a client of ``kind`` may pick (empty for an unknown kind)."""
    return SERVICES.get(kind, ())


def valid_services(kind, services):
    """True when ``services`` is a non-empty choice of ``kind``'s services, none twice."""
    services = list(services or ())
    return bool(services) and len(set(services)) == len(services) and set(services) <= set(services_for(kind))


def ordered(kind, services):
    """``services`` in the table's order (what the client picked, shown and stored alike)."""
    chosen = set(services or ())
    return [s for s in services_for(kind) if s in chosen]


def every_choice(kind):
    """Every non-empty combination of ``kind``'s services (3 for a natural person, 31 for a legal one)."""
    offered = services_for(kind)
    return [list(c) for n in range(1, len(offered) + 1) for c in combinations(offered, n)]


# --- The stages (seed 004 §4, §7–11) --------------------------------------------------------

INITIAL, PHOTO_ID, DOCUMENTS, FEE, VIDEO_ID, OUTCOME = (
    "initial", "photo_id", "documents", "fee", "video_id", "outcome")
STAGE_ORDER = (INITIAL, PHOTO_ID, DOCUMENTS, FEE, VIDEO_ID, OUTCOME)
STAGE_LABELS = {
    INITIAL: _l("Initial information"),
    PHOTO_ID: _l("Photo identification"),
    DOCUMENTS: _l("Documents, questionnaires and signing"),
    FEE: _l("Commission fee"),
    VIDEO_ID: _l("Video identification"),
    OUTCOME: _l("Outcome"),
}

# Who identifies (stage 2, and stage 5 when we ask for it).
REGISTRANT, REPRESENTATIVES = "registrant", "representatives"
# When a stage applies.
ALWAYS, ON_REQUEST = "always", "on_request"

# What stage 6 decides, per service (seed 004 §9–11).
ACCOUNT_OPENING, SERVICE_CONNECTION, RENEWAL_APPROVAL, CARD_OR_USER = (
    "account_opening", "service_connection", "renewal_approval", "card_or_user")
OUTCOME_OF_SERVICE = {
    N_NEW: ACCOUNT_OPENING, L_ACCOUNT: ACCOUNT_OPENING, L_SAFEGUARD: ACCOUNT_OPENING,
    L_ACQUIRING: SERVICE_CONNECTION, L_RENEWAL: RENEWAL_APPROVAL, L_ECOM: RENEWAL_APPROVAL,
    N_EXTRA: CARD_OR_USER,
}
OUTCOME_LABELS = {
    ACCOUNT_OPENING: _l("Account opening"),
    SERVICE_CONNECTION: _l("Service connection"),
    RENEWAL_APPROVAL: _l("Approval of the documents renewal"),
    CARD_OR_USER: _l("Card issue / internet-bank user activation"),
}
OUTCOME_ORDER = (ACCOUNT_OPENING, SERVICE_CONNECTION, RENEWAL_APPROVAL, CARD_OR_USER)


@dataclass(frozen=True)
class Stage:
    """One stage of an application: ``when`` it applies (ALWAYS, or ON_REQUEST: only if we
    ask), ``who`` identifies (identification stages) and what the outcome decides."""

    code: str
    when: str = ALWAYS
    who: str = ""
    outcomes: tuple = ()

    @property
    def label(self):
        return STAGE_LABELS[self.code]

    @property
    def optional(self):
        return self.when == ON_REQUEST


def identifies(kind, services):
    """Who identifies: the registrant (a natural person; a company asking only for documents
    renewal or e-commerce renewal), or every representative who will represent the company
    (a company asking for an account, safeguarding or payment acceptance: seed 004 §5.2)."""
    if kind == LEGAL and FULL_COMPANY_SERVICES & set(services):
        return REPRESENTATIVES
    return REGISTRANT


def stages(kind, services):
    """The stages of an application of a ``kind`` client for ``services``, in order.

    1 initial information, 2 photo identification and 3 documents always; 4 the commission
    fee only for N_NEW, L_ACCOUNT, L_SAFEGUARD; 5 video identification only when we ask for
    it; 6 the outcome, which decides each service's own question. Raises ValueError for a
    choice the client could not make."""
    if not valid_services(kind, services):
        raise ValueError(f"not a choice of a {kind} client: {services!r}")
    who = identifies(kind, services)
    outcomes = tuple(o for o in OUTCOME_ORDER if o in {OUTCOME_OF_SERVICE[s] for s in services})
    found = [Stage(INITIAL), Stage(PHOTO_ID, who=who), Stage(DOCUMENTS)]
    if FEE_SERVICES & set(services):
        found.append(Stage(FEE))
    found += [Stage(VIDEO_ID, when=ON_REQUEST, who=who), Stage(OUTCOME, outcomes=outcomes)]
    return found


# --- Stage statuses on the task list --------------------------------------------------------

NOT_STARTED, IN_PROGRESS, DONE, CANNOT_START, ACTION_NEEDED, NOT_NEEDED = (
    "not_started", "in_progress", "done", "cannot_start", "action_needed", "not_needed")
STAGE_STATUS_LABELS = {
    NOT_STARTED: _l("Not started"),
    IN_PROGRESS: _l("In progress"),
    DONE: _l("Done"),
    CANNOT_START: _l("Cannot start yet"),
    ACTION_NEEDED: _l("Needs your action"),
    NOT_NEEDED: _l("Only if we ask"),
}

DRAFT, SUBMITTED = "draft", "submitted"
APPLICATION_STATUS_LABELS = {DRAFT: _l("Draft"), SUBMITTED: _l("Submitted")}


def stage_statuses(stage_list, status, has_data, progress=None):
    """Each stage with its status for the task list: [(Stage, status)].

    ``status`` is the application's (DRAFT, SUBMITTED), ``has_data`` whether anything was
    saved yet, ``progress`` what later steps recorded per stage code (DONE, IN_PROGRESS,
    ACTION_NEEDED: identification results, signing, payment, decisions). Stage 1 is not
    started, in progress (a saved draft) or done (submitted); a later stage cannot start
    until the stages before it are done, then is whatever ``progress`` says, or in progress
    (with us) once reachable — photo identification needs the person's action. A stage we
    have not asked for shows "only if we ask"; once asked, its recorded status, whatever
    came before."""
    progress = progress or {}
    first = DONE if status == SUBMITTED else (IN_PROGRESS if has_data else NOT_STARTED)
    result, open_before = [], first != DONE
    for stage in stage_list:
        if stage.code == INITIAL:
            result.append((stage, first))
            continue
        recorded = progress.get(stage.code)
        if stage.optional:
            # Asked for at any time (also later, during the relationship): shown as recorded,
            # and while open it holds back what follows.
            result.append((stage, recorded or NOT_NEEDED))
            open_before = open_before or recorded not in (None, DONE)
            continue
        if open_before and recorded != DONE:
            # A stage done out of turn (a fee paid early, a decision made before the
            # documents were signed) shows what happened; the rest waits.
            result.append((stage, CANNOT_START))
            continue
        current = recorded or (ACTION_NEEDED if stage.code == PHOTO_ID else IN_PROGRESS)
        result.append((stage, current))
        open_before = open_before or current != DONE
    return result


def waits_on_client(stage, status):
    """True when the stage in ``status`` is the client's to do: an unfinished application, or
    what needs their action (the task list marks it so)."""
    return status == ACTION_NEEDED or (stage.code == INITIAL and status in (NOT_STARTED, IN_PROGRESS))


def current_stage(statuses):
    """The first stage that is not done (the one the task list marks as the current step)."""
    return next((stage for stage, status in statuses if status not in (DONE, NOT_NEEDED)), None)


# --- What the form asks (seed 004 §3.1, §3.2.1, §3.2.2) ---------------------------------------

COMPANY, REPRESENTATIVES_GROUP, OWNERS_NATURAL, OWNERS_LEGAL, UBOS, SUBMITTER, ID_DOCUMENT, LINKED = (
    "company", "representatives", "owners_natural", "owners_legal", "ubos", "submitter",
    "id_document", "linked_client")
GROUPS = (REPRESENTATIVES_GROUP, OWNERS_NATURAL, OWNERS_LEGAL, UBOS)
GROUP_LABELS = {
    REPRESENTATIVES_GROUP: _l("Representatives of the company"),
    OWNERS_NATURAL: _l("Owners (natural persons)"),
    OWNERS_LEGAL: _l("Owners (legal persons)"),
    UBOS: _l("Ultimate beneficial owners"),
}


def group_item_label(group, n):
    """The heading of a group's ``n``-th entry (from 1)."""
    return {REPRESENTATIVES_GROUP: _l("Representative %(n)d", n=n),
            OWNERS_NATURAL: _l("Owner (natural person) %(n)d", n=n),
            OWNERS_LEGAL: _l("Owner (legal person) %(n)d", n=n),
            UBOS: _l("Ultimate beneficial owner %(n)d", n=n)}[group]


MAX_GROUP_ENTRIES = 20


@dataclass(frozen=True)
class FormShape:
    """Which parts and fields the form of an application has."""

    kind: str
    full_company: bool = False  # §3.2.2: registration date, industry, employees, flags, groups
    resource_url: bool = False
    resource_url_required: bool = False
    linked_client: bool = False  # N_EXTRA: the linked client and the ID-document copy
    id_document: bool = False

    @property
    def groups(self):
        return GROUPS if self.full_company else ()


def form_shape(kind, services):
    """The form's parts for a ``kind`` client and ``services``: a natural person's own details
    (+ the linked client and ID copy for N_EXTRA); a company's data and the submitter, with
    representatives, owners and UBOs when an account, safeguarding or payment acceptance is
    asked (§3.2.2), an ID copy when documents renewal or e-commerce is (§3.2.1). The resource URL
    is asked for renewal, e-commerce, and payment acceptance unless an account or safeguarding is
    asked too (§3.2.2: "nav attiecināms"); it must be given for e-commerce and payment acceptance."""
    chosen = set(services or ())
    if kind == NATURAL:
        extra = N_EXTRA in chosen
        return FormShape(NATURAL, linked_client=extra, id_document=extra)
    full = bool(FULL_COMPANY_SERVICES & chosen)
    renewal = bool(RENEWAL_SERVICES & chosen)
    acquiring_url = L_ACQUIRING in chosen and not ({L_ACCOUNT, L_SAFEGUARD} & chosen)
    url = renewal or acquiring_url
    return FormShape(LEGAL, full_company=full, resource_url=url,
                     resource_url_required=url and bool({L_ECOM} & chosen or acquiring_url),
                     id_document=renewal)


# Choices of the form (values stored, labels shown).
COMMUNICATION_LANGUAGES = (("lv", "Latviešu"), ("en", "English"), ("ru", "Русский"))
INDUSTRIES = (
    ("agriculture", _l("Agriculture, forestry and fishing")),
    ("manufacturing", _l("Manufacturing")),
    ("construction", _l("Construction")),
    ("trade", _l("Wholesale and retail trade")),
    ("transport", _l("Transport and storage")),
    ("hospitality", _l("Accommodation and food services")),
    ("ict", _l("Information and communication")),
    ("finance", _l("Financial and insurance activities")),
    ("real_estate", _l("Real estate activities")),
    ("professional", _l("Professional, scientific and technical activities")),
    ("other", _l("Other")),
)
EMPLOYEE_RANGES = (("1-9", "1–9"), ("10-49", "10–49"), ("50-249", "50–249"), ("250+", "250+"))
REPRESENTATION_TYPES = (
    ("alone", _l("Represents alone")),
    ("jointly", _l("Represents jointly")),
    ("attorney", _l("By power of attorney")),
)
SUBMITTER_ROLES = (
    ("board_member", _l("Board member")),
    ("authorised", _l("Authorised person")),
    ("employee", _l("Employee")),
    ("other", _l("Other")),
)

# --- Checks the form makes ------------------------------------------------------------------

ADULT_AGE = 18
MAX_AGE = 130
EARLIEST_REGISTRATION = date(1800, 1, 1)


def parse_date(text):
    """A date typed as dd.mm.yyyy (the Latvian way) or yyyy-mm-dd (a date input), else None."""
    text = (text or "").strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if parsed.year >= 1000:
            return parsed
    return None


def age_on(born, day):
    """Whole years of a person born on ``born`` on ``day``. Someone born on 29 February
    comes of age on 1 March in a year without one."""
    years = day.year - born.year
    if (day.month, day.day) < (born.month, born.day):
        years -= 1
    return years


def birth_date_problem(born, today):
    """Why ``born`` cannot be the birth date of a person filling in or named in the form today."""
    if born > today:
        return _l("The date of birth cannot be in the future.")
    if age_on(born, today) > MAX_AGE:
        return _l("Check the year of birth.")
    if age_on(born, today) < ADULT_AGE:
        return _l("The person must be at least 18 years old on the day the form is filled in.")
    return None


def registration_date_problem(day, today):
    if day > today:
        return _l("The registration date cannot be in the future.")
    if day < EARLIEST_REGISTRATION:
        return _l("Check the year of registration.")
    return None


def parse_share(text):
    """A share in per cent, typed as 25, 25,5 or 25.5 (at most two decimals), or None."""
    text = re.sub(r"[\s%]", "", text or "").replace(",", ".")
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


def share_problem(share):
    if share is None:
        return _l("Enter the share in per cent, a number from 0 to 100 (for example 25 or 12,5).")
    if not Decimal(0) <= share <= Decimal(100):
        return _l("The share must be from 0 to 100 %.")
    return None


def shares_total_problem(shares, group_label):
    """A group's shares may add up to at most 100 % (those typed as numbers)."""
    total = sum((s for s in shares if s is not None), Decimal(0))
    if total > 100:
        return _l("The shares of %(group)s add up to %(total)s %%; together they can be at most 100 %%.",
                  group=group_label, total=f"{total:g}".replace(".", ","))
    return None


def url_problem(text):
    """Why ``text`` is not a web address (http or https, with a host); None if it is one."""
    text = (text or "").strip()
    parts = urlsplit(text if "://" in text else "https://" + text)
    host = parts.hostname or ""
    if (parts.scheme not in ("http", "https") or "." not in host or " " in text
            or not re.fullmatch(r"[a-z0-9.-]+", host) or host.startswith(".") or host.endswith(".")):
        return _l("Enter the web address, for example https://www.example.lv.")
    return None


def normalise_url(text):
    """The address with https:// added when no scheme was typed."""
    text = (text or "").strip()
    return text if "://" in text else "https://" + text


# --- What to do next (the task list's line under the current step) ----------------------------

def next_step(stage, status, who=""):
    """What the person does next, or what happens next, at ``stage`` in ``status``."""
    if stage.code == INITIAL:
        return (_l("Fill in the application and submit it. You can save it and continue later.")
                if status == NOT_STARTED else _l("Continue the application and submit it when it is complete."))
    if stage.code == PHOTO_ID:
        if stage.who == REPRESENTATIVES:
            return _l("Every representative who will represent the company identifies with a photo of their "
                      "identity document and a selfie; those not registered receive an invitation by e-mail.")
        return _l("Identify yourself with a photo of your identity document (passport or ID card) and a "
                  "selfie; it takes about 5 minutes, at any time of day.")
    if stage.code == DOCUMENTS:
        return _l("Fill in the questionnaires, submit the documents and sign them in the Documents section.")
    if stage.code == FEE:
        return _l("When the documents are signed we send an invoice for the commission fee.")
    if stage.code == VIDEO_ID:
        return _l("Only if we ask for it: at a time agreed with us, within our working hours.")
    return _l("We decide and let you know in the cabinet and by e-mail.")
