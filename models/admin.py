"""The administrator's settings and staff accounts (issue 15: "administrator (staff accounts,
document types and upload policies, service catalogue, the job dashboard)"; STF-15…STF-17).

Two switches live in one small table (``admin_setting``): whether an onboarding service is
offered to new applications, and whether clients may start a document type. No row means on,
so a fresh database offers everything, as before this table existed. Existing applications and
documents are never touched by a switch: it only narrows what can be *started*.

Staff accounts are created here for both ``flask create-staff`` and the administrator's page, so
the two cannot drift apart. Nothing from Flask is imported.
"""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegrityError

import rules
from models import passwords
from models.accounts import User, UserSession
from models.audit import AuditLog
from models.base import BaseModel, db, utcnow
from models.notifications import Notification, action
from rules import documents as document_rules, onboarding as O
from rules.i18n import _l

SERVICE, DOCUMENT_TYPE = "service", "document_type"
AREAS = (SERVICE, DOCUMENT_TYPE)
# The audit row of a switch: its action, and the detail naming what was switched (rules.audit words).
SWITCH_ACTIONS = {SERVICE: "admin.service_switched", DOCUMENT_TYPE: "admin.document_type_switched"}
SWITCH_DETAILS = {SERVICE: "service_code", DOCUMENT_TYPE: "document_type"}
ADMIN = "admin"


class AdminSetting(BaseModel):
    """One switch: ``area`` (SERVICE or DOCUMENT_TYPE), ``key`` (the service or type code)."""

    area = CharField(max_length=30)
    key = CharField(max_length=60)
    enabled = BooleanField(default=True)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "admin_setting"
        indexes = ((("area", "key"), True),)


ADMIN_MODELS = [AdminSetting]


def known_keys(area):
    """The codes a switch of ``area`` may name (every kind's services; every listed type)."""
    if area == SERVICE:
        return {s for services in O.SERVICES.values() for s in services}
    if area == DOCUMENT_TYPE:
        return {t.code for t in document_rules.DOCUMENT_TYPES.values() if t.listed}
    return set()


def switched_off(area):
    """The codes of ``area`` an administrator switched off."""
    return {row.key for row in AdminSetting.select(AdminSetting.key).where(
        AdminSetting.area == area, AdminSetting.enabled == False)}  # noqa: E712


def offered_services(kind):
    """The services a new application of a ``kind`` client may choose, or a submitted one may
    add: the kind's services an administrator has not switched off, in the table's order."""
    off = switched_off(SERVICE)
    return [s for s in O.services_for(kind) if s not in off]


def startable_document_types(client_kind):
    """The document types a ``client_kind`` client may start from the documents list."""
    off = switched_off(DOCUMENT_TYPE)
    return [t for t in document_rules.types_for(client_kind) if t.code not in off]


def set_switch(area, key, enabled, by, ip="", user_agent=""):
    """Turn one switch on or off (one transaction, audited); False when ``key`` is unknown or
    the switch already stands so (nothing written)."""
    if key not in known_keys(area):
        return False
    enabled = bool(enabled)
    with action():
        row = AdminSetting.get_or_none(AdminSetting.area == area, AdminSetting.key == key)
        if (row.enabled if row else True) == enabled:
            return False
        if row is None:
            try:
                with db.atomic():
                    AdminSetting.create(area=area, key=key, enabled=enabled, updated_by=by)
            except IntegrityError:  # a colleague created it a moment ago: update theirs
                AdminSetting.update(enabled=enabled, updated_at=utcnow(), updated_by=by).where(
                    AdminSetting.area == area, AdminSetting.key == key).execute()
        else:
            AdminSetting.update(enabled=enabled, updated_at=utcnow(), updated_by=by).where(
                AdminSetting.id == row.id).execute()
        AuditLog.record(SWITCH_ACTIONS[area], user=by, actor="staff", ip=ip, user_agent=user_agent,
                        **{SWITCH_DETAILS[area]: key, "enabled": enabled})
    return True


# --- Staff accounts ----------------------------------------------------------------------------

