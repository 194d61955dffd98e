"""Company-register representation data the institution holds (``flask import-register``), and
becoming a company's main user: remotely by e-identity against that data (seed 000), or by an
uploaded signed authorisation that staff verify.

Register rows keep the personal code only as its keyed hash, the same one digital identities
use (``models.identity``), so a trusted sign-in finds its rows without the code ever being an
index in clear. The hashes are made under the key current at the import: after the secret is
rotated the snapshot no longer matches anyone (``RegisterImport.current`` says so) until it is
imported again, which the institution does regularly anyway.
"""
import hashlib

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

import rules
from models.accounts import Client, Membership, User
from models.base import BaseModel, db, utcnow
from models.files import StoredFile
from models.identity import HASH_PURPOSE
from models.notifications import Notification
from models.runtime import runtime
from rules import register as R

INSERT_BATCH = 500  # rows per INSERT: well under SQLite's limit of bound values


def code_hash(normalised):
    """The keyed hash of a normalised personal code under the current key: the first of
    ``models.identity.personal_code_hashes`` (the key is cached, as an import hashes many)."""
    return runtime.keys.mac(HASH_PURPOSE, normalised)


def key_check():
    """Names the key hashes are made under, without revealing it: kept with each import."""
    return runtime.keys.mac(HASH_PURPOSE, "register-key-check")[:16]


class RegisterImport(BaseModel):
    """One import of the register data: when, from what, how much. The newest one is the
    snapshot in force; the rows of older ones are gone (each import replaces them)."""

    imported_at = DateTimeField(default=utcnow)
    source = CharField(max_length=255)
    sha256 = CharField(max_length=64)
    rows = IntegerField(default=0)
    companies = IntegerField(default=0)
    persons = IntegerField(default=0)
    skipped = IntegerField(default=0)
    key_check = CharField(max_length=16)

    class Meta:
        table_name = "register_import"

    @classmethod
    def newest(cls):
        return cls.select().order_by(cls.id.desc()).first()

    @classmethod
    def current(cls):
        """The snapshot in force, or None when there is none or its hashes were made under a key
        that is no longer current (import it again)."""
        newest = cls.newest()
        return newest if newest is not None and newest.key_check == key_check() else None

    @classmethod
    def replace(cls, entries, source, sha256, skipped=0):
        """Make ``entries`` (``rules.register.Entry``, valid ones) the snapshot in force, the
        previous rows deleted. Call inside ``models.action()``: the reader sees the old snapshot
        or the new, never a mixture. Exact duplicates are kept once."""
        snapshot = cls.create(source=source[:255], sha256=sha256, skipped=skipped, key_check=key_check())
        RegisterEntry.delete().execute()
        seen, batch = set(), []  # a short digest of each row kept: a whole register's rows would not fit
        for entry in entries:
            row = (entry.registration_number, entry.company_name, code_hash(entry.personal_code),
                   entry.role, entry.signing_rights)
            digest = hashlib.blake2b("\x1f".join(row).encode(), digest_size=16).digest()
            if digest in seen:
                continue
            seen.add(digest)
            batch.append(row)
            if len(batch) >= INSERT_BATCH:
                _insert(snapshot, batch)
                batch = []
        _insert(snapshot, batch)
        rows = RegisterEntry.select()
        snapshot.rows = rows.count()
        snapshot.companies = rows.select(fn.COUNT(RegisterEntry.registration_number.distinct())).scalar()
        snapshot.persons = rows.select(fn.COUNT(RegisterEntry.code_hash.distinct())).scalar()
        snapshot.save()
        return snapshot


def file_lines(path, digest=None):
    """The bytes lines of the file at ``path`` for ``rules.register.read``, none longer than the
    longest a row may be (plus one byte, so an over-long line is seen as such), the file's
    SHA-256 kept in ``digest`` as it is read. ``rules.register.FileRefused`` when the file is
    larger than any register."""
    import os
    if os.path.getsize(path) > R.MAX_FILE_BYTES:
        raise R.FileRefused(f"the file is larger than {R.MAX_FILE_BYTES // (1024 * 1024)} MB")
    with open(path, "rb") as source:
        while True:
            line = source.readline(R.MAX_LINE_BYTES + 1)
            if not line:
                return
            if digest is not None:
                digest.update(line)
            if len(line) > R.MAX_LINE_BYTES and not line.endswith(b"\n"):
                while True:  # the rest of an over-long line: hashed, not kept
                    more = source.readline(R.MAX_LINE_BYTES + 1)
                    if digest is not None:
                        digest.update(more)
                    if not more or more.endswith(b"\n"):
                        break
            yield line


