"""Who reaches a client-owned object, as plain data: the rule ``models.scoping`` puts into SQL.

A client user reaches an object of a client (a document, a thread) under a permission when
they hold a live membership of that client granting the permission, and — when that
membership is limited to own items — the object is theirs: they created it, or (a service,
which staff create) it is assigned to them (``OWNER_FIELD`` of the model). Staff reach objects by their
role, not through memberships (``models.scoping``). The tests check the query against this
rule, table by table and on random companies (``tests/test_tenancy.py``).
"""
from typing import NamedTuple

from rules import PERMISSIONS
from rules.i18n import _l


class Grant(NamedTuple):
    """One membership as the rule sees it."""

    client_id: int
    rights: frozenset  # the permissions it grants (rules.PERMISSIONS)
    own_items_only: bool = False
    revoked: bool = False


def reaches(grants, permission, owner_client_id, creator_id, user_id):
    """True when a user holding ``grants`` may reach an object of ``owner_client_id`` created
    by (or, for a service, assigned to) ``creator_id`` under ``permission``."""
    return any(g.client_id == owner_client_id and not g.revoked and permission in g.rights
               and (not g.own_items_only or creator_id == user_id)
               for g in grants)


def grant_of(membership):
    """The rule's view of a ``models.Membership`` (or anything with its fields)."""
    return Grant(membership.client_id, frozenset(p for p in PERMISSIONS if getattr(membership, f"can_{p}")),
                 membership.own_items_only, membership.revoked_at is not None)


# The accounts overview (seed 003, "everything in one place"): a person's accounts in groups kept
# apart — their private account, the companies they run as main user, the companies they act for
# as a colleague (or registrant, or by power of attorney).
PRIVATE, MANAGED, COLLEAGUE_OF = "private", "managed", "colleague"
ACCOUNT_GROUPS = (PRIVATE, MANAGED, COLLEAGUE_OF)
ACCOUNT_GROUP_TITLES = {PRIVATE: _l("Private"), MANAGED: _l("Companies you manage (main user)"),
                        COLLEAGUE_OF: _l("Companies you act for")}


def account_group(is_legal, manages_users):
    """Which group of the overview an account belongs to."""
    if not is_legal:
        return PRIVATE
    return MANAGED if manages_users else COLLEAGUE_OF


def grouped_accounts(memberships):
    """``[(group, [membership, …]), …]`` in ``ACCOUNT_GROUPS`` order, empty groups left out, each
    group in the order given. A membership is asked ``client.is_legal`` and ``allows``."""
    groups = {name: [] for name in ACCOUNT_GROUPS}
    for m in memberships:
        groups[account_group(m.client.is_legal, m.allows("manage_users"))].append(m)
    return [(name, found) for name, found in groups.items() if found]
