"""Demo data for ``make run``: fixed accounts listed in the README. Never in production."""
import models
import rules
from models.company import token_hash
from rules.company import INVITATION_LIFETIME
from rules.i18n import _l

PASSWORD = "Demo-Parole-2026!"
ACCOUNTS = [
    # (email, phone, name, staff role)
    ("admin@kabinets.test", "+37120000001", "Anna Administratore", "admin"),
    ("klients@kabinets.test", "+37120000002", "Jānis Bērziņš", None),
    ("valde@kabinets.test", "+37120000003", "Līga Ozola", None),
    ("kolegis@kabinets.test", "+37120000004", "Pēteris Kalniņš", None),
    ("konsultante@kabinets.test", "+37120000005", "Ilze Konsultante", "consultant"),
]

# The people of the development identity broker (adapters.identity.DevBroker), with made-up
# personal codes in the form a Latvija.lv-style broker sends them (``serial_number``). The demo
# accounts stated the codes of the first three (``seed``): their first e-identity sign-in offers
# to link the account after its password is confirmed.
# A colleague SIA Demo Būve's main user has invited (e-mail, phone): no account yet.
DEMO_INVITEE = ("anna@kabinets.test", "+37120000055")

PERSONS = [
    {"id": "janis", "name": "Jānis Bērziņš", "personal_code": "PNOLV-010185-10001",
     "note": _l("private client (klients@kabinets.test)"), "account": "klients@kabinets.test"},
    {"id": "liga", "name": "Līga Ozola", "personal_code": "PNOLV-020279-10002",
     "note": _l("board member, main user of SIA Demo Būve (valde@kabinets.test)"), "account": "valde@kabinets.test"},
    {"id": "peteris", "name": "Pēteris Kalniņš", "personal_code": "PNOLV-030390-10003",
     "note": _l("employee of SIA Demo Būve (kolegis@kabinets.test)"), "account": "kolegis@kabinets.test"},
    {"id": "ilze", "name": "Ilze Jaunā", "personal_code": "PNOLV-040495-10004",
     "note": _l("no account yet"), "account": None},
    # The broker vouches for her phone number, to which SIA Demo Būve's invitation went.
    {"id": "anna", "name": "Anna Darbiniece", "personal_code": "PNOLV-050596-10005", "phone": DEMO_INVITEE[1],
     "note": _l("no account yet; invited by SIA Demo Būve to her phone"), "account": None},
]


def present():
    """The e-mails of the demo accounts in the database (production refuses to start with any)."""
    emails = [email for email, *_ in ACCOUNTS]
    return [u.email for u in models.User.select(models.User.email)
            .where(models.User.email.in_(emails)).order_by(models.User.email)]


def seed():
    """Create the demo accounts once; running it again changes nothing."""
    if models.User.select().where(models.User.email == ACCOUNTS[0][0]).exists():
        _demo_invitation()
        return False
    with models.db.atomic():
        users = {}
        for email, phone, name, role in ACCOUNTS:
            users[email] = models.User.create(email=email, phone=phone, full_name=name,
                                              staff_role=role,
                                              password_hash=models.hash_password(PASSWORD))
        person = models.Client.create(kind=rules.NATURAL, name="Jānis Bērziņš", citizenship="LV")
        models.Membership.grant(users["klients@kabinets.test"], person, rules.SELF)
        company = models.Client.create(kind=rules.LEGAL, name="SIA Demo Būve", country="LV",
                                       registration_number="40003000001")
        models.Membership.grant(users["valde@kabinets.test"], company, rules.MAIN)
        models.Membership.grant(users["kolegis@kabinets.test"], company, rules.COLLEAGUE)
        # Both demo clients are the demo consultant's (issue 15: a consultant sees only their clients).
        for client in (person, company):
            client.consultant = users["konsultante@kabinets.test"].id
            client.save()
        for user in users.values():
            if not user.staff_role:
                for document, meta in rules.LEGAL_DOCUMENTS.items():
                    models.Consent.create(user=user, document=document, version=meta["version"],
                                          accepted_at=models.utcnow())
        from rules.identity import ETSI, personal_code_from_claim
        for demo_person in PERSONS:
            if demo_person["account"]:
                models.StatedPersonalCode.state(users[demo_person["account"]],
                                                personal_code_from_claim(demo_person["personal_code"], ETSI))
        _demo_register()
        _demo_invitation()
        _demo_thread(person, users["klients@kabinets.test"], users["admin@kabinets.test"])
        _demo_documents(users, person, company)
        _demo_invoices(users, person, company)
        _demo_services(users, person, company)
        models.AuditLog.record("demo.seeded", actor="cli")
    return True