def _insert(snapshot, batch):
    if batch:
        fields = [RegisterEntry.snapshot, RegisterEntry.registration_number, RegisterEntry.company_name,
                  RegisterEntry.code_hash, RegisterEntry.role, RegisterEntry.signing_rights]
        RegisterEntry.insert_many([(snapshot.id, *row) for row in batch], fields=fields).execute()


class RegisterEntry(BaseModel):
    """One person's representation of one company in the snapshot in force."""

    snapshot = ForeignKeyField(RegisterImport, backref="entries", on_delete="CASCADE")
    registration_number = CharField(max_length=11, index=True)
    company_name = CharField(max_length=255)
    code_hash = CharField(max_length=64)
    role = CharField(max_length=100)
    signing_rights = CharField(max_length=10)  # rules.register.SIGNING_RIGHTS

    class Meta:
        table_name = "register_entry"
        indexes = ((("code_hash", "registration_number"), False),)


def _identity_hash(user):
    from models.identity import DigitalIdentity
    identity = DigitalIdentity.get_or_none(DigitalIdentity.user == user)
    return identity.code_hash if identity is not None else None


def standing(user, registration_number, now=None):
    """(``rules.register`` outcome, the register rows) of the person ``user``'s linked digital
    identity is, for one company. Without a linked identity nothing matches (``NO``)."""
    snapshot = RegisterImport.current()
    found = _identity_hash(user)
    if snapshot is None:
        return R.STALE, []
    if found is None or not registration_number:
        return R.decide([], snapshot.imported_at, now or utcnow()), []
    rows = list(RegisterEntry.select().where(RegisterEntry.code_hash == found,
                                             RegisterEntry.registration_number == registration_number)
                .order_by(RegisterEntry.id))
    return R.decide([r.signing_rights for r in rows], snapshot.imported_at, now or utcnow()), rows


def companies_of(user, now=None, memberships=None):
    """The companies the register shows the person representing, each as a dict: registration
    number, name, outcome, and the portal's client with that number when there is one (with the
    user's live membership of it, if any: ``memberships`` when the caller read them already).
    Empty without a current snapshot or identity."""
    snapshot = RegisterImport.current()
    found = _identity_hash(user)
    if snapshot is None or found is None:
        return []
    rows = list(RegisterEntry.select().where(RegisterEntry.code_hash == found)
                .order_by(RegisterEntry.company_name, RegisterEntry.id).limit(200))
    companies = {}
    for row in rows:
        companies.setdefault(row.registration_number, {"registration_number": row.registration_number,
                                                       "name": row.company_name, "rights": []})
        companies[row.registration_number]["rights"].append(row.signing_rights)
    now = now or utcnow()
    memberships = user.memberships_query() if memberships is None else memberships
    mine = {m.client.registration_number: m for m in memberships if m.client.registration_number}
    for company in companies.values():
        company["outcome"] = R.decide(company["rights"], snapshot.imported_at, now)
        company["membership"] = mine.get(company["registration_number"])
    return list(companies.values())


class Refused(Exception):
    """Becoming main user was refused: ``outcome`` says why (``rules.register`` or ``TAKEN``)."""

    def __init__(self, outcome):
        super().__init__(outcome)
        self.outcome = outcome


def _make_main(membership):
    """The membership becomes the main user's, with the main user's rights."""
    rights = rules.ROLE_DEFAULT_RIGHTS[rules.MAIN]
    membership.role = rules.MAIN
    for name, value in rights.items():
        setattr(membership, name if name == "own_items_only" else f"can_{name}", value)
    membership.revoked_at = None
    membership.save()
    return membership


