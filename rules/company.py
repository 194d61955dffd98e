"""Who may manage whom in a company (CMP-5, CMP-6): plain data and pure functions.

A company's **main users** are the memberships holding the ``manage_users`` right; only they
manage the company's users. A main user edits a colleague's rights (documents: see, submit;
messages; finance; services) and scope (the whole company, or only their own items), revokes
anyone's access, and may step down to colleague — except that the company always keeps one main
user: the last one can neither revoke nor demote themself (nor be revoked or demoted by anyone).
Main-user rights themselves come from staff or the company register, never from another main
user, so neither an invitation nor an edit grants ``manage_users``.

``blueprints/company.py`` asks these rules; ``models/company.py`` applies them in one transaction.
"""
from datetime import timedelta
from typing import NamedTuple

from rules import COLLEAGUE, MAIN, REGISTRANT
from rules.i18n import _l

# The rights a main user hands out (``rules.PERMISSIONS`` without ``manage_users``).
GRANTABLE_RIGHTS = ("documents", "submit", "messages", "finance", "services")

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_TOKEN_BYTES = 32

EDIT_RIGHTS, DEMOTE, REVOKE = "edit_rights", "demote", "revoke"
ACTIONS = (EDIT_RIGHTS, DEMOTE, REVOKE)

# Why an action is refused. NOT_FOUND: the page answers 404 (outside the manager's reach).
NOT_FOUND = "not_found"
LAST_MAIN_USER = "last_main_user"
MAIN_HAS_ALL_RIGHTS = "main_has_all_rights"
NOT_MAIN = "not_main"

REFUSAL_MESSAGES = {
    LAST_MAIN_USER: _l("The company must keep at least one main user. Another main user has to be "
                       "confirmed before this one can step down or lose access."),
    MAIN_HAS_ALL_RIGHTS: _l("A main user has every right. Make them a colleague first to limit their rights."),
    NOT_MAIN: _l("This user is not a main user."),
}


class Member(NamedTuple):
    """A membership as these rules see it."""

    id: int
    user_id: int
    client_id: int
    role: str
    manages: bool  # holds the manage_users right
    revoked: bool = False


def member_of(membership):
    """The rules' view of a ``models.Membership`` (or anything with its fields)."""
    return Member(membership.id, membership.user_id, membership.client_id, membership.role,
                  bool(membership.can_manage_users), membership.revoked_at is not None)


def manages(actor, client_id):
    """True when ``actor`` (a Member or None) is a live main user of ``client_id``."""
    return actor is not None and not actor.revoked and actor.manages and actor.client_id == client_id


def refusal(actor, target, action, main_users):
    """Why ``actor`` may not do ``action`` to ``target`` (both Members) while the company has
    ``main_users`` live main users; None when they may. NOT_FOUND means the target is outside
    the actor's reach (another company, revoked, or the actor manages nobody): a 404."""
    if action not in ACTIONS:
        raise ValueError(action)
    if not manages(actor, target.client_id) or target.revoked:
        return NOT_FOUND
    last = target.manages and main_users <= 1
    if action == EDIT_RIGHTS:
        return MAIN_HAS_ALL_RIGHTS if target.manages else None
    if action == DEMOTE:
        if not target.manages:
            return NOT_MAIN
        return LAST_MAIN_USER if last else None
    return LAST_MAIN_USER if last else None  # REVOKE


def staff_removal_refusal(main_users, last_confirmed):
    """Staff taking main-user rights away (CMP-2): refused as LAST_MAIN_USER when the company
    would be left without a main user, unless staff confirmed that they mean it (the only
    representative left the company; its users keep their access, but nobody can manage them
    until staff or the register confirm a new main user). None when they may."""
    return LAST_MAIN_USER if main_users <= 1 and not last_confirmed else None


def may(actor, target, action, main_users):
    """True when ``refusal`` finds nothing against it."""
    return refusal(actor, target, action, main_users) is None


# --- Rights handed out -----------------------------------------------------------------------

SUBMIT_NEEDS_DOCUMENTS = "submit_needs_documents"
NO_RIGHTS = "no_rights"
RIGHTS_MESSAGES = {
    SUBMIT_NEEDS_DOCUMENTS: _l("Submitting documents needs seeing them too: tick “See documents”."),
    NO_RIGHTS: _l("Choose at least one right."),
}


def rights_problems(rights):
    """What is wrong with a set of granted rights (names from GRANTABLE_RIGHTS), as codes."""
    chosen = set(rights)
    problems = []
    if not chosen & set(GRANTABLE_RIGHTS):
        problems.append(NO_RIGHTS)
    if "submit" in chosen and "documents" not in chosen:
        problems.append(SUBMIT_NEEDS_DOCUMENTS)
    return problems


def rights_fields(rights, own_items_only):
    """The membership columns for ``rights`` and the scope (``manage_users`` always off)."""
    fields = {f"can_{p}": p in rights for p in GRANTABLE_RIGHTS}
    fields.update(can_manage_users=False, own_items_only=bool(own_items_only))
    return fields


def demoted_fields():
    """A main user stepping down: a colleague who keeps every other right, company-wide."""
    return {"role": COLLEAGUE, **rights_fields(GRANTABLE_RIGHTS, False)}


def granted(membership):
    """The grantable rights a membership holds (a frozenset of names)."""
    return frozenset(p for p in GRANTABLE_RIGHTS if getattr(membership, f"can_{p}"))


# --- Invitations -----------------------------------------------------------------------------

PENDING, ACCEPTED, CANCELLED, EXPIRED = "pending", "accepted", "cancelled", "expired"
INVITATION_STATUS_LABELS = {
    PENDING: _l("Waiting for acceptance"),
    ACCEPTED: _l("Accepted"),
    CANCELLED: _l("Cancelled"),
    EXPIRED: _l("Expired"),
}


def invitation_status(accepted_at, cancelled_at, expires_at, now):
    """Where an invitation stands: accepted and cancelled are final; otherwise it is pending
    until it expires."""
    if accepted_at is not None:
        return ACCEPTED
    if cancelled_at is not None:
        return CANCELLED
    return EXPIRED if expires_at <= now else PENDING


# Roles a company's users list names (a company has no private-account membership).
COMPANY_ROLES = (MAIN, REGISTRANT, COLLEAGUE)