# The company-register data of the demo (what ``flask import-register`` loads from the institution's
# file): Līga signs alone for SIA Demo Būve, Pēteris jointly; Jānis signs alone for a company the
# portal does not know yet, so his e-identity sign-in offers to make him its main user.
REGISTER = [
    ("40003000001", "SIA Demo Būve", "PNOLV-020279-10002", "valdes locekle", "alone"),
    ("40003000001", "SIA Demo Būve", "PNOLV-030390-10003", "valdes loceklis", "jointly"),
    ("40003000002", "SIA Bērziņa Darbnīca", "PNOLV-010185-10001", "valdes priekšsēdētājs", "alone"),
]


def _demo_register():
    from models.register import RegisterImport
    from rules import register as R
    entries = [R.Entry(line, number, name, R.personal_code(code), role, rights)
               for line, (number, name, code, role, rights) in enumerate(REGISTER, start=2)]
    RegisterImport.replace(entries, "demo", "0" * 64)


def _demo_thread(client, author, staff):
    """One answered conversation in the private client's messages."""
    from models.messages import CLIENT, STAFF, Thread
    thread = Thread.create(client=client, created_by=author, subject="Konta izraksts")
    thread.add_message(CLIENT, author=author, body="Labdien! Lūdzu, atsūtiet konta izrakstu par oktobri.")
    thread.add_message(STAFF, author=staff, body="Labdien! Izraksts ir pievienots Jūsu dokumentiem. "
                                                 "Ar cieņu, Anna Administratore")


def _demo_documents(users, person, company):
    """A few documents in different statuses, so the lists are not empty (issue 3)."""
    from models.documents import Document
    from rules import documents as R
    client_user, board = users["klients@kabinets.test"], users["valde@kabinets.test"]
    Document.start(person, "client_questionnaire", client_user)
    loan = Document.start(person, "loan_application", client_user)
    loan.transition(R.SUBMIT, by=client_user, values={"amount": "12000.00", "term_months": "36",
                                                      "purpose": "Mājokļa remonts"})
    Document.start(company, "company_questionnaire", board)
    amendment = Document.start(company, "contract_amendment", board)
    amendment.transition(R.SUBMIT, by=board, values={"contract_number": "L-2026/118",
                                                     "change": "Pagarināt termiņu par 12 mēnešiem."})
    amendment.transition(R.REQUEST_INFO, by=users["admin@kabinets.test"],
                         comments={"change": "Norādiet, no kura datuma termiņš jāpagarina."})


def _demo_invitation():
    """Līga's pending invitation for Anna (``DEMO_INVITEE``), made again whenever none is
    pending and Anna has no account yet: her first e-identity sign-in at the development broker
    then shows the employee's linking step. No message is sent (the broker finds it by phone)."""
    import secrets
    email, phone = DEMO_INVITEE
    if models.User.select().where(models.User.email == email).exists() or models.Invitation.pending_for_phone(phone):
        return
    company = models.Client.get_or_none(models.Client.registration_number == "40003000001")
    main = models.User.get_or_none(models.User.email == "valde@kabinets.test")
    if company is None or main is None:
        return
    now = models.utcnow()
    models.Invitation.create(client=company, invited_by=main, full_name="Anna Darbiniece", email=email, phone=phone,
                             can_documents=True, can_messages=True, own_items_only=True,
                             token_hash=token_hash(secrets.token_urlsafe(32)), created_at=now, sent_at=now,
                             expires_at=now + INVITATION_LIFETIME)


