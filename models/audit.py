"""The audit log: security-relevant actions, who, when, from where."""
from peewee import CharField, DateTimeField, ForeignKeyField

from models.accounts import Client, User
from models.base import BaseModel, JSONField, utcnow


class AuditLog(BaseModel):
    """Security-relevant actions: who, what, when, from where. Never secrets."""

    created_at = DateTimeField(default=utcnow, index=True)
    user = ForeignKeyField(User, null=True, backref="audit", on_delete="SET NULL")
    actor = CharField(default="")
    action = CharField(index=True)
    ip = CharField(default="")
    user_agent = CharField(default="")
    details = JSONField()
    # The company (or private client) the action concerned, when it concerned one: a main user
    # reads the company's activity from these rows (CMP-11).
    client = ForeignKeyField(Client, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        indexes = ((("client", "id"), False),)

    @classmethod
    def record(cls, action, user=None, actor="", ip="", user_agent="", client=None, **details):
        return cls.create(action=action, user=user, client=client,
                          actor=actor or (user.email if user else ""),
                          ip=ip or "", user_agent=(user_agent or "")[:250],
                          details=details)
