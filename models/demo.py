"""Demo data for ``make run``: fixed accounts listed in the README. Never in production."""
import models
import rules

PASSWORD = "Demo-Parole-2026!"
ACCOUNTS = [
    # (email, phone, name, staff role)
    ("admin@kabinets.test", "+37120000001", "Anna Administratore", "admin"),
    ("klients@kabinets.test", "+37120000002", "Jānis Bērziņš", None),
    ("valde@kabinets.test", "+37120000003", "Līga Ozola", None),
    ("kolegis@kabinets.test", "+37120000004", "Pēteris Kalniņš", None),
]


def present():
    """The e-mails of the demo accounts in the database (production refuses to start with any)."""
    emails = [email for email, *_ in ACCOUNTS]
    return [u.email for u in models.User.select(models.User.email)
            .where(models.User.email.in_(emails)).order_by(models.User.email)]


def seed():
    """Create the demo accounts once; running it again changes nothing."""
    if models.User.select().where(models.User.email == ACCOUNTS[0][0]).exists():
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
        for user in users.values():
            if not user.staff_role:
                for document, meta in rules.LEGAL_DOCUMENTS.items():
                    models.Consent.create(user=user, document=document, version=meta["version"],
                                          accepted_at=models.utcnow())
        _demo_thread(person, users["klients@kabinets.test"], users["admin@kabinets.test"])
        _demo_documents(users, person, company)
        _demo_invoices(users, person, company)
        models.AuditLog.record("demo.seeded", actor="cli")
    return True


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


def describe(created):
    lines = ["Demo data " + ("loaded." if created else "already present."),
             f"Every demo account's password: {PASSWORD}"]
    labels = {"admin": "staff administrator", None: ""}
    roles = {"klients@kabinets.test": "natural-person client",
             "valde@kabinets.test": "main user of SIA Demo Būve",
             "kolegis@kabinets.test": "colleague at SIA Demo Būve (own items only)"}
    for email, phone, _name, role in ACCOUNTS:
        lines.append(f"  {email:24} {phone}  {labels.get(role) or roles[email]}")
    return "\n".join(lines)
