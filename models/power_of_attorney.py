"""Powers of attorney (issue 13, seed 003): uploaded by a person for a company — one they act for,
or one they do not act for yet (found by its registration number) — with the rights it grants;
staff verify it (setting its validity and the rights it really grants: a membership with those
rights is created or widened, recorded as coming from it) or refuse it with a note; the access it
gave ends by itself when it expires (``expire_powers_of_attorney``, run by the scheduled
clean-up), with a notice 14 days before to the person and the company's main users.

Decisions (issue 13):

- A person who is not a member gets, on verification, a colleague's membership with exactly the
  rights staff set, company-wide, ending when the power of attorney expires; the company's main
  users are told by e-mail that it gave someone access (they answer for the company's access).
- A membership a main user revoked is not silently revived: staff see that (and when) it was
  revoked, must tick that the power of attorney stands anyway (it is signed by those who sign for
  the company, above the main user), and the access it then gives is a fresh one — only the
  rights staff set, none of the old ones, created now, ending with the power of attorney — with the
  main users told, as for a newcomer.
"""
from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, TextField

import rules
from models.accounts import Client, Membership, User
from models.audit import AuditLog
from models.base import BaseModel, utcnow
from models.files import StoredFile
from models.notifications import Notification
from rules import company as C
from rules import power_of_attorney as P


class PowerOfAttorney(BaseModel):
    client = ForeignKeyField(Client, backref="powers_of_attorney", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="powers_of_attorney", on_delete="CASCADE")
    stored_file = ForeignKeyField(StoredFile, backref="+", on_delete="CASCADE")
    rights = CharField(max_length=100)  # names from rules.company.GRANTABLE_RIGHTS, comma-separated
    status = CharField(default=P.WAITING)  # rules.power_of_attorney.STATUSES
    created_at = DateTimeField(default=utcnow)
    valid_from = DateField(null=True)
    valid_until = DateField(null=True)  # the last day it is valid
    decided_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    note = TextField(default="")
    # What verifying it did: the membership it created (revoked on expiry) or widened (the rights
    # it added taken back on expiry).
    membership = ForeignKeyField(Membership, null=True, backref="+", on_delete="SET NULL")
    created_membership = BooleanField(default=False)
    added_rights = CharField(max_length=100, default="")
    notice_sent_at = DateTimeField(null=True)
    expired_at = DateTimeField(null=True)

    class Meta:
        table_name = "power_of_attorney"
        indexes = ((("status", "created_at"), False), (("user", "client"), False), (("status", "valid_until"), False))

    @property
    def rights_list(self):
        return [r for r in self.rights.split(",") if r in C.GRANTABLE_RIGHTS]

    @classmethod
    def waiting_one(cls, user, client):
        return cls.get_or_none(cls.user == user, cls.client == client, cls.status == P.WAITING)

    @classmethod
    def queue(cls):
        return (cls.select(cls, User, Client).join(User, on=(cls.user == User.id)).switch(cls).join(Client)
                .where(cls.status == P.WAITING).order_by(cls.created_at, cls.id))

    @classmethod
    def valid_one(cls, user_id, client_id, today):
        """A verified power of attorney of this person for this company, valid on ``today``."""
        return (cls.select().where(cls.user == user_id, cls.client == client_id, cls.status == P.VERIFIED,
                                   cls.valid_from <= today, cls.valid_until >= today).first())

    def revoked_membership(self):
        """The person's membership of the company when a main user (or anyone) revoked it, else None."""
        return Membership.get_or_none(Membership.user == self.user_id, Membership.client == self.client_id,
                                      Membership.revoked_at.is_null(False))

    def decide(self, verify, by, note="", valid_from=None, valid_until=None, rights=None):
        """Verify (with its validity, and the ``rights`` staff found it grants — by default those
        the person ticked) or refuse, once: False when someone decided first. Verifying creates
        or widens the person's membership with those rights (from ``valid_from``). The person is
        told by e-mail. Call inside ``models.action()``."""
        status = P.VERIFIED if verify else P.REFUSED
        fields = dict(status=status, decided_at=utcnow(), decided_by=by, note=note)
        if verify:
            fields.update(valid_from=valid_from, valid_until=valid_until)
            if rights is not None:
                fields["rights"] = ",".join(r for r in C.GRANTABLE_RIGHTS if r in rights)
        done = (PowerOfAttorney.update(**fields)
                .where(PowerOfAttorney.id == self.id, PowerOfAttorney.status == P.WAITING).execute())
        if not done:
            return False
        for name, value in fields.items():
            setattr(self, name, value)
        if verify and valid_from <= utcnow().date():
            self._grant()
        user = User.get_by_id(self.user_id)
        if user.is_active:
            params = {"company": self.client.name or "", "note": note,
                      "valid_until": valid_until.isoformat() if verify else ""}
            Notification.queue("email", user.email, "poa_verified" if verify else "poa_refused",
                               language=user.language, user=user, **params)
        return True

    def _grant(self):
        wanted = self.rights_list
        existing = Membership.get_or_none(Membership.user == self.user_id, Membership.client == self.client_id)
        if existing is None or existing.revoked_at is not None:
            fields = C.rights_fields(wanted, False)
            if existing is None:
                existing = Membership.create(user=self.user_id, client=self.client_id, role=rules.COLLEAGUE,
                                             **fields)
            else:
                Membership.update(role=rules.COLLEAGUE, revoked_at=None, created_at=utcnow(), **fields).where(
                    Membership.id == existing.id).execute()
            self.created_membership, self.added_rights = True, ",".join(wanted)
            self._tell_main_users()
        else:
            added = [r for r in wanted if not getattr(existing, f"can_{r}")]
            if added:
                Membership.update(**{f"can_{r}": True for r in added}).where(Membership.id == existing.id).execute()
            self.added_rights = ",".join(added)
        self.membership = existing.id
        self.save()

    def _tell_main_users(self):
        """The company's main users learn that this power of attorney gave someone access."""
        person = User.get_by_id(self.user_id)
        client = Client.get_by_id(self.client_id)
        for user in _main_users(self.client_id):
            if user.id != person.id:
                Notification.queue("email", user.email, "poa_access_given", language=user.language, user=user,
                                   company=client.name or "", person=person.display_name,
                                   valid_until=self.valid_until.isoformat() if self.valid_until else "")

    def _take_back(self, now):
        """The access it gave ends: a membership it created is revoked (unless it became a main
        user's meanwhile), rights it added are taken back."""
        if self.membership_id is None:
            return
        membership = Membership.get_or_none(Membership.id == self.membership_id, Membership.revoked_at.is_null())
        if membership is None or membership.can_manage_users:
            return
        if self.created_membership:
            Membership.update(revoked_at=now).where(Membership.id == membership.id).execute()
        else:
            added = [r for r in self.added_rights.split(",") if r in C.GRANTABLE_RIGHTS]
            if added:
                Membership.update(**{f"can_{r}": False for r in added}).where(
                    Membership.id == membership.id).execute()