def become_main_user(user, registration_number, membership=None, now=None):
    """Make ``user`` the main user of the company with ``registration_number`` because the
    register shows their linked digital identity signing for it alone. Call inside
    ``models.action()`` (the caller records the audit row); raises ``Refused`` otherwise.

    - ``membership`` (a registrant's or colleague's, of a company the portal knows without a
      number yet, or with this number) becomes the main user's; the company takes the number
      and, if it has none, the register's name. If another client of the portal has the number
      already, the request is refused (``R.TAKEN``): the person becomes main user of that one
      instead, from the list of their register companies.
    - without one, the portal's client with that number is used, or created from the register
      data when the company is not a client yet (the register is the institution's own data,
      so its name is trusted), and the person's membership of it made or turned into main.

    Returns the main user's membership."""
    outcome, rows = standing(user, registration_number, now)
    if outcome != R.MAY:
        raise Refused(outcome)
    # One at a time (PostgreSQL: the snapshot's row locked until the caller's transaction ends;
    # SQLite writes one at a time anyway): two clicks, or two people, making the same company a
    # client at once would otherwise make it twice.
    if getattr(db.obj, "for_update", False):
        list(RegisterImport.select(RegisterImport.id).where(RegisterImport.id == rows[0].snapshot_id).for_update())
    holder = (Client.select().where(Client.kind == rules.LEGAL, Client.registration_number == registration_number)
              .order_by(Client.id).first())
    if membership is not None:
        client = membership.client
        if client.registration_number not in (None, "", registration_number) or (
                holder is not None and holder.id != client.id):
            raise Refused(R.TAKEN)
        client.registration_number = registration_number
        client.name = client.name or rows[0].company_name
        client.country = client.country or "LV"
        client.save()
        return _make_main(membership)
    client = holder or Client.create(kind=rules.LEGAL, name=rows[0].company_name, country="LV",
                                     registration_number=registration_number)
    existing = Membership.get_or_none(Membership.user == user, Membership.client == client)
    if existing is not None:
        if existing.role == rules.MAIN and existing.revoked_at is None:
            return existing
        return _make_main(existing)
    return Membership.grant(user, client, rules.MAIN)


# --- Asking staff: a signed authorisation --------------------------------------------------

class MainUserRequest(BaseModel):
    """A person asks for main-user rights of a company with a signed authorisation (or a
    document showing their signing rights) that staff verify; staff grant or refuse with a note,
    and the person is told."""

    client = ForeignKeyField(Client, backref="main_user_requests", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="main_user_requests", on_delete="CASCADE")
    stored_file = ForeignKeyField(StoredFile, backref="+", on_delete="CASCADE")
    status = CharField(default=R.WAITING)  # rules.register.REQUEST_STATUSES
    created_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    note = TextField(default="")

    class Meta:
        table_name = "main_user_request"
        indexes = ((("status", "created_at"), False), (("user", "client"), False))

    @classmethod
    def waiting_one(cls, user, client):
        return cls.get_or_none(cls.user == user, cls.client == client, cls.status == R.WAITING)

    @classmethod
    def queue(cls):
        """The requests waiting for staff, oldest first (the order they arrived in)."""
        return (cls.select(cls, User, Client).join(User, on=(cls.user == User.id)).switch(cls).join(Client)
                .where(cls.status == R.WAITING).order_by(cls.created_at, cls.id))

    def decide(self, grant, by, note=""):
        """Grant or refuse (once: False when someone decided first, or — granting — the
        person's membership was revoked meanwhile). Notifies the person. Call inside
        ``models.action()``."""
        status = R.GRANTED if grant else R.REFUSED
        membership = Membership.get_or_none(Membership.user == self.user_id, Membership.client == self.client_id,
                                            Membership.revoked_at.is_null())
        if grant and membership is None:
            return False
        done = (MainUserRequest.update(status=status, decided_at=utcnow(), decided_by=by, note=note)
                .where(MainUserRequest.id == self.id, MainUserRequest.status == R.WAITING).execute())
        if not done:
            return False
        self.status, self.note = status, note
        if grant:
            _make_main(membership)
        user = User.get_by_id(self.user_id)
        if user.is_active:
            params = {"company": self.client.name or "", "note": note}
            template = "main_user_granted" if grant else "main_user_refused"
            Notification.queue("email", user.email, template, language=user.language, user=user, **params)
            if not grant:  # negative decisions go by e-mail and SMS (DESIGN, notifications)
                Notification.queue("sms", user.phone, template, language=user.language, user=user, **params)
        return True


def waiting_count():
    return MainUserRequest.select(fn.COUNT(MainUserRequest.id)).where(MainUserRequest.status == R.WAITING).scalar()


REGISTER_MODELS = [RegisterImport, RegisterEntry, MainUserRequest]


# --- Staff, after a visit (CMP-2) -----------------------------------------------------------

