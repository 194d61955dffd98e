"""Scoping: the one way to reach client-owned objects."""
from models.accounts import Client, Membership
from rules import staff as staff_rules


def active_membership(user, client_id):
    """The user's live membership of a client, or None."""
    if not user or not user.is_authenticated:
        return None
    return (Membership.select(Membership, Client).join(Client)
            .where(Membership.user == user, Membership.client == client_id,
                   Membership.revoked_at.is_null()).first())


def scoped(model, user, permission, client_id=None, memberships=None):
    """Rows of a client-owned model that ``user`` may see under ``permission``.

    ``model`` needs a ``client`` foreign key and a user key naming whose row it is:
    ``created_by``, or the column a model names in ``OWNER_FIELD`` (a service is its
    assignee's, not its creator's: staff create it). Staff see everything their role
    reaches (``staff_scope``); clients see rows of clients they hold a live membership with
    that right, and only their own rows when the membership is limited to own items. Views call
    ``get_scoped`` and answer
    404 for anything outside, so a refused object looks like a missing one.

    ``memberships`` are the user's live memberships when the caller holds them already (a
    request reads them once: ``blueprints.memberships``); without them they are read here.
    """
    if user.is_staff:
        query = staff_scope(model.select(), model, user)
        return query.where(model.client == client_id) if client_id else query
    if memberships is None:
        memberships = Membership.select().where(Membership.user == user, Membership.revoked_at.is_null())
    memberships = [m for m in memberships
                   if m.allows(permission) and (client_id is None or m.client_id == int(client_id))]
    if not memberships:
        return model.select().where(model.id.is_null())  # nothing, as a query
    owner = getattr(model, getattr(model, "OWNER_FIELD", "created_by"))
    condition = None
    for m in memberships:
        part = model.client == m.client_id
        if m.own_items_only:
            part &= owner == user.id
        condition = part if condition is None else (condition | part)
    return model.select().where(condition)


def get_scoped(model, object_id, user, permission, memberships=None):
    """One client-owned object the user may see, or None (the view answers 404)."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        return None
    return scoped(model, user, permission, memberships=memberships).where(model.id == object_id).first()


# --- Staff (issue 15, ``rules.staff``) -----------------------------------------------------------

def staff_clients(user):
    """The clients a staff member reaches, as a query: every client for a role that sees all,
    else those assigned to them (``Client.consultant``); nothing for anyone else."""
    role = user.staff_role if user is not None else None
    if staff_rules.sees_every_client(role):
        return Client.select()
    if staff_rules.staff_may(role, staff_rules.SEE, assigned=True):
        return Client.select().where(Client.consultant == user.id)
    return Client.select().where(Client.id.is_null())


def staff_scope(query, model, user):
    """``query`` over a client-owned ``model`` narrowed to what a staff member reaches: rows of
    the clients assigned to them, and — where the model can be passed to a colleague
    (``assigned_to``) — the rows passed to them. Unchanged for a role that sees every client."""
    role = user.staff_role
    if staff_rules.sees_every_client(role):
        return query
    if not staff_rules.staff_may(role, staff_rules.SEE, assigned=True):
        return query.where(model.id.is_null())
    condition = model.client.in_(Client.select(Client.id).where(Client.consultant == user.id))
    if "assigned_to" in model._meta.fields:
        condition |= (model.assigned_to == user.id)
    return query.where(condition)


def get_staff_client(user, client_id):
    """One client the staff member reaches, or None (the view answers 404)."""
    try:
        client_id = int(client_id)
    except (TypeError, ValueError):
        return None
    return staff_clients(user).where(Client.id == client_id).first()