class StaffRefused(ValueError):
    """A staff change that may not be made; ``field`` names the form field it belongs to."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def staff_members():
    """Every staff user (active first), by role then name."""
    return (User.select().where(User.staff_role.is_null(False))
            .order_by(User.disabled_at.is_null(False), User.staff_role, User.full_name, User.email))


def _active_admins():
    query = User.select(User.id).where(User.staff_role == ADMIN, User.disabled_at.is_null())
    # PostgreSQL: lock the administrators' rows, so two administrators removing each other at
    # once cannot both pass the "not the last one" check.
    if getattr(db.obj, "for_update", False):
        query = query.for_update()
    return [row.id for row in query]


def create_staff(email, phone, role, name="", password=None, test_domains=False, by=None, actor="cli",
                 ip="", user_agent=""):
    """A new staff user (``flask create-staff`` and the administrators' page, STF-15).

    With ``password`` (the CLI: the operator typed it) it is checked against the password rules
    and stored. Without one (the page), a temporary password is made and only e-mailed to the
    new person through the outbox, as a password reset does: nobody sees it on a screen, and
    they must choose their own at the first sign-in, before it expires. Raises StaffRefused."""
    email_n = rules.normalise_email(email, test_domains=test_domains)
    if not email_n:
        raise StaffRefused(_l("Enter a valid e-mail address."), "email")
    phone_n = rules.normalise_phone(phone)
    if not phone_n:
        raise StaffRefused(_l("Enter a phone number in +371… form."), "phone")
    if role not in rules.STAFF_ROLES:
        raise StaffRefused(_l("Choose a role."), "role")
    name = (name or "").strip()
    if len(name) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in name):  # PostgreSQL refuses NUL
        raise StaffRefused(_l("Enter the name in letters, at most 200 characters."), "full_name")
    temporary = password is None
    if not temporary:
        problems = rules.password_problems(password)
        if problems:
            raise StaffRefused(" ".join(str(p) for p in problems), "password")
    secret = rules.temporary_password() if temporary else password
    if User.select().where((User.email == email_n) | (User.phone == phone_n)).exists():
        raise StaffRefused(_l("Someone already has this e-mail address or phone number."), "email")
    try:
        with action():
            user = User.create(email=email_n, phone=phone_n, full_name=name,
                               password_hash=passwords.hash_password(secret), staff_role=role,
                               must_change_password=temporary,
                               temporary_password_expires_at=(utcnow() + rules.TEMPORARY_PASSWORD_LIFETIME
                                                              if temporary else None))
            if temporary:
                Notification.queue("email", email_n, "temporary_password", language=user.language,
                                   user=user, password=secret)
            AuditLog.record("staff.created", user=by or user, actor=actor, ip=ip, user_agent=user_agent,
                            role=role, staff_member=user.id)
    except IntegrityError:  # the same address, created a moment ago
        raise StaffRefused(_l("Someone already has this e-mail address or phone number."), "email") from None
    return user


def _refuse_if_last_admin(target, by):
    if target.id == by.id:
        raise StaffRefused(_l("You cannot change your own role or deactivate yourself."))
    if target.staff_role == ADMIN and target.disabled_at is None and _active_admins() == [target.id]:
        raise StaffRefused(_l("The last administrator cannot be removed."))


def change_role(target, role, by, ip="", user_agent=""):
    """Give a staff member another role (STF-16); refused for oneself and for the last active
    administrator. False when the role is the same (nothing written)."""
    if role not in rules.STAFF_ROLES:
        raise StaffRefused(_l("Choose a role."), "role")
    if role == target.staff_role:
        return False
    with action():
        target = User.get_by_id(target.id)
        if role != ADMIN:
            _refuse_if_last_admin(target, by)
        elif target.id == by.id:
            raise StaffRefused(_l("You cannot change your own role or deactivate yourself."))
        previous = target.staff_role
        User.update(staff_role=role).where(User.id == target.id).execute()
        AuditLog.record("staff.role_changed", user=by, actor="staff", ip=ip, user_agent=user_agent,
                        staff_member=target.id, role=role, previous=previous)
    return True


def set_active(target, active, by, ip="", user_agent=""):
    """Deactivate or reactivate a staff member (STF-17). Deactivating ends every session at
    once: the listed ones are recorded as ended, and the session version moves on, so any
    other is signed out at its next request (``portal.load_user`` checks ``is_active`` too).
    Returns the ended session ids (the caller stops their polls); refused for oneself and for
    the last active administrator."""
    ended = []
    with action():
        target = User.get_by_id(target.id)
        if target.id == by.id:
            raise StaffRefused(_l("You cannot change your own role or deactivate yourself."))
        if active == target.is_active:
            return ended
        if not active:
            _refuse_if_last_admin(target, by)
            now = utcnow()
            ended = UserSession.end_others(target, None, now)
            User.update(disabled_at=now, session_version=User.session_version + 1).where(
                User.id == target.id).execute()
            UserSession.forget(user=target)
        else:
            User.update(disabled_at=None).where(User.id == target.id).execute()
        AuditLog.record("staff.deactivated" if not active else "staff.reactivated", user=by, actor="staff",
                        ip=ip, user_agent=user_agent, staff_member=target.id, count=len(ended))
    return ended