def _main_users(client_id):
    return list(User.select().join(Membership).where(
        Membership.client == client_id, Membership.can_manage_users == True,  # noqa: E712
        Membership.revoked_at.is_null(), User.disabled_at.is_null()))


def expire_powers_of_attorney(now=None):
    """Run by the scheduled clean-up: verified powers of attorney past their last day expire (the
    access they gave ends); those that start today give their access; those ending within 14 days
    are noticed once to the person and the company's main users. Returns how many expired."""
    now = now or utcnow()
    today = now.date()
    expired = 0
    for poa in PowerOfAttorney.select().where(PowerOfAttorney.status == P.VERIFIED,
                                               PowerOfAttorney.valid_until < today):
        if PowerOfAttorney.update(status=P.EXPIRED, expired_at=now).where(
                PowerOfAttorney.id == poa.id, PowerOfAttorney.status == P.VERIFIED).execute():
            poa._take_back(now)
            AuditLog.record("power_of_attorney.expired", actor="scheduler", client=poa.client_id,
                            power_of_attorney=poa.id, client_user=poa.user_id)
            expired += 1
    for poa in PowerOfAttorney.select().where(PowerOfAttorney.status == P.VERIFIED,
                                               PowerOfAttorney.membership.is_null(),
                                               PowerOfAttorney.valid_from <= today):
        poa._grant()  # verified ahead of its first day: its access starts now
    for poa in (PowerOfAttorney.select(PowerOfAttorney, Client).join(Client)
                .where(PowerOfAttorney.status == P.VERIFIED, PowerOfAttorney.notice_sent_at.is_null(),
                       PowerOfAttorney.valid_until <= today + P.NOTICE_BEFORE)):
        if not PowerOfAttorney.update(notice_sent_at=now).where(
                PowerOfAttorney.id == poa.id, PowerOfAttorney.notice_sent_at.is_null()).execute():
            continue
        person = User.get_by_id(poa.user_id)
        told = {u.id: u for u in _main_users(poa.client_id)}
        if person.is_active:
            told[person.id] = person
        for user in told.values():
            Notification.queue("email", user.email, "poa_expiring", language=user.language, user=user,
                               company=poa.client.name or "", person=person.display_name,
                               valid_until=poa.valid_until.isoformat())
    return expired


def company_by_number(registration_number):
    """The company a power of attorney is sent for by its registration number (a person who does
    not act for it yet): the portal's legal client with that number; else, when the company-register
    data in force knows the number, a client made from it (its name as the register has it, as
    ``models.register.become_main_user`` does), so the institution's own register, not the
    client list, decides what is found; else None. Call inside ``models.action()``."""
    from models.register import RegisterEntry, RegisterImport
    found = (Client.select().where(Client.kind == rules.LEGAL, Client.registration_number == registration_number)
             .order_by(Client.id).first())
    if found is not None or RegisterImport.current() is None:
        return found
    entry = RegisterEntry.select().where(RegisterEntry.registration_number == registration_number).first()
    if entry is None:
        return None
    return Client.create(kind=rules.LEGAL, name=entry.company_name, country="LV",
                         registration_number=registration_number)


def submitter_authority(user, client, today):
    """(rules.power_of_attorney authority, the valid power of attorney or None) of a document's
    submitter for its company: representation rights in the register, or a valid power of attorney."""
    from models.register import standing
    from rules import register as R
    register_may = False
    if client.registration_number:
        _outcome, rows = standing(user, client.registration_number)
        register_may = any(row.signing_rights in (R.ALONE, R.JOINTLY) for row in rows)
    attorney = PowerOfAttorney.valid_one(user.id, client.id, today)
    return P.authority(register_may, attorney is not None), attorney


POWER_OF_ATTORNEY_MODELS = [PowerOfAttorney]
