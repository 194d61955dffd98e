"""Who reaches a client-owned object, as plain data: the rule ``models.scoping`` puts into SQL.

A client user reaches an object of a client (a document, a thread) under a permission when
they hold a live membership of that client granting the permission, and — when that
membership is limited to own items — they created the object. Staff reach objects by their
role, not through memberships (``models.scoping``). The tests check the query against this
rule, table by table and on random companies (``tests/test_tenancy.py``).
"""
from typing import NamedTuple

from rules import PERMISSIONS


class Grant(NamedTuple):
    """One membership as the rule sees it."""

    client_id: int
    rights: frozenset  # the permissions it grants (rules.PERMISSIONS)
    own_items_only: bool = False
    revoked: bool = False


def reaches(grants, permission, owner_client_id, creator_id, user_id):
    """True when a user holding ``grants`` may reach an object of ``owner_client_id`` created
    by ``creator_id`` under ``permission``."""
    return any(g.client_id == owner_client_id and not g.revoked and permission in g.rights
               and (not g.own_items_only or creator_id == user_id)
               for g in grants)


def grant_of(membership):
    """The rule's view of a ``models.Membership`` (or anything with its fields)."""
    return Grant(membership.client_id, frozenset(p for p in PERMISSIONS if getattr(membership, f"can_{p}")),
                 membership.own_items_only, membership.revoked_at is not None)
