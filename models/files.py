"""Stored files: the metadata of every accepted upload (the bytes live in the storage backend)."""
from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField

from models.accounts import Client, User
from models.base import BaseModel, utcnow


class StoredFile(BaseModel):
    """One accepted file. ``key`` is random; the original name is only shown, never used as a path."""

    key = CharField(unique=True)
    sha256 = CharField(max_length=64)
    size = BigIntegerField()
    original_name = CharField()  # sanitised
    extension = CharField(max_length=10)
    content_type = CharField()
    client = ForeignKeyField(Client, null=True, backref="files", on_delete="CASCADE")
    uploaded_by = ForeignKeyField(User, null=True, backref="uploads", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


def referenced_keys(keys):
    """The storage keys among ``keys`` that a row points at. ``StoredFile.key`` is the only
    column that holds storage keys (messages and documents point at StoredFile rows)."""
    keys = list(keys)
    if not keys:
        return set()
    return {key for (key,) in StoredFile.select(StoredFile.key).where(StoredFile.key.in_(keys)).tuples()}