def find_companies(text, limit=20):
    """Legal-person clients for staff looking a company up: by its registration number (11 digits,
    spaces ignored) exactly, else by a part of its name (case-insensitive), by name."""
    text = (text or "").strip()
    if not text:
        return []
    query = Client.select().where(Client.kind == rules.LEGAL)
    number = R.registration_number(text)
    if number:
        query = query.where(Client.registration_number == number)
    else:
        query = query.where(fn.LOWER(Client.name).contains(text.lower()))
    return list(query.order_by(Client.name, Client.id).limit(limit))


def find_person(text):
    """The client account staff mean by ``text``: an e-mail address, or a personal code (the
    account its digital identity signs in to, else the one account that stated the code).
    Returns (user or None, ``rules.register`` lookup outcome: FOUND, NOT_FOUND or AMBIGUOUS)."""
    from models.identity import DigitalIdentity, StatedPersonalCode, personal_code_hashes
    text = (text or "").strip()
    if not text or len(text) > 254:
        return None, R.PERSON_NOT_FOUND
    if "@" in text:
        found = User.get_or_none(fn.LOWER(User.email) == text.lower())
    else:
        code = R.personal_code(text)
        if code is None:
            return None, R.PERSON_NOT_FOUND
        identity = DigitalIdentity.find(code)
        found = identity.user if identity is not None and identity.user_id else None
        if found is None:
            stated = list(User.select().join(StatedPersonalCode).where(
                StatedPersonalCode.code_hash.in_(personal_code_hashes(code))).limit(2))
            if len(stated) > 1:
                return None, R.PERSON_AMBIGUOUS
            found = stated[0] if stated else None
    if found is None or found.is_staff or not found.is_active:
        return None, R.PERSON_NOT_FOUND
    return found, R.PERSON_FOUND


def main_users_of(client_id):
    """The company's live main users' memberships, with their users, by name."""
    return list(Membership.select(Membership, User).join(User).where(
        Membership.client == client_id, Membership.can_manage_users == True,  # noqa: E712
        Membership.revoked_at.is_null()).order_by(fn.LOWER(User.full_name), User.email))


def grant_after_visit(user, client, note):
    """Staff make ``user`` a main user of ``client`` after checking, at the institution, that
    the person has signing rights (``note`` says what was checked: "identity document and the
    register extract checked at the office"). The person's membership is made (or a revoked or
    colleague's one turned) main; a request of theirs waiting in the queue is closed as granted
    with the same note; the person is told by e-mail. Returns the membership. Call inside
    ``models.action()`` (the caller records the audit row)."""
    existing = Membership.get_or_none(Membership.user == user, Membership.client == client)
    if existing is None:
        membership = Membership.grant(user, client, rules.MAIN)
    elif existing.role == rules.MAIN and existing.can_manage_users and existing.revoked_at is None:
        membership = existing
    else:
        membership = _make_main(existing)
    (MainUserRequest.update(status=R.GRANTED, decided_at=utcnow(), note=note)
     .where(MainUserRequest.user == user, MainUserRequest.client == client,
            MainUserRequest.status == R.WAITING).execute())
    Notification.queue("email", user.email, "main_user_granted", language=user.language, user=user,
                       company=client.name or "", note=note)
    return membership


def remove_main_user(membership, note, last_confirmed=False):
    """Staff take main-user rights away (the person left the company, or lost signing rights):
    the membership becomes a colleague's with the other rights kept, company-wide
    (``rules.company.demoted_fields``). The last main user is taken away only with
    ``last_confirmed`` (staff ticked that the company is left without one); otherwise returns
    ``rules.company.LAST_MAIN_USER`` and changes nothing. The person is told by e-mail and SMS.
    Returns None when done. Call inside ``models.action()``."""
    from models.company import main_user_count
    from rules import company as C
    refused = C.staff_removal_refusal(main_user_count(membership.client_id, lock=True), last_confirmed)
    if refused:
        return refused
    done = (Membership.update(**C.demoted_fields())
            .where(Membership.id == membership.id, Membership.can_manage_users == True,  # noqa: E712
                   Membership.revoked_at.is_null()).execute())
    if not done:
        return C.NOT_MAIN
    user = User.get_by_id(membership.user_id)
    if user.is_active:
        params = {"company": membership.client.name or "", "note": note}
        Notification.queue("email", user.email, "main_user_removed", language=user.language, user=user, **params)
        Notification.queue("sms", user.phone, "main_user_removed", language=user.language, user=user, **params)
    return None