def _demo_invoices(users, person, company):
    """The company's commission fee, partly paid, and a paid invoice of the private client, so
    the finance block shows paid and remaining amounts (issue 15)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from models.finance import Invoice
    from rules import finance as F
    staff, today = users["admin@kabinets.test"], date.today()
    fee = Invoice.issue(company, staff, Decimal("150.00"), today + timedelta(days=14),
                        "Komisijas nauda par norēķinu konta atvēršanu", purpose=F.COMMISSION_FEE)
    fee.record_payment(Decimal("50.00"), today, by=staff, note="Daļēja samaksa")
    paid = Invoice.issue(person, staff, Decimal("25.50"), today + timedelta(days=7),
                         "Konta izraksta sagatavošana", purpose=F.OTHER)
    paid.record_payment(Decimal("25.50"), today, by=staff)


def _demo_services(users, person, company):
    """What the demo clients hold (issue 15): Jānis a loan with its schedule and a permit past its
    validity; SIA Demo Būve a radio-frequency permit, a guarantee and two connections, one of them
    assigned to Pēteris (a colleague limited to own items sees only that one)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from models.services import Service
    from rules import services as S
    staff, today = users["admin@kabinets.test"], date.today()

    def add(client, assignee=None, schedule=(), **values):
        return Service.save_from(None, client, staff, {"assignee": assignee, **values}, list(schedule))

    first = date(today.year + (today.month == 12), today.month % 12 + 1, 15)
    monthly = [(date(first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1, 15),
                Decimal("350.00")) for n in range(12)]
    add(person, category=S.LOAN, number="A-2026/0457", name="Mājokļa remonta aizdevums", amount=Decimal("4200.00"),
        valid_from=today - timedelta(days=30), valid_until=monthly[-1][0], schedule=monthly)
    add(person, category=S.PERMIT, number="ATL-2024-118", name="Zvejas atļauja",
        valid_from=date(2024, 1, 1), valid_until=today - timedelta(days=10))
    add(company, category=S.PERMIT, number="RF-2026-00031", name="Radiofrekvenču piešķīruma lietošanas atļauja",
        valid_from=date(2026, 1, 1), valid_until=date(2030, 12, 31))
    add(company, category=S.GUARANTEE, number="G-2025/112", name="Eksporta kredīta garantija",
        amount=Decimal("25000.00"), valid_from=date(2025, 6, 1), valid_until=date(2028, 5, 31),
        schedule=[(date(2026, 6, 1), Decimal("250.00")), (date(2027, 6, 1), Decimal("250.00"))])
    add(company, category=S.CONNECTION, number="+371 2000 0010", name="Biznesa 20 GB")
    add(company, users["kolegis@kabinets.test"], category=S.CONNECTION, number="+371 2000 0011",
        name="Biznesa neierobežots")
    # Pēteris may see services (his own only): he finds his connection, not the company's others.
    models.Membership.update(can_services=True).where(models.Membership.user == users["kolegis@kabinets.test"],
                                                      models.Membership.client == company).execute()


def describe(created):
    lines = ["Demo data " + ("loaded." if created else "already present."),
             f"Every demo account's password: {PASSWORD}"]
    labels = {"admin": "staff administrator", "consultant": "staff consultant of both demo clients", None: ""}
    roles = {"klients@kabinets.test": "natural-person client",
             "valde@kabinets.test": "main user of SIA Demo Būve",
             "kolegis@kabinets.test": "colleague at SIA Demo Būve (own items only)"}
    for email, phone, _name, role in ACCOUNTS:
        lines.append(f"  {email:25} {phone}  {labels.get(role) or roles[email]}")
    return "\n".join(lines)
