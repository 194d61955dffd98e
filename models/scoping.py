"""Scoping: the one way to reach client-owned objects."""
from models.accounts import Client, Membership


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
    reaches; clients see rows of clients they hold a live membership with that right, and
    only their own rows when the membership is limited to own items. Views call ``get_scoped`` and answer
    404 for anything outside, so a refused object looks like a missing one.

    ``memberships`` are the user's live memberships when the caller holds them already (a
    request reads them once: ``blueprints.memberships``); without them they are read here.
    """
    if user.is_staff:
        query = model.select()
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
